/**
 * The Database's capacity accounting: the thin shell around the pure
 * capacity model (capacity/capacity-model.ts). It owns the one clock the
 * model is given, keeps the model's tables in step with the catalog
 * (BillingMode, ProvisionedThroughput and GSIs as CreateTable, and later
 * UpdateTable, left them), and turns an operation's consumed units (the
 * arithmetic of ReturnConsumedCapacity, capacity-units.ts) into a charge on
 * the logical partition that holds the key.
 *
 * - 'observe': every charge is accounted; would-be throttles are counted
 *   and named in the metrics, nothing is refused.
 * - 'enforce': a throttled charge throws DynamoDB's exception
 *   (ProvisionedThroughputExceededException or ThrottlingException, with
 *   ThrottlingReasons), before a write reaches the engine.
 * - 'off' (the default): the Database holds no TableCapacity at all, so it
 *   costs nothing.
 *
 * Keys: the logical partitions are ranges over (partition-key hash, sort
 * key). The hash is the token the engine key already carries (hashKey32 of
 * the partition part, lib/ring/partitioned-key.ts), and the sort key is the
 * engine key's sort part read as latin1, whose string order is the byte
 * order and so DynamoDB's order (key-encoding.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { splitPartitionedKey } from '../ring/partitioned-key.js';
import type { AttributeMap } from './attribute-value.js';
import { CapacityModel, throttleError, type CapacityIndexDefinition, type CapacityMode, type ChargedKey } from './capacity/capacity-model.js';
import type { CapacityMetricsOptions } from './capacity/capacity-metrics.js';
import { capacitySnapshot, emptySnapshot, type CapacitySnapshot, type SnapshotOptions } from './capacity/capacity-snapshot.js';
import type { SplitForHeatOptions } from './capacity/split-for-heat.js';
import { scanUnitsByPartition } from './capacity/scan-charge.js';
import { CAPACITY_METRICS_DEFAULTS } from './capacity/capacity-metrics.js';
import type { DynamoDbError } from './dynamodb-error.js';
import type { KeyValue } from './key-encoding.js';
import type { PageUnits } from './read-page.js';
import type { TableRecord } from './table-catalog.js';
import type { PrimaryKeyValues, TableSchema } from './table-schema.js';

export type { CapacitySetting, CapacitySnapshot } from './capacity/capacity-snapshot.js';

export interface TableCapacityOptions {
  mode: CapacityMode;
  /** Multiplies every throughput limit (capacity-model.ts): 0.01 makes a partition's 1,000 WCU into 10. */
  capacityScale?: number | undefined;
  /** The model's clock (default Date.now): tests pass one they control. */
  clock?: (() => number) | undefined;
  region: string;
  accountId: string;
  metrics?: Partial<CapacityMetricsOptions> | undefined;
  splitForHeat?: Partial<SplitForHeatOptions> | undefined;
  /** The catalog's tables now: a snapshot defines tables not yet charged and drops deleted ones. */
  tables: () => Iterable<TableRecord>;
}

/**
 * A global secondary index's part of a base-table write, for GSI
 * back-pressure: the index entry's engine key (or, until indexes have
 * engine keys, its hash and sort key) and its write units (capacity-units.ts
 * indexWriteCapacity). The GSI work passes these to chargeWrite.
 */
export interface IndexWriteCharge {
  index: string;
  key: ChargedKey;
  writeUnits: number;
}

export interface CapacityUpdatesOptions extends SnapshotOptions {
  /** Time between snapshots (default 1,000 ms: the metrics' resolution). */
  intervalMs?: number | undefined;
  /** Ends the iteration. */
  signal?: AbortSignal | undefined;
}

export const CAPACITY_UPDATE_INTERVAL_MS_MIN = 50;

/** A Scan's units in the top-K lists (capacity README). */
const SCAN_LABEL = '(Scan)';

interface KnownTable {
  id: number;
  schema: TableSchema;
  /** UpdateTable leaves billing mode and throughput here (indexes/update-table.ts), not in the schema. */
  indexes: TableRecord['indexes'];
  definition: string;
  sizeSecond: number;
}

export class TableCapacity {
  readonly model: CapacityModel;
  readonly #clock: () => number;
  readonly #tables: () => Iterable<TableRecord>;
  readonly #known = new Map<string, KnownTable>();

  constructor(options: TableCapacityOptions) {
    this.model = new CapacityModel({
      mode: options.mode,
      capacityScale: options.capacityScale,
      region: options.region,
      accountId: options.accountId,
      metrics: options.metrics,
      splitForHeat: options.splitForHeat,
    });
    this.#clock = options.clock ?? Date.now;
    this.#tables = options.tables;
  }

  get mode(): CapacityMode {
    return this.model.mode;
  }

  nowMs(): number {
    return this.#clock();
  }

  /**
   * Bring the model's definition of a table in line with its catalog
   * record: define it, redefine it (a new table of the same name), or
   * apply changed throughput, billing mode or GSIs (UpdateTable). Charges
   * call it, so a change takes effect with the next request; the UpdateTable
   * path may call it at once so that metrics show the new limits before
   * traffic does.
   */
  syncTable(record: TableRecord): void {
    const nowMs = this.#clock();
    const name = record.schema.tableName;
    const known = this.#known.get(name);
    if (known === undefined || known.id !== record.id) {
      if (known !== undefined) this.model.deleteTable(name);
      this.model.defineTable({ table: name, ...throughputOf(record), hasLocalSecondaryIndex: record.schema.localSecondaryIndexes.length > 0, sizeBytes: record.sizeBytes }, nowMs);
      this.#known.set(name, { id: record.id, schema: record.schema, indexes: record.indexes, definition: definitionText(record), sizeSecond: Math.floor(nowMs / 1000) });
      return;
    }
    if (known.schema !== record.schema || known.indexes !== record.indexes) {
      known.schema = record.schema;
      known.indexes = record.indexes;
      const definition = definitionText(record);
      if (definition !== known.definition) {
        const before = JSON.parse(known.definition) as ReturnType<typeof throughputOf>;
        const after = throughputOf(record);
        const remaining = new Set((after.globalSecondaryIndexes ?? []).map((i) => i.index));
        this.model.updateTable(name, {
          billingMode: after.billingMode,
          provisioned: after.provisioned,
          globalSecondaryIndexes: after.globalSecondaryIndexes,
          deletedGlobalSecondaryIndexes: (before.globalSecondaryIndexes ?? []).map((i) => i.index).filter((i) => !remaining.has(i)),
        }, nowMs);
        known.definition = definition;
      }
    }
    // Size adds partitions (10 GB each, scaled); the catalog's size is approximate anyway, so once a second is enough.
    const second = Math.floor(nowMs / 1000);
    if (second !== known.sizeSecond) {
      known.sizeSecond = second;
      this.model.setSize(name, Math.max(0, record.sizeBytes), nowMs);
    }
  }

  /** A GetItem's, a BatchGetItem read's, a Query's or a Scan's units, charged to the partition of `engineKey`. */
  chargeRead(record: TableRecord, engineKey: Uint8Array, label: string, readUnits: number, index?: string): void {
    this.syncTable(record);
    this.settle(this.model.charge({ table: record.schema.tableName, index, ...chargedKey(engineKey, label), readUnits, nowMs: this.#clock() }));
  }

  /**
   * A Scan page's units, each logical partition charged the units of the
   * items read from it (scan-charge.ts), admitted together or not at all;
   * an empty page's one unit goes to the partition holding its segment's
   * first token. `items` are the items evaluated, in the order read.
   */
  chargeScan(record: TableRecord, tokenStart: number, items: ReadonlyArray<{ engineKey: Uint8Array; bytes: number; tableBytes?: number }>, consistency: 'eventual' | 'strong', index?: string): void {
    this.syncTable(record);
    const table = record.schema.tableName;
    const first: ChargedKey = { partitionKeyHash: tokenStart >>> 0, itemKey: SCAN_LABEL };
    const keyOf = new Map<number, ChargedKey>([[this.model.partitionIdOf(table, first, index), first]]);
    const scanned = items.map((item) => {
      const key = chargedKey(item.engineKey, SCAN_LABEL);
      const partitionId = this.model.partitionIdOf(table, key, index);
      if (!keyOf.has(partitionId)) keyOf.set(partitionId, key);
      return { partitionId, bytes: item.bytes };
    });
    const firstPartitionId = scanned[0]?.partitionId ?? this.model.partitionIdOf(table, first, index);
    const units = scanUnitsByPartition(scanned, firstPartitionId, consistency);
    // An LSI Scan that fetched items: the items' units too, rounded on their own as the page's table part is (read-page.ts pageUnits).
    const fetched = items.some((item) => item.tableBytes !== undefined) ? scanned.map((read, n) => ({ partitionId: read.partitionId, bytes: items[n]!.tableBytes ?? 0 })) : [];
    if (fetched.length > 0) for (const [partitionId, readUnits] of scanUnitsByPartition(fetched, firstPartitionId, consistency)) units.set(partitionId, (units.get(partitionId) ?? 0) + readUnits);
    const parts = [...units].map(([partitionId, readUnits]) => ({ ...keyOf.get(partitionId)!, readUnits }));
    const [main, ...rest] = parts;
    this.settle(this.model.charge({ table, index, ...main!, readParts: rest.length === 0 ? undefined : rest, nowMs: this.#clock() }));
  }

  /**
   * An index Query's page: a GSI's units on the GSI's logical partition of
   * the index key, an LSI's (its entries, and the items it fetched from the
   * table) on the table's partition, whose throughput LSIs share (DG LSI,
   * "Provisioned throughput considerations").
   */
  chargeIndexRead(record: TableRecord, index: { name: string; global: boolean }, engineKey: Uint8Array, items: readonly AttributeMap[], units: PageUnits): void {
    const schema = index.global ? record.schema.globalSecondaryIndexes.find((i) => i.indexName === index.name) : undefined;
    const value = schema === undefined ? undefined : items[0]?.[schema.partitionKey.name];
    const label = index.global ? (value === undefined ? partitionLabel(record, [], engineKey) : keyValueText(value as KeyValue)) : partitionLabel(record, items, engineKey);
    this.chargeRead(record, engineKey, label, units.index + units.table, index.global ? index.name : undefined);
  }

  /** An index Scan's page, on the partition holding its segment's first token (of the GSI, or of the table for an LSI). */
  chargeIndexScan(record: TableRecord, index: { name: string; global: boolean }, tokenStart: number, units: PageUnits): void {
    this.syncTable(record);
    this.settle(this.model.charge({ table: record.schema.tableName, index: index.global ? index.name : undefined, partitionKeyHash: tokenStart >>> 0, itemKey: SCAN_LABEL, readUnits: units.index + units.table, nowMs: this.#clock() }));
  }

  /** A write's units (and its GSIs' parts, admitted together or not at all), charged before the write is made. */
  chargeWrite(record: TableRecord, engineKey: Uint8Array, label: string, writeUnits: number, indexWrites?: readonly IndexWriteCharge[]): void {
    this.syncTable(record);
    const gsi = indexWrites === undefined || indexWrites.length === 0 ? undefined : indexWrites.map((w) => ({ index: w.index, writeUnits: w.writeUnits, ...w.key }));
    this.settle(this.model.charge({ table: record.schema.tableName, ...chargedKey(engineKey, label), writeUnits, indexWrites: gsi, nowMs: this.#clock() }));
  }

  snapshot(options: SnapshotOptions = {}): CapacitySnapshot {
    this.syncCatalog();
    return capacitySnapshot(this.model, this.#clock(), options);
  }

  private settle(result: ReturnType<CapacityModel['charge']>): void {
    if (!result.admitted) throw throttleError(result.throttle);
  }

  /** Define every table of the catalog, and forget the ones deleted. */
  private syncCatalog(): void {
    const names = new Set<string>();
    for (const record of this.#tables()) {
      if (record.status === 'DELETING') continue;
      names.add(record.schema.tableName);
      this.syncTable(record);
    }
    for (const name of [...this.#known.keys()]) {
      if (names.has(name)) continue;
      this.model.deleteTable(name);
      this.#known.delete(name);
    }
  }
}

/** Whether an error is a throttle (which BatchWriteItem and BatchGetItem return as unprocessed). */
export function isThrottle(error: DynamoDbError): boolean {
  return error.name === 'ProvisionedThroughputExceededException' || error.name === 'ThrottlingException';
}

/**
 * Snapshots every `intervalMs` until the signal aborts or `closing` does:
 * each with the events after the previous one's (the first with all kept).
 */
export async function* capacityUpdates(snapshot: (options: SnapshotOptions) => CapacitySnapshot, closing: AbortSignal | undefined, options: CapacityUpdatesOptions = {}): AsyncGenerator<CapacitySnapshot, void, undefined> {
  const intervalMs = Math.max(CAPACITY_UPDATE_INTERVAL_MS_MIN, options.intervalMs ?? 1_000);
  const signals = [options.signal, closing].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
  let since = options.sinceEventSeq ?? 0;
  while (signal?.aborted !== true) {
    const next = snapshot({ sinceEventSeq: since, topKeys: options.topKeys });
    since = next.eventSeq;
    yield next;
    try {
      await sleep(intervalMs, undefined, signal === undefined ? {} : { signal });
    } catch {
      return; // aborted
    }
  }
}

/** The snapshot of a Database whose capacity is 'off'. */
export function offSnapshot(nowMs: number): CapacitySnapshot {
  return emptySnapshot(nowMs, CAPACITY_METRICS_DEFAULTS.windowSeconds);
}

/**
 * The top-K lists' name for a request's key: its partition key value
 * (Contributor Insights' "most accessed partition keys"), so that the items
 * of one collection add up to the partition key they share: the view that
 * shows a hot partition key.
 */
export function keyLabel(key: PrimaryKeyValues): string {
  return keyValueText(key.partition);
}

/** The partition key's label for a read of many items (Query): from an item read, else the hash. */
export function partitionLabel(record: TableRecord, items: readonly AttributeMap[], engineKey: Uint8Array): string {
  const value = items[0]?.[record.schema.partitionKey.name];
  return value === undefined ? `#${splitPartitionedKey(engineKey).token.toString(16).padStart(8, '0')}` : keyValueText(value as KeyValue);
}

function keyValueText(value: KeyValue): string {
  if ('S' in value) return value.S;
  if ('N' in value) return value.N;
  return Buffer.from(value.B).toString('base64');
}

export function chargedKey(engineKey: Uint8Array, label: string): ChargedKey {
  const { token, rest } = splitPartitionedKey(engineKey);
  return rest.byteLength === 0 ? { partitionKeyHash: token, itemKey: label } : { partitionKeyHash: token, sortKey: Buffer.from(rest).toString('latin1'), itemKey: label };
}

function throughputOf(record: TableRecord): { billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST'; provisioned?: { readCapacityUnits: number; writeCapacityUnits: number }; globalSecondaryIndexes?: CapacityIndexDefinition[] } {
  const { schema, request } = record;
  // UpdateTable's BillingMode and ProvisionedThroughput (kept beside the schema, indexes/update-table.ts) win over CreateTable's.
  const billingMode = record.indexes?.billingMode ?? schema.billingMode;
  const tableThroughput = record.indexes?.provisionedThroughput ?? schema.provisionedThroughput;
  const provisionedOf = (throughput: { ReadCapacityUnits: number; WriteCapacityUnits: number } | undefined) =>
    throughput === undefined ? undefined : { readCapacityUnits: throughput.ReadCapacityUnits, writeCapacityUnits: throughput.WriteCapacityUnits };
  const indexes = schema.globalSecondaryIndexes.map((index): CapacityIndexDefinition => {
    // UpdateTable's GlobalSecondaryIndexUpdates Update wins over CreateTable's (or the Create's) figures.
    const given = record.indexes?.indexThroughput?.[index.indexName] ?? request.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.indexName)?.ProvisionedThroughput;
    return billingMode === 'PROVISIONED' ? { index: index.indexName, provisioned: provisionedOf(given) } : { index: index.indexName };
  });
  const provisioned = billingMode === 'PROVISIONED' ? provisionedOf(tableThroughput) : undefined;
  return { billingMode, ...(provisioned === undefined ? {} : { provisioned }), ...(indexes.length === 0 ? {} : { globalSecondaryIndexes: indexes }) };
}

function definitionText(record: TableRecord): string {
  return JSON.stringify(throughputOf(record));
}
