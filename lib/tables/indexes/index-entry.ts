/**
 * What a base-item change does to one secondary index, purely.
 *
 * - Membership (sparse indexes): an item is in an index exactly when it has
 *   every index key attribute with the index's key type (DG: GSI "sparse
 *   indexes"; dyn:db/index.js `getIndexActions`).
 * - Projection: KEYS_ONLY keeps the table's and the index's key attributes,
 *   INCLUDE adds NonKeyAttributes, ALL keeps the item (DG: GSI Projections).
 * - A change: the old and the new projected entry; none when the item is in
 *   the index neither before nor after, or when its entry is unchanged (no
 *   index write, as DynamoDB charges none: reference §7 "GSI write cost").
 * - Applying a change of base version v (a GSI, asynchronously): an entry
 *   carries the base version it was written from, and a change only
 *   overwrites or deletes an entry written from an older version. The
 *   applier takes each item's changes in version order, so this guard is
 *   what makes a replay after a crash (a change applied but not yet trimmed)
 *   harmless: never an older version over a newer one.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AttributeMap } from '../attribute-value.js';
import type { KeyValue } from '../key-encoding.js';
import type { IndexSchema, PrimaryKeySchema, PrimaryKeyValues } from '../table-schema.js';

/** What an index entry's engine value holds: the projected item and the base version it came from (0 for LSIs, written with the item). */
export interface IndexEntryValue {
  readonly item: AttributeMap;
  readonly baseVersion: number;
}

/** The item's index key, or undefined when it is not in the index (a missing attribute or another type). */
export function indexKeyOf(index: PrimaryKeySchema, item: AttributeMap): PrimaryKeyValues | undefined {
  const partition = item[index.partitionKey.name];
  if (partition === undefined || !(index.partitionKey.type in partition)) return undefined;
  if (index.sortKey === undefined) return { partition: partition as KeyValue };
  const sort = item[index.sortKey.name];
  if (sort === undefined || !(index.sortKey.type in sort)) return undefined;
  return { partition: partition as KeyValue, sort: sort as KeyValue };
}

/** The table's primary key of a stored item (always present). */
export function baseKeyOf(table: PrimaryKeySchema, item: AttributeMap): PrimaryKeyValues {
  const partition = item[table.partitionKey.name] as KeyValue;
  return table.sortKey === undefined ? { partition } : { partition, sort: item[table.sortKey.name] as KeyValue };
}

/** The attributes an index keeps of an item: the table's and the index's keys always, then by projection type. */
export function projectedAttributes(table: PrimaryKeySchema, index: IndexSchema): ReadonlySet<string> | 'ALL' {
  if (index.projectionType === 'ALL') return 'ALL';
  const names = new Set<string>([table.partitionKey.name, index.partitionKey.name]);
  if (table.sortKey !== undefined) names.add(table.sortKey.name);
  if (index.sortKey !== undefined) names.add(index.sortKey.name);
  if (index.projectionType === 'INCLUDE') for (const name of index.nonKeyAttributes) names.add(name);
  return names;
}

export function projectForIndex(table: PrimaryKeySchema, index: IndexSchema, item: AttributeMap): AttributeMap {
  const kept = projectedAttributes(table, index);
  if (kept === 'ALL') return item;
  const projected: AttributeMap = {};
  for (const name of kept) if (item[name] !== undefined) projected[name] = item[name]!;
  return projected;
}

export interface IndexChange {
  /** The entry before the change (projected), if the old item was in the index. */
  readonly old?: AttributeMap;
  /** The entry after it, if the new item is in the index. */
  readonly new?: AttributeMap;
  /**
   * The item's key attributes, for a write whose item is in the index
   * neither before nor after it: the change moves no entry, but it still
   * advances the item's locator (index-locator.ts), so that an older change
   * arriving later (a failed write's record that anti-entropy brought back)
   * is dropped rather than applied over the item the table holds.
   */
  readonly key?: AttributeMap;
}

/** A base write's change to one index, or undefined when the index does not change. */
export function indexChangeOf(table: PrimaryKeySchema, index: IndexSchema, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined): IndexChange | undefined {
  const before = oldItem !== undefined && indexKeyOf(index, oldItem) !== undefined ? projectForIndex(table, index, oldItem) : undefined;
  const after = newItem !== undefined && indexKeyOf(index, newItem) !== undefined ? projectForIndex(table, index, newItem) : undefined;
  if (before === undefined && after === undefined) return undefined;
  if (before !== undefined && after !== undefined && isDeepStrictEqual(before, after)) return undefined;
  const change: { old?: AttributeMap; new?: AttributeMap } = {};
  if (before !== undefined) change.old = before;
  if (after !== undefined) change.new = after;
  return change;
}

/** Where a change lands: the entry to remove (its key moved or the item left the index) and the entry to write. */
export interface ChangeTargets {
  readonly removeFrom?: { indexKey: PrimaryKeyValues; baseKey: PrimaryKeyValues };
  readonly writeTo?: { indexKey: PrimaryKeyValues; baseKey: PrimaryKeyValues; item: AttributeMap };
}

export function changeTargets(table: PrimaryKeySchema, index: PrimaryKeySchema, change: IndexChange): ChangeTargets {
  const oldKey = change.old === undefined ? undefined : indexKeyOf(index, change.old);
  const newKey = change.new === undefined ? undefined : indexKeyOf(index, change.new);
  const targets: { removeFrom?: ChangeTargets['removeFrom']; writeTo?: ChangeTargets['writeTo'] } = {};
  if (change.new !== undefined && newKey !== undefined) targets.writeTo = { indexKey: newKey, baseKey: baseKeyOf(table, change.new), item: change.new };
  if (change.old !== undefined && oldKey !== undefined && (newKey === undefined || !isDeepStrictEqual(oldKey, newKey))) {
    targets.removeFrom = { indexKey: oldKey, baseKey: baseKeyOf(table, change.old) };
  }
  return targets;
}

/** Whether a change of base version `version` may replace (or remove) an entry: only one written from an older version. */
export function supersedes(version: number, current: IndexEntryValue | undefined): boolean {
  return current === undefined || current.baseVersion < version;
}
