/** The tombstone purge rule (lib/store/purge-rule.ts), as pure functions. */
import t from 'tap';
import { hintedTarget } from '../lib/ring/sloppy-quorum.js';
import { nodesToSweepBeforePurge, shouldSchedulePurge, shouldSendPurge } from '../lib/store/purge-rule.js';
import { TombstonePurges } from '../lib/store/tombstone-purges.js';

t.test('a purge is scheduled only when all N own replicas hold the tombstone', async (t) => {
  t.ok(shouldSchedulePurge(true, [0, 1, 2], 3), 'all N, none a stand-in');
  t.notOk(shouldSchedulePurge(false, [0, 1, 2], 3), 'not a tombstone on every replica asked');
  t.notOk(shouldSchedulePurge(true, [0, 1], 3), 'fewer than N replicas asked');
  t.notOk(shouldSchedulePurge(true, [0, 1, hintedTarget(3, 2)], 3), 'a stand-in holds it as a hint for its owner');
});

t.test('a due purge is sent only while no hint is owed to its replicas or elsewhere, no range moves, and its replicas are still the key\'s N', async (t) => {
  const owed = new Map([[2, 1]]);
  const due = (replicas: number[], currentReplicas: number[], change: { rangesMoving?: boolean; retired?: number[]; others?: number[] } = {}) =>
    shouldSendPurge({ replicas, currentReplicas, hintsOwedTo: (node) => owed.get(node) ?? 0, rangesMoving: change.rangesMoving ?? false, retired: change.retired ?? [], others: change.others ?? [] });
  t.ok(due([0, 1, 3], [3, 0, 1]), 'nothing owed, nothing moving, the same replicas');
  t.notOk(due([0, 1, 2], [0, 1, 2]), 'a hint owed to replica 2 may hold an older version');
  t.notOk(due([0, 1, 3], [0, 1, 3], { rangesMoving: true }), 'a membership change may stream an older version');
  t.ok(due([0, 1, 3], [0, 1, 3], { retired: [5] }), 'a removed node owed nothing');
  t.notOk(due([0, 1, 3], [0, 1, 3], { retired: [2] }), 'hints for a removed node go to the keys’ current replicas: they may hold an older version');
  t.notOk(due([0, 1, 3], [0, 1, 3], { others: [0, 1, 2, 3] }), 'a hint owed to any node may follow its key to these replicas');
  t.notOk(due([0, 1, 3], [4, 1, 3]), 'decided under another ring: node 4 replicates the key now');
});

// Seed 19787 of 'sloppy-membership': n0 held a stranded copy of k0 (a failed
// removal's late copy landed after n0's sweep had dropped it); the tombstone
// was on all N (2, 3, 4) and was purged, and the next sweep brought k0 back.
t.test('a due purge waits until every node outside the key\'s replicas was swept clean since the last membership change ended + grace', async (t) => {
  const graceMs = 150;
  const judge = (swept: Record<number, number | undefined>, changeEndedMs: number, currentReplicas: number[] = [2, 3, 4]) => {
    const state = { nodes: [0, 1, 2, 3, 4], currentReplicas, sweptCleanSinceMs: (node: number) => swept[node], changeEndedMs, graceMs };
    const unswept = nodesToSweepBeforePurge(state);
    return { unswept, ok: unswept.length === 0 };
  };
  const none = Number.NEGATIVE_INFINITY;
  t.same(judge({ 0: 10, 1: 10 }, none), { unswept: [], ok: true }, 'no change ever ran: one clean sweep of each outsider suffices');
  t.same(judge({ 0: 10 }, none), { unswept: [1], ok: false }, 'node 1 never swept clean (a store just opened, or its sweeps failed)');
  t.same(judge({ 0: 300, 1: 500 }, 296), { unswept: [0], ok: false }, 'seed 19787: n0 swept at 300, 4 ms after the failed removal ended: a late copy may land after its scan');
  t.same(judge({ 0: 446, 1: 500 }, 296), { unswept: [], ok: true }, 'a sweep that began grace after the change ended counts');
  t.same(judge({ 0: 445.9, 1: 446 }, 296), { unswept: [0], ok: false }, 'just before: not yet');
  t.same(nodesToSweepBeforePurge({ nodes: [0, 1, 2], currentReplicas: [2, 0, 1], sweptCleanSinceMs: () => undefined, changeEndedMs: 296, graceMs }), [], 'nodes = N: every node replicates the key, none can hold it outside');
  t.same(judge({ 2: undefined, 3: undefined, 4: undefined, 0: 500, 1: 500 }, 296), { unswept: [], ok: true }, 'the key\'s own replicas are not asked for a sweep: they hold the tombstone');
});

t.test('the purge queue: a purge waits out the grace period; one tried again waits only the retry delay, in a queue of its own', async (t) => {
  let nowMs = 0;
  const timers: { atMs: number; run: () => void }[] = [];
  const host = {
    monotonicMs: () => nowMs,
    setTimer: (delayMs: number, run: () => void) => {
      const timer = { atMs: nowMs + delayMs, run };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer: unknown) => void timers.splice(timers.indexOf(timer as (typeof timers)[number]), 1),
  };
  const sent: string[] = [];
  const waitOnce = new Set(['b']);
  const purges: TombstonePurges = new TombstonePurges(1000, host, (key) => {
    const text = String(key);
    if (waitOnce.delete(text)) {
      purges.retry(key, [0, 1, 2], new Uint8Array(0), nowMs);
      return false;
    }
    sent.push(`${text}@${nowMs}`);
    return true;
  }, 100);
  const advance = (toMs: number) => {
    for (;;) {
      timers.sort((a, b) => a.atMs - b.atMs);
      const next = timers[0];
      if (next === undefined || next.atMs > toMs) break;
      timers.shift();
      nowMs = next.atMs;
      next.run();
    }
    nowMs = toMs;
  };
  purges.schedule('a', [0, 1, 2], new Uint8Array(0), 0);
  purges.schedule('b', [0, 1, 2], new Uint8Array(0), 0);
  advance(500);
  purges.schedule('c', [0, 1, 2], new Uint8Array(0), 500);
  advance(5000);
  t.same(sent, ['a@1000', 'b@1100', 'c@1500'], 'b, held back once at 1000, goes 100 ms later, before c (grace ends at 1500)');
  t.equal(purges.purged, 3, 'three sent: b held back once is counted once');
});
