/**
 * Keys with a partition part: every key that shares a space and a partition
 * part is placed by that part alone, so they share one preference list and
 * one node holds them together, in key order. This is Cassandra's layout: a
 * partitioner maps the partition key to a token, and storage keeps rows in
 * token order, then clustering order, so a token range and a partition are
 * each one contiguous range (Cassandra Architecture: Data distribution;
 * Riak's `chash_keyfun` is the same idea without the ordering). DynamoDB's
 * tables need exactly this: every item of one partition key on one replica
 * set ordered by sort key, so a Query is one range read, and a Scan walks the
 * ring partition by partition, each one contiguous range on its replica
 * (DynamoDB Developer Guide: Partitions and data distribution).
 *
 * Layout (big-endian):
 *   [0xFF][space u32][token u32][part length u16][partition part][rest]
 * - space: a keyspace (the tables layer uses one per table), so all keys of a
 *   space are one contiguous range on every node and can be dropped at once;
 * - token: hashKey32 of the partition part, written into the key so that the
 *   placement is a function of the stored bytes alone (routing, anti-entropy's
 *   partition scans, range moves and handoff follow it without knowing about
 *   tables) and so that a ring partition (the token's top bits) is one
 *   contiguous range of each space;
 * - the partition part and the rest keep their own byte order.
 * No UTF-8 string begins with 0xFF, so a string key never looks partitioned;
 * a binary key that begins with 0xFF must be well formed (the Store refuses
 * any other with ERR_INVALID_KEY), so the two forms never alias.
 */
import assert from 'node:assert/strict';

export const PARTITIONED_KEY_MARKER = 0xff;
const SPACE_AT = 1;
const TOKEN_AT = 5;
const PART_LENGTH_AT = 9;
/** Marker, space, token and part length. */
export const PARTITIONED_KEY_HEADER_BYTES = 11;
export const PARTITION_PART_BYTES_MAX = 0xffff;
export const SPACE_MAX = 0xffff_ffff;

/** The token of a partition part: the same XXH32 that places plain keys (ring/hash.ts passes it in to avoid a cycle). */
export type PartHash = (part: Uint8Array) => number;

export function encodePartitionedKey(hash: PartHash, space: number, partitionPart: Uint8Array, rest: Uint8Array): Uint8Array {
  assert.ok(Number.isInteger(space) && space >= 0 && space <= SPACE_MAX, 'space is a u32');
  assert.ok(partitionPart.length >= 1 && partitionPart.length <= PARTITION_PART_BYTES_MAX, 'partition part of 1..65535 bytes');
  const key = new Uint8Array(PARTITIONED_KEY_HEADER_BYTES + partitionPart.length + rest.length);
  const view = new DataView(key.buffer);
  key[0] = PARTITIONED_KEY_MARKER;
  view.setUint32(SPACE_AT, space);
  view.setUint32(TOKEN_AT, hash(partitionPart));
  view.setUint16(PART_LENGTH_AT, partitionPart.length);
  key.set(partitionPart, PARTITIONED_KEY_HEADER_BYTES);
  key.set(rest, PARTITIONED_KEY_HEADER_BYTES + partitionPart.length);
  return key;
}

/** Whether `key` is a well-formed partitioned key (the marker alone does not make one). */
export function isWellFormedPartitionedKey(key: Uint8Array): boolean {
  if (key.length < PARTITIONED_KEY_HEADER_BYTES + 1 || key[0] !== PARTITIONED_KEY_MARKER) return false;
  const length = (key[PART_LENGTH_AT]! << 8) | key[PART_LENGTH_AT + 1]!;
  return length >= 1 && PARTITIONED_KEY_HEADER_BYTES + length <= key.length;
}

/** The token stored in a well-formed partitioned key. */
export function tokenOf(key: Uint8Array): number {
  return ((key[TOKEN_AT]! << 24) | (key[TOKEN_AT + 1]! << 16) | (key[TOKEN_AT + 2]! << 8) | key[TOKEN_AT + 3]!) >>> 0;
}

/** The parts of a well-formed partitioned key (views into it, no copies). */
export function splitPartitionedKey(key: Uint8Array): { space: number; token: number; partitionPart: Uint8Array; rest: Uint8Array } {
  assert.ok(isWellFormedPartitionedKey(key), 'a well-formed partitioned key');
  const length = (key[PART_LENGTH_AT]! << 8) | key[PART_LENGTH_AT + 1]!;
  const space = ((key[SPACE_AT]! << 24) | (key[SPACE_AT + 1]! << 16) | (key[SPACE_AT + 2]! << 8) | key[SPACE_AT + 3]!) >>> 0;
  const end = PARTITIONED_KEY_HEADER_BYTES + length;
  return { space, token: tokenOf(key), partitionPart: key.subarray(PARTITIONED_KEY_HEADER_BYTES, end), rest: key.subarray(end) };
}

/** [0xFF][space]: every key of a space begins with it. */
export function spacePrefix(space: number): Uint8Array {
  const prefix = new Uint8Array(SPACE_AT + 4);
  prefix[0] = PARTITIONED_KEY_MARKER;
  new DataView(prefix.buffer).setUint32(SPACE_AT, space);
  return prefix;
}

/**
 * [0xFF][space][token]: the lower bound of the keys of `space` whose token is
 * at least `token` (a ring partition's keys are those between its first
 * token and the next partition's).
 */
export function tokenBound(space: number, token: number): Uint8Array {
  const bound = new Uint8Array(TOKEN_AT + 4);
  bound[0] = PARTITIONED_KEY_MARKER;
  const view = new DataView(bound.buffer);
  view.setUint32(SPACE_AT, space);
  view.setUint32(TOKEN_AT, token >>> 0);
  return bound;
}
