/**
 * The Store API the tables layer calls (lib/tables/DESIGN.md §5): leader-ordered
 * keys, one replica's ordered range, the ring's token ranges, and dropping a
 * space. Key-value words only; the tables layer builds DynamoDB on them.
 */
import { ALSO_KEYS_MAX } from '../transport/wire.js';
import type { Key } from './value-codec.js';

/** The most `also` writes one ordered write carries (OrderedWrite.also; the wire's bound). */
export const ALSO_WRITES_MAX: number = ALSO_KEYS_MAX;

/** Opaque version of a leader-ordered value; compare only for equality. */
export type OrderedVersion = string;

export interface OrderedValue {
  value: unknown;
  version: OrderedVersion;
  /** Node id of the replica that answered (the inspector shows it). */
  replica: number;
}

export interface GetOrderedOptions {
  /** Read the partition leader's copy, which sees every acknowledged ordered write. Default false: any up replica. */
  consistent?: boolean;
}

export interface OrderedWrite {
  key: Key;
  /** undefined deletes (a tombstone, purged as every other). */
  value?: unknown;
  /** Compare-and-set at the leader: apply only if the current version is this one, or ('absent') if there is no live value. */
  expect?: OrderedVersion | 'absent';
  /** Ttl as for put. */
  ttlMs?: number;
  /**
   * More keys written in the same transaction as `key`, on the leader and on
   * every replica: all or nothing. Each must be a partitioned key with `key`'s
   * token (so one leader orders them all); at most 64. They are written
   * unconditionally, with `key`'s version order; `appendVersion` appends the
   * write's version to the key (u64 big-endian), so such keys are unique and
   * sort by version (a change log).
   */
  also?: readonly AlsoKeyWrite[];
}

export interface AlsoKeyWrite {
  key: Uint8Array;
  /** undefined deletes. */
  value?: unknown;
  appendVersion?: boolean;
}

export interface RangeRequest {
  /** Inclusive lower bound: a partitioned key or a prefix of one that includes its token (at least 9 bytes). */
  start: Uint8Array;
  /** Exclusive upper bound, in the same space; every key in [start, end) must lie in start's ring partition. */
  end: Uint8Array;
  /** Descending: from just below `end` down to `start`. */
  reverse?: boolean;
  /** At most this many entries (1..10,000; default 1,000). */
  limit?: number;
  /** Stop after the entry whose value bytes reach this total (at least one entry; default 1 MiB, and at most about 1 MiB per page). */
  bytesMax?: number;
  /** The partition leader's copy (sees every acknowledged ordered write); otherwise any up replica (may be stale). */
  consistent?: boolean;
}

export interface RangeEntry {
  key: Uint8Array;
  value: unknown;
  version: OrderedVersion;
  valueBytes: number;
}

export interface RangePage {
  entries: RangeEntry[];
  /** True when the range has more keys after the last entry (resume with start = last key + 0x00, or end = last key when reverse). */
  more: boolean;
  replica: number;
}

export interface TokenRange {
  partition: number;
  tokenStart: number;
  /** Exclusive, up to 2^32. */
  tokenEnd: number;
}
