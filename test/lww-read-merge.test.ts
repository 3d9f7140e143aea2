/**
 * A read in a 'lww' store answers the merge of its replicas as each replica
 * settles it (lastWriterWins): a delete newer than a put that its
 * coordinating node never saw hides the put, though the two are concurrent
 * in the merge. Before (coordinator.ts toResult), the newest live value was
 * answered and the newer tombstone skipped: the deleted value came back
 * (found by the simulation's lww resurrection check, seed 228 of
 * `long-run.js --seeds 300`). Real node threads and LMDB.
 */
import t from 'tap';
import type { VersionedObject } from '../lib/version/dotted-version-vector.js';
import { actorOf } from '../lib/version/actor.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { openTemp } from './helpers/temp-store.js';
import { replicateTo } from './helpers/replica-objects.js';

/** One value of a foreign actor (a node slot no node has), written at `timestampMs`. */
function written(epoch: number, timestampMs: number, tombstone: boolean): VersionedObject {
  const sibling = { value: encodeValue(tombstone ? null : `v${epoch}`, 1 << 20), timestampMs, expiresAtMs: 0, tombstone };
  return { entries: [{ actor: actorOf(900, epoch), counter: 1, timestampMs, siblings: [sibling] }] };
}

for (const r of [2, 3]) {
  t.test(`R = ${r}: a concurrent newer delete hides an older put on the replica it never reached`, async (t) => {
    const store = await openTemp(t, { nodes: 3, replication: { n: 3, r, w: 2 }, conflicts: 'lww', readPath: 'messages', readFanout: 'all' });
    const nowMs = Date.now();
    const [a, b, c] = Array.from(store.preferenceList('k'));
    t.equal(await replicateTo(store, a!, 'k', written(1, nowMs - 1000, false)), 'OK');
    t.equal(await replicateTo(store, b!, 'k', written(2, nowMs - 500, true)), 'OK');
    t.equal(await replicateTo(store, c!, 'k', written(2, nowMs - 500, true)), 'OK');
    t.equal(await store.get('k'), undefined, 'the newer delete wins');
  });
}
