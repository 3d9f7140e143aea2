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

/** `slab`: where a putMany's values go (value-slab.ts); without it, the result has its own memory. */
export function packUint8Array(value: Uint8Array, slab?: ValueSlab): Uint8Array {
  const length = value.byteLength;
  // The extension's data: the element type byte, then the bytes.
  const data = length + 1;
  let out: Uint8Array;
  let at: number;
  if (data < 0x100) {
    out = slab === undefined ? new Uint8Array(4 + length) : slab.take(4 + length);
    out[0] = 0xc7;
    out[1] = data;
    at = 2;
  } else if (data < 0x10000) {
    out = slab === undefined ? new Uint8Array(5 + length) : slab.take(5 + length);
    out[0] = 0xc8;
    out[1] = data >> 8;
    out[2] = data & 0xff;
    at = 3;
  } else {
    out = slab === undefined ? new Uint8Array(7 + length) : slab.take(7 + length);
    out[0] = 0xc9;
    new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(1, data);
    at = 5;
  }
  out[at] = TYPED_ARRAY_EXT;
  out[at + 1] = UINT8_ARRAY_TYPE;
  out.set(value, at + 2);
  return out;
}
