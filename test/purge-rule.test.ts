/** The tombstone purge rule (lib/store/purge-rule.ts), as pure functions. */
import t from 'tap';
import { hintedTarget } from '../lib/ring/replica-target.js';
import { shouldSchedulePurge, shouldSendPurge } from '../lib/store/purge-rule.js';

t.test('a purge is scheduled only when all N own replicas hold the tombstone', async (t) => {
  t.ok(shouldSchedulePurge(true, [0, 1, 2], 3), 'all N, none a stand-in');
  t.notOk(shouldSchedulePurge(false, [0, 1, 2], 3), 'not a tombstone on every replica asked');
  t.notOk(shouldSchedulePurge(true, [0, 1], 3), 'fewer than N replicas asked');
  t.notOk(shouldSchedulePurge(true, [0, 1, hintedTarget(3, 2)], 3), 'a stand-in holds it as a hint for its owner');
});

t.test('a due purge is sent only while no hint is owed to its replicas and no range moves', async (t) => {
  const owed = new Map([[2, 1]]);
  const hintsOwedTo = (node: number) => owed.get(node) ?? 0;
  t.ok(shouldSendPurge([0, 1, 3], [3, 0, 1], hintsOwedTo, false, []), 'nothing owed, nothing moving, the same replicas');
  t.notOk(shouldSendPurge([0, 1, 2], [0, 1, 2], hintsOwedTo, false, []), 'a hint owed to replica 2 may hold an older version');
  t.notOk(shouldSendPurge([0, 1, 3], [0, 1, 3], hintsOwedTo, true, []), 'a membership change may stream an older version');
  t.ok(shouldSendPurge([0, 1, 3], [0, 1, 3], hintsOwedTo, false, [5]), 'a removed node owed nothing');
  t.notOk(shouldSendPurge([0, 1, 3], [0, 1, 3], hintsOwedTo, false, [2]), 'hints for a removed node go to the keys’ current replicas: they may hold an older version');
  t.notOk(shouldSendPurge([0, 1, 3], [4, 1, 3], hintsOwedTo, false, []), 'decided under another ring: node 4 replicates the key now');
});
