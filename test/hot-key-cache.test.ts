/**
 * The hot-key cache's pure core (lib/store/hot-key-cache.ts): only keys the
 * Space-Saving sketch proves hot are kept, a write through the coordinator
 * removes its key, a read that raced a write of its key is never kept, an
 * entry ends entryTtlMs after its fill, and the cache never holds more than
 * entriesMax keys. Time is passed in; the streams are seeded.
 */
import t from 'tap';
import fc from 'fast-check';
import { EPOCHS_PER_ENTRY, HOT_READS_MAX, HotKeyCache, cacheKeyOf } from '../lib/store/hot-key-cache.js';
import { resolveOptions } from '../lib/config/options.js';
import { ErrorCode } from '../lib/errors.js';

function cacheOf(entriesMax: number, entryTtlMs = 1000): HotKeyCache<string> {
  return new HotKeyCache<string>({ entriesMax, entryTtlMs });
}

/** Read `key` `times` times at `nowMs`, filling each miss with `value` as a coordinator would. */
function readTimes(cache: HotKeyCache<string>, key: string, times: number, value: string, nowMs: number): number {
  let hits = 0;
  for (let i = 0; i < times; i++) {
    if (cache.lookup(key, 2, nowMs) !== undefined) hits++;
    else cache.fill(key, value, 2, cache.readStarted(), nowMs);
  }
  return hits;
}

t.test('a key read often enough is kept and answered; one read once is not', async (t) => {
  const cache = cacheOf(4);
  t.equal(readTimes(cache, 'once', 1, 'v', 0), 0);
  t.equal(cache.size, 0, 'a key read once is not hot');
  const hits = readTimes(cache, 'hot', HOT_READS_MAX + 5, 'v1', 0);
  t.ok(hits >= 5, `the hot key is answered from the cache after at most ${HOT_READS_MAX} reads (${hits} hits)`);
  t.equal(cache.lookup('hot', 2, 1)?.value, 'v1');
  t.equal(cache.counters.hits, hits + 1);
});

t.test('the sketch counts a sample of the gets, drawn so that a periodic pattern skips no key', async (t) => {
  // Eight keys read in turn: a sample of every eighth get would count one of them only.
  const cache = cacheOf(8);
  const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
  for (let round = 0; round < 60; round++) for (const key of keys) if (cache.lookup(key, 2, 0) === undefined) cache.fill(key, key, 2, cache.readStarted(), 0);
  t.equal(cache.size, 8, 'every key of the cycle is cached');
  for (const key of keys) t.equal(cache.lookup(key, 2, 0)?.value, key);
  // A key read fewer times than the sample's hot bound's worth of gets alone is not.
  const cold = cacheOf(8);
  t.equal(readTimes(cold, 'few', 1, 'v', 0), 0);
  t.equal(cold.size, 0, 'one sampled read is not hot');
});

t.test('when the sketch\'s window ends its counts halve: a key hot before stays hot, one that cooled fades', async (t) => {
  // entriesMax 4: a sketch of 16 counters, halved every 16 x 64 gets' weight.
  const cache = cacheOf(4);
  readTimes(cache, 'hot', 400, 'v', 0);
  t.ok(cache.isHot('hot'), 'hot after 400 reads');
  // 1,000 keys read once each: their weight ends the window (the sketch halves) and churns its smallest counters.
  for (let i = 0; i < 1000; i++) readTimes(cache, `cold:${i}`, 1, 'c', 0);
  t.ok(cache.isHot('hot'), 'still hot right after the window ended (a sketch that started over forgot it)');
  cache.written('hot');
  t.ok(cache.fill('hot', 'v2', 2, cache.readStarted(), 0), 'so its next miss fills its entry at once');
  for (let i = 0; i < 20_000; i++) readTimes(cache, `colder:${i}`, 1, 'c', 0);
  t.notOk(cache.isHot('hot'), 'not read for twenty windows: no longer hot');
});

t.test('a full cache keeps a hot result only in place of an entry the sketch counts colder', async (t) => {
  const cache = cacheOf(1);
  readTimes(cache, 'a', 300, 'va', 0);
  t.equal(cache.lookup('a', 2, 0)?.value, 'va');
  readTimes(cache, 'b', HOT_READS_MAX + 10, 'vb', 0);
  t.ok(cache.isHot('b'), 'b is hot');
  t.ok(cache.counters.admissionsRefused >= 1, 'but its results were refused');
  t.equal(cache.lookup('a', 2, 0)?.value, 'va', 'a, read more often, keeps its entry');
  t.equal(cache.counters.evictions, 0);
  readTimes(cache, 'b', 600, 'vb', 0);
  t.equal(cache.lookup('b', 2, 0)?.value, 'vb', 'once b is counted hotter than a, it takes the entry');
  t.equal(cache.lookup('a', 2, 0), undefined);
  t.equal(cache.counters.evictions, 1);
  t.equal(cache.size, 1);
});

t.test('a write through the coordinator removes its key; the next read refills it', async (t) => {
  const cache = cacheOf(4);
  readTimes(cache, 'k', HOT_READS_MAX + 2, 'old', 0);
  t.equal(cache.lookup('k', 2, 0)?.value, 'old');
  cache.written('k');
  t.equal(cache.lookup('k', 2, 0), undefined, 'a write removes the entry');
  t.equal(cache.counters.invalidations, 1);
  t.ok(cache.fill('k', 'new', 2, cache.readStarted(), 0), 'a read started after the write is kept');
  t.equal(cache.lookup('k', 2, 0)?.value, 'new');
});

t.test('a read that raced a write of its key is not kept, whenever the write ended', async (t) => {
  const cache = cacheOf(4);
  readTimes(cache, 'k', HOT_READS_MAX + 2, 'v0', 0);
  cache.written('k');
  const epoch = cache.readStarted(); // a read starts...
  cache.written('k'); // ...a write of its key starts (and, say, ends) meanwhile
  t.notOk(cache.fill('k', 'what the write replaced', 2, epoch, 0), 'its result is not kept');
  t.equal(cache.counters.fillsRaced, 1);
  t.equal(cache.lookup('k', 2, 0), undefined);
  // Writes of other keys do not stop it.
  const later = cache.readStarted();
  cache.written('other');
  t.ok(cache.fill('k', 'v1', 2, later, 0));
});

t.test('the write epochs are bounded, and forgetting one is conservative', async (t) => {
  const cache = cacheOf(1);
  readTimes(cache, 'k', HOT_READS_MAX + 2, 'v', 0);
  cache.written('k');
  const epoch = cache.readStarted();
  cache.written('k');
  // Many writes of other keys push k's epoch out of the bounded map.
  for (let i = 0; i < EPOCHS_PER_ENTRY * 4; i++) cache.written(`other-${i}`);
  t.notOk(cache.fill('k', 'stale', 2, epoch, 0), 'a read older than a forgotten write of its key is still refused');
});

t.test('an entry is served for entryTtlMs after its fill, no longer', async (t) => {
  const cache = cacheOf(4, 100);
  readTimes(cache, 'k', HOT_READS_MAX + 2, 'v', 1000);
  t.equal(cache.lookup('k', 2, 1099)?.value, 'v');
  t.equal(cache.lookup('k', 2, 1100), undefined, 'at entryTtlMs the entry is gone');
});

t.test('at most entriesMax keys, whatever the stream; every hit is a value filled for its key and not written since', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.tuple(fc.constantFrom('read', 'read', 'read', 'write'), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), { maxLength: 400 }),
      (entriesMax, steps) => {
        const cache = cacheOf(entriesMax, 50);
        // The oracle: each key's current version (bumped by every write).
        const versions = new Map<string, number>();
        let nowMs = 0;
        for (const [kind, keyNumber, advanceMs] of steps) {
          nowMs += advanceMs;
          // Skewed: low key numbers are read far more often.
          const key = `k${keyNumber % 3 === 0 ? keyNumber % 2 : keyNumber}`;
          if (kind === 'write') {
            cache.written(key);
            versions.set(key, (versions.get(key) ?? 0) + 1);
            cache.written(key);
            continue;
          }
          const current = `${key}@${versions.get(key) ?? 0}`;
          const entry = cache.lookup(key, 2, nowMs);
          if (entry !== undefined && entry.value !== current) return false;
          if (entry === undefined) cache.fill(key, current, 2, cache.readStarted(), nowMs);
          if (cache.size > entriesMax) return false;
        }
        return true;
      },
    ),
    { seed: 0x40_7c_ac, numRuns: 300 },
  );
  t.pass('bounded and never stale for writes through it');
});

t.test('an entry answers reads of R up to the R it was merged from', async (t) => {
  const cache = cacheOf(4);
  readTimes(cache, 'k', HOT_READS_MAX + 2, 'v', 0);
  t.equal(cache.lookup('k', 2, 0)?.value, 'v');
  t.equal(cache.lookup('k', 1, 0)?.value, 'v', 'a read of R = 1 may use a merge of 2');
  t.equal(cache.lookup('k', 3, 0), undefined, 'a read of R = 3 may not');
  t.equal(cache.lookup('k', 2, 0)?.value, 'v', 'and does not remove it');
  cache.fill('k', 'from three', 3, cache.readStarted(), 0);
  t.equal(cache.lookup('k', 3, 0)?.value, 'from three');
});

t.test('cacheKeyOf: a string key and the byte key of its UTF-8 bytes are one key; different keys are not', async (t) => {
  t.equal(cacheKeyOf('user1'), cacheKeyOf(new TextEncoder().encode('user1')));
  t.equal(cacheKeyOf('clé'), cacheKeyOf(Buffer.from('clé', 'utf8')));
  t.equal(cacheKeyOf(Buffer.from('clé', 'utf8').subarray(1)), cacheKeyOf('lé'));
  t.not(cacheKeyOf('clé'), cacheKeyOf('cle'));
  t.not(cacheKeyOf(new Uint8Array([0xc3, 0xa9])), cacheKeyOf('\u00c3\u00a9'), 'latin1 text of other bytes is another key');
  t.equal(cacheKeyOf('a\ud800b'), cacheKeyOf('a\ufffdb'), 'a lone surrogate is stored as U+FFFD: the same record, the same key');
  t.equal(cacheKeyOf(Buffer.from('\ufeffbom', 'utf8')), '\ufeffbom', 'a leading byte-order mark is part of the key');
  t.not(cacheKeyOf('bom'), cacheKeyOf(Buffer.from('\ufeffbom', 'utf8')));
  const notUtf8 = [new Uint8Array([0xff]), new Uint8Array([0xc3]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0x61, 0x80])];
  const cacheKeys = new Set(notUtf8.map((bytes) => cacheKeyOf(bytes)));
  t.equal(cacheKeys.size, notUtf8.length, 'bytes that are not UTF-8: one key each');
  for (const bytes of notUtf8) {
    const cacheKey = cacheKeyOf(bytes);
    t.notOk(cacheKey.isWellFormed(), `${Buffer.from(bytes).toString('hex')}: not any string key's`);
    t.equal(cacheKeyOf(Buffer.from(bytes)), cacheKey, 'the same bytes in another buffer: the same key');
  }
});

t.test('hotKeyCache options are checked: entriesMax required and bounded, entryTtlMs defaulted', async (t) => {
  t.same(resolveOptions({ path: 'x', hotKeyCache: { entriesMax: 16 } }).hotKeyCache, { entriesMax: 16, entryTtlMs: 1000 });
  t.equal(resolveOptions({ path: 'x' }).hotKeyCache, undefined, 'off by default');
  for (const bad of [{}, { entriesMax: 0 }, { entriesMax: 1.5 }, { entriesMax: 8, entryTtlMs: 0 }, 7]) {
    t.throws(() => resolveOptions({ path: 'x', hotKeyCache: bad as never }), { code: ErrorCode.INVALID_OPTIONS }, JSON.stringify(bad));
  }
});
