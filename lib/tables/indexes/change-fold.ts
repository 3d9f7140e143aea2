/**
 * One item's queued GSI changes folded into the writes that apply them all,
 * purely: the GSI applier (index-applier.ts) reads a queue page, and for
 * each base item turns its changes of that page, in version order, into one
 * set of entry writes and one locator write, instead of a read and a
 * compare-and-set per entry per change.
 *
 * Each change is decided as locateChange (index-locator.ts) decides a lone
 * one, from the locator the previous change left: a change no newer than
 * the locator is dropped, a newer one removes the located entry and the one
 * its old image names and writes its new one. Folded, the entries removed
 * along the way are removed once (unless the last change writes one of them
 * again), and the last entry written is written once, with the item and
 * version of the change that wrote it: the same end state, in fewer writes.
 * An entry is keyed by its index key and its base key, so no other item
 * writes it, and one drain at a time applies a queue partition (which holds
 * every change of its items): nothing else writes these keys meanwhile, and
 * the locator's compare-and-set catches another applier if one ever does.
 */
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../attribute-value.js';
import { locateChange, type IndexLocator } from './index-locator.js';

/** One queued change of the item, as index keys (index-entry.ts changeTargets, encoded). */
export interface KeyedChange {
  readonly version: number;
  readonly removeFrom?: Uint8Array;
  readonly writeTo?: Uint8Array;
  /** The projected item written at `writeTo`. */
  readonly item?: AttributeMap;
}

/** What applying the folded changes writes. */
export interface FoldedChanges {
  /** Entries to delete. */
  readonly remove: readonly Uint8Array[];
  /** The entry to write, with the version of the change that wrote it. */
  readonly write?: { readonly key: Uint8Array; readonly item: AttributeMap; readonly baseVersion: number };
  /** The item's locator after them. */
  readonly locator: IndexLocator;
  /** Changes newer than the locator (the others change nothing). */
  readonly applied: number;
}

/** `changes` in version order; undefined when none is newer than `current`. */
export function foldChanges(current: IndexLocator | undefined, changes: readonly KeyedChange[], bytesOf: (item: AttributeMap) => number): FoldedChanges | undefined {
  let state = current;
  let item: AttributeMap | undefined;
  let applied = 0;
  const removed = new Map<string, Uint8Array>();
  for (const change of changes) {
    const plan = locateChange(state, change.version, change.removeFrom, change.writeTo);
    if (plan === undefined) continue;
    applied += 1;
    for (const key of plan.remove) removed.set(Buffer.from(key).toString('latin1'), key);
    state = plan.locator;
    item = plan.write === undefined ? undefined : change.item;
  }
  if (applied === 0 || state === undefined) return undefined;
  const written = state.entryKey;
  if (written !== undefined) removed.delete(Buffer.from(written).toString('latin1'));
  if (written === undefined || item === undefined) return { remove: [...removed.values()], locator: state, applied };
  const locator: IndexLocator = { entryKey: written, baseVersion: state.baseVersion, entryBytes: bytesOf(item) };
  return { remove: [...removed.values()], write: { key: written, item, baseVersion: state.baseVersion }, locator, applied };
}

/** The entry count and bytes the folded changes add (negative: remove), judged by the locators before and after. */
export function countDelta(before: IndexLocator | undefined, beforeBytes: number, after: IndexLocator): { items: number; bytes: number } {
  const had = before?.entryKey !== undefined;
  const has = after.entryKey !== undefined;
  return { items: (has ? 1 : 0) - (had ? 1 : 0), bytes: (has ? after.entryBytes ?? 0 : 0) - (had ? beforeBytes : 0) };
}
