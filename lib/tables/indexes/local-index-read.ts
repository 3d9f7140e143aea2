/**
 * An LSI's range read, checked against the table: each chunk of entries
 * the engine returns, then the items they name, read at once (bounded), with
 * the read's own consistency. Every entry goes on to the page as a
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
 * the read is in both. An eventual read takes both from any up replica,
 * maybe not the same one; an entry its item does not match is judged again
 * by the leader's item, so an item is not left out only because two
 * replicas lag differently. The items' reads are not charged: DynamoDB keeps an
 * LSI in step with its table and charges an LSI read by the entries'
 * sizes, plus the table's items when it fetches unprojected attributes
 * (read-page.ts pageUnits; DG:LSI).
 */
import type { AttributeMap } from '../attribute-value.js';
import { boundedAll } from '../bounded-all.js';
import { encodeItemKey, type KeyValue } from '../key-encoding.js';
import type { RangeRead } from '../page-fill.js';
import type { RangeEntry } from '../table-engine.js';
import type { TableEngine } from '../table-engine.js';
import type { IndexSchema, PrimaryKeySchema } from '../table-schema.js';
import { committedItem } from '../transactions/prepared-item.js';
import { baseKeyOf, type IndexEntryValue } from './index-entry.js';
import type { LocalIndexCleanup } from './local-index-cleanup.js';
import { currentEntryItem } from './local-entry-check.js';

/**
 * Items read at once per chunk. One read per item, not one range read of
 * the span the chunk's items cover: a consistent read of one key can be
 * served in place from the leader's environment (readPath 'direct'), and
 * measured alternately (sequential LSI Queries, 100 items per partition
 * key, Limit 50) the point reads took 1.0-1.2 ms per query where the span's
 * range read took 1.4-1.55 ms; bench/lsi-query.bench.ts ranked them alike.
 */
export const ITEM_READS_MAX = 256;

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
export function checkedLocalRead(target: LocalIndexTarget): RangeRead {
  const { engine, tableId, table, index, cleanup } = target;
  return async (request) => {
    const chunk = await engine.range(request);
    const itemKeys = chunk.entries.map((entry) => {
      const baseKey = baseKeyOf(table, (entry.value as IndexEntryValue).item);
      return encodeItemKey(tableId, baseKey.partition, baseKey.sort as KeyValue | undefined).key;
    });
    const consistent = request.consistent === true;
    const items = (await boundedAll(itemKeys, ITEM_READS_MAX, (key) => engine.getOrdered(key, { consistent }))).map((stored) => committedItem(stored?.value));
    const check = (at: number) => currentEntryItem(table, index, (chunk.entries[at]!.value as IndexEntryValue).item, items[at]);
    const current = chunk.entries.map((_, at) => check(at));
    const mismatched = current.flatMap((item, at) => (item === undefined ? [at] : []));
    if (!consistent && mismatched.length > 0) {
      // An eventual read's entries and items may come from replicas that lag differently: an item that has a
      // version of its own in both would vanish from the page. Such entries are judged by the leader's item.
      const again = await boundedAll(mismatched, ITEM_READS_MAX, (at) => engine.getOrdered(itemKeys[at]!, { consistent: true }));
      for (const [n, at] of mismatched.entries()) {
        items[at] = committedItem(again[n]?.value);
        current[at] = check(at);
      }
    }
    const entries = chunk.entries.map((entry, at): RangeEntry => {
      if (current[at] === undefined) cleanup.report({ entryKey: entry.key, itemKey: itemKeys[at]!, table, index });
      const checked: CheckedEntry = current[at] === undefined ? { entry: undefined, item: undefined } : { entry: current[at], item: items[at] };
      return { ...entry, value: checked };
    });
    return { ...chunk, entries };
  };
}
