/**
 * An LSI's range read, checked against the table: each chunk of entries
 * the engine returns, then the items they name (readItems: one range read
 * of the span they cover, mostly), with the read's own consistency. Every entry goes on to the page as a
 * CheckedEntry: its item as the table holds it now (local-entry-check.ts),
 * or, when the entry is stale, no item (the page skips it; it is not
 * evaluated, so DynamoDB's Limit, ScannedCount and capacity count only
 * entries that are really in the index) and a report to the clean-up.
 *
 * Stale entries keep their place in the chunk: page-fill.ts resumes after
 * a chunk's last key, which must be the last key the engine returned.
 *
 * A consistent read takes the entries and the items from the partition's
 * leader (an LSI shares the table's partition key, so its entries and
 * their items have one token, one leader): every write acknowledged before
 * the read is in both. The items' reads are not charged: DynamoDB keeps an
 * LSI in step with its table and charges an LSI read by the entries'
 * sizes, plus the table's items when it fetches unprojected attributes
 * (read-page.ts pageUnits; DG:LSI).
 */
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../attribute-value.js';
import { boundedAll } from '../bounded-all.js';
import { encodeItemKey, type KeyValue } from '../key-encoding.js';
import type { RangeRead } from '../page-fill.js';
import { keyAfter } from '../../bytes.js';
import { RANGE_LIMIT_MAX, type OrderedValue, type RangeEntry, type TableEngine } from '../table-engine.js';
import type { IndexSchema, PrimaryKeySchema } from '../table-schema.js';
import { committedItem } from '../transactions/prepared-item.js';
import { baseKeyOf, type IndexEntryValue } from './index-entry.js';
import type { LocalIndexCleanup } from './local-index-cleanup.js';
import { currentEntryItem } from './local-entry-check.js';

/** Point reads of items in flight at once per chunk. */
export const ITEM_READS_MAX = 256;
/** The range read of a chunk's items takes at most this many items per entry of the chunk. */
export const SPAN_ITEMS_PER_ENTRY = 4;

/** An entry as the page takes it: `entry`, the index's view of the item now, and `item`, the table's item (both undefined when the entry is stale). */
export interface CheckedEntry {
  readonly entry: AttributeMap | undefined;
  readonly item: AttributeMap | undefined;
}

export interface LocalIndexTarget {
  readonly engine: TableEngine;
  readonly tableId: number;
  readonly table: PrimaryKeySchema;
  readonly index: IndexSchema;
  readonly cleanup: LocalIndexCleanup;
}

/** The LSI's range read whose entries' values are CheckedEntry. */
/**
 * The items `keys` name (all of one partition key: one token, one leader),
 * each as getOrdered would answer it. An LSI orders a partition's items
 * by another attribute, but a page of them often spans few of the
 * partition's items: one range read from the least key to the greatest
 * answers every key it covers (a key in the covered span and not returned
 * has no live item), at most SPAN_ITEMS_PER_ENTRY items per key; the keys
 * past where it stopped are read one by one. One range read instead of one
 * read per entry: the LSI Query bench (bench/lsi-query.bench.ts) measured
 * the point reads alone at about half the throughput.
 */
export async function readItems(engine: TableEngine, keys: readonly Uint8Array[], consistent: boolean): Promise<Array<OrderedValue | undefined>> {
  if (keys.length === 0) return [];
  let first = keys[0]!;
  let last = keys[0]!;
  for (const key of keys) {
    if (Buffer.compare(key, first) < 0) first = key;
    if (Buffer.compare(key, last) > 0) last = key;
  }
  const page = await engine.range({ start: first, end: keyAfter(last), limit: Math.min(RANGE_LIMIT_MAX, keys.length * SPAN_ITEMS_PER_ENTRY), consistent });
  const found = new Map<string, OrderedValue>();
  for (const entry of page.entries) found.set(idOf(entry.key), { value: entry.value, version: entry.version, replica: page.replica });
  const coveredTo = page.more ? page.entries[page.entries.length - 1]!.key : last;
  const values = new Array<OrderedValue | undefined>(keys.length);
  const rest: number[] = [];
  for (const [at, key] of keys.entries()) {
    if (Buffer.compare(key, coveredTo) <= 0) values[at] = found.get(idOf(key));
    else rest.push(at);
  }
  const read = await boundedAll(rest, ITEM_READS_MAX, (at) => engine.getOrdered(keys[at]!, { consistent }));
  for (const [n, at] of rest.entries()) values[at] = read[n];
  return values;
}

function idOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export function checkedLocalRead(target: LocalIndexTarget): RangeRead {
  const { engine, tableId, table, index, cleanup } = target;
  return async (request) => {
    const chunk = await engine.range(request);
    const itemKeys = chunk.entries.map((entry) => {
      const baseKey = baseKeyOf(table, (entry.value as IndexEntryValue).item);
      return encodeItemKey(tableId, baseKey.partition, baseKey.sort as KeyValue | undefined).key;
    });
    const stored = await readItems(engine, itemKeys, request.consistent === true);
    const entries = chunk.entries.map((entry, at): RangeEntry => {
      const item = committedItem(stored[at]?.value);
      const current = currentEntryItem(table, index, (entry.value as IndexEntryValue).item, item);
      if (current === undefined) cleanup.report({ entryKey: entry.key, itemKey: itemKeys[at]!, table, index });
      const checked: CheckedEntry = current === undefined ? { entry: undefined, item: undefined } : { entry: current, item };
      return { ...entry, value: checked };
    });
    return { ...chunk, entries };
  };
}
