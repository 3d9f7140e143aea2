/**
 * Raw lmdb-js from the main thread: one environment, one copy of each record,
 * the same durability as the store. Opened as a ringtable node opens its own
 * (bench/lib/workloads.ts openRawLmdb), values msgpack-encoded with
 * ringtable's Packr. Reads are synchronous (getBinaryFast, then a decode to a
 * fresh Uint8Array, as ringtable returns). Writes are lmdb-js puts: every put
 * issued in one event turn joins one write transaction (lmdb-js's own
 * batching), and a write counts as done when its batch is committed, and for
 * 'sync' also flushed (bench/lib/workloads.ts rawBatchSettled).
 */
import type { RootDatabase } from 'lmdb';
import type { Durability } from '../../../lib/index.js';
import { openRawLmdb, rawBatchSettled, valuePackr } from '../../lib/workloads.js';
import type { KeySpace } from '../key-space.js';
import type { KvTarget, Outcome } from './kv-target.js';
import { missingOrChecked } from './value-check.js';

/** Puts per event turn while loading: one write transaction each. */
const LOAD_BATCH = 10_000;

export class LmdbTarget implements KvTarget {
  readonly name = 'lmdb';
  readonly description: string;
  private readonly db: RootDatabase<Uint8Array, Uint8Array>;
  private readonly durability: Durability;
  private readonly keys: KeySpace;
  /** UTF-8 bytes of every key, made before the timed loop (KeySpace.bytes: with --key-form bytes, the same objects ringtable's target reads). */
  private readonly keyBytes: readonly Buffer[];

  constructor(path: string, durability: Durability, keys: KeySpace) {
    this.db = openRawLmdb(path, durability);
    this.durability = durability;
    this.keys = keys;
    this.keyBytes = keys.bytes();
    this.description = `raw lmdb-js on the main thread, one copy, durability ${durability}; sync reads, puts batched per event turn and done when committed${durability === 'sync' ? ' and flushed' : ''}`;
  }

  async load(from: number, to: number, loaded?: (count: number) => void): Promise<void> {
    for (let start = from; start < to; start += LOAD_BATCH) {
      const end = Math.min(to, start + LOAD_BATCH);
      for (let k = start; k < end; k++) void this.db.put(this.keyBytes[k]!, valuePackr.pack(this.keys.loadValue(k)));
      await rawBatchSettled(this.db, this.durability);
      loaded?.(end - from);
    }
  }

  read(keyNumber: number): Outcome {
    return this.readKey(this.keyBytes[keyNumber]!);
  }

  private readKey(key: Buffer): number {
    const bytes = this.db.getBinaryFast(key);
    return missingOrChecked(bytes === undefined ? undefined : valuePackr.unpack(bytes), this.keys.valueBytes);
  }

  write(keyNumber: number, value: Uint8Array): Outcome {
    const written = this.db.put(this.keyBytes[keyNumber]!, valuePackr.pack(value));
    if (this.durability === 'sync') return written.then(() => this.db.flushed).then(() => 0);
    return written.then(() => 0);
  }

  scan(from: number, to: number): Outcome {
    let missing = 0;
    for (let k = from; k < to; k++) missing += this.readKey(this.keyBytes[k]!);
    return missing;
  }

  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome {
    const missing = this.readKey(this.keyBytes[keyNumber]!);
    const written = this.write(keyNumber, value) as Promise<number>;
    return written.then(() => missing);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
