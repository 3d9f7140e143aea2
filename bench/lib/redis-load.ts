/**
 * The Redis side of bench/attach-threads.bench.ts's YCSB-B (issue 15, target
 * 2: ringtable from one and from two application threads against Redis
 * through ioredis, pipelined, in the same rounds): the same closed loop as
 * thread-load.ts's ycsbLane (95% GET, 5% SET, the same zipfian keys,
 * `concurrency` commands outstanding on one connection, which ioredis writes
 * as they come), on a redis-server the bench started (redis-server.ts). Values
 * are msgpack-packed and unpacked with the bench's Packr, as ringtable's are.
 */
import type { Redis as RedisClient } from 'ioredis';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { keyName } from '../ycsb/key-name.js';
import type { RedisServer } from './redis-server.js';
import { type LoadConfig, type LoadData, type LoadResult, ycsbKeyChooser } from './thread-load.js';
import { valuePackr } from './workloads.js';

const READ_PROPORTION = 0.95;
/** Keys per MSET while loading. */
const LOAD_BATCH = 1000;

export class RedisLoad {
  readonly version: string;
  private readonly client: RedisClient;
  private readonly server: RedisServer;

  private constructor(client: RedisClient, server: RedisServer, version: string) {
    this.client = client;
    this.server = server;
    this.version = version;
  }

  /** Connect one client to `server` and load `config.records` records of `data.value`. */
  static async open(server: RedisServer, config: LoadConfig, data: LoadData): Promise<RedisLoad> {
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    await client.connect();
    const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown';
    const packed = valuePackr.pack(data.value);
    for (let start = 0; start < config.records; start += LOAD_BATCH) {
      const pairs: (string | Buffer)[] = [];
      for (let i = start; i < Math.min(config.records, start + LOAD_BATCH); i++) pairs.push(keyName(i), packed);
      await client.mset(pairs);
    }
    return new RedisLoad(client, server, version);
  }

  /** As runLoad's YCSB-B: until Date.now() reaches endAtMs; `stream` picks the PRNG stream. */
  async run(config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
    const result: LoadResult = { ops: 0, errors: 0, wrong: 0 };
    const prng = new Prng(deriveSeed(config.seed, 100 + stream));
    const chooser = ycsbKeyChooser(config);
    const readBelow = READ_PROPORTION * 4294967296;
    const client = this.client;
    const lane = async () => {
      while (Date.now() < endAtMs) {
        const key = keyName(chooser.draw(prng));
        try {
          if (prng.nextUint32() < readBelow) {
            const bytes = await client.getBuffer(key);
            const value = bytes === null ? undefined : (valuePackr.unpack(bytes) as Uint8Array);
            if (value?.byteLength !== config.valueBytes) result.wrong++;
          } else {
            await client.set(key, valuePackr.pack(data.value));
          }
          result.ops++;
        } catch {
          result.errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, lane));
    return result;
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    await this.server.stop();
  }
}
