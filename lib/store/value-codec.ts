/**
 * Keys and values at the API boundary. Keys are bytes on the ring: a string is
 * its UTF-8 encoding, so "abc" and the bytes of "abc" are the same key. Values
 * are msgpack (msgpackr, which lmdb already ships): objects, arrays, strings,
 * numbers, booleans, null, Uint8Array, Date and bigint round-trip; a Map comes
 * back as a plain object; nested functions and undefined properties are dropped.
 */
import { Packr } from 'msgpackr';
import { ErrorCode, RingtableError } from '../errors.js';

const packr = new Packr({ useRecords: false });
const textEncoder = new TextEncoder();

export type Key = string | Uint8Array;

export function encodeKey(key: unknown, keyBytesMax: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof key === 'string') {
    // A UTF-8 string is at most 3 bytes per UTF-16 unit: reject before encoding huge input.
    if (key.length > keyBytesMax) throw tooLong(key.length, keyBytesMax);
    bytes = textEncoder.encode(key);
  } else if (key instanceof Uint8Array) {
    bytes = key;
  } else {
    throw new RingtableError(ErrorCode.INVALID_KEY, `key must be a string or a Uint8Array, got ${describe(key)}`);
  }
  if (bytes.byteLength === 0) throw new RingtableError(ErrorCode.INVALID_KEY, 'key must not be empty');
  if (bytes.byteLength > keyBytesMax) throw tooLong(bytes.byteLength, keyBytesMax);
  return bytes;
}

function tooLong(bytes: number, keyBytesMax: number): RingtableError {
  return new RingtableError(ErrorCode.INVALID_KEY, `key of ${bytes} bytes exceeds keyBytesMax (${keyBytesMax})`);
}

export function encodeValue(value: unknown, valueBytesMax: number): Uint8Array {
  const kind = typeof value;
  if (value === undefined || kind === 'function' || kind === 'symbol') {
    throw new RingtableError(ErrorCode.INVALID_VALUE, `value must be serialisable, got ${describe(value)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = packr.pack(value);
  } catch (error) {
    throw new RingtableError(ErrorCode.INVALID_VALUE, `value is not serialisable: ${(error as Error).message}`, undefined, { cause: error });
  }
  if (bytes.byteLength > valueBytesMax) {
    throw new RingtableError(ErrorCode.INVALID_VALUE, `value of ${bytes.byteLength} bytes (encoded) exceeds valueBytesMax (${valueBytesMax})`);
  }
  return bytes;
}

export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
