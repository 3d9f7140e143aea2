/**
 * Anti-entropy against real LMDB environments written by a real Store, with
 * the scans on a real piscina pool: a replica left behind is built through
 * the on-disk layout (one environment per node under `<path>/node-<id>/`),
 * as the read-repair tests in store.test.ts do: write everywhere, snapshot
 * one node's directory, write more, restore the snapshot.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { open } from 'lmdb';
import { AntiEntropy, type CompareResult } from '../lib/anti-entropy/anti-entropy.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { Ring } from '../lib/ring/ring.js';
import { preferenceList } from '../lib/ring/preference-list.js';
import { update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { eventually, openAt, tempDir, type StoreSetup } from './helpers/temp-store.js';

const SETUP: StoreSetup = { nodes: 4, replication: { n: 3, r: 2, w: 3 } };
const N = 3;
const ALL_NODES = [0, 1, 2, 3];
/** The node restored from a snapshot: it misses the second round of writes. */
const BEHIND = 1;

const KEY_COUNT = 2000;

interface Diverged {
  path: string;
  ring: Ring;
  /** Keys that BEHIND holds stale or not at all. */
  diverged: string[];
  /** Keys that exist after both rounds (each on N replicas, BEHIND's copy stale or missing for some). */
  keyCount: number;
  /** How many of `diverged` BEHIND does not hold at all. */
  missingOnBehind: number;
  /** A key stored only on a node outside its preference list (left over or hinted). */
  strayKey: string;
  strayNode: number;
}

function readRing(path: string): Ring {
  return Ring.fromJSON(JSON.parse(fs.readFileSync(join(path, 'ring.json'), 'utf8')));
}

function replicasOf(ring: Ring, key: string): number[] {
  return preferenceList(ring, ring.partitionOf(hashKey32(key)), N);
}

/** Write one encoded object straight into a node's `objects`, as the node would store it. */
async function writeDirect(path: string, nodeId: number, key: string, bytes: Uint8Array): Promise<void> {
  const root = open({ path: join(path, `node-${nodeId}`), maxDbs: 4, noSync: true, mapSize: 2 ** 30, encoding: 'binary', keyEncoding: 'binary', cache: false });
  const objects = root.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
  root.transactionSync(() => objects.putSync(Buffer.from(key), bytes as Buffer));
  await root.close();
}

/**
 * Write KEY_COUNT keys everywhere; `whileConverged` runs with the store open
 * and again after it closed. Then snapshot BEHIND, write a second round,
 * restore the snapshot, and plant a stray key on a node outside its list.
 */
async function buildDiverged(t: Test, whileConverged: (path: string, state: 'open' | 'closed') => Promise<void>): Promise<Diverged> {
  const path = tempDir(t);
  const snapshot = join(tempDir(t), 'snapshot');
  const first = await openAt(t, path, SETUP);
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `key:${i}`);
  await first.putMany(keys.map((key, i) => [key, { round: 1, i }] as const));
  await whileConverged(path, 'open');
  await first.close();
  await whileConverged(path, 'closed');
  const ring = readRing(path);
  fs.cpSync(join(path, `node-${BEHIND}`), snapshot, { recursive: true });

  const second = await openAt(t, path, SETUP);
  const onBehind = (key: string) => replicasOf(ring, key).includes(BEHIND);
  const updated = keys.filter(onBehind).slice(0, 40);
  const added = Array.from({ length: 400 }, (_, i) => `new:${i}`).filter(onBehind).slice(0, 15);
  const updatedElsewhere = keys.filter((key) => !onBehind(key)).slice(0, 30);
  await second.putMany([...updated, ...added, ...updatedElsewhere].map((key) => [key, { round: 2 }] as const));
  await second.close();
  fs.rmSync(join(path, `node-${BEHIND}`), { recursive: true, force: true });
  fs.cpSync(snapshot, join(path, `node-${BEHIND}`), { recursive: true });

  const strayKey = 'stray:0';
  const strayNode = ALL_NODES.find((nodeId) => !replicasOf(ring, strayKey).includes(nodeId))!;
  await writeDirect(path, strayNode, strayKey, encodeObject(update(undefined, [], { value: new Uint8Array([1]), timestampMs: 1, expiresAtMs: 0, tombstone: false }, 1024 + strayNode)));
  return { path, ring, diverged: [...updated, ...added].sort(), keyCount: KEY_COUNT + added.length, missingOnBehind: added.length, strayKey, strayNode };
}

function differingKeys(result: CompareResult): { key: string; replicas: number[] }[] {
  return result.differing.map((d) => ({ key: Buffer.from(d.key).toString(), replicas: d.replicas })).sort((a, b) => (a.key < b.key ? -1 : 1));
}

function expectAll(keys: readonly string[], replicas: number[]): { key: string; replicas: number[] }[] {
  return keys.map((key) => ({ key, replicas })).sort((a, b) => (a.key < b.key ? -1 : 1));
}

t.test('anti-entropy over real LMDB environments', async (t) => {
  let antiEntropy: AntiEntropy | undefined;
  t.teardown(() => antiEntropy?.close());
  const setup = await buildDiverged(t, async (path, state) => {
    antiEntropy ??= AntiEntropy.create({ path, threadsMax: 2 });
    const result = await antiEntropy.compare({ ring: readRing(path), n: N, nodeIds: ALL_NODES });
    t.same(result.differing, [], `converged, store ${state}: no difference`);
    t.equal(result.keysCompared, N * KEY_COUNT, `converged, store ${state}: N copies of every key`);
    t.equal(result.keysListed, 0, `converged, store ${state}: nothing listed`);
    t.equal(result.treeNodesCompared, result.partitionsCompared * (N - 1), `converged, store ${state}: each exchange compares only the roots`);
  });
  const { path, ring, diverged } = setup;
  const compare = (nodeIds = ALL_NODES) => antiEntropy!.compare({ ring, n: N, nodeIds });
  t.ok(diverged.length >= 40, `${diverged.length} keys diverged on node ${BEHIND}`);

  t.test('store closed: exactly the diverged keys, each with the replica left behind', async (t) => {
    const result = await compare();
    t.same(differingKeys(result), expectAll(diverged, [BEHIND]));
    t.equal(result.keysCompared, N * setup.keyCount - setup.missingOnBehind, 'every live copy in compared partitions');
    t.equal(result.keysOutsideReplicas, 1, 'the stray key is counted');
    t.notOk(result.differing.some((d) => Buffer.from(d.key).toString() === setup.strayKey), 'and not reported');
    t.equal(result.partitionsCompared, ring.partitionCount, 'every partition');
    t.ok(result.leavesDiffering >= 1 && result.leavesDiffering <= diverged.length, `${result.leavesDiffering} leaves differ`);
    t.ok(result.keysListed < (N * setup.keyCount) / 4, `only differing leaves are listed (${result.keysListed} copies)`);
    t.same(result.nodesMissing, [], 'no node is missing');
    t.equal(result.truncated, false, 'not truncated');
  });

  t.test('one node left out of nodeIds', async (t) => {
    const other = ALL_NODES.find((nodeId) => nodeId !== BEHIND)!;
    const withoutOther = await compare(ALL_NODES.filter((nodeId) => nodeId !== other));
    t.same(differingKeys(withoutOther), expectAll(diverged, [BEHIND]), `without node ${other}: still every diverged key (two replicas remain)`);
    t.ok(withoutOther.keysCompared < N * setup.keyCount, 'fewer copies compared');
    const withoutBehind = await compare(ALL_NODES.filter((nodeId) => nodeId !== BEHIND));
    t.same(differingKeys(withoutBehind), [], `without node ${BEHIND}: the remaining replicas agree`);
  });

  t.test('store open: while the nodes write, then with one crashed', async (t) => {
    const store = await openAt(t, path, SETUP);
    const live = Array.from({ length: 1000 }, (_, i) => `live:${i}`);
    let writing = true;
    const writer = (async () => {
      for (let round = 0; writing && round < 40; round++) {
        const at = (round * 100) % live.length;
        await store.putMany(live.slice(at, at + 100).map((key) => [key, round] as const), { w: 1 });
      }
    })();
    const during = await compare();
    writing = false;
    await writer;
    const reported = new Set(differingKeys(during).map((d) => d.key));
    t.same(diverged.filter((key) => !reported.has(key)), [], 'while writing: no diverged key is missed');
    const allowed = new Set([...diverged, ...live]);
    t.same([...reported].filter((key) => !allowed.has(key)), [], 'while writing: no other key is reported');

    t.ok(await eventually(() => store.stats().background === 0, 20_000), 'the W = 1 writes reach every replica');
    const crashed = ALL_NODES.find((nodeId) => nodeId !== BEHIND)!;
    store.crashNode(crashed);
    const afterCrash = await compare();
    t.same(differingKeys(afterCrash), expectAll(diverged, [BEHIND]), `node ${crashed} crashed: exactly the diverged keys, its data still read`);
    await store.close();
  });

  t.test('read repair of the reported keys converges the store', async (t) => {
    const before = await compare();
    const store = await openAt(t, path, SETUP);
    for (const { key } of before.differing) await store.get(key, { r: N });
    await store.close(); // waits for the repairs in flight
    const after = await compare();
    t.same(differingKeys(after), [], `no differences after read repair of ${before.differing.length} keys`);
    t.equal(after.leavesDiffering, 0, 'every tree agrees');
  });
});

t.test('a wiped node holds nothing; listings and results are bounded', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, SETUP);
  const keys = Array.from({ length: 500 }, (_, i) => `w${i}`);
  await store.putMany(keys.map((key) => [key, 1] as const));
  await store.close();
  const ring = readRing(path);
  const wiped = 3;
  fs.rmSync(join(path, `node-${wiped}`), { recursive: true, force: true });

  const passes = AntiEntropy.create({ path, threadsMax: 1, keysListedMax: 100 });
  t.teardown(() => passes.close());
  const result = await passes.compare({ ring, n: N, nodeIds: ALL_NODES });
  t.same(result.nodesMissing, [wiped], 'the node is reported missing');
  t.same(differingKeys(result), expectAll(keys.filter((key) => replicasOf(ring, key).includes(wiped)), [wiped]), 'every key it replicates, in listing passes of at most 100 keys');
  t.notOk(fs.existsSync(join(path, `node-${wiped}`)), 'no directory was created');

  const bounded = AntiEntropy.create({ path, threadsMax: 1, differingMax: 10, keysListedMax: 20 });
  t.teardown(() => bounded.close());
  const truncated = await bounded.compare({ ring, n: N, nodeIds: ALL_NODES });
  t.equal(truncated.truncated, true, 'differingMax: truncated');
  t.equal(truncated.differing.length, 10, 'at most differingMax keys');
  t.ok(truncated.differing.every((d) => d.replicas.length === 1 && d.replicas[0] === wiped), 'each with the wiped node to repair');
});

t.test('a node started while compares run: withEnvsReleased keeps it from joining a read-only environment', async (t) => {
  const path = tempDir(t);
  const first = await openAt(t, path, SETUP);
  await first.putMany(Array.from({ length: 2000 }, (_, i) => [`s${i}`, i] as const));
  await first.close();
  const ring = readRing(path);
  const antiEntropy = AntiEntropy.create({ path, threadsMax: 2 });
  t.teardown(() => antiEntropy.close());
  const compares = Array.from({ length: 2 }, () => antiEntropy.compare({ ring, n: N, nodeIds: ALL_NODES }));
  const store = await antiEntropy.withEnvsReleased(() => openAt(t, path, SETUP));
  await store.put('after-open', 'written'); // W = 3: every replica of the key writes
  t.equal((await store.get('after-open', { r: N }))?.value, 'written', 'the nodes opened read-write');
  for (const result of await Promise.all(compares)) t.same(result.differing, [], 'and the compares completed');
  await store.close();
});
