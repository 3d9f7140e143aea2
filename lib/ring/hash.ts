/**
 * Key hashing for placement on the ring (Dynamo §4.2 hashes the key with MD5
 * to a 128-bit identifier; ringtable only needs a uniform 32-bit position, so
 * it uses XXH32, which is much cheaper per key and well distributed).
 *
 * The hash is XXH32 with seed 0, computed by the maintained `xxhash-wasm`
 * package. It is part of the on-disk format: a ring persisted with `toJSON`
 * maps keys to partitions through this exact function, so never change the
 * algorithm or the seed without a migration.
 */
import xxhash from 'xxhash-wasm';
import { PARTITIONED_KEY_MARKER, encodePartitionedKey, isWellFormedPartitionedKey, tokenOf } from './partitioned-key.js';

/** Seed 0 so positions match any other XXH32 implementation's default. */
const HASH_SEED = 0;

// Top-level await: the WebAssembly module is instantiated once, at import,
// so the per-request path below is synchronous.
const hasher = await xxhash();

/**
 * XXH32(key, seed 0) as an unsigned 32-bit integer. A string hashes as its
 * UTF-8 bytes (xxhash-wasm encodes it straight into WebAssembly memory, so
 * no bytes are allocated on the per-request path): "abc" and the bytes of
 * "abc" land on the same position.
 */
export function hashKey32(key: Uint8Array | string): number {
  // xxhash-wasm already returns an unsigned value; `>>> 0` pins that
  // contract here, because `partitionOf` shifts the result as a uint32.
  if (typeof key === 'string') return hasher.h32(key, HASH_SEED) >>> 0;
  // A key with a partition part (partitioned-key.ts) carries its token, the
  // hash of that part. A malformed one hashes whole; the Store never lets one in.
  if (key[0] === PARTITIONED_KEY_MARKER && isWellFormedPartitionedKey(key)) return tokenOf(key);
  return hasher.h32Raw(key, HASH_SEED) >>> 0;
}

/**
 * A key placed by `partitionPart` alone, in keyspace `space`, ordered after
 * it by `rest` (partitioned-key.ts has the layout and why).
 */
export function partitionedKey(space: number, partitionPart: Uint8Array, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodePartitionedKey(hashPart, space, partitionPart, rest);
}

/** Every key of one partition begins with this: the bounds of a range read within one placement. */
export function partitionPrefix(space: number, partitionPart: Uint8Array): Uint8Array {
  return encodePartitionedKey(hashPart, space, partitionPart, new Uint8Array(0));
}

function hashPart(part: Uint8Array): number {
  return hasher.h32Raw(part, HASH_SEED) >>> 0;
}
