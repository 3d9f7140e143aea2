/**
 * A putMany's writes as columns: one checked, encoded and hashed item per
 * entry, held in typed arrays and two arrays of views instead of a
 * PutRequest object each (operations.ts PutBatch sends from them).
 *
 * Why one pass: the caller's keys and values lie wherever the caller put
 * them, and a batch visits them in its own order. Each visit of a key or
 * value not used lately misses the caches on its object and on its bytes;
 * the batch visited each entry's key four times (checking it, summing the
 * batch's bytes twice, hashing it), each time after the other 9,999 entries
 * had pushed it out. A scratch script that copied each batch's keys and
 * values into fresh memory in the batch's order first cut the coordinator's
 * CPU per key from 3.4-3.9 to 1.8-2.5 µs (put-many's data, load 3-4). So
 * here each entry's key and value are read once, one right after the other:
 * the key is checked, hashed and copied into the batch's key buffer; the
 * value is checked and encoded into the batch's slab (value-slab.ts). The
 * batch then reads only its own memory, in its own order.
 *
 * The keys are copied at the call, so the caller may reuse its buffers as
 * soon as putMany returns (the `ownKeys` contract), however much of the
 * batch is still unsent then.
 *
 * Every entry is checked before any item is sent, with the errors a put
 * throws, in the same order (put-request.ts): a batch with one bad entry
 * writes nothing.
 */
import { type ResolvedOptions, writeQuorumFor } from '../config/options.js';
import { ErrorCode, RingtableError } from '../errors.js';
import { hashKey32 } from '../ring/hash.js';
import { Op, RequestFlag, type RequestRecord, type WireKey, contextOffset, encodeRequestHead, requestBytes, requestOf } from '../transport/wire.js';
import type { CausalContext } from '../version/dotted-version-vector.js';
import { SINGLE_VALUE_HEAD_BYTES } from '../version/object-codec.js';
import type { WriterVersions } from '../version/writer-version.js';
import { type PutRequest, putBytesOf } from './put-operation.js';
import { contextOf, expiresAtMsOf, ttlMsOf } from './put-request.js';
import type { PutManyEntry } from './store-types.js';
import { isPlainUint8Array, packUint8Array, packUint8ArrayInto } from './uint8-array-value.js';
import { encodeValue, keyByteLength, plainValueBytes } from './value-codec.js';
import { type SlabChunks, VALUE_SLAB_ITEM_BYTES_MAX, ValueSlab } from './value-slab.js';

/** Keys up to this many bytes are copied by a loop: TypedArray#set's call costs more than a short key's copy. */
const KEY_LOOP_BYTES_MAX = 64;
/** Room for keys of this many bytes each, at first: the key buffer doubles as needed. */
const KEY_BYTES_GUESS = 16;

export class PutManyItems {
  readonly count: number;
  /**
   * The items' binary keys, copied one after another into one buffer (item
   * `i`'s at keyAt[i], keyLength[i] bytes): no object per key. A string key
   * is kept as given (keyLength -1), in `stringKeys`.
   */
  private keyBytes: Uint8Array;
  private keyBytesUsed = 0;
  private readonly keyAt: Int32Array;
  private readonly keyLength: Int32Array;
  private stringKeys: (string | undefined)[] | undefined;
  /**
   * keyOf's views, one per key length up to KEY_LOOP_BYTES_MAX (at most 64
   * views, 2 KB): each send encodes its key before the next keyOf, so one
   * view per length serves every item.
   */
  private readonly keyViews: (Uint8Array | undefined)[] = [];
  /** Each item's encoded value (value-codec.ts), a view into the slab; undefined once let go, and for a plain Uint8Array encoded into its message (valueAt). */
  readonly values: (Uint8Array | undefined)[];
  /**
   * Each item minted already (a writer was given: 'lww'), its REPLICATE
   * message to every replica as one view into the slab: the header
   * (request id and hint owner 0, set in each copy), the key, and the
   * minted object around the encoded value, written in place, once. Sent
   * by copying it into each replica's envelope (write-envelope.ts
   * addMessage). Undefined without a writer; an item's is undefined once
   * let go, and for an item the writer did not mint (with a context, or
   * larger than a slab takes): its object is minted as it is sent.
   */
  readonly messages: (Uint8Array | undefined)[] | undefined;
  /**
   * With a writer: each item's counter, reserved as it was read
   * (WriterVersions.reserve; 0: none left), for an item minted as it is
   * sent (counterAt). Undefined without a writer.
   */
  private readonly counters: Float64Array | undefined;
  /** hashKey32 of each key, taken while the key was in cache. */
  readonly hashes: Uint32Array;
  readonly timestampsMs: Float64Array;
  readonly expiresAtMs: Float64Array;
  /** Each item's request flags (RequestFlag.BLIND without a context). */
  readonly flags: Uint8Array;
  /** Each item's W (1 to N). */
  readonly ws: Int32Array;
  /** Each item's causal context, or undefined when no item has one (most batches). */
  contexts: (CausalContext | undefined)[] | undefined;
  /** What the batch holds, for pendingBytesMax: put-operation.ts requestBytesOf summed. */
  bytes = 0;
  /** touch's sum, kept so that its reads are not optimised away. */
  touched = 0;
  /** The slab holding the items' values and messages (putManyItems sets it). */
  slab: ValueSlab | undefined;

  constructor(count: number, minted = false) {
    this.count = count;
    this.messages = minted ? new Array<Uint8Array | undefined>(count) : undefined;
    this.counters = minted ? new Float64Array(count) : undefined;
    this.keyBytes = new Uint8Array(count * KEY_BYTES_GUESS);
    this.keyAt = new Int32Array(count);
    this.keyLength = new Int32Array(count);
    this.values = new Array<Uint8Array | undefined>(count);
    this.hashes = new Uint32Array(count);
    this.timestampsMs = new Float64Array(count);
    this.expiresAtMs = new Float64Array(count);
    this.flags = new Uint8Array(count);
    this.ws = new Int32Array(count);
  }

  /** Keeps a copy of `key` (its bytes, or the string itself) as item `item`'s. */
  setKey(item: number, key: WireKey, keyBytes: number): void {
    if (typeof key === 'string') {
      (this.stringKeys ??= new Array<string | undefined>(this.count))[item] = key;
      this.keyLength[item] = -1;
      return;
    }
    if (this.keyBytesUsed + keyBytes > this.keyBytes.byteLength) {
      const grown = new Uint8Array(Math.max(this.keyBytesUsed + keyBytes, this.keyBytes.byteLength * 2));
      grown.set(this.keyBytes.subarray(0, this.keyBytesUsed));
      this.keyBytes = grown;
    }
    const at = this.keyBytesUsed;
    const to = this.keyBytes;
    if (keyBytes <= KEY_LOOP_BYTES_MAX) for (let i = 0; i < keyBytes; i++) to[at + i] = key[i]!;
    else to.set(key, at);
    this.keyAt[item] = at;
    this.keyLength[item] = keyBytes;
    this.keyBytesUsed = at + keyBytes;
  }

  /**
   * Item `item`'s key, to be encoded at once: a binary key is a view shared
   * with every other key of its length, valid until the next keyOf.
   */
  keyOf(item: number): WireKey {
    const length = this.keyLength[item]!;
    if (length < 0) return this.stringKeys![item]!;
    // A longer key: a view of its own, whose making costs little beside its copies.
    if (length > KEY_LOOP_BYTES_MAX) return this.ownKeyOf(item);
    const view = (this.keyViews[length] ??= new Uint8Array(length));
    const at = this.keyAt[item]!;
    const from = this.keyBytes;
    for (let i = 0; i < length; i++) view[i] = from[at + i]!;
    return view;
  }

  /** Item `item`'s key as a value of its own (a view into the batch's keys, which never change). */
  ownKeyOf(item: number): WireKey {
    const length = this.keyLength[item]!;
    if (length < 0) return this.stringKeys![item]!;
    return this.keyBytes.subarray(this.keyAt[item], this.keyAt[item]! + length);
  }

  /** The writer's counter reserved for item `item` (mint's `reserved`), or 0: the writer's next. */
  counterAt(item: number): number {
    return this.counters === undefined ? 0 : this.counters[item]!;
  }

  setCounter(item: number, counter: number): void {
    this.counters![item] = counter;
  }

  /** Item `item`'s encoded value: its own view, or the part of its message that holds it. */
  valueAt(item: number): Uint8Array | undefined {
    const value = this.values[item];
    if (value !== undefined || this.messages === undefined) return value;
    const message = this.messages[item];
    return message === undefined ? undefined : message.subarray(this.objectAtIn(item) + SINGLE_VALUE_HEAD_BYTES);
  }

  /** Item `item`'s minted object, the tail of its message (undefined without one). */
  objectAt(item: number): Uint8Array | undefined {
    const message = this.messages?.[item];
    return message === undefined ? undefined : message.subarray(this.objectAtIn(item));
  }

  /** Where a message's object starts: after its header and key (no context). */
  private objectAtIn(item: number): number {
    const length = this.keyLength[item]!;
    return contextOffset(length >= 0 ? length : Buffer.byteLength(this.stringKeys![item]!, 'utf8'));
  }

  contextAt(item: number): CausalContext | undefined {
    return this.contexts === undefined ? undefined : this.contexts[item];
  }

  /** The item as a single put's request (a batch sent item by item while ranges move). */
  requestAt(item: number): PutRequest {
    return {
      op: Op.PUT,
      key: this.ownKeyOf(item),
      flags: this.flags[item]!,
      context: this.contextAt(item),
      value: this.valueAt(item)!,
      timestampMs: this.timestampsMs[item]!,
      expiresAtMs: this.expiresAtMs[item]!,
    };
  }

  /**
   * The batch ended with every item met its W: no view into the slab is
   * read again (every copy was encoded into its requests when sent), so its
   * chunks go back to the coordinator's SlabChunks for the next batch.
   */
  releaseSlab(): void {
    this.slab?.release();
    this.slab = undefined;
  }

  /** Nothing will send the item again: its value may be collected (and its slab chunk, once all of the chunk's are). */
  letGo(item: number): void {
    this.values[item] = undefined;
    if (this.messages !== undefined) this.messages[item] = undefined;
    if (this.contexts !== undefined) this.contexts[item] = undefined;
  }
}

/** Entries read ahead by touch at a time (a power of two). */
const ENTRIES_PER_TOUCH = 64;

/**
 * Reads the first bytes of the entries' keys and values from `from` to `to`
 * and nothing else: a tight loop of independent loads, whose cache and TLB
 * misses the CPU overlaps (one after another, as the checks and copies that
 * follow meet them, each waits alone; SingleReadBatch's KEYS_PER_CHECK is the
 * same finding for getMany). Never throws: entries are checked after, in order.
 */
function touch(entries: readonly PutManyEntry[], from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) {
    const entry = entries[i] as unknown;
    if (!Array.isArray(entry)) continue;
    const key = entry[0] as unknown;
    const value = entry[1] as unknown;
    if (key instanceof Uint8Array && key.byteLength > 0) sum += key[0]!;
    if (value instanceof Uint8Array && value.byteLength > 0) sum += value[0]! + value[value.byteLength - 1]!;
  }
  return sum;
}

/**
 * The items of `entries` ([key, value, options?] each), checked and encoded
 * in one pass; each W from its own options, else the call's. Throws the
 * first bad entry's error, as put would (keys, then values, then options,
 * entry by entry; then the W of each entry in order).
 *
 * With `writer` (the coordinator's, in 'lww' stores) every item's counter
 * is reserved here, in order (WriterVersions.reserve), and an item without a
 * context is minted here and built as its REPLICATE message (messages):
 * the value is encoded straight into the object, in the message, while
 * entry and message are in cache. Minted as it was sent, each item's object
 * was encoded into a scratch buffer (the value copied there from the slab,
 * long out of cache by then), then each of its N copies encoded field by
 * field into the envelopes. Counters taken here, with the items'
 * timestamps, also keep one writer's later counter a later timestamp
 * (writer-version.ts) between batches sent in another order than they were
 * called (a batch past its window, an attached store's).
 */
export function putManyItems(
  entries: readonly PutManyEntry[],
  callOptions: { w?: number } | undefined,
  options: ResolvedOptions,
  clock: { nowMs(): number },
  writer?: WriterVersions,
  chunks?: SlabChunks,
): PutManyItems {
  const count = entries.length;
  const items = new PutManyItems(count, writer !== undefined);
  // The values share chunks (value-slab.ts): the batch's views hold them until it lets them go, its chunks until it ends.
  const slab = new ValueSlab(chunks);
  items.slab = slab;
  const { keyBytesMax, valueBytesMax } = options;
  let withOptions = false;
  let bytes = 0;
  let touched = 0;
  for (let item = 0; item < count; item++) {
    if ((item & (ENTRIES_PER_TOUCH - 1)) === 0) touched += touch(entries, item, Math.min(count, item + ENTRIES_PER_TOUCH));
    const entry = entries[item];
    if (!Array.isArray(entry)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'each putMany entry is [key, value, options?]');
    const key = entry[0] as WireKey;
    const keyBytes = keyByteLength(key, keyBytesMax);
    items.setKey(item, key, keyBytes);
    const raw = entry[1] as unknown;
    // A plain Uint8Array to be minted is checked now and encoded into its message below; any other value now.
    const inPlace = writer !== undefined && isPlainUint8Array(raw);
    const value = inPlace ? undefined : encodeValue(raw, valueBytesMax, slab);
    const valueBytes = inPlace ? plainValueBytes(raw, valueBytesMax) : value!.byteLength;
    const entryOptions = entry[2];
    let ttlMs: number | undefined;
    let context: CausalContext | undefined;
    if (entryOptions !== undefined) {
      withOptions = true;
      ttlMs = ttlMsOf(entryOptions);
      context = contextOf(entryOptions);
      if (context !== undefined) (items.contexts ??= new Array<CausalContext | undefined>(count))[item] = context;
    }
    const timestampMs = clock.nowMs();
    const expiresAtMs = expiresAtMsOf(timestampMs, ttlMs);
    let message: Uint8Array | undefined;
    if (writer !== undefined) {
      // Every item's counter now, in order, with its timestamp: also those minted as they are sent.
      const counter = writer.reserve();
      if (counter > 0 && context === undefined) message = mintedMessage(slab, writer, counter, key, keyBytes, raw, value, valueBytes, timestampMs, expiresAtMs);
      if (message === undefined) items.setCounter(item, counter);
    }
    if (message !== undefined) items.messages![item] = message;
    // Beside a message only a value msgpackr encoded (its own memory, held anyway until the batch lets go of the item).
    if (message === undefined || value !== undefined) items.values[item] = value ?? packUint8Array(raw as Uint8Array, slab);
    items.hashes[item] = hashKey32(key);
    items.timestampsMs[item] = timestampMs;
    items.expiresAtMs[item] = expiresAtMs;
    items.flags[item] = context === undefined ? RequestFlag.BLIND : 0;
    bytes += putBytesOf(key, valueBytes);
  }
  items.bytes = bytes;
  items.touched = touched;
  if (!withOptions) {
    if (count > 0) items.ws.fill(writeQuorumFor(options, callOptions));
  } else {
    // An entry's own w wins over the call's; an entry with options but no w (a TTL, a context) keeps the call's.
    for (let item = 0; item < count; item++) {
      const entryOptions = entries[item]![2];
      items.ws[item] = writeQuorumFor(options, entryOptions?.w !== undefined ? entryOptions : callOptions);
    }
  }
  return items;
}

/** The record minted messages are encoded from (their header's fields but the timestamp are a REPLICATE's defaults). */
const replicateHead: RequestRecord = requestOf(Op.REPLICATE, '', undefined);

/**
 * An item's REPLICATE message, minted by `writer` under the `counter` it
 * reserved and written into the slab (PutManyItems.messages), with `value`
 * encoded (or the plain Uint8Array `raw`, checked already, encoded in
 * place); undefined when the message is larger than a slab chunk takes.
 */
function mintedMessage(slab: ValueSlab, writer: WriterVersions, counter: number, key: WireKey, keyBytes: number, raw: unknown, value: Uint8Array | undefined, valueBytes: number, timestampMs: number, expiresAtMs: number): Uint8Array | undefined {
  const messageBytes = requestBytes(keyBytes, 0, SINGLE_VALUE_HEAD_BYTES + valueBytes);
  if (messageBytes > VALUE_SLAB_ITEM_BYTES_MAX) return undefined;
  const message = slab.take(messageBytes);
  const chunk = slab.chunk;
  const view = slab.chunkView;
  const at = message.byteOffset - chunk.byteOffset;
  const head = replicateHead;
  head.key = key;
  head.timestampMs = timestampMs;
  const objectAt = encodeRequestHead(chunk, view, at, 0, head, keyBytes, 0, SINGLE_VALUE_HEAD_BYTES + valueBytes, 0);
  head.key = '';
  const valueAt = writer.mintInto(chunk, view, objectAt, counter, timestampMs, expiresAtMs, false, valueBytes);
  if (value === undefined) packUint8ArrayInto(raw as Uint8Array, chunk, valueAt);
  else chunk.set(value, valueAt);
  return message;
}
