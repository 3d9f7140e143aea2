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
 * the key is checked, copied into the batch's slab (value-slab.ts) and
 * hashed from that copy; the value is checked and encoded into the slab. The
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
import { Op, RequestFlag, type WireKey } from '../transport/wire.js';
import type { CausalContext } from '../version/dotted-version-vector.js';
import type { PutRequest } from './put-operation.js';
import { contextOf, expiresAtMsOf, ttlMsOf } from './put-request.js';
import type { PutManyEntry } from './store-types.js';
import { encodeValue, keyByteLength } from './value-codec.js';
import { ValueSlab } from './value-slab.js';

/** Keys up to this many bytes are copied by a loop: TypedArray#set's call costs more than a short key's copy. */
const KEY_LOOP_BYTES_MAX = 64;

export class PutManyItems {
  readonly count: number;
  /**
   * Each item's key, the batch's own: a string as given, bytes copied into
   * the slab. A PutBatch lets an item's key and value go once nothing will
   * send them again (undefined then).
   */
  readonly keys: (WireKey | undefined)[];
  /** Each item's encoded value (value-codec.ts), a view into the slab. */
  readonly values: (Uint8Array | undefined)[];
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

  constructor(count: number) {
    this.count = count;
    this.keys = new Array<WireKey | undefined>(count);
    this.values = new Array<Uint8Array | undefined>(count);
    this.hashes = new Uint32Array(count);
    this.timestampsMs = new Float64Array(count);
    this.expiresAtMs = new Float64Array(count);
    this.flags = new Uint8Array(count);
    this.ws = new Int32Array(count);
  }

  contextAt(item: number): CausalContext | undefined {
    return this.contexts === undefined ? undefined : this.contexts[item];
  }

  /** The item as a single put's request (a batch sent item by item while ranges move). */
  requestAt(item: number): PutRequest {
    return {
      op: Op.PUT,
      key: this.keys[item]!,
      flags: this.flags[item]!,
      context: this.contextAt(item),
      value: this.values[item]!,
      timestampMs: this.timestampsMs[item]!,
      expiresAtMs: this.expiresAtMs[item]!,
    };
  }

  /** Nothing will send the item again: its key and value may be collected (and its slab chunk, once all of the chunk's are). */
  letGo(item: number): void {
    this.keys[item] = undefined;
    this.values[item] = undefined;
    if (this.contexts !== undefined) this.contexts[item] = undefined;
  }
}

/**
 * The items of `entries` ([key, value, options?] each), checked and encoded
 * in one pass; each W from its own options, else the call's. Throws the
 * first bad entry's error, as put would (keys, then values, then options,
 * entry by entry; then the W of each entry in order).
 */
export function putManyItems(
  entries: readonly PutManyEntry[],
  callOptions: { w?: number } | undefined,
  options: ResolvedOptions,
  clock: { nowMs(): number },
): PutManyItems {
  const count = entries.length;
  const items = new PutManyItems(count);
  // Keys and values share chunks (value-slab.ts): the batch's views hold them until it lets them go.
  const slab = new ValueSlab();
  const { keyBytesMax, valueBytesMax } = options;
  let withOptions = false;
  let bytes = 0;
  for (let item = 0; item < count; item++) {
    const entry = entries[item];
    if (!Array.isArray(entry)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'each putMany entry is [key, value, options?]');
    const callerKey = entry[0] as unknown;
    const keyBytes = keyByteLength(callerKey, keyBytesMax);
    let key: WireKey;
    if (typeof callerKey === 'string') {
      key = callerKey;
    } else {
      const from = callerKey as Uint8Array;
      const copy = slab.take(keyBytes);
      if (keyBytes <= KEY_LOOP_BYTES_MAX) for (let i = 0; i < keyBytes; i++) copy[i] = from[i]!;
      else copy.set(from);
      key = copy;
    }
    const value = encodeValue(entry[1], valueBytesMax, slab);
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
    items.keys[item] = key;
    items.values[item] = value;
    items.hashes[item] = hashKey32(key);
    items.timestampsMs[item] = timestampMs;
    items.expiresAtMs[item] = expiresAtMsOf(timestampMs, ttlMs);
    items.flags[item] = context === undefined ? RequestFlag.BLIND : 0;
    bytes += value.byteLength + key.length;
  }
  items.bytes = bytes;
  if (!withOptions) {
    if (count > 0) items.ws.fill(writeQuorumFor(options, callOptions));
  } else {
    for (let item = 0; item < count; item++) items.ws[item] = writeQuorumFor(options, entries[item]![2] ?? callOptions);
  }
  return items;
}
