/**
 * getMany benchmark: ringtable (N=3, R=1) against raw lmdb-js reading the same
 * data from one thread, same run, same key sequence.
 *
 *   npm run bench:get-many
 *   node dist/bench/get-many.bench.js --keys 1m --reads 300k --batch 10k --rounds 3
 *
 * Data: `--keys` 16-byte keys with 100-byte Uint8Array values, seeded. ringtable
 * stores each value msgpack-encoded (a Uint8Array becomes 102 bytes of msgpack
 * bin8) inside its versioned object; the raw environment stores exactly those
 * 102 msgpack bytes under the same key bytes. Timed, in interleaved rounds
 * (ringtable, raw bytes, raw + decode), over the same uniform random sequence:
 *   - ringtable: store.getMany(batch of `--batch` keys, { r: 1 }), each result's value checked;
 *   - raw bytes: db.getBinaryFast(key) per key, length checked (no decode, no copy);
 *   - raw + decode: getBinaryFast then msgpackr unpack with ringtable's Packr
 *     options (copyBuffers: a fresh Uint8Array per value, as ringtable returns);
 *   - raw + decode, batch kept: the same, each value kept in a fresh array of
 *     `--batch` until the batch's last key is read, as getMany's result array
 *     holds its batch: what keeping results alive for a batch costs (they
 *     outlive scavenges), apart from ringtable's own work.
 * The issue's target: ringtable >= 0.6x raw (stretch >= 1x).
 */
import { Store, type StoreOptions } from '../lib/index.js';
import { VALUE_BYTES, keyBatches, makeDataSet, uniformAccess } from './lib/data.js';
import { type Run, formatRate, formatSeconds, interleave, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { directoryBytes, makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { RAW_OPEN_OPTIONS, type ReadTally, batchedGets, newTally, openRawLmdb, preloadStore, rawBatchSettled, valuePackr } from './lib/workloads.js';

const args = parseOptions('node dist/bench/get-many.bench.js', 'getMany throughput (N=3, R=1) against raw lmdb-js getBinaryFast over the same data, one thread.', {
  keys: int(1_000_000, 'keys preloaded (shrink for smoke runs)'),
  reads: int(300_000, 'keys read per timed run'),
  batch: int(10_000, 'keys per getMany call'),
  rounds: int(3, 'interleaved rounds (ringtable, raw bytes, raw + decode, raw + decode with the batch kept)'),
  warmup: int(100_000, 'reads per side before timing, not counted', 0),
  nodes: int(4, 'storage nodes'),
  n: int(3, 'replicas per key (N)'),
  w: int(2, 'W for the preload'),
  vnodes: int(256, 'tokens per node'),
  'preload-batch': int(50_000, 'entries per putMany call while preloading'),
  'preload-concurrency': int(1, 'putMany calls in flight while preloading (timeoutMs bounds a whole putMany batch: keep batch x concurrency modest)'),
  durability: choice('none', ['none', 'async', 'sync'] as const, 'durability of both sides (affects the preload only)'),
  'read-path': choice('direct', ['direct', 'messages'] as const, "ringtable's readPath: replicas read in place in this thread, or by message to the node threads"),
  'timeout-ms': int(5_000, "ringtable's timeoutMs (the store's default): raise it on a machine so loaded that a batch takes longer", 1),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

/** `keepBatch` > 0: each decoded value goes into a fresh array of that many, dropped when full (as a getMany's results live for their batch). */
function rawRead(db: ReturnType<typeof openRawLmdb>, keys: readonly Uint8Array[], order: Uint32Array, decode: boolean, tally: ReadTally, keepBatch = 0): void {
  const encodedBytes = VALUE_BYTES + 2;
  let kept: Uint8Array[] = [];
  for (let i = 0; i < order.length; i++) {
    const bytes = db.getBinaryFast(keys[order[i]!]! as Buffer);
    if (bytes === undefined) {
      tally.missing++;
    } else if (decode) {
      const value = valuePackr.unpack(bytes) as Uint8Array;
      if (keepBatch > 0) {
        kept.push(value);
        if (kept.length === keepBatch) kept = [];
      }
      if (value.byteLength === VALUE_BYTES) tally.found++;
      else tally.wrongLength++;
    } else if (bytes.length === encodedBytes) {
      tally.found++;
    } else {
      tally.wrongLength++;
    }
  }
}

async function main(): Promise<void> {
  const env = environment();
  const storeOptions: Omit<StoreOptions, 'path'> = {
    nodes: args.nodes,
    vnodes: args.vnodes,
    replication: { n: args.n, r: 1, w: args.w },
    durability: args.durability,
    readPath: args['read-path'],

    timeoutMs: args['timeout-ms'],
  };
  const report: Report = {
    benchmark: 'getMany vs raw lmdb-js',
    command: commandLine('get-many.bench.js'),
    measured: `${args.reads} uniform random reads over ${args.keys} keys (16 B keys, 100 B Uint8Array values) per run; ringtable: getMany(${args.batch} keys, { r: 1 }); raw: one thread, one LMDB environment, getBinaryFast per key, without and with msgpack decode; interleaved runs, median reported`,
    environment: env,
    config: { keys: args.keys, reads: args.reads, batch: args.batch, rounds: args.rounds, warmup: args.warmup, preloadBatch: args['preload-batch'], preloadConcurrency: args['preload-concurrency'], seed: args.seed },
    storeOptions: { ...storeOptions, transport: 'sab' },
    phases: {},
    figures: [],
    ratios: [],
    notes: [`raw side: ${RAW_OPEN_OPTIONS}; it stores the 102-byte msgpack encoding of each value (what ringtable keeps inside its versioned object)`],
  };

  console.log(`get-many benchmark: seed=${args.seed}, ${args.keys} keys, ${args.reads} reads per run, ${args.rounds} rounds; generating data...`);
  const data = makeDataSet(args.keys, args.seed);
  const order = uniformAccess(args.keys, args.reads, args.seed, 3);
  const batches = keyBatches(data.keys, order, args.batch);
  const warmupOrder = uniformAccess(args.keys, args.warmup, args.seed, 5);

  const parent = makeTempDir('ringtable-bench-get-many-', args.dir);
  let store: Store | undefined;
  const raw = openRawLmdb(`${parent}/raw`, args.durability);
  try {
    store = await Store.open({ ...storeOptions, path: `${parent}/ringtable` });
    console.log(`  preloading ringtable (${args.keys} keys, N=${args.n}, W=${args.w}, putMany(${args['preload-batch']}) x ${args['preload-concurrency']} concurrent)...`);
    const preload = await timed(args.keys, () => preloadStore(store!, data, args['preload-batch'], args['preload-concurrency']).then(() => undefined));
    report.phases['preload ringtable'] = `${args.keys} keys via putMany(${args['preload-batch']}), ${args['preload-concurrency']} calls in flight, in ${formatSeconds(preload.seconds)} (${formatRate(preload.opsPerSecond)} keys/s, N=${args.n} copies each)`;
    console.log(`  preloaded ringtable: ${formatSeconds(preload.seconds)}`);

    const rawPreload = await timed(args.keys, async () => {
      for (let start = 0; start < args.keys; start += 10_000) {
        const end = Math.min(args.keys, start + 10_000);
        // Copy: the raw side must hold stable bytes until lmdb-js commits them.
        for (let i = start; i < end; i++) void raw.put(data.keys[i]! as Buffer, Uint8Array.prototype.slice.call(valuePackr.pack(data.values[i]!)) as Buffer);
        await rawBatchSettled(raw, args.durability);
      }
    });
    report.phases['preload raw'] = `${args.keys} keys, 10000 puts per turn, in ${formatSeconds(rawPreload.seconds)}`;
    report.phases['on disk'] = `ringtable ${(directoryBytes(`${parent}/ringtable`) / 2 ** 20).toFixed(0)} MiB (all nodes), raw ${(directoryBytes(`${parent}/raw`) / 2 ** 20).toFixed(0)} MiB`;

    // Warm both: JIT, page cache, lmdb-js read transactions.
    const warm = newTally();
    await batchedGets(store, keyBatches(data.keys, warmupOrder, args.batch), 1, VALUE_BYTES, warm);
    rawRead(raw, data.keys, warmupOrder, true, warm);
    if (warm.missing + warm.wrongLength > 0) report.notes.push(`WRONG ANSWERS during warm-up: ${warm.missing} missing, ${warm.wrongLength} wrong length`);

    const tallies = { ringtable: newTally(), rawBytes: newTally(), rawDecode: newTally(), rawDecodeKept: newTally() };
    const runs = await interleave(
      args.rounds,
      [
        { name: 'ringtable getMany', run: async () => (await settle(), timed(args.reads, () => batchedGets(store!, batches, 1, VALUE_BYTES, tallies.ringtable))) },
        { name: 'raw lmdb-js bytes', run: async () => (await settle(), timed(args.reads, () => rawRead(raw, data.keys, order, false, tallies.rawBytes))) },
        { name: 'raw lmdb-js + decode', run: async () => (await settle(), timed(args.reads, () => rawRead(raw, data.keys, order, true, tallies.rawDecode))) },
        { name: 'raw + decode, batch kept', run: async () => (await settle(), timed(args.reads, () => rawRead(raw, data.keys, order, true, tallies.rawDecodeKept, args.batch))) },
      ],
      (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(22)} ${formatRate(run.opsPerSecond).padStart(7)} reads/s (${formatSeconds(run.seconds)})`),
    );

    const ring = figure('ringtable getMany, N=3 R=1', `one key read through getMany(${args.batch} keys, { r: 1 }) returning the decoded value`, runs.get('ringtable getMany')!);
    const bytes = figure('raw lmdb-js, bytes only', 'one getBinaryFast(key), length checked, no decode', runs.get('raw lmdb-js bytes')!);
    const decoded = figure('raw lmdb-js + msgpack decode', 'one getBinaryFast(key) + msgpackr unpack (copyBuffers) to a Uint8Array', runs.get('raw lmdb-js + decode')!);
    const kept = figure('raw lmdb-js + msgpack decode, batch kept', `the same, each value kept in an array of ${args.batch} until its batch ends (as getMany's results)`, runs.get('raw + decode, batch kept')!);
    report.figures = [ring, bytes, decoded, kept];
    report.ratios = [
      { name: 'ringtable / raw + decode (equivalent work)', value: ring.medianOpsPerSecond / decoded.medianOpsPerSecond, target: 0.6, stretch: 1 },
      { name: 'ringtable / raw bytes only', value: ring.medianOpsPerSecond / bytes.medianOpsPerSecond, target: 0.6, stretch: 1 },
      // No target of its own: how much of the gap is the batch's results outliving scavenges, which any getMany returning an array pays.
      { name: 'ringtable / raw + decode with the batch kept', value: ring.medianOpsPerSecond / kept.medianOpsPerSecond },
    ];
    for (const [name, tally] of Object.entries(tallies)) {
      if (tally.missing > 0 || tally.wrongLength > 0) report.notes.push(`WRONG ANSWERS in ${name}: ${tally.missing} missing, ${tally.wrongLength} wrong length (of ${tally.found + tally.missing + tally.wrongLength})`);
    }
    const stats = store.stats();
    if (stats.timeouts > 0 || stats.overloaded > 0) report.notes.push(`ringtable: ${stats.timeouts} timeouts, ${stats.overloaded} overloaded`);
    report.notes.push(`ringtable gets served per node: ${stats.nodes.map((n) => `node ${n.id}: ${n.gets}`).join(', ')}`);
  } finally {
    await store?.close();
    await raw.close();
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

await main();
