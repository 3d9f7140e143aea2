/**
 * The keys a base-item write carries besides the item, purely: written in
 * the same atomic multi-key write (writeOrdered's `also`; DESIGN.md §6), so
 * each is committed exactly when the item is.
 *
 * - Every LSI's entry, maintained synchronously: the entry to remove (the
 *   item left the index or its index key changed) and the entry to write,
 *   also when it is unchanged (see alsoWritesOf). An
 *   LSI shares the table's partition key, so its entries share the item's
 *   token (DG: LSI: "same partition key ... item collection").
 * - Every live GSI's change record, appended to its queue (change-log.ts) and
 *   applied afterwards by the index applier: a GSI is updated asynchronously,
 *   as DynamoDB's are.
 * - The stream record, when the table has a stream.
 */
import type { AttributeMap } from '../attribute-value.js';
import type { TableRecord } from '../table-catalog.js';
import type { AlsoKeyWrite } from '../table-engine.js';
import type { PrimaryKeyValues } from '../table-schema.js';
import { tokenOf } from '../../ring/partitioned-key.js';
import { logKeyPrefix, queueRecord, shardTokenStart, streamRecord, streamShardPrefix } from './change-log.js';
import { changeTargets, indexChangeOf, indexKeyOf, projectForIndex, type IndexChange, type IndexEntryValue } from './index-entry.js';
import { encodeIndexKey } from './index-key.js';

export interface BaseWrite {
  readonly record: TableRecord;
  /** The item's engine partition part (key-encoding.ts): every key written with it shares its token. */
  readonly partitionPart: Uint8Array;
  readonly baseKey: PrimaryKeyValues;
  readonly oldItem: AttributeMap | undefined;
  readonly newItem: AttributeMap | undefined;
  /** When the change was made, for the GSI applier's lag (its own clock). */
  readonly nowMs: number;
  /** The same instant on the streams' clock (StreamOptions.streamClock): a stream record's creation time, judged for retention. */
  readonly streamNowMs: number;
  /** The ring's partition count: a stream record is keyed by its ring partition (change-log.ts). */
  readonly ringPartitions: number;
  /** DynamoDB's own change (a Time to Live deletion): the stream record says so. */
  readonly byService?: boolean;
}

export function alsoWritesOf(write: BaseWrite): AlsoKeyWrite[] {
  const { record, oldItem, newItem } = write;
  const indexes = record.indexes;
  if (indexes === undefined) return [];
  const schema = record.schema;
  const writes: AlsoKeyWrite[] = [];
  for (const index of schema.localSecondaryIndexes) {
    const spaces = indexes.spaces[index.indexName];
    // An unchanged entry is written again: the write's version must be the entry's newest, so a failed
    // write's removal of it that anti-entropy brings back (an older version) cannot win (local-entry-check.ts).
    const change = spaces === undefined ? undefined : indexChangeOf(schema, index, oldItem, newItem) ?? entryOf(schema, index, newItem);
    if (change === undefined) continue;
    const targets = changeTargets(schema, index, change);
    if (targets.removeFrom !== undefined) writes.push({ key: encodeIndexKey(spaces!.entrySpace, targets.removeFrom.indexKey, targets.removeFrom.baseKey).key });
    if (targets.writeTo !== undefined) {
      const value: IndexEntryValue = { item: targets.writeTo.item, baseVersion: 0 };
      writes.push({ key: encodeIndexKey(spaces!.entrySpace, targets.writeTo.indexKey, targets.writeTo.baseKey).key, value });
    }
  }
  for (const index of schema.globalSecondaryIndexes) {
    const spaces = indexes.spaces[index.indexName];
    if (spaces?.queueSpace === undefined || spaces.status === 'DELETING') continue;
    // Every write of the item is logged, also one that leaves its entry as it was (or leaves it out of the
    // index): the applier's locator must reach this write's version, or a failed write's older record that
    // anti-entropy brings back would move the entry away from the item the table holds (DESIGN.md §6).
    const change = indexChangeOf(schema, index, oldItem, newItem) ?? entryOf(schema, index, newItem) ?? { key: keyAttributesOf(schema, write.baseKey) };
    writes.push({ key: logKeyPrefix(spaces.queueSpace, write.partitionPart), value: queueRecord(change, write.nowMs), appendVersion: true });
  }
  const stream = indexes.stream;
  if (stream !== undefined && stream.specification.StreamEnabled) {
    const keys: AttributeMap = { [schema.partitionKey.name]: write.baseKey.partition };
    if (schema.sortKey !== undefined && write.baseKey.sort !== undefined) keys[schema.sortKey.name] = write.baseKey.sort;
    const value = streamRecord(stream.specification, keys, oldItem, newItem, write.streamNowMs, write.byService === true);
    const tokenStart = shardTokenStart(tokenOf(logKeyPrefix(stream.streamSpace, write.partitionPart)), write.ringPartitions);
    if (value !== undefined) writes.push({ key: streamShardPrefix(stream.streamSpace, tokenStart), value, appendVersion: true });
  }
  return writes;
}

/** The item's key as attributes (an IndexChange's `key`). */
function keyAttributesOf(table: TableRecord['schema'], key: PrimaryKeyValues): AttributeMap {
  const attributes: AttributeMap = { [table.partitionKey.name]: key.partition };
  if (table.sortKey !== undefined && key.sort !== undefined) attributes[table.sortKey.name] = key.sort;
  return attributes;
}

/** The item's entry in an index, as a change that writes it (undefined when the item is not in the index). */
function entryOf(table: TableRecord['schema'], index: TableRecord['schema']['localSecondaryIndexes'][number], item: AttributeMap | undefined): IndexChange | undefined {
  return item === undefined || indexKeyOf(index, item) === undefined ? undefined : { new: projectForIndex(table, index, item) };
}
