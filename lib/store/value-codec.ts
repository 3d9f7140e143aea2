/**
 * Keys and values at the API boundary. Keys are bytes on the ring: a string is
 * its UTF-8 encoding, so "abc" and the bytes of "abc" are the same key. Values
 * are msgpack (msgpackr, which lmdb already ships): objects, arrays, strings,
 * numbers, booleans, null, Uint8Array and Buffer, every other typed array,
 * ArrayBuffer, DataView, Date, Set, RegExp, Error and bigint of any size
 * round-trip with their types; a Map comes back as a plain object; nested
 * functions come back as undefined. The README's "Values"
 * section is the contract, and test/reliability.test.ts checks it.
 */
import { Packr } from 'msgpackr';
import { copyInto } from '../bytes.js';
import { ErrorCode, RingtableError } from '../errors.js';
import { PARTITIONED_KEY_MARKER, isWellFormedPartitionedKey } from '../ring/partitioned-key.js';
import { isPlainUint8Array, packUint8Array, packedUint8ArrayBytes } from './uint8-array-value.js';
import { pooledCopy } from './value-pool.js';
import type { ValueSlab } from './value-slab.js';

// copyBuffers: values are decoded straight from ring memory, which is reused.
// moreTypes: typed arrays other than Uint8Array travel as msgpackr's typed-array
// extension, their bytes exactly; without it msgpackr wrote a bin of byteLength
// bytes and copied the *elements* into it, truncated to bytes, leaving the rest
// of the region as stale pack-buffer memory (Int32Array(16) came back as 64
// bytes of garbage). It also keeps Set, RegExp, Error, ArrayBuffer, DataView
// and bigints over 64 bits. Values stored without it decode as before.
const packr = new Packr({ useRecords: false, copyBuffers: true, moreTypes: true });

export type Key = string | Uint8Array;

/**
 * Check a key and return its length in bytes. Keys are not encoded here:
 * strings travel as strings until they are written into a ring frame.
 */
export function keyByteLength(key: unknown, keyBytesMax: number): number {
  let bytes: number;
  if (typeof key === 'string') {
    // A UTF-8 string is at most 3 bytes per UTF-16 unit: reject huge input before measuring it.
    if (key.length > keyBytesMax) throw tooLong(key.length, keyBytesMax);
    // UTF-8 turns every lone surrogate into U+FFFD: 'a\uD800', 'a\uDC00' and 'a\uFFFD' would be one key.
    if (!key.isWellFormed()) throw new RingtableError(ErrorCode.INVALID_KEY, 'key must be a well-formed string (it holds a lone surrogate)');
    bytes = Buffer.byteLength(key, 'utf8');
  } else if (key instanceof Uint8Array) {
    bytes = key.byteLength;
    // Byte 0xFF starts a key with a partition part (ring/partitioned-key.ts);
    // a malformed one would be placed differently from what its bytes say.
    if (bytes > 0 && key[0] === PARTITIONED_KEY_MARKER && !isWellFormedPartitionedKey(key)) {
      throw new RingtableError(ErrorCode.INVALID_KEY, 'a binary key beginning with byte 0xFF must be a partitioned key (partitionedKey(space, partitionPart, rest))');
    }
  } else {
    throw new RingtableError(ErrorCode.INVALID_KEY, `key must be a string or a Uint8Array, got ${describe(key)}`);
  }
  if (bytes === 0) throw new RingtableError(ErrorCode.INVALID_KEY, 'key must not be empty');
  if (bytes > keyBytesMax) throw tooLong(bytes, keyBytesMax);
  return bytes;
}

/**
 * The key a request keeps: a Uint8Array is copied at the call, because the
 * request sends it again later (replication, retries, read repair) and the
 * caller may reuse its buffer as soon as the call returns.
 */
export function ownKey(key: Key): Key {
  return typeof key === 'string' ? key : new Uint8Array(key);
}

/**
 * keyByteLength's checks, without measuring a string key that cannot be too
 * long (the read path: 3% of a read-only run's main thread measured keys).
 */
export function checkKey(key: unknown, keyBytesMax: number): void {
  // At most 3 UTF-8 bytes per UTF-16 unit, and at least one: such a key fits and is not empty.
  if (typeof key === 'string' && key.length > 0 && key.length * 3 <= keyBytesMax && key.isWellFormed()) return;
  keyByteLength(key, keyBytesMax);
}

function tooLong(bytes: number, keyBytesMax: number): RingtableError {
  return new RingtableError(ErrorCode.INVALID_KEY, `key of ${bytes} bytes exceeds keyBytesMax (${keyBytesMax})`);
}

/** `slab`: a putMany's (value-slab.ts), where a Uint8Array value's bytes go. */
export function encodeValue(value: unknown, valueBytesMax: number, slab?: ValueSlab): Uint8Array {
  const kind = typeof value;
  if (value === undefined || kind === 'function' || kind === 'symbol') {
    throw new RingtableError(ErrorCode.INVALID_VALUE, `value must be serialisable, got ${describe(value)}`);
  }
  let bytes: Uint8Array;
  try {
    checkContents(value, 0);
    bytes = isPlainUint8Array(value) ? packUint8Array(value, slab) : packr.pack(value);
  } catch (error) {
    throw notSerialisable(error);
  }
  if (bytes.byteLength > valueBytesMax) throw tooLarge(bytes.byteLength, valueBytesMax);
  return bytes;
}

/**
 * encodeValue's checks of a plain Uint8Array (isPlainUint8Array), with its
 * errors, without encoding it: the bytes its encoding takes, for a caller
 * that writes them in place (packUint8ArrayInto: a putMany's minted
 * message, put-many-items.ts).
 */
export function plainValueBytes(value: Uint8Array, valueBytesMax: number): number {
  try {
    checkContents(value, 0);
  } catch (error) {
    throw notSerialisable(error);
  }
  const bytes = packedUint8ArrayBytes(value.byteLength);
  if (bytes > valueBytesMax) throw tooLarge(bytes, valueBytesMax);
  return bytes;
}

function notSerialisable(error: unknown): RingtableError {
  if (error instanceof RingtableError) return error;
  return new RingtableError(ErrorCode.INVALID_VALUE, `value is not serialisable: ${(error as Error).message}`, undefined, { cause: error });
}

function tooLarge(bytes: number, valueBytesMax: number): RingtableError {
  return new RingtableError(ErrorCode.INVALID_VALUE, `value of ${bytes} bytes (encoded) exceeds valueBytesMax (${valueBytesMax})`);
}

/** Beyond this depth the walk stops; msgpackr still refuses cycles and stack-deep values. */
const CONTENTS_DEPTH_MAX = 512;

/**
 * What msgpack would store silently wrong: a thenable (a forgotten `await`:
 * msgpackr packs a Promise as `{}`) and strings that are not well formed
 * (UTF-8 turns a lone surrogate into U+FFFD). One walk over what pack visits.
 */
function checkContents(value: unknown, depth: number): void {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new RingtableError(ErrorCode.INVALID_VALUE, 'value holds a string with a lone surrogate (not well-formed UTF-16)');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (typeof (value as { then?: unknown }).then === 'function') {
    throw new RingtableError(ErrorCode.INVALID_VALUE, `value holds a thenable (${describe(value)}): await it before storing its result`);
  }
  if (depth >= CONTENTS_DEPTH_MAX || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkContents(value[i], depth + 1);
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      checkContents(key, depth + 1);
      checkContents(item, depth + 1);
    }
  } else if (value instanceof Set) {
    for (const item of value) checkContents(item, depth + 1);
  } else {
    for (const key in value) {
      checkContents(key, depth + 1);
      checkContents((value as Record<string, unknown>)[key], depth + 1);
    }
  }
}

/**
 * Decode `bytes[start, end)`. The bytes are first copied into one reused,
 * unshared scratch buffer: msgpackr's native string extraction refuses
 * SharedArrayBuffer memory (ring data), and decoding from one long-lived
 * buffer lets msgpackr reuse the DataView it caches on it instead of building
 * one per value. A copy of a typical value costs less than either.
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

export function decodeValue(bytes: Uint8Array, start = 0, end = bytes.byteLength): unknown {
  // A stored Uint8Array (the common binary value) is its bytes, copied out into the value pool
  // (value-pool.ts), without the scratch copy and msgpackr's three views (message-path get profile).
  const plain = uint8ArrayBytesAt(bytes, start, end);
  if (plain >= 0) return pooledCopy(bytes, plain, end);
  const bin = binBytesAt(bytes, start, end);
  if (bin >= 0) return pooledBufferCopy(bytes, bin, end);
  const length = end - start;
  if (length > scratch.byteLength) scratch = Buffer.allocUnsafeSlow(Math.max(length, scratch.byteLength * 2));
  copyInto(scratch, bytes, start, length);
  return packr.unpack(scratch, { start: 0, end: length });
}

/**
 * Decode `bytes[start, end)` where they lie: for memory that is not shared
 * and that stays the same object from read to read (lmdb-js's read buffer,
 * readPath 'direct'), so that msgpackr's DataView cached on it is reused and
 * the value is not copied twice (the scratch copy, then msgpackr's own).
 */
export function decodeValueInPlace(bytes: Uint8Array, start: number, end: number): unknown {
  const plain = uint8ArrayBytesAt(bytes, start, end);
  if (plain >= 0) return pooledCopy(bytes, plain, end);
  const bin = binBytesAt(bytes, start, end);
  if (bin >= 0) return pooledBufferCopy(bytes, bin, end);
  // msgpackr makes a bin value the source's type: a Buffer stored comes back a Buffer, as from decodeValue's scratch Buffer.
  if (bytes !== plainSource) {
    plainSource = bytes;
    bufferSource = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return packr.unpack(bufferSource, { start, end });
}

/** The last source decodeValueInPlace was given, and a Buffer over the same memory (made again only when the source changes). */
let plainSource: Uint8Array | undefined;
let bufferSource: Buffer = Buffer.alloc(0);

/** msgpackr's typed-array extension (moreTypes) and its element type for Uint8Array. */
const TYPED_ARRAY_EXT = 0x74;
const UINT8_ARRAY_TYPE = 1;

/**
 * Where the bytes of a stored Uint8Array begin, when `bytes[start, end)` is
 * exactly one (moreTypes packs a Uint8Array as ext 0x74 of type 1, in an
 * ext 8, 16 or 32), else -1. Any bytes: a Uint8Array, a Buffer, ring memory.
 */
function uint8ArrayBytesAt(bytes: Uint8Array, start: number, end: number): number {
  const field = lengthFieldBytes(bytes, start, end, EXT_8);
  if (field === 0) return -1;
  const length = lengthAt(bytes, start + 1, field);
  const at = start + 1 + field;
  // at: the extension's type, then its data: the element type and the array's bytes.
  if (bytes[at] !== TYPED_ARRAY_EXT || at + 1 + length !== end || length < 1 || bytes[at + 1] !== UINT8_ARRAY_TYPE) return -1;
  return at + 2;
}

/**
 * Where the bytes of a stored Buffer begin, when `bytes[start, end)` is
 * exactly one msgpack bin (bin 8, 16 or 32: how msgpackr packs a Buffer; a
 * plain Uint8Array is the extension above), else -1. msgpackr decodes a bin
 * as a Buffer by `Uint8Array.prototype.slice` over its Buffer source, which
 * makes a Buffer of its own memory through Buffer's species constructor:
 * 0.86 µs of a hot-key cache hit's 1.6 µs on 1000-byte Buffer values
 * (bench/README.md, "Session s14", "A hit's result"). Pooled as a Uint8Array value is.
 */
function binBytesAt(bytes: Uint8Array, start: number, end: number): number {
  const field = lengthFieldBytes(bytes, start, end, BIN_8);
  if (field === 0) return -1;
  const at = start + 1 + field;
  return at + lengthAt(bytes, start + 1, field) === end ? at : -1;
}

/** msgpack's bin 8 and ext 8 type bytes; the 16- and 32-bit forms follow each. */
const BIN_8 = 0xc4;
const EXT_8 = 0xc7;

/**
 * The bytes of the big-endian length field after the type byte at `start`,
 * when that byte is `family` (bin 8 or ext 8: 1) or one of the two after it
 * (16: 2, 32: 4) and the field lies before `end`; else 0.
 */
function lengthFieldBytes(bytes: Uint8Array, start: number, end: number, family: number): number {
  const form = bytes[start]! - family;
  const field = form === 0 ? 1 : form === 1 ? 2 : form === 2 ? 4 : 0;
  return field > 0 && start + 1 + field <= end ? field : 0;
}

/** The big-endian unsigned integer of `fieldBytes` (1, 2 or 4) bytes at `at`. */
function lengthAt(bytes: Uint8Array, at: number, fieldBytes: number): number {
  let length = 0;
  for (let i = 0; i < fieldBytes; i++) length = length * 256 + bytes[at + i]!;
  return length;
}

/** A Buffer of its own bytes (msgpackr's type for a bin), a copy of `source[start, end)` in the value pool. */
function pooledBufferCopy(source: Uint8Array, start: number, end: number): Buffer {
  const copy = pooledCopy(source, start, end);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
