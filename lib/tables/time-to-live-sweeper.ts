/**
 * The background deletion of expired items (DG: Time to Live, "How it
 * works"): a sweep walks every table whose TTL is on, page by page, and
 * deletes each item whose TTL attribute has passed (time-to-live.ts decides),
 * with a condition that the item still carries the expiry it was found with,
 * so an item updated meanwhile is left alone. Deletions go through the same
 * leader-ordered write as DeleteItem, so they reach the engine's replicas
 * (and whatever else follows the table's writes) like any delete.
 *
 * Paced, as DynamoDB's "best-effort basis to ensure availability of
 * throughput for other data operations" (API: UpdateTimeToLive): one page
 * and one delete at a time, at most `deletesPerSecondMax` deletes per second,
 * and a pause of `intervalMs` between sweeps. Items are therefore deleted
 * after they expire, never exactly at it; until then they remain readable,
 * as in DynamoDB.
 */
import type { AttributeMap } from './attribute-value.js';
import { DynamoDbError } from './dynamodb-error.js';
import type { DeleteItemInput, ScanInput } from './operation-shapes.js';
import type { ReadOutput } from './read-page.js';
import { expiredAt, isConditionFailure, sweepDeleteCondition } from './time-to-live.js';
import { ErrorCode, RingtableError } from '../errors.js';

export interface SweptTable {
  readonly tableName: string;
  readonly attributeName: string;
  readonly keyNames: readonly string[];
}

/** What the sweep needs of the Database. */
export interface TimeToLiveSweepHost {
  sweptTables(): SweptTable[];
  scan(input: ScanInput): Promise<ReadOutput>;
  deleteItem(input: DeleteItemInput): Promise<unknown>;
  nowMs(): number;
}

export interface TimeToLiveSweepOptions {
  /** Pause between the end of one sweep and the start of the next. */
  readonly intervalMs: number;
  /** At most this many TTL deletions per second. */
  readonly deletesPerSecondMax: number;
}

export const TIME_TO_LIVE_SWEEP_DEFAULTS: TimeToLiveSweepOptions = { intervalMs: 10_000, deletesPerSecondMax: 1_000 };
/** Items read per page of a sweep (a bound on what one step holds). */
const SWEEP_PAGE_ITEMS = 100;

export interface TimeToLiveSweepStats {
  sweeps: number;
  deleted: number;
  /** Sweeps that ended early on an engine error (retried at the next sweep). */
  failed: number;
}

export class TimeToLiveSweeper {
  private readonly host: TimeToLiveSweepHost;
  private readonly options: TimeToLiveSweepOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private windowStartMs = 0;
  private windowDeletes = 0;
  readonly stats: TimeToLiveSweepStats = { sweeps: 0, deleted: 0, failed: 0 };

  constructor(host: TimeToLiveSweepHost, options: TimeToLiveSweepOptions) {
    if (!(options.intervalMs >= 1) || !(options.deletesPerSecondMax >= 1)) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'timeToLive: sweepIntervalMs and deletesPerSecondMax must be at least 1');
    }
    this.host = host;
    this.options = options;
  }

  start(): void {
    this.schedule();
  }

  /** Stops sweeping and waits for a sweep in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.options.intervalMs);
    // A sweep never keeps the process alive on its own.
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    try {
      for (const table of this.host.sweptTables()) {
        if (this.stopped) return;
        await this.sweepTable(table);
      }
      this.stats.sweeps += 1;
    } catch {
      // The engine may be short of a quorum (nodes down): the next sweep tries again.
      this.stats.failed += 1;
    }
  }

  private async sweepTable(table: SweptTable): Promise<void> {
    const names: Record<string, string> = {};
    const projected = [...table.keyNames, table.attributeName].map((name, index) => {
      names[`#a${index}`] = name;
      return `#a${index}`;
    });
    let startKey: AttributeMap | undefined;
    do {
      if (this.stopped) return;
      let page: ReadOutput;
      try {
        page = await this.host.scan({
          TableName: table.tableName,
          Limit: SWEEP_PAGE_ITEMS,
          ProjectionExpression: projected.join(', '),
          ExpressionAttributeNames: names,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        });
      } catch (error) {
        if (isTableGone(error)) return;
        throw error;
      }
      for (const item of page.Items ?? []) {
        const expiry = expiredAt(item, table.attributeName, this.host.nowMs());
        if (expiry === undefined) continue;
        await this.pace();
        if (this.stopped) return;
        await this.deleteExpired(table, item, expiry);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  private async deleteExpired(table: SweptTable, item: AttributeMap, expiry: string): Promise<void> {
    const key: AttributeMap = {};
    for (const name of table.keyNames) key[name] = item[name]!;
    try {
      await this.host.deleteItem({ TableName: table.tableName, Key: key, ...sweepDeleteCondition(table.attributeName, expiry) });
      this.stats.deleted += 1;
    } catch (error) {
      // Updated or deleted since the page was read: not ours to delete any more.
      if (isConditionFailure(error) || isTableGone(error)) return;
      throw error;
    }
  }

  /** Waits while this second's deletions are used up. */
  private async pace(): Promise<void> {
    const nowMs = this.host.nowMs();
    if (nowMs - this.windowStartMs >= 1000) {
      this.windowStartMs = nowMs;
      this.windowDeletes = 0;
    }
    if (this.windowDeletes >= this.options.deletesPerSecondMax) {
      await new Promise((resolve) => setTimeout(resolve, 1000 - (nowMs - this.windowStartMs)));
      this.windowStartMs = this.host.nowMs();
      this.windowDeletes = 0;
    }
    this.windowDeletes += 1;
  }
}

function isTableGone(error: unknown): boolean {
  return error instanceof DynamoDbError && error.name === 'ResourceNotFoundException';
}
