/**
 * The wire format between the coordinator (main thread) and storage nodes
 * (worker threads): one home for every offset, size and code, checked at load.
 *
 * ## Ring buffer (one SharedArrayBuffer per direction per node)
 *
 *   byte 0     HEAD            u32 bytes ever written (producer-owned, wraps mod 2^32)
 *   byte 64    TAIL            u32 bytes ever consumed (consumer-owned)
 *   byte 128   CONSUMER_STATE  AWAKE | SLEEPING: the consumer announces it is about
 *                              to sleep; a producer that sees SLEEPING notifies it
 *   byte 136   NOTIFIED_AT     f64 the producer's clock (performance.timeOrigin +
 *                              performance.now(), one clock for every thread of the
 *                              process) when it last woke the sleeping consumer: the
 *                              consumer measures what a wake costs (spin-budget.ts)
 *   byte 192   PRODUCER_STATE  RUNNING | WAITING: the producer waits for space; the
 *                              consumer notifies it after releasing bytes
 *   byte 256   CLOSED          0 | 1: set by the coordinator to stop the node
 *   byte 320   data region     `capacityBytes` (a power of two), records 8-aligned
 *
 * Each control word sits on its own 64-byte line so that the producer's and the
 * consumer's stores do not false-share a cache line.
 *
 * ## Record (inside the data region)
 *
 *   u32 payloadBytes | u8 kind | u8[3] reserved | payload | padding to 8
 *
 * kind WHOLE carries a complete message. A message larger than
 * `recordPayloadMax(capacity)` travels as FIRST, MIDDLE..., LAST fragments; a
 * FIRST payload starts with u32 messageBytes, u32 reserved. kind PAD fills the
 * contiguous space before the wrap: records never straddle the end of the ring.
 *
 * ## Request message (coordinator -> node)
 *
 *   0  u8  op            Op.*
 *   1  u8  flags         RequestFlag.*
 *   2  u16 hintOwner     0: the node's own data; k > 0: data the node holds as a
 *                        stand-in for node k-1 (sloppy quorum, Dynamo §4.6),
 *                        kept apart in its hints keyspace (GET, PUT, REPLICATE,
 *                        HINTS, HINT_DELIVERED)
 *   4  u32 requestId     echoed in the response
 *   8  u32 keyBytes
 *   12 u32 contextPairs  causal context (PUT) as (f64 actor, f64 counter) pairs
 *   16 u32 valueBytes    msgpack user value (PUT) or encoded object (REPLICATE, PURGE)
 *   20 u32 reserved
 *   24 f64 timestampMs   coordinator's wall clock (last-writer-wins, TTL)
 *   32 f64 expiresAtMs   0 = never
 *   40 key | context pairs (8-aligned) | value
 *
 * ## Response message (node -> coordinator)
 *
 *   0  u8  op            echo of the request's op
 *   1  u8  status        Status.*
 *   2  u16 reserved
 *   4  u32 requestId
 *   8  u32 payloadBytes  encoded object (GET found, PUT) or UTF-8 error text
 *   12 u32 reserved
 *   16 payload
 *
 * ## Write envelope (Op.WRITE_BATCH)
 *
 * putMany sends the copies bound for one node together, so that the costs paid
 * per message (a request slot, a header, a ring record, a wake, a dispatch, a
 * copy out of the ring on the node) are paid per envelope, not per copy.
 *
 *   request value    u32 itemCount | u32 reserved
 *                    itemCount x ( u32 messageBytes | u32 reserved |
 *                                  request message, PUT or REPLICATE, whose
 *                                  requestId is the item's index | pad to 8 )
 *   answer payload   u32 answerCount | u32 reserved
 *                    answerCount x ( response message whose requestId is the
 *                                    item's index | pad to 8 )
 *
 * A node answers an envelope in one or more responses: PARTIAL ones, then a
 * last OK, so that no answer grows past a bound however large the items'
 * objects. Every item is answered exactly once across them. An ERROR response
 * (no answer list) refuses the whole envelope: its unanswered items fail.
 *
 * ## Leader-ordered requests (TERM, ORDERED_WRITE, ORDERED_REPLICATE, ORDERED_GET, RANGE)
 *
 * Their value begins with the ordered fields (one record, OrderedFields, encoded by
 * encodeOrderedValue), then the op's own payload:
 *
 *   0  u32 partition     the ring partition the key lies in
 *   4  u8  expect        ExpectKind.*: ORDERED_WRITE's compare-and-set
 *   5  u8  orderedFlags  OrderedFlag.*
 *   6  u16 reserved
 *   8  f64 term          the partition's leader term the coordinator routed by (0: none, RANGE eventual)
 *   16 f64 expectVersion the version expected (ExpectKind.VERSION)
 *   24 payload           ORDERED_WRITE: msgpack value; ORDERED_REPLICATE: encoded object;
 *                        RANGE: u32 limit | u32 bytesMax | u8 reverse | u8[7] reserved | end key
 *                        (the request's key is the range's start); TERM, ORDERED_GET: none
 *
 * With OrderedFlag.ALSO, an ORDERED_WRITE carries more keys written in the same
 * transaction (an atomic multi-key write: every key shares the first key's
 * token, so one leader and one transaction on each replica):
 *
 *   payload    u32 valueBytes | msgpack value | u16 count | count × also entry
 *   also entry u16 keyBytes | key | u8 AlsoFlag.* | u32 valueBytes | msgpack value (empty: a tombstone)
 *
 * and it is answered with, and ORDERED_REPLICATE (same flag) carries, the
 * objects of every key:
 *
 *   u32 objectBytes | object | u16 count | count × (u16 keyBytes | key | u32 objectBytes | object)
 *
 * where an also key written with AlsoFlag.APPEND_VERSION ends in the write's
 * version (u64 big-endian, so such keys sort by version).
 *
 * Answers: OK with the encoded object (ORDERED_WRITE, ORDERED_GET), an entry
 * list after a u32 more flag (RANGE); CONFLICT with the current object (empty:
 * absent); STALE_TERM with the f64 term the node knows (the request's is older,
 * or the node does not lead the partition in it).
 *
 * ## DROP_SPACE
 *
 *   request value    u32 space | u32 keysMax
 *   answer payload   u32 more (1: keys of the space remain; send again)
 */
import assert from 'node:assert/strict';
import { copyBytes, isPowerOfTwo } from '../bytes.js';
import { writeUtf8 } from './utf8-write.js';

// Byte helpers moved to lib/bytes.ts; re-exported for the modules that read them here.
export { copyBytes, isPowerOfTwo };

export const ControlWord = {
  HEAD: 0,
  TAIL: 16,
  CONSUMER_STATE: 32,
  PRODUCER_STATE: 48,
  CLOSED: 64,
} as const; // indices into an Int32Array: byte offset / 4

export const CONTROL_BYTES = 320;
/** Index of NOTIFIED_AT in a Float64Array over the control region (byte 136, CONSUMER_STATE's line). */
export const NOTIFIED_AT_F64 = 17;
export const RECORD_HEADER_BYTES = 8;
export const FIRST_FRAGMENT_PREFIX_BYTES = 8;
export const RECORD_ALIGN_BYTES = 8;
export const RING_CAPACITY_MIN_BYTES = 4096;
export const RING_CAPACITY_MAX_BYTES = 1 << 30;

export const ConsumerState = { AWAKE: 0, SLEEPING: 1 } as const;
export const ProducerState = { RUNNING: 0, WAITING: 1 } as const;

export const RecordKind = { WHOLE: 1, FIRST: 2, MIDDLE: 3, LAST: 4, PAD: 5 } as const;

export const Op = {
  /** Read the stored object of a key. */
  GET: 1,
  /** Coordinate a write: the node is the actor of the new dot (DVVSet update). */
  PUT: 2,
  /** Merge a coordinator's resulting object into this replica (DVVSet sync). */
  REPLICATE: 3,
  /** Remove a tombstone if nothing newer than it is stored. */
  PURGE: 4,
  /** Transport round trip without storage work (benchmarks, health). */
  PING: 5,
  /**
   * List hints held for node hintOwner-1, in key order after the request's key
   * (empty: from the start); the value is a u32 entry limit. Answer: an entry
   * list (encodeEntries).
   */
  HINTS: 6,
  /** The owner has merged this hint (value: the delivered object): drop it unless it changed since. */
  HINT_DELIVERED: 7,
  /**
   * List own objects whose key hash falls in the given ring partitions, in key
   * order after the request's key; value: u32 entry limit, u32 partitionBits,
   * then a bitmap of 2^partitionBits bits. Answer: an entry list. Streams
   * ranges to new owners when membership changes (Dynamo §4.9).
   */
  PARTITION_SCAN: 8,
  /** Remove an own object if the given object (value) descends from it: data that moved away. */
  DROP_IF_COVERED: 9,
  /**
   * A write envelope: many PUT and REPLICATE requests to one node in one
   * message (value: see "Write envelope" above). Answered by PARTIAL
   * responses and a last OK, each carrying some items' answers.
   */
  WRITE_BATCH: 10,
  /** Tell a node the partition's leader term (persisted; refused if older than it knows); OrderedFlag.LEADS: it leads. */
  TERM: 11,
  /** The partition leader's write: check `expect`, order (version), store; answers the object. */
  ORDERED_WRITE: 12,
  /** Merge the leader's object into this replica (the greater version stays), fenced by term. */
  ORDERED_REPLICATE: 13,
  /** A consistent read at the leader of the given term. */
  ORDERED_GET: 14,
  /** One replica's keys in [key, end) in order, bounded by count and bytes. */
  RANGE: 15,
  /** Delete up to keysMax keys (and hints) of a space; answers whether more remain. */
  DROP_SPACE: 16,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const RequestFlag = {
  /** PUT writes a tombstone (delete). */
  TOMBSTONE: 1,
  /** PUT without a context: supersede whatever the coordinator holds (a blind overwrite). */
  BLIND: 2,
  /** WRITE_BATCH holding at least one PUT: like a PUT, it mints versions, so it is never sent twice. */
  MINTS: 4,
  /**
   * PUT of a putMany item (store/operations.ts PutBatch), own data only (no
   * hint owner): mint the version and answer it at once, storing nothing; the
   * coordinator sends the object as REPLICATE to every replica, this node
   * included, so that a batch costs each node one commit (node/replica.ts
   * `mintNow`). A PUT without it stores its version and answers once committed.
   * On a WRITE_BATCH: it holds such a PUT, whose answer comes before the
   * envelope's commit (a node never drains it into an open transaction).
   */
  MINT_ONLY: 8,
} as const;

/**
 * PARTIAL answers part of a write envelope; more answers to the same request
 * follow, and the request stays pending until its last (OK or ERROR) answer.
 */
export const Status = { OK: 0, NOT_FOUND: 1, ERROR: 2, PARTIAL: 3, CONFLICT: 4, STALE_TERM: 5 } as const;
export type Status = (typeof Status)[keyof typeof Status];

export const Request = {
  OP: 0,
  FLAGS: 1,
  HINT_OWNER: 2,
  REQUEST_ID: 4,
  KEY_BYTES: 8,
  CONTEXT_PAIRS: 12,
  VALUE_BYTES: 16,
  TIMESTAMP_MS: 24,
  EXPIRES_AT_MS: 32,
  HEADER_BYTES: 40,
} as const;

export const Response = {
  OP: 0,
  STATUS: 1,
  RESERVED_16: 2,
  REQUEST_ID: 4,
  PAYLOAD_BYTES: 8,
  RESERVED_32: 12,
  HEADER_BYTES: 16,
} as const;

/** A request message's header as a node reads it, and where its parts lie (absolute offsets). */
export interface RequestHeader {
  op: number;
  flags: number;
  /** The node the data is held for as a stand-in; -1: the node's own data. */
  hintOwner: number;
  requestId: number;
  keyBytes: number;
  contextPairs: number;
  valueBytes: number;
  timestampMs: number;
  expiresAtMs: number;
  keyAt: number;
  contextAt: number;
  valueAt: number;
}

/** A header to decode into, again and again: the node's request path allocates none per request. */
export function newRequestHeader(): RequestHeader {
  return { op: 0, flags: 0, hintOwner: -1, requestId: 0, keyBytes: 0, contextPairs: 0, valueBytes: 0, timestampMs: 0, expiresAtMs: 0, keyAt: 0, contextAt: 0, valueAt: 0 };
}

/** Read the request message of `length` bytes at `at` into `into`, checking that its parts add up to its length. */
export function decodeRequestHeader(view: DataView, at: number, length: number, into: RequestHeader): RequestHeader {
  into.op = view.getUint8(at + Request.OP);
  into.flags = view.getUint8(at + Request.FLAGS);
  into.hintOwner = view.getUint16(at + Request.HINT_OWNER, true) - 1;
  into.requestId = view.getUint32(at + Request.REQUEST_ID, true);
  into.keyBytes = view.getUint32(at + Request.KEY_BYTES, true);
  into.contextPairs = view.getUint32(at + Request.CONTEXT_PAIRS, true);
  into.valueBytes = view.getUint32(at + Request.VALUE_BYTES, true);
  into.timestampMs = view.getFloat64(at + Request.TIMESTAMP_MS, true);
  into.expiresAtMs = view.getFloat64(at + Request.EXPIRES_AT_MS, true);
  // Check after reading (style: assert on both sides of the wire).
  // The message is built only on failure: a template literal per request allocates.
  if (requestBytes(into.keyBytes, into.contextPairs, into.valueBytes) !== length) assert.fail(`request ${into.requestId} length mismatch`);
  into.keyAt = at + Request.HEADER_BYTES;
  into.contextAt = at + contextOffset(into.keyBytes);
  into.valueAt = into.contextAt + into.contextPairs * CONTEXT_PAIR_BYTES;
  return into;
}

/** Write a response message's header at `at` (its payload follows at `at + Response.HEADER_BYTES`). */
export function encodeResponseHeader(view: DataView, at: number, op: number, status: number, requestId: number, payloadBytes: number): void {
  view.setUint8(at + Response.OP, op);
  view.setUint8(at + Response.STATUS, status);
  view.setUint16(at + Response.RESERVED_16, 0, true);
  view.setUint32(at + Response.REQUEST_ID, requestId, true);
  view.setUint32(at + Response.PAYLOAD_BYTES, payloadBytes, true);
  view.setUint32(at + Response.RESERVED_32, 0, true);
}

export const CONTEXT_PAIR_BYTES = 16;

/** Payload room of one record: a quarter of the ring, so a record always fits
 *  once the consumer catches up, even after a PAD at the wrap. */
export function recordPayloadMax(capacityBytes: number): number {
  return capacityBytes / 4 - RECORD_HEADER_BYTES;
}

export function align8(bytes: number): number {
  return (bytes + 7) & ~7;
}

export function contextOffset(keyBytes: number): number {
  return align8(Request.HEADER_BYTES + keyBytes);
}

export function requestBytes(keyBytes: number, contextPairs: number, valueBytes: number): number {
  return contextOffset(keyBytes) + contextPairs * CONTEXT_PAIR_BYTES + valueBytes;
}

export function valueOffset(keyBytes: number, contextPairs: number): number {
  return contextOffset(keyBytes) + contextPairs * CONTEXT_PAIR_BYTES;
}


// Checked at load: the layout above must hold or nothing may run.
assert.equal(ControlWord.TAIL * 4, 64);
assert.equal(ControlWord.CLOSED * 4 + 64, CONTROL_BYTES);
assert.ok(NOTIFIED_AT_F64 * 8 > ControlWord.CONSUMER_STATE * 4 && NOTIFIED_AT_F64 * 8 + 8 <= ControlWord.PRODUCER_STATE * 4);
assert.equal(CONTROL_BYTES % RECORD_ALIGN_BYTES, 0);
assert.equal(Request.HEADER_BYTES % 8, 0);
assert.equal(Request.TIMESTAMP_MS % 8, 0);
assert.equal(Request.HINT_OWNER, Request.FLAGS + 1);
assert.equal(Request.REQUEST_ID, Request.HINT_OWNER + 2);
assert.equal(Request.EXPIRES_AT_MS, Request.TIMESTAMP_MS + 8);
assert.equal(Request.HEADER_BYTES, Request.EXPIRES_AT_MS + 8);
assert.equal(Response.HEADER_BYTES % 8, 0);
assert.ok(recordPayloadMax(RING_CAPACITY_MIN_BYTES) > Request.HEADER_BYTES + FIRST_FRAGMENT_PREFIX_BYTES);

export const ENVELOPE_HEADER_BYTES = 8;
export const ENVELOPE_ITEM_PREFIX_BYTES = 8;
/** Items per envelope: a u32 on the wire; bounded far lower by the builder. */
export const ENVELOPE_ITEMS_MAX = 65_536;

/** Items whose request message is larger travel alone: an envelope never needs fragmenting for one item. */
export const ENVELOPE_ITEM_BYTES_MAX = 64 * 1024;

/**
 * Walk an envelope's request items (node side) or answers (coordinator side):
 * `visit(at, length, index)` gets each message's place in `bytes`. Throws on
 * a malformed envelope before visiting anything, so a bad envelope is refused whole.
 */
export function forEachEnvelopeItem(view: DataView, at: number, length: number, prefixed: boolean, visit: (at: number, length: number, index: number) => void): number {
  const end = at + length;
  assert.ok(length >= ENVELOPE_HEADER_BYTES, 'envelope too short');
  const count = view.getUint32(at, true);
  if (!(count <= ENVELOPE_ITEMS_MAX)) assert.fail(`envelope of ${count} items`);
  // First pass: bounds only. The second walks the same places again rather
  // than keeping them: no array of places per envelope (the bytes do not
  // change under the visit; the checks stay, should they).
  let cursor = at + ENVELOPE_HEADER_BYTES;
  for (let i = 0; i < count; i++) cursor = nextEnvelopeItem(view, cursor, end, prefixed, undefined, i);
  assert.equal(cursor, end, 'envelope has trailing bytes');
  cursor = at + ENVELOPE_HEADER_BYTES;
  for (let i = 0; i < count; i++) cursor = nextEnvelopeItem(view, cursor, end, prefixed, visit, i);
  return count;
}

/** The item at `cursor` checked against `end` (and visited, given `visit`): where the next one starts. */
function nextEnvelopeItem(view: DataView, cursor: number, end: number, prefixed: boolean, visit: ((at: number, length: number, index: number) => void) | undefined, index: number): number {
  let messageBytes: number;
  if (prefixed) {
    assert.ok(cursor + ENVELOPE_ITEM_PREFIX_BYTES <= end, 'envelope truncated');
    messageBytes = view.getUint32(cursor, true);
    cursor += ENVELOPE_ITEM_PREFIX_BYTES;
  } else {
    assert.ok(cursor + Response.HEADER_BYTES <= end, 'envelope answer truncated');
    messageBytes = Response.HEADER_BYTES + view.getUint32(cursor + Response.PAYLOAD_BYTES, true);
  }
  assert.ok(cursor + messageBytes <= end, 'envelope truncated');
  if (visit !== undefined) visit(cursor, messageBytes, index);
  return cursor + align8(messageBytes);
}

/**
 * A key as it travels to a ring frame: a string is written as UTF-8 straight
 * into the frame, never materialised as its own byte array.
 */
export type WireKey = string | Uint8Array;

export function keyBytesOf(key: WireKey): number {
  return typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength;
}

/**
 * Encode a request at `at` in `bytes` (a ring's data region or a standalone
 * buffer). The length must equal requestBytes(...) of the same arguments.
 */
/**
 * One request as the coordinator sends it (issue 10: one record instead of
 * ten positional arguments through every layer): the fields of its message
 * but the request id and the hint owner, which the link and the target give.
 * A put's record (store/put-operation.ts PutRequest) and a get in flight
 * (store/get-operation.ts GetOperation) are records themselves, so the
 * per-request path allocates none; batches reuse one, as every send encodes
 * its record before it returns.
 */
export interface RequestRecord {
  op: number;
  flags: number;
  key: WireKey;
  context: ReadonlyArray<readonly [number, number]> | undefined;
  value: Uint8Array | undefined;
  timestampMs: number;
  expiresAtMs: number;
}

/** A record for a request that carries no flags, context, timestamp or expiry (background work). */
export function requestOf(op: number, key: WireKey, value: Uint8Array | undefined): RequestRecord {
  return { op, flags: 0, key, context: undefined, value, timestampMs: 0, expiresAtMs: 0 };
}

/** The bytes of `request`'s message. */
export function requestBytesOf(request: RequestRecord, keyBytes: number): number {
  return requestBytes(keyBytes, request.context?.length ?? 0, request.value?.byteLength ?? 0);
}

/**
 * A request's message at `at`: the header, the key (`keyBytes`: keyBytesOf(key),
 * measured by the caller when it sized the message), the context pairs and
 * the value. `hintOwnerField`: hintFieldOfTarget of a hinted target, else 0.
 */
export function encodeRequest(bytes: Buffer, view: DataView, at: number, requestId: number, request: RequestRecord, keyBytes: number, hintOwnerField = 0): void {
  const { context, value } = request;
  const contextPairs = context?.length ?? 0;
  let cursor = encodeRequestHead(bytes, view, at, requestId, request, keyBytes, contextPairs, value?.byteLength ?? 0, hintOwnerField);
  for (let i = 0; i < contextPairs; i++) {
    const pair = context![i]!;
    view.setFloat64(cursor, pair[0], true);
    view.setFloat64(cursor + 8, pair[1], true);
    cursor += CONTEXT_PAIR_BYTES;
  }
  if (value !== undefined) bytes.set(value, cursor);
}

/**
 * encodeRequest's header and key (its padding zeroed), without the context
 * and the value: the header says `contextPairs` and `valueBytes`, which the
 * caller writes itself from the place returned (a putMany's minted
 * REPLICATE is built so, its object written straight into the message:
 * store/put-many-items.ts). `request.context` and `request.value` are not read.
 */
export function encodeRequestHead(bytes: Buffer, view: DataView, at: number, requestId: number, request: RequestRecord, keyBytes: number, contextPairs: number, valueBytes: number, hintOwnerField: number): number {
  const key = request.key;
  view.setUint8(at + Request.OP, request.op);
  view.setUint8(at + Request.FLAGS, request.flags);
  addressRequest(view, at, requestId, hintOwnerField);
  view.setUint32(at + Request.KEY_BYTES, keyBytes, true);
  view.setUint32(at + Request.CONTEXT_PAIRS, contextPairs, true);
  view.setUint32(at + Request.VALUE_BYTES, valueBytes, true);
  view.setUint32(at + 20, 0, true);
  view.setFloat64(at + Request.TIMESTAMP_MS, request.timestampMs, true);
  view.setFloat64(at + Request.EXPIRES_AT_MS, request.expiresAtMs, true);
  if (typeof key === 'string') {
    const written = writeUtf8(bytes, at + Request.HEADER_BYTES, key, keyBytes);
    assert.equal(written, keyBytes, 'key length changed between sizing and encoding');
  } else {
    bytes.set(key, at + Request.HEADER_BYTES);
  }
  const cursor = at + contextOffset(keyBytes);
  // The key's padding is zeroed too (0 to 7 bytes): reused buffers (envelopes, rings) hold old bytes there.
  for (let i = at + Request.HEADER_BYTES + keyBytes; i < cursor; i++) bytes[i] = 0;
  return cursor;
}

/**
 * The two fields of a request message that its sender sets last: its id and
 * its hint owner (hintFieldOfTarget). A message encoded once and copied to
 * several targets (a putMany's minted REPLICATE, write-envelope.ts
 * addMessage) gets them in each copy.
 */
export function addressRequest(view: DataView, at: number, requestId: number, hintOwnerField: number): void {
  view.setUint16(at + Request.HINT_OWNER, hintOwnerField, true);
  view.setUint32(at + Request.REQUEST_ID, requestId, true);
}

/**
 * ## Entry list (answers of HINTS and PARTITION_SCAN)
 *
 *   u32 count | count x { u32 keyBytes | u32 objectBytes | key | object }
 *
 * Unaligned: read with a DataView. The last key is the cursor of the next page;
 * fewer entries than asked for means the listing is complete.
 */
export interface Entry {
  key: Uint8Array;
  object: Uint8Array;
}

export const ENTRY_HEADER_BYTES = 8;

export function entryBytes(keyBytes: number, objectBytes: number): number {
  return ENTRY_HEADER_BYTES + keyBytes + objectBytes;
}

export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  let total = 4;
  for (const entry of entries) total += entryBytes(entry.key.byteLength, entry.object.byteLength);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, entries.length, true);
  let at = 4;
  for (const { key, object } of entries) {
    view.setUint32(at, key.byteLength, true);
    view.setUint32(at + 4, object.byteLength, true);
    out.set(key, at + ENTRY_HEADER_BYTES);
    out.set(object, at + ENTRY_HEADER_BYTES + key.byteLength);
    at += entryBytes(key.byteLength, object.byteLength);
  }
  assert.equal(at, total);
  return out;
}

/** Copies: the result owns its memory (answers arrive in ring memory). */
export function decodeEntries(bytes: Uint8Array, at: number, length: number): Entry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = at + length;
  assert.ok(length >= 4, 'entry list too short');
  const count = view.getUint32(at, true);
  const entries: Entry[] = [];
  let cursor = at + 4;
  for (let i = 0; i < count; i++) {
    assert.ok(cursor + ENTRY_HEADER_BYTES <= end, 'entry list truncated');
    const keyBytes = view.getUint32(cursor, true);
    const objectBytes = view.getUint32(cursor + 4, true);
    const keyAt = cursor + ENTRY_HEADER_BYTES;
    assert.ok(keyAt + keyBytes + objectBytes <= end, 'entry list truncated');
    entries.push({ key: copyBytes(bytes, keyAt, keyAt + keyBytes), object: copyBytes(bytes, keyAt + keyBytes, keyAt + keyBytes + objectBytes) });
    cursor = keyAt + keyBytes + objectBytes;
  }
  assert.equal(cursor, end, 'entry list has trailing bytes');
  return entries;
}

/**
 * ## Scan page (answer of PARTITION_SCAN)
 *
 *   u32 nextKeyBytes (SCAN_END: the scan is complete) | next key | entry list
 */
export const SCAN_END = 0xffff_ffff;

export function encodeScanPage(next: Uint8Array | undefined, entries: readonly Entry[]): Uint8Array {
  const list = encodeEntries(entries);
  const nextBytes = next?.byteLength ?? 0;
  const out = new Uint8Array(4 + nextBytes + list.byteLength);
  new DataView(out.buffer).setUint32(0, next === undefined ? SCAN_END : nextBytes, true);
  if (next !== undefined) out.set(next, 4);
  out.set(list, 4 + nextBytes);
  return out;
}

export function decodeScanPage(bytes: Uint8Array, at: number, length: number): { next: Uint8Array | undefined; entries: Entry[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nextBytes = view.getUint32(at, true);
  if (nextBytes === SCAN_END) return { next: undefined, entries: decodeEntries(bytes, at + 4, length - 4) };
  assert.ok(4 + nextBytes <= length, 'scan page truncated');
  return { next: copyBytes(bytes, at + 4, at + 4 + nextBytes), entries: decodeEntries(bytes, at + 4 + nextBytes, length - 4 - nextBytes) };
}

/** PARTITION_SCAN's request value: u32 entriesMax | u32 partitionBits | bitmap of 2^partitionBits bits. */
export function encodeScanRequest(entriesMax: number, partitionBits: number, partitions: Iterable<number>): Uint8Array {
  const out = new Uint8Array(8 + Math.ceil(2 ** partitionBits / 8));
  const view = new DataView(out.buffer);
  view.setUint32(0, entriesMax, true);
  view.setUint32(4, partitionBits, true);
  for (const p of partitions) {
    assert.ok(Number.isInteger(p) && p >= 0 && p < 2 ** partitionBits, 'partition out of range');
    out[8 + (p >>> 3)]! |= 1 << (p & 7);
  }
  return out;
}

export function decodeScanRequest(value: Uint8Array): { entriesMax: number; partitionBits: number; bitmap: Uint8Array } {
  assert.ok(value.byteLength >= 8, 'scan request too short');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const partitionBits = view.getUint32(4, true);
  assert.ok(partitionBits >= 1 && partitionBits <= 20 && value.byteLength === 8 + Math.ceil(2 ** partitionBits / 8), 'scan request malformed');
  return { entriesMax: view.getUint32(0, true), partitionBits, bitmap: value.subarray(8) };
}


// ---- leader-ordered requests (see the header comment) ----------------------

export const ORDERED_FIELDS_BYTES = 24;
export const OrderedField = { PARTITION: 0, EXPECT: 4, FLAGS: 5, TERM: 8, EXPECT_VERSION: 16 } as const;
export const ExpectKind = { NONE: 0, ABSENT: 1, VERSION: 2 } as const;
export const OrderedFlag = { LEADS: 1, ALSO: 2 } as const;
/** An also entry's flags (OrderedFlag.ALSO). */
export const AlsoFlag = { TOMBSTONE: 1, APPEND_VERSION: 2 } as const;
/** Keys one atomic multi-key write may carry besides its first (a bound on the request). */
export const ALSO_KEYS_MAX = 64;
export const RANGE_FIELDS_BYTES = 16;
export const DROP_SPACE_REQUEST_BYTES = 8;

/** The fields every leader-ordered request carries: one record, not positional arguments. */
export interface OrderedFields {
  partition: number;
  term: number;
  expect: number;
  expectVersion: number;
  flags: number;
}

export function encodeOrderedValue(fields: OrderedFields, payload: Uint8Array | undefined): Uint8Array {
  assert.ok(Number.isInteger(fields.partition) && fields.partition >= 0 && fields.partition <= 0xffff_ffff, 'partition is a u32');
  assert.ok(Number.isSafeInteger(fields.term) && fields.term >= 0, 'term is a safe integer');
  const out = new Uint8Array(ORDERED_FIELDS_BYTES + (payload?.byteLength ?? 0));
  const view = new DataView(out.buffer);
  view.setUint32(OrderedField.PARTITION, fields.partition, true);
  view.setUint8(OrderedField.EXPECT, fields.expect);
  view.setUint8(OrderedField.FLAGS, fields.flags);
  view.setFloat64(OrderedField.TERM, fields.term, true);
  view.setFloat64(OrderedField.EXPECT_VERSION, fields.expectVersion, true);
  if (payload !== undefined) out.set(payload, ORDERED_FIELDS_BYTES);
  return out;
}

export function decodeOrderedFields(value: Uint8Array): OrderedFields {
  assert.ok(value.byteLength >= ORDERED_FIELDS_BYTES, 'ordered request too short');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const fields = {
    partition: view.getUint32(OrderedField.PARTITION, true),
    expect: view.getUint8(OrderedField.EXPECT),
    flags: view.getUint8(OrderedField.FLAGS),
    term: view.getFloat64(OrderedField.TERM, true),
    expectVersion: view.getFloat64(OrderedField.EXPECT_VERSION, true),
  };
  assert.ok(fields.expect <= ExpectKind.VERSION && Number.isSafeInteger(fields.term) && fields.term >= 0, 'ordered fields malformed');
  return fields;
}

/** RANGE's payload after the ordered fields. */
export function encodeRangePayload(limit: number, bytesMax: number, reverse: boolean, end: Uint8Array): Uint8Array {
  const out = new Uint8Array(RANGE_FIELDS_BYTES + end.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, limit, true);
  view.setUint32(4, bytesMax, true);
  view.setUint8(8, reverse ? 1 : 0);
  out.set(end, RANGE_FIELDS_BYTES);
  return out;
}

export function decodeRangePayload(payload: Uint8Array): { limit: number; bytesMax: number; reverse: boolean; end: Uint8Array } {
  assert.ok(payload.byteLength >= RANGE_FIELDS_BYTES, 'range request too short');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const reverse = view.getUint8(8);
  assert.ok(reverse <= 1, 'range direction malformed');
  return { limit: view.getUint32(0, true), bytesMax: view.getUint32(4, true), reverse: reverse === 1, end: payload.subarray(RANGE_FIELDS_BYTES) };
}

/** RANGE's answer: u32 more | entry list. */
export function encodeRangePage(more: boolean, entries: readonly Entry[]): Uint8Array {
  const list = encodeEntries(entries);
  const out = new Uint8Array(4 + list.byteLength);
  new DataView(out.buffer).setUint32(0, more ? 1 : 0, true);
  out.set(list, 4);
  return out;
}

export function decodeRangePage(bytes: Uint8Array, at: number, length: number): { more: boolean; entries: Entry[] } {
  assert.ok(length >= 4, 'range page too short');
  const more = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
  assert.ok(more <= 1, 'range page malformed');
  return { more: more === 1, entries: decodeEntries(bytes, at + 4, length - 4) };
}

/** One more key of an atomic multi-key ORDERED_WRITE: its msgpack value (empty with AlsoFlag.TOMBSTONE). */
export interface AlsoWrite {
  key: Uint8Array;
  flags: number;
  value: Uint8Array;
}

/** One key's object in a multi-key write's answer or replication. */
export interface KeyedObject {
  key: Uint8Array;
  object: Uint8Array;
}

/** ORDERED_WRITE's payload with OrderedFlag.ALSO. */
export function encodeAlsoPayload(value: Uint8Array, also: readonly AlsoWrite[]): Uint8Array {
  assert.ok(also.length <= ALSO_KEYS_MAX, 'too many also keys');
  let bytes = 4 + value.byteLength + 2;
  for (const entry of also) bytes += 2 + entry.key.byteLength + 1 + 4 + entry.value.byteLength;
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, value.byteLength, true);
  out.set(value, 4);
  let at = 4 + value.byteLength;
  view.setUint16(at, also.length, true);
  at += 2;
  for (const entry of also) {
    assert.ok(entry.key.byteLength <= 0xffff, 'also key too long');
    view.setUint16(at, entry.key.byteLength, true);
    out.set(entry.key, at + 2);
    at += 2 + entry.key.byteLength;
    view.setUint8(at, entry.flags);
    view.setUint32(at + 1, entry.value.byteLength, true);
    out.set(entry.value, at + 5);
    at += 5 + entry.value.byteLength;
  }
  return out;
}

export function decodeAlsoPayload(payload: Uint8Array): { value: Uint8Array; also: AlsoWrite[] } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const need = (at: number, bytes: number) => assert.ok(at + bytes <= payload.byteLength, 'multi-key write truncated');
  need(0, 4);
  const valueBytes = view.getUint32(0, true);
  need(4, valueBytes + 2);
  const value = payload.subarray(4, 4 + valueBytes);
  let at = 4 + valueBytes;
  const count = view.getUint16(at, true);
  assert.ok(count <= ALSO_KEYS_MAX, 'too many also keys');
  at += 2;
  const also: AlsoWrite[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 2);
    const keyBytes = view.getUint16(at, true);
    need(at + 2, keyBytes + 5);
    const key = payload.subarray(at + 2, at + 2 + keyBytes);
    at += 2 + keyBytes;
    const flags = view.getUint8(at);
    const entryBytes = view.getUint32(at + 1, true);
    need(at + 5, entryBytes);
    also.push({ key, flags, value: payload.subarray(at + 5, at + 5 + entryBytes) });
    at += 5 + entryBytes;
  }
  assert.equal(at, payload.byteLength, 'multi-key write has trailing bytes');
  return { value, also };
}

/** A multi-key write's objects: the leader's answer, and ORDERED_REPLICATE's payload with OrderedFlag.ALSO. */
export function encodeKeyedObjects(object: Uint8Array, also: readonly KeyedObject[]): Uint8Array {
  let bytes = 4 + object.byteLength + 2;
  for (const entry of also) bytes += 2 + entry.key.byteLength + 4 + entry.object.byteLength;
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, object.byteLength, true);
  out.set(object, 4);
  let at = 4 + object.byteLength;
  view.setUint16(at, also.length, true);
  at += 2;
  for (const entry of also) {
    view.setUint16(at, entry.key.byteLength, true);
    out.set(entry.key, at + 2);
    at += 2 + entry.key.byteLength;
    view.setUint32(at, entry.object.byteLength, true);
    out.set(entry.object, at + 4);
    at += 4 + entry.object.byteLength;
  }
  return out;
}

export function decodeKeyedObjects(bytes: Uint8Array): { object: Uint8Array; also: KeyedObject[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, length: number) => assert.ok(at + length <= bytes.byteLength, 'multi-key objects truncated');
  need(0, 4);
  const objectBytes = view.getUint32(0, true);
  need(4, objectBytes + 2);
  const object = bytes.subarray(4, 4 + objectBytes);
  let at = 4 + objectBytes;
  const count = view.getUint16(at, true);
  assert.ok(count <= ALSO_KEYS_MAX, 'too many also keys');
  at += 2;
  const also: KeyedObject[] = [];
  for (let i = 0; i < count; i++) {
    need(at, 2);
    const keyBytes = view.getUint16(at, true);
    need(at + 2, keyBytes + 4);
    const key = bytes.subarray(at + 2, at + 2 + keyBytes);
    at += 2 + keyBytes;
    const length = view.getUint32(at, true);
    need(at + 4, length);
    also.push({ key, object: bytes.subarray(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  assert.equal(at, bytes.byteLength, 'multi-key objects have trailing bytes');
  return { object, also };
}

export function encodeDropSpace(space: number, keysMax: number): Uint8Array {
  const out = new Uint8Array(DROP_SPACE_REQUEST_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, space, true);
  view.setUint32(4, keysMax, true);
  return out;
}

export function decodeDropSpace(value: Uint8Array): { space: number; keysMax: number } {
  assert.equal(value.byteLength, DROP_SPACE_REQUEST_BYTES, 'DROP_SPACE takes u32 space, u32 keysMax');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { space: view.getUint32(0, true), keysMax: view.getUint32(4, true) };
}

assert.equal(OrderedField.EXPECT_VERSION + 8, ORDERED_FIELDS_BYTES);
assert.equal(OrderedField.TERM % 8, 0);
assert.equal(ORDERED_FIELDS_BYTES % 8, 0);

/**
 * ## Attached coordinators (store.handle(), Store.attach: store/attachment.ts)
 *
 * Threads other than the owner's coordinate over the same node threads, each
 * on request and response rings of its own. A request's u32 requestId carries
 * its coordinator's tag in bits 24-31 (0: the owner; else the attached slot in
 * bits 24-27 and the slot's claim generation mod 16 in bits 28-31, so that a
 * late answer to a slot's previous claimant is dropped, not misdelivered); a
 * node answers each request on the response ring of that tag, and the
 * coordinator masks the tag off again. Every coordinator's request ring rings
 * one doorbell: the CONSUMER_STATE word of the owner's request ring, on which
 * the node sleeps (it re-checks every ring after announcing SLEEPING).
 *
 * The owner and its attached stores share one Int32Array of AttachWord words
 * (each slot's on a 64-byte line of its own):
 *
 *   EPOCH       bumped (and notified) by the owner at every change an attached
 *               store must follow: ring, node threads, a membership change's
 *               start and end, the owner's close
 *   OWNER       OwnerState.*
 *   CHANGING    1 while the owner changes membership: attached stores hold new
 *               requests and acknowledge once theirs ended
 *   slot k (1..ATTACHED_MAX) at SLOT_BASE + k × SLOT_WORDS:
 *     CLAIM       0 free; else 1 + generation (claimed by compareExchange)
 *     ACK         the EPOCH a slot paused at (its requests ended) for a change
 */
export const REQUEST_TAG_SHIFT = 24;
/** Request ids a coordinator may use below its tag: its pending requests are bounded far lower (pendingMax). */
export const REQUEST_ID_MASK = (1 << REQUEST_TAG_SHIFT) - 1;
/** Attached coordinators a store takes at once: each costs every node two rings of ringBytes. */
export const ATTACHED_MAX = 15;
export const AttachWord = { EPOCH: 0, OWNER: 1, CHANGING: 2, SLOT_BASE: 16, SLOT_WORDS: 16, CLAIM: 0, ACK: 1 } as const;
export const ATTACH_STATE_BYTES = (AttachWord.SLOT_BASE + (ATTACHED_MAX + 1) * AttachWord.SLOT_WORDS) * 4;
export const OwnerState = { OPEN: 0, CLOSED: 1 } as const;

/** The tag in the top bits of an attached coordinator's request ids: slot and claim generation. */
export function requestTagOf(slot: number, generation: number): number {
  assert.ok(slot >= 1 && slot <= ATTACHED_MAX, `attached slot ${slot} out of range`);
  return ((generation & 0xf) << 4) | slot;
}

/** Where attached slot `slot`'s words begin in the shared state. */
export function slotWordOf(slot: number, word: number): number {
  return AttachWord.SLOT_BASE + slot * AttachWord.SLOT_WORDS + word;
}

assert.ok(ATTACHED_MAX <= 0xf, 'an attached slot fits the 4 bits of the request tag');
assert.equal((AttachWord.SLOT_WORDS * 4) % 64, 0);
