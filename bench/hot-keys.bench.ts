/**
 * Hot keys (issue 15 target 5): YCSB-B (95% reads, 5% blind updates) with
 * plain zipfian 0.99 against the same with uniform keys, on ONE store in ONE
 * process, in interleaved phases, so that a loaded machine slows both alike
 * and their ratio means something:
 *
 *   node dist/bench/hot-keys.bench.js
 *   node dist/bench/hot-keys.bench.js --hot-key-cache 1024 --read-balance least-loaded --rounds 4
 *
 * Each phase runs `--concurrency` closed-loop clients for `--phase-ms`,
 * uniform and zipfian alternating (the first of each round alternates too),
 * and reports operations per second and the node load imbalance (max/mean of
 * the requests each node thread served in the phase, as `ringtable bench`
 * counts them: gets, puts and replicates). Keys are YCSB's hashed names
 * (bench/ycsb/key-name.ts), so hot keys land on random ring positions;
 * values are `--value-bytes` random bytes; the streams are seeded.
 */
import os from 'node:os';
import { Store } from '../lib/index.js';
import { Prng } from '../lib/prng.js';
import { keyName } from './ycsb/key-name.js';
import { ZipfianGenerator } from './ycsb/zipfian.js';
import { choice, int, parseOptions } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('node dist/bench/hot-keys.bench.js', 'YCSB-B plain zipfian 0.99 against uniform, interleaved phases on one store: throughput ratio and node load imbalance.', {
  records: int(100_000, 'records loaded'),
  'value-bytes': int(1000, 'bytes per value'),
  nodes: int(8, 'storage nodes'),
  concurrency: int(256, 'operations in flight'),
  'phase-ms': int(4000, 'length of each measured phase'),
  rounds: int(3, 'rounds of (uniform, zipfian) phases'),
  'hot-key-cache': int(0, "entries of the store's hot-key cache (0: none)", 0),
  'read-balance': choice('least-loaded', ['least-loaded', 'rotate'] as const, 'which R of N replicas a get asks'),
  'read-path': choice('direct', ['direct', 'messages'] as const, 'reads in place or by message'),
  conflicts: choice('siblings', ['siblings', 'lww'] as const, 'conflict mode'),
});

const STREAM_LENGTH = 1 << 20;
const UPDATE_PERCENT = 5;

interface Phase {
  distribution: 'uniform' | 'zipfian';
  opsPerSec: number;
  imbalance: number;
}

async function main(): Promise<void> {
  const dir = makeTempDir('ringtable-hot-keys-');
  const store = await Store.open({
    path: dir,
    nodes: args.nodes,
    durability: 'none',
    // A shared, loaded machine: the load's putMany calls must not time out (the measured phases do not come near it).
    timeoutMs: 60_000,
    conflicts: args.conflicts,
    readPath: args['read-path'],
    readBalance: args['read-balance'],
    ...(args['hot-key-cache'] > 0 ? { hotKeyCache: { entriesMax: args['hot-key-cache'] } } : {}),
  });
  try {
    const names = Array.from({ length: args.records }, (_, i) => keyName(i));
    const prng = new Prng(args.seed);
    const value = () => prng.fill(new Uint8Array(args['value-bytes']));
    for (let start = 0; start < names.length; start += 2000) {
      await store.putMany(names.slice(start, start + 2000).map((name) => [name, value()] as const));
    }
    // The two key streams, and whether each operation updates: drawn once, before any phase.
    const zipf = new ZipfianGenerator(args.records, 0.99);
    const streams = { uniform: new Uint32Array(STREAM_LENGTH), zipfian: new Uint32Array(STREAM_LENGTH) };
    const updates = new Uint8Array(STREAM_LENGTH);
    for (let i = 0; i < STREAM_LENGTH; i++) {
      streams.uniform[i] = prng.nextBelow(args.records);
      streams.zipfian[i] = zipf.draw(prng);
      updates[i] = prng.nextBelow(100) < UPDATE_PERCENT ? 1 : 0;
    }
    const updateValue = value();
    const config = `${args.nodes} nodes, N=3 R=2 W=2, durability none, ${args.conflicts}, reads ${args['read-path']} ${args['read-balance']}, hot-key cache ${args['hot-key-cache'] || 'none'}, ${args.records} records x ${args['value-bytes']} B, ${args.concurrency} in flight, ${args['phase-ms']} ms phases, seed ${args.seed}`;
    console.log(`hot keys: ${config}`);
    const phases: Phase[] = [];
    let cursor = 0;
    for (let round = 0; round < args.rounds; round++) {
      const order = round % 2 === 0 ? (['uniform', 'zipfian'] as const) : (['zipfian', 'uniform'] as const);
      for (const distribution of order) {
        const keys = streams[distribution];
        const before = store.stats().nodes;
        const startedMs = performance.now();
        const endMs = startedMs + args['phase-ms'];
        let done = 0;
        const client = async () => {
          while (performance.now() < endMs) {
            const i = cursor++ & (STREAM_LENGTH - 1);
            const name = names[keys[i]!]!;
            if (updates[i] === 1) await store.put(name, updateValue);
            else await store.get(name);
            done++;
          }
        };
        await Promise.all(Array.from({ length: args.concurrency }, client));
        const opsPerSec = done / ((performance.now() - startedMs) / 1000);
        const after = store.stats().nodes;
        const served = after.map((node, k) => node.gets + node.puts + node.replicates - (before[k]!.gets + before[k]!.puts + before[k]!.replicates));
        const mean = served.reduce((a, b) => a + b, 0) / served.length;
        const imbalance = mean === 0 ? 1 : Math.max(...served) / mean;
        phases.push({ distribution, opsPerSec, imbalance });
        console.log(`  round ${round + 1} ${distribution.padEnd(7)} ${Math.round(opsPerSec).toString().padStart(7)} ops/s  imbalance ${imbalance.toFixed(3)}  load average ${os.loadavg()[0]!.toFixed(1)}`);
      }
    }
    const ratios: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      const pair = phases.slice(round * 2, round * 2 + 2);
      const zipfian = pair.find((p) => p.distribution === 'zipfian')!;
      const uniform = pair.find((p) => p.distribution === 'uniform')!;
      ratios.push(zipfian.opsPerSec / uniform.opsPerSec);
    }
    ratios.sort((a, b) => a - b);
    const imbalances = phases.filter((p) => p.distribution === 'zipfian').map((p) => p.imbalance).sort((a, b) => a - b);
    console.log(`zipfian/uniform throughput per round: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${ratios[ratios.length >> 1]!.toFixed(2)})`);
    console.log(`zipfian imbalance per phase: ${imbalances.map((r) => r.toFixed(3)).join(', ')}`);
    const cache = store.stats().hotKeyCache;
    if (cache !== undefined) console.log(`hot-key cache: ${JSON.stringify(cache)}`);
  } finally {
    await store.close();
    removeTempDir(dir);
  }
}

await main();
