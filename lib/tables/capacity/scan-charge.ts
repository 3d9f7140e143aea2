/**
 * A Scan page's read units, spread over the logical partitions it read,
 * purely. DynamoDB charges a Scan the sizes of all items read, summed and
 * rounded up to 4 KB once (capacity-units.ts queryCapacity; DG Scan
 * "Capacity units consumed by scan"), and those reads happen on the
 * partitions that hold the items: each partition is charged the units of
 * the items read from it, so that a Scan over a hot partition counts
 * against that partition (its heat, its throttling), not against whichever
 * partition the segment starts in.
 *
 * The page's total stays exactly what ReturnConsumedCapacity reports: the
 * items, in the order read, are given the units their bytes complete
 * (ceil(bytes so far / 4 KB) minus ceil(bytes before / 4 KB)), so the parts
 * sum to ceil(total / 4 KB); an empty page's minimum of one unit goes to the
 * partition where the page began. Then the consistency factor (an eventual
 * read costs half).
 */
import { READ_UNIT_BYTES } from '../capacity-units.js';

export interface ScannedItem {
  /** The logical partition the item was read from (capacity-model.ts partitionIdOf). */
  partitionId: number;
  bytes: number;
}

/**
 * Units per logical partition, in the order the partitions were first
 * read; `firstPartitionId` takes the minimum unit of an empty page. Only
 * partitions charged more than zero are listed (an item that completes no
 * 4 KB block costs its partition nothing: the block is charged where it
 * completes).
 */
export function scanUnitsByPartition(items: readonly ScannedItem[], firstPartitionId: number, consistency: 'eventual' | 'strong'): Map<number, number> {
  const factor = consistency === 'strong' ? 1 : 0.5;
  const units = new Map<number, number>();
  let bytes = 0;
  for (const item of items) {
    const before = Math.ceil(bytes / READ_UNIT_BYTES);
    bytes += item.bytes;
    const completed = Math.ceil(bytes / READ_UNIT_BYTES) - before;
    if (completed > 0) units.set(item.partitionId, (units.get(item.partitionId) ?? 0) + completed * factor);
  }
  if (units.size === 0) units.set(firstPartitionId, factor);
  return units;
}
