/**
 * The GSI applier's fold (lib/tables/indexes/change-fold.ts): one item's
 * changes of a queue page applied as one set of writes end exactly where
 * applying them one at a time (locateChange, index-locator.ts) ends, in
 * whatever pages the queue was read, and the counts follow the locators.
 */
import t from 'tap';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { countDelta, foldChanges, type KeyedChange } from '../lib/tables/indexes/change-fold.js';
import { locateChange, type IndexLocator } from '../lib/tables/indexes/index-locator.js';

const bytes = (...values: number[]) => Uint8Array.from(values);
const bytesOf = (item: AttributeMap) => JSON.stringify(item).length;
const name = (key: Uint8Array) => Buffer.from(key).toString('hex');

type Entries = Map<string, { item: AttributeMap; baseVersion: number }>;

/** One change at a time, as the applier did before folding. */
function applyAlone(entries: Entries, locator: IndexLocator | undefined, change: KeyedChange): IndexLocator | undefined {
  const plan = locateChange(locator, change.version, change.removeFrom, change.writeTo);
  if (plan === undefined) return locator;
  for (const key of plan.remove) entries.delete(name(key));
  if (plan.write !== undefined) entries.set(name(plan.write), { item: change.item!, baseVersion: change.version });
  return plan.locator;
}

function applyFolded(entries: Entries, locator: IndexLocator | undefined, changes: KeyedChange[]): IndexLocator | undefined {
  const folded = foldChanges(locator, changes, bytesOf);
  if (folded === undefined) return locator;
  for (const key of folded.remove) entries.delete(name(key));
  if (folded.write !== undefined) entries.set(name(folded.write.key), { item: folded.write.item, baseVersion: folded.write.baseVersion });
  return folded.locator;
}

const change = fc.record({
  version: fc.integer({ min: 1, max: 30 }),
  removeFrom: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  writeTo: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  value: fc.integer({ min: 0, max: 1000 }),
}).map(({ version, removeFrom, writeTo, value }): KeyedChange => ({
  version,
  ...(removeFrom === undefined ? {} : { removeFrom: bytes(removeFrom) }),
  ...(writeTo === undefined ? {} : { writeTo: bytes(writeTo), item: { v: { N: String(value) } } }),
}));

t.test('folded changes end where one-at-a-time changes end, in any pages', async (t) => {
  fc.assert(fc.property(
    fc.array(change, { maxLength: 12 }),
    fc.option(fc.record({ entry: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), baseVersion: fc.integer({ min: 0, max: 10 }) }), { nil: undefined }),
    fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 6 }),
    (unsorted, start, pageSizes) => {
      // A queue holds one record per version, in version order.
      const seen = new Set<number>();
      const changes = unsorted.filter((c) => !seen.has(c.version) && seen.add(c.version)).sort((a, b) => a.version - b.version);
      const initial: Entries = new Map();
      const locator: IndexLocator | undefined = start === undefined ? undefined : start.entry === undefined ? { baseVersion: start.baseVersion } : { entryKey: bytes(start.entry), baseVersion: start.baseVersion };
      if (locator?.entryKey !== undefined) initial.set(name(locator.entryKey), { item: { v: { N: 'initial' } }, baseVersion: locator.baseVersion });
      const alone = new Map(initial);
      let aloneLocator = locator;
      for (const c of changes) aloneLocator = applyAlone(alone, aloneLocator, c);
      const folded = new Map(initial);
      let foldedLocator = locator;
      let at = 0;
      for (const size of [...pageSizes, changes.length]) {
        foldedLocator = applyFolded(folded, foldedLocator, changes.slice(at, at + size));
        at += size;
      }
      t.same([...folded].sort(), [...alone].sort());
      t.same(foldedLocator?.entryKey === undefined ? undefined : name(foldedLocator.entryKey), aloneLocator?.entryKey === undefined ? undefined : name(aloneLocator.entryKey));
      t.equal(foldedLocator?.baseVersion, aloneLocator?.baseVersion);
    },
  ), { seed: 13, numRuns: 300 });
});

t.test('foldChanges: several changes of one item are one entry write and one removal each', async (t) => {
  const item = (v: string): AttributeMap => ({ v: { S: v } });
  const folded = foldChanges({ entryKey: bytes(1), baseVersion: 2, entryBytes: 5 }, [
    { version: 3, removeFrom: bytes(1), writeTo: bytes(2), item: item('a') },
    { version: 4, removeFrom: bytes(2), writeTo: bytes(3), item: item('b') },
    { version: 5, writeTo: bytes(3), item: item('c') },
  ], bytesOf)!;
  t.same(folded.remove.map(name).sort(), ['01', '02'], 'the located entry and the one written in between');
  t.same(folded.write, { key: bytes(3), item: item('c'), baseVersion: 5 }, 'the last entry, from the last change');
  t.same(folded.locator, { entryKey: bytes(3), baseVersion: 5, entryBytes: bytesOf(item('c')) });
  t.equal(folded.applied, 3);
  t.equal(foldChanges({ baseVersion: 9 }, [{ version: 8, writeTo: bytes(1), item: item('x') }], bytesOf), undefined, 'nothing newer than the locator');
  const left = foldChanges({ entryKey: bytes(3), baseVersion: 5 }, [{ version: 6, writeTo: bytes(4), item: item('d') }, { version: 7, removeFrom: bytes(4) }], bytesOf)!;
  t.same(left.remove.map(name).sort(), ['03', '04'], 'the item left the index: every entry it had goes');
  t.same(left.locator, { baseVersion: 7 });
  t.equal(left.write, undefined);
});

t.test('countDelta follows the locators', async (t) => {
  t.same(countDelta(undefined, 0, { entryKey: bytes(1), baseVersion: 1, entryBytes: 40 }), { items: 1, bytes: 40 });
  t.same(countDelta({ entryKey: bytes(1), baseVersion: 1, entryBytes: 40 }, 40, { entryKey: bytes(2), baseVersion: 2, entryBytes: 30 }), { items: 0, bytes: -10 });
  t.same(countDelta({ entryKey: bytes(1), baseVersion: 1, entryBytes: 40 }, 40, { baseVersion: 2 }), { items: -1, bytes: -40 });
  t.same(countDelta({ baseVersion: 1 }, 0, { baseVersion: 2 }), { items: 0, bytes: 0 });
});
