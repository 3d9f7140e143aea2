/**
 * The pure parts of leader-ordered keys: which node leads a partition under
 * which term (lib/store/partition-leaders.ts), and the version format
 * (lib/version/ordered-version.ts) whose order replicas converge on.
 */
import t from 'tap';
import fc from 'fast-check';
import { type LeaderWaiter, LEADER_WAITERS_MAX, PartitionLeaders } from '../lib/store/partition-leaders.js';
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
