/**
 * The floor of YCSB-B at N=3 R=2 W=2 from one thread (issue 15 target 2):
 * the least work any replicated design must do per operation, on raw lmdb-js
 * with nothing else (no ring, no versions, no messages, no quorum
 * bookkeeping), against Redis and ringtable in the same interleaved rounds.
 *
 *   floor        three LMDB environments (the key's N = 3 replicas), each
 *                holding every record: a read is getBinaryFast on the first,
 *                a copy, getBinaryFast on the second, a byte comparison and a
 *                msgpack decode (an R = 2 read that agrees, read in place);
 *                an update is one put into each of the three, done when
 *                two committed (W = 2; lmdb-js batches a turn's puts into one
 *                transaction per environment, on its own write thread)
 *   raw          raw lmdb-js, one environment, one read or one put (no replicas)
 *   redis        Redis through ioredis, one connection, pipelined (redis-load.ts)
 *   ringtable    store.get / store.put, 8 nodes, N=3 R=2 W=2 (thread-load.ts)
 *
 *   node dist/bench/ycsb-b-floor.bench.js --seconds 5 --rounds 3
 *
 * 95% reads, 5% updates, plain zipfian keys (--distribution), --concurrency
 * calls in flight, durability none. Medians of the rounds; each figure's
 * ratio to Redis is of the same rounds.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { RootDatabase } from 'lmdb';
import { Store, type PutManyEntry } from '../lib/index.js';
import { formatRate, median, settle } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { openRawLmdb, rawBatchSettled, valuePackr } from './lib/workloads.js';
import { keyName } from './ycsb/key-name.js';
import { RedisLoad } from './lib/redis-load.js';
import { LmdbLoad } from './lib/lmdb-load.js';
import { REDIS_SERVER_DEFAULT_COMMAND, RedisServer } from './lib/redis-server.js';
import { type LoadConfig, type LoadData, type LoadResult, loadData, runLoad } from './lib/thread-load.js';
import { runYcsbBLanes } from './lib/ycsb-b-lanes.js';

const args = parseOptions('node dist/bench/ycsb-b-floor.bench.js', 'YCSB-B at N=3 R=2 W=2 from one thread: the replicated floor on raw lmdb-js against Redis and ringtable, interleaved, one run.', {
  records: int(100_000, 'records (zipfian key space)'),
  'value-bytes': int(1000, 'value size'),
  concurrency: int(256, 'calls in flight'),
  seconds: int(5, 'length of each timed run'),
  rounds: int(3, 'interleaved rounds'),
  'failure-timeout-ms': int(10_000, "the store's failureTimeoutMs and timeoutMs (a loaded machine starves threads)"),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
  distribution: choice('zipfian', ['scrambled-zipfian', 'zipfian'], "the keys: YCSB's scrambled zipfian or the plain, clustered one (issue 15 target 2)"),
  'redis-server': text("redis-server command (default: redis-server from PATH; 'none': no Redis variant)", 'COMMAND'),
});

const REPLICAS = 3;

/** The floor: N = 3 raw environments, R = 2 reads compared, W = all three puts. */
class ReplicatedFloor {
  private constructor(private readonly dbs: RootDatabase<Uint8Array, Uint8Array>[], private readonly keys: Buffer[]) {}

  static async open(dir: string, config: LoadConfig, data: LoadData): Promise<ReplicatedFloor> {
    const dbs = Array.from({ length: REPLICAS }, (_, i) => openRawLmdb(join(dir, `floor-${i}`), 'none'));
    const keys = Array.from({ length: config.records }, (_, i) => Buffer.from(keyName(i)));
    const packed = valuePackr.pack(data.value);
    for (const db of dbs) {
      await db.transaction(() => {
        for (const key of keys) void db.put(key, packed);
      });
      await rawBatchSettled(db, 'none');
    }
    return new ReplicatedFloor(dbs, keys);
  }

  run(config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
    const [first, second, third] = this.dbs as [RootDatabase<Uint8Array, Uint8Array>, RootDatabase<Uint8Array, Uint8Array>, RootDatabase<Uint8Array, Uint8Array>];
    const keys = this.keys;
    let held = Buffer.allocUnsafeSlow(4096);
    return runYcsbBLanes(config, stream, endAtMs, {
      read: (index) => {
        const key = keys[index]!;
        // lmdb-js reuses its read buffer: the first replica's record is copied before the second is read.
        const a = first.getBinaryFast(key);
        if (a === undefined) return false;
        // lmdb-js's buffer is its whole read buffer with `length` set to the record's: copied by that length.
        const length = a.length;
        if (held.byteLength < length) held = Buffer.allocUnsafeSlow(length * 2);
        held.set(a.subarray(0, length), 0);
        const b = second.getBinaryFast(key);
        if (b === undefined || b.length !== length || held.compare(b, 0, length, 0, length) !== 0) return false;
        return (valuePackr.unpack(b) as Uint8Array).byteLength === config.valueBytes;
      },
      update: (index) => {
        const key = keys[index]!;
        const packed = valuePackr.pack(data.value);
        return firstTwo(first.put(key, packed), second.put(key, packed), third.put(key, packed));
      },
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.dbs.map((db) => db.close()));
  }
}

/** W = 2 of N = 3: done when two of the three puts committed (the third still costs its put). */
function firstTwo(a: Promise<boolean>, b: Promise<boolean>, c: Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const one = () => {
      if (++done === 2) resolve();
    };
    a.then(one, reject);
    b.then(one, reject);
    c.then(one, reject);
  });
}

interface Variant {
  name: string;
  run: (endAtMs: number, stream: number) => Promise<LoadResult>;
  opsPerSecond: number[];
  errors: number;
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
    const floor = await ReplicatedFloor.open(dir, config, data);
    closers.push(() => floor.close());
    const raw = await LmdbLoad.open(join(dir, 'raw'), 'none', config, data);
    closers.push(() => raw.close());
    const redis = await startRedis(config);
    if (redis !== undefined) closers.push(() => redis.close());
    const variants: Variant[] = [
      { name: 'floor: 2 reads + compare, 3 puts W=2', run: (endAtMs, stream) => floor.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
      { name: 'raw lmdb-js, 1 copy', run: (endAtMs, stream) => raw.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
      { name: 'ringtable get/put, R=2 W=2', run: (endAtMs, stream) => runLoad(store, config, data, stream, endAtMs), opsPerSecond: [], errors: 0 },
    ];
    if (redis !== undefined) variants.push({ name: `redis ${redis.version} (ioredis, pipelined)`, run: (endAtMs, stream) => redis.run(config, data, stream, endAtMs), opsPerSecond: [], errors: 0 });
    console.log(`YCSB-B (95/5, ${args.distribution}), ${args.records} x ${args['value-bytes']} B, N=3 R=2 W=2, durability none, ${args.concurrency} in flight, one thread, ${args.seconds} s runs, ${args.rounds} interleaved rounds:`);
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
    const floorRate = median(variants[0]!.opsPerSecond);
    for (const variant of variants) {
      const rate = median(variant.opsPerSecond);
      console.log(`  ${variant.name.padEnd(36)} ${formatRate(rate).padStart(8)} ops/s   ${(rate / redisRate).toFixed(2)}x Redis   ${(rate / floorRate).toFixed(2)}x floor${variant.errors > 0 ? `   errors ${variant.errors}` : ''}`);
    }
    if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ benchmark: 'ycsb-b floor', argv: process.argv.slice(2), seed: args.seed, variants: variants.map(({ name, opsPerSecond, errors }) => ({ name, opsPerSecond, median: median(opsPerSecond), errors })) }, null, 2));
  } finally {
    for (const close of closers.reverse()) await close();
    removeTempDir(dir);
  }
}

await main();
