/**
 * Secondary indexes and change logs of a Database: the shell around the
 * pure cores of this folder. The Database calls it at a few seams (a write's
 * extra keys, an index Query or Scan, UpdateTable, DescribeTable, DeleteTable,
 * stats); it owns the GSI applier (index-applier.ts) and the backfills
 * (index-backfill.ts), and reaches the catalog through `CatalogAccess`.
 *
 * Options (DatabaseOptions): `gsiLagMs` delays every GSI's application by
 * that many ms after the base write (default 0: as fresh as the engine
 * makes it), `gsiLagMsByIndex` per "Table/Index"; `itemCollectionBytesMax`
 * bounds an LSI table's item collections (default DynamoDB's 10 GB).
 */
import type { AttributeMap } from '../attribute-value.js';
import { DynamoDbError } from '../dynamodb-error.js';
import { encodeItemKey, prefixEnd, type KeyValue } from '../key-encoding.js';
import { itemSize } from '../item-size.js';
import type { Request } from '../item-request.js';
import type { QueryPlan } from '../query.js';
import { fillQueryPage, fillScanPage, type RangeRead } from '../page-fill.js';
import { PageAssembler, pageOutput, pageUnits, type IndexPage, type PageUnits, type ReadOutput } from '../read-page.js';
import { segmentRanges, type ScanPlan } from '../scan.js';
import { anyTable, activeTable, type CatalogState, type TableRecord } from '../table-catalog.js';
import type { TableDescription } from '../table-description.js';
import { type AlsoKeyWrite, type TableEngine } from '../table-engine.js';
import type { PrimaryKeyValues } from '../table-schema.js';
import { alsoWritesOf } from './base-write.js';
import { backfillIndex } from './index-backfill.js';
import { allocateIndexSpaces, withGlobalIndexAdded, withLocatorSpaces, withIndexState, withoutIndex, type IndexCounts, type StreamSpecification, type TableIndexes } from './index-catalog.js';
import { IndexApplier, type IndexLag } from './index-applier.js';
import type { IndexEntryValue } from './index-entry.js';
import { LocalIndexCleanup, type CleanupCounts } from './local-index-cleanup.js';
import { checkedLocalRead, type CheckedEntry } from './local-index-read.js';
import { committedItem } from '../transactions/prepared-item.js';
import { checkCollectionGrowth, collectionBytesOf, itemCollectionMetrics, ITEM_COLLECTION_BYTES_MAX, type ItemCollectionMetrics } from './item-collection.js';
import { describeIndexes } from './index-description.js';
import { checkUpdateTableRequest, decideUpdateTable } from './update-table.js';
import { tokenOf } from '../../ring/partitioned-key.js';
import { withStreamSpecification } from '../streams/stream-catalog.js';
import { keyAfter } from '../../bytes.js';
import { ErrorCode, RingtableError } from '../../errors.js';

export interface SecondaryIndexOptions {
  /** Delay, in ms after the base write, before a change reaches a GSI (default 0). */
  gsiLagMs?: number;
  /** Per GSI ("Table/Index"), overriding gsiLagMs. */
  gsiLagMsByIndex?: Record<string, number>;
  /** The item collection bound of tables with LSIs (default 10 GB, DynamoDB's). */
  itemCollectionBytesMax?: number;
}

/** How the shell reads and changes the Database's catalog (persisted, one change at a time). */
export interface CatalogAccess {
  state(): CatalogState;
  change<T>(change: (state: CatalogState) => { state: CatalogState; result: T }): Promise<T>;
}

export interface IndexStats {
  /** Per GSI ("Table/Index"). */
  readonly lag: Record<string, IndexLag>;
  /** Stale LSI entries the clean-up deleted or rewrote since the database opened (local-index-cleanup.ts). */
  readonly localCleanup: CleanupCounts;
}

/** A base write's extra keys, and what to do once it committed. */
export interface PreparedWrite {
  readonly also: AlsoKeyWrite[];
  committed(): void;
}

const RANGE_CHUNK = 1000;

export class SecondaryIndexes {
  private readonly applier: IndexApplier;
  private readonly counts = new Map<string, { itemCount: number; sizeBytes: number }>();
  private readonly lagOverrides = new Map<string, number>();
  private readonly tasks = new Set<Promise<unknown>>();
  /** Deletes the stale LSI entries reads skipped (local-index-cleanup.ts). */
  readonly cleanup: LocalIndexCleanup;
  /** The engine's range read, as page-fill.ts takes it. */
  private readonly readRange: RangeRead = (request) => this.engine.range(request);
  private closing = false;

  constructor(
    private readonly engine: TableEngine,
    private readonly catalog: CatalogAccess,
    private readonly options: SecondaryIndexOptions & {
      /** The streams' clock (StreamOptions.streamClock): a stream's enable and disable instants are judged by it for retention. */
      readonly streamClock?: () => number;
    },
  ) {
    for (const [name, ms] of Object.entries(options.gsiLagMsByIndex ?? {})) this.lagOverrides.set(name, checkLag(ms));
    if (options.gsiLagMs !== undefined) checkLag(options.gsiLagMs);
    for (const record of Object.values(catalog.state().tables)) {
      for (const [name, counts] of Object.entries(record.indexes?.counts ?? {})) this.counts.set(`${record.schema.tableName}/${name}`, { ...counts });
    }
    this.cleanup = new LocalIndexCleanup(engine);
    this.applier = new IndexApplier({
      engine,
      catalog: () => this.catalog.state(),
      nowMs: () => Date.now(),
      lagMsOf: (table, index) => this.lagMsOf(table, index),
      counted: (table, index, items, bytes) => this.count(table, index, items, bytes),
    });
  }

  private streamNowMs(): number {
    return this.options.streamClock?.() ?? Date.now();
  }

  /** Starts the applier, and resumes what a previous process left: backfills of CREATING indexes, drops of DELETING ones. */
  start(): void {
    if (this.locatorsMissing()) this.track(this.addLocatorSpaces().then(() => this.applier.start()));
    else this.applier.start();
    for (const record of Object.values(this.catalog.state().tables)) {
      for (const [name, spaces] of Object.entries(record.indexes?.spaces ?? {})) {
        if (spaces.status === 'CREATING') this.track(this.backfill(record.schema.tableName, name));
        if (spaces.status === 'DELETING') this.track(this.finishDelete(record.schema.tableName, name));
      }
    }
  }

  /** A catalog written before GSI locators existed: one locator space per GSI (index-catalog.ts), before the applier runs. */
  private locatorsMissing(): boolean {
    return Object.values(this.catalog.state().tables).some((record) => Object.values(record.indexes?.spaces ?? {}).some((spaces) => spaces.queueSpace !== undefined && spaces.locatorSpace === undefined));
  }

  private async addLocatorSpaces(): Promise<void> {
    await this.catalog.change((state) => {
      let nextId = state.nextId;
      const tables = { ...state.tables };
      for (const [name, record] of Object.entries(tables)) {
        if (record.indexes === undefined) continue;
        const added = withLocatorSpaces(record.indexes, nextId);
        nextId = added.nextId;
        tables[name] = { ...record, indexes: added.indexes };
      }
      return nextId === state.nextId ? { state, result: undefined } : { state: { ...state, tables, nextId }, result: undefined };
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.tasks]);
    await this.cleanup.stop();
    await this.applier.stop();
  }

  /** The counts to save with the catalog at close. */
  withCounts(state: CatalogState): CatalogState {
    const tables = { ...state.tables };
    for (const [name, record] of Object.entries(tables)) {
      if (record.indexes === undefined) continue;
      const counts: Record<string, IndexCounts> = {};
      for (const index of Object.keys(record.indexes.spaces)) {
        const kept = this.counts.get(`${name}/${index}`);
        if (kept !== undefined) counts[index] = { ...kept };
      }
      tables[name] = { ...record, indexes: { ...record.indexes, counts } };
    }
    return { ...state, tables };
  }

  /** Sets one GSI's propagation delay at run time ("Table/Index"). */
  setGsiLag(tableName: string, indexName: string, lagMs: number): void {
    this.lagOverrides.set(`${tableName}/${indexName}`, checkLag(lagMs));
    this.applier.wake();
  }

  private lagMsOf(tableName: string, indexName: string): number {
    return this.lagOverrides.get(`${tableName}/${indexName}`) ?? this.options.gsiLagMs ?? 0;
  }

  stats(): IndexStats {
    return { lag: this.applier.lags(), localCleanup: this.cleanup.counts() };
  }

  /** Every GSI's queue applied (what is not held back by gsiLagMs): for tests and benchmarks that wait for quiescence. */
  async settle(tableName?: string, indexName?: string): Promise<number> {
    return this.applier.sweep(tableName, indexName);
  }

  // ------------------------------------------------------------------ tables

  /** A new table's index spaces, drawn from the catalog's ids. */
  withNewTable(state: CatalogState, tableName: string, stream?: StreamSpecification): CatalogState {
    const record = state.tables[tableName]!;
    const locals = record.schema.localSecondaryIndexes.map((index) => index.indexName);
    const globals = record.schema.globalSecondaryIndexes.map((index) => index.indexName);
    let { indexes, nextId } = allocateIndexSpaces(locals, globals, state.nextId);
    // CreateTable's StreamSpecification starts the table's first stream, as UpdateTable's would (DG: Streams).
    if (stream?.StreamEnabled === true) ({ indexes, nextId } = withStreamSpecification(indexes, stream, nextId, this.streamNowMs()));
    return { ...state, tables: { ...state.tables, [tableName]: { ...record, indexes } }, nextId };
  }

  /** DescribeTable's index members with their states and counts, and the UpdateTable settings. */
  describe(description: TableDescription, record: TableRecord): TableDescription {
    return describeIndexes(description, record, (index) => this.counts.get(`${record.schema.tableName}/${index}`));
  }

  /** DeleteTable: every index and log space goes with the table. */
  async dropTable(record: TableRecord): Promise<void> {
    this.applier.forget(record.schema.tableName);
    for (const name of Object.keys(record.indexes?.spaces ?? {})) this.counts.delete(`${record.schema.tableName}/${name}`);
    for (const space of spacesOf(record.indexes)) await this.engine.dropSpace(space);
  }

  // ------------------------------------------------------------------ writes

  /**
   * A base write's extra keys (base-write.ts), from the catalog as it is
   * now: called after the item was read, so a write that read an item a
   * backfill rewrote sees the index that backfill is for. Refuses a write
   * that grows a full item collection (LSI tables).
   */
  async prepareWrite(
    tableName: string,
    baseKey: PrimaryKeyValues,
    oldItem: AttributeMap | undefined,
    newItem: AttributeMap | undefined,
    options: { readonly checked?: boolean; readonly byService?: boolean } = {},
  ): Promise<PreparedWrite> {
    const record = activeTable(this.catalog.state(), tableName);
    if (record.indexes === undefined) return { also: [], committed: () => {} };
    const encoded = encodeItemKey(record.id, baseKey.partition, baseKey.sort as KeyValue | undefined);
    if (options.checked !== true) await this.checkCollection(tableName, baseKey, oldItem, newItem);
    const also = alsoWritesOf({
      record, partitionPart: encoded.partitionPart, baseKey, oldItem, newItem, nowMs: Date.now(), streamNowMs: this.streamNowMs(),
      ringPartitions: this.engine.tokenRanges().length, byService: options.byService === true,
    });
    const token = tokenOf(encoded.key);
    for (const index of record.schema.localSecondaryIndexes) this.countLocal(record, index.indexName, oldItem, newItem);
    const changed = record.schema.globalSecondaryIndexes.filter((index) => {
      const queueSpace = record.indexes!.spaces[index.indexName]?.queueSpace;
      return queueSpace !== undefined && also.some((write) => write.appendVersion === true && tokenSpace(write.key) === queueSpace);
    });
    return { also, committed: () => changed.forEach((index) => this.applier.changed(tableName, index.indexName, token)) };
  }

  /**
   * Refuses a write that grows a full item collection (LSI tables). A
   * transaction checks when it prepares the item and passes `checked` to
   * prepareWrite when it commits: a decided transaction cannot fail.
   */
  async checkCollection(tableName: string, baseKey: PrimaryKeyValues, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined): Promise<void> {
    const record = activeTable(this.catalog.state(), tableName);
    if (record.indexes === undefined || record.schema.localSecondaryIndexes.length === 0 || newItem === undefined) return;
    const oldBytes = collectionBytesOf(record.schema, oldItem);
    const newBytes = collectionBytesOf(record.schema, newItem);
    if (newBytes > oldBytes) checkCollectionGrowth(await this.collectionBytes(record, baseKey), oldBytes, newBytes, this.options.itemCollectionBytesMax ?? ITEM_COLLECTION_BYTES_MAX);
  }

  /** ReturnItemCollectionMetrics SIZE on a table with LSIs: the written item's collection. */
  async collectionMetrics(request: Request, tableName: string, partitionValue: KeyValue): Promise<ItemCollectionMetrics | undefined> {
    if (request['ReturnItemCollectionMetrics'] !== 'SIZE') return undefined;
    const record = activeTable(this.catalog.state(), tableName);
    if (record.schema.localSecondaryIndexes.length === 0) return undefined;
    return itemCollectionMetrics(record.schema, partitionValue, await this.collectionBytes(record, { partition: partitionValue }));
  }

  /**
   * An item collection's bytes: its items and their LSI entries, read from
   * the leader. Each entry is counted by the item it belongs to (the item's
   * projection into every LSI it is in: item-collection.ts collectionBytesOf),
   * not read from the index: a stale entry a failed write left
   * (local-entry-check.ts) is no part of the collection, before or after the
   * clean-up deletes it. One range read of the items alone.
   */
  private async collectionBytes(record: TableRecord, baseKey: PrimaryKeyValues): Promise<number> {
    const prefix = encodeItemKey(record.id, baseKey.partition).partitionPrefix;
    const end = prefixEnd(prefix)!;
    let bytes = 0;
    let start = prefix;
    for (;;) {
      const page = await this.engine.range({ start, end, limit: RANGE_CHUNK, consistent: true });
      // A transaction's prepared item counts as its committed image (transactions/prepared-item.ts).
      for (const entry of page.entries) bytes += collectionBytesOf(record.schema, committedItem(entry.value));
      const last = page.entries[page.entries.length - 1];
      if (!page.more || last === undefined) break;
      start = keyAfter(last.key);
    }
    return bytes;
  }

  // ------------------------------------------------------------------ reads

  /** An index Query: query.ts's plan, read from the index's entries (and the table's items when an LSI must fetch them); with the page's read units. */
  async query(plan: QueryPlan): Promise<IndexReadOutput> {
    const index = plan.index!;
    const page = new PageAssembler({ limit: plan.limit, bytesMax: plan.bytesMax, compareInGroup: plan.compareInGroup });
    const { offer, indexPage } = entryPage(index, page);
    const request = { ...plan.range, reverse: plan.reverse, consistent: plan.consistent, limit: plan.limit };
    if (!index.global) {
      await fillQueryPage(this.localRead(plan.answer.tableName, index.name), request, page, (entry) => {
        const checked = entry.value as CheckedEntry;
        const item = index.fetchBase ? checked.item : checked.entry;
        if (item !== undefined && plan.accepts(item)) offer(checked.entry!, item, plan.tieGroupOf?.(entry.key));
      });
      return { output: pageOutput(plan.answer, page, indexPage), units: pageUnits(plan.answer, page, indexPage) };
    }
    await fillQueryPage(this.readRange, request, page, (entry) => {
      const item = (entry.value as IndexEntryValue).item;
      if (plan.accepts(item)) offer(item, item, plan.tieGroupOf?.(entry.key));
    });
    return { output: pageOutput(plan.answer, page, indexPage), units: pageUnits(plan.answer, page, indexPage) };
  }

  /** An index Scan: scan.ts's plan over the index's entry space; with the page's read units. */
  async scan(plan: ScanPlan): Promise<IndexReadOutput> {
    const index = plan.index!;
    const page = new PageAssembler({ limit: plan.limit, bytesMax: plan.bytesMax, compareInGroup: () => 0 });
    const { offer, indexPage } = entryPage(index, page);
    // The engine key of each entry evaluated: a GSI Scan charges each of the GSI's logical partitions its own (scan-charge.ts).
    const ranges = segmentRanges(plan.tableId, this.engine.tokenRanges(), plan.segment);
    const request = { ranges, startAfter: plan.startAfter, consistent: plan.consistent, limit: plan.limit };
    const evaluatedKeys = index.global
      ? await fillScanPage(this.readRange, request, page, (entry) => offer((entry.value as IndexEntryValue).item, (entry.value as IndexEntryValue).item, undefined))
      : await fillScanPage(this.localRead(plan.answer.tableName, index.name), request, page, (entry) => {
        const checked = entry.value as CheckedEntry;
        const item = index.fetchBase ? checked.item : checked.entry;
        if (item !== undefined) offer(checked.entry!, item, undefined);
      });
    // An LSI that fetched its items: the page evaluated the items, and read the entries too (read-page.ts pageUnits).
    const entryBytes = indexPage.entryBytes;
    const entries = evaluatedKeys.map((key, n) => (entryBytes === undefined ? { engineKey: key, bytes: page.evaluatedBytes[n]! } : { engineKey: key, bytes: entryBytes[n]!, tableBytes: page.evaluatedBytes[n]! }));
    return { output: pageOutput(plan.answer, page, indexPage), units: pageUnits(plan.answer, page, indexPage), entries };
  }

  /**
   * An LSI's range read checked against the table (local-index-read.ts):
   * a GSI entry is checked by its applier (index-locator.ts), an LSI entry
   * by the read, as an LSI read must be strongly consistent.
   */
  private localRead(tableName: string, indexName: string): RangeRead {
    const record = activeTable(this.catalog.state(), tableName);
    const index = record.schema.localSecondaryIndexes.find((candidate) => candidate.indexName === indexName)!;
    return checkedLocalRead({ engine: this.engine, tableId: record.id, table: record.schema, index, cleanup: this.cleanup });
  }

  // ------------------------------------------------------------------ UpdateTable

  async updateTable(request: Request, describe: (record: TableRecord) => TableDescription): Promise<{ TableDescription: TableDescription }> {
    checkUpdateTableRequest(request);
    const tableName = request['TableName'] as string;
    const outcome = await this.catalog.change((state) => {
      const record = anyTable(state, tableName);
      if (record.status !== 'ACTIVE') throw new DynamoDbError('ResourceInUseException', `Attempt to change a resource which is still in use: Table is being ${record.status === 'CREATING' ? 'created' : 'deleted'}: ${tableName}`);
      const { decision, settings } = decideUpdateTable(record, request);
      let indexes: TableIndexes = record.indexes ?? { spaces: {} };
      let nextId = state.nextId;
      let next: TableRecord = record;
      indexes = { ...indexes, indexThroughput: settings.indexThroughput };
      if (settings.billingMode !== undefined) {
        indexes = { ...indexes, billingMode: settings.billingMode };
        if (settings.billingMode === 'PAY_PER_REQUEST') indexes = { ...indexes, lastUpdateToPayPerRequestMs: Date.now() };
      }
      if (settings.provisionedThroughput !== undefined) indexes = { ...indexes, provisionedThroughput: settings.provisionedThroughput };
      if (settings.stream !== undefined) {
        const changed = withStreamSpecification(indexes, settings.stream, nextId, this.streamNowMs());
        indexes = changed.indexes;
        nextId = changed.nextId;
      }
      if (decision.kind === 'createIndex') {
        const added = withGlobalIndexAdded(indexes, decision.index.IndexName, nextId);
        indexes = added.indexes;
        nextId = added.nextId;
        next = { ...next, request: decision.request, schema: decision.schema };
      }
      if (decision.kind === 'deleteIndex') indexes = withIndexState(indexes, decision.indexName, 'DELETING', false);
      next = { ...next, indexes };
      return { state: { ...state, tables: { ...state.tables, [tableName]: next }, nextId }, result: { record: next, decision } };
    });
    if (outcome.decision.kind === 'createIndex') this.track(this.backfill(tableName, outcome.decision.index.IndexName));
    if (outcome.decision.kind === 'deleteIndex') this.track(this.finishDelete(tableName, outcome.decision.indexName));
    return { TableDescription: describe(outcome.record) };
  }

  /** Backfill a CREATING GSI, then make it ACTIVE once its queue is empty. */
  private async backfill(tableName: string, indexName: string): Promise<void> {
    await backfillIndex({
      engine: this.engine,
      record: () => this.catalog.state().tables[tableName],
      stopped: () => this.closing,
      logged: (token) => this.applier.changed(tableName, indexName, token),
      drained: () => this.applier.sweep(tableName, indexName),
    }, indexName);
    if (this.closing) return;
    await this.catalog.change((state) => {
      const record = state.tables[tableName];
      if (record?.indexes === undefined || record.indexes.spaces[indexName]?.status !== 'CREATING') return { state, result: undefined };
      return { state: { ...state, tables: { ...state.tables, [tableName]: { ...record, indexes: withIndexState(record.indexes, indexName, 'ACTIVE', false) } } }, result: undefined };
    });
  }

  /** A DELETING GSI: out of the schema (no reads, no more changes), its spaces dropped, then out of the catalog. */
  private async finishDelete(tableName: string, indexName: string): Promise<void> {
    const record = await this.catalog.change((state) => {
      const current = state.tables[tableName];
      if (current === undefined) return { state, result: undefined };
      const schema = { ...current.schema, globalSecondaryIndexes: current.schema.globalSecondaryIndexes.filter((index) => index.indexName !== indexName) };
      const next = { ...current, schema };
      return { state: { ...state, tables: { ...state.tables, [tableName]: next } }, result: next };
    });
    const spaces = record?.indexes?.spaces[indexName];
    if (record === undefined || spaces === undefined) return;
    this.applier.forget(tableName, indexName);
    await this.engine.dropSpace(spaces.entrySpace);
    if (spaces.queueSpace !== undefined) await this.engine.dropSpace(spaces.queueSpace);
    if (spaces.locatorSpace !== undefined) await this.engine.dropSpace(spaces.locatorSpace);
    this.counts.delete(`${tableName}/${indexName}`);
    await this.catalog.change((state) => {
      const current = state.tables[tableName];
      if (current?.indexes === undefined) return { state, result: undefined };
      // DescribeTable showed the index DELETING until now.
      const remaining = (current.request.GlobalSecondaryIndexes ?? []).filter((index) => index.IndexName !== indexName);
      const request = { ...current.request };
      if (remaining.length > 0) request.GlobalSecondaryIndexes = remaining;
      else delete request.GlobalSecondaryIndexes;
      return { state: { ...state, tables: { ...state.tables, [tableName]: { ...current, request, indexes: withoutIndex(current.indexes, indexName) } } }, result: undefined };
    });
  }

  /** Waits for every UpdateTable task running now (tests). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private track(task: Promise<unknown>): void {
    const tracked = task.catch(() => undefined).finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private count(tableName: string, indexName: string, items: number, bytes: number): void {
    const name = `${tableName}/${indexName}`;
    const counts = this.counts.get(name) ?? { itemCount: 0, sizeBytes: 0 };
    counts.itemCount = Math.max(0, counts.itemCount + items);
    counts.sizeBytes = Math.max(0, counts.sizeBytes + bytes);
    this.counts.set(name, counts);
  }

  private countLocal(record: TableRecord, indexName: string, oldItem: AttributeMap | undefined, newItem: AttributeMap | undefined): void {
    const index = record.schema.localSecondaryIndexes.find((candidate) => candidate.indexName === indexName)!;
    const sizeIn = (item: AttributeMap | undefined): number | undefined => {
      if (item === undefined || item[index.sortKey!.name] === undefined) return undefined;
      return collectionBytesOf({ ...record.schema, localSecondaryIndexes: [index] }, item) - itemSize(item);
    };
    const before = sizeIn(oldItem);
    const afterBytes = sizeIn(newItem);
    this.count(record.schema.tableName, indexName, (afterBytes === undefined ? 0 : 1) - (before === undefined ? 0 : 1), (afterBytes ?? 0) - (before ?? 0));
  }
}

function spacesOf(indexes: TableIndexes | undefined): number[] {
  if (indexes === undefined) return [];
  const spaces: number[] = [];
  for (const entry of Object.values(indexes.spaces)) {
    spaces.push(entry.entrySpace);
    if (entry.queueSpace !== undefined) spaces.push(entry.queueSpace);
    if (entry.locatorSpace !== undefined) spaces.push(entry.locatorSpace);
  }
  if (indexes.stream !== undefined) spaces.push(indexes.stream.streamSpace);
  for (const past of indexes.pastStreams ?? []) spaces.push(past.streamSpace);
  return spaces;
}

function tokenSpace(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(1);
}

function checkLag(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `gsiLagMs must be a non-negative number of ms, got ${String(ms)}`);
  return ms;
}

/** An index Query's or Scan's page and its read units (read-page.ts pageUnits: the index's part, and the table's for an LSI's fetches). */
export interface IndexReadOutput {
  output: ReadOutput;
  units: PageUnits;
  /**
   * A Scan's: the entries evaluated (engine key and size), in the order
   * read; `tableBytes`, the size of the item an LSI fetched from the table
   * for the entry (same partition key, so the same partition).
   */
  entries?: Array<{ engineKey: Uint8Array; bytes: number; tableBytes?: number }>;
}

/**
 * The page's offer for index entries: when an LSI fetches the table's
 * items, the entries' own sizes are kept beside the items evaluated, for
 * the index's part of the capacity.
 */
function entryPage(index: NonNullable<QueryPlan['index']>, page: PageAssembler): { offer: (entry: AttributeMap, item: AttributeMap, tieGroup: string | undefined) => void; indexPage: IndexPage } {
  if (!index.fetchBase) return { offer: (_entry, item, tieGroup) => page.offer(item, tieGroup), indexPage: { name: index.name, global: index.global } };
  const entryBytes: number[] = [];
  const pending: number[] = [];
  const offer = (entry: AttributeMap, item: AttributeMap, tieGroup: string | undefined): void => {
    pending.push(itemSize(entry));
    page.offer(item, tieGroup);
    // A tie group is held until complete, then evaluated (sorted, whose sizes sum the same): move as many sizes as items evaluated.
    while (entryBytes.length < page.evaluated.length && pending.length > 0) entryBytes.push(pending.shift()!);
  };
  return { offer, indexPage: { name: index.name, global: index.global, entryBytes } };
}
