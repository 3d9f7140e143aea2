/**
 * The pure parts of leader-ordered keys: which node leads a partition under
 * which term (lib/store/partition-leaders.ts), and the version format
 * (lib/version/ordered-version.ts) whose order replicas converge on.
 */
import t from 'tap';
import fc from 'fast-check';
import { ELECTION_BATCH_MAX, type LeaderWaiter, type Leadership, LEADER_WAITERS_MAX, PartitionLeaders } from '../lib/store/partition-leaders.js';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { ORDERED_ACTOR, TERM_SPAN, isLive, nextVersion, orderedEntryOf, orderedObject, parseVersion, termOfVersion, versionText } from '../lib/version/ordered-version.js';
import { sync } from '../lib/version/dotted-version-vector.js';

function waiter(log: string[], name: string): LeaderWaiter {
  return {
    leaderReady: (leader, term) => log.push(`${name} ready ${leader}@${term}`),
    leaderFailed: (error) => log.push(`${name} failed ${error.code}`),
  };
}

t.test('the leader is the first up node of the list, under a term that grows on every change', async (t) => {
  const leaders = new PartitionLeaders();
  const list = [3, 1, 2];
  const up = new Set([1, 2, 3]);
  const isUp = (node: number) => up.has(node);
  const log: string[] = [];

  const first = leaders.route(7, list, isUp, waiter(log, 'a'));
  t.same([first.action, first.action !== 'unavailable' && first.leadership.leader, first.action !== 'unavailable' && first.leadership.term], ['elect', 3, 1]);
  t.equal(leaders.route(7, list, isUp, waiter(log, 'b')).action, 'wait', 'a second request waits for the catch-up');
  const ready = leaders.ready(leaders.get(7)!);
  for (const w of ready) w.leaderReady(3, 1);
  t.same(log, ['a ready 3@1', 'b ready 3@1'], 'both start once the leader caught up, in order');
  t.equal(leaders.route(7, list, isUp, waiter(log, 'c')).action, 'serve', 'then requests go straight to it');

  up.delete(3);
  const moved = leaders.route(7, list, isUp, waiter(log, 'd'));
  t.same(moved.action !== 'unavailable' && [moved.action, moved.leadership.leader, moved.leadership.term], ['elect', 1, 2], 'leader down: the next up node, a new term');
  up.add(3);
  const back = leaders.route(7, list, isUp, waiter(log, 'e'));
  t.same(back.action !== 'unavailable' && [back.action, back.leadership.leader, back.leadership.term], ['elect', 3, 3], 'the first node back: it leads again under a newer term, and the waiter of the superseded term moves with it');
  t.equal(leaders.get(7)!.waiters.length, 2);
  for (const w of leaders.failed(leaders.get(7)!)) w.leaderFailed(new RingtableError(ErrorCode.QUORUM, 'no quorum'));
  t.same(log.slice(-2), ['d failed ERR_QUORUM', 'e failed ERR_QUORUM'], 'a failed catch-up fails its waiters');
  t.equal(leaders.get(7), undefined, 'and the next request elects again');

  up.clear();
  t.equal(leaders.route(7, list, isUp, undefined).action, 'unavailable', 'no node up: nobody can lead');
});

t.test('terms learnt from nodes and refusals', async (t) => {
  const leaders = new PartitionLeaders();
  const isUp = () => true;
  leaders.learnTerm(41);
  const route = leaders.route(0, [0, 1, 2], isUp, undefined);
  t.equal(route.action !== 'unavailable' && route.leadership.term, 42, 'a new term exceeds every term a node reported');
  leaders.ready(leaders.get(0)!);
  leaders.forget(0, 41);
  t.equal(leaders.route(0, [0, 1, 2], isUp, undefined).action, 'serve', 'a refusal of another term changes nothing');
  leaders.forget(0, 42);
  t.equal(leaders.route(0, [0, 1, 2], isUp, undefined).action, 'elect', 'a refusal of the current term elects again');
});

t.test("a leader's copy is read in place only while it leads the term it caught up in", async (t) => {
  const leaders = new PartitionLeaders();
  const isUp = () => true;
  const route = leaders.route(5, [2, 0, 1], isUp, undefined);
  const term = route.action !== 'unavailable' ? route.leadership.term : -1;
  t.notOk(leaders.readsInPlace(5, 2, term), 'not before its catch-up');
  leaders.ready(leaders.get(5)!);
  t.ok(leaders.readsInPlace(5, 2, term), 'once it caught up');
  t.notOk(leaders.readsInPlace(5, 2, term - 1), 'not under another term');
  t.notOk(leaders.readsInPlace(5, 0, term), 'not at another node');
  t.notOk(leaders.readsInPlace(6, 2, term), 'not for another partition');
  leaders.leaderStarted(0);
  t.ok(leaders.readsInPlace(5, 2, term), 'a restart of another node changes nothing');
  leaders.leaderStarted(2);
  t.notOk(leaders.readsInPlace(5, 2, term), 'a restarted leader leads nothing: asked by message, which it refuses');
  t.equal(leaders.route(5, [2, 0, 1], isUp, undefined).action, 'serve', 'its leadership still routes (the refusal elects again)');
  leaders.forget(5, term);
  const again = leaders.route(5, [2, 0, 1], isUp, undefined);
  leaders.ready(leaders.get(5)!);
  t.ok(again.action === 'elect' && leaders.readsInPlace(5, 2, again.leadership.term), 'the next term, caught up, is read in place again');
});

t.test('waiters are bounded per partition', async (t) => {
  const leaders = new PartitionLeaders();
  const log: string[] = [];
  for (let i = 0; i < LEADER_WAITERS_MAX; i++) leaders.route(1, [0], () => true, waiter(log, `w${i}`));
  t.throws(() => leaders.route(1, [0], () => true, waiter(log, 'over')), { code: ErrorCode.OVERLOADED });
  const some = waiter(log, 'x');
  const state = leaders.get(1)!;
  state.waiters.push(some);
  leaders.removeWaiter(1, some);
  t.equal(state.waiters.length, LEADER_WAITERS_MAX, 'a waiter whose deadline passed leaves the queue');
});

/** The leadership a request for `partition` opens (route's 'elect'). */
function opened(leaders: PartitionLeaders, partition: number, list: number[], isUp: (node: number) => boolean, w?: LeaderWaiter): Leadership {
  const route = leaders.route(partition, list, isUp, w);
  if (route.action !== 'elect') throw new Error(`partition ${partition}: ${route.action}, not elect`);
  return route.leadership;
}

t.test('an election round takes the unled partitions with the same nodes and leader, after its own, each under a term of its own', async (t) => {
  // Partition p's preference list, 8 partitions: the same three nodes in different orders, or other nodes.
  const lists: number[][] = [[0, 1, 2], [3, 0, 1], [0, 2, 1], [1, 0, 2], [0, 1, 2], [0, 1, 3], [0, 2, 1], [0, 1, 2]];
  const listOf = (partition: number) => lists[partition]!;
  const leaders = new PartitionLeaders();
  const allUp = () => true;
  leaders.route(7, lists[7]!, allUp, undefined);
  leaders.ready(leaders.get(7)!); // partition 7 is led already: its term stays in force
  const log: string[] = [];
  const batch = leaders.electionBatch(opened(leaders, 2, lists[2]!, allUp, waiter(log, 'a')), lists[2]!, 2, lists.length, listOf, allUp);
  t.same(batch.map((l) => l.partition), [2, 4, 6, 0], 'in partition order after its own, wrapping: not 1 (another leader), 3 (another leader), 5 (other nodes), 7 (led)');
  t.same(batch.map((l) => l.term), [2, 3, 4, 5], 'a term each, all new');
  t.ok(batch.every((l) => l.leader === 0 && !l.ready && leaders.get(l.partition) === l), 'each opened, not ready, led by the same node');
  t.same([leaders.elections, leaders.electionRounds], [5, 1], 'terms opened (partition 7 and four) and rounds (this one) counted apart');
  t.equal(leaders.route(4, lists[4]!, allUp, waiter(log, 'b')).action, 'wait', "a request for a companion waits for the round's catch-up");
  t.same(leaders.ready(batch[1]!).length, 1, "and starts once its partition's catch-up is done");
  t.same(leaders.electionBatch(opened(leaders, 1, lists[1]!, allUp), lists[1]!, 2, lists.length, listOf, allUp).map((l) => l.partition), [1], 'a partition no other shares nodes and leader with: a round of its own');

  const isUp = (node: number) => node !== 0; // node 0 down: partitions 0, 2, 4, 6 would be led by 1 or 2
  const fresh = new PartitionLeaders(100);
  const first = opened(fresh, 0, lists[0]!, isUp);
  t.same(fresh.electionBatch(first, lists[0]!, 2, lists.length, listOf, isUp).map((l) => [l.partition, l.leader]), [[0, 1], [3, 1], [4, 1], [7, 1]], 'the leader compared is the first up node');

  const onlyTwoUp = (node: number) => node === 0 || node === 1;
  const short = new PartitionLeaders();
  const alone = short.electionBatch(opened(short, 0, lists[0]!, onlyTwoUp), lists[0]!, 3, lists.length, listOf, onlyTwoUp);
  t.same(alone.map((l) => l.partition), [0], 'fewer replicas up than a catch-up needs: the round cannot succeed and takes no companions');
  t.equal(short.elections, 1, 'nor opens their terms');
});

t.test('an election round takes at most ELECTION_BATCH_MAX partitions', async (t) => {
  const count = 3 * ELECTION_BATCH_MAX;
  const leaders = new PartitionLeaders();
  const list = [0, 1, 2];
  const allUp = () => true;
  const rounds: number[][] = [];
  for (let partition = 0; partition < count; partition++) {
    const route = leaders.route(partition, list, allUp, undefined);
    if (route.action === 'elect') rounds.push(leaders.electionBatch(route.leadership, list, 2, count, () => list, allUp).map((l) => l.partition));
    else t.equal(route.action, 'wait', `partition ${partition} waits for its round`);
  }
  t.same(rounds.map((r) => r.length), [ELECTION_BATCH_MAX, ELECTION_BATCH_MAX, ELECTION_BATCH_MAX], `${count} partitions of one leader: three full rounds`);
  t.same(rounds.flat(), Array.from({ length: count }, (_, p) => p), 'each partition in one round');
  t.equal(leaders.elections, count);
  const failed = leaders.get(5)!;
  leaders.failed(failed);
  const again = opened(leaders, 5, list, allUp);
  t.same(leaders.electionBatch(again, list, 2, count, () => list, allUp).map((l) => l.partition), [5], 'a failed election is elected again, alone when every other partition is led');
  t.ok(again.term > failed.term, 'under a newer term');
});

/** `count` partitions of `list`, each led by its first up node and caught up. */
function ledAndReady(leaders: PartitionLeaders, count: number, list: number[], isUp: (node: number) => boolean): Leadership[] {
  return Array.from({ length: count }, (_, partition) => {
    const leadership = opened(leaders, partition, list, isUp);
    leaders.ready(leadership);
    return leadership;
  });
}

t.test('an election round takes the caught-up partitions that can no longer serve (their leader restarted), not a term in force or an election under way', async (t) => {
  const list = [0, 1, 2];
  const allUp = () => true;
  const leaders = new PartitionLeaders();
  const before = ledAndReady(leaders, 6, list, allUp);
  leaders.leaderStarted(0); // it leads none of those terms any more: each would be refused
  leaders.forget(3, before[3]!.term);
  leaders.ready(opened(leaders, 3, list, allUp)); // partition 3: elected again since, in force
  leaders.forget(4, before[4]!.term);
  const electing = opened(leaders, 4, list, allUp); // partition 4: its election under way
  t.equal(leaders.route(0, list, allUp, undefined).action, 'serve', 'a request still goes to the restarted leader (its refusal elects again)');
  leaders.forget(0, before[0]!.term);
  const rounds = leaders.electionRounds;
  const batch = leaders.electionBatch(opened(leaders, 0, list, allUp), list, 2, 6, () => list, allUp);
  t.same(batch.map((l) => l.partition), [0, 1, 2, 5], "the refused partition and the others its leader's restart deposed, in one round");
  t.ok(batch.every((l, i) => leaders.get(l.partition) === l && !l.ready && (i === 0 || l.term > before[l.partition]!.term)), 'each under a new term of its own, replacing the deposed one');
  t.equal(leaders.electionRounds - rounds, 1, 'one round');
  t.equal(leaders.get(4), electing, 'the election under way is left alone');
  t.ok(leaders.get(3)!.ready, 'the term in force is left alone');
});

t.test('an election round leaves a caught-up leadership whose leader is down but did not restart: it may come back still leading', async (t) => {
  const list = [0, 1, 2];
  const up = new Set([0, 1, 2]);
  const isUp = (node: number) => up.has(node);
  const leaders = new PartitionLeaders();
  const before = ledAndReady(leaders, 6, list, isUp);
  up.delete(0);
  const batch = leaders.electionBatch(opened(leaders, 2, list, isUp), list, 2, 6, () => list, isUp);
  t.same(batch.map((l) => [l.partition, l.leader]), [[2, 1]], 'only the partition asked for moves to node 1');
  up.add(0);
  t.equal(leaders.route(3, list, isUp, undefined).action, 'serve', 'node 0 back: its term in force serves without an election');
  t.equal(leaders.get(3), before[3], 'the same leadership');
});

t.test('versions: greater across terms, greater than the key had, converging by DVVSet sync without siblings', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: TERM_SPAN - 2 }), fc.integer({ min: 1, max: TERM_SPAN - 2 }), (term, sequenceA, sequenceB) => {
      const older = nextVersion(0, term, sequenceA);
      const newer = nextVersion(older, term + 1, sequenceB);
      if (!(newer > older) || termOfVersion(newer) !== term + 1) return false;
      if (nextVersion(newer, term + 1, 1) <= newer) return false;
      const sibling = (value: number) => ({ value: new Uint8Array([value]), timestampMs: 1, expiresAtMs: 0, tombstone: false });
      const merged = sync(orderedObject(older, sibling(1)), orderedObject(newer, sibling(2)));
      const reverse = sync(orderedObject(newer, sibling(2)), orderedObject(older, sibling(1)));
      const entry = orderedEntryOf(merged);
      return entry !== undefined && entry.version === newer && entry.sibling.value[0] === 2 && orderedEntryOf(reverse)?.version === newer;
    }),
  );
  t.equal(orderedObject(5, { value: new Uint8Array(0), timestampMs: 1, expiresAtMs: 0, tombstone: false }).entries[0]!.actor, ORDERED_ACTOR);
  t.equal(parseVersion(versionText(123_456_789)), 123_456_789, 'the opaque text round-trips');
  t.same(['', '0', '01', 'abc', '1e9', '99999999999999999'].map(parseVersion), [undefined, undefined, undefined, undefined, undefined, undefined], 'texts ringtable did not make');
  t.notOk(isLive({ value: new Uint8Array(0), timestampMs: 1, expiresAtMs: 0, tombstone: true }, 10), 'a tombstone is not live');
  t.notOk(isLive({ value: new Uint8Array(0), timestampMs: 1, expiresAtMs: 10, tombstone: false }, 10), 'expired at its instant');
  t.ok(isLive({ value: new Uint8Array(0), timestampMs: 1, expiresAtMs: 11, tombstone: false }, 10));
});
