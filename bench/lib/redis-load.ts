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
import { keyName } from '../ycsb/key-name.js';
import type { RedisServer } from './redis-server.js';
import { type LoadConfig, type LoadData, type LoadResult } from './thread-load.js';
import { runYcsbBLanes } from './ycsb-b-lanes.js';
import { valuePackr } from './workloads.js';

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
  run(config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
    const client = this.client;
    return runYcsbBLanes(config, stream, endAtMs, {
      read: async (index) => {
        const bytes = await client.getBuffer(keyName(index));
        return bytes !== null && (valuePackr.unpack(bytes) as Uint8Array).byteLength === config.valueBytes;
      },
      update: (index) => client.set(keyName(index), valuePackr.pack(data.value)),
    });
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
