/**
 * Leader-ordered keys, ranges and spaces against real storage-node workers
 * and LMDB (lib/tables/DESIGN.md §3, §5): compare-and-set at the partition
 * leader, acknowledged writes surviving a leader crash, consistent reads from
 * the leader, eventual reads that can be stale, ordered range pages, the
 * ring's token ranges, dropping a space, and data surviving close/reopen.
 */
import t from 'tap';
import { ErrorCode, RingtableError, type Store, partitionedKey, spacePrefix } from '../lib/index.js';
import { eventually, failsWith, openAt, openTemp, outcome, tempDir } from './helpers/temp-store.js';

const text = new TextEncoder();
/** A key of `space` in one partition `part`, ordered by `rest`. */
const itemKey = (space: number, part: string, rest: string) => partitionedKey(space, text.encode(part), text.encode(rest));
const prefixOf = (space: number, part: string) => partitionedKey(space, text.encode(part));
/** Just past every key beginning with `prefix`. */
const after = (prefix: Uint8Array) => {
  const end = new Uint8Array(prefix.byteLength + 1);
  end.set(prefix);
  end[prefix.byteLength] = 0xff;
  return end;
};

function conflictOf(error: unknown): string | undefined {
  if (!(error instanceof RingtableError) || error.code !== ErrorCode.CONFLICT) return undefined;
  return (error.details as { current?: string } | undefined)?.current;
}

t.test('writeOrdered and getOrdered: versions, compare-and-set, deletes', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  const key = itemKey(1, 'user#1', 'profile');
  const first = await store.writeOrdered({ key, value: { name: 'a' }, expect: 'absent' });
  t.type(first.version, 'string');
  const read = await store.getOrdered(key, { consistent: true });
  t.same(read?.value, { name: 'a' });
  t.equal(read?.version, first.version, 'a consistent read sees the acknowledged version');
  t.ok(store.preferenceList(key).includes(read!.replica), 'answered by one of the key replicas');

  const absentAgain = await outcome(() => store.writeOrdered({ key, value: 'x', expect: 'absent' }));
  t.equal(conflictOf(absentAgain.ok ? undefined : absentAgain.error), first.version, "expect 'absent' on a live key: ERR_CONFLICT with the current version");

  const second = await store.writeOrdered({ key, value: { name: 'b' }, expect: first.version });
  t.not(second.version, first.version, 'a new version');
  const stale = await outcome(() => store.writeOrdered({ key, value: 'c', expect: first.version }));
  t.equal(conflictOf(stale.ok ? undefined : stale.error), second.version, 'an outdated expect fails with the current version');

  await store.writeOrdered({ key, expect: second.version });
  t.equal(await store.getOrdered(key, { consistent: true }), undefined, 'a delete leaves nothing to read');
  const gone = await outcome(() => store.writeOrdered({ key, value: 'd', expect: second.version }));
  t.equal(conflictOf(gone.ok ? undefined : gone.error), 'absent', "after a delete the current version is 'absent'");
  await store.writeOrdered({ key, value: 'again', expect: 'absent' });
  t.equal((await store.getOrdered(key, { consistent: true }))?.value, 'again');

  await failsWith(t, () => store.writeOrdered({ key, value: 1, expect: 'not-a-version' }), ErrorCode.INVALID_OPTIONS, 'an expect ringtable did not make');
  await failsWith(t, () => store.getOrdered(key, { consistent: 'yes' as unknown as boolean }), ErrorCode.INVALID_OPTIONS, 'consistent must be a boolean');
  await store.put('plain', 1);
  await failsWith(t, () => store.getOrdered('plain', { consistent: true }), ErrorCode.INVALID_KEY, 'a key written with put is not leader-ordered');
});

t.test('100 concurrent compare-and-sets expecting absent: exactly one wins', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  for (let round = 0; round < 3; round++) {
    const key = itemKey(2, `race#${round}`, 'only');
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => outcome(() => store.writeOrdered({ key, value: i, expect: 'absent' }))));
    const winners = outcomes.flatMap((o, i) => (o.ok ? [{ i, version: o.value.version }] : []));
    t.equal(winners.length, 1, `round ${round}: exactly one winner`);
    const losers = outcomes.filter((o) => !o.ok).map((o) => conflictOf((o as { error: unknown }).error));
    t.ok(losers.every((current) => current === winners[0]!.version), 'every loser saw ERR_CONFLICT naming the winner');
    const read = await store.getOrdered(key, { consistent: true });
    t.same({ value: read?.value, version: read?.version }, { value: winners[0]!.i, version: winners[0]!.version }, 'the winner is what a consistent read returns');
  }
});

t.test('a consistent read after a write always sees it', async (t) => {
  const store = await openTemp(t, { nodes: 5 });
  for (let i = 0; i < 200; i++) {
    const key = itemKey(3, `p${i % 7}`, `k${i % 13}`);
    const { version } = await store.writeOrdered({ key, value: i });
    const read = await store.getOrdered(key, { consistent: true });
    if (read?.version !== version || read.value !== i) {
      t.fail(`write ${i}: read ${JSON.stringify(read)} after version ${version}`);
      return;
    }
  }
  t.pass('200 writes, each seen by the consistent read after it');
});

t.test("readPath 'direct': ordered reads are served in place and answer as messages do", async (t) => {
  const direct = await openTemp(t, { nodes: 4 });
  const messages = await openTemp(t, { nodes: 4, readPath: 'messages' });
  const keys = Array.from({ length: 60 }, (_, i) => itemKey(4, `p${i % 9}`, `k${i}`));
  for (const store of [direct, messages]) {
    for (const [i, key] of keys.entries()) await store.writeOrdered({ key, value: { i } });
    await store.writeOrdered({ key: keys[7]! });
  }
  const before = direct.stats().readsInPlace;
  for (const consistent of [false, true]) {
    for (const [i, key] of keys.entries()) {
      const [fromDirect, fromMessages] = [await direct.getOrdered(key, { consistent }), await messages.getOrdered(key, { consistent })];
      if (fromDirect?.value === undefined ? fromMessages !== undefined || i !== 7 : JSON.stringify(fromDirect.value) !== JSON.stringify(fromMessages?.value) || fromDirect.version !== fromMessages?.version) {
        return t.fail(`key ${i}, consistent ${consistent}: ${JSON.stringify(fromDirect)} in place, ${JSON.stringify(fromMessages)} by message`);
      }
    }
  }
  t.pass('the same values and versions, the deleted key absent in both');
  t.ok(direct.stats().readsInPlace - before >= keys.length, `eventual and consistent reads served in place (${direct.stats().readsInPlace - before})`);
  t.equal(messages.stats().readsInPlace, 0, "none with readPath 'messages'");
  // A crashed and restarted leader leads nothing: its copy is not read in place as the leader's, the
  // consistent read is refused and elects again, and still sees every acknowledged write.
  const key = keys[3]!;
  const leader = direct.preferenceList(key)[0]!;
  const written = await direct.writeOrdered({ key, value: 'before the crash' });
  direct.crashNode(leader);
  await direct.startNode(leader);
  t.same(await direct.getOrdered(key, { consistent: true }).then((read) => [read?.value, read?.version]), ['before the crash', written.version], 'restarted with no request meanwhile: the consistent read sees the acknowledged write');
  direct.crashNode(leader);
  const { version } = await direct.writeOrdered({ key, value: 'while down' });
  await direct.startNode(leader);
  t.same(await direct.getOrdered(key, { consistent: true }).then((read) => [read?.value, read?.version]), ['while down', version], 'written while it was down: the restarted leader caught up before answering');
});

t.test('a leader crash during conditional writes loses no acknowledged write', async (t) => {
  const store = await openTemp(t, { nodes: 5, failureTimeoutMs: 300 });
  const part = 'orders#42';
  const leader = store.preferenceList(itemKey(4, part, 'x'))[0]!;
  const acknowledged = new Map<string, number>();
  let crashed = false;
  const writer = async (id: number) => {
    for (let i = 0; i < 60; i++) {
      const key = `${id}:${String(i).padStart(3, '0')}`;
      const result = await outcome(() => store.writeOrdered({ key: itemKey(4, part, key), value: i, expect: 'absent' }));
      if (result.ok) acknowledged.set(key, i);
      if (id === 0 && i === 20 && !crashed) {
        crashed = true;
        store.crashNode(leader);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  t.ok(crashed, 'the leader crashed mid-run');
  t.ok(acknowledged.size > 100, `${acknowledged.size} writes acknowledged`);
  for (const [key, value] of acknowledged) {
    const read = await store.getOrdered(itemKey(4, part, key), { consistent: true });
    if (read?.value !== value) return t.fail(`acknowledged ${key}=${value} reads ${JSON.stringify(read?.value)}`);
  }
  t.pass('every acknowledged write is there, read from the new leader');
  // The old leader comes back, leads again under a new term after catching up, and sees them too.
  await store.startNode(leader);
  for (const [key, value] of acknowledged) {
    const read = await store.getOrdered(itemKey(4, part, key), { consistent: true });
    if (read?.value !== value) return t.fail(`after the restart ${key}=${value} reads ${JSON.stringify(read?.value)}`);
  }
  t.pass('and from the old leader, back and caught up');
  const range = await store.range({ start: prefixOf(4, part), end: after(prefixOf(4, part)), consistent: true, limit: 10_000 });
  t.ok(range.entries.length >= acknowledged.size, 'the range lists at least the acknowledged keys (a failed write may have landed too)');
  t.ok([...acknowledged.keys()].every((key) => range.entries.some((entry) => Buffer.from(entry.key).equals(Buffer.from(itemKey(4, part, key))))), 'every acknowledged key in the consistent range');
});

t.test('an eventual read is stale at least once under replica lag; a consistent one never', async (t) => {
  const store = await openTemp(t, { nodes: 3 });
  const key = itemKey(5, 'lag', 'k');
  const lagging = store.preferenceList(key)[2]!;
  await store.writeOrdered({ key, value: -1 });
  store.faults.delay(lagging, { minMs: 0, maxMs: 300 });
  let staleSeen = false;
  for (let i = 0; i < 40 && !staleSeen; i++) {
    const { version } = await store.writeOrdered({ key, value: i });
    const [consistent, ...eventual] = await Promise.all([store.getOrdered(key, { consistent: true }), store.getOrdered(key), store.getOrdered(key), store.getOrdered(key)]);
    t.equal(consistent?.version, version, 'the consistent read is never stale');
    if (eventual.some((read) => read?.version !== version)) staleSeen = true;
  }
  store.faults.clear();
  t.ok(staleSeen, 'an eventually consistent read returned an older version');
});

t.test('range: pages in order both ways, bounded by count and bytes', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  const part = 'page';
  const names = Array.from({ length: 60 }, (_, i) => `item#${String(i).padStart(2, '0')}`);
  await Promise.all(names.map((name, i) => store.writeOrdered({ key: itemKey(6, part, name), value: 'x'.repeat(10 + (i % 5) * 50) })));
  await store.writeOrdered({ key: itemKey(6, part, names[7]!) }); // a delete: never listed
  await store.writeOrdered({ key: itemKey(6, 'other', 'item#00'), value: 'elsewhere' });
  const live = names.filter((_, i) => i !== 7);
  const prefix = prefixOf(6, part);
  // A write is acknowledged by W = 2 of the 3 replicas, and an eventual page may be read from the third: wait
  // for every copy, since what this test checks is the paging, not how stale an eventual read may be.
  t.ok(await eventually(() => {
    const stats = store.stats();
    return stats.background === 0 && stats.pending === 0 && stats.nodes.every((node) => node.queueDepth === 0);
  }, 20_000), 'every replica holds every write');

  for (const reverse of [false, true]) {
    for (const consistent of [false, true]) {
      let start: Uint8Array = prefix;
      let end: Uint8Array = after(prefix);
      const seen: string[] = [];
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.range({ start, end, reverse, limit: 7, consistent });
        t.ok(page.entries.length <= 7, 'at most limit entries');
        seen.push(...page.entries.map((entry) => new TextDecoder().decode(entry.key.subarray(prefix.byteLength))));
        if (!page.more) break;
        const last = page.entries[page.entries.length - 1]!.key;
        if (reverse) end = last;
        else start = Uint8Array.from([...last, 0]);
      }
      t.same(seen, reverse ? [...live].reverse() : live, `every live key once, in ${reverse ? 'descending' : 'ascending'} order (${consistent ? 'consistent' : 'eventual'})`);
    }
  }

  const bounded = await store.range({ start: prefix, end: after(prefix), bytesMax: 200 });
  const bytes = bounded.entries.map((entry) => entry.valueBytes);
  t.ok(bounded.more, 'cut short by bytes');
  t.ok(bytes.slice(0, -1).reduce((a, b) => a + b, 0) < 200 && bytes.reduce((a, b) => a + b, 0) >= 200, 'stops after the entry whose bytes reach bytesMax');
  const one = await store.range({ start: prefix, end: after(prefix), bytesMax: 1 });
  t.equal(one.entries.length, 1, 'at least one entry');

  await failsWith(t, () => store.range({ start: prefix.subarray(0, 8), end: after(prefix) }), ErrorCode.INVALID_OPTIONS, 'a start without its token');
  await failsWith(t, () => store.range({ start: prefix, end: spacePrefix(7) }), ErrorCode.INVALID_OPTIONS, 'an end past the ring partition');
  await failsWith(t, () => store.range({ start: prefix, end: after(prefix), limit: 10_001 }), ErrorCode.INVALID_OPTIONS, 'limit above 10,000');
});

t.test('tokenRanges cover the 2^32 token space exactly once, and place keys as the ring does', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  const ranges = store.tokenRanges();
  t.equal(ranges[0]!.tokenStart, 0);
  t.equal(ranges[ranges.length - 1]!.tokenEnd, 2 ** 32);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.tokenStart !== ranges[i - 1]!.tokenEnd || ranges[i]!.partition !== i) return t.fail(`range ${i} does not follow ${i - 1}`);
  }
  t.equal(ranges.length, store.partitionOwners().length, 'one range per ring partition');
  for (let i = 0; i < 200; i++) {
    const key = itemKey(8, `pk${i}`, 'r');
    const token = new DataView(key.buffer).getUint32(5);
    const range = ranges.find((r) => token >= r.tokenStart && token < r.tokenEnd)!;
    if (range.partition !== store.partitionOf(key)) return t.fail(`key ${i}: token in range ${range.partition}, ring says ${store.partitionOf(key)}`);
  }
  t.pass('each key token lies in its ring partition range');
});

t.test('dropSpace removes a space everywhere, also on a node that was down, and stays dropped', async (t) => {
  const path = tempDir(t);
  let store: Store = await openAt(t, path, { nodes: 4 });
  const keys = (space: number) => Array.from({ length: 40 }, (_, i) => itemKey(space, `p${i % 4}`, `k${i}`));
  await Promise.all([...keys(10), ...keys(11)].map((key, i) => store.writeOrdered({ key, value: i })));
  const down = store.preferenceList(keys(10)[0]!)[1]!;
  await store.stopNode(down);
  await store.dropSpace(10);
  for (const key of keys(10)) {
    if ((await store.getOrdered(key, { consistent: true })) !== undefined) return t.fail('a key of the dropped space is still read');
  }
  await store.startNode(down);
  // Every replica, the one that was down included, answers eventual reads in turn.
  for (const key of keys(10)) {
    for (let turn = 0; turn < 3; turn++) if ((await store.getOrdered(key)) !== undefined) return t.fail(`replica of ${String(key)} still holds the dropped space`);
  }
  await store.repair();
  t.equal((await Promise.all(keys(10).map((key) => store.getOrdered(key)))).filter((read) => read !== undefined).length, 0, 'anti-entropy brings nothing back');
  t.equal((await Promise.all(keys(11).map((key) => store.getOrdered(key, { consistent: true })))).filter((read) => read !== undefined).length, 40, 'the other space is untouched');
  await store.close();
  store = await openAt(t, path, { nodes: 4 });
  t.equal((await Promise.all(keys(10).map((key) => store.getOrdered(key)))).filter((read) => read !== undefined).length, 0, 'still dropped after reopening');
  await failsWith(t, () => store.dropSpace(-1), ErrorCode.INVALID_OPTIONS, 'a space is a u32');
});

t.test('leader-ordered data and its order survive close and reopen', async (t) => {
  const path = tempDir(t);
  let store: Store = await openAt(t, path, { nodes: 4, durability: 'sync' });
  const key = itemKey(12, 'durable', 'k');
  const { version } = await store.writeOrdered({ key, value: 'before', expect: 'absent' });
  await store.close();
  store = await openAt(t, path, { nodes: 4, durability: 'sync' });
  const read = await store.getOrdered(key, { consistent: true });
  t.same({ value: read?.value, version: read?.version }, { value: 'before', version });
  const next = await store.writeOrdered({ key, value: 'after', expect: version });
  t.ok(Number(next.version) > Number(version), 'versions keep growing across a reopen (the new terms exceed the ones the nodes remember)');
  t.equal((await store.getOrdered(key, { consistent: true }))?.value, 'after');
});
