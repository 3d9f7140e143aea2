/**
 * What the driver runs an operation stream against: ringtable (SAB or
 * postMessage transport), a Map, raw lmdb-js, or Redis. Each method takes key
 * numbers (the target holds the KeySpace) and returns the number of keys that
 * had no value, synchronously when the target is synchronous (Map, lmdb-js
 * reads) and as a promise otherwise; failures throw or reject. A promise
 * resolves with that number, or with anything for a write (nothing is
 * missing), or for a read with what `missingOf` counts: ringtable's read is
 * then Store.get's own promise, not a second one chained to it (one promise
 * per operation: the coordinator's allocation is what its collections and
 * its tail are made of, and the synchronous baselines allocate none).
 */
export type Outcome = number | Promise<unknown>;

export interface KvTarget {
  /** 'ringtable', 'map', 'lmdb', 'post-message', 'redis'. */
  readonly name: string;
  /** One line on what it is and how it is driven (BaselineResult.description). */
  readonly description: string;
  /** Write records [from, to) with their load values; resolves when they are acknowledged. `loaded` reports progress (records acknowledged so far). */
  load(from: number, to: number, loaded?: (count: number) => void): Promise<void>;
  read(keyNumber: number): Outcome;
  /** What a read's promise resolved with, as the count of keys that had no value (when it is not that count itself). */
  missingOf?(result: unknown): number;
  /** Update and insert alike: a write without context (a blind overwrite). */
  write(keyNumber: number, value: Uint8Array): Outcome;
  /** Read records [from, to) in one multi-get. */
  scan(from: number, to: number): Outcome;
  /** Read, then write with what the read returned (ringtable: its causal context). */
  readModifyWrite(keyNumber: number, value: Uint8Array): Outcome;
  close(): Promise<void>;
}
