/**
 * Ownership handoff against real storage nodes (issue 9's critical finding,
 * ../shared/reliability-findings.md §1): replicas that are down while nodes
 * join keep their data of the ranges that moved; when they come back they
 * must hand it to the keys' current replicas, and hints for them must follow
 * the keys too. The findings' two scripts, cut down (fewer keys, still
 * failing on the code before the fix), assert that no acknowledged key is
 * missing after heal, handoff and repair().
 */
import t from 'tap';
import type { Store } from '../lib/index.js';
import { eventually, openAt, tempDir } from './helpers/temp-store.js';

const HANDOFF_WAIT_MS = 30_000;

async function handedOff(store: Store): Promise<boolean> {
  return eventually(() => store.nodes().every((node) => node.hintsPending === 0), HANDOFF_WAIT_MS);
}

/** Keys with no live value at R = N, each with its preference list (what the findings print). */
async function missingKeys(store: Store, keys: string[], r: number): Promise<string[]> {
  const got = await store.getMany(keys, { r });
  return keys.flatMap((key, i) => (got[i] === undefined ? [`${key}@[${store.preferenceList(key).join(',')}]`] : []));
}

t.test('N=3: crash three of six nodes, overwrite every key, add six nodes, heal: no acknowledged key is missing', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 6, durability: 'none', antiEntropyIntervalMs: 0 });
  const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
  await store.putMany(keys.map((k) => [k, 'v0']));
  for (const id of [0, 1, 2]) store.crashNode(id);
  await store.putMany(keys.map((k) => [k, 'v1'])); // every put met W = 2
  for (let i = 0; i < 6; i++) await store.addNode(); // nodes 0-2 still down
  for (const id of [0, 1, 2]) await store.startNode(id);
  t.ok(await handedOff(store), 'every hint handed off');
  await store.repair();
  const missing = await missingKeys(store, keys, 3);
  t.same(missing, [], `${missing.length} of ${keys.length} acknowledged keys missing`);
  const got = await store.getMany(keys, { r: 3 });
  const notV1 = keys.filter((_, i) => !got[i]?.siblings.includes('v1'));
  t.same(notV1, [], 'every key reads its acknowledged overwrite v1');
  t.ok(store.stats().nodes.length === 12, 'twelve nodes');
});

t.test('N=1: crash a node, write, add a node, restart it: its keys and hints reach their new owner', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 3, replication: { n: 1, r: 1, w: 1 }, durability: 'none', antiEntropyIntervalMs: 0 });
  const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`);
  await store.putMany(keys.map((k) => [k, 'v0']));
  store.crashNode(0);
  await store.putMany(keys.map((k) => [k, 'v1'])); // node 0's keys go to stand-ins as hints
  await store.addNode();
  await store.startNode(0);
  t.ok(await handedOff(store), 'every hint handed off');
  await store.repair();
  const missing = await missingKeys(store, keys, 1);
  t.same(missing, [], `${missing.length} of ${keys.length} acknowledged keys missing`);
  const got = await store.getMany(keys, { r: 1 });
  const notV1 = keys.filter((_, i) => !got[i]?.siblings.includes('v1'));
  t.same(notV1, [], 'every key reads its acknowledged overwrite v1');
});

t.test('N=1: the data a restarted node holds outside its ranges moves on its start, without repair()', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 3, replication: { n: 1, r: 1, w: 1 }, durability: 'none', antiEntropyIntervalMs: 0 });
  const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`);
  await store.putMany(keys.map((k) => [k, 'v0']));
  store.crashNode(0); // node 0 holds a third of the keys, nobody else does (N = 1)
  await store.addNode(); // node 3 takes some of node 0's ranges, copied from nobody
  await store.startNode(0);
  const whole = await eventually(async () => (await missingKeys(store, keys, 1)).length === 0, HANDOFF_WAIT_MS, 100);
  const missing = await missingKeys(store, keys, 1);
  t.ok(whole, 'every key readable once node 0 handed over what it no longer owns');
  t.same(missing, [], `${missing.length} of ${keys.length} acknowledged keys missing`);
});

t.test('removeNode of a node that is down starts it first, so its data is handed over', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 3, replication: { n: 1, r: 1, w: 1 }, durability: 'none', antiEntropyIntervalMs: 0 });
  const keys = Array.from({ length: 900 }, (_, i) => `k${i}`);
  await store.putMany(keys.map((k) => [k, 'v0']));
  store.crashNode(1); // its keys exist only on it
  await store.removeNode(1);
  const missing = await missingKeys(store, keys, 1);
  t.same(missing, [], `${missing.length} of ${keys.length} acknowledged keys missing`);
  t.notOk(store.nodes().some((node) => node.id === 1), 'node 1 left');
});
