/**
 * Redis through ioredis on loopback, when a redis-server answers on
 * 127.0.0.1 (port 6379 unless --redis-port says otherwise). One connection; the driver keeps up to `concurrency`
 * commands outstanding on it, which ioredis writes as they come (pipelined on
 * the socket). read = GET, update/insert = SET, scan = MGET, read-modify-
 * write = GET then SET. Values are the same msgpack bytes as the other
 * targets. Keys carry a per-run prefix and are deleted at the end, so a
 * user's data in that Redis is never touched. Durability is Redis's own: run
 * it as `redis-server --save '' --appendonly no` (nothing on disk), which is
 * what the comparison assumes.
 *
 * ioredis is an optional dependency, loaded only when this baseline runs.
 */
import type { Redis as RedisClient } from 'ioredis';
import type { RedisServer } from '../../lib/redis-server.js';
import { valuePackr } from '../../lib/workloads.js';
import type { KeySpace } from '../key-space.js';
import type { KvTarget, Outcome } from './kv-target.js';
import { missingOrChecked } from './value-check.js';

export const REDIS_HOST = '127.0.0.1';
/** How long to wait for a redis-server to answer before reporting it absent. */
const CONNECT_TIMEOUT_MS = 500;
/** Keys per MSET while loading and per DEL when cleaning up. */
const BATCH = 1000;
/** Load batches outstanding at once. */
const LOAD_BATCHES_IN_FLIGHT = 8;

export function redisStartNote(port: number): string {
  const portFlag = port === 6379 ? '' : ` --port ${port}`;
  return `no redis-server answered on ${REDIS_HOST}:${port}; to include this baseline: apt-get install redis-server && redis-server --save '' --appendonly no${portFlag}`;
}

export type RedisConnection = { ok: true; target: RedisTarget } | { ok: false; note: string };

export class RedisTarget implements KvTarget {
  readonly name = 'redis';
  readonly description: string;
  private readonly client: RedisClient;
  private readonly keys: KeySpace;
  /** Each key number's Redis key: this run's prefix + the name, as a string or (--key-form bytes) its UTF-8 bytes made before the run. */
  private readonly names: (string | Buffer)[];
  /** The server this run started (--redis-server), stopped on close. */
  private readonly server: RedisServer | undefined;

  private constructor(client: RedisClient, keys: KeySpace, port: number, serverVersion: string, server: RedisServer | undefined) {
    this.client = client;
    this.keys = keys;
    this.server = server;
    const prefix = `ringtable-bench:${process.pid}:${Date.now()}:`;
    this.names = keys.names.map((name) => (keys.keyForm === 'bytes' ? Buffer.from(prefix + name, 'utf8') : prefix + name));
    const started = server === undefined ? "durability is the server's (assumed --save '' --appendonly no)" : `server started by the bench (${server.command} --save '' --appendonly no: durability none)`;
    this.description = `Redis ${serverVersion} via ioredis on ${REDIS_HOST}:${port}, one connection, commands pipelined up to the concurrency; GET / SET / MGET / GET+SET; ${started}`;
  }

  /** Connect, or say why not: ioredis missing or no server answering within a short timeout. `server`, if given, is stopped on close (or now, on failure). */
  static async connect(keys: KeySpace, port: number, server?: RedisServer): Promise<RedisConnection> {
    let Redis: typeof import('ioredis').Redis;
    try {
      ({ Redis } = await import('ioredis'));
    } catch {
      await server?.stop();
      return { ok: false, note: 'ioredis is not installed (an optional dependency): npm install ioredis' };
    }
    const client = new Redis({
      host: REDIS_HOST,
      port,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // ioredis reports connection errors as events too; the rejected connect() below is what we act on.
    client.on('error', () => {});
    try {
      await client.connect();
      const info = await client.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
      return { ok: true, target: new RedisTarget(client, keys, port, version, server) };
    } catch (error) {
      client.disconnect();
      await server?.stop();
      return { ok: false, note: `${redisStartNote(port)} (${(error as Error).message})` };
    }
  }

  async load(from: number, to: number, loaded?: (count: number) => void): Promise<void> {
    let next = from;
    let done = 0;
    const caller = async () => {
      while (next < to) {
        const start = next;
        const end = Math.min(to, start + BATCH);
        next = end;
        const pairs: (string | Buffer)[] = [];
        for (let k = start; k < end; k++) pairs.push(this.names[k]!, valuePackr.pack(this.keys.loadValue(k)));
        await this.client.mset(pairs);
        done += end - start;
        loaded?.(done);
      }
    };
    await Promise.all(Array.from({ length: LOAD_BATCHES_IN_FLIGHT }, caller));
  }

  read(keyNumber: number): Outcome {
    return this.client.getBuffer(this.names[keyNumber]!).then(this.checked);
  }

  write(keyNumber: number, value: Uint8Array): Outcome {
    return this.client.set(this.names[keyNumber]!, valuePackr.pack(value)).then(() => 0);
  }

  scan(from: number, to: number): Outcome {
    return this.client.mgetBuffer(this.names.slice(from, to)).then((values) => {
      let missing = 0;
      for (const value of values) missing += this.checked(value);
      return missing;
    });
  }

  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome {
    return this.client.getBuffer(this.names[keyNumber]!).then((bytes) => {
      const missing = this.checked(bytes);
      return this.client.set(this.names[keyNumber]!, valuePackr.pack(value)).then(() => missing);
    });
  }

  private readonly checked = (bytes: Buffer | null): number => missingOrChecked(bytes === null ? undefined : valuePackr.unpack(bytes), this.keys.valueBytes);

  /** Deletes this run's keys, then disconnects; stops the server if this run started it. */
  async close(): Promise<void> {
    try {
      if (this.server === undefined) for (let start = 0; start < this.names.length; start += BATCH) await this.client.unlink(this.names.slice(start, start + BATCH));
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    await this.server?.stop();
  }
}
