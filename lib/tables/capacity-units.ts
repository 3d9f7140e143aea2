/**
 * DynamoDB's consumed capacity arithmetic (../shared/dynamodb-reference.md §3;
 * DynamoDB Developer Guide: ProvisionedThroughput#ItemSizeCalculations,
 * Query "Capacity units consumed by query", Scan, transaction-apis).
 *
 * - A read unit is one strongly consistent read of up to 4 KB; an eventually
 *   consistent read costs half, a transactional read double.
 * - A write unit is one write of up to 1 KB; a transactional write double.
 * - GetItem: the item rounded up to 4 KB; a missing item costs one unit.
 * - BatchGetItem: each item rounded on its own, then summed.
 * - Query and Scan: the sizes of all items read (before any filter or
 *   projection, also for Select=COUNT) summed, then rounded once, with a
 *   minimum of one unit for every partition read, empty ones included.
 * - PutItem and UpdateItem: the larger of the old and the new item;
 *   DeleteItem: the deleted item; a missing item costs one unit.
 * - BatchWriteItem: each item rounded on its own, then summed.
 * - A failed conditional write costs the new item's size when the item
 *   exists, one unit when it does not.
 * - A secondary index write: a new or removed index entry is one write of
 *   its size, a changed index key two (delete and put); no entry before or
 *   after costs nothing.
 * Sizes are item-size.ts's `itemSize`; index entries are their projected
 * item's size.
 */

export const READ_UNIT_BYTES = 4096;
export const WRITE_UNIT_BYTES = 1024;

export type ReadConsistency = 'eventual' | 'strong' | 'transactional';

const READ_FACTOR: Record<ReadConsistency, number> = { eventual: 0.5, strong: 1, transactional: 2 };

/** Whole 4 KB units for `bytes` (at least one) times the consistency factor. */
export function readCapacityUnits(bytes: number, consistency: ReadConsistency): number {
  return Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * READ_FACTOR[consistency];
}

/** Whole 1 KB units for `bytes` (at least one), doubled for a transaction. */
export function writeCapacityUnits(bytes: number, transactional = false): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES)) * (transactional ? 2 : 1);
}

/** GetItem (and a Get in TransactGetItems): a missing item (undefined) costs one unit. */
export function getItemCapacity(itemBytes: number | undefined, consistency: ReadConsistency): number {
  return readCapacityUnits(itemBytes ?? 0, consistency);
}

/** BatchGetItem: per-item rounding, then the sum. Missing items cost what a missing GetItem costs. */
export function batchGetItemCapacity(itemBytes: ReadonlyArray<number | undefined>, consistency: ReadConsistency): number {
  return itemBytes.reduce<number>((sum, bytes) => sum + getItemCapacity(bytes, consistency), 0);
}

/**
 * Query and Scan: the bytes of every item read, summed, rounded once, and
 * at least one unit per partition read. `partitionsRead` is 1 for a Query.
 */
export function queryCapacity(itemBytes: ReadonlyArray<number>, consistency: 'eventual' | 'strong', partitionsRead = 1): number {
  const total = itemBytes.reduce((sum, bytes) => sum + bytes, 0);
  return Math.max(Math.ceil(total / READ_UNIT_BYTES), partitionsRead, 1) * READ_FACTOR[consistency];
}

/** PutItem, UpdateItem, DeleteItem: the larger of the old and new item; neither (a delete of a missing item) costs one unit. */
export function writeItemCapacity(oldItemBytes: number | undefined, newItemBytes: number | undefined, transactional = false): number {
  return writeCapacityUnits(Math.max(oldItemBytes ?? 0, newItemBytes ?? 0), transactional);
}

/** A write whose condition failed: the new item's size if the item exists, else one unit. */
export function conditionalCheckFailedCapacity(newItemBytes: number, itemExists: boolean): number {
  return itemExists ? writeCapacityUnits(newItemBytes) : writeCapacityUnits(0);
}

/** BatchWriteItem: each put or delete rounded on its own, then the sum (a delete of a missing item costs one unit). */
export function batchWriteItemCapacity(itemBytes: ReadonlyArray<number | undefined>): number {
  return itemBytes.reduce<number>((sum, bytes) => sum + writeCapacityUnits(bytes ?? 0), 0);
}

/** An index entry before or after a write: its key (encoded, for comparison) and its projected size. */
export interface IndexEntry {
  key: string;
  bytes: number;
}

/** Write units a table write costs one secondary index. */
export function indexWriteCapacity(before: IndexEntry | undefined, after: IndexEntry | undefined, transactional = false): number {
  if (before === undefined && after === undefined) return 0;
  if (before === undefined) return writeCapacityUnits(after!.bytes, transactional);
  if (after === undefined) return writeCapacityUnits(before.bytes, transactional);
  if (before.key !== after.key) return writeCapacityUnits(before.bytes, transactional) + writeCapacityUnits(after.bytes, transactional);
  return writeCapacityUnits(after.bytes, transactional);
}

// ---------------------------------------------------------------------------
// ConsumedCapacity in responses (DynamoDB API reference: ConsumedCapacity, Capacity)

export type ReturnConsumedCapacity = 'INDEXES' | 'TOTAL' | 'NONE';

export interface Capacity {
  CapacityUnits: number;
}

export interface ConsumedCapacity {
  TableName: string;
  CapacityUnits: number;
  Table?: Capacity;
  LocalSecondaryIndexes?: Record<string, Capacity>;
  GlobalSecondaryIndexes?: Record<string, Capacity>;
}

/** The units an operation consumed, by part. */
export interface CapacityByPart {
  table: number;
  localSecondaryIndexes?: Readonly<Record<string, number>>;
  globalSecondaryIndexes?: Readonly<Record<string, number>>;
}

/**
 * The ConsumedCapacity member of a response: absent for NONE (the default);
 * TOTAL gives the table name and the total; INDEXES adds the table's own
 * part and each index's part, index maps only when an index consumed
 * something (GetItem and BatchGetItem never do: pass no index parts).
 */
export function consumedCapacity(mode: ReturnConsumedCapacity | undefined, tableName: string, parts: CapacityByPart): ConsumedCapacity | undefined {
  if (mode === undefined || mode === 'NONE') return undefined;
  const local = Object.entries(parts.localSecondaryIndexes ?? {});
  const global = Object.entries(parts.globalSecondaryIndexes ?? {});
  const total = [parts.table, ...local.map(([, units]) => units), ...global.map(([, units]) => units)].reduce((sum, units) => sum + units, 0);
  const result: ConsumedCapacity = { TableName: tableName, CapacityUnits: total };
  if (mode === 'TOTAL') return result;
  result.Table = { CapacityUnits: parts.table };
  if (local.length > 0) result.LocalSecondaryIndexes = Object.fromEntries(local.map(([name, units]) => [name, { CapacityUnits: units }]));
  if (global.length > 0) result.GlobalSecondaryIndexes = Object.fromEntries(global.map(([name, units]) => [name, { CapacityUnits: units }]));
  return result;
}
