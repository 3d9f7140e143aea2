/**
 * Runs one or more table designs side by side on one Database, each at the
 * same target request rate, under the capacity model, and reports what the
 * client and the model saw (tables-report.ts). The shell of the tables
 * workload: it owns the clock (an open-loop schedule: requests are started
 * when due, whatever the answers' latency, up to `concurrency` in flight per
 * table, so a throttled design is not slowed into passing).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Database, DynamoDbError, type AttributeMap } from '../../lib/index.js';
import { Prng } from '../../lib/prng.js';
import { makeTempDir, removeTempDir } from '../lib/temp-dir.js';
import { loadAverage, machineFacts } from '../ycsb/machine-facts.js';
import { RequestStream, type TableDesign, type TableRequest } from './table-design.js';
import { TABLES_REPORT_SCHEMA_VERSION, tableRunReport, type ClientCounts, type TablesBenchReport } from './tables-report.js';

export interface TablesRunRequest {
  command: string;
  designs: TableDesign[];
  capacity: 'off' | 'observe' | 'enforce';
  capacityScale: number;
  /** Requests per second, per table. */
  opsPerSecond: number;
  durationSeconds: number;
  /** Requests in flight at once, per table. */
  concurrency: number;
  seed: number;
  nodes: number;
  durability: 'none' | 'async' | 'sync';
  /** Database directory (default: a temporary one, removed at the end). */
  path?: string | undefined;
  /** Called once a second with the second's client counts, for a live display. */
  onSecond?: ((second: number, perTable: Array<{ table: string; requests: number; throttled: number }>) => void) | undefined;
}

/** How often the schedule wakes to start the requests that fell due. */
const TICK_MS = 5;

export async function runTablesWorkload(request: TablesRunRequest): Promise<TablesBenchReport> {
  const path = request.path ?? makeTempDir('ringtable-tables-');
  const startFacts = machineFacts().facts;
  const db = await Database.open({
    path,
    nodes: request.nodes,
    durability: request.durability,
    capacity: request.capacity,
    capacityScale: request.capacityScale,
    // One-second series over the whole run (the default window is 60 s).
    capacityTuning: { metrics: { windowSeconds: Math.min(3_600, Math.max(60, Math.ceil(request.durationSeconds) + 5)) } },
  });
  try {
    for (const design of request.designs) await db.createTable(createTableInput(design));
    const runs = request.designs.map((design, i) => new TableRun(db, design, request.seed + i, request.concurrency));
    const startedMs = performance.now();
    const durationMs = request.durationSeconds * 1000;
    let reportedSecond = 0;
    for (;;) {
      const elapsedMs = performance.now() - startedMs;
      if (elapsedMs >= durationMs) break;
      const due = Math.floor((elapsedMs / 1000) * request.opsPerSecond);
      for (const run of runs) run.startUntil(due);
      const second = Math.floor(elapsedMs / 1000);
      if (second > reportedSecond) {
        reportedSecond = second;
        request.onSecond?.(second, runs.map((run) => run.takeSecond()));
      }
      await sleep(TICK_MS);
    }
    await Promise.all(runs.map((run) => run.drain()));
    const elapsedMs = performance.now() - startedMs;
    const snapshot = db.capacityMetrics({ topKeys: 10 });
    const runSeconds = Math.ceil(elapsedMs / 1000);
    const requests = runs.reduce((total, run) => total + run.counts.reads + run.counts.writes, 0);
    const notes: string[] = [];
    if (request.capacity === 'off') notes.push('capacity off: the model accounted nothing, so no partition figures.');
    if (runs.some((run) => run.counts.skipped > 0)) notes.push('some requests were skipped because --concurrency were already in flight: the target rate was not met.');
    return {
      schemaVersion: TABLES_REPORT_SCHEMA_VERSION,
      kind: 'tables',
      command: request.command,
      capacity: { mode: request.capacity, scale: request.capacityScale },
      database: { nodes: request.nodes, durability: request.durability },
      workload: { opsPerSecond: request.opsPerSecond, durationSeconds: request.durationSeconds, concurrency: request.concurrency, seed: request.seed },
      run: { elapsedMs, requests, throughputPerSec: requests / (elapsedMs / 1000) },
      machine: { ...startFacts, loadAverageAtEnd: loadAverage() },
      tables: runs.map((run) => tableRunReport(run.design, run.counts, snapshot, runSeconds)),
      notes,
    };
  } finally {
    await db.close();
    if (request.path === undefined) removeTempDir(path);
  }
}

export function createTableInput(design: TableDesign) {
  const withSort = design.itemsPerPartitionKey > 1;
  return {
    TableName: design.table,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }, ...(withSort ? [{ AttributeName: 'sk', AttributeType: 'N' as const }] : [])],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }, ...(withSort ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : [])],
    ...(design.billingMode === 'PAY_PER_REQUEST'
      ? { BillingMode: 'PAY_PER_REQUEST' as const }
      : { BillingMode: 'PROVISIONED' as const, ProvisionedThroughput: { ReadCapacityUnits: design.readCapacityUnits, WriteCapacityUnits: design.writeCapacityUnits } }),
  };
}

class TableRun {
  readonly design: TableDesign;
  readonly counts: ClientCounts = { reads: 0, writes: 0, consistentReads: 0, succeeded: 0, throttled: 0, skipped: 0, errorsByName: {}, throttlesByReason: {} };
  readonly #db: Database;
  readonly #stream: RequestStream;
  readonly #prng: Prng;
  readonly #concurrency: number;
  readonly #payload: string;
  readonly #inFlight = new Set<Promise<void>>();
  #started = 0;
  #secondRequests = 0;
  #secondThrottled = 0;

  constructor(db: Database, design: TableDesign, seed: number, concurrency: number) {
    this.#db = db;
    this.design = design;
    this.#stream = new RequestStream(design);
    this.#prng = new Prng(seed);
    this.#concurrency = concurrency;
    this.#payload = 'x'.repeat(design.itemBytes);
  }

  /** Start requests until `due` have been started (or skipped: concurrency is the bound). */
  startUntil(due: number): void {
    while (this.#started < due) {
      this.#started++;
      if (this.#inFlight.size >= this.#concurrency) {
        this.counts.skipped++;
        continue;
      }
      const request = this.#stream.next(this.#prng);
      const running = this.send(request).finally(() => this.#inFlight.delete(running));
      this.#inFlight.add(running);
    }
  }

  takeSecond(): { table: string; requests: number; throttled: number } {
    const second = { table: this.design.table, requests: this.#secondRequests, throttled: this.#secondThrottled };
    this.#secondRequests = 0;
    this.#secondThrottled = 0;
    return second;
  }

  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  private async send(request: TableRequest): Promise<void> {
    const key: AttributeMap = { pk: { S: request.partitionKey } };
    if (request.sortKey !== undefined) key['sk'] = { N: String(request.sortKey) };
    this.#secondRequests++;
    try {
      if (request.kind === 'read') {
        this.counts.reads++;
        if (request.consistent) this.counts.consistentReads++;
        await this.#db.getItem({ TableName: this.design.table, Key: key, ConsistentRead: request.consistent });
      } else {
        this.counts.writes++;
        await this.#db.putItem({ TableName: this.design.table, Item: { ...key, payload: { S: this.#payload } } });
      }
      this.counts.succeeded++;
    } catch (error) {
      if (!(error instanceof DynamoDbError)) throw error;
      this.counts.errorsByName[error.name] = (this.counts.errorsByName[error.name] ?? 0) + 1;
      if (error.name === 'ProvisionedThroughputExceededException' || error.name === 'ThrottlingException') {
        this.counts.throttled++;
        this.#secondThrottled++;
        for (const { reason } of error.throttlingReasons ?? []) this.counts.throttlesByReason[reason] = (this.counts.throttlesByReason[reason] ?? 0) + 1;
      }
    }
  }
}
