/**
 * One application thread's closed-loop load for bench/attach-threads.bench.ts:
 * YCSB-B (95% reads, 5% updates, scrambled zipfian keys) or getMany R=1
 * batches of uniform keys, run until a wall-clock instant, on the owner's
 * store (the main thread) or on an attached one (Store.attach, a worker
 * started with workerData.threadLoad). Each thread draws from its own seeded
 * stream, so the threads' streams differ but replay.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { Store, type StoreHandle } from '../../lib/index.js';
import { ScrambledZipfianGenerator } from '../ycsb/scrambled-zipfian.js';
import { ZipfianGenerator } from '../ycsb/zipfian.js';
import { keyName } from '../ycsb/key-name.js';
import { VALUE_BYTES, makeDataSet, type DataSet } from './data.js';
import { serveLoadThread } from './load-thread.js';

export interface LoadConfig {
  workload: 'ycsb-b' | 'get-many';
  records: number;
  /** YCSB-B's value size (get-many uses the data set's 100 B values). */
  valueBytes: number;
  /** Calls in flight per thread. */
  concurrency: number;
  /** Keys per getMany call. */
  batch: number;
  seed: number;
  /** YCSB-B's key distribution: YCSB's scrambled zipfian (the default) or the plain, clustered one (issue 15 target 2). */
  distribution?: 'zipfian' | 'scrambled-zipfian';
}

/** The YCSB-B key chooser of `config`. */
export function ycsbKeyChooser(config: LoadConfig): { draw(prng: Prng): number } {
  return config.distribution === 'zipfian' ? new ZipfianGenerator(config.records) : new ScrambledZipfianGenerator(config.records);
}

export interface LoadResult {
  ops: number;
  errors: number;
  /** get-many: keys that came back absent or of the wrong size (a wrong answer, not a slow one). */
  wrong: number;
}

/** YCSB-B: reads of all operations (the rest are updates). */
export const READ_PROPORTION = 0.95;

/** What a thread's loop reads: built once per thread (the data set is regenerated from the seed, not copied). */
export interface LoadData {
  value: Uint8Array;
  data: DataSet | undefined;
}

export function loadData(config: LoadConfig): LoadData {
  const value = new Prng(deriveSeed(config.seed, 11)).fill(new Uint8Array(config.valueBytes));
  return { value, data: config.workload === 'get-many' ? makeDataSet(config.records, config.seed) : undefined };
}

/** Run `config`'s loop on `store` until Date.now() reaches endAtMs; `stream` picks this thread's PRNG stream. */
export async function runLoad(store: Store, config: LoadConfig, data: LoadData, stream: number, endAtMs: number): Promise<LoadResult> {
  const result: LoadResult = { ops: 0, errors: 0, wrong: 0 };
  const prng = new Prng(deriveSeed(config.seed, 100 + stream));
  const lane = config.workload === 'ycsb-b' ? ycsbLane(store, config, data, prng, result, endAtMs) : getManyLane(store, config, data.data!, prng, result, endAtMs);
  await Promise.all(Array.from({ length: config.concurrency }, lane));
  return result;
}

function ycsbLane(store: Store, config: LoadConfig, data: LoadData, prng: Prng, result: LoadResult, endAtMs: number): () => Promise<void> {
  const chooser = ycsbKeyChooser(config);
  const readBelow = READ_PROPORTION * 4294967296;
  return async () => {
    while (Date.now() < endAtMs) {
      const key = keyName(chooser.draw(prng));
      try {
        if (prng.nextUint32() < readBelow) await store.get(key);
        else await store.put(key, data.value);
        result.ops++;
      } catch {
        result.errors++;
      }
    }
  };
}

function getManyLane(store: Store, config: LoadConfig, data: DataSet, prng: Prng, result: LoadResult, endAtMs: number): () => Promise<void> {
  return async () => {
    const keys = new Array<Uint8Array>(config.batch);
    while (Date.now() < endAtMs) {
      for (let i = 0; i < keys.length; i++) keys[i] = data.keys[prng.nextBelow(data.keys.length)]!;
      try {
        const results = await store.getMany(keys, { r: 1 });
        for (const found of results) if (!(found?.value instanceof Uint8Array) || found.value.byteLength !== VALUE_BYTES) result.wrong++;
        result.ops += keys.length;
      } catch {
        result.errors++;
      }
    }
  };
}

/** What readies the worker side (load-thread.ts): attach to the owner's store. */
export type AttachLoadThread = { type: 'attach'; handle: StoreHandle; config: LoadConfig };

if (!isMainThread && (workerData as { threadLoad?: boolean } | undefined)?.threadLoad === true) {
  let store: Store | undefined;
  let config: LoadConfig | undefined;
  let data: LoadData | undefined;
  serveLoadThread<AttachLoadThread>(parentPort!, {
    ready: async (message) => {
      config = message.config;
      data = loadData(config);
      store = await Store.attach(message.handle);
    },
    run: (stream, endAtMs) => runLoad(store!, config!, data!, stream, endAtMs),
    close: async () => {
      await store?.close();
    },
  });
}
