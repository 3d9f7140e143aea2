/**
 * The floor of YCSB-B at N=3 R=2 W=2 from one application thread and from
 * two (issue 15 target 2: >= 2x Redis from one, >= 3x from two): the least
 * work any replicated design must do per operation, on raw lmdb-js with
 * nothing else (no ring, no versions, no messages, no quorum bookkeeping),
 * against Redis and ringtable in the same interleaved rounds.
 *
 *   floor, 1 thread    three LMDB environments (the key's N = 3 replicas),
 *                      each holding every record (lib/replicated-floor.ts): a
 *                      read is getBinaryFast on the first, a copy,
 *                      getBinaryFast on the second, a byte comparison and a
 *                      msgpack decode (an R = 2 read that agrees, read in
 *                      place); an update is one put into each of the three,
 *                      done when two committed (W = 2; lmdb-js batches a
 *                      turn's puts into one transaction per environment, on
 *                      its own write thread)
 *   floor, 2 threads   the same loop in the main thread and in a worker
 *                      thread at once, over the same three environments
 *                      (lmdb-js shares one environment per path within a
 *                      process), each thread its own stream of operations
 *                      and --concurrency lanes, its updates' puts its own;
 *                      the threads' operations summed
 *   raw                raw lmdb-js, one environment, one read or one put (no replicas)
 *   ringtable, 1       store.get / store.put, 8 nodes, N=3 R=2 W=2 (thread-load.ts)
 *   ringtable, 2       the same on the owner's store and, in a worker thread,
 *                      on an attached one (Store.attach), at once, summed
 *                      (as bench/attach-threads.bench.ts)
 *   redis              Redis through ioredis, one connection, pipelined (redis-load.ts)
 *
 *   node dist/bench/ycsb-b-floor.bench.js --seconds 5 --rounds 3
 *   node dist/bench/ycsb-b-floor.bench.js --seconds 5 --rounds 3 --other-build DIR   (before/after)
 *
 * With --other-build, that build's Store (DIR/dist/lib/index.js, its own
 * store and node threads, its attached thread from DIR/dist/bench/lib/thread-load.js)
 * runs the two ringtable series too, in the same rounds.
 *
 * 95% reads, 5% updates, plain zipfian keys (--distribution), --concurrency
 * calls in flight per application thread, durability none. Medians of the
 * rounds; each figure's ratio to Redis and to the floor of its thread count
 * is of the same rounds.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';
import { Store, type PutManyEntry } from '../lib/index.js';
import { formatRate, median, settle } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { keyName } from './ycsb/key-name.js';
import { RedisLoad } from './lib/redis-load.js';
import { LmdbLoad } from './lib/lmdb-load.js';
import { REDIS_SERVER_DEFAULT_COMMAND, RedisServer } from './lib/redis-server.js';
import { type AttachLoadThread, type LoadConfig, type LoadResult, loadData, runLoad } from './lib/thread-load.js';
import { LoadThread } from './lib/load-thread.js';
import { type OpenFloorThread, ReplicatedFloor } from './lib/replicated-floor.js';

const args = parseOptions('node dist/bench/ycsb-b-floor.bench.js', 'YCSB-B at N=3 R=2 W=2 from one and two application threads: the replicated floor on raw lmdb-js against Redis and ringtable, interleaved, one run.', {
  records: int(100_000, 'records (zipfian key space)'),
  'value-bytes': int(1000, 'value size'),
  concurrency: int(256, 'calls in flight per application thread'),
  seconds: int(5, 'length of each timed run'),
  rounds: int(3, 'interleaved rounds'),
  'failure-timeout-ms': int(10_000, "the store's failureTimeoutMs and timeoutMs (a loaded machine starves threads)"),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
  distribution: choice('zipfian', ['scrambled-zipfian', 'zipfian'], "the keys: YCSB's scrambled zipfian or the plain, clustered one (issue 15 target 2)"),
  'redis-server': text("redis-server command (default: redis-server from PATH; 'none': no Redis variant)", 'COMMAND'),
  'other-build': text("another build's root (holding dist/): its ringtable, one thread and two, in the same rounds (before/after)", 'DIR'),
});

interface Variant {
  name: string;
  run: (endAtMs: number, stream: number) => Promise<LoadResult>;
  opsPerSecond: number[];
  errors: number;
  /** The floor this variant is compared with: of one application thread or of two. */
  threads: 1 | 2;
}

const FLOOR_THREAD_URL = new URL('./lib/replicated-floor.js', import.meta.url);
const ATTACHED_THREAD_URL = new URL('./lib/thread-load.js', import.meta.url);

function sum(results: readonly LoadResult[]): LoadResult {
  return results.reduce((total, one) => ({ ops: total.ops + one.ops, errors: total.errors + one.errors, wrong: total.wrong + one.wrong }), { ops: 0, errors: 0, wrong: 0 });
}

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

/** Another build's store, loaded as this one, and its attached thread (the worker protocol of load-thread.ts, which older builds' thread-load.js speak too). */
async function openOtherBuild(root: string, path: string, config: LoadConfig, patient: { failureTimeoutMs: number; timeoutMs: number }): Promise<{ store: Store; thread: LoadThread<AttachLoadThread>; close(): Promise<void> }> {
  const dist = pathToFileURL(join(resolve(root), 'dist') + '/');
  const { Store: OtherStore } = (await import(new URL('lib/index.js', dist).href)) as { Store: typeof Store };
  const store = await OtherStore.open({ path, nodes: 8, replication: { n: 3, r: 2, w: 2 }, durability: 'none', ...patient });
  const value = loadData(config).value;
  for (let start = 0; start < config.records; start += 2000) {
    const entries: PutManyEntry[] = [];
    for (let i = start; i < Math.min(config.records, start + 2000); i++) entries.push([keyName(i), value]);
    await store.putMany(entries);
  }
  const thread = new LoadThread<AttachLoadThread>(new URL('bench/lib/thread-load.js', dist), { threadLoad: true });
  await thread.ready({ type: 'attach', handle: store.handle(), config });
  return {
    store,
    thread,
    close: async () => {
      await thread.close();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const dir = makeTempDir('ringtable-ycsb-b-floor', args.dir);
  const config: LoadConfig = { workload: 'ycsb-b', records: args.records, valueBytes: args['value-bytes'], concurrency: args.concurrency, batch: 0, seed: args.seed, distribution: args.distribution as 'zipfian' | 'scrambled-zipfian' };
  const data = loadData(config);
  const patient = { failureTimeoutMs: args['failure-timeout-ms'], timeoutMs: args['failure-timeout-ms'] };
  const store = await Store.open({ path: join(dir, 'store'), nodes: 8, replication: { n: 3, r: 2, w: 2 }, durability: 'none', ...patient });
  const closers: (() => Promise<void>)[] = [() => store.close()];
  try {
    for (let start = 0; start < args.records; start += 2000) {
      const entries: PutManyEntry[] = [];
      for (let i = start; i < Math.min(args.records, start + 2000); i++) entries.push([keyName(i), data.value]);
      await store.putMany(entries);
    }
    const floor = await ReplicatedFloor.load(dir, config, data);
    closers.push(() => floor.close());
    // The second application thread of each two-thread variant: opened once, reused by every round.
    const floorThread = new LoadThread<OpenFloorThread>(FLOOR_THREAD_URL, { floorThread: true });
    closers.push(() => floorThread.close());
    await floorThread.ready({ type: 'open', dir, config });
    const attachedThread = new LoadThread<AttachLoadThread>(ATTACHED_THREAD_URL, { threadLoad: true });
    closers.push(() => attachedThread.close());
    await attachedThread.ready({ type: 'attach', handle: store.handle(), config });
    const other = args['other-build'] === undefined ? undefined : await openOtherBuild(args['other-build'], join(dir, 'other-store'), config, patient);
    if (other !== undefined) closers.push(() => other.close());
    const raw = await LmdbLoad.open(join(dir, 'raw'), 'none', config, data);
    closers.push(() => raw.close());
    const redis = await startRedis(config);
    if (redis !== undefined) closers.push(() => redis.close());
    const variants: Variant[] = [
      { name: 'floor, 1 thread', threads: 1, run: (endAtMs, stream) => floor.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
      { name: 'floor, 2 threads', threads: 2, run: async (endAtMs, stream) => sum(await Promise.all([floor.run(config, data, stream, endAtMs), floorThread.run(stream + 1, endAtMs)])), opsPerSecond: [], errors: 0 },
      { name: 'raw lmdb-js, 1 copy, 1 thread', threads: 1, run: (endAtMs, stream) => raw.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
      { name: 'ringtable R=2 W=2, 1 thread', threads: 1, run: (endAtMs, stream) => runLoad(store, config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
      { name: 'ringtable R=2 W=2, 2 threads', threads: 2, run: async (endAtMs, stream) => sum(await Promise.all([runLoad(store, config, data, stream, endAtMs), attachedThread.run(stream + 1, endAtMs)])), opsPerSecond: [], errors: 0 },
    ];
    if (other !== undefined) {
      variants.push(
        { name: 'other build R=2 W=2, 1 thread', threads: 1, run: (endAtMs, stream) => runLoad(other.store, config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
        { name: 'other build R=2 W=2, 2 threads', threads: 2, run: async (endAtMs, stream) => sum(await Promise.all([runLoad(other.store, config, data, stream, endAtMs), other.thread.run(stream + 1, endAtMs)])), opsPerSecond: [], errors: 0 },
      );
    }
    if (redis !== undefined) variants.push({ name: `redis ${redis.version} (ioredis, pipelined)`, threads: 1, run: (endAtMs, stream) => redis.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 });
    console.log(`YCSB-B (95/5, ${args.distribution}), ${args.records} x ${args['value-bytes']} B, N=3 R=2 W=2, durability none, ${args.concurrency} in flight per application thread, ${args.seconds} s runs, ${args.rounds} interleaved rounds:`);
    for (const variant of variants) await variant.run(Date.now() + 1000, 0);
    for (let round = 0; round < args.rounds; round++) {
      for (const variant of variants) {
        await settle();
        const startMs = Date.now();
        const result = await variant.run(startMs + args.seconds * 1000, 2 * (round + 1));
        const rate = result.ops / ((Date.now() - startMs) / 1000);
        variant.opsPerSecond.push(rate);
        variant.errors += result.errors + result.wrong;
        console.log(`  round ${round + 1} ${variant.name}: ${formatRate(rate)} ops/s${result.errors + result.wrong > 0 ? ` (${result.errors} errors, ${result.wrong} wrong)` : ''}`);
      }
    }
    const redisRate = redis === undefined ? NaN : median(variants[variants.length - 1]!.opsPerSecond);
    const floorRates = { 1: median(variants[0]!.opsPerSecond), 2: median(variants[1]!.opsPerSecond) };
    for (const variant of variants) {
      const rate = median(variant.opsPerSecond);
      console.log(`  ${variant.name.padEnd(36)} ${formatRate(rate).padStart(8)} ops/s   ${redis === undefined ? '' : `${(rate / redisRate).toFixed(2)}x Redis   `}${(rate / floorRates[variant.threads]).toFixed(2)}x the floor of ${variant.threads} thread${variant.threads === 1 ? '' : 's'}${variant.errors > 0 ? `   errors ${variant.errors}` : ''}`);
    }
    if (other !== undefined) console.log(`  this build against the other (medians): one thread ${(median(variants[3]!.opsPerSecond) / median(variants[5]!.opsPerSecond)).toFixed(2)}x, two threads ${(median(variants[4]!.opsPerSecond) / median(variants[6]!.opsPerSecond)).toFixed(2)}x`);
    console.log(`  two threads against one (medians): floor ${(floorRates[2] / floorRates[1]).toFixed(2)}x, ringtable ${(median(variants[4]!.opsPerSecond) / median(variants[3]!.opsPerSecond)).toFixed(2)}x`);
    if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ benchmark: 'ycsb-b floor', argv: process.argv.slice(2), seed: args.seed, variants: variants.map(({ name, threads, opsPerSecond, errors }) => ({ name, threads, opsPerSecond, median: median(opsPerSecond), errors })) }, null, 2));
  } finally {
    for (const close of closers.reverse()) await close();
    removeTempDir(dir);
  }
}

await main();
