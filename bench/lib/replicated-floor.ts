/**
 * The floor of YCSB-B at N=3 R=2 W=2 (bench/ycsb-b-floor.bench.ts, issue 15
 * target 2): the least work any replicated design must do per operation, on
 * raw lmdb-js with nothing else (no ring, no versions, no messages, no quorum
 * bookkeeping). Three LMDB environments (a key's N = 3 replicas), each
 * holding every record: a read is getBinaryFast on the first, a copy,
 * getBinaryFast on the second, a byte comparison and a msgpack decode (an
 * R = 2 read that agrees, read in place); an update is one put into each of
 * the three, done when two committed (W = 2; lmdb-js batches a turn's puts
 * into one transaction per environment, on its own write thread).
 *
 * The same loop runs in a worker thread too (workerData.floorThread), over
 * the same three environments: lmdb-js shares one environment per path
 * within a process, so a second application thread reads the same memory
 * map and its puts queue for the same writer lock, as two ringtable
 * application threads share the same node threads' environments.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { keyName } from '../ycsb/key-name.js';
import { serveLoadThread } from './load-thread.js';
import { type LoadConfig, type LoadData, type LoadResult, loadData } from './thread-load.js';
import { openRawLmdb, rawBatchSettled, valuePackr } from './workloads.js';
import { runYcsbBLanes } from './ycsb-b-lanes.js';

const REPLICAS = 3;
type Binary = RootDatabase<Uint8Array, Uint8Array>;

/** What readies a floor thread: open the environments under `dir` (already loaded by the main thread). */
export type OpenFloorThread = { type: 'open'; dir: string; config: LoadConfig };

/** N = 3 raw environments, R = 2 reads compared, W = 2 of three puts. */
export class ReplicatedFloor {
  private held = Buffer.allocUnsafeSlow(4096);

  private constructor(
    private readonly dbs: Binary[],
    private readonly keys: Buffer[],
  ) {}

  /** Open the three environments under `dir`, without loading them. */
  static open(dir: string, config: LoadConfig): ReplicatedFloor {
    const dbs = Array.from({ length: REPLICAS }, (_, i) => openRawLmdb(join(dir, `floor-${i}`), 'none'));
    const keys = Array.from({ length: config.records }, (_, i) => Buffer.from(keyName(i)));
    return new ReplicatedFloor(dbs, keys);
  }

  /** Open them and write every record of `data` into each. */
  static async load(dir: string, config: LoadConfig, data: LoadData): Promise<ReplicatedFloor> {
    const floor = ReplicatedFloor.open(dir, config);
    const packed = valuePackr.pack(data.value);
    for (const db of floor.dbs) {
      await db.transaction(() => {
        for (const key of floor.keys) void db.put(key, packed);
      });
      await rawBatchSettled(db, 'none');
    }
    return floor;
  }

  run(config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
    const [first, second, third] = this.dbs as [Binary, Binary, Binary];
    const keys = this.keys;
    return runYcsbBLanes(config, stream, endAtMs, {
      read: (index) => {
        const key = keys[index]!;
        // lmdb-js reuses its read buffer: the first replica's record is copied before the second is read.
        const a = first.getBinaryFast(key);
        if (a === undefined) return false;
        // lmdb-js's buffer is its whole read buffer with `length` set to the record's: copied by that length.
        const length = a.length;
        if (this.held.byteLength < length) this.held = Buffer.allocUnsafeSlow(length * 2);
        this.held.set(a.subarray(0, length), 0);
        const b = second.getBinaryFast(key);
        if (b === undefined || b.length !== length || this.held.compare(b, 0, length, 0, length) !== 0) return false;
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

if (!isMainThread && (workerData as { floorThread?: boolean } | undefined)?.floorThread === true) {
  let floor: ReplicatedFloor | undefined;
  let config: LoadConfig | undefined;
  let data: LoadData | undefined;
  serveLoadThread<OpenFloorThread>(parentPort!, {
    ready: async (message) => {
      config = message.config;
      data = loadData(config);
      floor = ReplicatedFloor.open(message.dir, config);
    },
    run: (stream, endAtMs) => floor!.run(config!, data!, stream, endAtMs),
    close: async () => {
      await floor?.close();
    },
  });
}
