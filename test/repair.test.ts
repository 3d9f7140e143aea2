/**
 * store.repair(): Merkle anti-entropy (Dynamo §4.7) end to end, against real
 * nodes: a replica that silently missed writes is found and repaired, and
 * only the keys that differ are touched.
 */
import t from 'tap';
import { eventually, openTemp } from './helpers/temp-store.js';

t.test('repair() finds and fixes exactly the keys a replica missed', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, antiEntropyIntervalMs: 0 });
  const keys = Array.from({ length: 2000 }, (_, i) => `ae:${i}`);
  await store.putMany(keys.map((key) => [key, 'v1'] as const));
  const clean = await store.repair();
  t.equal(clean.keysRepaired, 0, 'a converged store needs no repair');
  t.equal(clean.keysCompared, 3 * keys.length, 'every copy of every key was compared');

  // Node 1 silently misses these writes: its link drops them, while it stays up (no hints).
  const lagging = 1;
  store.faults.seed(3).drop(lagging, 1);
  // Not coordinated by it: its dropped PUT would never be answered (a timeout, not a quiet miss).
  const rewritten = keys.filter((key, i) => i % 4 === 0 && store.preferenceList(key)[0] !== lagging);
  await store.putMany(rewritten.map((key) => [key, 'v2'] as const));
  store.faults.clear();
  const missed = rewritten.filter((key) => store.preferenceList(key).includes(lagging));
  t.ok(missed.length > 50, `${missed.length} rewritten keys have node ${lagging} as a replica`);

  const repaired = await store.repair();
  t.equal(repaired.keysRepaired, missed.length, 'exactly the keys the lagging node missed are repaired');
  t.equal(repaired.replicasRepaired, missed.length, 'one copy each: only the lagging replica was rewritten');
  t.ok(repaired.leavesDiffering > 0 && repaired.leavesDiffering <= missed.length, `${repaired.leavesDiffering} differing leaves listed`);
  t.equal((await store.repair()).keysRepaired, 0, 'a second pass finds nothing left');
  const all = await store.getMany(missed, { r: 3 });
  t.same(all.map((result) => result?.siblings), missed.map(() => ['v2']), 'all three replicas agree on the new value');
  t.equal(store.stats().antiEntropy.passes, 3, 'three passes counted');
  t.equal(store.stats().antiEntropy.keysRepaired, missed.length);
});

t.test('anti-entropy runs periodically, and a node restarts while the pool has run', async (t) => {
  const store = await openTemp(t, { nodes: 4, antiEntropyIntervalMs: 200 });
  await store.putMany(Array.from({ length: 200 }, (_, i) => [`p:${i}`, i] as const));
  t.ok(await eventually(() => store.stats().antiEntropy.passes >= 2, 20_000), 'passes run on the interval');
  await store.stopNode(2);
  await store.startNode(2);
  await store.put('p:after', 'ok', { w: 3 });
  t.equal((await store.get('p:after', { r: 3 }))?.value, 'ok', 'the restarted node writes (its environment is not read-only)');
});
