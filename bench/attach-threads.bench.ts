/**
 * One application thread against two (issue 15, "Many coordinators"): the
 * owner's store alone on the main thread, then the main thread and one worker
 * thread with an attached store (Store.attach(store.handle())) both
 * coordinating over the same node threads, in interleaved rounds of the same
 * length, in one run. Two workloads:
 *
 *   - YCSB-B: 95% get, 5% put, scrambled zipfian over `--records` keys of
 *     `--value-bytes`, 8 nodes, N=3 R=2 W=2, durability none, `--concurrency`
 *     calls in flight per thread;
 *   - getMany R=1: batches of `--batch` uniform keys of the get-many bench's
 *     data set (16 B keys, 100 B values), 4 nodes, N=3, `--get-many-in-flight`
 *     calls per thread; against raw lmdb-js (one thread, getBinaryFast and
 *     msgpack decode per key, as bench/get-many.bench.ts) in the same rounds.
 *
 *   node dist/bench/attach-threads.bench.js
 *   node dist/bench/attach-threads.bench.js --records 20k --seconds 2 --rounds 2   (smoke)
 *
 * YCSB-B also runs against raw lmdb-js (one environment on the main thread,
 * lmdb-load.ts) and Redis through ioredis (one connection, pipelined, the
 * same loop: redis-load.ts) in the same rounds, Redis on a redis-server the
 * bench starts and stops (redis-server.ts; skipped with a note when none
 * starts).
 *
 * Each thread runs until the same wall-clock instant; a round's rate is the
 * threads' operations over the round's length. Medians are reported.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Store, type PutManyEntry } from '../lib/index.js';
import { VALUE_BYTES } from './lib/data.js';
import { formatRate, median, settle } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { openRawLmdb, preloadStore, valuePackr } from './lib/workloads.js';
import { keyName } from './ycsb/key-name.js';
import { RedisLoad } from './lib/redis-load.js';
import { LmdbLoad } from './lib/lmdb-load.js';
import { REDIS_SERVER_DEFAULT_COMMAND, RedisServer } from './lib/redis-server.js';
import { type AttachLoadThread, type LoadConfig, type LoadData, type LoadResult, loadData, runLoad } from './lib/thread-load.js';
import { LoadThread } from './lib/load-thread.js';

const args = parseOptions('node dist/bench/attach-threads.bench.js', 'YCSB-B and getMany R=1 from one application thread against two (the second on an attached store), interleaved, one run.', {
  records: int(100_000, 'YCSB-B records (zipfian key space)'),
  'value-bytes': int(1000, 'YCSB-B value size'),
  concurrency: int(256, 'YCSB-B calls in flight per thread'),
  'get-many-keys': int(200_000, 'getMany data set keys (100 B values)'),
  batch: int(1000, 'keys per getMany call'),
  'get-many-in-flight': int(8, 'getMany calls in flight per thread'),
  seconds: int(5, 'length of each timed run'),
  rounds: int(3, 'interleaved rounds (one thread, two threads[, raw lmdb-js])'),
  'failure-timeout-ms': int(10_000, "the stores' failureTimeoutMs and timeoutMs"),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
  only: choice('both', ['both', 'ycsb-b', 'get-many'], 'which workloads to run'),
  distribution: choice('scrambled-zipfian', ['scrambled-zipfian', 'zipfian'], "YCSB-B's keys: YCSB's scrambled zipfian or the plain, clustered one (issue 15 target 2)"),
  'redis-server': text("redis-server command for YCSB-B's Redis variant, started on a free loopback port with no persistence and stopped after (default: redis-server from PATH; 'none': no Redis variant)", 'COMMAND'),
});

const THREAD_URL = new URL('./lib/thread-load.js', import.meta.url);
/**
 * A shared, oversubscribed machine starves threads for seconds: the failure
 * detector would take nodes down mid-run (and a timed-out request counts as an
 * error, not a slow answer). Both variants run with the same settings.
 */
const PATIENT = { failureTimeoutMs: args['failure-timeout-ms'], timeoutMs: args['failure-timeout-ms'] } as const;

/** The worker thread with the attached store. */
class AttachedThread extends LoadThread<AttachLoadThread> {
  constructor() {
    super(THREAD_URL, { threadLoad: true });
  }

  attach(store: Store, config: LoadConfig): Promise<void> {
    return this.ready({ type: 'attach', handle: store.handle(), config });
  }
}

interface Figure {
  name: string;
  opsPerSecond: number[];
  errors: number;
  wrong: number;
}

function sum(results: readonly LoadResult[]): LoadResult {
  return results.reduce((total, one) => ({ ops: total.ops + one.ops, errors: total.errors + one.errors, wrong: total.wrong + one.wrong }), { ops: 0, errors: 0, wrong: 0 });
}

/** One thread, then two, `rounds` times (plus `extra` variants), each for `seconds`. */
async function compareThreads(store: Store, config: LoadConfig, extra: { name: string; run: (endAtMs: number) => Promise<LoadResult> }[]): Promise<Figure[]> {
  const data: LoadData = loadData(config);
  const thread = new AttachedThread();
  await thread.attach(store, config);
  const variants = [
    { name: 'one thread (owner)', run: (endAtMs: number, stream: number) => runLoad(store, config, data, stream, endAtMs) },
    { name: 'two threads (owner + attached)', run: async (endAtMs: number, stream: number) => sum(await Promise.all([runLoad(store, config, data, stream, endAtMs), thread.run(stream + 1, endAtMs)])) },
    ...extra.map((variant) => ({ name: variant.name, run: (endAtMs: number) => variant.run(endAtMs) })),
  ];
  const figures: Figure[] = variants.map((variant) => ({ name: variant.name, opsPerSecond: [], errors: 0, wrong: 0 }));
  // A warm-up of each variant, not counted.
  for (const variant of variants) await variant.run(Date.now() + 1000, 0);
  for (let round = 0; round < args.rounds; round++) {
    for (let v = 0; v < variants.length; v++) {
      await settle();
      const startMs = Date.now();
      const result = await variants[v]!.run(startMs + args.seconds * 1000, 2 * (round + 1));
      const seconds = (Date.now() - startMs) / 1000;
      const figure = figures[v]!;
      figure.opsPerSecond.push(result.ops / seconds);
      figure.errors += result.errors;
      figure.wrong += result.wrong;
      console.log(`  round ${round + 1} ${figure.name}: ${formatRate(result.ops / seconds)} ops/s${result.errors > 0 ? ` (${result.errors} errors)` : ''}`);
    }
  }
  await thread.close();
  return figures;
}

function summary(title: string, figures: readonly Figure[]): Record<string, unknown> {
  console.log(`${title}`);
  const one = median(figures[0]!.opsPerSecond);
  for (const figure of figures) {
    const rate = median(figure.opsPerSecond);
    console.log(`  ${figure.name.padEnd(36)} ${formatRate(rate).padStart(8)} ops/s   ${(rate / one).toFixed(2)}x one thread${figure.errors + figure.wrong > 0 ? `   errors ${figure.errors}, wrong ${figure.wrong}` : ''}`);
  }
  const redis = figures.find((figure) => figure.name.startsWith('redis'));
  if (redis !== undefined) {
    // Issue 15 target 2: >= 2x Redis from one thread, >= 3x from two.
    const redisRate = median(redis.opsPerSecond);
    console.log(`  against Redis: one thread ${(one / redisRate).toFixed(2)}x, two threads ${(median(figures[1]!.opsPerSecond) / redisRate).toFixed(2)}x (medians of the same rounds)`);
  }
  const raw = figures.find((figure) => figure.name.startsWith('raw lmdb-js'));
  if (raw !== undefined) {
    const rawRate = median(raw.opsPerSecond);
    console.log(`  against raw lmdb-js: one thread ${(one / rawRate).toFixed(2)}x, two threads ${(median(figures[1]!.opsPerSecond) / rawRate).toFixed(2)}x (medians of the same rounds)`);
  }
  return { title, figures: figures.map((figure) => ({ ...figure, median: median(figure.opsPerSecond) })) };
}

async function ycsbB(dir: string): Promise<Record<string, unknown>> {
  const store = await Store.open({ path: join(dir, 'ycsb-b'), nodes: 8, replication: { n: 3, r: 2, w: 2 }, durability: 'none', ...PATIENT });
  try {
    const config: LoadConfig = { workload: 'ycsb-b', records: args.records, valueBytes: args['value-bytes'], concurrency: args.concurrency, batch: 0, seed: args.seed, distribution: args.distribution as 'zipfian' | 'scrambled-zipfian' };
    const value = loadData(config).value;
    for (let start = 0; start < args.records; start += 2000) {
      const entries: PutManyEntry[] = [];
      for (let i = start; i < Math.min(args.records, start + 2000); i++) entries.push([keyName(i), value]);
      await store.putMany(entries);
    }
    const redis = await startRedis(config);
    const raw = await LmdbLoad.open(join(dir, 'ycsb-b-raw'), 'none', config, loadData(config));
    console.log(`YCSB-B (95/5, ${args.distribution}), ${args.records} x ${args['value-bytes']} B, 8 nodes, N=3 R=2 W=2, durability none, ${args.concurrency} in flight per thread, ${args.seconds} s runs:`);
    try {
      const data = loadData(config);
      const extra = [{ name: 'raw lmdb-js + decode (one thread)', run: (endAtMs: number) => raw.run(config, data, 1, endAtMs) }];
      if (redis !== undefined) extra.push({ name: `redis ${redis.version} (ioredis, one connection)`, run: (endAtMs: number) => redis.run(config, data, 1, endAtMs) });
      return summary('YCSB-B', await compareThreads(store, config, extra));
    } finally {
      await redis?.close();
      await raw.close();
    }
  } finally {
    await store.close();
  }
}

/** A redis-server of our own, loaded with YCSB-B's records; undefined (with a note) when none starts. */
async function startRedis(config: LoadConfig): Promise<RedisLoad | undefined> {
  const command = args['redis-server'] ?? REDIS_SERVER_DEFAULT_COMMAND;
  if (command === 'none') return undefined;
  let server: RedisServer;
  try {
    server = await RedisServer.start(command);
  } catch (error) {
    console.log(`  no Redis variant: ${(error as Error).message}`);
    return undefined;
  }
  try {
    return await RedisLoad.open(server, config, loadData(config));
  } catch (error) {
    await server.stop();
    console.log(`  no Redis variant: ${(error as Error).message}`);
    return undefined;
  }
}

async function getMany(dir: string): Promise<Record<string, unknown>> {
  const store = await Store.open({ path: join(dir, 'get-many'), nodes: 4, replication: { n: 3, r: 1, w: 2 }, durability: 'none', ...PATIENT });
  const raw = openRawLmdb(join(dir, 'raw'), 'none');
  try {
    const config: LoadConfig = { workload: 'get-many', records: args['get-many-keys'], valueBytes: 0, concurrency: args['get-many-in-flight'], batch: args.batch, seed: args.seed };
    const { data } = loadData(config);
    await preloadStore(store, data!, 10_000);
    await raw.transaction(() => {
      for (let i = 0; i < data!.keys.length; i++) void raw.put(data!.keys[i]!, valuePackr.pack(data!.values[i]!));
    });
    const rawRun = async (endAtMs: number): Promise<LoadResult> => {
      const result: LoadResult = { ops: 0, errors: 0, wrong: 0 };
      let seed = 0x9e3779b9;
      while (Date.now() < endAtMs) {
        for (let i = 0; i < args.batch; i++) {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          const bytes = raw.getBinaryFast(data!.keys[seed % data!.keys.length]! as Buffer);
          const value = bytes === undefined ? undefined : (valuePackr.unpack(bytes) as Uint8Array);
          if (value?.byteLength !== VALUE_BYTES) result.wrong++;
        }
        result.ops += args.batch;
        // A turn of the event loop per batch, as a getMany caller gets one per call.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return result;
    };
    console.log(`getMany R=1, ${args['get-many-keys']} keys (16 B keys, 100 B values), batches of ${args.batch}, 4 nodes, N=3, ${args['get-many-in-flight']} calls in flight per thread, ${args.seconds} s runs:`);
    return summary('getMany R=1', await compareThreads(store, config, [{ name: 'raw lmdb-js + decode (one thread)', run: rawRun }]));
  } finally {
    await raw.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  const dir = makeTempDir('ringtable-attach-threads', args.dir);
  try {
    const results = [];
    if (args.only !== 'get-many') results.push(await ycsbB(dir));
    if (args.only !== 'ycsb-b') results.push(await getMany(dir));
    if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ benchmark: 'one vs two application threads', argv: process.argv.slice(2), seed: args.seed, results }, null, 2));
  } finally {
    removeTempDir(dir);
  }
}

await main();
