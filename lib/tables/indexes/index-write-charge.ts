/**
 * A base write's parts in its global secondary indexes' write capacity,
 * purely, for GSI back-pressure (DG:GSI "Provisioned throughput
 * considerations for global secondary indexes"; reference §3, §10, §15):
 * writing a new indexed item or removing one is one write of the entry's
 * size to the index, changing its index key two (a delete and a put), and an
 * item absent from the index before and after costs the index nothing. An
 * index without the capacity throttles the base write (capacity-model.ts
 * admits the table's and its indexes' parts together or not at all).
 *
 * Each part names the entry's engine key (its index partition decides which
 * of the index's partitions pays), the new entry's when there is one. A
 * write that leaves the projected entry unchanged writes nothing to the index.
 */
import type { AttributeMap } from '../attribute-value.js';
import { indexWriteCapacity, type IndexEntry } from '../capacity-units.js';
import { itemSize } from '../item-size.js';
import type { TableRecord } from '../table-catalog.js';
import type { PrimaryKeyValues } from '../table-schema.js';
import { baseKeyOf, indexChangeOf, indexKeyOf, projectForIndex } from './index-entry.js';
import { encodeIndexKey } from './index-key.js';

export interface IndexWritePart {
  readonly index: string;
  /** The entry's engine key in the index's space. */
  readonly engineKey: Uint8Array;
  /** The index key, for the metrics' top-K lists. */
  readonly label: string;
  readonly writeUnits: number;
}

/** Every live GSI's part of the write `oldItem` -> `newItem` (none for an index the write leaves alone). */
export function indexWriteParts(record: TableRecord, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, transactional = false): IndexWritePart[] {
  const parts: IndexWritePart[] = [];
  const schema = record.schema;
  for (const index of schema.globalSecondaryIndexes) {
    const spaces = record.indexes?.spaces[index.indexName];
    if (spaces === undefined || spaces.status === 'DELETING') continue;
    // A write that leaves the projected entry as it was writes nothing to the index (base-write.ts writes no change record).
    if (indexChangeOf(schema, index, oldItem, newItem) === undefined) continue;
    const entryOf = (item: AttributeMap | undefined): (IndexEntry & { indexKey: PrimaryKeyValues; item: AttributeMap }) | undefined => {
      const indexKey = item === undefined ? undefined : indexKeyOf(index, item);
      if (item === undefined || indexKey === undefined) return undefined;
      const projected = projectForIndex(schema, index, item);
      return { key: JSON.stringify(indexKey), bytes: itemSize(projected), indexKey, item };
    };
    const before = entryOf(oldItem);
    const after = entryOf(newItem);
    const writeUnits = indexWriteCapacity(before, after, transactional);
    if (writeUnits === 0) continue;
    const entry = (after ?? before)!;
    parts.push({ index: index.indexName, engineKey: encodeIndexKey(spaces.entrySpace, entry.indexKey, baseKeyOf(schema, entry.item)).key, label: entry.key, writeUnits });
  }
  return parts;
}
