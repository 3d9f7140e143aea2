/**
 * The lean read in place (issue 15 targets 1 and 3): its pieces against the
 * ones they shortcut, and the store's behaviour past the per-turn bound.
 * - decodeValueInPlace (lib/store/value-codec.ts) decodes what decodeValue
 *   decodes, for every value, with its one-slice path for a stored
 *   Uint8Array (msgpackr's typed-array extension in an ext 8, 16 or 32);
 * - firstLiveTarget (lib/store/routing.ts): the first live target, or -1;
 * - an R = 1 get's replica (Coordinator.getInPlace): the first up node of the
 *   key's preference list, which readTargets + firstLiveTarget also pick;
 * - LaterGets (lib/store/in-place-get.ts) is first in, first out;
 * - an R = 1 get read in place judges expiry (its wall clock is read only then);
 * - gets past READS_IN_PLACE_PER_TURN_MAX wait for the next macrotask and are
 *   still read in place (no node thread asked), and answer right;
 * - so do a getMany's reads past BATCH_READS_IN_PLACE_PER_TURN_MAX, and a
 *   getMany fails with ERR_INVALID_KEY wherever its bad key is, although it
 *   checks its keys a chunk at a time as it reads them (KEYS_PER_CHECK).
 */
import t from 'tap';
import fc from 'fast-check';
import { decodeValue, decodeValueInPlace, encodeValue } from '../lib/store/value-codec.js';
import { firstLiveTarget, readTargets } from '../lib/store/routing.js';
import { readsInPlace } from '../lib/store/read-path.js';
import { PreferenceListTable } from '../lib/ring/preference-list.js';
import { Ring } from '../lib/ring/ring.js';
import { BATCH_READS_IN_PLACE_PER_TURN_MAX, READS_IN_PLACE_PER_TURN_MAX } from '../lib/store/direct-reads.js';
import { type CacheUse, LaterGets, type RejectGet, type ResolveGet } from '../lib/store/in-place-get.js';
import { KEYS_PER_CHECK } from '../lib/store/operations.js';
import { ErrorCode } from '../lib/index.js';
import { failsWith, openTemp } from './helpers/temp-store.js';

function encodable(value: unknown): boolean {
  try {
    encodeValue(value, 1 << 20);
    return true;
  } catch {
    return false;
  }
}

/** `value` encoded, inside other bytes (as in a stored record), in a plain Uint8Array. */
function embedded(value: unknown, before: number): { bytes: Uint8Array; start: number; end: number } {
  const encoded = encodeValue(value, 1 << 20);
  const bytes = new Uint8Array(before + encoded.byteLength + 7).fill(0xc7);
  bytes.set(encoded, before);
  return { bytes, start: before, end: before + encoded.byteLength };
}

t.test('decodeValueInPlace decodes what decodeValue decodes', async (t) => {
  const values = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.integer({ min: 0, max: 70_000 }).map((length) => new Uint8Array(length).map((_, i) => i * 7)),
    fc.int16Array({ maxLength: 40 }),
    fc.anything({ maxDepth: 2 }).filter(encodable),
  );
  fc.assert(
    fc.property(values, fc.nat(20), (value, before) => {
      const { bytes, start, end } = embedded(value, before);
      const inPlace = decodeValueInPlace(bytes, start, end);
      const copied = decodeValue(bytes, start, end);
      // Compared by their encodings (NaN, -0 and typed arrays included) and their types.
      if (!Buffer.from(encodeValue(inPlace, 1 << 20)).equals(Buffer.from(encodeValue(copied, 1 << 20)))) return false;
      if (typeof inPlace !== typeof copied || (typeof copied === 'object' && copied !== null && Object.getPrototypeOf(inPlace) !== Object.getPrototypeOf(copied))) return false;
      // A copy (pooled: value-pool.ts), not a view on the source.
      return !(inPlace instanceof Uint8Array) || inPlace.buffer !== bytes.buffer;
    }),
    { numRuns: 200 },
  );
  // The three ext sizes of a Uint8Array, at their boundaries.
  for (const length of [0, 1, 254, 255, 256, 65_534, 65_535, 65_536]) {
    const value = new Uint8Array(length).map((_, i) => i);
    const { bytes, start, end } = embedded(value, 3);
    t.same(decodeValueInPlace(bytes, start, end), value, `a Uint8Array of ${length} bytes`);
  }
  const { bytes } = embedded(new Uint8Array([1, 2, 3]), 0);
  const later = decodeValueInPlace(bytes, 0, bytes.byteLength - 7) as Uint8Array;
  bytes.fill(0);
  t.same(later, new Uint8Array([1, 2, 3]), 'a copy: the source may be reused');
});

t.test('firstLiveTarget: the first live target of the list, else -1', async (t) => {
  const list = Int32Array.from([4, 5, 6]);
  t.equal(firstLiveTarget(list, () => true), 4);
  t.equal(firstLiveTarget(list, (node) => node !== 4), 5);
  t.equal(firstLiveTarget(list, (node) => node === 6), 6);
  t.equal(firstLiveTarget(list, () => false), -1);
});

t.test("an R = 1 get's replica read in place: the first up node of the preference list, as readTargets then firstLiveTarget pick it", async () => {
  // Coordinator.getInPlace takes the shortcut; readTargets (sloppy or not, any nodes down) then firstLiveTarget, kept only when readsInPlace, must agree.
  const table = new PreferenceListTable(Ring.create([0, 1, 2, 3, 4, 5], 8), 3);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 63 }), fc.boolean(), (hash, downMask, sloppy) => {
      const isUp = (node: number): boolean => (downMask & (1 << node)) === 0;
      const full = firstLiveTarget(readTargets(table, hash, 1, sloppy, isUp), isUp);
      const expected = full >= 0 && readsInPlace('direct', full, isUp) ? full : -1;
      return firstLiveTarget(table.forHash(hash), isUp) === expected;
    }),
    { numRuns: 2_000 },
  );
});

t.test('LaterGets: first in, first out, across wrap-arounds and growth, each get with its own key, r, cache use, hash and promise functions', async () => {
  // Runs of pushes and shifts, up to past the ring's first capacity (256) while its head is anywhere.
  const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 700 })), { minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(steps, (runs) => {
      const later = new LaterGets();
      const model: { key: string; r: number; cacheUse: CacheUse; hash: number; resolve: ResolveGet; reject: RejectGet }[] = [];
      let made = 0;
      for (const [pushes, shifts] of runs) {
        for (let i = 0; i < pushes; i++, made++) {
          const get = { key: `k${made}`, r: 1 + (made % 3), cacheUse: (made % 3) as CacheUse, hash: (made * 2_654_435_761) >>> 0, resolve: (() => {}) as ResolveGet, reject: (() => {}) as RejectGet };
          model.push(get);
          later.push(get.key, get.cacheUse, get.resolve, get.reject, get.r, get.hash);
        }
        for (let i = 0; i < shifts && model.length > 0; i++) {
          const expected = model.shift()!;
          if (later.key() !== expected.key || later.r() !== expected.r || later.cacheUse() !== expected.cacheUse || later.hash() !== expected.hash) return false;
          if (later.resolve() !== expected.resolve || later.reject() !== expected.reject) return false;
          later.shift();
        }
        if (later.size !== model.length) return false;
      }
      return true;
    }),
    { numRuns: 100 },
  );
});

t.test('gets past the per-turn bound wait a macrotask and are still read in place', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 } });
  const count = READS_IN_PLACE_PER_TURN_MAX * 4 + 17;
  const keys = Array.from({ length: 500 }, (_, i) => `k:${i}`);
  await store.putMany(keys.map((key, i) => [key, { i }] as const));
  const getsBefore = store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const inPlaceBefore = store.stats().readsInPlace;
  // Issued in one turn, and each answer chains another: what a YCSB client with many in flight does.
  const results = await Promise.all(Array.from({ length: count }, (_, i) => store.get(keys[i % keys.length]!).then((first) => store.get(keys[(i + 1) % keys.length]!).then((second) => [first, second] as const))));
  const wrong = results.filter(([first, second], i) => (first?.value as { i: number }).i !== i % keys.length || (second?.value as { i: number }).i !== (i + 1) % keys.length);
  t.equal(wrong.length, 0, `${count * 2} gets answered their own keys`);
  t.equal(store.stats().readsInPlace - inPlaceBefore, count * 2, 'every one read in place');
  t.equal(store.stats().nodes.reduce((sum, node) => sum + node.gets, 0), getsBefore, 'no node thread was asked');
  t.equal(await store.get('absent'), undefined, 'a missing key');
  await store.delete(keys[0]!);
  t.equal(await store.get(keys[0]!), undefined, 'a deleted key');
});

t.test('an R = 1 get read in place does not return a value past its expiry, not yet swept by its nodes', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 }, sweepIntervalMs: 3_600_000 });
  await store.put('short', 'lived', { ttlMs: 300 });
  await store.put('long', 'lived', { ttlMs: 3_600_000 });
  t.equal((await store.get('short'))?.value, 'lived', 'read before its expiry');
  const inPlaceBefore = store.stats().readsInPlace;
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.equal(await store.get('short'), undefined, 'not read after its expiry');
  t.equal((await store.get('long'))?.value, 'lived', 'a value not expired yet still is');
  t.equal(store.stats().readsInPlace - inPlaceBefore, 2, 'both read in place');
});

t.test("a getMany's byte keys may be reused once the call returned: what is read later was copied", async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 3 }, timeoutMs: 60_000 });
  // More than a turn's reads in place of batches: the rest are read in later turns.
  const count = BATCH_READS_IN_PLACE_PER_TURN_MAX + 3_000;
  const keyOf = (i: number) => Uint8Array.of(1, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
  const keys = Array.from({ length: count }, (_, i) => keyOf(i));
  await store.putMany(keys.map((key, i) => [key, i] as const));
  const reading = store.getMany(keys);
  for (const key of keys) key.fill(0xee);
  const results = await reading;
  const wrong = results.filter((result, i) => result?.value !== i).length;
  t.equal(wrong, 0, `${count} keys answered as they were when getMany was called`);
});

t.test("a get's byte key may be reused once the call returned, whether the get was read at once, waits a turn or is sent", async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 }, timeoutMs: 60_000, failureTimeoutMs: 30_000 });
  const keyOf = (i: number) => Uint8Array.of(2, (i >> 8) & 0xff, i & 0xff);
  const count = 2_000;
  await store.putMany(Array.from({ length: count }, (_, i) => [keyOf(i), i] as const));
  // One buffer for every call, rewritten as soon as each returns. More gets than any turn reads in place: the
  // rest wait for the next macrotask (LATER); R = 2 gets are compared as the other kind (their key is copied first).
  const key = new Uint8Array(3);
  for (const r of [1, 2]) {
    const rounds = Math.ceil((READS_IN_PLACE_PER_TURN_MAX * 2) / count);
    const pending: Promise<unknown>[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < count; i++) {
        key.set(keyOf(i));
        pending.push(store.get(key, { r }).then((result) => (result?.value === i ? 0 : 1)));
        key.fill(0xee);
      }
    }
    const wrong = (await Promise.all(pending)).reduce((sum: number, w) => sum + (w as number), 0);
    t.equal(wrong, 0, `R = ${r}: ${pending.length} gets of one reused buffer answered the key it held at each call`);
  }
  // A node paused: its replicas' gets are sent (NOT_IN_PLACE), and their keys copied too.
  const paused = store.preferenceList(keyOf(0))[0]!;
  store.faults.pause(paused);
  try {
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      key.set(keyOf(i));
      sent.push(store.get(key).then((result) => (result?.value === i ? 0 : 1)));
      key.fill(0xee);
    }
    store.faults.resume(paused);
    t.equal((await Promise.all(sent)).reduce((sum: number, w) => sum + (w as number), 0), 0, 'gets sent by message answered their keys too');
  } finally {
    store.faults.resume(paused);
  }
});

t.test("a getMany's reads past the per-turn bound wait a macrotask and are still read in place", async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 }, timeoutMs: 60_000 });
  const keys = Array.from({ length: BATCH_READS_IN_PLACE_PER_TURN_MAX + 3_000 }, (_, i) => `m:${i}`);
  await store.putMany(keys.map((key, i) => [key, i] as const));
  const getsBefore = store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const inPlaceBefore = store.stats().readsInPlace;
  const one = await store.getMany(keys);
  t.equal(one.filter((result, i) => result?.value !== i).length, 0, `${keys.length} keys in one batch answered right`);
  // Two batches started in one turn share its bound.
  const halves = [keys.slice(0, 10_000), keys.slice(10_000)];
  const two = await Promise.all(halves.map((half) => store.getMany(half)));
  t.equal(two.flat().filter((result, i) => result?.value !== i).length, 0, 'two batches in one turn answered right');
  t.equal(store.stats().readsInPlace - inPlaceBefore, keys.length * 2, 'every key read in place');
  t.equal(store.stats().nodes.reduce((sum, node) => sum + node.gets, 0), getsBefore, 'no node thread was asked');
});

t.test('a getMany fails with ERR_INVALID_KEY wherever its bad key is, and leaves nothing pending', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 3 }, keyBytesMax: 64, timeoutMs: 60_000 });
  const keys = Array.from({ length: BATCH_READS_IN_PLACE_PER_TURN_MAX + 3_000 }, (_, i) => `v:${i}`);
  await store.putMany(keys.slice(0, 1_000).map((key, i) => [key, i] as const));
  // In the first chunk, in a later one, and past the turn's bound (checked before the batch copies what it reads later).
  for (const at of [0, KEYS_PER_CHECK + 5, BATCH_READS_IN_PLACE_PER_TURN_MAX + 100]) {
    for (const bad of ['', 42, new Uint8Array(65), 'a\uD800']) {
      const batch: unknown[] = keys.slice();
      batch[at] = bad;
      await failsWith(t, () => store.getMany(batch as string[]), ErrorCode.INVALID_KEY, `a bad key (${typeof bad === 'string' ? JSON.stringify(bad) : String(bad).slice(0, 12)}) at ${at}`);
    }
  }
  t.equal(store.stats().pending, 0, 'nothing left pending');
  t.equal((await store.getMany(keys.slice(0, 3))).map((result) => result?.value).join(), '0,1,2', 'the store still reads');
});
