/**
 * The storage ceiling of an N-copy design (put-many.bench.ts): one worker
 * thread per LMDB environment, as ringtable runs one storage node per
 * environment, each writing its share of a batch's records in one
 * read-then-write transaction, as a node merges a batch. No versions are
 * minted, no messages sent, no quorum counted: only the storage work, in
 * parallel. The main side sends "write batch b" and waits for every worker.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { open } from 'lmdb';
import type { Durability } from '../../lib/index.js';
import { lmdbOpenOptions } from '../../lib/storage/lmdb-storage.js';

interface CopyWriterData {
  dir: string;
  durability: Durability;
  /** Sequential transactions each batch is split into (ringtable's nodes commit a batch in several). */
  commitsPerBatch: number;
  /** Per batch: this environment's keys, concatenated, and their records, concatenated, with lengths. */
  batches: { keys: Uint8Array; keyBytes: Uint32Array; records: Uint8Array; recordBytes: Uint32Array }[];
}

export class CopyWriters {
  private readonly workers: Worker[];
  private readonly ready: Promise<unknown>;

  constructor(dirs: readonly string[], durability: Durability, perNode: readonly { keys: Uint8Array[]; records: Uint8Array[] }[][], commitsPerBatch: number) {
    this.workers = dirs.map((dir, node) => {
      const data: CopyWriterData = { dir, durability, commitsPerBatch, batches: perNode.map((batch) => pack(batch[node]!)) };
      return new Worker(new URL(import.meta.url), { workerData: data });
    });
    this.ready = Promise.all(this.workers.map((worker) => nextMessage(worker)));
  }

  async whenReady(): Promise<void> {
    await this.ready;
  }

  /** Every environment writes its share of batch `index`; resolves once all committed (and flushed, for 'sync'). */
  async writeBatch(index: number): Promise<void> {
    await Promise.all(
      this.workers.map((worker) => {
        const done = nextMessage(worker);
        worker.postMessage(index);
        return done;
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map((worker) => {
        const done = nextMessage(worker);
        worker.postMessage(-1);
        return done.then(() => worker.terminate());
      }),
    );
  }
}

/** The worker's next message; its error listener goes with it (one pair per call, never piling up). */
function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      worker.off('error', onError);
      resolve(message);
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

function pack(share: { keys: Uint8Array[]; records: Uint8Array[] }): CopyWriterData['batches'][number] {
  const join = (parts: Uint8Array[]) => {
    const lengths = Uint32Array.from(parts, (part) => part.byteLength);
    const out = new Uint8Array(lengths.reduce((sum, n) => sum + n, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.byteLength;
    }
    return { bytes: out, lengths };
  };
  const keys = join(share.keys);
  const records = join(share.records);
  return { keys: keys.bytes, keyBytes: keys.lengths, records: records.bytes, recordBytes: records.lengths };
}

if (!isMainThread && (workerData as CopyWriterData | undefined)?.batches !== undefined) {
  const { dir, durability, batches, commitsPerBatch } = workerData as CopyWriterData;
  // The options a ringtable node opens its environment with, and the named
  // sub-database its objects live in (lmdb-storage.ts): the same B-tree work per write.
  const env = open<Uint8Array, Uint8Array>(lmdbOpenOptions(dir, durability));
  const root = env.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
  parentPort!.postMessage('ready');
  const writeBatch = async (index: number): Promise<void> => {
    const batch = batches[index]!;
    const count = batch.keyBytes.length;
    const perCommit = Math.ceil(count / commitsPerBatch);
    let keyAt = 0;
    let recordAt = 0;
    for (let from = 0; from < count; from += perCommit) {
      await env.transaction(() => {
        for (let i = from; i < Math.min(count, from + perCommit); i++) {
          const key = batch.keys.subarray(keyAt, keyAt + batch.keyBytes[i]!);
          const record = batch.records.subarray(recordAt, recordAt + batch.recordBytes[i]!);
          keyAt += batch.keyBytes[i]!;
          recordAt += batch.recordBytes[i]!;
          root.getBinaryFast(key as Buffer);
          root.putSync(key as Buffer, record as Buffer);
        }
      });
    }
    if (durability === 'sync') await env.flushed;
  };
  parentPort!.on('message', (index: number) => {
    if (index < 0) {
      void env.close().then(() => parentPort!.postMessage('closed'));
      return;
    }
    void writeBatch(index).then(() => parentPort!.postMessage('done'));
  });
}
