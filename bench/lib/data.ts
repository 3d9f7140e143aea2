/**
 * The data set every benchmark uses: 16-byte keys and 100-byte values (the
 * issue's sizes), generated from a seed, plus a uniform random access order.
 * Keys and values are views into two large buffers, so a million of them cost
 * two allocations, not two million.
 */
import { Prng, deriveSeed } from '../../lib/prng.js';

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

export interface DataSet {
  readonly seed: number;
  readonly keys: Uint8Array[];
  readonly values: Uint8Array[];
}

/**
 * Keys are 12 random bytes then the index as 4 big-endian bytes: random
 * placement in LMDB's B-tree and on the ring, yet unique by construction.
 */
export function makeDataSet(count: number, seed: number): DataSet {
  if (count > 2 ** 32) throw new RangeError('at most 2^32 keys');
  const keyPrng = new Prng(deriveSeed(seed, 1));
  const valuePrng = new Prng(deriveSeed(seed, 2));
  const keyBytes = new Uint8Array(count * KEY_BYTES);
  const valueBytes = valuePrng.fill(new Uint8Array(count * VALUE_BYTES));
  const keys = new Array<Uint8Array>(count);
  const values = new Array<Uint8Array>(count);
  const view = new DataView(keyBytes.buffer);
  for (let i = 0; i < count; i++) {
    const at = i * KEY_BYTES;
    const key = keyBytes.subarray(at, at + KEY_BYTES);
    keyPrng.fill(key.subarray(0, KEY_BYTES - 4));
    // A binary key starting with 0xFF is reserved for partitioned keys (ring/partitioned-key.ts): the store refuses it.
    if (key[0] === 0xff) key[0] = 0xfe;
    view.setUint32(at + KEY_BYTES - 4, i);
    keys[i] = key;
    values[i] = valueBytes.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES);
  }
  return { seed, keys, values };
}

/** `length` key indices drawn uniformly from [0, keyCount), from their own stream of `seed`. */
export function uniformAccess(keyCount: number, length: number, seed: number, stream = 3): Uint32Array {
  const prng = new Prng(deriveSeed(seed, stream));
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = prng.nextBelow(keyCount);
  return order;
}

/** Split an access order into arrays of keys of `batchSize` (the last may be shorter). */
export function keyBatches(keys: readonly Uint8Array[], order: Uint32Array, batchSize: number): Uint8Array[][] {
  const batches: Uint8Array[][] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(order.length, start + batchSize);
    const batch = new Array<Uint8Array>(end - start);
    for (let i = start; i < end; i++) batch[i - start] = keys[order[i]!]!;
    batches.push(batch);
  }
  return batches;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A seeded Fisher-Yates permutation of 0..count-1 (an insertion order). */
export function permutation(count: number, seed: number, stream = 7): Uint32Array {
  const prng = new Prng(deriveSeed(seed, stream));
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = prng.nextBelow(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
