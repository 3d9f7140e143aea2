/**
 * Whether an LSI entry stands for its base item as the table holds it now,
 * purely: the check an LSI Query or Scan makes of every entry it reads
 * against the item the entry names (same partition key, so same token and
 * same leader: DG:LSI "item collection").
 *
 * Why an LSI entry can be wrong although it is written in the item's own
 * multi-key write (base-write.ts): a write that failed (its leader crashed
 * before W acknowledged it) may have committed on one replica, with its LSI
 * entry. The next leader never saw it and writes a newer version of the
 * item from the older image, with another LSI sort key value: it removes
 * the entry that image names, not the failed write's. Anti-entropy later
 * brings the failed write's item back (it loses to the newer version) and
 * its entry, a key no later write touched (it wins by default). Nothing in
 * the engine supersedes that entry, and an LSI is strongly consistent
 * (DG:LSI), so a read must never return it.
 *
 * The rule: an entry is current when the item it names exists (its
 * committed image: transactions/prepared-item.ts), is in the index, and has
 * the entry's index sort key value (an LSI's partition key is the table's,
 * and the entry's key holds the base key's digest: index-key.ts). Its item
 * is then what the base item projects into the index now, so a failed
 * write's entry that came back at the same key (same sort value, other
 * projected attributes) is read as the item holds it. Any other entry is
 * stale: the read skips it and the clean-up (local-index-cleanup.ts) deletes
 * it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AttributeMap } from '../attribute-value.js';
import { valuesEqual, sortValueOf } from '../query.js';
import type { IndexSchema, PrimaryKeySchema } from '../table-schema.js';
import { indexKeyOf, projectForIndex } from './index-entry.js';

/** The item the entry stands for now (the base item's projection), or undefined when the entry is stale. */
export function currentEntryItem(table: PrimaryKeySchema, index: IndexSchema, entryItem: AttributeMap, baseItem: AttributeMap | undefined): AttributeMap | undefined {
  if (baseItem === undefined || indexKeyOf(index, baseItem) === undefined) return undefined;
  if (!valuesEqual(sortValueOf(baseItem, index), sortValueOf(entryItem, index))) return undefined;
  return projectForIndex(table, index, baseItem);
}

/** What the clean-up does to an entry: nothing (current), delete it (stale), or rewrite it with the item's projection (its key is right, its attributes are not). */
export type EntryRepair = { readonly kind: 'none' } | { readonly kind: 'delete' } | { readonly kind: 'rewrite'; readonly item: AttributeMap };

export function entryRepair(table: PrimaryKeySchema, index: IndexSchema, entryItem: AttributeMap, baseItem: AttributeMap | undefined): EntryRepair {
  const current = currentEntryItem(table, index, entryItem, baseItem);
  if (current === undefined) return { kind: 'delete' };
  return isDeepStrictEqual(current, entryItem) ? { kind: 'none' } : { kind: 'rewrite', item: current };
}
