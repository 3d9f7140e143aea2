/**
 * Leader-ordered one-key reads answered in place (lib/store/ordered-in-place-get.ts,
 * Coordinator.orderedGetInPlace), and the hybrid logical clock fed by every
 * one-answer read (get-result.ts resultFromBytes' clock):
 * - orderedInPlaceTarget, the pure decision: which copy, and when none (a
 *   consistent read only at a caught-up leader routing would serve, never
 *   restarted since, of a key with nothing in flight or in doubt);
 * - against real storage-node workers: getOrdered, eventual and consistent,
 *   asks no node thread and answers right; eventual reads still spread over
 *   the replicas; a restarted leader is asked by message;
 * - the simulation (scenario 'ordered', readPath 'direct') runs the same
 *   decision: every checker passes, and with the in-place gate planted away
 *   (consistent reads in place ignore keys in doubt) checker (e) catches it;
 * - a get read in place, or by one GET, moves the clock past what it read:
 *   before, only the merge path and the two-replica shortcut did.
 */
import t from 'tap';
import fc from 'fast-check';
import { partitionedKey } from '../lib/index.js';
import { Ring } from '../lib/ring/ring.js';
import { Coordinator, NOT_IN_PLACE } from '../lib/store/coordinator.js';
import type { CoordinatorHost } from '../lib/store/coordinator-host.js';
import type { GetResult } from '../lib/store/get-result.js';
import { CacheUse, InPlaceState } from '../lib/store/in-place-get.js';
import { READS_IN_PLACE_PER_TURN_MAX } from '../lib/store/direct-reads.js';
import { OrderedInPlaceAnswer, orderedInPlaceTarget, orderedValueAt } from '../lib/store/ordered-in-place-get.js';
import type { Leadership } from '../lib/store/partition-leaders.js';
import { decodeValue, encodeValue } from '../lib/store/value-codec.js';
import { hintedTarget } from '../lib/ring/sloppy-quorum.js';
import { Status } from '../lib/transport/wire.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { isLive, orderedEntryOf, orderedObject } from '../lib/version/ordered-version.js';
import { runSeed } from './simulation/simulation.js';
import { scenarioNamed } from './simulation/scenario.js';
import { eventually, openTemp } from './helpers/temp-store.js';

const text = new TextEncoder();
const itemKey = (part: string, rest: string) => partitionedKey(9, text.encode(part), text.encode(rest));

function encodable(value: unknown): boolean {
  try {
    encodeValue(value, 1 << 20);
    return true;
  } catch {
    return false;
  }
}

function leadership(leader: number, fields: Partial<Leadership> = {}): Leadership {
  return { partition: 0, leader, term: 7, ready: true, readsInPlace: true, leaderRestarted: false, waiters: [], ...fields };
}

t.test('orderedInPlaceTarget: eventual reads rotate over up replicas; consistent ones only at a leader routing serves now, of a key not in doubt', async (t) => {
  const list = Int32Array.from([4, 1, 2]);
  const allUp = () => true;
  const twoUp = (node: number) => node !== 1;
  t.same([0, 1, 2, 3].map((rotation) => orderedInPlaceTarget(false, list, rotation, allUp, undefined, true)), [4, 1, 2, 4], 'eventual: the rotation picks the replica, whatever the leadership or doubt');
  t.equal(orderedInPlaceTarget(false, list, 1, twoUp, undefined, false), 2, 'eventual: a down replica is skipped');
  t.equal(orderedInPlaceTarget(false, list, 0, () => false, undefined, false), -1, 'eventual: none up, by message (which fails)');
  t.equal(orderedInPlaceTarget(false, Int32Array.from([hintedTarget(5, 1)]), 0, allUp, undefined, false), -1, "eventual: never a stand-in's hints");
  t.equal(orderedInPlaceTarget(false, new Int32Array(0), 0, allUp, undefined, false), -1, 'no replicas');

  t.equal(orderedInPlaceTarget(true, list, 2, allUp, leadership(4), false), 4, 'consistent: the leader, caught up in the current term');
  t.equal(orderedInPlaceTarget(true, list, 0, allUp, undefined, false), -1, 'consistent: no leadership yet (an election first)');
  t.equal(orderedInPlaceTarget(true, list, 0, allUp, leadership(4, { ready: false }), false), -1, 'consistent: the leader still catches up');
  t.equal(orderedInPlaceTarget(true, list, 0, allUp, leadership(1), false), -1, 'consistent: routing would open a new term (another first up node)');
  t.equal(orderedInPlaceTarget(true, list, 0, (node) => node !== 4, leadership(4), false), -1, 'consistent: the leader is down');
  t.equal(orderedInPlaceTarget(true, list, 0, (node) => node !== 4, leadership(1), false), 1, 'consistent: the next up node, once it leads');
  t.equal(orderedInPlaceTarget(true, list, 0, allUp, leadership(4, { readsInPlace: false }), false), -1, 'consistent: the leader restarted since it caught up');
  t.equal(orderedInPlaceTarget(true, list, 0, allUp, leadership(4), true), -1, 'consistent: the key has writes in flight or in doubt');
});

t.test('OrderedInPlaceAnswer keeps its own copy of the object, and declines anything but OK and NOT_FOUND', async (t) => {
  const answer = new OrderedInPlaceAnswer();
  const bytes = Uint8Array.from([9, 9, 1, 2, 3, 9]);
  answer.reset();
  answer.onReply(0, Status.OK, bytes, new DataView(bytes.buffer), 2, 3);
  bytes.fill(0);
  t.same([answer.state, answer.status, Array.from(answer.payload)], [InPlaceState.ANSWERED, Status.OK, [1, 2, 3]], 'the stored bytes, copied out of the reused read buffer');
  answer.reset();
  answer.onReply(0, Status.NOT_FOUND, bytes, new DataView(bytes.buffer), 0, 0);
  t.same([answer.state, answer.status, answer.payload.byteLength], [InPlaceState.ANSWERED, Status.NOT_FOUND, 0], 'nothing stored');
  answer.reset();
  answer.onReply(0, Status.ERROR, bytes, new DataView(bytes.buffer), 0, 0);
  t.equal(answer.state, InPlaceState.DECLINED, 'an error is the operation’s to report');
  answer.reset();
  answer.onNodeFailure();
  t.equal(answer.state, InPlaceState.DECLINED, 'so is a failure');
});

t.test('orderedValueAt reads what decodeObject and orderedEntryOf read, and declines any other object', async (t) => {
  const nowMs = 1_700_000_000_000;
  const values = fc.oneof(fc.anything({ maxDepth: 2 }).filter(encodable), fc.uint8Array({ maxLength: 200 }), fc.dictionary(fc.string(), fc.record({ B: fc.uint8Array({ maxLength: 40 }) })));
  fc.assert(
    fc.property(values, fc.integer({ min: 1, max: 2 ** 40 }), fc.boolean(), fc.constantFrom(0, nowMs - 1, nowMs, nowMs + 1), fc.nat(9), (value, version, tombstone, expiresAtMs, before) => {
      const object = encodeObject(orderedObject(version, { value: encodeValue(value, 1 << 20), timestampMs: 5, expiresAtMs, tombstone }));
      const bytes = new Uint8Array(before + object.byteLength + 3);
      bytes.set(object, before);
      const decoded = orderedValueAt(bytes, new DataView(bytes.buffer), before, object.byteLength, nowMs);
      const entry = orderedEntryOf(decodeObject(object))!;
      if (decoded === null || decoded.version !== entry.version || decoded.live !== isLive(entry.sibling, nowMs)) return false;
      if (!decoded.live) return decoded.value === undefined;
      bytes.fill(0); // nothing of the decoded value lies in the source
      return Buffer.from(encodeValue(decoded.value, 1 << 20)).equals(Buffer.from(encodeValue(decodeValue(entry.sibling.value), 1 << 20)));
    }),
    { numRuns: 300 },
  );
  const plain = encodeObject({ entries: [{ actor: 3, counter: 1, timestampMs: 1, siblings: [{ value: encodeValue('x', 64), timestampMs: 1, expiresAtMs: 0, tombstone: false }] }] });
  t.equal(orderedValueAt(plain, new DataView(plain.buffer), 0, plain.byteLength, nowMs), null, "a plain key's object (another actor): the full path's error");
  t.pass('orderedValueAt agrees with the full decoding');
});

t.test('getOrdered, eventual and consistent, is answered in place: no node thread asked, the right value, replicas spread', async (t) => {
  // A long failure timeout: on a loaded machine a node marked down would be read by message, which is not what this checks.
  const store = await openTemp(t, { nodes: 4, failureTimeoutMs: 30_000 });
  const keys = Array.from({ length: 40 }, (_, i) => itemKey(`p${i}`, 'item'));
  for (let i = 0; i < keys.length; i++) await store.writeOrdered({ key: keys[i]!, value: { i } });
  // A first consistent read of each partition elects and catches up its leader (by message).
  for (const key of keys) await store.getOrdered(key, { consistent: true });
  const gets = () => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const getsBefore = gets();
  const inPlaceBefore = store.stats().readsInPlace;
  const replicasSeen = new Set<number>();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < keys.length; i++) {
      const eventual = await store.getOrdered(keys[i]!);
      const consistent = await store.getOrdered(keys[i]!, { consistent: true });
      t.same([eventual?.value, consistent?.value], [{ i }, { i }], `key ${i}, round ${round}`);
      t.equal(consistent?.replica, store.preferenceList(keys[i]!)[0], 'the consistent read is the leader’s (the first up replica)');
      t.equal(consistent?.version, eventual?.version, 'one version');
      if (i === 0) replicasSeen.add(eventual!.replica);
    }
  }
  t.equal(gets(), getsBefore, 'no node thread was asked');
  t.equal(store.stats().readsInPlace - inPlaceBefore, keys.length * 6, 'every read was read in place');
  t.equal(replicasSeen.size, 3, 'eventual reads of one key rotate over its three replicas');
  t.equal(await store.getOrdered(itemKey('absent', 'item'), { consistent: true }), undefined, 'a key never written');
  await store.writeOrdered({ key: keys[0]!, value: undefined });
  t.equal(await store.getOrdered(keys[0]!, { consistent: true }), undefined, 'a deleted key');
  await t.rejects(store.getOrdered(new Uint8Array(0)), 'an invalid key still rejects');
});

t.test('ordered gets past the per-turn bound of reads in place wait a macrotask and are still read in place', async (t) => {
  // A long failure timeout: on a loaded machine a node marked down would be read by message, which is not what this checks.
  const store = await openTemp(t, { nodes: 4, failureTimeoutMs: 30_000 });
  const keys = Array.from({ length: 50 }, (_, i) => itemKey(`m${i}`, 'item'));
  for (let i = 0; i < keys.length; i++) await store.writeOrdered({ key: keys[i]!, value: i });
  for (const key of keys) await store.getOrdered(key, { consistent: true });
  // An eventual read may be answered by a replica the write has not reached yet (acknowledged at the ordered W):
  // wait until each key's three replicas answer it (eventual reads rotate over them), so that a wrong answer below
  // can only be a read answered with another read's key. Without it the burst failed in CI (s16) and once in 7 local runs, most likely
  // a replica still behind (not checked further).
  const replicated = await eventually(async () => {
    for (let i = 0; i < keys.length; i++) for (let turn = 0; turn < 3; turn++) if ((await store.getOrdered(keys[i]!))?.value !== i) return false;
    return true;
  }, 10_000);
  t.ok(replicated, 'every replica holds every key');
  const gets = () => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const getsBefore = gets();
  const count = READS_IN_PLACE_PER_TURN_MAX * 3 + 7;
  // Issued in one turn, each answer chaining another: what GetItem with many in flight does.
  const reads = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.getOrdered(keys[i % keys.length]!, { consistent: i % 2 === 0 }).then((first) => store.getOrdered(keys[(i + 1) % keys.length]!).then((second) => [first?.value, second?.value])),
    ),
  );
  const wrong = reads.filter(([first, second], i) => first !== i % keys.length || second !== (i + 1) % keys.length);
  t.equal(wrong.length, 0, `${count * 2} ordered gets answered their own keys`);
  t.equal(gets(), getsBefore, 'no node thread was asked');
});

t.test('a restarted leader is read by message until a new term: the node checks it', async (t) => {
  const store = await openTemp(t, { nodes: 3 });
  const key = itemKey('restart', 'item');
  await store.writeOrdered({ key, value: 'before' });
  await store.getOrdered(key, { consistent: true });
  const leader = store.preferenceList(key)[0]!;
  store.crashNode(leader);
  await store.startNode(leader);
  const gets = () => store.stats().nodes.reduce((sum, node) => sum + node.gets, 0);
  const getsBefore = gets();
  const read = await store.getOrdered(key, { consistent: true });
  t.equal(read?.value, 'before', 'the value');
  t.ok(gets() > getsBefore, 'a node thread was asked (the restarted leader refuses its old term, and a new one is elected)');
  const again = gets();
  t.equal((await store.getOrdered(key, { consistent: true }))?.value, 'before');
  t.equal(gets(), again, 'the new term’s leader is read in place again');
});

t.test("the simulation's ordered scenario with readPath 'direct': reads answered in place, every checker passes; the in-place gate planted away is caught", async (t) => {
  const scenario = { ...scenarioNamed('ordered'), readPath: 'direct' as const };
  let inPlace = 0;
  for (let seed = 0; seed < 60; seed++) {
    const result = await runSeed(seed, scenario);
    inPlace += result.orderedReadsInPlace;
    if (result.failures.length > 0) t.fail(`seed=${seed} failed:\n${result.failures.slice(0, 5).map((f) => `${f.kind}: ${f.message}`).join('\n')}`);
  }
  t.ok(inPlace > 0, `ordered reads were answered in place (${inPlace})`);
  let caught: string | undefined;
  // First caught at seed 125 since elections send a new leader only the copies it lacks (fewer messages, other schedules).
  for (let seed = 0; seed < 400 && caught === undefined; seed++) {
    const result = await runSeed(seed, scenario, { bugs: { inPlaceIgnoresDoubt: true } });
    caught = result.failures.find((f) => f.kind === 'unstable-consistent-read')?.message;
  }
  t.ok(caught !== undefined, `consistent reads in place of keys in doubt are caught: ${caught ?? ''}`);
});

/** One key stored with a write time far ahead of this process's clock (another process's, or one from before a restart whose wall clock ran ahead). */
function hostWithFutureValue(inPlace: boolean, timestampMs: number): CoordinatorHost {
  const object = encodeObject({ entries: [{ actor: 5, counter: 1, timestampMs, siblings: [{ value: encodeValue('ahead', 1024), timestampMs, expiresAtMs: 0, tombstone: false }] }] });
  const answer = (reply: { onReply: (...args: never[]) => void }, target: number, tag: number) =>
    (reply.onReply as (node: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number, tag: number) => void)(target, Status.OK, object, new DataView(object.buffer), 0, object.byteLength, tag);
  return {
    wallClockMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    setTimer: (delayMs, run) => setTimeout(run, delayMs),
    clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
    sleep: (delayMs) => new Promise((resolve) => setTimeout(resolve, delayMs)),
    scheduleFlush: (flush) => queueMicrotask(flush),
    send: (target, _request, reply, tag) => queueMicrotask(() => answer(reply, target, tag)),
    ...(inPlace
      ? {
          readInPlace: (target, _key, reply, tag) => {
            answer(reply, target, tag);
            return true;
          },
          inPlaceTurnLeft: () => true,
        }
      : {}),
    isDown: () => false,
    isUp: () => true,
    hintsHeld: () => 0,
    hintsOwedTo: () => 0,
    retiredIds: () => [],
  };
}

const OPTIONS = { n: 3, sloppy: true, readFanout: 'quorum' as const, timeoutMs: 1000, pendingMax: 100, pendingBytesMax: 1 << 20, tombstoneGraceMs: 10, resolve: undefined, handoffKeysPerSecond: 100 };

t.test('a one-answer get moves the hybrid logical clock past the write time it read, in place or by message', async (t) => {
  const aheadMs = Date.now() + 600_000;
  const inPlace = new Coordinator({ ...OPTIONS, readPath: 'direct' }, Ring.create([0, 1, 2, 3], 8), hostWithFutureValue(true, aheadMs));
  const read = inPlace.getInPlace('k', CacheUse.NONE);
  t.not(read, NOT_IN_PLACE, 'answered in place');
  t.equal((read as GetResult).value, 'ahead');
  t.ok(inPlace.nowMs() > aheadMs, 'the next write time is later than the value read in place');

  const byMessage = new Coordinator({ ...OPTIONS, readPath: 'messages' }, Ring.create([0, 1, 2, 3], 8), hostWithFutureValue(false, aheadMs));
  const result = await new Promise<GetResult | undefined>((resolve, reject) => byMessage.startGet('k', 1, (error, value) => (error ? reject(error) : resolve(value)), 0));
  t.equal(result?.value, 'ahead');
  t.ok(byMessage.nowMs() > aheadMs, 'the next write time is later than the value one GET answered');

  const batch = new Coordinator({ ...OPTIONS, readPath: 'messages' }, Ring.create([0, 1, 2, 3], 8), hostWithFutureValue(false, aheadMs));
  t.same((await batch.getMany(['a', 'b'], 1, 1024)).map((r) => r?.value), ['ahead', 'ahead']);
  t.ok(batch.nowMs() > aheadMs, "and than the values a getMany's R = 1 reads answered");
});
