/**
 * Secondary indexes in ConsumedCapacity, purely (API reference:
 * ConsumedCapacity, ReturnConsumedCapacity "INDEXES - The response includes
 * the aggregate ConsumedCapacity for the operation, together with
 * ConsumedCapacity for each table and secondary index that was accessed"):
 *
 * - A write: the table's part, plus each index whose entry the write adds,
 *   removes or changes, one write of the entry's projected size, two when
 *   the index key changes (capacity-units.ts indexWriteCapacity; DG GSI and
 *   LSI "Provisioned throughput considerations"). CapacityUnits is the sum.
 *   The shape is the one the AWS CLI reference records for BatchWriteItem on
 *   a table with an LSI: { TableName, CapacityUnits: 6, Table:
 *   { CapacityUnits: 3 }, LocalSecondaryIndexes: { AlbumTitleIndex:
 *   { CapacityUnits: 3 } } }.
 * - A Query or Scan of an index: the index's part (its entries read), and
 *   the table's part, zero unless an LSI fetched items from the table
 *   (dynalite db/index.js queryTable: Table, then GlobalSecondaryIndexes or
 *   LocalSecondaryIndexes keyed by the IndexName).
 * - GetItem and BatchGetItem read no index (API:GetItem), so their answer
 *   never has index parts.
 *
 * LSIs share the table's provisioned throughput (DG LSI "Provisioned
 * throughput considerations": writes to an LSI consume the table's write
 * capacity), so the capacity model charges their units to the table's
 * partition; a GSI's are its own (GSI back-pressure, capacity-model.ts).
 */
import type { AttributeMap } from '../attribute-value.js';
import { indexWriteCapacity, type ConsumedCapacity, type IndexEntry } from '../capacity-units.js';
import { itemSize } from '../item-size.js';
import type { TableRecord } from '../table-catalog.js';
import type { IndexSchema, TableSchema } from '../table-schema.js';
import { indexChangeOf, indexKeyOf, projectForIndex } from './index-entry.js';

/** Units by index name, only indexes that consumed something. */
export interface IndexUnits {
  readonly global: Readonly<Record<string, number>>;
  readonly local: Readonly<Record<string, number>>;
}

export const NO_INDEX_UNITS: IndexUnits = Object.freeze({ global: Object.freeze({}), local: Object.freeze({}) });

/** Write units the write `oldItem` -> `newItem` costs each secondary index (doubled in a transaction). */
export function indexWriteUnits(record: TableRecord, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, transactional = false): IndexUnits {
  const schema = record.schema;
  if (schema.globalSecondaryIndexes.length === 0 && schema.localSecondaryIndexes.length === 0) return NO_INDEX_UNITS;
  const global: Record<string, number> = {};
  const local: Record<string, number> = {};
  for (const index of schema.globalSecondaryIndexes) {
    // A GSI being deleted (or not yet backfilled into a space) is not written (index-write-charge.ts).
    const spaces = record.indexes?.spaces[index.indexName];
    if (spaces === undefined || spaces.status === 'DELETING') continue;
    const units = entryWriteUnits(schema, index, oldItem, newItem, transactional);
    if (units > 0) global[index.indexName] = units;
  }
  for (const index of schema.localSecondaryIndexes) {
    const units = entryWriteUnits(schema, index, oldItem, newItem, transactional);
    if (units > 0) local[index.indexName] = units;
  }
  return { global, local };
}

function entryWriteUnits(schema: TableSchema, index: IndexSchema, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, transactional: boolean): number {
  // A write that leaves the projected entry as it was writes nothing to the index.
  if (indexChangeOf(schema, index, oldItem, newItem) === undefined) return 0;
  const entryOf = (item: AttributeMap | undefined): IndexEntry | undefined => {
    const indexKey = item === undefined ? undefined : indexKeyOf(index, item);
    return item === undefined || indexKey === undefined ? undefined : { key: JSON.stringify(indexKey), bytes: itemSize(projectForIndex(schema, index, item)) };
  };
  return indexWriteCapacity(entryOf(oldItem), entryOf(newItem), transactional);
}

/** The sum of an IndexUnits' parts. */
export function totalIndexUnits(units: IndexUnits): number {
  let total = 0;
  for (const part of [units.global, units.local]) for (const value of Object.values(part)) total += value;
  return total;
}

/** The LSIs' units: charged to the table's partition with the table's own (LSIs share its throughput). */
export function localIndexUnits(units: IndexUnits): number {
  let total = 0;
  for (const value of Object.values(units.local)) total += value;
  return total;
}

/** Adds `b` to `a`, index by index (a BatchWriteItem's or a transaction's writes to one table). */
export function addIndexUnits(a: IndexUnits, b: IndexUnits): IndexUnits {
  if (b === NO_INDEX_UNITS) return a;
  const sum = (x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>): Record<string, number> => {
    const out: Record<string, number> = { ...x };
    for (const [name, units] of Object.entries(y)) out[name] = (out[name] ?? 0) + units;
    return out;
  };
  return { global: sum(a.global, b.global), local: sum(a.local, b.local) };
}

/**
 * A ConsumedCapacity (TOTAL or INDEXES, as consumedCapacity built it from
 * the table's part) with the indexes' parts added: the total grows by
 * them; INDEXES (it has a Table part) lists each index that consumed
 * something. NONE (undefined) stays undefined.
 */
export function withIndexParts<T extends ConsumedCapacity | undefined>(capacity: T, units: IndexUnits): T {
  if (capacity === undefined) return capacity;
  const total = totalIndexUnits(units);
  const globals = Object.entries(units.global);
  const locals = Object.entries(units.local);
  if (globals.length === 0 && locals.length === 0) return capacity;
  const result: ConsumedCapacity = { ...capacity, CapacityUnits: capacity.CapacityUnits + total };
  if (capacity.Table !== undefined) {
    if (locals.length > 0) result.LocalSecondaryIndexes = { ...capacity.LocalSecondaryIndexes, ...Object.fromEntries(locals.map(([name, u]) => [name, { CapacityUnits: (capacity.LocalSecondaryIndexes?.[name]?.CapacityUnits ?? 0) + u }])) };
    if (globals.length > 0) result.GlobalSecondaryIndexes = { ...capacity.GlobalSecondaryIndexes, ...Object.fromEntries(globals.map(([name, u]) => [name, { CapacityUnits: (capacity.GlobalSecondaryIndexes?.[name]?.CapacityUnits ?? 0) + u }])) };
  }
  return result as T;
}
