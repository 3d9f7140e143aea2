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
import { type CausalContext, type Sibling, type VersionedObject, sync, update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';
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
  return { state: answer.state, result: answer.result, observedMs: answer.observedTimestampMs, reads };
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

t.test('byte-identical replicas answer what the full path answers; any difference declines', async () => {
  const objects = fc
    .array(
      fc.record({
        value: fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant({ nested: [1, 2] })),
        timestampMs: fc.integer({ min: 1, max: 1000 }),
        actor: fc.integer({ min: 1, max: 3 }),
        tombstone: fc.boolean(),
        expired: fc.boolean(),
        blind: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((writes) => {
      let object: VersionedObject | undefined;
      for (const write of writes) {
        const s = sibling(write.value, NOW_MS - write.timestampMs, { tombstone: write.tombstone, expiresAtMs: write.expired ? NOW_MS - 1 : 0 });
        // A write with the last context supersedes; a blind one may leave siblings.
        const context: CausalContext = write.blind || object === undefined ? NO_CONTEXT : object.entries.map((e) => [e.actor, e.counter] as const);
        object = update(object, context, s, write.actor);
      }
      return object!;
    });
  fc.assert(
    fc.property(objects, objects, fc.boolean(), fc.boolean(), (a, b, same, purgeMayApply) => {
      const bytesA = encodeObject(a);
      const bytesB = same ? encodeObject(a) : encodeObject(b);
      const identical = Buffer.from(bytesA).equals(Buffer.from(bytesB));
      const read = readAll([bytesA, bytesB], purgeMayApply);
      if (!identical) return read.state === InPlaceState.DECLINED;
      const full = toGetResult(sync(a, a), NOW_MS, undefined);
      const liveOrDead = a.entries.reduce((count, e) => count + e.siblings.length, 0) === 1;
      if (!liveOrDead) return read.state === InPlaceState.DECLINED;
      if (full === undefined && purgeMayApply) return read.state === InPlaceState.DECLINED;
      if (read.state !== InPlaceState.ANSWERED) return false;
      // The clock observes the write time the full path's toResult observes.
      if (read.observedMs !== a.entries.flatMap((e) => e.siblings)[0]!.timestampMs) return false;
      return JSON.stringify(plain(read.result)) === JSON.stringify(plain(full));
    }),
    { numRuns: 300 },
  );
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

t.test('divergent replicas take the full path and are repaired', async (t) => {
  // No stand-ins: node 0 misses the second writes and nobody hands them over.
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, sloppy: false });
  const keys = keysOf('diverge', 200);
  await store.putMany(keys.map((key) => [key, 'before'] as const));
  await store.stopNode(0);
  await store.putMany(keys.map((key) => [key, 'after'] as const), { w: 2 });
  await store.startNode(0);
  // Every key's replicas are nodes 0, 1 and 2: where node 0 is one of the two first, the two read in place differ.
  const repairsBefore = store.stats().readRepairs;
  const inPlaceBefore = store.stats().readsInPlace;
  const first = await Promise.all(keys.map((key) => store.get(key)));
  t.ok(first.every((result) => result?.value === 'after' && result.siblings.length === 1), 'every get answered the newer value');
  t.ok(store.stats().readsInPlace - inPlaceBefore > keys.length * 2, 'the declined ones were read again by the full path');
  t.ok(store.stats().readRepairs > repairsBefore, `the full path repaired (${store.stats().readRepairs - repairsBefore})`);
  // The full path asked the very replicas that differed: once its repairs landed, every R = 2 get agrees in place, two reads each.
  const agreed = await eventually(async () => {
    const before = store.stats().readsInPlace;
    const repairs = store.stats().readRepairs;
    const values = await Promise.all(keys.map((key) => store.get(key)));
    return values.every((result) => result?.value === 'after') && store.stats().readsInPlace - before === keys.length * 2 && store.stats().readRepairs === repairs;
  }, 10_000);
  t.ok(agreed, 'repaired: the replicas read agree, no get declines or repairs');
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
