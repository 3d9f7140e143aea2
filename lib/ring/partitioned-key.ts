/**
 * Keys with a partition part: all keys that share a partition part hash to
 * the same ring position, so they share one preference list and one node
 * holds them together, in key order (Riak's `chash_keyfun`, the bucket
 * property that chooses which part of a key is hashed; Cassandra's partition
 * key and clustering columns). DynamoDB's tables need exactly this: every item
 * of one partition key on one replica set, ordered by sort key, so that a Query
 * is one range read (DynamoDB Developer Guide: Partitions and data
 * distribution).
 *
 * Layout: [0xFF][u16 big-endian length of the partition part][partition part][rest]
 *
 * The placement is a function of the stored bytes alone, so every place that
 * places a stored key (routing, anti-entropy's partition scans, range moves,
 * hinted handoff) follows it without knowing about tables. No UTF-8 string
 * begins with byte 0xFF, so a string key never looks partitioned; a binary
 * key that begins with 0xFF must be a well-formed partitioned key (the Store
 * refuses any other with ERR_INVALID_KEY), so the two forms never alias.
 */
import assert from 'node:assert/strict';

export const PARTITIONED_KEY_MARKER = 0xff;
/** Marker byte plus the u16 length. */
export const PARTITIONED_KEY_HEADER_BYTES = 3;
/** The u16 length field's bound; the Store's keyBytesMax is smaller anyway. */
export const PARTITION_PART_BYTES_MAX = 0xffff;

/** A key whose placement is decided by `partitionPart` alone. */
export function partitionedKey(partitionPart: Uint8Array, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  assert.ok(partitionPart.length >= 1 && partitionPart.length <= PARTITION_PART_BYTES_MAX, 'partition part of 1..65535 bytes');
  const key = new Uint8Array(PARTITIONED_KEY_HEADER_BYTES + partitionPart.length + rest.length);
  key[0] = PARTITIONED_KEY_MARKER;
  key[1] = partitionPart.length >>> 8;
  key[2] = partitionPart.length & 0xff;
  key.set(partitionPart, PARTITIONED_KEY_HEADER_BYTES);
  key.set(rest, PARTITIONED_KEY_HEADER_BYTES + partitionPart.length);
  return key;
}

/**
 * The bytes that place `key` on the ring: its partition part if it has one,
 * else the whole key. Undefined for a key that begins with the marker but is
 * not a well-formed partitioned key (the Store refuses those).
 */
export function placementBytes(key: Uint8Array): Uint8Array | undefined {
  if (key.length === 0 || key[0] !== PARTITIONED_KEY_MARKER) return key;
  if (key.length < PARTITIONED_KEY_HEADER_BYTES + 1) return undefined;
  const length = (key[1]! << 8) | key[2]!;
  if (length === 0 || PARTITIONED_KEY_HEADER_BYTES + length > key.length) return undefined;
  return key.subarray(PARTITIONED_KEY_HEADER_BYTES, PARTITIONED_KEY_HEADER_BYTES + length);
}

/**
 * The prefix every key of `partitionPart` begins with (marker, length and the
 * part): the bounds of an ordered range read within one placement.
 */
export function partitionPrefix(partitionPart: Uint8Array): Uint8Array {
  return partitionedKey(partitionPart);
}
