/**
 * The Database: DynamoDB's operations over a ring of storage nodes. This is
 * the thin shell around the pure operation cores (write-item.ts,
 * get-item.ts, query.ts, scan.ts, batch-*.ts, table-catalog.ts): it looks
 * tables up, reads and writes through the engine's leader-ordered API
 * (DESIGN.md §5) and persists the catalog. It decides nothing itself.
 *
 * - Items are stored whole (the item is the value; its key attributes are
 *   its full key, so truncated engine keys are resolved by reading them).
 * - A write is: read the item at the partition's leader (consistent), let
 *   the core decide, write with compare-and-set on the version read; on
 *   ERR_CONFLICT another writer won, so read and decide again, at most
 *   WRITE_ATTEMPTS_MAX times. Of concurrent conditional writes exactly one
 *   wins; the others see its item and fail their condition.
 * - Query is one range read within the partition prefix, repeated while the
 *   page is not complete; Scan walks its segment's token interval ring
 *   partition by ring partition (engine.tokenRanges()).
 * - DeleteTable marks the table DELETING, drops its space on every node
 *   (no tombstone per item; table ids are never reused) and forgets it.
 */
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Store } from '../store/store.js';
import type { StoreOptions } from '../config/options.js';
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import { prepareBatchGetItem, type BatchGetItemOutput, type BatchGetResult } from './batch-get-item.js';
import { prepareBatchWriteItem, type BatchWriteItemOutput, type BatchWriteResult } from './batch-write-item.js';
import { readCatalog, writeCatalog } from './catalog-file.js';
import { DynamoDbError } from './dynamodb-error.js';
import { prepareGetItem, type GetItemOutput } from './get-item.js';
import { itemSize } from './item-size.js';
import { compareKeyValues, encodeItemKey, isTruncatedSortKey, tieGroupOf, type KeyValue } from './key-encoding.js';
import { prepareQuery } from './query.js';
import { fillQueryPage, fillScanPage, type RangeRead } from './page-fill.js';
import { PageAssembler, pageOutput, type ReadOutput } from './read-page.js';
import { indexWriteUnits, localIndexUnits, NO_INDEX_UNITS, withIndexParts } from './indexes/index-capacity.js';
import { prepareScan, segmentRanges } from './scan.js';
import {
  activeTable,
  anyTable,
  checkDeleteTable,
  checkTableNameRequest,
  createTable,
  EMPTY_CATALOG,
  listTables,
  withItemChange,
  withoutTable,
  withStatus,
  type CatalogState,
  type ListTablesOutput,
  type TableRecord,
} from './table-catalog.js';
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, describeTable, type ArnContext, type TableDescription } from './table-description.js';
import { isConflict, type OrderedValue, type TableEngine } from './table-engine.js';
import { ENGINE_KEY_BYTES_MAX, SORT_PART_BYTES_MAX } from './key-encoding.js';
import type { PrimaryKeyValues, CreateTableInput } from './table-schema.js';
import type { Request } from './item-request.js';
import type {
  BatchGetItemInput,
  BatchWriteItemInput,
  DeleteItemInput,
  DeleteTableInput,
  DescribeTableInput,
  GetItemInput,
  ListTablesInput,
  PutItemInput,
  QueryInput,
  ScanInput,
  UpdateItemInput,
} from './operation-shapes.js';
import { prepareDeleteItem, preparePutItem, prepareUpdateItem, type WriteItemOutput, type WritePlan } from './write-item.js';
import {
  describeTimeToLive,
  sweptAttribute,
  TIME_TO_LIVE_COOLDOWN_MS_DEFAULT,
  updateTimeToLive,
  withTimeToLive,
  type TimeToLiveDescription,
  type TimeToLiveSpecification,
} from './time-to-live.js';
import { TIME_TO_LIVE_SWEEP_DEFAULTS, TimeToLiveSweeper, type SweptTable } from './time-to-live-sweeper.js';
import { listTagsOfResource, tagResource, untagResource, withCreationTags, type Tag } from './resource-tags.js';
import { describeEndpoints, type DescribeEndpointsOutput } from './describe-endpoints.js';
import { KeyWriteQueue } from './key-write-queue.js';
import { committedItem } from './transactions/prepared-item.js';
import { prepareTransactGetItems, type TransactGetItemsOutput } from './transactions/transact-get-items.js';
import { prepareTransactWriteItems, type TransactWriteItemsOutput } from './transactions/transact-write-items.js';
import { TransactionCoordinator } from './transactions/transaction-coordinator.js';
import { indexWriteCharges, transactionCollectionMetrics, transactionIndexCapacity, transactionIndexHooks } from './transaction-index-hooks.js';
import { TRANSACTION_TIMEOUT_MS_DEFAULT } from './transactions/transaction-ledger.js';
import type { TransactGetItemsInput, TransactWriteItemsInput } from './transactions/transaction-shapes.js';
import { batchWriteItemCapacity, conditionalCheckFailedCapacity, getItemCapacity, queryCapacity, writeItemCapacity } from './capacity-units.js';
import { capacityUpdates, isThrottle, keyLabel, offSnapshot, partitionLabel, TableCapacity, type CapacitySetting, type CapacitySnapshot, type CapacityUpdatesOptions, type TableCapacityOptions } from './table-capacity.js';
import { checkStreamSpecification } from './indexes/update-table.js';
import type { StreamSpecification } from './indexes/index-catalog.js';
import { SecondaryIndexes, type CatalogAccess, type IndexStats, type SecondaryIndexOptions } from './indexes/secondary-indexes.js';
import { StreamReader, type StreamOptions, type StreamReadOptions } from './streams/stream-reader.js';
import { expiredStreams, retiredStreamsOf } from './streams/stream-catalog.js';
import type { StreamRecordOutput } from './streams/stream-record.js';
import { boundedAll } from './bounded-all.js';

export interface DatabaseOptions extends StoreOptions, SecondaryIndexOptions, StreamOptions {
  /** The region in table ARNs (default DynamoDB Local's "ddblocal"). */
  region?: string;
  /** The account in table ARNs (default DynamoDB Local's "000000000000"). */
  accountId?: string;
  /** Time to Live: the background sweep's pace and UpdateTimeToLive's cooldown (time-to-live.ts). */
  timeToLive?: {
    /** Pause between sweeps for expired items (default 10,000). */
    sweepIntervalMs?: number;
    /** At most this many TTL deletions per second (default 1,000), so foreground traffic keeps its share. */
    deletesPerSecondMax?: number;
    /** A second UpdateTimeToLive on one table within this is refused, as DynamoDB does (default one hour). */
    changeCooldownMs?: number;
  };
  /** Age after which an unfinished transaction's items may be taken back by anyone who meets them (transactions/transaction-coordinator.ts). */
  transactionTimeoutMs?: number;
  /** DynamoDB's throughput model (table-capacity.ts): 'off' (the default), 'observe' (report would-be throttles) or 'enforce' (throttle). */
  capacity?: CapacitySetting;
  /** Multiplies every throughput limit: 0.01 makes a partition's 3,000 RCU / 1,000 WCU into 30 / 10. */
  capacityScale?: number;
  /** The capacity model's clock (default Date.now), for tests that control time. */
  capacityClock?: () => number;
  /** Metrics bounds and split-for-heat thresholds (capacity/capacity-metrics.ts, capacity/split-for-heat.ts). */
  capacityTuning?: Pick<TableCapacityOptions, 'metrics' | 'splitForHeat'>;
}

/** Who asked: a user's request, or DynamoDB's own work (the TTL sweep), which consumes no capacity. */
interface RequestOrigin {
  readonly free: boolean;
}
const USER_REQUEST: RequestOrigin = { free: false };
const SERVICE_REQUEST: RequestOrigin = { free: true };

/** Compare-and-set rounds before a write gives up under contention (a bound on the retry loop). */
export const WRITE_ATTEMPTS_MAX = 256;
/** Reads BatchGetItem and writes BatchWriteItem run at once. */
const BATCH_CONCURRENCY_MAX = 25;

export class Database {
  readonly store: Store;
  private readonly engine: TableEngine;
  private readonly directory: string;
  private readonly arn: ArnContext;
  private catalog: CatalogState = EMPTY_CATALOG;
  /** Catalog changes run one at a time (create, delete, persistence). */
  private catalogQueue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Ends capacityUpdates() iterations, whatever the capacity mode. */
  private readonly closing = new AbortController();
  private timeToLiveCooldownMs = TIME_TO_LIVE_COOLDOWN_MS_DEFAULT;
  private sweeper: TimeToLiveSweeper | undefined;
  private readonly keyWrites = new KeyWriteQueue();
  private readonly transactions: TransactionCoordinator;
  /** The capacity model's shell; undefined when capacity is 'off'. */
  private capacity: TableCapacity | undefined;
  /** Secondary indexes, change logs and UpdateTable (indexes/secondary-indexes.ts). */
  indexes!: SecondaryIndexes;
  /** DynamoDB Streams (streams/stream-reader.ts). */
  private streams!: StreamReader;
  /** The engine's range read, as page-fill.ts takes it. */
  private readonly readRange: RangeRead = (request) => this.engine.range(request);
  private readonly catalogAccess: CatalogAccess = {
    state: () => this.catalog,
    change: (change) => this.changeCatalog(() => {
      const { state, result } = change(this.catalog);
      writeCatalog(this.directory, state);
      this.catalog = state;
      return result;
    }),
  };

  private constructor(store: Store, engine: TableEngine, directory: string, arn: ArnContext, transactionTimeoutMs = TRANSACTION_TIMEOUT_MS_DEFAULT) {
    this.store = store;
    this.engine = engine;
    this.directory = directory;
    this.arn = arn;
    this.transactions = new TransactionCoordinator({
      engine,
      nowMs: () => Date.now(),
      newTransactionId: () => randomUUID(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      every: (intervalMs, run) => {
        const timer = setInterval(run, intervalMs);
        timer.unref(); // the sweep never keeps the process alive
        return () => clearInterval(timer);
      },
      itemKey: (tableName, key) => this.itemKey(this.activeTable(tableName), key),
      onItemChange: (tableName, oldBytes, newBytes) => (this.catalog = withItemChange(this.catalog, tableName, oldBytes, newBytes)),
      timeoutMs: transactionTimeoutMs,
      soleCoordinator: true,
      ...transactionIndexHooks({
        indexes: () => this.indexes,
        capacity: () => this.capacity,
        table: (tableName) => this.activeTable(tableName),
        itemKey: (record, key) => this.itemKey(record, key),
      }),
    });
    this.transactions.start();
  }

  /** Starts the TTL sweep (after the catalog is read). */
  private startTimeToLive(options: DatabaseOptions['timeToLive']): void {
    this.timeToLiveCooldownMs = options?.changeCooldownMs ?? TIME_TO_LIVE_COOLDOWN_MS_DEFAULT;
    this.sweeper = new TimeToLiveSweeper(
      {
        sweptTables: () => this.sweptTables(),
        scan: (input) => this.scanFor(input, SERVICE_REQUEST),
        deleteItem: (input) => this.deleteExpired(input),
        nowMs: () => Date.now(),
      },
      {
        intervalMs: options?.sweepIntervalMs ?? TIME_TO_LIVE_SWEEP_DEFAULTS.intervalMs,
        deletesPerSecondMax: options?.deletesPerSecondMax ?? TIME_TO_LIVE_SWEEP_DEFAULTS.deletesPerSecondMax,
      },
    );
    this.sweeper.start();
  }

  private sweptTables(): SweptTable[] {
    const tables: SweptTable[] = [];
    for (const record of Object.values(this.catalog.tables)) {
      const attributeName = sweptAttribute(record);
      if (attributeName === undefined) continue;
      const keyNames = [record.schema.partitionKey.name, ...(record.schema.sortKey === undefined ? [] : [record.schema.sortKey.name])];
      tables.push({ tableName: record.schema.tableName, attributeName, keyNames });
    }
    return tables;
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const { region, accountId, timeToLive, transactionTimeoutMs, capacity, capacityScale, capacityClock, capacityTuning, gsiLagMs, gsiLagMsByIndex, itemCollectionBytesMax, streamRetentionMs, streamTrimPerSecondMax, streamClock, ...storeOptions } =
      options;
    mkdirSync(options.path, { recursive: true });
    // Table keys reach 1970 bytes (key-encoding.ts); the engine's default bound is lower.
    const store = await Store.open({ ...storeOptions, keyBytesMax: storeOptions.keyBytesMax ?? ENGINE_KEY_BYTES_MAX });
    // The Store implements DESIGN.md §5; table-engine.ts declares exactly what is used of it.
    const engine: TableEngine = store; // the compiler checks the Store against the contract (DESIGN.md §5)
    let database: Database | undefined;
    try {
      // Read first: a catalog that cannot be read is never written over by the close below.
      const catalog = readCatalog(options.path);
      database = new Database(store, engine, options.path, { region: region ?? DEFAULT_REGION, accountId: accountId ?? DEFAULT_ACCOUNT_ID }, transactionTimeoutMs);
      database.catalog = catalog;
      database.startTimeToLive(timeToLive);
      const opened = database;
      database.capacity = capacity === undefined || capacity === 'off' ? undefined : new TableCapacity({
        mode: capacity, capacityScale, clock: capacityClock, ...database.arn, ...capacityTuning, tables: () => Object.values(opened.catalog.tables),
      });
      database.startIndexes({ gsiLagMs, gsiLagMsByIndex, itemCollectionBytesMax, streamClock });
      database.startStreams({ streamRetentionMs, streamTrimPerSecondMax, streamClock });
      return database;
    } catch (error) {
      // A bad option (ERR_INVALID_OPTIONS) or catalog must not leave the node threads and timers running.
      await (database === undefined ? store.close() : database.close());
      throw error;
    }
  }

  private startIndexes(options: SecondaryIndexOptions & Pick<StreamOptions, 'streamClock'>): void {
    this.indexes = new SecondaryIndexes(this.engine, this.catalogAccess, options);
    this.indexes.start();
  }

  private startStreams(options: StreamOptions): void {
    this.streams = new StreamReader(this.engine, () => this.catalog, this.arn, options, (nowMs, retentionMs) => this.expireStreams(nowMs, retentionMs));
    this.streams.start();
  }

  /**
   * A Database over another implementation of the engine contract (an
   * in-memory one in tests, the simulation's): `store` is then that engine.
   */
  static openOnEngine(
    engine: TableEngine,
    options: { path: string; region?: string; accountId?: string; transactionTimeoutMs?: number; timeToLive?: DatabaseOptions['timeToLive'] } & SecondaryIndexOptions & StreamOptions,
  ): Database {
    mkdirSync(options.path, { recursive: true });
    const arn = { region: options.region ?? DEFAULT_REGION, accountId: options.accountId ?? DEFAULT_ACCOUNT_ID };
    const database = new Database(engine as unknown as Store, engine, options.path, arn, options.transactionTimeoutMs);
    database.catalog = readCatalog(options.path);
    database.startTimeToLive(options.timeToLive);
    database.startIndexes(options);
    database.startStreams(options);
    return database;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sweeper?.stop();
    await this.transactions.stop();
    this.closing.abort();
    // Both are undefined when open() failed before starting them.
    await this.indexes?.close();
    await this.streams?.close();
    await this.catalogQueue;
    writeCatalog(this.directory, this.indexes?.withCounts(this.catalog) ?? this.catalog);
    await this.engine.close();
  }

  // ------------------------------------------------------------------ dispatcher

  /** The wire layer's seam (lib/dynamodb/dispatcher.ts): one operation by DynamoDB's name. */
  async dispatch(operation: string, input: Record<string, unknown>, context: { host?: string | undefined } = {}): Promise<Record<string, unknown>> {
    if (operation === 'DescribeEndpoints') return this.describeEndpoints(context.host) as unknown as Record<string, unknown>;
    const handler = OPERATIONS[operation];
    // The wire layer only passes operations DynamoDB has; these are the ones served here.
    if (handler === undefined) throw new DynamoDbError('UnknownOperationException', '');
    return (await handler(this, input)) as unknown as Record<string, unknown>;
  }

  // ------------------------------------------------------------------ capacity

  /** What the capacity model saw: per table, GSI and logical partition (capacity/README.md). */
  capacityMetrics(options: { sinceEventSeq?: number; topKeys?: number } = {}): CapacitySnapshot {
    return this.capacity?.snapshot(options) ?? offSnapshot(Date.now());
  }

  /** capacityMetrics() every intervalMs (default 1 s), until the signal aborts or the database closes. */
  capacityUpdates(options: CapacityUpdatesOptions = {}): AsyncGenerator<CapacitySnapshot, void, undefined> {
    const capacity = this.capacity;
    return capacityUpdates((o) => capacity?.snapshot(o) ?? offSnapshot(Date.now()), this.closing.signal, options);
  }

  // ------------------------------------------------------------------ tables

  async createTable(input: CreateTableInput): Promise<{ TableDescription: TableDescription }> {
    return this.changeCatalog(() => {
      const decision = createTable(this.catalog, input, { nowMs: Date.now(), tableUuid: randomUUID() });
      // The engine needs nothing per table, so the table is usable as soon as the catalog is saved;
      // the answer still says CREATING, as DynamoDB's CreateTable does (SDK waiters then see ACTIVE).
      const name = decision.record.schema.tableName;
      const stream = (input as { StreamSpecification?: StreamSpecification }).StreamSpecification;
      if (stream !== undefined) checkStreamSpecification(stream);
      const state = this.indexes.withNewTable(withStatus(withCreationTags(decision.state, name, input as unknown as Request), name, 'ACTIVE'), name, stream);
      writeCatalog(this.directory, state);
      this.catalog = state;
      return { TableDescription: describeTable(decision.record, this.arn, 'CREATING') };
    });
  }

  async describeTable(input: DescribeTableInput): Promise<{ Table: TableDescription }> {
    checkTableNameRequest(input as unknown as Request);
    const record = anyTable(this.catalog, input.TableName);
    return { Table: this.indexes.describe(describeTable(record, this.arn), record) };
  }

  async listTables(input: ListTablesInput = {}): Promise<ListTablesOutput> {
    return listTables(this.catalog, input as unknown as Request);
  }

  async deleteTable(input: DeleteTableInput): Promise<{ TableDescription: TableDescription }> {
    const record = await this.changeCatalog(() => {
      const found = checkDeleteTable(this.catalog, input as unknown as Request);
      const state = withStatus(this.catalog, found.schema.tableName, 'DELETING');
      writeCatalog(this.directory, state);
      this.catalog = state;
      return found;
    });
    await this.engine.dropSpace(record.id);
    // Its streams stay, DISABLED and readable, until the retention has passed (streams/retired-stream.ts).
    await this.indexes.dropTable(withoutStreams(record));
    await this.changeCatalog(() => {
      const retired = [...(this.catalog.retiredStreams ?? []), ...retiredStreamsOf(record, this.streams.clock())];
      const state = { ...withoutTable(this.catalog, record.schema.tableName), ...(retired.length === 0 ? {} : { retiredStreams: retired }) };
      writeCatalog(this.directory, state);
      this.catalog = state;
    });
    return { TableDescription: describeTable(record, this.arn, 'DELETING') };
  }

  async updateTimeToLive(input: { TableName: string; TimeToLiveSpecification: TimeToLiveSpecification }): Promise<{ TimeToLiveSpecification: TimeToLiveSpecification }> {
    return this.changeCatalog(() => {
      const decision = updateTimeToLive(this.catalog, input as unknown as Request, { nowMs: Date.now(), cooldownMs: this.timeToLiveCooldownMs });
      const state = withTimeToLive(this.catalog, decision);
      writeCatalog(this.directory, state);
      this.catalog = state;
      return decision.output;
    });
  }

  async describeTimeToLive(input: { TableName: string }): Promise<{ TimeToLiveDescription: TimeToLiveDescription }> {
    return describeTimeToLive(this.catalog, input as unknown as Request);
  }

  /** DescribeEndpoints: `host` is the one the request came to, when the wire layer knows it (describe-endpoints.ts). */
  describeEndpoints(host?: string): DescribeEndpointsOutput {
    return describeEndpoints(host, this.arn.region);
  }

  async tagResource(input: { ResourceArn: string; Tags: Tag[] }): Promise<Record<string, never>> {
    return this.changeCatalog(() => {
      const state = tagResource(this.catalog, input, this.arn);
      writeCatalog(this.directory, state);
      this.catalog = state;
      return {};
    });
  }

  async untagResource(input: { ResourceArn: string; TagKeys: string[] }): Promise<Record<string, never>> {
    return this.changeCatalog(() => {
      const state = untagResource(this.catalog, input, this.arn);
      writeCatalog(this.directory, state);
      this.catalog = state;
      return {};
    });
  }

  async listTagsOfResource(input: { ResourceArn: string; NextToken?: string }): Promise<{ Tags: Tag[] }> {
    return listTagsOfResource(this.catalog, input, this.arn);
  }

  private changeCatalog<T>(change: () => T): Promise<T> {
    const next = this.catalogQueue.then(change);
    this.catalogQueue = next.catch(() => undefined);
    return next;
  }

  private readonly activeTable = (name: string): TableRecord => activeTable(this.catalog, name);

  // ------------------------------------------------------------------ items

  async putItem(input: PutItemInput): Promise<WriteItemOutput> {
    return this.write(preparePutItem(input as unknown as Request, this.activeTable), input as unknown as Request);
  }

  async updateItem(input: UpdateItemInput): Promise<WriteItemOutput> {
    return this.write(prepareUpdateItem(input as unknown as Request, this.activeTable), input as unknown as Request);
  }

  async deleteItem(input: DeleteItemInput): Promise<WriteItemOutput> {
    return this.write(prepareDeleteItem(input as unknown as Request, this.activeTable), input as unknown as Request);
  }

  /** The TTL sweep's delete: DynamoDB's own, so it consumes no capacity (DG: TTL, "deletes are free"). */
  private async deleteExpired(input: DeleteItemInput): Promise<WriteItemOutput> {
    return this.write(prepareDeleteItem(input as unknown as Request, this.activeTable), input as unknown as Request, SERVICE_REQUEST);
  }

  async getItem(input: GetItemInput): Promise<GetItemOutput> {
    return (await this.readItem(input)).output;
  }

  /** GetItem's read, charge and answer, with the engine's copy it came from (inspectItem shows its replica and version). */
  private async readItem(input: GetItemInput): Promise<{ output: GetItemOutput; current: OrderedValue | undefined }> {
    const plan = prepareGetItem(input as unknown as Request, this.activeTable);
    const record = this.activeTable(plan.tableName);
    const key = this.itemKey(record, plan.key);
    const current = await this.engine.getOrdered(key, { consistent: plan.consistent });
    const item = storedItem(current, record, plan.key);
    this.capacity?.chargeRead(record, key, keyLabel(plan.key), getItemCapacity(item === undefined ? undefined : itemSize(item), plan.consistent ? 'strong' : 'eventual'));
    return { output: plan.answer(item), current };
  }

  /**
   * GetItem as the inspector shows it: the same read and answer, plus the
   * replica that answered and the item's version (undefined when there is
   * no item). DynamoDB's responses never carry these; only the inspector calls this.
   */
  async inspectItem(input: GetItemInput): Promise<GetItemOutput & { replica?: number; version?: string }> {
    // The inspector's reads are reads: they consume capacity as GetItem does.
    const { output, current } = await this.readItem(input);
    return current === undefined ? output : { ...output, replica: current.replica, version: current.version };
  }

  private itemKey(record: TableRecord, key: PrimaryKeyValues): Uint8Array {
    return encodeItemKey(record.id, key.partition, key.sort as KeyValue | undefined).key;
  }

  /** One write at a time per item from this process (key-write-queue.ts), then read, decide, compare-and-set. */
  private write(plan: WritePlan, request: Request, origin: RequestOrigin = USER_REQUEST): Promise<WriteItemOutput> {
    const queued = this.activeTable(plan.tableName);
    const key = this.itemKey(queued, plan.key);
    return this.keyWrites.run(key, () => this.writeNow(plan, request, origin, queued.id, key));
  }

  /** `queuedKey`: the item's engine key in table `queuedId`, as write() encoded it; encoded again only if the table was recreated meanwhile. */
  private async writeNow(plan: WritePlan, request: Request, origin: RequestOrigin, queuedId: number, queuedKey: Uint8Array): Promise<WriteItemOutput> {
    const record = this.activeTable(plan.tableName);
    const key = record.id === queuedId ? queuedKey : this.itemKey(record, plan.key);
    let charged = false; // once per request, not per compare-and-set round
    for (let attempt = 0; attempt < WRITE_ATTEMPTS_MAX; attempt += 1) {
      const current = await this.engine.getOrdered(key, { consistent: true });
      if (current !== undefined && (await this.transactions.meetForWrite(key, current))) continue;
      const old = storedItem(current, record, plan.key);
      const decision = plan.decide(old);
      if (decision.kind === 'conditionFailed') {
        // A failed condition still consumes write units, one when there is no item (reference §3; DG:WorkingWithItems
        // "Conditional writes"): sized here on the item the condition was evaluated on. A throttle wins over the condition.
        if (!charged && !origin.free) this.capacity?.chargeWrite(record, key, keyLabel(plan.key), conditionalCheckFailedCapacity(old === undefined ? 0 : itemSize(old), old !== undefined));
        throw decision.error;
      }
      if (decision.kind === 'none') {
        // A delete of a missing item still consumes a write unit (capacity-units.ts), and may be throttled.
        if (!charged && !origin.free) this.capacity?.chargeWrite(record, key, keyLabel(plan.key), writeItemCapacity(undefined, undefined));
        return decision.output;
      }
      // The indexes' parts of the answer's ConsumedCapacity; the LSIs' are charged with the table's (index-capacity.ts).
      const indexUnits = this.capacity !== undefined || decision.output.ConsumedCapacity !== undefined ? indexWriteUnits(record, old, decision.item) : NO_INDEX_UNITS;
      // GSI back-pressure: the write's GSI parts are admitted with it or not at all (table-capacity.ts).
      if (!charged && !origin.free) this.capacity?.chargeWrite(record, key, keyLabel(plan.key), writeItemCapacity(decision.oldBytes, decision.newBytes) + localIndexUnits(indexUnits), indexWriteCharges(record, old, decision.item));
      charged = true;
      const indexed = await this.indexes.prepareWrite(plan.tableName, plan.key, old, decision.item, { byService: origin === SERVICE_REQUEST });
      try {
        await this.engine.writeOrdered({ key, value: decision.item, expect: current?.version ?? 'absent', also: indexed.also });
      } catch (error) {
        if (isConflict(error)) continue;
        throw error;
      }
      indexed.committed();
      this.catalog = withItemChange(this.catalog, plan.tableName, decision.oldBytes, decision.newBytes);
      const metrics = await this.indexes.collectionMetrics(request, plan.tableName, plan.key.partition);
      const output = decision.output.ConsumedCapacity === undefined ? decision.output : { ...decision.output, ConsumedCapacity: withIndexParts(decision.output.ConsumedCapacity, indexUnits) };
      return metrics === undefined ? output : { ...output, ItemCollectionMetrics: metrics };
    }
    throw new DynamoDbError('InternalServerError', `The write of one item lost ${WRITE_ATTEMPTS_MAX} compare-and-set rounds to concurrent writers`);
  }

  // ------------------------------------------------------------------ transactions (transactions/transaction-coordinator.ts)

  async transactWriteItems(input: TransactWriteItemsInput): Promise<TransactWriteItemsOutput> {
    const plan = prepareTransactWriteItems(input as unknown as Request, this.activeTable);
    const output = transactionIndexCapacity(plan, await this.transactions.transactWrite(plan));
    return transactionCollectionMetrics(this.indexes, input as unknown as Request, plan, output);
  }

  async transactGetItems(input: TransactGetItemsInput): Promise<TransactGetItemsOutput> {
    return this.transactions.transactGet(prepareTransactGetItems(input as unknown as Request, this.activeTable));
  }

  /** Finishes every transaction whose coordinator is gone (also run every transactionTimeoutMs); returns how many were open. */
  async recoverTransactions(): Promise<number> {
    return this.transactions.recover();
  }

  // ------------------------------------------------------------------ reads of many items

  async query(input: QueryInput): Promise<ReadOutput> {
    const plan = prepareQuery(input as unknown as Request, this.activeTable);
    if (plan.index !== undefined) {
      const { output, units } = await this.indexes.query(plan);
      this.capacity?.chargeIndexRead(this.activeTable(plan.answer.tableName), plan.index, plan.range.start, output.Items ?? [], units);
      return output;
    }
    const page = new PageAssembler({ limit: plan.limit, bytesMax: plan.bytesMax, compareInGroup: plan.compareInGroup });
    const partitionType = plan.schema.partitionKey.type;
    const sortType = plan.schema.sortKey?.type;
    // A truncated sort part is at least the cut body less one byte plus marker and digest long (key-encoding.ts).
    const tieGroup = (key: Uint8Array): string | undefined =>
      sortType !== undefined && key.byteLength - plan.partitionPrefixBytes >= SORT_PART_BYTES_MAX - 1 && isTruncatedSortKey(key, partitionType, sortType)
        ? Buffer.from(tieGroupOf(key)).toString('latin1')
        : undefined;
    await fillQueryPage(this.readRange, { ...plan.range, reverse: plan.reverse, consistent: plan.consistent, limit: plan.limit }, page, (entry) => {
      const item = committedItem(entry.value);
      if (item !== undefined && plan.accepts(item)) page.offer(item, tieGroup(entry.key));
    });
    this.capacity?.chargeRead(this.activeTable(plan.answer.tableName), plan.range.start, partitionLabel(this.activeTable(plan.answer.tableName), page.evaluated, plan.range.start), queryCapacity(page.evaluatedBytes, plan.consistent ? 'strong' : 'eventual'));
    return pageOutput(plan.answer, page);
  }

  async scan(input: ScanInput): Promise<ReadOutput> {
    return this.scanFor(input, USER_REQUEST);
  }

  private async scanFor(input: ScanInput, origin: RequestOrigin): Promise<ReadOutput> {
    const plan = prepareScan(input as unknown as Request, this.activeTable);
    if (plan.index !== undefined) {
      const { output, units, entries } = await this.indexes.scan(plan);
      if (!origin.free && this.capacity !== undefined) {
        const record = this.activeTable(plan.answer.tableName);
        // Each partition is charged what was read from it: a GSI's partitions their entries; the table's partitions an LSI's entries and the items it fetched (LSIs share the table's throughput).
        if (entries !== undefined) this.capacity.chargeScan(record, plan.segment.tokenStart, entries, plan.consistent ? 'strong' : 'eventual', plan.index.global ? plan.index.name : undefined);
        else this.capacity.chargeIndexScan(record, plan.index, plan.segment.tokenStart, units);
      }
      return output;
    }
    const page = new PageAssembler({ limit: plan.limit, bytesMax: plan.bytesMax, compareInGroup: () => 0 });
    // The engine key of each item evaluated, for the capacity charged to each logical partition (scan-charge.ts).
    const ranges = segmentRanges(plan.tableId, this.engine.tokenRanges(), plan.segment);
    const evaluatedKeys = await fillScanPage(this.readRange, { ranges, startAfter: plan.startAfter, consistent: plan.consistent, limit: plan.limit }, page, (entry) => {
      const item = committedItem(entry.value);
      if (item !== undefined) page.offer(item, undefined);
    });
    if (!origin.free && this.capacity !== undefined) {
      const items = evaluatedKeys.map((engineKey, i) => ({ engineKey, bytes: page.evaluatedBytes[i]! }));
      this.capacity.chargeScan(this.activeTable(plan.answer.tableName), plan.segment.tokenStart, items, plan.consistent ? 'strong' : 'eventual');
    }
    return pageOutput(plan.answer, page);
  }

  /** UpdateTable (indexes/update-table.ts): a GSI created or deleted on the live table, billing, throughput, stream. */
  async updateTable(input: Record<string, unknown>): Promise<{ TableDescription: TableDescription }> {
    return this.indexes.updateTable(input as Request, (record) => this.indexes.describe(describeTable(record, this.arn), record));
  }

  // ------------------------------------------------------------------ DynamoDB Streams (streams/stream-reader.ts)

  async listStreams(input: Record<string, unknown> = {}): Promise<Awaited<ReturnType<StreamReader['listStreams']>>> {
    return this.streams.listStreams(input);
  }

  async describeStream(input: Record<string, unknown>): Promise<{ StreamDescription: Record<string, unknown> }> {
    return this.streams.describeStream(input);
  }

  async getShardIterator(input: Record<string, unknown>): Promise<{ ShardIterator: string }> {
    return this.streams.getShardIterator(input);
  }

  async getRecords(input: Record<string, unknown>): Promise<{ Records: StreamRecordOutput[]; NextShardIterator?: string }> {
    return this.streams.getRecords(input);
  }

  /**
   * One retention pass now (it runs by itself every quarter of the
   * retention, at most every minute): records older than the retention
   * deleted, then the streams disabled (or whose table was deleted) at least
   * the retention ago dropped with their spaces. Returns the records trimmed.
   */
  async trimStreams(nowMs = this.streams.clock()): Promise<number> {
    const trimmed = await this.streams.trimOnce(nowMs);
    await this.expireStreams(nowMs, this.streams.retentionMs);
    return trimmed;
  }

  private async expireStreams(nowMs: number, retentionMs: number): Promise<void> {
    const spaces = await this.changeCatalog(() => {
      const expired = expiredStreams(this.catalog, nowMs, retentionMs);
      if (expired.spaces.length > 0) {
        writeCatalog(this.directory, expired.state);
        this.catalog = expired.state;
      }
      return expired.spaces;
    });
    for (const space of spaces) await this.engine.dropSpace(space);
  }

  /** `for await (const record of db.stream(table, { from }))`: every shard's records, as GetRecords gives them, until the loop breaks or the database closes. */
  stream(tableName: string, options?: StreamReadOptions): AsyncGenerator<StreamRecordOutput, void, undefined> {
    return this.streams.stream(tableName, options);
  }

  /** The database's own statistics: each GSI's lag (pending changes, the oldest one's age), the LSI clean-up's counts. The engine's are `store.stats()`. */
  stats(): { indexes: IndexStats } {
    return { indexes: this.indexes.stats() };
  }

  async batchGetItem(input: BatchGetItemInput): Promise<BatchGetItemOutput> {
    const plan = prepareBatchGetItem(input as unknown as Request, this.activeTable);
    const results = await boundedAll(plan.reads, BATCH_CONCURRENCY_MAX, async (read): Promise<BatchGetResult> => {
      try {
        const record = this.activeTable(read.tableName);
        const key = this.itemKey(record, read.key);
        const current = await this.engine.getOrdered(key, { consistent: read.consistent });
        const item = storedItem(current, record, read.key);
        // A throttled key comes back in UnprocessedKeys; only a batch of throttled keys throws (batch-get-item.ts).
        this.capacity?.chargeRead(record, key, keyLabel(read.key), getItemCapacity(item === undefined ? undefined : itemSize(item), read.consistent ? 'strong' : 'eventual'));
        return { item };
      } catch (failed) {
        if (failed instanceof DynamoDbError && !isThrottle(failed)) throw failed;
        return { failed };
      }
    });
    return plan.answer(results);
  }

  async batchWriteItem(input: BatchWriteItemInput): Promise<BatchWriteItemOutput> {
    const plan = prepareBatchWriteItem(input as unknown as Request, this.activeTable);
    const results = await boundedAll(plan.writes, BATCH_CONCURRENCY_MAX, async (write): Promise<BatchWriteResult> => {
      try {
        const record = this.activeTable(write.tableName);
        const key = this.itemKey(record, write.key);
        let charged = false;
        for (let attempt = 0; attempt < WRITE_ATTEMPTS_MAX; attempt += 1) {
          const current = await this.engine.getOrdered(key, { consistent: true });
          if (current !== undefined && (await this.transactions.meetForWrite(key, current))) continue;
          const old = storedItem(current, record, write.key);
          const oldBytes = old === undefined ? undefined : itemSize(old);
          // Charged as batch-write-item.ts reports it (the LSIs' parts with the table's); a throttled write comes back in UnprocessedItems.
          const indexUnits = indexWriteUnits(record, old, write.item);
          if (!charged) this.capacity?.chargeWrite(record, key, keyLabel(write.key), batchWriteItemCapacity([write.item === undefined ? oldBytes : itemSize(write.item)]) + localIndexUnits(indexUnits), indexWriteCharges(record, old, write.item));
          charged = true;
          if (current === undefined && write.item === undefined) return { oldBytes };
          const indexed = await this.indexes.prepareWrite(write.tableName, write.key, old, write.item);
          try {
            await this.engine.writeOrdered({ key, value: write.item, expect: current?.version ?? 'absent', also: indexed.also });
          } catch (error) {
            if (isConflict(error)) continue;
            throw error;
          }
          indexed.committed();
          this.catalog = withItemChange(this.catalog, write.tableName, oldBytes, write.item === undefined ? undefined : itemSize(write.item));
          return { oldBytes, indexUnits };
        }
        return { failed: new DynamoDbError('InternalServerError', 'compare-and-set contention') };
      } catch (failed) {
        if (failed instanceof DynamoDbError && failed.name !== 'InternalServerError' && !isThrottle(failed)) throw failed;
        return { failed };
      }
    });
    return plan.answer(results);
  }
}

/**
 * The item stored at an engine key, checked against the full key asked for:
 * a truncated engine key (key-encoding.ts) is unique barring a digest
 * collision, and this comparison is what makes it exact.
 */
function storedItem(stored: { value: unknown } | undefined, record: TableRecord, key: PrimaryKeyValues): AttributeMap | undefined {
  const item = committedItem(stored?.value);
  if (item === undefined) return undefined;
  const { partitionKey, sortKey } = record.schema;
  const same = (value: AttributeValue | undefined, expected: KeyValue | undefined): boolean =>
    value !== undefined && expected !== undefined && (sameText(value, expected) || (Object.keys(value)[0] === Object.keys(expected)[0] && compareKeyValues(value as KeyValue, expected) === 0));
  if (!same(item[partitionKey.name], key.partition)) throw new DynamoDbError('InternalServerError', 'Two keys share one engine key (a digest collision)');
  if (sortKey !== undefined && !same(item[sortKey.name], key.sort as KeyValue | undefined)) throw new DynamoDbError('InternalServerError', 'Two keys share one engine key (a digest collision)');
  return item;
}

/** Equal S or N texts are equal keys (both are validated, N canonical): no key encoding per item read. */
function sameText(value: AttributeValue, expected: KeyValue): boolean {
  if ('S' in expected) return 'S' in value && value.S === expected.S;
  return 'N' in expected && 'N' in value && value.N === expected.N;
}

// The wire layer checked the input's shape against DynamoDB's (lib/dynamodb/shapes.ts); the cores check the rest.
type Handler = (database: Database, input: Record<string, unknown>) => Promise<unknown>;

const OPERATIONS: Readonly<Record<string, Handler>> = {
  CreateTable: (database, input) => database.createTable(input as unknown as CreateTableInput),
  DeleteTable: (database, input) => database.deleteTable(input as unknown as DeleteTableInput),
  DescribeTable: (database, input) => database.describeTable(input as unknown as DescribeTableInput),
  UpdateTable: (database, input) => database.updateTable(input),
  ListTables: (database, input) => database.listTables(input as unknown as ListTablesInput),
  PutItem: (database, input) => database.putItem(input as unknown as PutItemInput),
  GetItem: (database, input) => database.getItem(input as unknown as GetItemInput),
  UpdateItem: (database, input) => database.updateItem(input as unknown as UpdateItemInput),
  DeleteItem: (database, input) => database.deleteItem(input as unknown as DeleteItemInput),
  Query: (database, input) => database.query(input as unknown as QueryInput),
  Scan: (database, input) => database.scan(input as unknown as ScanInput),
  BatchGetItem: (database, input) => database.batchGetItem(input as unknown as BatchGetItemInput),
  BatchWriteItem: (database, input) => database.batchWriteItem(input as unknown as BatchWriteItemInput),
  UpdateTimeToLive: (database, input) => database.updateTimeToLive(input as unknown as { TableName: string; TimeToLiveSpecification: TimeToLiveSpecification }),
  DescribeTimeToLive: (database, input) => database.describeTimeToLive(input as unknown as { TableName: string }),
  TagResource: (database, input) => database.tagResource(input as unknown as { ResourceArn: string; Tags: Tag[] }),
  UntagResource: (database, input) => database.untagResource(input as unknown as { ResourceArn: string; TagKeys: string[] }),
  ListTagsOfResource: (database, input) => database.listTagsOfResource(input as unknown as { ResourceArn: string }),
  TransactWriteItems: (database, input) => database.transactWriteItems(input as unknown as TransactWriteItemsInput),
  TransactGetItems: (database, input) => database.transactGetItems(input as unknown as TransactGetItemsInput),
  ListStreams: (database, input) => database.listStreams(input),
  DescribeStream: (database, input) => database.describeStream(input),
  GetShardIterator: (database, input) => database.getShardIterator(input),
  GetRecords: (database, input) => database.getRecords(input),
};

/** A table record without its streams: DeleteTable drops every other space of it at once. */
function withoutStreams(record: TableRecord): TableRecord {
  if (record.indexes === undefined) return record;
  const { stream: _stream, pastStreams: _past, ...indexes } = record.indexes;
  return { ...record, indexes };
}
