/**
 * Transport benchmark: the SharedArrayBuffer-ring transport against the
 * postMessage transport (one message per request), same run, same data, same
 * store configuration; only `transport` differs.
 *
 *   npm run bench:transport
 *   node dist/bench/transport.bench.js --keys 50k --gets 100k --batch-reads 200k --in-flight 1024 --rounds 3
 *
 * Three workloads, each timed per transport in interleaved rounds (sab, pm, sab,
 * pm, ...), summarised by the median:
 *   - round trips: the transport alone, PING requests through the node links
 *     with `--in-flight` outstanding (no store above them);
 *   - single gets: `store.get(key, { r: 1 })` with `--in-flight` promises outstanding;
 *   - getMany: `store.getMany(batch, { r: 1 })`, `--batch` keys per call.
 * Keys are drawn uniformly (seeded) from the preloaded set. The target:
 * SAB >= 5x postMessage.
 */
import { Store, type StoreOptions } from '../lib/index.js';
import { VALUE_BYTES, keyBatches, makeDataSet, uniformAccess } from './lib/data.js';
import { type Run, formatRate, formatSeconds, interleave, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { closeLinks, openLinks, roundTrips } from './lib/link-round-trips.js';
import type { NodeLink } from '../lib/transport/node-link.js';
import { type ReadTally, batchedGets, newTally, pipelinedGets, preloadStore } from './lib/workloads.js';

const TRANSPORTS = ['sab', 'post-message'] as const;
type Transport = (typeof TRANSPORTS)[number];

const args = parseOptions('node dist/bench/transport.bench.js', 'Pipelined get and getMany throughput: SAB ring transport vs postMessage transport.', {
  keys: int(50_000, 'keys preloaded into each store'),
  gets: int(100_000, 'single gets per timed run'),
  'round-trips': int(1_000_000, 'transport round trips (PING) per timed run'),
  'in-flight': int(1024, 'single gets outstanding at once'),
  'batch-reads': int(200_000, 'keys read through getMany per timed run'),
  batch: int(10_000, 'keys per getMany call'),
  rounds: int(3, 'interleaved rounds (each times every transport once per workload)'),
  warmup: int(20_000, 'reads per store before timing, not counted', 0),
  nodes: int(4, 'storage nodes'),
  n: int(3, 'replicas per key (N)'),
  r: int(2, "the store's R (the benchmark's calls pass r: 1)"),
  w: int(2, "the store's W"),
  vnodes: int(256, 'tokens per node'),
  'timeout-ms': int(5_000, "ringtable's timeoutMs (the store's default): raise it on a machine so loaded that a batch takes longer", 1),
  dir: text('parent directory for the stores (default: the OS temp dir)', 'DIR'),
  durability: choice('none', ['none', 'async', 'sync'] as const, 'store durability (reads do not depend on it; preload does)'),
});

async function main(): Promise<void> {
  const env = environment();
  const storeOptions: Omit<StoreOptions, 'path'> = {
    nodes: args.nodes,
    vnodes: args.vnodes,
    replication: { n: args.n, r: args.r, w: args.w },
    durability: args.durability,
    // A pipelined benchmark keeps many requests pending; make sure none is refused.
    pendingMax: Math.max(262_144, args['in-flight'] * 2, args.batch * 2),
    // This measures the transports: every read is a message (readPath 'direct' would bypass both).
    readPath: 'messages',

    timeoutMs: args['timeout-ms'],
  };
  const report: Report = {
    benchmark: 'transport (SAB rings vs postMessage)',
    command: commandLine('transport.bench.js'),
    measured: `the transports alone (PING round trips through ${args.nodes} node links each), then two stores differing only in transport, each preloaded with ${args.keys} keys (16 B keys, 100 B Uint8Array values); timed: pipelined get(key, { r: 1 }) with ${args['in-flight']} in flight, and getMany(${args.batch} keys, { r: 1 }); uniform random keys; runs interleaved sab/pm, median reported`,
    environment: env,
    config: { keys: args.keys, roundTrips: args['round-trips'], gets: args.gets, inFlight: args['in-flight'], batchReads: args['batch-reads'], batch: args.batch, rounds: args.rounds, warmup: args.warmup, seed: args.seed },
    storeOptions: { ...storeOptions, transport: 'sab | post-message' },
    phases: {},
    figures: [],
    ratios: [],
    notes: [],
  };

  console.log(`transport benchmark: seed=${args.seed}, ${args.keys} keys, ${args.rounds} rounds; generating data...`);
  const data = makeDataSet(args.keys, args.seed);
  const singleOrder = uniformAccess(args.keys, args.gets, args.seed, 3);
  const batchOrder = uniformAccess(args.keys, args['batch-reads'], args.seed, 4);
  const batches = keyBatches(data.keys, batchOrder, args.batch);
  const warmupOrder = uniformAccess(args.keys, args.warmup, args.seed, 5);

  const parent = makeTempDir('ringtable-bench-transport-', args.dir);
  const stores = new Map<Transport, Store>();
  const tallies = new Map<string, ReadTally>();
  try {
    for (const transport of TRANSPORTS) {
      const store = await Store.open({ ...storeOptions, transport, path: `${parent}/${transport}` });
      stores.set(transport, store);
      const preload = await timed(args.keys, () => preloadStore(store, data, 25_000, 1).then(() => undefined));
      report.phases[`preload ${transport}`] = `${args.keys} keys via putMany(25000), one call at a time, in ${formatSeconds(preload.seconds)} (${formatRate(preload.opsPerSecond)} keys/s)`;
      console.log(`  preloaded ${transport}: ${formatSeconds(preload.seconds)}`);
      const warm = newTally();
      await pipelinedGets(store, data.keys, warmupOrder, args['in-flight'], 1, VALUE_BYTES, warm);
      await batchedGets(store, keyBatches(data.keys, warmupOrder, args.batch), 1, VALUE_BYTES, warm);
    }

    const variant = (workload: 'get' | 'getMany', transport: Transport) => ({
      name: `${workload} ${transport}`,
      run: async (): Promise<Run> => {
        const store = stores.get(transport)!;
        const tally = tallies.get(`${workload} ${transport}`) ?? newTally();
        tallies.set(`${workload} ${transport}`, tally);
        await settle();
        return workload === 'get'
          ? timed(args.gets, () => pipelinedGets(store, data.keys, singleOrder, args['in-flight'], 1, VALUE_BYTES, tally))
          : timed(args['batch-reads'], () => batchedGets(store, batches, 1, VALUE_BYTES, tally));
      },
    });
    const log = (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(22)} ${formatRate(run.opsPerSecond).padStart(7)} ops/s (${formatSeconds(run.seconds)})`);

    const links = new Map<Transport, NodeLink[]>();
    for (const transport of TRANSPORTS) links.set(transport, await openLinks(transport, `${parent}/links-${transport}`, args.nodes));
    const pingKey = data.keys[0]!;
    const pingRuns = await interleave(
      args.rounds,
      TRANSPORTS.map((transport) => ({
        name: `round trip ${transport}`,
        run: async (): Promise<Run> => {
          await settle();
          return timed(args['round-trips'], () => roundTrips(links.get(transport)!, args['round-trips'], args['in-flight'], pingKey));
        },
      })),
      log,
    );
    for (const transportLinks of links.values()) await closeLinks(transportLinks);
    const getRuns = await interleave(args.rounds, TRANSPORTS.map((t) => variant('get', t)), log);
    const manyRuns = await interleave(args.rounds, TRANSPORTS.map((t) => variant('getMany', t)), log);

    const singleOp = `one get(key, { r: 1 }), ${args['in-flight']} in flight`;
    const manyOp = `one key read through getMany(${args.batch} keys, { r: 1 })`;
    const pingOp = `one PING request and its answer through the node links, ${args['in-flight']} in flight over ${args.nodes} nodes`;
    const figures = [
      figure('round trip, sab', pingOp, pingRuns.get('round trip sab')!),
      figure('round trip, post-message', pingOp, pingRuns.get('round trip post-message')!),
      figure('get, sab', singleOp, getRuns.get('get sab')!),
      figure('get, post-message', singleOp, getRuns.get('get post-message')!),
      figure('getMany, sab', manyOp, manyRuns.get('getMany sab')!),
      figure('getMany, post-message', manyOp, manyRuns.get('getMany post-message')!),
    ];
    report.figures = figures;
    const ratioOf = (a: number, b: number) => figures[a]!.medianOpsPerSecond / figures[b]!.medianOpsPerSecond;
    report.ratios = [
      { name: 'transport round trips: sab / post-message', value: ratioOf(0, 1), target: 5 },
      { name: 'store get: sab / post-message', value: ratioOf(2, 3) },
      { name: 'store getMany: sab / post-message', value: ratioOf(4, 5) },
    ];
    for (const [name, tally] of tallies) {
      if (tally.missing > 0 || tally.wrongLength > 0) report.notes.push(`WRONG ANSWERS in ${name}: ${tally.missing} missing, ${tally.wrongLength} of the wrong length (of ${tally.found + tally.missing + tally.wrongLength})`);
    }
    const stats = stores.get('sab')!.stats();
    if (stats.timeouts > 0 || stats.overloaded > 0) report.notes.push(`sab store: ${stats.timeouts} timeouts, ${stats.overloaded} overloaded`);
    const pmStats = stores.get('post-message')!.stats();
    if (pmStats.timeouts > 0 || pmStats.overloaded > 0) report.notes.push(`post-message store: ${pmStats.timeouts} timeouts, ${pmStats.overloaded} overloaded`);
  } finally {
    for (const store of stores.values()) await store.close();
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

await main();
