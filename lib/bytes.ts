/**
 * Byte helpers every layer may use (the bottom layer: no imports).
 */

/**
 * A copy of `bytes[start, end)` that owns its memory. Never `.slice()`: on a
 * Buffer (ring data, lmdb-js results) it returns a view, not a copy.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.byteLength): Uint8Array {
  // Always a plain Uint8Array with its own ArrayBuffer: slice() on a Buffer
  // would make a Buffer (its species), and lmdb-js was seen to hang on reads
  // keyed by such copies of its own key buffers.
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/** Bytes below which a byte loop copies for less than building a subarray (a Buffer, on a Buffer's memory) to `set` from. */
const LOOP_COPY_BYTES_MAX = 256;

/** `source[start, start + length)` into `target` from `targetAt` (its first byte by default). */
export function copyInto(target: Uint8Array, source: Uint8Array, start: number, length: number, targetAt = 0): void {
  if (length > LOOP_COPY_BYTES_MAX) {
    target.set(source.subarray(start, start + length), targetAt);
    return;
  }
  for (let i = 0; i < length; i++) target[targetAt + i] = source[start + i]!;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** The first key after `key` in byte order: `key` with a 0x00 byte appended (an exclusive start made inclusive). */
export function keyAfter(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.byteLength + 1);
  next.set(key, 0);
  return next;
}
