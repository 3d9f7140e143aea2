/**
 * Actor encoding (node id and epoch in one safe integer): pure units. The
 * behaviour it protects — no dot minted twice after a purge or an expiry — is
 * tested against real nodes in store.test.ts.
 */
import t from 'tap';
import { ACTOR_NODE_RANGE, EPOCH_MAX, actorOf, epochOfActor, nodeOfActor } from '../lib/version/actor.js';

t.test('actorOf round-trips node and epoch, and distinct pairs give distinct actors', async (t) => {
  const seen = new Set<number>();
  for (const nodeId of [0, 1, 7, ACTOR_NODE_RANGE - 1]) {
    for (const epoch of [0, 1, 2, 1_000_003, EPOCH_MAX]) {
      const actor = actorOf(nodeId, epoch);
      t.ok(Number.isSafeInteger(actor), `actor(${nodeId}, ${epoch}) is a safe integer`);
      t.equal(nodeOfActor(actor), nodeId);
      t.equal(epochOfActor(actor), epoch);
      t.notOk(seen.has(actor), 'no two (node, epoch) pairs share an actor');
      seen.add(actor);
    }
  }
});

t.test('a later epoch of the same node is a different, larger actor', async (t) => {
  t.ok(actorOf(3, 6) > actorOf(3, 5));
  t.not(actorOf(3, 6), actorOf(4, 6));
});

t.test('out-of-range node ids and epochs are programmer errors', async (t) => {
  t.throws(() => actorOf(ACTOR_NODE_RANGE, 0));
  t.throws(() => actorOf(-1, 0));
  t.throws(() => actorOf(0, EPOCH_MAX + 1));
  t.throws(() => actorOf(0, 1.5));
});
