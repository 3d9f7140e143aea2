/**
 * Gets of R >= 2 answered in place (lib/store/agreeing-in-place-get.ts,
 * issue 15 target 2): the R first live replicas are read in the calling
 * thread and, when their records are byte-identical, answered at once. What
 * must hold: the answer is what the full path (merge, resolve) answers;
 * anything that is not byte-identical agreement (a difference, an absent
 * copy, a replica not readable in place, several siblings, a tombstone the
 * full path may purge) declines, and the store then merges and read-repairs
 * as before; a down replica is skipped as before; paused or fault-injected
 * replicas are never read in place.
 */
import t from 'tap';
import fc from 'fast-check';
import { AgreeingInPlaceAnswer, type ReadInPlace, firstReadableTargets } from '../lib/store/agreeing-in-place-get.js';
import { toGetResult } from '../lib/store/get-result.js';
import { InPlaceState } from '../lib/store/in-place-get.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { Status } from '../lib/transport/wire.js';
import { type CausalContext, type Sibling, type VersionedObject, equal, join, sync, update } from '../lib/version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { ErrorCode } from '../lib/index.js';
import { eventually, failsWith, openTemp, outcome } from './helpers/temp-store.js';

const NOW_MS = 1_700_000_000_000;
const NO_CONTEXT: CausalContext = [];

function sibling(value: unknown, timestampMs: number, options: { tombstone?: boolean; expiresAtMs?: number } = {}): Sibling {
  return { value: encodeValue(value, 1 << 20), timestampMs, expiresAtMs: options.expiresAtMs ?? 0, tombstone: options.tombstone ?? false };
}

/**
 * A host whose replica `i` holds `stored[i]` (undefined: absent, null: not
 * readable in place). Answers sit at an offset inside one reused buffer, as
 * lmdb-js's read buffer is reused from read to read.
 */
function hostOf(stored: (Uint8Array | undefined | null)[], bufferBytes = 256 * 1024): { read: ReadInPlace; reads: number[] } {
  const reads: number[] = [];
  const buffer = new Uint8Array(bufferBytes);
  const read: ReadInPlace = (target, _key, reply, tag) => {
    const record = stored[target];
    if (record === null) return false;
    reads.push(target);
    buffer.fill(0xee);
    if (record === undefined) {
      reply.onReply(target, Status.NOT_FOUND, buffer, new DataView(buffer.buffer), 0, 0, tag);
      return true;
    }
    buffer.set(record, 9);
    reply.onReply(target, Status.OK, buffer, new DataView(buffer.buffer), 9, record.byteLength, tag);
    return true;
  };
  return { read, reads };
}

function readAll(stored: (Uint8Array | undefined | null)[], purgeMayApply = false) {
  const { read, reads } = hostOf(stored);
  const answer = new AgreeingInPlaceAnswer();
  const targets = Int32Array.from(stored.keys());
  answer.read(read, targets, stored.length, 'k', NOW_MS, purgeMayApply);
  return { state: answer.state, result: answer.result, observedMs: answer.observedTimestampMs, reads, stale: [...answer.staleTargets.subarray(0, answer.staleCount)], repairBytes: answer.repairBytes };
}

function plain(result: ReturnType<typeof toGetResult>) {
  return result === undefined ? undefined : { value: result.value, siblings: result.siblings, timestampsMs: result.timestampsMs, context: result.context };
}

t.test('firstReadableTargets: the first R readable targets of the list, in its order', async (t) => {
  const into = new Int32Array(3);
  t.ok(firstReadableTargets(Int32Array.from([4, 5, 6]), 2, () => true, into));
  t.same([...into.subarray(0, 2)], [4, 5]);
  t.ok(firstReadableTargets(Int32Array.from([4, 5, 6]), 2, (target) => target !== 4, into));
  t.same([...into.subarray(0, 2)], [5, 6], 'one not readable: skipped');
  t.notOk(firstReadableTargets(Int32Array.from([4, 5, 6]), 3, (target) => target !== 5, into), 'too few readable');
  t.notOk(firstReadableTargets(Int32Array.from([4, 5]), 3, () => true, into), 'too few targets');
});

/** A random object of up to three writes by actors 1-3, with contexts or blind (so with siblings at times). */
const writeArbitrary = fc.record({
  value: fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant({ nested: [1, 2] })),
  timestampMs: fc.integer({ min: 1, max: 1000 }),
  actor: fc.integer({ min: 1, max: 3 }),
  tombstone: fc.boolean(),
  expired: fc.boolean(),
  blind: fc.boolean(),
});
type Write = typeof writeArbitrary extends fc.Arbitrary<infer W> ? W : never;

function applyWrites(object: VersionedObject | undefined, writes: readonly Write[]): VersionedObject | undefined {
  for (const write of writes) {
    const s = sibling(write.value, NOW_MS - write.timestampMs, { tombstone: write.tombstone, expiresAtMs: write.expired ? NOW_MS - 1 : 0 });
    // A write with the last context supersedes; a blind one may leave siblings.
    const context: CausalContext = write.blind || object === undefined ? NO_CONTEXT : object.entries.map((e) => [e.actor, e.counter] as const);
    object = update(object, context, s, write.actor);
  }
  return object;
}

const objects = fc.array(writeArbitrary, { minLength: 1, maxLength: 3 }).map((writes) => applyWrites(undefined, writes)!);

/**
 * What the full path decides for two replicas' records: the merge it
 * answers (GetOperation: read-quorum.ts over sync) and the replicas
 * repairs() writes it to. The in-place read must answer the same or decline.
 */
function checkAgainstFullPath(bytesA: Uint8Array, bytesB: Uint8Array, purgeMayApply: boolean): boolean {
  const read = readAll([bytesA, bytesB], purgeMayApply);
  const a = decodeObject(bytesA);
  const b = decodeObject(bytesB);
  const merged = sync(a, b);
  // Objects made independently may name one dot with two values, which no store makes (update's invariant):
  // their merge depends on the order the answers came in, and neither path's answer is defined.
  if (!Buffer.from(encodeObject(merged)).equals(Buffer.from(encodeObject(sync(b, a))))) return true;
  const identical = Buffer.from(bytesA).equals(Buffer.from(bytesB));
  // Answered in place only where the merge is one of the two records whole: identical bytes, or one replica behind.
  const newest = identical ? a : equal(a, b) ? undefined : merged === a ? a : sync(b, a) === b ? b : undefined;
  if (newest === undefined) return read.state === InPlaceState.DECLINED;
  const full = toGetResult(merged, NOW_MS, undefined);
  const liveOrDead = newest.entries.reduce((count, e) => count + e.siblings.length, 0) === 1;
  if (!liveOrDead) return read.state === InPlaceState.DECLINED;
  if (full === undefined && purgeMayApply) return read.state === InPlaceState.DECLINED;
  if (read.state !== InPlaceState.ANSWERED) return false;
  // The clock observes the write time the full path's toResult observes.
  if (read.observedMs !== newest.entries.flatMap((e) => e.siblings)[0]!.timestampMs) return false;
  if (JSON.stringify(plain(read.result)) !== JSON.stringify(plain(full))) return false;
  // repairs(): every replica whose version is not equal() to the merge, with the merge.
  const stale = [a, b].flatMap((version, i) => (equal(version, merged) ? [] : [i]));
  if (JSON.stringify(read.stale) !== JSON.stringify(stale)) return false;
  return stale.length === 0 ? read.repairBytes === undefined : Buffer.from(read.repairBytes!).equals(Buffer.from(encodeObject(merged)));
}

t.test('byte-identical replicas answer what the full path answers; a difference answers only where the merge is one of them', async () => {
  fc.assert(
    fc.property(objects, objects, fc.boolean(), fc.boolean(), (a, b, same, purgeMayApply) => checkAgainstFullPath(encodeObject(a), same ? encodeObject(a) : encodeObject(b), purgeMayApply)),
    { numRuns: 300 },
  );
});

t.test('a replica behind the other (a write or a repair not there yet): answered with the newer record, the one behind repaired, as the full path does', async (t) => {
  let behind = 0;
  fc.assert(
    fc.property(objects, fc.array(writeArbitrary, { minLength: 1, maxLength: 2 }), fc.boolean(), fc.boolean(), (older, writes, newerFirst, purgeMayApply) => {
      const newer = applyWrites(older, writes)!;
      const [first, second] = newerFirst ? [newer, older] : [older, newer];
      const read = readAll([encodeObject(first), encodeObject(second)], purgeMayApply);
      if (read.state === InPlaceState.ANSWERED && read.stale.length > 0) behind++;
      return checkAgainstFullPath(encodeObject(first), encodeObject(second), purgeMayApply);
    }),
    { numRuns: 400 },
  );
  t.ok(behind > 50, `answered in place with a repair: ${behind} of 400`);
  // R = 3: the newest of three, wherever it is read; each replica behind it is repaired.
  const v1 = update(undefined, NO_CONTEXT, sibling('v1', NOW_MS - 9), 1);
  const v2 = update(v1, join(v1), sibling('v2', NOW_MS - 5), 1);
  const v3 = update(v2, join(v2), sibling('v3', NOW_MS - 1), 2);
  const read = readAll([encodeObject(v2), encodeObject(v3), encodeObject(v1)]);
  t.equal(read.state, InPlaceState.ANSWERED);
  t.equal(read.result?.value, 'v3');
  t.same(read.stale, [0, 2], 'the first and the third were behind');
  t.ok(Buffer.from(read.repairBytes!).equals(Buffer.from(encodeObject(v3))), 'repaired with the newest record');
  const siblings = update(v1, NO_CONTEXT, sibling('concurrent', NOW_MS - 3), 2);
  t.equal(readAll([encodeObject(v2), encodeObject(siblings)]).state, InPlaceState.DECLINED, 'concurrent versions (their merge is a third object): declined');
});

t.test('absent, unreadable and three-way reads', async (t) => {
  const one = encodeObject(update(undefined, NO_CONTEXT, sibling('v', NOW_MS - 5), 1));
  const other = encodeObject(update(undefined, NO_CONTEXT, sibling('w', NOW_MS - 5), 1));
  let read = readAll([undefined, undefined]);
  t.equal(read.state, InPlaceState.ANSWERED, 'absent on both: answered');
  t.equal(read.result, undefined);
  t.equal(readAll([undefined, one]).state, InPlaceState.DECLINED, 'absent on the first only: declined');
  t.equal(readAll([one, undefined]).state, InPlaceState.DECLINED, 'absent on the second only: declined');
  read = readAll([one, null]);
  t.equal(read.state, InPlaceState.NONE, 'the second not readable in place: not answered');
  t.same(read.reads, [0]);
  read = readAll([one, other, one]);
  t.equal(read.state, InPlaceState.DECLINED, 'R = 3, the second differs');
  t.same(read.reads, [0, 1], 'the third is not read once the second differs');
  read = readAll([one, one, one]);
  t.equal(read.state, InPlaceState.ANSWERED, 'R = 3, all agree');
  t.equal(read.result?.value, 'v');
  t.equal(readAll([one, one, other]).state, InPlaceState.DECLINED, 'R = 3, the third differs');
  // The answer holds nothing of the reused read buffer nor of the held scratch.
  read = readAll([one, one]);
  const again = readAll([other, other]);
  t.equal(read.result?.value, 'v', 'an earlier answer is unchanged by later reads');
  t.equal(again.result?.value, 'w');
});

t.test('one answer reused get after get decides each as a fresh one does, whatever the sizes (its held scratch grows, shrinks and is reused)', async () => {
  // Records of Uint8Array values around the scratch's first size (4 KiB) and the most it keeps (64 KiB),
  // some the same value with another clock, and a truncated copy (a prefix of another record's bytes).
  const values = [0, 10, 4000, 5000, 70_000].map((length) => new Uint8Array(length).map((_, i) => (i * 13 + length) & 0xff));
  const records: Uint8Array[] = [];
  for (const value of values) {
    records.push(encodeObject(update(undefined, NO_CONTEXT, sibling(value, NOW_MS - 5), 1)));
    records.push(encodeObject(update(undefined, NO_CONTEXT, sibling(value, NOW_MS - 5), 2)));
  }
  records.push(records[6]!.subarray(0, records[6]!.byteLength - 1));
  const reused = new AgreeingInPlaceAnswer();
  const earlier: { value: Uint8Array; copy: Uint8Array }[] = [];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(records.length - 1), fc.nat(records.length - 1), fc.boolean()), { minLength: 1, maxLength: 12 }), (pairs) => {
      for (const [i, j, same] of pairs) {
        const stored = [records[i]!, same ? records[i]! : records[j]!];
        const { read } = hostOf(stored);
        reused.read(read, Int32Array.from([0, 1]), 2, 'k', NOW_MS, false);
        const fresh = readAll(stored);
        if (reused.state !== fresh.state) return false;
        if (JSON.stringify(plain(reused.result)) !== JSON.stringify(plain(fresh.result))) return false;
        const value = reused.result?.value;
        if (value instanceof Uint8Array) {
          // A plain Uint8Array, nothing of the scratch the next get overwrites (its bytes kept: checked below).
          if (Object.getPrototypeOf(value) !== Uint8Array.prototype || value.buffer instanceof SharedArrayBuffer) return false;
          earlier.push({ value, copy: value.slice() });
        }
      }
      return earlier.every(({ value, copy }) => Buffer.from(value).equals(Buffer.from(copy)));
    }),
    { numRuns: 150 },
  );
});

const keysOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}:${i}`);
const nodeGets = (store: Awaited<ReturnType<typeof openTemp>>) => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);

t.test('R = 2 gets of agreeing replicas are answered in place: two reads each, no node thread asked', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 } });
  const keys = keysOf('agree', 400);
  await store.putMany(keys.map((key, i) => [key, { i }] as const));
  await store.delete(keys[3]!);
  const getsBefore = nodeGets(store);
  const inPlaceBefore = store.stats().readsInPlace;
  // More than a turn's reads in place at once: the rest wait for the next macrotask, still in place.
  const results = await Promise.all(keys.map((key) => store.get(key)));
  t.ok(results.every((result, i) => (i === 3 ? result === undefined : (result?.value as { i: number }).i === i)), 'every key answered its value, the deleted one undefined');
  t.equal(await store.get('absent'), undefined, 'a missing key');
  t.equal(store.stats().readsInPlace - inPlaceBefore, (keys.length + 1) * 2, 'two reads in place per get');
  t.equal(nodeGets(store), getsBefore, 'no node thread was asked');
  t.equal(store.stats().readRepairs, 0, 'nothing to repair');
  // Its context supersedes what it read: the next put replaces the value rather than adding a sibling.
  const read = await store.get(keys[0]!);
  await store.put(keys[0]!, 'next', { context: read!.context });
  const after = await store.get(keys[0]!);
  t.same(after?.siblings, ['next'], 'a put with the context of an in-place read supersedes it');
  // R = 3 of N = 3 (a tombstone may be purged by the full path) is in place too.
  t.equal(((await store.get(keys[1]!, { r: 3 }))?.value as { i: number }).i, 1, 'R = 3 answered');
});

t.test('a read given no time asks the wall clock only for a value that expires', async (t) => {
  let asked = 0;
  const answer = new AgreeingInPlaceAnswer(() => {
    asked++;
    return NOW_MS;
  });
  const readTwo = (record: Uint8Array) => {
    answer.read(hostOf([record, record]).read, Int32Array.from([0, 1]), 2, 'k', NaN, false);
    return answer;
  };
  const lasting = encodeObject(update(undefined, NO_CONTEXT, sibling('lasting', NOW_MS - 5), 1));
  t.equal(readTwo(lasting).result?.value, 'lasting');
  t.equal(asked, 0, 'a value without expiry: no clock read');
  const later = encodeObject(update(undefined, NO_CONTEXT, sibling('later', NOW_MS - 5, { expiresAtMs: NOW_MS + 1 }), 1));
  t.equal(readTwo(later).result?.value, 'later', 'a value expiring after now is answered');
  const gone = encodeObject(update(undefined, NO_CONTEXT, sibling('gone', NOW_MS - 5, { expiresAtMs: NOW_MS }), 1));
  const expired = readTwo(gone);
  t.equal(expired.state, InPlaceState.ANSWERED, 'an expired value is answered in place');
  t.equal(expired.result, undefined, 'as absent');
  t.equal(asked, 2, 'the clock read once for each value that expires');
  t.throws(() => new AgreeingInPlaceAnswer().read(hostOf([lasting, lasting]).read, Int32Array.from([0, 1]), 2, 'k', NaN, false), 'no time and no clock is a caller error');
});

t.test('a replica left behind is answered past in place and repaired; concurrent versions take the full path', async (t) => {
  // No stand-ins: node 0 misses the second writes and nobody hands them over.
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, sloppy: false });
  const keys = keysOf('diverge', 200);
  await store.putMany(keys.map((key) => [key, 'before'] as const));
  await store.stopNode(0);
  await store.putMany(keys.map((key) => [key, 'after'] as const), { w: 2 });
  await store.startNode(0);
  // Until the restarted node serves, its copies are asked by message: wait for probes (some read on node 0) to be read in place.
  const probes = keysOf('probe', 30);
  await store.putMany(probes.map((key) => [key, 'probe'] as const), { w: 3 });
  t.ok(
    await eventually(async () => {
      const before = store.stats().readsInPlace;
      const gets = nodeGets(store);
      await Promise.all(probes.map((key) => store.get(key)));
      return store.stats().readsInPlace - before === probes.length * 2 && nodeGets(store) === gets;
    }, 10_000),
    'the restarted node is read in place',
  );
  // Every key's replicas are nodes 0, 1 and 2: where node 0 is one of the two first, the two read in place differ,
  // node 0's copy behind the other's (the newer one supersedes it whole).
  const repairsBefore = store.stats().readRepairs;
  const inPlaceBefore = store.stats().readsInPlace;
  const getsBefore = nodeGets(store);
  const first = await Promise.all(keys.map((key) => store.get(key)));
  t.ok(first.every((result) => result?.value === 'after' && result.siblings.length === 1), 'every get answered the newer value');
  t.equal(nodeGets(store), getsBefore, 'no node thread was asked');
  const repaired = store.stats().readRepairs - repairsBefore;
  t.ok(repaired > 0 && repaired < keys.length, `node 0 was repaired where it was read (${repaired} keys)`);
  // The full path reads each key with a copy behind twice more (one repair each: 266 reads again for 134 repairs
  // before this change). A get may still take it now and then for other reasons (seen: 70 gets, 140 reads, in one
  // run of 20, all in place), hence a bound between the two.
  const readAgain = store.stats().readsInPlace - inPlaceBefore - keys.length * 2;
  t.ok(readAgain < 1.5 * repaired, `the copies behind were answered past in place, not read again by the full path (${readAgain} reads again)`);
  // Once the repairs landed, every R = 2 get agrees in place, two reads each, and repairs nothing.
  const agreed = await eventually(async () => {
    const before = store.stats().readsInPlace;
    const repairs = store.stats().readRepairs;
    const values = await Promise.all(keys.map((key) => store.get(key)));
    return values.every((result) => result?.value === 'after') && store.stats().readsInPlace - before === keys.length * 2 && store.stats().readRepairs === repairs;
  }, 10_000);
  t.ok(agreed, 'repaired: the replicas read agree, no get repairs');

  // Concurrent versions: node 0 takes a write on the old context while nodes 1 and 2 are stopped.
  const contexts = await Promise.all(keys.map(async (key) => (await store.get(key))!.context));
  await store.stopNode(0);
  await store.putMany(keys.map((key) => [key, 'one side'] as const), { w: 2 });
  await store.startNode(0);
  await store.stopNode(1);
  await store.stopNode(2);
  await Promise.all(keys.map((key, i) => store.put(key, 'other side', { context: contexts[i], w: 1 })));
  await store.startNode(1);
  await store.startNode(2);
  const concurrentBefore = store.stats().readsInPlace;
  const merged = await Promise.all(keys.map((key) => store.get(key)));
  t.ok(merged.every((result) => result !== undefined && result.siblings.length >= 1), 'every get answered');
  t.ok(merged.some((result) => result!.siblings.length === 2), 'where node 0 was read, both sides as siblings: the merge');
  t.ok(store.stats().readsInPlace - concurrentBefore > keys.length * 2, 'the concurrent ones were declined and read again by the full path');
});

t.test('a down replica is skipped as before: the two live ones answer in place', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, sloppy: false });
  const keys = keysOf('down', 150);
  await store.putMany(keys.map((key) => [key, 'before'] as const));
  await store.crashNode(0);
  await store.putMany(keys.map((key) => [key, 'after'] as const), { w: 2 });
  const getsBefore = nodeGets(store);
  const inPlaceBefore = store.stats().readsInPlace;
  const values = (await Promise.all(keys.map((key) => store.get(key)))).map((result) => result?.value);
  t.ok(values.every((value) => value === 'after'), "node 0's older copy never answers");
  t.equal(store.stats().readsInPlace - inPlaceBefore, keys.length * 2, 'both live replicas read in place');
  t.equal(nodeGets(store), getsBefore, 'no node thread was asked');
  await store.crashNode(1);
  // One replica left of R = 2 and no stand-ins: the full path fails the quorum, as before.
  await failsWith(t, () => store.get(keys[0]!), ErrorCode.QUORUM, 'too few replicas: the quorum fails');
});

t.test('fault-injected and paused replicas are asked by message: their faults act', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 3 }, timeoutMs: 300, failureTimeoutMs: 60_000 });
  await store.put('faulty', 'value');
  t.equal((await store.get('faulty'))?.value, 'value');
  for (const node of [0, 1, 2]) store.faults.drop(node, 1);
  await failsWith(t, () => store.get('faulty'), ErrorCode.TIMEOUT, 'every replica drops requests: the get times out');
  store.faults.clear();
  t.equal((await store.get('faulty'))?.value, 'value', 'faults cleared: answered');
  for (const node of [0, 1, 2]) store.faults.pause(node);
  const paused = await outcome(() => store.get('faulty'));
  t.notOk(paused.ok, 'every replica paused (not yet marked down): the get is not answered from their environments');
  for (const node of [0, 1, 2]) store.faults.resume(node);
  t.equal((await store.get('faulty'))?.value, 'value', 'resumed: answered');
});
