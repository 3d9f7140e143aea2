/**
 * A table's streams in the catalog, purely (DG: Streams, "Enabling a
 * stream"): a stream cannot be edited. Disabling keeps the stream (its label,
 * its records, readable until they age out; DescribeStream says DISABLED);
 * enabling again makes a new stream, with a new label and its own space, so
 * the old one's records and sequence numbers stay apart.
 */
import type { TableRecord } from '../table-catalog.js';
import type { StreamSpecification, TableIndexes } from '../indexes/index-catalog.js';
import { streamLabel, type StreamViewType } from './stream-shards.js';

export interface TableStream {
  readonly tableName: string;
  readonly label: string;
  readonly streamSpace: number;
  readonly viewType: StreamViewType;
  readonly enabled: boolean;
  readonly createdMs: number;
  readonly disabledAtMs: number | undefined;
}

/** UpdateTable's StreamSpecification (already checked by update-table.ts against the current stream). */
export function withStreamSpecification(indexes: TableIndexes, specification: StreamSpecification, nextId: number, nowMs: number): { indexes: TableIndexes; nextId: number } {
  const current = indexes.stream;
  if (!specification.StreamEnabled) {
    if (current === undefined) return { indexes, nextId };
    // The view type stays: the disabled stream's records keep theirs.
    return { indexes: { ...indexes, stream: { ...current, specification: { ...current.specification, StreamEnabled: false }, disabledAtMs: nowMs } }, nextId };
  }
  const past = [...(indexes.pastStreams ?? [])];
  let createdMs = nowMs;
  if (current !== undefined) {
    past.push({ specification: current.specification, streamSpace: current.streamSpace, label: current.label, disabledAtMs: current.disabledAtMs ?? nowMs });
    // Labels name streams: never two of one table with one label.
    createdMs = Math.max(nowMs, Date.parse(`${current.label}Z`) + 1);
  }
  const stream = { specification: { StreamEnabled: true, StreamViewType: specification.StreamViewType ?? 'NEW_AND_OLD_IMAGES' }, streamSpace: nextId, label: streamLabel(createdMs) };
  return { indexes: { ...indexes, stream, pastStreams: past }, nextId: nextId + 1 };
}

/** Every stream of a table, oldest first. */
export function streamsOf(record: TableRecord): TableStream[] {
  const indexes = record.indexes;
  if (indexes === undefined) return [];
  const tableName = record.schema.tableName;
  const streams: TableStream[] = (indexes.pastStreams ?? []).map((past) => ({
    tableName,
    label: past.label,
    streamSpace: past.streamSpace,
    viewType: past.specification.StreamViewType ?? 'NEW_AND_OLD_IMAGES',
    enabled: false,
    createdMs: Date.parse(`${past.label}Z`),
    disabledAtMs: past.disabledAtMs,
  }));
  const current = indexes.stream;
  if (current !== undefined) {
    streams.push({
      tableName,
      label: current.label,
      streamSpace: current.streamSpace,
      viewType: current.specification.StreamViewType ?? 'NEW_AND_OLD_IMAGES',
      enabled: current.specification.StreamEnabled,
      createdMs: Date.parse(`${current.label}Z`),
      disabledAtMs: current.specification.StreamEnabled ? undefined : current.disabledAtMs,
    });
  }
  return streams;
}

/** The stream spaces of a table's past streams older than `retentionMs` since they were disabled: their records aged out. */
export function agedOutStreams(indexes: TableIndexes, nowMs: number, retentionMs: number): { indexes: TableIndexes; spaces: number[] } {
  const past = indexes.pastStreams ?? [];
  const kept = past.filter((stream) => nowMs - stream.disabledAtMs < retentionMs);
  if (kept.length === past.length) return { indexes, spaces: [] };
  return { indexes: { ...indexes, pastStreams: kept }, spaces: past.filter((stream) => !kept.includes(stream)).map((stream) => stream.streamSpace) };
}
