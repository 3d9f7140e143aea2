/**
 * The deterministic simulation (test/simulation/): the real Replica and the
 * real quorum operations under seeded crashes, restarts, lossy and
 * reordering links, partitions and membership changes, judged by four
 * checkers. CI covers seeds 0-999 (each runs scenarioForSeed(seed)); a
 * failure names its seed and the command that replays it with a trace.
 * Planted bugs show that every checker can fail.
 */
import t from 'tap';
import { Op, RequestFlag, Response, Status, encodeRequest, keyBytesOf, requestBytes } from '../lib/transport/wire.js';
import { decodeObject, encodeObject, encodeObjectTransient } from '../lib/version/object-codec.js';
import type { VersionedObject } from '../lib/version/dotted-version-vector.js';
import { EPOCH_RESTART_MARGIN, epochOfActor } from '../lib/version/actor.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { PLANTED_BUGS, plantedBugScenario } from './simulation/bugs.js';
import { EventQueue } from './simulation/event-queue.js';
import { MemoryStorage } from './simulation/memory-storage.js';
import { SCENARIOS, scenarioForSeed, scenarioNamed, withoutPutMany } from './simulation/scenario.js';
import { SimNode } from './simulation/sim-node.js';
import { type RunResult, type RunStats, runSeed } from './simulation/simulation.js';

const CI_SEEDS = 1000;
/**
 * Seeds tried per planted bug. 100: since the clients call putMany (session
 * s15) the first seed that shows strand-foreign as a lost write is 11 (seed 5
 * shows it earlier as a dropped sibling, another checker's name for the same
 * loss); with least-loaded reads before that it was 78. serve-uncommitted runs
 * without putMany (PlantedBug.withoutPutMany): its traffic moved that bug's
 * first catch in 'ordered' from seed 52 to 172.
 */
const PLANTED_SEEDS_MAX = 100;

function replay(result: RunResult, bug?: string): string {
  return `node dist/test/simulation/long-run.js --scenario ${result.scenario} --seed ${result.seed}${bug === undefined ? '' : ` --bug ${bug}`} --trace`;
}

function putFrame(requestId: number, key: string, value: string): Uint8Array {
  const valueBytes = encodeValue(value, 1024);
  const keyBytes = keyBytesOf(key);
  const frame = Buffer.alloc(requestBytes(keyBytes, 0, valueBytes.byteLength));
  encodeRequest(frame, new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 0, requestId, { op: Op.PUT, flags: RequestFlag.BLIND, key: key, context: undefined, value: valueBytes, timestampMs: 1, expiresAtMs: 0 }, keyBytes);
  return frame;
}

t.test('the event queue runs events by time, then in the order they were scheduled', async (t) => {
  const queue = new EventQueue(16);
  const ran: string[] = [];
  queue.after(5, () => ran.push('b'));
  queue.after(1, () => ran.push('a'));
  queue.after(5, () => {
    ran.push('c');
    queue.after(0, () => ran.push('d'));
  });
  queue.drain(100);
  t.same(ran, ['a', 'b', 'c', 'd']);
  t.equal(queue.nowMs, 5);
  t.throws(() => {
    for (let i = 0; i < 17; i++) queue.after(1, () => {});
  }, /runaway/);
});

t.test('memory storage: a transaction that throws leaves the committed state as it was', async (t) => {
  const storage = new MemoryStorage();
  const key = new TextEncoder().encode('k');
  storage.write((batch) => batch.put(key, new Uint8Array([1])));
  t.throws(() =>
    storage.write((batch) => {
      batch.put(key, new Uint8Array([2]));
      batch.writeEpoch(9);
      throw new Error('abort');
    }),
  );
  t.same([...storage.get(key)!], [1]);
  t.equal(storage.readEpoch(), 0);
});

t.test('a node answers a write only after its group commit; a crash loses the uncommitted batch, not the committed state', async (t) => {
  const queue = new EventQueue(1024);
  const answers: { requestId: number; status: number; payload: Uint8Array | undefined }[] = [];
  const node = new SimNode(
    1,
    { nodeId: 1, objectBytesMax: 1 << 20, conflicts: 'siblings', clockEntriesMax: 10 },
    queue,
    42,
    { commitMinMs: 1, commitMaxMs: 2 },
    (_node, frame) => {
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      answers.push({ requestId: view.getUint32(Response.REQUEST_ID, true), status: view.getUint8(Response.STATUS), payload: frame.slice(Response.HEADER_BYTES) });
    },
    () => {},
  );
  const key = new TextEncoder().encode('k');
  node.receive(putFrame(1, 'k', 'lost'));
  t.equal(answers.length, 0, 'no answer before the commit');
  node.crash();
  queue.drain(100);
  t.equal(answers.length, 0, 'the crashed batch is never answered');
  t.equal(node.engine.get(key), undefined, 'nor stored');
  node.restart();
  node.receive(putFrame(2, 'k', 'kept'));
  queue.drain(100);
  t.same(answers.map((a) => [a.requestId, a.status]), [[2, Status.OK]]);
  const firstActor = decodeObject(node.engine.get(key)!).entries[0]!.actor;
  const epochBefore = node.engine.readEpoch();
  node.crash();
  node.restart();
  t.equal(node.engine.readEpoch(), epochBefore + EPOCH_RESTART_MARGIN, 'a restart persists a bumped epoch before any write');
  t.ok(epochOfActor(firstActor) <= epochBefore, 'the first write used the epoch of its life');
  t.ok(node.engine.get(key) !== undefined, 'committed data survives the crash');
});

t.test('a seed replays exactly', async (t) => {
  for (const seed of [3, 1234]) {
    const first = await runSeed(seed, scenarioForSeed(seed), { trace: true });
    const second = await runSeed(seed, scenarioForSeed(seed), { trace: true });
    t.equal(second.trace, first.trace, `seed ${seed}: the same trace`);
    t.same(second.stats, first.stats, `seed ${seed}: the same stats`);
    t.ok(first.trace.split('\n').length > 100, `seed ${seed}: the trace reads as a transcript`);
  }
});

t.test(`seeds 0-${CI_SEEDS - 1}: every checker passes in every scenario`, async (t) => {
  const totals = new Map<string, RunStats & { seeds: number }>();
  const startedMs = performance.now();
  let failedSeeds = 0;
  for (let seed = 0; seed < CI_SEEDS; seed++) {
    const scenario = scenarioForSeed(seed);
    const result = await runSeed(seed, scenario);
    if (result.failures.length > 0) {
      failedSeeds++;
      const lines = result.failures.slice(0, 5).map((f) => `  ${f.kind}: ${f.message}`);
      t.fail(`seed=${seed} scenario=${scenario.name} failed:\n${lines.join('\n')}\nreplay: ${replay(result)}`);
    }
    const total = totals.get(scenario.name) ?? { ...zeroStats(), seeds: 0 };
    total.seeds++;
    for (const field of Object.keys(result.stats) as (keyof RunStats)[]) total[field] += result.stats[field];
    totals.set(scenario.name, total);
  }
  const elapsedMs = performance.now() - startedMs;
  t.equal(failedSeeds, 0, `${CI_SEEDS} seeds, none failed`);
  t.comment(`${CI_SEEDS} seeds in ${(elapsedMs / 1000).toFixed(1)} s (${((elapsedMs / CI_SEEDS) * 1000 / 1000).toFixed(1)} s per 1,000 seeds)`);
  for (const scenario of SCENARIOS) {
    const total = totals.get(scenario.name)!;
    t.comment(`${scenario.name}: ${JSON.stringify(total)}`);
    // The runs must exercise what their scenario names, or passing proves little.
    t.ok(total.writesAcked > 0 && total.readsChecked > 0, `${scenario.name}: writes acknowledged and reads checked against them`);
    t.ok(total.putManyItemsAcked > 0, `${scenario.name}: putMany items acknowledged (${total.putManyItemsAcked} of ${total.putManyCalls} calls)`);
    if (scenario.conflicts === 'siblings') t.ok(total.siblingReads > 0, `${scenario.name}: reads met concurrent siblings`);
    if (scenario.faults.weights.crash > 0) t.ok(total.crashes > 0, `${scenario.name}: nodes crashed`);
    if (scenario.faults.weights.partition > 0) t.ok(total.partitions > 0, `${scenario.name}: partitions happened`);
    if (scenario.faults.membershipChangesMax > 0) t.ok(total.membershipChanges > 0, `${scenario.name}: the ring changed`);
    if (scenario.network.lossProbability > 0) t.ok(total.lost > 0, `${scenario.name}: messages were lost`);
    if (scenario.sloppy) t.ok(total.hintsDelivered > 0, `${scenario.name}: stand-ins took hints and handed them back`);
    if (scenario.ordered !== undefined) {
      t.ok(total.orderedAcked > 0 && total.consistentReadsOk > 0 && total.racesWon > 0, `${scenario.name}: ordered writes acknowledged, consistent reads answered, races won`);
      t.ok(total.consistentRangeReadsOk > 0, `${scenario.name}: consistent range reads answered (${total.consistentRangeReadsOk} keys observed)`);
      t.ok(total.elections > total.seeds, `${scenario.name}: leaders changed (${total.elections} elections in ${total.seeds} seeds)`);
    }
  }
});

t.test('every checker catches its planted bug', async (t) => {
  for (const bug of PLANTED_BUGS) {
    const scenario = plantedBugScenario(bug);
    let caught: RunResult | undefined;
    for (let seed = 0; seed < PLANTED_SEEDS_MAX && caught === undefined; seed++) {
      const result = await runSeed(seed, scenario, { bugs: bug.bugs });
      if (result.failures.some((f) => f.kind === bug.caughtAs)) caught = result;
    }
    t.ok(caught !== undefined, `${bug.name} (${bug.description}) is caught as ${bug.caughtAs}`);
    if (caught !== undefined) {
      const failure = caught.failures.find((f) => f.kind === bug.caughtAs)!;
      t.comment(`${bug.name}: seed ${caught.seed}: ${failure.message.slice(0, 300)}\n  replay: ${replay(caught, bug.name)}`);
    }
  }
});

// The regression seeds below were found before the clients called putMany:
// they run their scenario without it (withoutPutMany), on the schedule they
// were found on.

// Found by the simulation (a seed's stored bytes differed between a first and
// a second run in one process): writeObject never writes the 3 reserved bytes
// after a sibling's flags, so encodeObjectTransient's reused buffer leaves
// bytes of an earlier object there. Equal versions then differ as bytes, on
// disk and on the wire (a byte-level Merkle hash sees a difference that
// repair never removes), and fragments of other keys' objects are stored.
// Found by the simulation; fixed in lib/version/object-codec.ts (the reserved bytes are written).
t.test('equal versions encode to equal bytes, whatever was encoded before', async (t) => {
  const sibling = { value: new Uint8Array([1]), timestampMs: 5, expiresAtMs: 0, tombstone: false };
  const before: VersionedObject = { entries: [{ actor: 1, counter: 1, timestampMs: 5, siblings: [] }, { actor: 2, counter: 1, timestampMs: 1_700_000_000_123, siblings: [sibling] }] };
  const object: VersionedObject = { entries: [{ actor: 1, counter: 1, timestampMs: 5, siblings: [sibling] }] };
  encodeObjectTransient(before);
  t.same([...encodeObjectTransient(object)], [...encodeObject(object)]);
});

// Found by the simulation (long run, seeds outside the CI range): an
// acknowledged delete is undone. A put is acknowledged by two primaries and a
// stand-in holding a hint for a down primary; the stand-in is cut off before
// handing it back; a delete then reaches all N primaries, so its tombstone is
// purged after tombstoneGraceMs; the stand-in comes back and hinted handoff
// delivers the old put to its owner, where nothing stops it any more.
// Seed 1838 step by step: n3 down at 38 ms; put w14 (W=3) acknowledged by
// n4, n0 and n1 (hint for n3) at 55 ms; n3 up at 101 ms, n1 cut off at
// 101.7 ms; delete w42 acknowledged by n3, n4, n0 at 232 ms; PURGE to all
// three at 385 ms; n1 back, REPLICATE of the hint to n3 at 399.9 ms; w14 is
// live again everywhere after repair. The purge rule (store.ts writeSettled /
// readSettled: all N own replicas hold the tombstone) does not know about
// hints held elsewhere for those replicas. Fixed: store.ts sendPurge (and the
// simulated coordinator) purge only while no hint is owed to them
// (purge-rule.ts shouldSendPurge).
// Session s16: seeds 1838, 5149, 5233, 5415 and 22985 no longer failed with
// that check taken out (hints owed to the key's replicas ignored): later
// changes moved their schedules. Seeds 31306 and 32851 fail so (found
// searching seeds 30000-32851 of 'sloppy' without putMany), as lost-write and
// stale-read. 31306: put #37 of k1 (W=3) is acknowledged by n1, n2 and n4 (a
// hint for n0, down); n4 crashes before handing it back; the delete #53 reaches
// n0, n1, n2 and is purged from them at 444.8 ms while n4 still owes n0 the
// hint; n4 hands w37 to n0 at 461.3 ms, and repair spreads it. With the check,
// the purge waits for the hint, which the tombstone then supersedes.
// Replay: node dist/test/simulation/long-run.js --scenario sloppy --seed 31306 --without-put-many --trace
t.test('an acknowledged delete stays deleted when a stand-in hands back an older hint after the purge', async (t) => {
  for (const seed of [31306, 32851]) {
    const result = await runSeed(seed, withoutPutMany(scenarioNamed('sloppy')));
    t.ok(result.stats.hintsDelivered > 0, `seed ${seed}: the schedule still hands hints back`);
    t.same(result.failures.map((f) => f.kind), [], `seed ${seed}: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
  }
});

// Found by the long simulation (scenario lww, seed 603431): after a purge
// that n0 missed, n4 took hot1 back from n1, whose clock held n4's actor at a
// lower counter planted by a client's stale context, and minted again dots
// that n0 held for the tombstone; replicas then held equal clocks with
// different values (w56, and the tombstone w24), which no merge separates.
// Fixed in lib/version/actor.ts (actorToReuse, namesForgottenActor) and
// lib/node/replica.ts (epochMin). Replay: node dist/test/simulation/long-run.js --scenario lww --seed 603431 --without-put-many --trace
// Session s16: the seed no longer fails with namesForgottenActor taken out
// (it never raises epochMin), and no seed of 'lww' 20000-39999 without
// putMany does: it passes as a plain run of 'lww' only, not as this
// regression's guard (last-writer-wins.test.ts tests the rule itself).
t.test('a node that took a purged key back does not mint again its old dots (lww)', async (t) => {
  for (const seed of [603431]) {
    const result = await runSeed(seed, withoutPutMany(scenarioNamed('lww')));
    t.same(result.failures.map((f) => f.kind), [], `seed ${seed}: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
  }
});

// Found by the simulation once it ran the real membership change
// (lib/store/membership-change.ts) instead of its own copy: in
// sloppy-membership, a removal whose hand-over failed after the ring switch
// left the node out of the ring but neither retired nor stopped, so the hints
// stand-ins held for it were never handed off (seeds 10, 24: lost writes;
// seeds 20, 34, 49, 94: the run never went quiet). Fixed: the switch is the
// commit point (Store.removeNode finishes such a removal, addNode keeps a node
// that joined), and the idempotent steps are sent again (range-move.ts,
// membership-change.ts).
// Session s16: seeds 10, 20, 24, 34, 49 and 94 no longer failed with the fix
// taken out (a hand-over that fails after the switch throws, not tried again;
// a node whose join failed so is stopped, one whose removal failed so is left
// running, as before): their schedules moved. Seeds 20000, 20053 and 20090
// fail so (found searching seeds 20000-20139 of 'sloppy-membership' without
// putMany; 20 failed so, all but 20090 as a livelock): in 20000 the join of
// n5 fails after its switch (n5 crashes, 243.8 ms) and the stopped n5 stays in
// the ring; in 20053 the removal of n4 fails after its switch (n0 down,
// 390 ms); both never go quiet (invariant: still busy after 200,000 events).
// In 20090 the removal of n4 fails at 320 ms (n3, cut off, fails its
// hand-over) and n0 and n2 keep hints for n4 after healing (lost-write).
// Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 20090 --without-put-many --trace
t.test('a membership change that fails after its ring switch still completes (a removal, or a join)', async (t) => {
  for (const seed of [20000, 20053, 20090]) {
    const result = await runSeed(seed, withoutPutMany(scenarioNamed('sloppy-membership')), { trace: true });
    t.ok(nodeDownDuringChange(result.trace), `seed ${seed}: the schedule still has a node go down while a membership change runs`);
    t.same(result.failures.map((f) => f.kind), [], `seed ${seed}: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
  }
});

/** Whether the coordinator marked a node down between a membership change's start and its end, in a run's trace. */
function nodeDownDuringChange(trace: string): boolean {
  let changing: string | undefined;
  for (const line of trace.split('\n')) {
    const started = / ring: (n\d+) (joins|leaves)/.exec(line);
    if (started !== null) changing = started[1];
    else if (changing !== undefined && new RegExp(` membership: (add|remove) ${changing} `).test(line)) changing = undefined;
    else if (changing !== undefined && / marks n\d+ down/.test(line)) return true;
  }
  return false;
}

// Found by the long simulation once it ran the real membership change:
// - membership seed 400969: a node down while a change dropped the ranges it
//   lost kept its copies; a delete was purged from the new replicas; when a
//   later change gave the node the range again, its old copy came back.
//   Fixed: a gaining node drops what it holds of the gained ranges before the
//   copy (range-move.ts dropStaleOnGainers). Session s16: the seed no longer
//   fails with dropStaleOnGainers skipped, and no seed of 'membership'
//   20000-59999 or 100000-110999 without putMany does (nor 60000-60999 with
//   the purge's sweep rule taken out too), so this seed guards nothing of its
//   own now. Perhaps the ownership sweeps (issue 9) now reach such a stale
//   copy first; not checked.
// - sloppy-membership seed 1139: a stand-in held a hint for a node that was
//   then removed; the delete's tombstone was purged from the key's replicas,
//   and the hint, handed to those replicas, brought the old value back.
//   Fixed: no purge while hints are owed to a removed node (purge-rule.ts).
//   Session s16: the seed no longer fails with that check taken out, and no
//   seed of 'sloppy-membership' 30000-86999 without putMany does.
// - membership seed 505675 (and sloppy-membership 602446): a purge decided
//   during a change was sent after it, to the replicas of the old ring; the
//   simulation's old copy of the coordinator skipped such purges, the store
//   did not. Fixed: a due purge is sent only to the key's current N (purge-rule.ts).
//   Session s16: 505675 and 602446 no longer failed with that check taken
//   out (their schedules moved); sloppy-membership seed 31108 fails so (found
//   searching seeds 30000-31108 without putMany), as lost-write and
//   stale-read: the blind delete #43 of k4 (W=1, 236.6 ms) reached the old
//   ring's replicas n3, n4, n0 while n0's removal ran; its purge, decided for
//   them, went at 1,491 ms to n3 and n4, and n5, which had gained k4, still
//   held w49, which repair brought back. With the check the purge is not sent.
//   Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 31108 --without-put-many --trace
t.test('an acknowledged delete stays deleted across membership changes', async (t) => {
  for (const [scenario, seed] of [['membership', 400969], ['sloppy-membership', 1139], ['sloppy-membership', 31108]] as const) {
    const result = await runSeed(seed, withoutPutMany(scenarioNamed(scenario)));
    t.ok(result.stats.membershipChanges > 0, `${scenario} seed ${seed}: the schedule still changes membership`);
    t.same(result.failures.map((f) => f.kind), [], `${scenario} seed ${seed}: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
  }
});

// Found by the simulation, sloppy-membership seed 19787: the removal of n4
// failed (n1 crashed during its range move, 296 ms) after it had sent n0
// copies of k0 (w25), which n0 does not replicate; a late copy landed on n0
// after n0's ownership sweep had handed k0 over and dropped it (306 ms). The
// acknowledged blind delete #46 (W=1, 298.7 ms) reached all N (n2, n3, n4),
// so its tombstone was purged there at 1,452 ms, and the next sweep handed
// n0's w25 to replicas where nothing superseded it any more: the deleted value
// was live again (lost-write, stale-read). Fixed: a tombstone is purged only
// once every node outside the key's preference list was swept clean since the
// last change ended + tombstoneGraceMs; a due purge owes those sweeps and
// waits for them (purge-rule.ts nodesToSweepBeforePurge, coordinator.ts).
// The schedule is the same up to the first due purge (1,430 ms), which now
// owes sweeps of n0 and n4: n0's w25 is merged into the tombstone's replicas
// and dropped, then the purges go.
// Session s16: a read repair no longer goes to a replica that a put of the
// key is still on its way to (writes-in-flight.ts), which moved the schedule:
// seed 19787 then failed one removal, not two, and passed with the fix taken
// out. Seed 15840 fails without the fix (nodesToSweepBeforePurge returning
// no node; found searching seeds 15000 on): its removal fails, and the
// acknowledged delete #39 of hot1 (W=3) has w30 live again (lost-write,
// stale-read); with the fix it passes. Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 15840 --without-put-many --trace
t.test('an acknowledged delete stays deleted when a failed membership change strands a late copy outside the key\'s replicas', async (t) => {
  const result = await runSeed(15840, withoutPutMany(scenarioNamed('sloppy-membership')));
  t.equal(result.stats.membershipChangesFailed, 1, 'the schedule still fails its removal');
  t.same(result.failures.map((f) => f.kind), [], `seed 15840: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

// Found by the simulation (session s16's helper, checking pinned seeds),
// sloppy-membership seed 66045 without putMany: n1 took a hint for the down
// n5 while its own removal ran (after its hints had been handed off), a W=3
// put of k11 was acknowledged with it, and n1 stopped with the hint when it
// left: an R=1 read of n5 after every other hint was handed back missed the
// put (stale-read). Fixed: a node being removed takes no hints
// (sloppy-quorum.ts sloppyTargets' mayStandIn; Coordinator.leavingNode).
// Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 66045 --without-put-many --trace
t.test('a node being removed takes no hints, so none leaves with it', async (t) => {
  const result = await runSeed(66045, withoutPutMany(scenarioNamed('sloppy-membership')));
  t.ok(result.stats.membershipChanges > 0 && result.stats.hintsDelivered > 0, 'the schedule still removes a node while hints are handed back');
  t.same(result.failures.map((f) => f.kind), [], `seed 66045: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

/** A trace's lines, and where node `node`'s removal began (its ring line) and ended. */
function removalIn(trace: string, node: number): { lines: string[]; began: number; ended: number } {
  const lines = trace.split('\n');
  const began = lines.findIndex((line) => line.includes(`ring: n${node} leaves`));
  const ended = lines.findIndex((line, i) => i > began && line.includes(`membership: remove n${node} `));
  return { lines, began, ended };
}

// Found with the simulation's check that a node leaving the ring holds no
// hint when it stops (session s17; sloppy-membership seeds 100000-110688
// without putMany, with the fix below taken out: 5 of them). Writes of hot1
// routed just before n2's removal began picked n2 as n1's stand-in; their
// hints landed on n2 after its hint drain had found none, and n2 left with
// one. Fixed: the drain first waits for the operations in flight when the
// removal began (membership-change.ts drainLeavingHints). Fails without it
// (the invariant: n2 left the ring holding 1 hints).
// Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 100307 --without-put-many --trace
t.test('a hint of a write routed just before a removal began is handed off before the node leaves', async (t) => {
  const result = await runSeed(100307, withoutPutMany(scenarioNamed('sloppy-membership')), { trace: true });
  const { lines, began } = removalIn(result.trace, 2);
  const sentBefore = lines.slice(0, began).flatMap((line) => /#(\d+)\.0 -> n2 \(hint for n\d+\) {2}REPLICATE/.exec(line)?.[1] ?? []);
  const landedAfter = sentBefore.filter((id) => lines.slice(began).some((line) => line.includes(`n2 -> coord  WRITE_BATCH #${id} OK`)));
  t.ok(began > 0 && landedAfter.length > 0, `precondition: a hint sent to n2 before its removal began landed after (${landedAfter.join(', ')})`);
  t.same(result.failures.map((f) => f.kind), [], `seed 100307: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

// The same, found with only drainLeavingHints' wait taken out (seeds
// 100000-103081: 1 of them; seed 100307 passes so, its schedule moved): a
// get of k11 routed to n1 as n4's stand-in went out 7.5 ms before n1's
// removal began. Fails without the wait (the invariant: n1 left the ring
// holding 1 hints).
// Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 102441 --without-put-many --trace
t.test('a removal waits for the requests routed before it began, then drains the hints', async (t) => {
  const result = await runSeed(102441, withoutPutMany(scenarioNamed('sloppy-membership')), { trace: true });
  const { lines, began } = removalIn(result.trace, 1);
  const timeOf = (line: string) => Number.parseFloat(line);
  const recent = lines.slice(0, began).filter((line) => / -> n1 \(hint for n\d+\) /.test(line) && timeOf(lines[began]!) - timeOf(line) < 60);
  t.ok(began > 0 && recent.length > 0, `precondition: a request went to n1 as a stand-in less than a timeout (60 ms) before its removal began (${recent.length})`);
  t.same(result.failures.map((f) => f.kind), [], `seed 102441: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

// Found the same way (seed 271, sloppy-membership without putMany): during
// n1's removal n0 crashed under an R=3 get of k11, which was asked again of
// the sloppy targets: n1, the leaving node, stood in for n0, and the get's
// read repair left a hint on it, which left with n1. Fixed: a read's
// stand-ins pass over the leaving node as a write's do (routing.ts
// readTargets' mayStandIn). Fails without it (the invariant).
// Replay: node dist/test/simulation/long-run.js --scenario sloppy-membership --seed 271 --without-put-many --trace
t.test("a read's repair leaves no hint on a node being removed", async (t) => {
  const result = await runSeed(271, withoutPutMany(scenarioNamed('sloppy-membership')), { trace: true });
  const { lines, began, ended } = removalIn(result.trace, 1);
  const standInReads = lines.slice(began, ended).filter((line) => /coord -> n\d+ \(hint for n\d+\) {2}GET/.test(line));
  t.ok(began > 0 && standInReads.length > 0, `precondition: during n1's removal a read went to stand-ins (${standInReads.length} requests)`);
  t.same(result.failures.map((f) => f.kind), [], `seed 271: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

// Found by the simulation, membership-outage seed 11346 (once purges waited
// for sweeps, which moved its schedule): a node lost key hot0 in a handoff
// and took a fresh actor epoch when it wrote it again (actor.ts), so hot0's
// clock gained entries with every change and crash until truncation, bounded
// by count alone (10), dropped the entry of w7's actor on all three replicas.
// n0 still held a stranded copy of w7; the next ownership sweep merged it
// into the replicas, whose clocks no longer showed w7 as seen: w7 came back
// as a false sibling beside the four later writes (lost-write, stale-read).
// Fixed: truncation keeps entries within CLOCK_ENTRY_YOUNG_MS of the key's
// newest (Riak's young_vclock). Session s16 checked it still bites: with the
// guard taken out (truncate's youngMs 0) the seed fails, now as divergence
// (hot0's replicas keep different clocks). Replay: node dist/test/simulation/long-run.js --scenario membership-outage --seed 11346 --without-put-many --trace
t.test('a clock truncated while a stranded copy travels does not bring the copy back as a sibling', async (t) => {
  const result = await runSeed(11346, withoutPutMany(scenarioNamed('membership-outage')));
  t.ok(result.stats.membershipChanges >= 3, 'the schedule still changes membership');
  t.same(result.failures.map((f) => f.kind), [], `seed 11346: ${result.failures[0]?.message.slice(0, 200) ?? 'passes'}`);
});

function zeroStats(): RunStats {
  return {
    events: 0,
    virtualMs: 0,
    writes: 0,
    writesAcked: 0,
    reads: 0,
    readsOk: 0,
    crashes: 0,
    partitions: 0,
    membershipChanges: 0,
    messages: 0,
    lost: 0,
    siblingReads: 0,
    entryTimestampsDiffer: 0,
    readsChecked: 0,
    hintsDelivered: 0,
    putRetries: 0,
    putManyCalls: 0,
    putManyItemsAcked: 0,
    membershipChangesFailed: 0,
    orderedAcked: 0,
    consistentReadsOk: 0,
    consistentRangeReadsOk: 0,
    racesWon: 0,
    elections: 0,
    electionRounds: 0,
  };
}
