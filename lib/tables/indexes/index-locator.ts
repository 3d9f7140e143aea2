/**
 * Where a base item's GSI entry is, purely: one locator per base item and
 * GSI, in the index's locator space, keyed as the item is (so it shares the
 * item's token, leader and queue partition), holding the entry's engine key
 * (none when the item is not in the index) and the base version the entry
 * came from.
 *
 * Why not trust a change record's old image: the image is the item as the
 * writing leader read it. A write that failed (its leader crashed before W
 * acknowledged it) may still have committed on one replica, with its own
 * change record; the next leader, which never saw it, logs its own write's
 * change from the older image. Anti-entropy later brings the failed write's
 * item (which loses to the newer version) and its change record (which
 * nothing supersedes) back. Applied from the images alone, that record would
 * leave an entry for an item that no longer has it, for good. With the
 * locator, a change removes whatever entry the item has now, and one older
 * than what the index already holds for the item changes nothing: the index
 * ends as the highest version's record says, which is the item the table
 * converged on (versions grow across terms: version/ordered-version.ts).
 *
 * A locator stays after its item left the index (its entry key absent), so
 * a late, older change can never bring the entry back.
 */
import { Buffer } from 'node:buffer';
import { encodeItemKey, type KeyValue } from '../key-encoding.js';
import type { PrimaryKeyValues } from '../table-schema.js';

/** A locator's engine value. */
export interface IndexLocator {
  /** The item's entry in the index, if it has one. */
  readonly entryKey?: Uint8Array;
  readonly baseVersion: number;
  /** The entry's size (item-size.ts), for the index's counts; absent in locators written before it was kept. */
  readonly entryBytes?: number;
}

export function locatorKey(locatorSpace: number, baseKey: PrimaryKeyValues): Uint8Array {
  return encodeItemKey(locatorSpace, baseKey.partition, baseKey.sort as KeyValue | undefined).key;
}

/** What applying one change of base version `version` does to the item's entries. */
export interface LocatedChange {
  /** Entries to remove: the one the locator names and the one the record's old image names, unless either is the one written. */
  readonly remove: readonly Uint8Array[];
  readonly write?: Uint8Array;
  readonly locator: IndexLocator;
}

/** The change's effect given the item's locator; undefined when the index already holds the item from this version or a newer one. */
export function locateChange(current: IndexLocator | undefined, version: number, removeFrom: Uint8Array | undefined, writeTo: Uint8Array | undefined): LocatedChange | undefined {
  if (current !== undefined && current.baseVersion >= version) return undefined;
  const remove: Uint8Array[] = [];
  for (const key of [current?.entryKey, removeFrom]) {
    if (key === undefined || (writeTo !== undefined && Buffer.compare(key, writeTo) === 0)) continue;
    if (remove.some((kept) => Buffer.compare(kept, key) === 0)) continue;
    remove.push(key);
  }
  const locator: IndexLocator = writeTo === undefined ? { baseVersion: version } : { entryKey: writeTo, baseVersion: version };
  return writeTo === undefined ? { remove, locator } : { remove, write: writeTo, locator };
}
