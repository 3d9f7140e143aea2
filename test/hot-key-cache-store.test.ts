/**
 * The hot-key cache on real storage nodes (StoreOptions.hotKeyCache): hot
 * keys' gets are answered by the coordinator, and every write through it
 * (put, delete, putMany) is seen by the next get at once; values expire on
 * their own TTL even while cached; consistent reads never use the cache;
 * a caller that changes the value it got does not change the next caller's.
 */
import t from 'tap';
import { READS_IN_PLACE_PER_TURN_MAX } from '../lib/store/direct-reads.js';
import { HOT_READS_MAX } from '../lib/store/hot-key-cache.js';
import { openTemp, sleep } from './helpers/temp-store.js';

/** Enough gets of one key to make it hot, and then hit its entry. */
const HOT_READS = HOT_READS_MAX + 4;
const CACHE = { entriesMax: 8, entryTtlMs: 60_000 };

t.test('hot reads are cached; every write through the coordinator is seen by the next get', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, hotKeyCache: CACHE });
  await store.put('hot', { v: 0 });
  for (let i = 0; i < HOT_READS; i++) t.same((await store.get('hot'))?.value, { v: 0 });
  const afterReads = store.stats().hotKeyCache!;
  t.ok(afterReads.hits > 0, `a hot key's gets are answered from the cache (${afterReads.hits} hits)`);
  t.equal(afterReads.entries, 1);

  for (let version = 1; version <= 20; version++) {
    await store.put('hot', { v: version });
    for (let i = 0; i < 4; i++) t.same((await store.get('hot'))?.value, { v: version }, `put ${version}: read ${i} sees it`);
  }
  await store.delete('hot');
  t.equal(await store.get('hot'), undefined, 'a delete through the coordinator is seen at once');
  await store.putMany([['hot', { v: 'batch' }]]);
  for (let i = 0; i < 4; i++) t.same((await store.get('hot'))?.value, { v: 'batch' }, 'so is a putMany');
  const stats = store.stats().hotKeyCache!;
  t.ok(stats.hits > afterReads.hits, `hits went on between writes (${stats.hits})`);
  t.ok(stats.invalidations > 0, `writes removed the entry (${stats.invalidations})`);
});

t.test('gets racing puts of the same key: after a put resolves, every get sees it or a later put', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, hotKeyCache: CACHE });
  await store.put('k', 0);
  let acknowledged = 0;
  let stale = 0;
  const readers = Array.from({ length: 8 }, async () => {
    for (let i = 0; i < 60; i++) {
      const floor = acknowledged;
      const value = (await store.get('k'))?.value as number;
      if (value < floor) stale++;
    }
  });
  const writer = (async () => {
    for (let version = 1; version <= 40; version++) {
      await store.put('k', version);
      acknowledged = version;
    }
  })();
  await Promise.all([writer, ...readers]);
  t.equal(stale, 0, 'no get returned a value older than a put acknowledged before it started');
  t.ok(store.stats().hotKeyCache!.hits > 0, `the cache answered some of them (${store.stats().hotKeyCache!.hits})`);
  t.equal((await store.get('k'))?.value, 40);
});

t.test("a cached value still expires on its own TTL; consistent reads skip the cache; callers get their own copies", async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, hotKeyCache: CACHE });
  await store.put('ttl', 'short-lived', { ttlMs: 300 });
  for (let i = 0; i < HOT_READS; i++) await store.get('ttl');
  t.equal((await store.get('ttl'))?.value, 'short-lived');
  t.ok(store.stats().hotKeyCache!.hits > 0, 'cached');
  await sleep(400);
  t.equal(await store.get('ttl'), undefined, 'expired, though its cache entry lives on');

  await store.put('obj', { list: [1, 2] });
  for (let i = 0; i < HOT_READS; i++) await store.get('obj');
  const mine = (await store.get('obj'))!.value as { list: number[] };
  mine.list.push(3);
  t.same((await store.get('obj'))?.value, { list: [1, 2] }, "changing one caller's value does not change the next one's");

  const hits = store.stats().hotKeyCache!.hits;
  for (let i = 0; i < 5; i++) await store.get('obj', { consistent: true });
  t.equal(store.stats().hotKeyCache!.hits, hits, 'consistent reads are not answered by the cache');
});

t.test('off by default', async (t) => {
  const store = await openTemp(t, { nodes: 3 });
  await store.put('k', 1);
  for (let i = 0; i < HOT_READS; i++) await store.get('k');
  t.equal(store.stats().hotKeyCache, undefined);
  t.equal(store.options.readBalance, 'least-loaded');
});

t.test('with reads in place (the default) and the cache on, cold keys are still read in place, past the per-turn bound too, and each get is counted once', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 }, hotKeyCache: CACHE, timeoutMs: 60_000 });
  const keys = Array.from({ length: READS_IN_PLACE_PER_TURN_MAX * 3 }, (_, i) => `cold:${i}`);
  await store.putMany(keys.map((key, i) => [key, i]));
  await store.put('hot', 'h');
  for (let i = 0; i < HOT_READS; i++) await store.get('hot');
  const nodeGets = () => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const before = store.stats().hotKeyCache!;
  const getsBefore = nodeGets();
  // One turn: every cold key once (most past the bound: they wait a macrotask), the hot key between them.
  const reads = keys.flatMap((key, i) => (i % 100 === 0 ? [store.get(key), store.get('hot')] : [store.get(key)]));
  const values = await Promise.all(reads);
  t.equal(nodeGets(), getsBefore, 'no node thread was asked: every miss was read in place');
  let k = 0;
  for (let i = 0; i < keys.length; i++) {
    t.equal(values[k++]?.value, i, `${keys[i]}`);
    if (i % 100 === 0) t.equal(values[k++]?.value, 'h', 'the hot key');
  }
  const after = store.stats().hotKeyCache!;
  t.equal(after.hits + after.misses - (before.hits + before.misses), reads.length, 'each get looked up once, whichever path it took');
  t.ok(after.hits - before.hits >= keys.length / 100, `the hot key was answered by the cache (${after.hits - before.hits} hits)`);
});

t.test("a hot key's miss fills the entry again (R = 2: from the agreeing read in place); the next get of it is a hit", async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, hotKeyCache: CACHE });
  await store.put('k', 1);
  for (let i = 0; i < HOT_READS; i++) await store.get('k');
  const filled = store.stats().hotKeyCache!;
  t.equal(filled.entries, 1);
  await store.put('k', 2);
  t.equal(store.stats().hotKeyCache!.entries, 0, 'the put removed the entry');
  t.equal((await store.get('k'))?.value, 2, 'the miss reads the put');
  const refilled = store.stats().hotKeyCache!;
  t.equal(refilled.fills, filled.fills + 1, 'and fills the entry again');
  t.equal((await store.get('k'))?.value, 2);
  t.equal(store.stats().hotKeyCache!.hits, refilled.hits + 1, 'the next get is a hit');
});

t.test("a hot key's miss past the per-turn bound waits a turn and fills its entry in place, asking no node thread", async (t) => {
  // A sketch with room for every key: the cold keys read once each leave the hot key provably hot.
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 }, hotKeyCache: { entriesMax: 2048, entryTtlMs: 60_000 }, timeoutMs: 60_000 });
  const keys = Array.from({ length: READS_IN_PLACE_PER_TURN_MAX * 2 }, (_, i) => `cold:${i}`);
  await store.putMany(keys.map((key, i) => [key, i]));
  await store.put('hot', 'h1');
  for (let i = 0; i < HOT_READS; i++) await store.get('hot');
  t.equal(store.stats().hotKeyCache!.entries, 1, 'the hot key is cached');
  await store.put('hot', 'h2');
  const nodeGets = () => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const getsBefore = nodeGets();
  const before = store.stats().hotKeyCache!;
  // One turn: the cold keys use up its reads in place, then the hot key misses (its entry went with the put).
  const cold = keys.map((key) => store.get(key));
  const hot = store.get('hot');
  t.equal((await hot)?.value, 'h2', 'the miss reads the put');
  await Promise.all(cold);
  t.equal(nodeGets(), getsBefore, 'no node thread was asked, for the hot key either');
  const after = store.stats().hotKeyCache!;
  t.equal(after.fills, before.fills + 1, 'the hot key filled its entry again');
  t.equal(after.hits + after.misses - (before.hits + before.misses), keys.length + 1, 'each get looked up once');
  t.equal((await store.get('hot'))?.value, 'h2');
  t.equal(store.stats().hotKeyCache!.hits, after.hits + 1, 'the next get is a hit');
});
