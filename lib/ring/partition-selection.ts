/**
 * The ring partitions a partition scan wants (Op.PARTITION_SCAN: a range
 * move's copy, an ownership-handoff sweep, a new leader's catch-up, Dynamo
 * §4.9's "transfer of the keys of a range"), and where such a scan may jump
 * over keys it does not want.
 *
 * A plain key's partition is known only from its hash, so a scan must look
 * at every plain key. A partitioned key (partitioned-key.ts) carries its
 * token, and the keys of one space are stored in token order, so the keys of
 * one ring partition of a space are one contiguous run: after a key of a
 * partition the scan does not want, it can seek straight to the first token
 * of the next partition it wants in that space, or to the next space. A new
 * leader's catch-up asks for one partition of 2^partitionBits: without the
 * jump every election read every key of every replica (three whole-store
 * scans per election, and an election per partition at first use after an
 * open); with it, the partition's own keys and a seek per space.
 *
 * Pure: keys in, keys out; the storage engine does the seeking.
 */
import assert from 'node:assert/strict';
import { hashKey32 } from './hash.js';
import { PARTITIONED_KEY_MARKER, SPACE_MAX, isWellFormedPartitionedKey, spacePrefix, tokenBound } from './partitioned-key.js';

export interface PartitionSelection {
  /** The ring's partition bits: a key's partition is the top `partitionBits` bits of its 32-bit position. */
  readonly partitionBits: number;
  /** Bit p (byte p >>> 3, bit p & 7) set: partition p is wanted. */
  readonly bitmap: Uint8Array;
}

/** The partition a key is placed in (hash.ts: a partitioned key's own token, else XXH32 of the key). */
export function partitionOfKey(selection: PartitionSelection, key: Uint8Array): number {
  return hashKey32(key) >>> (32 - selection.partitionBits);
}

export function isSelected(selection: PartitionSelection, partition: number): boolean {
  return (selection.bitmap[partition >>> 3]! & (1 << (partition & 7))) !== 0;
}

export function selectsKey(selection: PartitionSelection, key: Uint8Array): boolean {
  return isSelected(selection, partitionOfKey(selection, key));
}

/** The first selected partition at or after `from`, or -1. Skips empty bitmap bytes whole. */
function nextSelected(selection: PartitionSelection, from: number): number {
  const count = 2 ** selection.partitionBits;
  for (let partition = from; partition < count; ) {
    if ((partition & 7) === 0 && selection.bitmap[partition >>> 3] === 0) {
      partition += 8;
      continue;
    }
    if (isSelected(selection, partition)) return partition;
    partition++;
  }
  return -1;
}

/**
 * Where a scan goes after `key`, a well-formed partitioned key of a
 * partition the selection does not want: the least key that may be wanted
 * after it (the first token of the next wanted partition of its space, or of
 * the first wanted partition of the next space), inclusive; undefined when no
 * later key can be wanted. Always greater than `key`, so a scan progresses.
 */
export function skipTarget(selection: PartitionSelection, key: Uint8Array): Uint8Array | undefined {
  assert.ok(key[0] === PARTITIONED_KEY_MARKER && isWellFormedPartitionedKey(key), 'skipTarget takes a well-formed partitioned key');
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const space = view.getUint32(1);
  const shift = 32 - selection.partitionBits;
  const partition = view.getUint32(5) >>> shift;
  const later = nextSelected(selection, partition + 1);
  if (later >= 0) return tokenBound(space, later * 2 ** shift);
  const first = nextSelected(selection, 0);
  if (first < 0 || space === SPACE_MAX) return undefined;
  return first === 0 ? spacePrefix(space + 1) : tokenBound(space + 1, first * 2 ** shift);
}

