/**
 * The ringtable and raw lmdb-js sides of the workloads, kept here so every
 * benchmark drives them the same way.
 */
import { type RootDatabase, open } from 'lmdb';
import { Packr } from 'msgpackr';
import type { Durability, PutManyEntry, Store } from '../../lib/index.js';
import type { DataSet } from './data.js';

/**
 * Preload a store with putMany in large batches, `concurrency` calls at a time
 * (each call keeps its own bounded window in flight, so the nodes see deeper
 * queues and commit larger groups). Returns how many batches were sent.
 */
export async function preloadStore(store: Store, data: DataSet, batchSize: number, concurrency = 1): Promise<number> {
  let nextStart = 0;
  let batches = 0;
  const worker = async () => {
    while (nextStart < data.keys.length) {
      const start = nextStart;
      const end = Math.min(data.keys.length, start + batchSize);
      nextStart = end;
      const entries = new Array<PutManyEntry>(end - start);
      for (let i = start; i < end; i++) entries[i - start] = [data.keys[i]!, data.values[i]!];
      await store.putMany(entries);
      batches++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return batches;
}

export interface ReadTally {
  found: number;
  missing: number;
  /** Values whose length was not the expected one: a wrong answer, not a slow one. */
  wrongLength: number;
}

export function newTally(): ReadTally {
  return { found: 0, missing: 0, wrongLength: 0 };
}

function tallyValue(tally: ReadTally, value: unknown, valueBytes: number): void {
  if (value === undefined) tally.missing++;
  else if ((value as Uint8Array).byteLength !== valueBytes) tally.wrongLength++;
  else tally.found++;
}

/**
 * Single `get(key, { r })` calls with at most `inFlight` outstanding: each
 * completion starts the next request, so the pipeline stays full.
 */
export function pipelinedGets(store: Store, keys: readonly Uint8Array[], order: Uint32Array, inFlight: number, r: number, valueBytes: number, tally: ReadTally): Promise<void> {
  const count = order.length;
  const options = { r };
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    const onResult = (result: { value: unknown } | undefined) => {
      tallyValue(tally, result?.value, valueBytes);
      if (++done === count) resolve();
      else if (next < count) launch();
    };
    const launch = () => {
      store.get(keys[order[next++]!]!, options).then(onResult, reject);
    };
    const initial = Math.min(inFlight, count);
    for (let i = 0; i < initial; i++) launch();
    if (count === 0) resolve();
  });
}

/** getMany over prepared batches, one call at a time. */
export async function batchedGets(store: Store, batches: readonly Uint8Array[][], r: number, valueBytes: number, tally: ReadTally): Promise<void> {
  const options = { r };
  for (const batch of batches) {
    const results = await store.getMany(batch, options);
    for (let i = 0; i < results.length; i++) tallyValue(tally, results[i]?.value, valueBytes);
  }
}

// ---- raw lmdb-js --------------------------------------------------------

/** The Packr ringtable uses for values (lib/store/value-codec.ts): same options, same work. */
export const valuePackr = new Packr({ useRecords: false, copyBuffers: true });

/**
 * One LMDB environment opened the way a ringtable storage node opens its own
 * (lib/storage/lmdb-storage.ts): binary keys and values, no lmdb-js cache,
 * noSync only for durability 'none'. overlappingSync is lmdb-js's default.
 */
export function openRawLmdb(path: string, durability: Durability): RootDatabase<Uint8Array, Uint8Array> {
  return open<Uint8Array, Uint8Array>({
    path,
    noSync: durability === 'none',
    mapSize: 2 ** 30,
    encoding: 'binary',
    keyEncoding: 'binary',
    cache: false,
  });
}

/** What an acknowledged batch waits for, matching ringtable's durability (lmdb-storage.ts). */
export async function rawBatchSettled(db: RootDatabase<Uint8Array, Uint8Array>, durability: Durability): Promise<void> {
  await db.committed;
  if (durability === 'sync') await db.flushed;
}

export const RAW_OPEN_OPTIONS = "lmdb open({ encoding: 'binary', keyEncoding: 'binary', cache: false, noSync: durability === 'none', mapSize: 1 GiB }), as a ringtable node opens its environment";
