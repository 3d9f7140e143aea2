/**
 * Anti-entropy compare time: Merkle trees of every node's partitions on a
 * piscina pool, then key listings of the differing leaves.
 *
 *   npm run bench:anti-entropy
 *   node dist/bench/anti-entropy.bench.js --keys 1m --rounds 3
 *
 * Preloads `--keys` keys (the benchmark data set: 16 B keys, 100 B values)
 * with W = N, so every replica holds every key, and closes the store. Then,
 * interleaved per round:
 *   - converged, store closed: a compare that finds nothing;
 *   - diverged, store closed: after `--diverge` keys were rewritten straight
 *     into one node's environment (another actor's dot, as a write that
 *     reached only that replica would leave), a compare that must report
 *     exactly those keys;
 *   - converged, store open (nodes running, idle): a compare beside the
 *     nodes' own environments.
 * One op = one key copy compared (keys × N per compare).
 */
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { Store, type StoreOptions } from '../lib/index.js';
import { AntiEntropy, type CompareResult } from '../lib/anti-entropy/anti-entropy.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { Ring } from '../lib/ring/ring.js';
import { preferenceList } from '../lib/ring/preference-list.js';
import { update } from '../lib/version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { makeDataSet } from './lib/data.js';
import { type Run, formatSeconds, interleave, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('node dist/bench/anti-entropy.bench.js', 'Anti-entropy compare time over a preloaded store (store closed and open).', {
  keys: int(100_000, 'keys preloaded (each on N replicas)'),
  diverge: int(100, 'keys rewritten on one replica for the diverged compare', 0),
  rounds: int(3, 'interleaved rounds'),
  nodes: int(4, 'storage nodes'),
  n: int(3, 'replicas per key (N)'),
  vnodes: int(256, 'tokens per node'),
  threads: int(2, 'anti-entropy pool threads'),
  leafBits: int(8, 'leaves per partition tree: 2^leafBits', 0),
  durability: choice('none', ['none', 'async', 'sync'] as const, 'durability of the preload'),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

const PRELOAD_BATCH = 10_000;
/** W = N on a shared 2-core machine: a batch of 10,000 can wait on the slowest replica for seconds. */
const PRELOAD_TIMEOUT_MS = 120_000;
/** Actor of the rewrites: epoch 2^30 of the diverged node, far from any epoch the nodes use. */
const REWRITE_EPOCH = 2 ** 30;

async function preload(storeOptions: StoreOptions, keys: Uint8Array[], values: Uint8Array[]): Promise<void> {
  const store = await Store.open(storeOptions);
  for (let at = 0; at < keys.length; at += PRELOAD_BATCH) {
    const end = Math.min(keys.length, at + PRELOAD_BATCH);
    await store.putMany(Array.from({ length: end - at }, (_, i) => [keys[at + i]!, values[at + i]!] as const), { w: args.n });
  }
  await store.close();
}

/** Rewrite `count` keys that `nodeId` replicates, in its environment only; returns them. */
async function diverge(storePath: string, ring: Ring, nodeId: number, keys: Uint8Array[], count: number): Promise<Set<string>> {
  const root = open({ path: path.join(storePath, `node-${nodeId}`), maxDbs: 4, noSync: true, mapSize: 2 ** 30, encoding: 'binary', keyEncoding: 'binary', cache: false });
  const objects = root.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
  const rewritten = new Set<string>();
  root.transactionSync(() => {
    for (const key of keys) {
      if (rewritten.size >= count) break;
      if (!preferenceList(ring, ring.partitionOf(hashKey32(key)), args.n).includes(nodeId)) continue;
      const stored = objects.getBinary(key as Buffer)!;
      const sibling = { value: new Uint8Array([0xc0]), timestampMs: 1, expiresAtMs: 0, tombstone: false };
      const next = update(decodeObject(Uint8Array.prototype.slice.call(stored)), [], sibling, REWRITE_EPOCH * 1024 + nodeId);
      objects.putSync(key as Buffer, encodeObject(next) as Buffer);
      rewritten.add(Buffer.from(key).toString('hex'));
    }
  });
  await root.close();
  return rewritten;
}

function describe(result: CompareResult): string {
  return `scan ${formatSeconds(result.scanMs / 1000)}, trees + listing ${formatSeconds(result.listMs / 1000)}, ${result.keysCompared} copies, ${result.leavesDiffering} leaves differ, ${result.keysListed} copies listed, ${result.differing.length} keys differ, ${result.treeNodesCompared} tree nodes compared`;
}

async function main(): Promise<void> {
  const env = environment();
  const parent = makeTempDir('ringtable-anti-entropy-', args.dir);
  const storePath = path.join(parent, 'store');
  const storeOptions: StoreOptions = { path: storePath, nodes: args.nodes, vnodes: args.vnodes, replication: { n: args.n, r: Math.min(2, args.n), w: args.n }, durability: args.durability, timeoutMs: PRELOAD_TIMEOUT_MS };
  const report: Report = {
    benchmark: 'anti-entropy compare',
    command: commandLine('anti-entropy.bench.js'),
    measured: `AntiEntropy.compare over ${args.keys} keys × N=${args.n} copies on ${args.nodes} nodes (piscina pool of ${args.threads} threads, leafBits ${args.leafBits}); converged and with ${args.diverge} keys diverged on one node, store closed; converged with the store open; interleaved runs, median reported`,
    environment: env,
    config: { keys: args.keys, diverge: args.diverge, rounds: args.rounds, threads: args.threads, leafBits: args.leafBits, seed: args.seed },
    storeOptions: { ...storeOptions, path: undefined },
    phases: {},
    figures: [],
    ratios: [],
    notes: [],
  };
  const data = makeDataSet(args.keys, args.seed);
  const preloadRun = await timed(args.keys, () => preload(storeOptions, data.keys, data.values));
  report.phases.preload = `${formatSeconds(preloadRun.seconds)} (putMany, W=N)`;
  const ring = Ring.fromJSON(JSON.parse(fs.readFileSync(path.join(storePath, 'ring.json'), 'utf8')));
  const divergedNode = ring.nodeIds()[1 % ring.nodeIds().length]!;
  const antiEntropy = AntiEntropy.create({ path: storePath, threadsMax: args.threads, leafBits: args.leafBits });
  const input = { ring, n: args.n, nodeIds: ring.nodeIds() };
  const copies = args.keys * args.n;
  let rewritten = new Set<string>();
  const compareRun = async (name: string, check: (result: CompareResult) => void): Promise<Run> => {
    await settle();
    let result: CompareResult | undefined;
    const run = await timed(copies, async () => {
      result = await antiEntropy.compare(input);
    });
    check(result!);
    report.notes.push(`${name}: ${describe(result!)}`);
    return run;
  };
  // interleave rotates the order every round, so no variant may count on the
  // one before it: each first repairs the divergence left by the last
  // 'diverged' run (reading every rewritten key at R = N read-repairs it).
  const converge = async (store: Store): Promise<void> => {
    if (rewritten.size === 0) return;
    for (const key of rewritten) await store.get(Buffer.from(key, 'hex'), { r: args.n });
    rewritten = new Set();
    await new Promise((resolve) => setTimeout(resolve, 500)); // read repairs land
  };
  const convergeClosed = async (): Promise<void> => {
    if (rewritten.size === 0) return;
    const store = await antiEntropy.withEnvsReleased(() => Store.open(storeOptions));
    await converge(store);
    await store.close();
  };
  const runs = await interleave(args.rounds, [
    {
      name: 'converged, store closed',
      run: async () => {
        await convergeClosed();
        return compareRun('converged, store closed', (result) => expectDiffering(result, 0));
      },
    },
    {
      name: 'diverged, store closed',
      run: async () => {
        await convergeClosed();
        rewritten = await diverge(storePath, ring, divergedNode, data.keys, args.diverge);
        return compareRun('diverged, store closed', (result) => expectDiffering(result, rewritten.size));
      },
    },
    {
      name: 'converged, store open',
      run: async () => {
        const store = await antiEntropy.withEnvsReleased(() => Store.open(storeOptions));
        await converge(store);
        const run = await compareRun('converged, store open', (result) => expectDiffering(result, 0));
        await store.close();
        return run;
      },
    },
  ]);
  for (const [name, variantRuns] of runs) report.figures.push(figure(name, 'one key copy compared (a compare is keys × N copies)', variantRuns));
  await antiEntropy.close();
  removeTempDir(parent);
  finishReport(report, args.json);
}

function expectDiffering(result: CompareResult, expected: number): void {
  if (result.differing.length !== expected) throw new Error(`expected ${expected} differing keys, found ${result.differing.length}`);
}

await main();
