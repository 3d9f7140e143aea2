/**
 * Failures against real storage-node workers and LMDB: node lifecycle
 * (crash, stop, start), failure detection by heartbeat, sloppy quorum and
 * hinted handoff (Dynamo §4.6), strict quorums, and fault injection.
 */
import t from 'tap';
import { ErrorCode, RingtableError, type Store } from '../lib/index.js';
import { eventually, failsWith, openTemp, outcome } from './helpers/temp-store.js';

/** Keys whose preference list includes `node`, `count` of them. */
function keysOwnedBy(store: Store, node: number, count: number, prefix: string): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < count; i++) if (store.preferenceList(`${prefix}:${i}`).includes(node)) keys.push(`${prefix}:${i}`);
  return keys;
}

const nodeInfo = (store: Store, id: number) => store.nodes().find((node) => node.id === id)!;

t.test('nodes() lists every node up, with keys and no hints', async (t) => {
  const store = await openTemp(t, { nodes: 4 });
  await store.putMany(Array.from({ length: 300 }, (_, i) => [`k:${i}`, i] as const));
  t.ok(await eventually(() => store.nodes().reduce((sum, node) => sum + node.keys, 0) === 900, 3000), 'keys over all nodes = 3 copies of 300');
  const nodes = store.nodes();
  t.same(nodes.map((node) => node.id), [0, 1, 2, 3]);
  t.ok(nodes.every((node) => node.status === 'up' && node.hintsPending === 0 && node.hintsHeld === 0), 'all up, no hints');
  t.throws(() => store.crashNode(7), { code: ErrorCode.INVALID_OPTIONS }, 'crashNode of an unknown node');
  await failsWith(t, () => store.startNode(1), ErrorCode.INVALID_STATE, 'startNode of a node that is up');
  await failsWith(t, () => store.stopNode(-1), ErrorCode.INVALID_OPTIONS, 'stopNode of an unknown node');
});

t.test('sloppy quorum: writes to a crashed node go to stand-ins as hints, and are handed off when it restarts', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 } });
  const down = 2;
  const keys = keysOwnedBy(store, down, 200, 'hinted');
  await store.putMany(keys.map((key) => [key, 'before'] as const));
  store.crashNode(down);
  t.equal(nodeInfo(store, down).status, 'down', 'a crashed node is down at once');
  t.equal(nodeInfo(store, down).reason, 'crashed');

  // W = 3 = N: without stand-ins every one of these would fail.
  await Promise.all(keys.slice(0, 100).map((key) => store.put(key, 'after')));
  await store.putMany(keys.slice(100).map((key) => [key, 'after'] as const));
  await store.delete(keys[0]!);
  t.pass('W = N writes succeed with a node down');
  t.equal(nodeInfo(store, down).hintsPending, keys.length, 'one hint per key is held for the down node');
  const heldBy = store.nodes().filter((node) => node.id !== down);
  t.equal(heldBy.reduce((sum, node) => sum + node.hintsHeld, 0), keys.length, 'the stand-ins hold those hints');
  const readWhileDown = await store.getMany(keys, { r: 3 });
  t.same(readWhileDown.map((result) => result?.value), keys.map((_, i) => (i === 0 ? undefined : 'after')), 'R = N reads see the writes through the stand-ins');

  await store.startNode(down);
  t.equal(nodeInfo(store, down).status, 'up', 'restarted');
  t.ok(await eventually(() => nodeInfo(store, down).hintsPending === 0 && store.stats().hintsDelivered === keys.length, 10_000), 'every hint is handed off and dropped');
  t.equal(store.stats().hintsDelivered, keys.length, 'stats count the delivered hints');
  t.equal(store.stats().handoffErrors, 0);

  // All three owners up again: a read of all three finds them equal, so no repair is needed.
  const repairsBefore = store.stats().readRepairs;
  const after = await store.getMany(keys, { r: 3 });
  t.same(after.map((result) => result?.value), keys.map((_, i) => (i === 0 ? undefined : 'after')), 'the owner holds every write it missed');
  t.ok(await eventually(() => store.stats().background === 0, 3000));
  t.equal(store.stats().readRepairs, repairsBefore, 'the restarted owner needed no read repair: handoff gave it everything');
});

t.test('sloppy: false keeps strict quorums', async (t) => {
  const store = await openTemp(t, { nodes: 4, sloppy: false, replication: { n: 3, r: 2, w: 3 } });
  const down = 1;
  const [key] = keysOwnedBy(store, down, 1, 'strict');
  await store.put(key!, 'v1');
  await store.stopNode(down);
  t.equal(nodeInfo(store, down).status, 'down');
  const error = await failsWith(t, () => store.put(key!, 'v2'), ErrorCode.QUORUM, 'W = 3 with a replica down');
  t.equal(error?.details?.contacted, 3, 'the three owners were the targets');
  t.equal((await store.get(key!, { r: 2 }))?.value, 'v2', 'R = 2 of the two up owners answers; the failed put reached them (a failed quorum is no rollback)');
  t.equal(store.nodes().reduce((sum, node) => sum + node.hintsHeld, 0), 0, 'no hints');
  await store.startNode(down);
  await store.put(key!, 'v3');
  t.equal((await store.get(key!, { r: 3 }))?.value, 'v3', 'the restarted node serves again, on its existing data');
});

t.test('a stopped node keeps its data; a restarted node serves it', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 3 } });
  await store.putMany(Array.from({ length: 100 }, (_, i) => [`s:${i}`, i] as const));
  await store.stopNode(0);
  await store.stopNode(1);
  await store.startNode(0);
  await store.startNode(1);
  await store.stopNode(2);
  await store.stopNode(1);
  // Only node 0 is up: R = 1 reads must come from the data it kept.
  const values = (await store.getMany(Array.from({ length: 100 }, (_, i) => `s:${i}`))).map((result) => result?.value);
  t.same(values, Array.from({ length: 100 }, (_, i) => i), 'every key readable from the one node left');
});

t.test('a paused node is marked down by its stale heartbeat, and up again when it resumes', async (t) => {
  const failureTimeoutMs = 1000;
  const store = await openTemp(t, { nodes: 4, failureTimeoutMs, timeoutMs: 10_000, replication: { n: 3, r: 2, w: 2 } });
  const paused = 3;
  const keys = keysOwnedBy(store, paused, 20, 'paused');
  store.faults.pause(paused);
  const startedMs = Date.now();
  // Sent while the node is paused but not yet marked down: those it was to
  // coordinate wait for the detector, then retry with another coordinator
  // instead of waiting for timeoutMs.
  const puts = Promise.all(keys.map((key) => store.put(key, 'while-paused')));
  t.ok(await eventually(() => nodeInfo(store, paused).status === 'down', 5000, 10), 'marked down');
  const detectedMs = Date.now() - startedMs;
  t.match(nodeInfo(store, paused).reason, /no heartbeat/);
  await puts;
  t.pass(`the puts completed without the paused node (detected after ${detectedMs} ms)`);
  t.ok(detectedMs < 10_000, 'well before the request timeout');
  await Promise.all(keys.map((key) => store.put(key, 'while-down', { w: 3 })));
  t.ok(nodeInfo(store, paused).hintsPending >= keys.length, 'once it is down, W = 3 writes for it go to stand-ins');
  store.faults.resume(paused);
  t.ok(await eventually(() => nodeInfo(store, paused).status === 'up', 5000), 'up again once it heartbeats');
  t.ok(await eventually(() => nodeInfo(store, paused).hintsPending === 0, 10_000), 'and its hints are handed back');
  const values = await store.getMany(keys, { r: 3 });
  t.same(values.map((result) => result?.value), keys.map(() => 'while-down'), 'all three owners hold the writes made while it was down');
});

t.test('fault injection: dropped, duplicated and delayed requests', async (t) => {
  const store = await openTemp(t, { nodes: 4, timeoutMs: 500, replication: { n: 3, r: 2, w: 2 } });
  const node = 0;
  const keys = keysOwnedBy(store, node, 50, 'faulty');

  store.faults.seed(7).duplicate(node, 1);
  await store.putMany(keys.map((key) => [key, 'dup'] as const));
  const duplicated = await store.getMany(keys, { r: 3 });
  t.same(duplicated.map((result) => result?.value), keys.map(() => 'dup'), 'duplicated requests change nothing: writes merge idempotently');
  t.ok(await eventually(() => store.stats().nodes.every((n) => n.queueDepth === 0), 3000), 'the duplicates\u2019 answers are consumed');

  store.faults.clear(node).delay(node, { minMs: 1, maxMs: 40 });
  for (const key of keys.slice(0, 10)) {
    const context = (await store.get(key, { r: 3 }))!.context;
    await store.put(key, 'delayed', { context });
  }
  const delayed = await store.getMany(keys.slice(0, 10), { r: 3 });
  t.same(delayed.map((result) => result?.siblings), keys.slice(0, 10).map(() => ['delayed']), 'delayed and reordered requests converge');

  store.faults.clear(node).drop(node, 1);
  await store.put(keys[20]!, 'w2');
  t.pass('W = 2 is met without the node whose requests are dropped');
  const dropped = await outcome(() => store.put(keys[21]!, 'w3', { w: 3 }));
  t.ok(!dropped.ok && dropped.error instanceof RingtableError && dropped.error.code === ErrorCode.TIMEOUT, 'W = 3 times out: the node is up (it heartbeats) but never gets the request');
  t.equal(nodeInfo(store, node).status, 'up', 'a lossy link is not a dead node');
  store.faults.clear();
  t.equal((await store.get(keys[21]!, { r: 3 }))?.value, 'w3', 'the timed-out write reached the other replicas (a timeout is not a rollback)');

  t.throws(() => store.faults.drop(node, 1.5), { code: ErrorCode.INVALID_OPTIONS }, 'probability outside [0, 1]');
  t.throws(() => store.faults.delay(node, { minMs: 10, maxMs: 5 }), { code: ErrorCode.INVALID_OPTIONS }, 'maxMs below minMs');
  t.throws(() => store.faults.pause(42), { code: ErrorCode.INVALID_OPTIONS }, 'unknown node');
});
