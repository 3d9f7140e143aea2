/**
 * What a storage node needs from its local store. LMDB implements it in the
 * worker; the failures issue's deterministic simulation implements it in memory.
 */
import type { PartitionSelection } from '../ring/partition-selection.js';

export type Durability = 'sync' | 'async' | 'none';

export interface WriteBatch {
  /** The key's stored bytes as of this transaction, including earlier writes in it. */
  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, bytes: Uint8Array): void;
  /**
   * `put(key, bytes.subarray(at, at + length))` without the view: a node
   * stores a replicated object straight from the write envelope it came in
   * (issue 15 target 4: a view per write was most of what a node allocated).
   * The engine copies the bytes before it returns.
   */
  putAt(key: Uint8Array, bytes: Uint8Array, at: number, length: number): void;
  remove(key: Uint8Array): void;
  /** Remember that `key` may expire at `expiresAtMs`, for the background sweep. */
  indexExpiry(key: Uint8Array, expiresAtMs: number): void;
  /** Forget an expiry-index entry the sweep has dealt with. */
  removeExpiry(candidate: ExpiryCandidate): void;
  /** Persist the node's actor epoch with this transaction's writes (see version/actor.ts). */
  writeEpoch(epoch: number): void;
  /** The hints keyspace: objects held for node `owner` while it is down (Dynamo §4.6), apart from the node's own. */
  getHint(owner: number, key: Uint8Array): Uint8Array | undefined;
  putHint(owner: number, key: Uint8Array, bytes: Uint8Array): void;
  removeHint(owner: number, key: Uint8Array): void;
  /** Persist the highest leader term this node was told for a ring partition (a restart must not forget it). */
  writeTerm(partition: number, term: number): void;
  /** Remove up to `keysMax` keys of `space` (objects, then hints of every owner): true if some remain. */
  removeSpace(space: number, keysMax: number): boolean;
}

/** One stored key and its encoded object, as listed by hintsOf and scan. */
export interface StoredEntry {
  key: Uint8Array;
  object: Uint8Array;
}

export interface ExpiryCandidate {
  key: Uint8Array;
  expiresAtMs: number;
}

export interface StorageEngine {
  /** Stored bytes, or undefined; the view is valid only until the next call. */
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Run `apply` inside one write transaction (group commit). Returns
   * undefined when the commit is already as durable as the engine's
   * `Durability` promises, or a promise that resolves when it is.
   */
  write(apply: (batch: WriteBatch) => void): Promise<void> | undefined;
  /** Up to `limit` expiry-index entries due at or before `nowMs`, oldest first. */
  dueExpiries(nowMs: number, limit: number): ExpiryCandidate[];
  /** A stored hint, or undefined; the view is valid only until the next call. */
  getHint(owner: number, key: Uint8Array): Uint8Array | undefined;
  /** Up to `limit` hints for `owner` in key order, after `afterKey` (exclusive; empty = from the start). Copies. */
  hintsOf(owner: number, afterKey: Uint8Array, limit: number): StoredEntry[];
  /** How many hints are held for each owner (read once at start; the replica keeps the count after). */
  hintCounts(): Map<number, number>;
  /**
   * Own objects in key order after `afterKey` (exclusive) placed in the
   * partitions `selection` wants, up to `limit` of them, looking at no more
   * than `examineMax` keys (a seek over partitions not wanted counts as one:
   * partition-selection.ts). Copies. `next` is where to continue; undefined
   * when the scan reached the end.
   */
  scan(afterKey: Uint8Array, selection: PartitionSelection, limit: number, examineMax: number): { entries: StoredEntry[]; next: Uint8Array | undefined };
  /**
   * Own objects with keys in [start, end) in key order (descending from just
   * below `end` when `reverse`), at most `limit`, stopping after the entry
   * whose value bytes (as `measure` counts them) reach `bytesMax`; an object
   * `measure` counts as negative is skipped (a tombstone, an expired value).
   * Copies. `more`: counted keys remain after the last.
   */
  range(start: Uint8Array, end: Uint8Array, reverse: boolean, limit: number, bytesMax: number, measure: (object: Uint8Array) => number): { entries: StoredEntry[]; more: boolean };
  /** The leader terms persisted by writeTerm, by partition. */
  readTerms(): Map<number, number>;
  /** The actor epoch last persisted, 0 for a new node. */
  readEpoch(): number;
  counts(): { keys: number; bytes: number };
  close(): Promise<void>;
}
