/** The tombstone purge rule (lib/store/purge-rule.ts), as pure functions. */
import t from 'tap';
import { hintedTarget } from '../lib/ring/sloppy-quorum.js';
import { shouldSchedulePurge, shouldSendPurge } from '../lib/store/purge-rule.js';

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
