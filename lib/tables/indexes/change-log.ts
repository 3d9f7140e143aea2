/**
 * The change log's keys and records, purely (DESIGN.md §6).
 *
 * A base write carries its log records in the same atomic multi-key write as
 * the item (writeOrdered's `also`), so a change is logged exactly when it is
 * committed, whatever fails afterwards. A record's key is
 *
 *   [0xFF][log space][token][part length] ‖ base partition part ‖ version (u64 big-endian, appended by the leader)
 *
 * in the log space of its consumer: one queue space per GSI, one stream
 * space per table with a stream. It shares the base item's partition part,
 * so the item's token, leader and transaction; and the leader's version
 * (which grows with every write of one key, across terms) orders the records
 * of every item of one partition key. Key order is (token, partition,
 * version): in order per item, as DynamoDB promises for indexes and streams
 * (DG: Streams), but not in time order across partitions, which is why a
 * consumer's progress is the log itself (applied records are removed) rather
 * than a position.
 *
 * A stream record is keyed differently, by its ring partition (its shard):
 *
 *   [0xFF][stream space][ring partition's first token][part length 1][0x00] ‖ version
 *
 * in the same ring partition as the item (so the same leader, replicas and
 * atomic write), and every record of one ring partition sorts by the
 * leader's version, which grows with every write the partition's leader
 * orders, across items and terms (version/ordered-version.ts). So a shard
 * is read in commit order, and a reader that tails it from a version misses
 * nothing written later (a record keyed by the item's partition part would
 * land below a tailing reader's position).
 *
 * Records (msgpack values):
 * - GSI queue: { o?: old projected entry, n?: new projected entry, t: commit ms }
 * - stream:    { e: 'INSERT' | 'MODIFY' | 'REMOVE', k: table key attributes,
 *                o?: old image, n?: new image (as the view type keeps them), t: commit ms,
 *                s?: 1 when DynamoDB itself made the change (a Time to Live deletion) }
 *   The sequence number of a stream record is its version (the key's last 8
 *   bytes); records are kept STREAM_RETENTION_MS, then trimmed by the reader.
 */
import { partitionedKey } from '../../ring/hash.js';
import { encodePartitionedKey } from '../../ring/partitioned-key.js';
import type { AttributeMap } from '../attribute-value.js';
import type { IndexChange } from './index-entry.js';
import type { StreamSpecification } from './index-catalog.js';

export const VERSION_SUFFIX_BYTES = 8;
/** DynamoDB Streams keep records 24 hours (DG: Streams). */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface QueueRecord {
  readonly o?: AttributeMap;
  readonly n?: AttributeMap;
  /** The item's key attributes, when it is in the index neither before nor after (IndexChange.key). */
  readonly k?: AttributeMap;
  readonly t: number;
}

export interface StreamRecord {
  readonly e: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly k: AttributeMap;
  readonly o?: AttributeMap;
  readonly n?: AttributeMap;
  readonly t: number;
  /** 1: a service deletion (Time to Live). */
  readonly s?: 1;
}

/** Every stream record key's partition part: the token, not the part, places it (ring/partitioned-key.ts). */
const SHARD_PART = new Uint8Array([0]);
const TOKEN_SPACE = 2 ** 32;

/** The first token of the ring partition (of `ringPartitions` equal ones) that holds `token`: a stream shard's. */
export function shardTokenStart(token: number, ringPartitions: number): number {
  const span = TOKEN_SPACE / ringPartitions;
  return Math.floor(token / span) * span;
}

/** A stream shard's records all begin with this; the leader appends each one's version. */
export function streamShardPrefix(streamSpace: number, tokenStart: number): Uint8Array {
  return encodePartitionedKey(() => tokenStart, streamSpace, SHARD_PART, new Uint8Array(0));
}

/** The key a record is written at, before the leader appends the version. */
export function logKeyPrefix(logSpace: number, basePartitionPart: Uint8Array): Uint8Array {
  return partitionedKey(logSpace, basePartitionPart);
}

/** The base version a record's key ends in. */
export function logVersionOf(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset + key.byteLength - VERSION_SUFFIX_BYTES, VERSION_SUFFIX_BYTES).getBigUint64(0));
}

/** The key less its version: equal for every record of one base partition (their order must be kept). */
export function logGroupOf(key: Uint8Array): string {
  return Buffer.from(key.subarray(0, key.byteLength - VERSION_SUFFIX_BYTES)).toString('latin1');
}

export function queueRecord(change: IndexChange, timestampMs: number): QueueRecord {
  const record: { o?: AttributeMap; n?: AttributeMap; k?: AttributeMap; t: number } = { t: timestampMs };
  if (change.old !== undefined) record.o = change.old;
  if (change.new !== undefined) record.n = change.new;
  if (change.key !== undefined) record.k = change.key;
  return record;
}

export function changeOfRecord(record: QueueRecord): IndexChange {
  const change: { old?: AttributeMap; new?: AttributeMap; key?: AttributeMap } = {};
  if (record.o !== undefined) change.old = record.o;
  if (record.n !== undefined) change.new = record.n;
  if (record.k !== undefined) change.key = record.k;
  return change;
}

/** A stream record as the view type keeps it (DG: Streams, StreamViewType). */
export function streamRecord(specification: StreamSpecification, keys: AttributeMap, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, timestampMs: number, byService = false): StreamRecord | undefined {
  if (oldItem === undefined && newItem === undefined) return undefined;
  const e = oldItem === undefined ? 'INSERT' : newItem === undefined ? 'REMOVE' : 'MODIFY';
  const view = specification.StreamViewType ?? 'NEW_AND_OLD_IMAGES';
  const record: { e: StreamRecord['e']; k: AttributeMap; o?: AttributeMap; n?: AttributeMap; t: number; s?: 1 } = { e, k: keys, t: timestampMs };
  if (byService) record.s = 1;
  if (oldItem !== undefined && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) record.o = oldItem;
  if (newItem !== undefined && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) record.n = newItem;
  return record;
}
