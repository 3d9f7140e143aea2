/**
 * Item collections of tables with local secondary indexes, purely (DG: LSI,
 * "Item collections"; API: ItemCollectionMetrics).
 *
 * An item collection is every item of one partition key value together with
 * its LSI entries. It is bounded (10 GB in DynamoDB; a Database option here,
 * so tests can reach it): a write that would grow a collection past the
 * bound fails with ItemCollectionSizeLimitExceededException "Collection size
 * exceeded." (reference §11), and writes that shrink it are still allowed.
 * ReturnItemCollectionMetrics SIZE answers the collection's key and an
 * estimate of its size in GB, as a [lower, upper] pair.
 */
import type { AttributeMap } from '../attribute-value.js';
import { DynamoDbError } from '../dynamodb-error.js';
import { itemSize } from '../item-size.js';
import type { TableSchema } from '../table-schema.js';
import { indexKeyOf, projectForIndex } from './index-entry.js';

/** DynamoDB's bound on an item collection (DG: LSI). */
export const ITEM_COLLECTION_BYTES_MAX = 10 * 1024 ** 3;
const GB = 1024 ** 3;

/** The bytes an item adds to its collection: itself and its entry in every LSI it is in. */
export function collectionBytesOf(schema: TableSchema, item: AttributeMap | undefined): number {
  if (item === undefined) return 0;
  let bytes = itemSize(item);
  for (const index of schema.localSecondaryIndexes) {
    if (indexKeyOf(index, item) !== undefined) bytes += itemSize(projectForIndex(schema, index, item));
  }
  return bytes;
}

/** Refuses a write that grows a collection past `bytesMax`; one that shrinks it passes even over the bound. */
export function checkCollectionGrowth(currentBytes: number, oldItemBytes: number, newItemBytes: number, bytesMax: number): void {
  const growth = newItemBytes - oldItemBytes;
  if (growth > 0 && currentBytes + growth > bytesMax) throw new DynamoDbError('ItemCollectionSizeLimitExceededException', 'Collection size exceeded.');
}

export interface ItemCollectionMetrics {
  ItemCollectionKey: AttributeMap;
  SizeEstimateRangeGB: [number, number];
}

/** The metrics of one collection: its partition key and the whole gigabytes around its size. */
export function itemCollectionMetrics(schema: TableSchema, partitionValue: AttributeMap[string], bytes: number): ItemCollectionMetrics {
  const lower = Math.floor(bytes / GB);
  return { ItemCollectionKey: { [schema.partitionKey.name]: partitionValue! }, SizeEstimateRangeGB: [lower, lower + 1] };
}
