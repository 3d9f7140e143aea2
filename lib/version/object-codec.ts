/**
 * The one home of a version's stored and wire form, and of the opaque
 * context string users hold between a read and a write.
 *
 * Object, binary little-endian (read on every get, written on every put, so
 * it is laid out to be walked without materialising anything):
 *
 *   u8  FORMAT_VERSION (1)
 *   u8  entryCount                      <= ENTRIES_MAX
 *   entryCount x entry:
 *     f64 actor | f64 counter | f64 timestampMs | u32 siblingCount | u32 entryFlags   (ENTRY_HEADER_BYTES)
 *     siblingCount x sibling, newest first:
 *       f64 timestampMs | f64 expiresAtMs | u32 valueBytes | u8 flags | u8[3] 0   (SIBLING_HEADER_BYTES)
 *       value bytes (the user's msgpack, never re-encoded)
 *
 * Entries sorted by actor (see dotted-version-vector.ts); flags bit 0 =
 * tombstone; entryFlags bit 0 = contextOnly (dotted-version-vector.ts
 * ClockEntry: an entry without values only contexts named). entryFlags was a
 * reserved 0 before it, which reads as the key's own entry: the safe side
 * for truncation, so FORMAT_VERSION stays 1.
 *
 * Context, as base64url of msgpack [[actor, counter], ...] sorted by actor.
 * It comes back from users, so anything malformed is their mistake
 * (ERR_INVALID_CONTEXT); a malformed stored object is ours (AssertionError).
 */
import assert from 'node:assert';
import { Packr } from 'msgpackr';
import { ErrorCode, RingtableError } from '../errors.js';
import { CLOCK_ENTRIES_BOUND, assertWellFormed, type CausalContext, type ClockEntry, type Sibling, type VersionedObject } from './dotted-version-vector.js';

const packr = new Packr({ useRecords: false, copyBuffers: false, moreTypes: false });

export const FORMAT_VERSION = 1;
export const OBJECT_HEADER_BYTES = 2;
export const ENTRY_HEADER_BYTES = 32;
export const EntryField = { ACTOR: 0, COUNTER: 8, TIMESTAMP_MS: 16, SIBLING_COUNT: 24, FLAGS: 28 } as const;
export const SIBLING_HEADER_BYTES = 24;
/** Entries per object: a u8 on disk; truncation (Dynamo §4.4) keeps real clocks far below. */
export const ENTRIES_MAX = CLOCK_ENTRIES_BOUND;
const TOMBSTONE_FLAG = 1;
const CONTEXT_ONLY_FLAG = 1;

export const SiblingField = { TIMESTAMP_MS: 0, EXPIRES_AT_MS: 8, VALUE_BYTES: 16, FLAGS: 20 } as const;

/**
 * A bound on what we parse from a user (TIGER_STYLE: a limit on everything):
 * far above a real context, whose size `truncate` bounds in entries.
 */
export const CONTEXT_CHARS_MAX = 65_536;
/**
 * The largest counter a context from a user may carry, and the largest a node
 * mints: a node whose actor reached it on a key takes a fresh epoch
 * (node/replica.ts), so counter + 1 is always a safe integer. A forged counter
 * near 2^53 used to make every later write to the key fail on every replica.
 * 2^52 events of one actor on one key is 140 years at a million writes a second.
 */
export const CONTEXT_COUNTER_MAX = 2 ** 52;

/**
 * The most [actor, counter] pairs a context from a user may carry. A read
 * answers the merge of its replicas' objects (at most ENTRIES_MAX entries
 * each), and its context names every actor of that merge, so that a write
 * with it supersedes every value the read showed (resolving siblings): when
 * replicas hold different concurrent values, that is more than ENTRIES_MAX
 * (truncation drops only entries without values). Was ENTRIES_MAX, which
 * made such a read's context refused on the write meant to resolve it. A
 * context of this many pairs of the largest numbers fits CONTEXT_CHARS_MAX
 * (test/dotted-version-vector.test.ts); a node's write with it keeps its
 * object within ENTRIES_MAX by truncation, or is refused (ERR_SIBLINGS_FULL).
 */
export const CONTEXT_ENTRIES_MAX = 2_048;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodedObjectBytes(obj: VersionedObject): number {
  let bytes = OBJECT_HEADER_BYTES;
  for (const entry of obj.entries) {
    bytes += ENTRY_HEADER_BYTES;
    for (const sibling of entry.siblings) bytes += SIBLING_HEADER_BYTES + sibling.value.byteLength;
  }
  return bytes;
}

export function encodeObject(obj: VersionedObject): Uint8Array {
  const out = new Uint8Array(encodedObjectBytes(obj));
  writeObject(obj, out, new DataView(out.buffer));
  return out;
}

let scratch = new Uint8Array(64 * 1024);
let scratchView = new DataView(scratch.buffer);

/**
 * encodeObject into a reused buffer: the result is valid only until the next
 * call. For a storage node, whose LMDB put and ring write both copy at once:
 * no allocation per write.
 */
export function encodeObjectTransient(obj: VersionedObject): Uint8Array {
  const bytes = encodedObjectBytes(obj);
  if (bytes > scratch.byteLength) {
    scratch = new Uint8Array(Math.max(bytes, scratch.byteLength * 2));
    scratchView = new DataView(scratch.buffer);
  }
  const out = scratch.subarray(0, bytes);
  writeObject(obj, out, scratchView);
  return out;
}

/** encodeSingleValueTransient's last result, handed out again while its length and buffer are the same. */
let singleValueOut = scratch.subarray(0, 0);

/**
 * encodeObjectTransient of the object { entries: [{ actor, counter,
 * timestampMs, siblings: [{ value, timestampMs, expiresAtMs, tombstone }] }] }
 * (one entry of one value: what a writer mints for a put without context,
 * writer-version.ts), written from its fields: the same bytes, without the
 * object's five allocations nor, for values of one length, a view per call
 * (the result is the previous one's view again). Valid until the next call
 * of either transient encoder.
 */
export function encodeSingleValueTransient(actor: number, counter: number, timestampMs: number, expiresAtMs: number, tombstone: boolean, value: Uint8Array): Uint8Array {
  const bytes = SINGLE_VALUE_HEAD_BYTES + value.byteLength;
  if (bytes > scratch.byteLength) {
    scratch = new Uint8Array(Math.max(bytes, scratch.byteLength * 2));
    scratchView = new DataView(scratch.buffer);
  }
  scratch.set(value, writeSingleValueHead(scratch, scratchView, 0, actor, counter, timestampMs, expiresAtMs, tombstone, value.byteLength));
  if (singleValueOut.byteLength !== bytes || singleValueOut.buffer !== scratch.buffer) singleValueOut = scratch.subarray(0, bytes);
  return singleValueOut;
}

/** The bytes of a one-entry, one-value object (encodeSingleValueTransient's) before its value's. */
export const SINGLE_VALUE_HEAD_BYTES = OBJECT_HEADER_BYTES + ENTRY_HEADER_BYTES + SIBLING_HEADER_BYTES;

/**
 * encodeSingleValueTransient's object at `at` of `out` (`view` over the
 * same buffer) but its value's bytes: the caller writes `valueBytes` of
 * value at the place returned (a putMany's minted object is written
 * straight into its message, store/put-many-items.ts).
 */
export function writeSingleValueHead(out: Uint8Array, view: DataView, at: number, actor: number, counter: number, timestampMs: number, expiresAtMs: number, tombstone: boolean, valueBytes: number): number {
  // assertWellFormed's checks of such an object.
  if (!(Number.isSafeInteger(actor) && actor >= 0)) assert.fail('actor must be a non-negative integer node id');
  if (!(Number.isSafeInteger(counter) && counter >= 1)) assert.fail('entry counter must be a positive integer');
  if (!(Number.isFinite(timestampMs) && timestampMs >= 0 && timestampMs <= Number.MAX_SAFE_INTEGER)) assert.fail('sibling timestampMs must be a non-negative number of milliseconds');
  if (!(Number.isSafeInteger(expiresAtMs) && expiresAtMs >= 0)) assert.fail('sibling expiresAtMs must be a non-negative integer');
  out[at] = FORMAT_VERSION;
  out[at + 1] = 1;
  at += OBJECT_HEADER_BYTES;
  view.setFloat64(at + EntryField.ACTOR, actor, true);
  view.setFloat64(at + EntryField.COUNTER, counter, true);
  view.setFloat64(at + EntryField.TIMESTAMP_MS, timestampMs, true);
  view.setUint32(at + EntryField.SIBLING_COUNT, 1, true);
  view.setUint32(at + EntryField.FLAGS, 0, true);
  at += ENTRY_HEADER_BYTES;
  view.setFloat64(at + SiblingField.TIMESTAMP_MS, timestampMs, true);
  view.setFloat64(at + SiblingField.EXPIRES_AT_MS, expiresAtMs, true);
  view.setUint32(at + SiblingField.VALUE_BYTES, valueBytes, true);
  view.setUint32(at + SiblingField.FLAGS, tombstone ? TOMBSTONE_FLAG : 0, true);
  return at + SIBLING_HEADER_BYTES;
}

/** Write `obj` at `base` of `out` (whose DataView `view` is), ending at `end`. */
function writeObject(obj: VersionedObject, out: Uint8Array, view: DataView, base = 0, end = out.byteLength): void {
  assertWellFormed(obj);
  if (!(obj.entries.length <= ENTRIES_MAX)) assert.fail(`an object may hold at most ${ENTRIES_MAX} clock entries`);
  out[base] = FORMAT_VERSION;
  out[base + 1] = obj.entries.length;
  let at = base + OBJECT_HEADER_BYTES;
  for (const entry of obj.entries) {
    view.setFloat64(at + EntryField.ACTOR, entry.actor, true);
    view.setFloat64(at + EntryField.COUNTER, entry.counter, true);
    view.setFloat64(at + EntryField.TIMESTAMP_MS, entry.timestampMs, true);
    view.setUint32(at + EntryField.SIBLING_COUNT, entry.siblings.length, true);
    view.setUint32(at + EntryField.FLAGS, entry.contextOnly === true ? CONTEXT_ONLY_FLAG : 0, true);
    at += ENTRY_HEADER_BYTES;
    for (const sibling of entry.siblings) {
      view.setFloat64(at + SiblingField.TIMESTAMP_MS, sibling.timestampMs, true);
      view.setFloat64(at + SiblingField.EXPIRES_AT_MS, sibling.expiresAtMs, true);
      view.setUint32(at + SiblingField.VALUE_BYTES, sibling.value.byteLength, true);
      view.setUint8(at + SiblingField.FLAGS, sibling.tombstone ? TOMBSTONE_FLAG : 0);
      // The reserved bytes too: the transient encoder reuses its buffer, and equal versions must be equal bytes.
      view.setUint8(at + SiblingField.FLAGS + 1, 0);
      view.setUint16(at + SiblingField.FLAGS + 2, 0, true);
      at += SIBLING_HEADER_BYTES;
      out.set(sibling.value, at);
      at += sibling.value.byteLength;
    }
  }
  assert.equal(at, end);
}

/**
 * Encoded objects that must outlive the next encode (a coordinating node's
 * answers, kept until its commit is answered), packed into shared chunks:
 * one allocation and one DataView per chunk instead of an ArrayBuffer and a
 * DataView per object. A chunk is never written twice: a full one is left
 * to the views into it, and collected with the last of them.
 */
export class ObjectArena {
  private chunk = new Uint8Array(0);
  private view = new DataView(this.chunk.buffer);
  private at = 0;

  constructor(private readonly chunkBytes = 64 * 1024) {}

  encode(obj: VersionedObject): Uint8Array {
    const bytes = encodedObjectBytes(obj);
    const start = this.reserve(bytes);
    writeObject(obj, this.chunk, this.view, start, start + bytes);
    return this.chunk.subarray(start, start + bytes);
  }

  /**
   * encodeSingleValueTransient's object (one entry, one value), kept as
   * `encode`'s are: a write that mints a key's first version builds no
   * object to encode (the same bytes: test/object-arena.test.ts).
   */
  encodeSingleValue(actor: number, counter: number, timestampMs: number, expiresAtMs: number, tombstone: boolean, value: Uint8Array): Uint8Array {
    const bytes = SINGLE_VALUE_HEAD_BYTES + value.byteLength;
    const start = this.reserve(bytes);
    this.chunk.set(value, writeSingleValueHead(this.chunk, this.view, start, actor, counter, timestampMs, expiresAtMs, tombstone, value.byteLength));
    return this.chunk.subarray(start, start + bytes);
  }

  /** The place of `bytes` more in the current chunk, or at the start of a new one. */
  private reserve(bytes: number): number {
    if (this.at + bytes > this.chunk.byteLength) {
      this.chunk = new Uint8Array(Math.max(this.chunkBytes, bytes));
      this.view = new DataView(this.chunk.buffer);
      this.at = 0;
    }
    const start = this.at;
    this.at += bytes;
    return start;
  }
}

/**
 * Throws an AssertionError if `bytes` is not an object encodeObject wrote:
 * stored versions are ours, so corruption is a bug or a broken disk, not a
 * user's mistake.
 *
 * The returned values are views into `bytes`, not copies, because this runs
 * on every read and a copy per sibling would double the allocation. The
 * caller must own `bytes` for as long as the object lives: copy first any
 * buffer that is reused afterwards (lmdb's getBinaryFast, a transport's
 * receive ring).
 */
export function decodeObject(bytes: Uint8Array): VersionedObject {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.byteLength >= OBJECT_HEADER_BYTES && bytes[0] === FORMAT_VERSION, 'stored version has an unknown format');
  const entryCount = bytes[1]!;
  const entries: ClockEntry[] = new Array(entryCount);
  let at = OBJECT_HEADER_BYTES;
  for (let i = 0; i < entryCount; i++) {
    assert(at + ENTRY_HEADER_BYTES <= bytes.byteLength, 'stored version is truncated');
    const actor = view.getFloat64(at + EntryField.ACTOR, true);
    const counter = view.getFloat64(at + EntryField.COUNTER, true);
    const timestampMs = view.getFloat64(at + EntryField.TIMESTAMP_MS, true);
    const siblingCount = view.getUint32(at + EntryField.SIBLING_COUNT, true);
    const entryFlags = view.getUint32(at + EntryField.FLAGS, true);
    assert(entryFlags <= CONTEXT_ONLY_FLAG, 'stored entry has unknown flags');
    at += ENTRY_HEADER_BYTES;
    const siblings: Sibling[] = new Array(siblingCount);
    for (let k = 0; k < siblingCount; k++) {
      const end = siblingEnd(view, at);
      siblings[k] = {
        value: bytes.subarray(at + SIBLING_HEADER_BYTES, end),
        timestampMs: view.getFloat64(at + SiblingField.TIMESTAMP_MS, true),
        expiresAtMs: view.getFloat64(at + SiblingField.EXPIRES_AT_MS, true),
        tombstone: view.getUint8(at + SiblingField.FLAGS) === TOMBSTONE_FLAG,
      };
      at = end;
    }
    // contextOnly only when set: most entries keep update's shape (dotted-version-vector.ts entryOf).
    entries[i] = entryFlags === CONTEXT_ONLY_FLAG ? { actor, counter, timestampMs, siblings, contextOnly: true } : { actor, counter, timestampMs, siblings };
  }
  assert.equal(at, bytes.byteLength, 'stored version has trailing bytes');
  const obj: VersionedObject = { entries };
  assertWellFormed(obj);
  return obj;
}

/**
 * Where the sibling whose header is at `view[at]` ends (its value's end),
 * after decodeObject's checks of it: its header and value lie within the
 * view (the whole object), its flags are known.
 */
function siblingEnd(view: DataView, at: number): number {
  assert(at + SIBLING_HEADER_BYTES <= view.byteLength, 'stored version is truncated');
  assert(view.getUint8(at + SiblingField.FLAGS) <= TOMBSTONE_FLAG, 'stored sibling has unknown flags');
  const end = at + SIBLING_HEADER_BYTES + view.getUint32(at + SiblingField.VALUE_BYTES, true);
  assert(end <= view.byteLength, 'stored version is truncated');
  return end;
}

/**
 * join(decodeObject(bytes)), read straight from the bytes: each entry's
 * actor and counter, in order, with decodeObject's checks of the layout (the
 * DVVSet's own rules are encodeContext's to assert). A put's answer is only
 * ever asked its context, and decoding the whole object for it (an entry and
 * a sibling object per version, a view on each value) was a fifth of the
 * coordinator's bytes per put.
 */
export function joinOfBytes(bytes: Uint8Array): CausalContext {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.byteLength >= OBJECT_HEADER_BYTES && bytes[0] === FORMAT_VERSION, 'stored version has an unknown format');
  const entryCount = bytes[1]!;
  const context: (readonly [number, number])[] = new Array(entryCount);
  let at = OBJECT_HEADER_BYTES;
  for (let i = 0; i < entryCount; i++) {
    assert(at + ENTRY_HEADER_BYTES <= bytes.byteLength, 'stored version is truncated');
    context[i] = [view.getFloat64(at + EntryField.ACTOR, true), view.getFloat64(at + EntryField.COUNTER, true)];
    const siblingCount = view.getUint32(at + EntryField.SIBLING_COUNT, true);
    at += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) at = siblingEnd(view, at);
  }
  assert.equal(at, bytes.byteLength, 'stored version has trailing bytes');
  return context;
}

/**
 * The read fast path: when an object holds exactly one sibling, return the
 * offset (within `view`) of that sibling's header, else -1. Lets a get answer
 * from the bytes without materialising the object. An object whose fields
 * run past `length` is -1 too (the full path's decodeObject refuses it):
 * `view` may go on past the object (lmdb-js's read buffer, a reused scratch)
 * with other bytes that must never be read as this object's.
 */
export function soleSiblingAt(view: DataView, at: number, length: number): number {
  if (length < OBJECT_HEADER_BYTES || view.getUint8(at) !== FORMAT_VERSION) return -1;
  const end = at + length;
  const entryCount = view.getUint8(at + 1);
  let cursor = at + OBJECT_HEADER_BYTES;
  let found = -1;
  for (let i = 0; i < entryCount; i++) {
    if (cursor + ENTRY_HEADER_BYTES > end) return -1;
    const siblingCount = view.getUint32(cursor + EntryField.SIBLING_COUNT, true);
    cursor += ENTRY_HEADER_BYTES;
    if (siblingCount === 0) continue;
    if (siblingCount > 1 || found >= 0 || cursor + SIBLING_HEADER_BYTES > end) return -1;
    found = cursor;
    cursor += SIBLING_HEADER_BYTES + view.getUint32(cursor + SiblingField.VALUE_BYTES, true);
    if (cursor > end) return -1;
  }
  return found;
}

/** How two objects merge (syncOrderAt): into the first, into the second, or into something else (or unreadable). */
export const SyncOrder = { NEITHER: 0, FIRST: 1, SECOND: 2 } as const;

/** Per entry, as read by entriesInto: actor, counter, timestampMs, siblingCount, entryFlags. */
const ENTRY_FIELDS = 5;
const firstEntries = new Float64Array(ENTRIES_MAX * ENTRY_FIELDS);
const secondEntries = new Float64Array(ENTRIES_MAX * ENTRY_FIELDS);

/**
 * Two stored objects of one key, read straight from the bytes: FIRST when
 * sync(first, second) is the first object itself and their clocks differ
 * (the second is behind: the merge is the first, and the second's replica is
 * what read repair writes it to, read-quorum.ts repairs()), SECOND the other
 * way round, NEITHER otherwise (concurrent versions, whose merge is a third
 * object; the same clock in other bytes; a layout decodeObject would refuse).
 * Mirrors dotted-version-vector.ts sync's "sameAsA" rule per actor, so a read
 * of R replicas that differ only because a write has not reached one of them
 * yet can answer and repair as GetOperation's merge would, without decoding
 * either object (agreeing-in-place-get.ts).
 */
export function syncOrderAt(first: DataView, firstAt: number, firstLength: number, second: DataView, secondAt: number, secondLength: number): number {
  const firstCount = entriesInto(first, firstAt, firstLength, firstEntries);
  const secondCount = entriesInto(second, secondAt, secondLength, secondEntries);
  if (firstCount < 0 || secondCount < 0 || sameClock(firstEntries, firstCount, secondEntries, secondCount)) return SyncOrder.NEITHER;
  if (syncKeeps(firstEntries, firstCount, secondEntries, secondCount)) return SyncOrder.FIRST;
  if (syncKeeps(secondEntries, secondCount, firstEntries, firstCount)) return SyncOrder.SECOND;
  return SyncOrder.NEITHER;
}

/** The entries' headers of the object at `view[at, at + length)` into `into`: their count, or -1 for a layout decodeObject refuses (or actors out of order). */
function entriesInto(view: DataView, at: number, length: number, into: Float64Array): number {
  if (length < OBJECT_HEADER_BYTES || view.getUint8(at) !== FORMAT_VERSION) return -1;
  const end = at + length;
  const count = view.getUint8(at + 1);
  let cursor = at + OBJECT_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (cursor + ENTRY_HEADER_BYTES > end) return -1;
    const actor = view.getFloat64(cursor + EntryField.ACTOR, true);
    if (i > 0 && !(actor > into[(i - 1) * ENTRY_FIELDS]!)) return -1;
    const siblingCount = view.getUint32(cursor + EntryField.SIBLING_COUNT, true);
    into[i * ENTRY_FIELDS] = actor;
    into[i * ENTRY_FIELDS + 1] = view.getFloat64(cursor + EntryField.COUNTER, true);
    into[i * ENTRY_FIELDS + 2] = view.getFloat64(cursor + EntryField.TIMESTAMP_MS, true);
    into[i * ENTRY_FIELDS + 3] = siblingCount;
    const entryFlags = view.getUint32(cursor + EntryField.FLAGS, true);
    if (entryFlags > CONTEXT_ONLY_FLAG || (entryFlags === CONTEXT_ONLY_FLAG && siblingCount > 0)) return -1;
    into[i * ENTRY_FIELDS + 4] = entryFlags;
    cursor += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) {
      if (cursor + SIBLING_HEADER_BYTES > end) return -1;
      cursor += SIBLING_HEADER_BYTES + view.getUint32(cursor + SiblingField.VALUE_BYTES, true);
      if (cursor > end) return -1;
    }
  }
  return cursor === end ? count : -1;
}

/** dotted-version-vector.ts equal: the same actors with the same counters. */
function sameClock(a: Float64Array, aCount: number, b: Float64Array, bCount: number): boolean {
  if (aCount !== bCount) return false;
  for (let i = 0; i < aCount * ENTRY_FIELDS; i += ENTRY_FIELDS) if (a[i] !== b[i] || a[i + 1] !== b[i + 1]) return false;
  return true;
}

/** Whether sync(x, y) returns x itself: every entry of y is one x's entry already wins (mergeEntry, mergeOrdered). */
function syncKeeps(x: Float64Array, xCount: number, y: Float64Array, yCount: number): boolean {
  let i = 0;
  for (let j = 0; j < yCount * ENTRY_FIELDS; j += ENTRY_FIELDS) {
    while (i < xCount * ENTRY_FIELDS && x[i]! < y[j]!) i += ENTRY_FIELDS;
    if (i === xCount * ENTRY_FIELDS || x[i] !== y[j]) return false;
    const xCounter = x[i + 1]!;
    const yCounter = y[j + 1]!;
    const xSiblings = x[i + 3]!;
    const ySiblings = y[j + 3]!;
    // An entry only contexts named here is the key's own there: the merge changes it.
    if (x[i + 4] === CONTEXT_ONLY_FLAG && y[j + 4] !== CONTEXT_ONLY_FLAG) return false;
    if (xCounter > yCounter) {
      // mergeOrdered keeps the newer entry unless the older knows more of its dots are obsolete.
      if (xCounter - xSiblings < yCounter - ySiblings) return false;
    } else if (xCounter < yCounter) {
      return false;
    } else if (xSiblings > ySiblings || x[i + 2]! < y[j + 2]!) {
      // mergeEntry on equal counters keeps the shorter list, with the greater timestamp.
      return false;
    }
    i += ENTRY_FIELDS;
  }
  return true;
}

export function isTombstoneAt(view: DataView, siblingAt: number): boolean {
  return (view.getUint8(siblingAt + SiblingField.FLAGS) & TOMBSTONE_FLAG) !== 0;
}

/** The causal context (join) read straight from the bytes, as flat [actor, counter, ...]. */
export function clockOf(view: DataView, at: number): number[] {
  const clock = new Array<number>(view.getUint8(at + 1) * 2);
  clockInto(view, at, clock);
  return clock;
}

/** clockOf into `clock` (reused by the caller): its first 2 x entryCount slots; returns entryCount. */
export function clockInto(view: DataView, at: number, clock: number[]): number {
  const entryCount = view.getUint8(at + 1);
  let cursor = at + OBJECT_HEADER_BYTES;
  for (let i = 0; i < entryCount; i++) {
    clock[2 * i] = view.getFloat64(cursor + EntryField.ACTOR, true);
    clock[2 * i + 1] = view.getFloat64(cursor + EntryField.COUNTER, true);
    const siblingCount = view.getUint32(cursor + EntryField.SIBLING_COUNT, true);
    cursor += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) cursor += SIBLING_HEADER_BYTES + view.getUint32(cursor + SiblingField.VALUE_BYTES, true);
  }
  return entryCount;
}

/** Opaque to users: they hand it back unchanged on their next write. */
export function encodeContext(ctx: CausalContext): string {
  assert(isValidContext(ctx, Number.MAX_SAFE_INTEGER), 'context must be sorted, distinct, non-negative integer pairs');
  return packr.pack(ctx).toString('base64url');
}

/** Anything that encodeContext did not produce throws ERR_INVALID_CONTEXT. */
export function decodeContext(text: string): CausalContext {
  if (typeof text !== 'string' || text.length > CONTEXT_CHARS_MAX || !BASE64URL.test(text) || text.length % 4 === 1) {
    throw invalidContext('context is not a base64url string of a valid length');
  }
  let raw: unknown;
  try {
    raw = packr.unpack(Buffer.from(text, 'base64url'));
  } catch (error) {
    throw invalidContext('context is not valid msgpack', error);
  }
  if (!isValidContext(raw, Number.MAX_SAFE_INTEGER)) throw invalidContext('context is not a sorted list of [actor, counter] pairs');
  if (raw.length > CONTEXT_ENTRIES_MAX) throw invalidContext(`context has ${raw.length} entries; ringtable accepts at most ${CONTEXT_ENTRIES_MAX}`);
  if (raw.some(([, counter]) => counter > CONTEXT_COUNTER_MAX)) throw invalidContext(`context counter over ${CONTEXT_COUNTER_MAX}`);
  return raw;
}

function isValidContext(raw: unknown, counterMax: number): raw is CausalContext {
  if (!Array.isArray(raw)) return false;
  let actorPrevious = -1;
  for (const pair of raw) {
    if (!Array.isArray(pair) || pair.length !== 2) return false;
    const [actor, counter] = pair as unknown[];
    if (!isNonNegativeInteger(actor) || !isNonNegativeInteger(counter) || counter > counterMax) return false;
    if (actor <= actorPrevious) return false;
    actorPrevious = actor;
  }
  return true;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function invalidContext(message: string, cause?: unknown): RingtableError {
  return new RingtableError(ErrorCode.INVALID_CONTEXT, message, undefined, { cause });
}

/**
 * Check the layout of encoded object bytes without materialising the object
 * (format, bounds, flags, actors sorted, at most `counter` values per entry),
 * and report each sibling's expiry. For a replica storing a coordinator's
 * object for a key it does not hold yet: it keeps the bytes as they are.
 */
export function checkObjectBytes(bytes: Uint8Array, onExpiry: (expiresAtMs: number) => void): void {
  const view = viewOfBytes(bytes);
  if (checkObjectAt(view, bytes.byteOffset, bytes.byteLength)) forEachExpiryAt(view, bytes.byteOffset, onExpiry);
}

/**
 * checkObjectBytes on the `length` bytes at `at` of `view`, allocating
 * nothing: true when some value of the object expires (forEachExpiryAt lists
 * them). A replica runs it on every new key a write envelope brings.
 */
export function checkObjectAt(view: DataView, start: number, length: number): boolean {
  assert(length >= OBJECT_HEADER_BYTES && view.getUint8(start) === FORMAT_VERSION, 'object has an unknown format');
  const end = start + length;
  const entryCount = view.getUint8(start + 1);
  let at = start + OBJECT_HEADER_BYTES;
  let actorPrevious = -1;
  let expires = false;
  for (let i = 0; i < entryCount; i++) {
    assert(at + ENTRY_HEADER_BYTES <= end, 'object is truncated');
    const actor = view.getFloat64(at + EntryField.ACTOR, true);
    const counter = view.getFloat64(at + EntryField.COUNTER, true);
    const siblingCount = view.getUint32(at + EntryField.SIBLING_COUNT, true);
    assert(Number.isSafeInteger(actor) && actor > actorPrevious, 'object entries must be sorted by actor and distinct');
    assert(Number.isSafeInteger(counter) && counter >= siblingCount, 'object entry holds more values than events');
    const entryFlags = view.getUint32(at + EntryField.FLAGS, true);
    assert(entryFlags === 0 || (entryFlags === CONTEXT_ONLY_FLAG && siblingCount === 0), 'object entry has unknown flags, or is context-only and holds a value');
    actorPrevious = actor;
    at += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) {
      assert(at + SIBLING_HEADER_BYTES <= end, 'object is truncated');
      assert(view.getUint8(at + SiblingField.FLAGS) <= TOMBSTONE_FLAG, 'object sibling has unknown flags');
      if (view.getFloat64(at + SiblingField.EXPIRES_AT_MS, true) > 0) expires = true;
      at += SIBLING_HEADER_BYTES + view.getUint32(at + SiblingField.VALUE_BYTES, true);
    }
  }
  assert.equal(at, end, 'object has trailing bytes');
  return expires;
}

/** Each expiring value's expiresAtMs, of the object at `start` (checked by checkObjectAt). */
export function forEachExpiryAt(view: DataView, start: number, onExpiry: (expiresAtMs: number) => void): void {
  const entryCount = view.getUint8(start + 1);
  let at = start + OBJECT_HEADER_BYTES;
  for (let i = 0; i < entryCount; i++) {
    const siblingCount = view.getUint32(at + EntryField.SIBLING_COUNT, true);
    at += ENTRY_HEADER_BYTES;
    for (let k = 0; k < siblingCount; k++) {
      const expiresAtMs = view.getFloat64(at + SiblingField.EXPIRES_AT_MS, true);
      if (expiresAtMs > 0) onExpiry(expiresAtMs);
      at += SIBLING_HEADER_BYTES + view.getUint32(at + SiblingField.VALUE_BYTES, true);
    }
  }
}

/**
 * A DataView over the whole ArrayBuffer of `bytes` (address it at
 * bytes.byteOffset), the last one made kept for reuse: the items of one
 * write envelope are views of one buffer, so a node walking them makes one
 * DataView per envelope instead of one per item (a DataView per item was
 * the largest single cost of a replica's new-key write after LMDB's own).
 */
export function viewOfBytes(bytes: Uint8Array): DataView {
  const buffer = bytes.buffer;
  if (buffer !== lastViewed) {
    lastViewed = buffer;
    lastView = new DataView(buffer);
  }
  return lastView;
}

let lastViewed: ArrayBufferLike = new ArrayBuffer(0);
let lastView: DataView = new DataView(lastViewed);
