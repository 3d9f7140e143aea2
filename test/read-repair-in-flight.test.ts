/**
 * A read repair is not sent to a replica that a put of the key from this
 * coordinator is still on its way to (lib/store/writes-in-flight.ts): the
 * put brings it up. Once the put settled (here: its copy to that replica
 * dropped and timed out), the next read that finds the replica behind
 * repairs it, as before. Real worker threads and LMDB; the dropped copy is
 * the store's own fault injection. Plus the bookkeeping alone (counts by a
 * slot of the key's hash).
 */
import t from 'tap';
import { WRITES_IN_FLIGHT_SLOTS, WritesInFlight } from '../lib/store/writes-in-flight.js';
import { eventually, openTemp } from './helpers/temp-store.js';

t.test('a replica a put is on its way to is not read-repaired; once the put settled, it is', async (t) => {
  // sloppy: false, so the dropped copy leaves no hint that would bring the replica up instead of the repair.
  const timeoutMs = 6_000;
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, sloppy: false, timeoutMs, antiEntropyIntervalMs: 0 });
  const key = 'in-flight';
  const [, , behind] = store.preferenceList(key) as [number, number, number];
  await store.put(key, 'v1', { w: 3 });

  // The put is acknowledged by the other two; its copy to `behind` is dropped and waits for its deadline.
  store.faults.drop(behind, 1);
  await store.put(key, 'v2');
  store.faults.clear(behind);
  const before = store.stats();
  t.equal(before.timeouts, 0, 'the put has not reached its deadline yet');

  const got = await store.get(key, { r: 3 });
  t.same(got?.siblings, ['v2'], 'a read of all three answers the put');
  let after = store.stats();
  t.equal(after.readRepairs - before.readRepairs, 0, 'no repair sent: the put is still on its way to the replica behind');
  t.equal(after.readRepairsCovered - before.readRepairsCovered, 1, 'the one repair the read decided was covered by the put');
  t.equal(after.nodes[behind]!.replicates, before.nodes[behind]!.replicates, 'nothing more reached the replica behind');

  // The dropped copy times out: the put settles, and the next read repairs the replica still behind.
  t.ok(await eventually(() => store.stats().timeouts > 0, timeoutMs * 3), 'the dropped copy reached its deadline');
  const repairsBefore = store.stats().readRepairs;
  t.same((await store.get(key, { r: 3 }))?.siblings, ['v2']);
  t.ok(await eventually(() => store.stats().readRepairs - repairsBefore === 1, 5_000), `the read repaired node ${behind} (got ${store.stats().readRepairs - repairsBefore})`);
  t.ok(await eventually(() => store.stats().nodes[behind]!.replicates > before.nodes[behind]!.replicates, 5_000), 'the repair reached it');
  // The node counts the REPLICATE before its commit, and a read racing that commit may repair again (store.test's note).
  t.ok(
    await eventually(async () => {
      after = store.stats();
      await store.get(key, { r: 3 });
      return store.stats().readRepairs === after.readRepairs;
    }, 5_000),
    'then every replica agrees: a read finds nothing more to repair',
  );
});

t.test('WritesInFlight: a key is covered while a write of it (or of a key in its slot) is in flight', async (t) => {
  const inFlight = new WritesInFlight();
  const k = 0x1234_abcd;
  const sameSlot = k + WRITES_IN_FLIGHT_SLOTS;
  const other = k + 1;
  t.notOk(inFlight.covers(k), 'nothing in flight');
  inFlight.add(k);
  inFlight.add(k);
  t.equal(inFlight.size, 2);
  t.ok(inFlight.covers(k));
  t.ok(inFlight.covers(sameSlot), 'a key sharing the slot is covered too (its repair deferred)');
  t.notOk(inFlight.covers(other), 'another slot');
  inFlight.remove(k);
  t.ok(inFlight.covers(k), 'one write of the key still in flight');
  inFlight.remove(k);
  t.notOk(inFlight.covers(k), 'both settled');
  t.equal(inFlight.size, 0);
  t.throws(() => inFlight.remove(k), 'a write is removed once');
});
