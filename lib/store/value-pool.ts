/**
 * Memory that the binary values reads return share, as Node's own Buffer
 * pool does (Buffer.allocUnsafe: Buffer.poolSize 8 KiB, values up to half
 * of it): a get's Uint8Array value of up to VALUE_POOL_ITEM_BYTES_MAX bytes
 * is a view into an 8 KiB chunk that later values fill, never into memory
 * that changes (lmdb-js's read buffer, ring memory).
 *
 * Why (issue 15): a value of its own memory is an ArrayBuffer of its own,
 * whose backing store V8 allocates, tracks as external memory and frees one
 * by one. A 1000-byte value copied into its own memory cost 640-1020 ns of
 * CPU, into a pooled chunk 240-280 ns (a micro-benchmark of a million
 * copies, 1 in 256 kept; 100-byte values 220-520 against 90-110 ns),
 * against a get in place of about 4 µs. Each ArrayBuffer is also an
 * extension V8's collectors sweep: at 56K gets a second of 1000-byte values
 * the coordinator's old-generation pauses spent up to 10 ms sweeping them.
 *
 * What it costs a caller, as with Node's pooled Buffers: a value kept holds
 * its whole chunk (at most 8 KiB) until every value in it is let go, and
 * `value.buffer` is the chunk (use byteOffset and byteLength with it). The
 * chunks are marked untransferable (worker_threads.markAsUntransferable,
 * what Node does to its pool): a value's buffer in a postMessage transfer
 * list is copied (Node 20; later Nodes throw) instead of detaching the
 * other values of its chunk, and a structured clone copies the whole chunk. Chunks are never reused: a view's bytes stay
 * what they were when returned, and views never overlap.
 *
 * One pool per thread (module state): every coordinator thread decodes
 * into its own.
 */
import { markAsUntransferable } from 'node:worker_threads';
import { copyInto } from '../bytes.js';

/** One chunk's bytes: Node's Buffer.poolSize. */
export const VALUE_POOL_CHUNK_BYTES = 8 * 1024;
/** Larger values get memory of their own (Node's threshold: half a pool). */
export const VALUE_POOL_ITEM_BYTES_MAX = VALUE_POOL_CHUNK_BYTES >>> 1;
/** Each value starts on a multiple of this, as in Node's pool: a Float64Array over a value's bytes stays possible. */
const ALIGN_BYTES = 8;

let chunk = new ArrayBuffer(0);
let usedBytes = 0;

/** A Uint8Array of its own bytes, a copy of `source[start, end)`: pooled up to VALUE_POOL_ITEM_BYTES_MAX. */
export function pooledCopy(source: Uint8Array, start: number, end: number): Uint8Array {
  const length = end - start;
  if (length > VALUE_POOL_ITEM_BYTES_MAX) {
    const own = new Uint8Array(length);
    copyInto(own, source, start, length);
    return own;
  }
  if (usedBytes + length > chunk.byteLength) {
    chunk = new ArrayBuffer(VALUE_POOL_CHUNK_BYTES);
    markAsUntransferable(chunk);
    usedBytes = 0;
  }
  const value = new Uint8Array(chunk, usedBytes, length);
  usedBytes = (usedBytes + length + ALIGN_BYTES - 1) & ~(ALIGN_BYTES - 1);
  copyInto(value, source, start, length);
  return value;
}
