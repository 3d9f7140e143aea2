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
 * Records (msgpack values):
 * - GSI queue: { o?: old projected entry, n?: new projected entry, t: commit ms }
 * - stream:    { e: 'INSERT' | 'MODIFY' | 'REMOVE', k: table key attributes,
 *                o?: old image, n?: new image (as the view type keeps them), t: commit ms }
 *   The sequence number of a stream record is its version (the key's last 8
 *   bytes); records are kept STREAM_RETENTION_MS, then trimmed by the reader.
 */
import { partitionedKey } from '../../ring/hash.js';
import type { AttributeMap } from '../attribute-value.js';
import type { IndexChange } from './index-entry.js';
import type { StreamSpecification } from './index-catalog.js';

export const VERSION_SUFFIX_BYTES = 8;
/** DynamoDB Streams keep records 24 hours (DG: Streams). */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface QueueRecord {
  readonly o?: AttributeMap;
  readonly n?: AttributeMap;
  readonly t: number;
}

export interface StreamRecord {
  readonly e: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly k: AttributeMap;
  readonly o?: AttributeMap;
  readonly n?: AttributeMap;
  readonly t: number;
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
  const record: { o?: AttributeMap; n?: AttributeMap; t: number } = { t: timestampMs };
  if (change.old !== undefined) record.o = change.old;
  if (change.new !== undefined) record.n = change.new;
  return record;
}

export function changeOfRecord(record: QueueRecord): IndexChange {
  const change: { old?: AttributeMap; new?: AttributeMap } = {};
  if (record.o !== undefined) change.old = record.o;
  if (record.n !== undefined) change.new = record.n;
  return change;
}

/** A stream record as the view type keeps it (DG: Streams, StreamViewType). */
export function streamRecord(specification: StreamSpecification, keys: AttributeMap, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined, timestampMs: number): StreamRecord | undefined {
  if (oldItem === undefined && newItem === undefined) return undefined;
  const e = oldItem === undefined ? 'INSERT' : newItem === undefined ? 'REMOVE' : 'MODIFY';
  const view = specification.StreamViewType ?? 'NEW_AND_OLD_IMAGES';
  const record: { e: StreamRecord['e']; k: AttributeMap; o?: AttributeMap; n?: AttributeMap; t: number } = { e, k: keys, t: timestampMs };
  if (oldItem !== undefined && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) record.o = oldItem;
  if (newItem !== undefined && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) record.n = newItem;
  return record;
}
