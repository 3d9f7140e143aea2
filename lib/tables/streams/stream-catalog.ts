/**
 * A table's streams in the catalog, purely (DG: Streams, "Enabling a
 * stream"): a stream cannot be edited. Disabling keeps the stream (its label,
 * its records, readable until they age out; DescribeStream says DISABLED);
 * enabling again makes a new stream, with a new label and its own space, so
 * the old one's records and sequence numbers stay apart.
 */
import type { CatalogState, TableRecord } from '../table-catalog.js';
import type { RetiredStream } from './retired-stream.js';
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

/** A deleted table's streams as the catalog keeps them (retired-stream.ts): every one DISABLED, the enabled one as of `nowMs`. */
export function retiredStreamsOf(record: TableRecord, nowMs: number): RetiredStream[] {
  const keySchema = record.request.KeySchema.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType }));
  return streamsOf(record).map((stream) => ({
    tableName: stream.tableName,
    label: stream.label,
    streamSpace: stream.streamSpace,
    viewType: stream.viewType,
    createdMs: stream.createdMs,
    disabledAtMs: stream.disabledAtMs ?? nowMs,
    keySchema,
  }));
}

/** A retired stream as the readers see a table's streams. */
export function retiredTableStream(retired: RetiredStream): TableStream {
  return { tableName: retired.tableName, label: retired.label, streamSpace: retired.streamSpace, viewType: retired.viewType, enabled: false, createdMs: retired.createdMs, disabledAtMs: retired.disabledAtMs };
}

/**
 * The catalog without the streams disabled at least `retentionMs` ago (a
 * deleted table's, and a live table's past ones): gone from ListStreams and
 * DescribeStream, their spaces to drop. Unchanged (the same object) when
 * none expired.
 */
export function expiredStreams(state: CatalogState, nowMs: number, retentionMs: number): { state: CatalogState; spaces: number[] } {
  const spaces: number[] = [];
  const retired = state.retiredStreams ?? [];
  const kept = retired.filter((stream) => nowMs - stream.disabledAtMs < retentionMs);
  for (const stream of retired) if (!kept.includes(stream)) spaces.push(stream.streamSpace);
  let tables = state.tables;
  for (const [name, record] of Object.entries(state.tables)) {
    if (record.indexes === undefined) continue;
    const aged = agedOutStreams(record.indexes, nowMs, retentionMs);
    if (aged.spaces.length === 0) continue;
    spaces.push(...aged.spaces);
    tables = { ...tables, [name]: { ...record, indexes: aged.indexes } };
  }
  if (spaces.length === 0) return { state, spaces };
  const { retiredStreams: _retired, ...rest } = state;
  const next: CatalogState = { ...rest, tables, ...(kept.length === 0 ? {} : { retiredStreams: kept }) };
  return { state: next, spaces };
}
