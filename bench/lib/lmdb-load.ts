/**
 * The raw lmdb-js side of bench/attach-threads.bench.ts's YCSB-B (issue 15:
 * ringtable against Redis and raw lmdb-js in the same interleaved rounds):
 * the same closed loop as thread-load.ts's ycsbLane on one LMDB environment
 * opened as a ringtable node opens its own, one copy, on the main thread.
 * A read is `getBinaryFast` and a msgpack decode, synchronous; a write is
 * `db.put` of the packed value, done when committed, so the writes of one
 * turn share a transaction (lmdb-js's batching), as bench/ycsb's lmdb
 * target drives it.
 */
import type { RootDatabase } from 'lmdb';
import type { Durability } from '../../lib/index.js';
import { keyName } from '../ycsb/key-name.js';
import { type LoadConfig, type LoadData, type LoadResult } from './thread-load.js';
import { runYcsbBLanes } from './ycsb-b-lanes.js';
import { openRawLmdb, rawBatchSettled, valuePackr } from './workloads.js';


export class LmdbLoad {
  private readonly db: RootDatabase<Uint8Array, Uint8Array>;
  private readonly durability: Durability;
  /** Key bytes per key number, made once (ringtable's keys are encoded per call; lmdb-js needs bytes). */
  private readonly keys: Buffer[];

  private constructor(db: RootDatabase<Uint8Array, Uint8Array>, durability: Durability, keys: Buffer[]) {
    this.db = db;
    this.durability = durability;
    this.keys = keys;
  }

  /** Open an environment at `path` and load `config.records` records of `data.value`. */
  static async open(path: string, durability: Durability, config: LoadConfig, data: LoadData): Promise<LmdbLoad> {
    const db = openRawLmdb(path, durability);
    const keys = Array.from({ length: config.records }, (_, i) => Buffer.from(keyName(i)));
    const packed = valuePackr.pack(data.value);
    await db.transaction(() => {
      for (const key of keys) void db.put(key, packed);
    });
    await rawBatchSettled(db, durability);
    return new LmdbLoad(db, durability, keys);
  }

  /** As runLoad's YCSB-B: until Date.now() reaches endAtMs; `stream` picks the PRNG stream. */
  run(config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
    const { db, keys } = this;
    return runYcsbBLanes(config, stream, endAtMs, {
      read: (index) => {
        const bytes = db.getBinaryFast(keys[index]!);
        return bytes !== undefined && (valuePackr.unpack(bytes) as Uint8Array).byteLength === config.valueBytes;
      },
      update: async (index) => {
        await db.put(keys[index]!, valuePackr.pack(data.value));
        if (this.durability === 'sync') await db.flushed;
      },
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
