/**
 * putMany benchmark: ringtable (N=3, W=2) against raw lmdb-js batched puts of
 * the same data with the same durability, same run.
 *
 *   npm run bench:put-many
 *   node dist/bench/put-many.bench.js --keys 100k --batch 10k --rounds 3 --durability async
 *
 * Every run writes `--keys` fresh 16-byte keys with 100-byte Uint8Array values
 * (seeded, in a seeded random order) into an empty store in a new directory, in
 * batches of `--batch`, waiting for each batch before sending the next:
 *   - ringtable: await store.putMany(batch) (resolves when every put met W);
 *   - raw: db.put(key, msgpack(value)) for the batch in one event turn (lmdb-js
 *     groups them into one transaction), then await db.committed, and for
 *     durability 'sync' also db.flushed: what a ringtable node waits for.
 * The raw side msgpack-encodes each value with ringtable's Packr options, the
 * same encoding work ringtable does. Runs are interleaved, one run of each
 * series per round, and medians are reported. The issue's target:
 * ringtable >= 0.4x raw.
 *
 * The order rotates from round to round (bench/lib/measure.ts interleave:
 * round r starts with series r mod k): with a fixed order, each round's first
 * series measured about 0.9x of its second whatever build it ran, so a
 * before/after ratio depended on which build went first. For such ratios run
 * a multiple of the series count (3, or 4 with --other-build) as --rounds, so
 * that every series takes every place equally often. Every run closes its
 * store (or environments, or writer threads) and removes its directory before
 * it returns, so nothing of an earlier run is open or on disk while the next
 * series is timed.
 *
 * A third series bounds what any N-copy design can reach with this storage:
 * "raw lmdb-js, N copies" (lib/copy-writer.ts) writes, without any
 * coordination, the very records ringtable's nodes write: each key's stored
 * object (a one-version object around the msgpack value) into the N
 * environments of its preference list (same ring, same `--nodes`), one
 * worker thread per environment, each one read-then-write transaction per
 * batch, as a node does.
 *
 * Each series first writes `--warmup-keys` other keys, untimed, in the same
 * batches: a fixed cost per run (five isolates' first compilations and
 * collections for ringtable, one small loop's for the others) is then
 * outside every series' timed region alike. `--other-build DIR` adds a
 * ringtable series from another build (DIR/dist/lib/index.js) to the same
 * interleaved rounds, for before/after ratios measured in one run.
 */
import { Store, type PutManyEntry, type StoreOptions } from '../lib/index.js';
import { VALUE_BYTES, makeDataSet, permutation, sameBytes, uniformAccess } from './lib/data.js';
import { type Run, formatRate, formatSeconds, interleave, median, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { RAW_OPEN_OPTIONS, openRawLmdb, rawBatchSettled, valuePackr } from './lib/workloads.js';
import { Ring } from '../lib/ring/ring.js';
import { PreferenceListTable } from '../lib/ring/preference-list.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { mkdirSync } from 'node:fs';
import { CopyWriters } from './lib/copy-writer.js';
import { type ThreadCpu, type ThreadGroup, cpuByGroup, threadCpu, v8HelperThreads } from './lib/thread-cpu.js';
import { stat } from 'node:fs/promises';

// libuv's pool (lmdb-js's asynchronous commits run there) is started by now (a job starts it): no series counts its threads as its own.
await stat('.');
const atStart = threadCpu();
const v8Helpers = atStart === undefined ? undefined : v8HelperThreads(atStart);

/**
 * CPU time of the whole process (every thread: the coordinator, the node
 * threads, lmdb-js's writer threads) per key written, by series. On a
 * machine whose cores are all busy, throughput follows CPU per key, so
 * ringtable's rate can reach at most (ceiling's CPU per key / ringtable's)
 * of the ceiling's, whatever the number of commits.
 */
const cpuMicrosPerKey = new Map<string, number[]>();

/** The same by thread group (thread-cpu.ts), by series: where the CPU went. */
const groupMicrosPerKey = new Map<string, Map<ThreadGroup, number[]>>();

/** `beforeSetup`: the threads there before the series started its own (node threads, writers). */
async function cpuTimed(series: string, ops: number, beforeSetup: ThreadCpu | undefined, body: () => Promise<void>): Promise<Run> {
  const threadsBefore = threadCpu();
  const before = process.cpuUsage();
  const run = await timed(ops, body);
  const used = process.cpuUsage(before);
  const threadsAfter = threadCpu();
  const list = cpuMicrosPerKey.get(series) ?? [];
  list.push((used.user + used.system) / ops);
  cpuMicrosPerKey.set(series, list);
  if (v8Helpers !== undefined && beforeSetup !== undefined && threadsBefore !== undefined && threadsAfter !== undefined) {
    const groups = groupMicrosPerKey.get(series) ?? new Map<ThreadGroup, number[]>();
    for (const [group, micros] of cpuByGroup(v8Helpers, beforeSetup, threadsBefore, threadsAfter)) groups.set(group, [...(groups.get(group) ?? []), micros / ops]);
    groupMicrosPerKey.set(series, groups);
  }
  return run;
}

const args = parseOptions('node dist/bench/put-many.bench.js', 'putMany throughput (N=3, W=2) against raw lmdb-js puts batched per event turn, same durability.', {
  keys: int(100_000, 'keys written per timed run (each run starts from an empty store)'),
  'warmup-keys': int(20_000, 'other keys every series writes first, untimed, in the same batches: each thread\'s JIT and first collections are then behind it, on both sides (0: none)', 0),
  'other-build': text('a second ringtable build (a directory holding dist/lib/index.js), run as a fourth series in the same rounds: before/after ratios from one run', 'DIR'),
  batch: int(10_000, 'entries per putMany call / raw puts per event turn'),
  rounds: int(3, 'interleaved rounds: each series once per round, the order rotating (a multiple of the series count for before/after ratios)'),
  nodes: int(4, 'storage nodes'),
  n: int(3, 'replicas per key (N)'),
  w: int(2, 'acknowledgements per put (W)'),
  vnodes: int(256, 'tokens per node'),
  durability: choice('async', ['none', 'async', 'sync'] as const, "durability of both sides ('async' is ringtable's default)"),
  conflicts: choice('siblings', ['siblings', 'lww'] as const, "ringtable's conflict mode (the other series store the same records either way)"),
  verify: int(2_000, 'keys read back after every run to check the data landed', 0),
  'ceiling-commits': int(1, 'sequential commits each environment splits a batch into, in the storage-ceiling series (ringtable\'s nodes make about 3: see "commits per node")', 1),
  'timeout-ms': int(5_000, "ringtable's timeoutMs (the store's default): raise it on a machine so loaded that a batch takes longer", 1),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
  'ring-bytes': int(1 << 20, "ringtable's ringBytes (each node's request and reply rings; a power of two)", 4096),
});

async function main(): Promise<void> {
  const env = environment();
  const storeOptions: Omit<StoreOptions, 'path'> = {
    nodes: args.nodes,
    vnodes: args.vnodes,
    replication: { n: args.n, r: Math.min(2, args.n), w: args.w },
    durability: args.durability,
    conflicts: args.conflicts,
    timeoutMs: args['timeout-ms'],
    ringBytes: args['ring-bytes'],
  };
  const report: Report = {
    benchmark: 'putMany vs raw lmdb-js',
    command: commandLine('put-many.bench.js'),
    measured: `${args.keys} new keys (16 B keys, 100 B Uint8Array values, random order) into an empty store per run${args['warmup-keys'] > 0 ? ` after ${args['warmup-keys']} other keys written untimed (every series alike)` : ''}, in batches of ${args.batch} awaited one after another; ringtable putMany (N=${args.n}, W=${args.w}) vs raw lmdb-js puts + committed${args.durability === 'sync' ? ' + flushed' : ''} in one environment; durability ${args.durability} on both sides; interleaved runs, median reported`,
    environment: env,
    config: { keys: args.keys, warmupKeys: args['warmup-keys'], batch: args.batch, rounds: args.rounds, verify: args.verify, seed: args.seed, ceilingCommits: args['ceiling-commits'] },
    storeOptions: { ...storeOptions, transport: 'sab' },
    phases: {},
    figures: [],
    ratios: [],
    notes: [
      `raw side: ${RAW_OPEN_OPTIONS}; it writes one copy of each key, ringtable writes N=${args.n} copies (to ${args.nodes} environments) and waits for W=${args.w}`,
      'store open/close and directory creation are outside the timed region on both sides',
    ],
  };

  console.log(`put-many benchmark: seed=${args.seed}, ${args.keys} keys per run, batch ${args.batch}, durability ${args.durability}, ${args.rounds} rounds; generating data...`);
  const warmupKeys = args['warmup-keys'];
  const data = makeDataSet(args.keys + warmupKeys, args.seed);
  // Insert in a random order: sequential keys would flatter LMDB's B-tree appends.
  const order = permutation(args.keys + warmupKeys, args.seed);
  const batches: PutManyEntry[][] = [];
  // The first `warmupBatches` are written before the timed region, by every series alike.
  const cut = (from: number, to: number) => {
    for (let start = from; start < to; start += args.batch) {
      const batch: PutManyEntry[] = [];
      for (let i = start; i < Math.min(to, start + args.batch); i++) batch.push([data.keys[order[i]!]!, data.values[order[i]!]!]);
      batches.push(batch);
    }
  };
  cut(0, warmupKeys);
  const warmupBatches = batches.length;
  cut(warmupKeys, warmupKeys + args.keys);
  const verifyOrder = uniformAccess(args.keys, args.verify, args.seed, 6);
  const parent = makeTempDir('ringtable-bench-put-many-', args.dir);
  const wrong: string[] = [];

  const otherBuild = args['other-build'] === undefined ? undefined : ((await import(`${args['other-build']}/dist/lib/index.js`)) as { Store: typeof Store }).Store;
  const ringtableRun = (series: string, open: typeof Store.open) => async (round: number): Promise<Run> => {
    const beforeSetup = threadCpu();
    const store = await open({ ...storeOptions, path: `${parent}/${series}-${round}` });
    try {
      for (let b = 0; b < warmupBatches; b++) await store.putMany(batches[b]!);
      await settle();
      const run = await cpuTimed(series, args.keys, beforeSetup, async () => {
        for (let b = warmupBatches; b < batches.length; b++) await store.putMany(batches[b]!);
      });
      const keys = Array.from(verifyOrder, (i) => data.keys[i]!);
      const results = await store.getMany(keys);
      let bad = 0;
      results.forEach((result, j) => {
        if (!(result?.value instanceof Uint8Array) || !sameBytes(result.value, data.values[verifyOrder[j]!]!)) bad++;
      });
      if (bad > 0) wrong.push(`${series} round ${round + 1}: ${bad} of ${keys.length} keys read back wrong or missing`);
      const stats = store.stats();
      if (stats.timeouts > 0 || stats.overloaded > 0) wrong.push(`${series} round ${round + 1}: ${stats.timeouts} timeouts, ${stats.overloaded} overloaded`);
      if (round === 0) report.phases[`${series} commits per node (round 1, warmup included)`] = stats.nodes.map((n) => `node ${n.id}: ${n.commits} commits, ${n.puts + n.replicates} writes`).join('; ');
      return run;
    } finally {
      await store.close();
      removeTempDir(`${parent}/${series}-${round}`);
    }
  };

  // The records ringtable's nodes store, placed as its ring places them.
  const lists = new PreferenceListTable(Ring.create(Array.from({ length: args.nodes }, (_, i) => i), args.vnodes), args.n);
  const copyPlan = batches.map((batch) => {
    const perNode: { keys: Uint8Array[]; records: Uint8Array[] }[] = Array.from({ length: args.nodes }, () => ({ keys: [], records: [] }));
    for (const [key, value] of batch) {
      const record = encodeObject({ entries: [{ actor: 1024, counter: 1, timestampMs: 1, siblings: [{ value: valuePackr.pack(value) as Uint8Array, timestampMs: 1, expiresAtMs: 0, tombstone: false }] }] });
      for (const node of lists.forHash(hashKey32(key as Uint8Array))) {
        perNode[node]!.keys.push(key as Uint8Array);
        perNode[node]!.records.push(record);
      }
    }
    return perNode;
  });
  report.notes.push(
    `raw lmdb-js, N copies (the storage ceiling): the records ringtable stores (${copyPlan[0]!.find((share) => share.records.length > 0)!.records[0]!.byteLength} B, prepared outside the timed region) placed by the preference lists of N=${args.n} over ${args.nodes} environments; one worker thread per environment, as one storage node each, writing its share of every batch in ${args['ceiling-commits'] === 1 ? 'one transaction' : `${args['ceiling-commits']} sequential transactions`} that read(s) then write(s) each key, as a node merges; no versions minted, no messages, no quorum`,
  );

  const copiesRun = async (round: number): Promise<Run> => {
    const dirs = Array.from({ length: args.nodes }, (_, i) => `${parent}/copies-${round}/node-${i}`);
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
    const beforeSetup = threadCpu();
    const writers = new CopyWriters(dirs, args.durability, copyPlan, args['ceiling-commits']);
    try {
      await writers.whenReady();
      for (let b = 0; b < warmupBatches; b++) await writers.writeBatch(b);
      await settle();
      return await cpuTimed('ceiling', args.keys, beforeSetup, async () => {
        for (let b = warmupBatches; b < copyPlan.length; b++) await writers.writeBatch(b);
      });
    } finally {
      await writers.close();
      removeTempDir(`${parent}/copies-${round}`);
    }
  };

  const rawRun = async (round: number): Promise<Run> => {
    const dir = `${parent}/raw-${round}`;
    const beforeSetup = threadCpu();
    const db = openRawLmdb(dir, args.durability);
    const writeBatch = async (batch: PutManyEntry[]) => {
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i]!;
        void db.put(entry[0] as Buffer, valuePackr.pack(entry[1]) as Buffer);
      }
      await rawBatchSettled(db, args.durability);
    };
    try {
      for (let b = 0; b < warmupBatches; b++) await writeBatch(batches[b]!);
      await settle();
      const run = await cpuTimed('raw', args.keys, beforeSetup, async () => {
        for (let b = warmupBatches; b < batches.length; b++) await writeBatch(batches[b]!);
      });
      let bad = 0;
      for (const i of verifyOrder) {
        const bytes = db.getBinaryFast(data.keys[i]! as Buffer);
        const value = bytes === undefined ? undefined : (valuePackr.unpack(bytes) as Uint8Array);
        if (value === undefined || value.byteLength !== VALUE_BYTES || !sameBytes(value, data.values[i]!)) bad++;
      }
      if (bad > 0) wrong.push(`raw round ${round + 1}: ${bad} of ${verifyOrder.length} keys read back wrong or missing`);
      return run;
    } finally {
      await db.close();
      removeTempDir(dir);
    }
  };

  try {
    const runs = await interleave(
      args.rounds,
      [
        { name: 'ringtable putMany', run: ringtableRun('ringtable', (options) => Store.open(options)) },
        { name: 'raw lmdb-js puts', run: rawRun },
        { name: `raw, ${args.n} copies`, run: copiesRun },
        ...(otherBuild === undefined ? [] : [{ name: 'other build putMany', run: ringtableRun('other build', (options) => otherBuild.open(options)) }]),
      ],
      (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(18)} ${formatRate(run.opsPerSecond).padStart(7)} puts/s (${formatSeconds(run.seconds)})`),
    );
    const ring = figure(`ringtable putMany, N=${args.n} W=${args.w}`, `one key written through putMany(${args.batch} entries), acknowledged by W=${args.w} of N=${args.n} replicas, durability ${args.durability}`, runs.get('ringtable putMany')!);
    const raw = figure('raw lmdb-js batched puts', `one db.put(key, msgpack(value)), ${args.batch} per event turn, then await committed${args.durability === 'sync' ? ' + flushed' : ''}`, runs.get('raw lmdb-js puts')!);
    const copies = figure(`raw lmdb-js, ${args.n} copies in ${args.nodes} environments`, `one key's ${args.n} stored records written by ${args.nodes} threads, one per environment, as ringtable's nodes would, without coordination`, runs.get(`raw, ${args.n} copies`)!);
    report.figures = [ring, raw, copies];
    const other = otherBuild === undefined ? undefined : figure(`other build (${args['other-build']}) putMany, N=${args.n} W=${args.w}`, 'as ringtable putMany, by the other build, in the same rounds', runs.get('other build putMany')!);
    if (other !== undefined) report.figures.push(other);
    report.ratios = [
      { name: 'ringtable / raw lmdb-js', value: ring.medianOpsPerSecond / raw.medianOpsPerSecond, target: 0.4 },
      { name: `raw ${args.n} copies / raw lmdb-js (the storage ceiling)`, value: copies.medianOpsPerSecond / raw.medianOpsPerSecond },
      { name: `ringtable / raw ${args.n} copies`, value: ring.medianOpsPerSecond / copies.medianOpsPerSecond },
      // The bound CPU sets when every core is busy: the ceiling's CPU per key over ringtable's.
      { name: `CPU per key: raw ${args.n} copies / ringtable`, value: median(cpuMicrosPerKey.get('ceiling')!) / median(cpuMicrosPerKey.get('ringtable')!) },
      ...(other === undefined
        ? []
        : [
            { name: `other build / raw ${args.n} copies`, value: other.medianOpsPerSecond / copies.medianOpsPerSecond },
            { name: `CPU per key: raw ${args.n} copies / other build`, value: median(cpuMicrosPerKey.get('ceiling')!) / median(cpuMicrosPerKey.get('other build')!) },
            { name: 'ringtable / other build', value: ring.medianOpsPerSecond / other.medianOpsPerSecond },
          ]),
    ];
    report.phases['CPU per key, every thread of the process (median)'] = ['ringtable', 'raw', 'ceiling', ...(other === undefined ? [] : ['other build'])]
      .map((series) => `${series === 'ceiling' ? `raw ${args.n} copies` : series} ${median(cpuMicrosPerKey.get(series)!).toFixed(1)} µs`)
      .join('; ');
    // Linux only: where each series' CPU went (thread-cpu.ts; 10 ms ticks, so short runs are coarse).
    for (const [series, groups] of groupMicrosPerKey) {
      const name = series === 'ceiling' ? `raw ${args.n} copies` : series;
      report.phases[`CPU per key by thread group, ${name} (median)`] = [...groups]
        .map(([group, list]) => `${group === 'started' ? (series === 'ringtable' || series === 'other build' ? 'node threads' : series === 'ceiling' ? 'writer threads' : 'started') : group === 'main' ? (series === 'ringtable' || series === 'other build' ? 'main (coordinator)' : 'main') : group === 'other' ? 'other (libuv pool: lmdb-js commits)' : 'V8 helpers (GC, compiler)'} ${median(list).toFixed(1)} µs`)
        .join('; ');
    }
    for (const line of wrong) report.notes.push(`WRONG: ${line}`);
  } finally {
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

await main();
