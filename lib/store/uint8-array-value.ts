/**
 * The msgpack of a plain Uint8Array value, the common binary value, written
 * without msgpackr: the bytes msgpackr writes with `moreTypes` (its
 * typed-array extension: ext 0x74, then element type 1 for Uint8Array, then
 * the bytes), so that every reader decodes it as before. packr.pack spent
 * about 0.5 µs per value on its extension lookup and on three objects per
 * call (a putMany coordinator's CPU and sampling heap profiles); this is one
 * allocation, the result. test/uint8-array-value.test.ts holds it to packr.pack.
 */
import type { ValueSlab } from './value-slab.js';

/** The extension type of msgpackr's typed arrays ('t'), and Uint8Array's index among them. */
export const TYPED_ARRAY_EXT = 0x74;
export const UINT8_ARRAY_TYPE = 1;

/** Whether `value` is a Uint8Array and nothing more (not a Buffer nor any other subclass): what packUint8Array encodes as msgpackr would. */
export function isPlainUint8Array(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype && !Object.hasOwn(value, 'constructor');
}

/** packUint8Array's length for a value of `length` bytes. */
export function packedUint8ArrayBytes(length: number): number {
  const data = length + 1;
  return data < 0x100 ? 4 + length : data < 0x10000 ? 5 + length : 7 + length;
}

/** `slab`: where a putMany's values go (value-slab.ts); without it, the result has its own memory. */
export function packUint8Array(value: Uint8Array, slab?: ValueSlab): Uint8Array {
  const bytes = packedUint8ArrayBytes(value.byteLength);
  const out = slab === undefined ? new Uint8Array(bytes) : slab.take(bytes);
  packUint8ArrayInto(value, out, 0);
  return out;
}

/** packUint8Array's bytes written at `at` of `out` (packedUint8ArrayBytes(value.byteLength) of them). */
export function packUint8ArrayInto(value: Uint8Array, out: Uint8Array, at: number): void {
  const length = value.byteLength;
  // The extension's data: the element type byte, then the bytes.
  const data = length + 1;
  if (data < 0x100) {
    out[at] = 0xc7;
    out[at + 1] = data;
    at += 2;
  } else if (data < 0x10000) {
    out[at] = 0xc8;
    out[at + 1] = data >> 8;
    out[at + 2] = data & 0xff;
    at += 3;
  } else {
    out[at] = 0xc9;
    out[at + 1] = data >>> 24;
    out[at + 2] = (data >>> 16) & 0xff;
    out[at + 3] = (data >>> 8) & 0xff;
    out[at + 4] = data & 0xff;
    at += 5;
  }
  out[at] = TYPED_ARRAY_EXT;
  out[at + 1] = UINT8_ARRAY_TYPE;
  out.set(value, at + 2);
}
