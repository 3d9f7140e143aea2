/**
 * A table's secondary indexes and change logs in the catalog, purely: the
 * engine spaces each one lives in (drawn from the catalog's table ids, so
 * never reused and droppable without a tombstone per key), each GSI's state
 * (CREATING while it backfills, ACTIVE, DELETING), the table's stream
 * specification and its billing changes (UpdateTable). The shell
 * (secondary-indexes.ts) persists and sequences.
 *
 * Spaces:
 * - every index (LSI or GSI) has an entry space (`entrySpace`): its items,
 *   keyed by index key ‖ base-key digest (index-key.ts);
 * - every GSI has a queue space (`queueSpace`): its pending changes, written
 *   atomically with the base item and removed once applied (change-log.ts);
 * - every GSI has a locator space (`locatorSpace`): per base item, where its
 *   entry is and the base version it came from (index-locator.ts), so the
 *   applier removes an item's previous entry whatever a change record's old
 *   image says;
 * - a table with a stream has a stream space (`streamSpace`): the change
 *   records a stream reader consumes, kept 24 hours.
 */
import type { TableStatus } from '../table-catalog.js';
import type { BillingMode, ProvisionedThroughput } from '../table-schema.js';

export type IndexStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface IndexSpaces {
  readonly entrySpace: number;
  /** GSIs only. */
  readonly queueSpace?: number;
  /** GSIs only (index-locator.ts); absent in a catalog written before locators, and then given one at start. */
  readonly locatorSpace?: number;
  /** GSIs only (DescribeTable's IndexStatus). */
  readonly status?: IndexStatus;
  /** True while a GSI added by UpdateTable reads the table's existing items (DescribeTable's Backfilling). */
  readonly backfilling?: boolean;
}

export interface StreamSpecification {
  readonly StreamEnabled: boolean;
  readonly StreamViewType?: 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
}

export interface TableIndexes {
  /** By index name. */
  readonly spaces: Readonly<Record<string, IndexSpaces>>;
  /** The table's latest stream (streams/stream-catalog.ts): enabled, or disabled at disabledAtMs and still readable. */
  readonly stream?: { readonly specification: StreamSpecification; readonly streamSpace: number; readonly label: string; readonly disabledAtMs?: number };
  /** Older streams of the table, disabled and replaced by a newer one, readable until their records age out. */
  readonly pastStreams?: ReadonlyArray<{ readonly specification: StreamSpecification; readonly streamSpace: number; readonly label: string; readonly disabledAtMs: number }>;
  /** BillingMode and table throughput as UpdateTable last set them (the capacity model reads them). */
  readonly billingMode?: BillingMode;
  readonly provisionedThroughput?: ProvisionedThroughput;
  readonly lastUpdateToPayPerRequestMs?: number;
  /** Throughput per GSI as UpdateTable last set it. */
  readonly indexThroughput?: Readonly<Record<string, ProvisionedThroughput>>;
  /** DescribeTable's approximate ItemCount and IndexSizeBytes per index, as the writes of this process kept them (saved at close). */
  readonly counts?: Readonly<Record<string, IndexCounts>>;
}

export interface IndexCounts {
  readonly itemCount: number;
  readonly sizeBytes: number;
}

export const NO_INDEXES: TableIndexes = { spaces: {} };

/** Spaces for a new table's indexes, drawn from `nextId` upwards: the spaces and the next free id. */
export function allocateIndexSpaces(localNames: readonly string[], globalNames: readonly string[], nextId: number): { indexes: TableIndexes; nextId: number } {
  const spaces: Record<string, IndexSpaces> = {};
  let next = nextId;
  for (const name of localNames) spaces[name] = { entrySpace: next++ };
  for (const name of globalNames) spaces[name] = { entrySpace: next++, queueSpace: next++, locatorSpace: next++, status: 'ACTIVE', backfilling: false };
  return { indexes: { spaces }, nextId: next };
}

/** A GSI added to a live table: new spaces, CREATING and backfilling. */
export function withGlobalIndexAdded(indexes: TableIndexes, name: string, nextId: number): { indexes: TableIndexes; nextId: number } {
  const spaces = { ...indexes.spaces, [name]: { entrySpace: nextId, queueSpace: nextId + 1, locatorSpace: nextId + 2, status: 'CREATING' as const, backfilling: true } };
  return { indexes: { ...indexes, spaces }, nextId: nextId + 3 };
}

/** A locator space for every GSI of a catalog written before locators existed (none: the same indexes). */
export function withLocatorSpaces(indexes: TableIndexes, nextId: number): { indexes: TableIndexes; nextId: number } {
  let next = nextId;
  const spaces: Record<string, IndexSpaces> = {};
  for (const [name, entry] of Object.entries(indexes.spaces)) {
    spaces[name] = entry.queueSpace !== undefined && entry.locatorSpace === undefined ? { ...entry, locatorSpace: next++ } : entry;
  }
  return next === nextId ? { indexes, nextId } : { indexes: { ...indexes, spaces }, nextId: next };
}

export function withIndexState(indexes: TableIndexes, name: string, status: IndexStatus, backfilling: boolean): TableIndexes {
  const current = indexes.spaces[name];
  if (current === undefined) return indexes;
  return { ...indexes, spaces: { ...indexes.spaces, [name]: { ...current, status, backfilling } } };
}

export function withoutIndex(indexes: TableIndexes, name: string): TableIndexes {
  const spaces = { ...indexes.spaces };
  delete spaces[name];
  const indexThroughput = { ...(indexes.indexThroughput ?? {}) };
  delete indexThroughput[name];
  return { ...indexes, spaces, indexThroughput };
}

/** The GSI's status as DescribeTable shows it, given the table's. */
export function indexStatusOf(indexes: TableIndexes | undefined, name: string, tableStatus: TableStatus): TableStatus {
  const status = indexes?.spaces[name]?.status;
  if (tableStatus !== 'ACTIVE') return tableStatus;
  return status ?? 'ACTIVE';
}
