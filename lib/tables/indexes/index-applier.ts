/**
 * The GSI applier: the shell that moves each GSI's queued changes
 * (change-log.ts) into its entries (index-entry.ts decides, this reads and
 * writes). A GSI is thereby updated after the base write is acknowledged,
 * from its ordered change log, as DynamoDB's are (DG: GSI "Data
 * synchronization": asynchronous, eventually consistent).
 *
 * - Work: a queue is one range per ring partition of its space. Base writes
 *   mark their (index, ring partition) dirty, which wakes the applier; a
 *   sweep of every partition runs at start (changes logged before a crash or
 *   by another process's writes) and every SWEEP_MS after, so nothing
 *   committed stays unapplied.
 * - Order: a partition's queue is read with consistent ranges (the leader's
 *   copy, which holds every acknowledged record) and applied in key order, so
 *   each item's changes in version order. A record held back (gsiLagMs) holds
 *   every later record of its base partition, and a failure stops the
 *   partition's pass: the order per item is never broken. The records of
 *   different base partitions are independent, so up to GROUPS_AT_ONCE of
 *   them are applied at once, each one's in order.
 * - Idempotence: an entry records the base version it was written from and
 *   a change replaces only an older one (compare-and-set on the entry), and
 *   an item's locator (index-locator.ts) records which entry it has, so a
 *   record applied but not yet removed when the process or a leader failed
 *   is applied again harmlessly, and a failed write's record that repair
 *   brings back late cannot leave an entry behind. A record is removed (compare-and-set on its
 *   version) only after its entry writes are acknowledged: the queue itself
 *   is the durable cursor.
 * - Bounds: QUEUE_PAGE records per range read, PARTITIONS_AT_ONCE partitions
 *   in flight, CAS_ATTEMPTS_MAX rounds per entry under contention.
 */
import type { AttributeMap } from '../attribute-value.js';
import { itemSize } from '../item-size.js';
import type { CatalogState, TableRecord } from '../table-catalog.js';
import { isConflict, type RangeEntry, type TableEngine, type TokenRange } from '../table-engine.js';
import type { IndexSchema } from '../table-schema.js';
import { segmentRanges } from '../scan.js';
import { changeOfRecord, logGroupOf, logVersionOf, type QueueRecord } from './change-log.js';
import { baseKeyOf, changeTargets, supersedes, type IndexEntryValue } from './index-entry.js';
import { locateChange, locatorKey, type IndexLocator } from './index-locator.js';
import { encodeIndexKey } from './index-key.js';
import { keyAfter } from '../../bytes.js';
import { boundedAll } from '../bounded-all.js';

const QUEUE_PAGE = 500;
const PARTITIONS_AT_ONCE = 16;
/** Base partitions of one queue page applied at once (each one's records in order). */
const GROUPS_AT_ONCE = 16;
const CAS_ATTEMPTS_MAX = 32;
/** A sweep of every queue partition, however quiet, this often. */
export const SWEEP_MS = 10_000;
/** After a failed pass (a node down, a timeout), wait before retrying. */
const RETRY_MS = 50;
/** The idle wait when nothing is due. */
const IDLE_MS = 250;

export interface ApplierHost {
  readonly engine: TableEngine;
  catalog(): CatalogState;
  nowMs(): number;
  lagMsOf(tableName: string, indexName: string): number;
  /** An entry appeared (+1) or disappeared (-1) with these bytes. */
  counted(tableName: string, indexName: string, items: number, bytes: number): void;
}

/** Lag of one GSI as `db.stats()` shows it. */
export interface IndexLag {
  /** Changes committed to the table and not yet applied to the index (as of the last read of each queue partition). */
  pendingChanges: number;
  /** Age of the oldest of them, in ms (0 when none). */
  oldestPendingAgeMs: number;
  /** Changes applied since the database opened. */
  appliedChanges: number;
  /** The configured propagation delay (gsiLagMs). */
  lagMs: number;
}

interface QueueState {
  /** Ring partition → the earliest time it is due (0: now). */
  readonly dirty: Map<number, number>;
  /** Ring partition → records left after its last read, and the oldest one's commit time. */
  readonly left: Map<number, { count: number; oldestMs: number }>;
  /** Ring partition → when it was marked dirty and not yet read. */
  readonly dirtySince: Map<number, number>;
  applied: number;
}

export class IndexApplier {
  private readonly queues = new Map<string, QueueState>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSweepMs = -Infinity;
  private sweeping: Promise<void> | undefined;
  private ranges: TokenRange[] | undefined;
  /** The drain running per queue partition ("Table/Index/partition"). */
  private readonly draining = new Map<string, Promise<number>>();

  constructor(private readonly host: ApplierHost) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** A base write logged a change for `indexName` in the ring partition of `token`. */
  changed(tableName: string, indexName: string, token: number): void {
    const queue = this.queueOf(tableName, indexName);
    const partition = this.partitionOf(token);
    if (!queue.dirty.has(partition)) queue.dirty.set(partition, 0);
    if (!queue.dirtySince.has(partition)) queue.dirtySince.set(partition, this.host.nowMs());
    this.wake();
  }

  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    wakeUp?.();
  }

  /** Per GSI ("Table/Index"): its lag. */
  lags(): Record<string, IndexLag> {
    const now = this.host.nowMs();
    const result: Record<string, IndexLag> = {};
    for (const record of Object.values(this.host.catalog().tables)) {
      for (const index of record.schema.globalSecondaryIndexes) {
        const name = `${record.schema.tableName}/${index.indexName}`;
        const queue = this.queueOf(record.schema.tableName, index.indexName);
        let pending = 0;
        let oldest = Infinity;
        for (const left of queue.left.values()) {
          pending += left.count;
          if (left.count > 0) oldest = Math.min(oldest, left.oldestMs);
        }
        for (const since of queue.dirtySince.values()) oldest = Math.min(oldest, since);
        // A dirty partition not read yet holds at least one change.
        for (const partition of queue.dirtySince.keys()) if ((queue.left.get(partition)?.count ?? 0) === 0) pending += 1;
        result[name] = {
          pendingChanges: pending,
          oldestPendingAgeMs: oldest === Infinity ? 0 : Math.max(0, now - oldest),
          appliedChanges: queue.applied,
          lagMs: this.host.lagMsOf(record.schema.tableName, index.indexName),
        };
      }
    }
    return result;
  }

  /** One pass over every queue partition of one GSI (or all when undefined): the changes left after it. */
  async sweep(tableName?: string, indexName?: string): Promise<number> {
    let left = 0;
    for (const { record, index } of this.liveIndexes()) {
      if (tableName !== undefined && (record.schema.tableName !== tableName || index.indexName !== indexName)) continue;
      const queue = this.queueOf(record.schema.tableName, index.indexName);
      const partitions = this.tokenRanges().map((range) => range.partition);
      // A closing applier stops sweeping (what is left is swept at the next open).
      const results = await boundedAll(partitions, PARTITIONS_AT_ONCE, (partition) => (this.running ? this.drain(record, index, queue, partition) : Promise.resolve(0)));
      left += results.reduce((sum, count) => sum + count, 0);
    }
    return left;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      const now = this.host.nowMs();
      if (now - this.lastSweepMs >= SWEEP_MS && this.sweeping === undefined) {
        // In the background: a sweep reads every queue partition, and fresh changes must not wait for it.
        this.ranges = undefined;
        this.lastSweepMs = now;
        this.sweeping = this.sweep().then(() => undefined, () => undefined).finally(() => (this.sweeping = undefined));
      }
      try {
        worked = await this.drainDirty();
      } catch {
        await this.sleep(RETRY_MS);
        continue;
      }
      if (!worked && this.running) await this.sleep(this.nextDueInMs());
    }
    await this.sweeping;
  }

  /** The dirty partitions that are due; true if any was read. */
  private async drainDirty(): Promise<boolean> {
    const now = this.host.nowMs();
    const work: Array<() => Promise<number>> = [];
    for (const { record, index } of this.liveIndexes()) {
      const queue = this.queueOf(record.schema.tableName, index.indexName);
      for (const [partition, dueMs] of queue.dirty) {
        if (dueMs > now) continue;
        queue.dirty.delete(partition);
        work.push(() => this.drain(record, index, queue, partition));
      }
    }
    await boundedAll(work, PARTITIONS_AT_ONCE, (task) => task());
    return work.length > 0;
  }

  /**
   * Applies what is due of one queue partition; the records left. One drain
   * of a partition at a time (the loop, a sweep, a backfill's wait): two
   * would interleave one item's changes, and an older one could then land
   * where a newer one had removed an entry.
   */
  private drain(record: TableRecord, index: IndexSchema, queue: QueueState, partition: number): Promise<number> {
    const name = `${record.schema.tableName}/${index.indexName}/${partition}`;
    const previous = this.draining.get(name) ?? Promise.resolve(0);
    const next = previous.then(() => this.drainAlone(record, index, queue, partition));
    // The chain never rejects (the caller gets the failure from `next`).
    const settled: Promise<number> = next.catch(() => 0).finally(() => {
      if (this.draining.get(name) === settled) this.draining.delete(name);
    });
    this.draining.set(name, settled);
    return next;
  }

  private async drainAlone(record: TableRecord, index: IndexSchema, queue: QueueState, partition: number): Promise<number> {
    const spaces = record.indexes?.spaces[index.indexName];
    const range = this.tokenRanges().find((candidate) => candidate.partition === partition);
    if (spaces?.queueSpace === undefined || range === undefined) return 0;
    const [bounds] = segmentRanges(spaces.queueSpace, [range], { tokenStart: range.tokenStart, tokenEnd: range.tokenEnd });
    const lagMs = this.host.lagMsOf(record.schema.tableName, index.indexName);
    const held = new Set<string>();
    let left = 0;
    let oldestMs = Infinity;
    let dueMs = Infinity;
    let start = bounds!.start;
    queue.dirtySince.delete(partition);
    try {
      for (;;) {
        const page = await this.host.engine.range({ start, end: bounds!.end, limit: QUEUE_PAGE, consistent: true });
        // One base partition's records in key order (order per item); different base partitions at once.
        const groups = new Map<string, RangeEntry[]>();
        for (const entry of page.entries) {
          const group = logGroupOf(entry.key);
          const records = groups.get(group);
          if (records === undefined) groups.set(group, [entry]);
          else records.push(entry);
        }
        await boundedAll([...groups], GROUPS_AT_ONCE, async ([group, records]) => {
          for (const entry of records) {
            const change = entry.value as QueueRecord;
            const readyAtMs = change.t + lagMs;
            if (held.has(group) || readyAtMs > this.host.nowMs()) {
              // Held back: so is every later change of its base partition (order per item).
              held.add(group);
              left += 1;
              oldestMs = Math.min(oldestMs, change.t);
              dueMs = Math.min(dueMs, readyAtMs);
              continue;
            }
            await this.apply(record, index, spaces, entry);
            queue.applied += 1;
          }
        });
        const last = page.entries[page.entries.length - 1];
        if (!page.more || last === undefined) break;
        start = keyAfter(last.key);
      }
    } catch (error) {
      // Stop here (order per item) and come back soon.
      queue.dirty.set(partition, this.host.nowMs() + RETRY_MS);
      queue.left.set(partition, { count: Math.max(left, 1), oldestMs: Math.min(oldestMs, this.host.nowMs()) });
      throw error;
    }
    queue.left.set(partition, { count: left, oldestMs });
    if (left > 0) queue.dirty.set(partition, Math.min(queue.dirty.get(partition) ?? Infinity, dueMs));
    return left;
  }

  /**
   * One queued change into the index's entries, then off the queue. The
   * item's locator (index-locator.ts) says which entry it has now and from
   * which version: a change older than that is dropped, and a newer one
   * removes that entry as well as the one its old image names.
   */
  private async apply(record: TableRecord, index: IndexSchema, spaces: { entrySpace: number; locatorSpace?: number }, entry: RangeEntry): Promise<void> {
    const version = logVersionOf(entry.key);
    const change = changeOfRecord(entry.value as QueueRecord);
    const targets = changeTargets(record.schema, index, change);
    const { tableName } = record.schema;
    const removeKey = targets.removeFrom === undefined ? undefined : encodeIndexKey(spaces.entrySpace, targets.removeFrom.indexKey, targets.removeFrom.baseKey).key;
    const writeKey = targets.writeTo === undefined ? undefined : encodeIndexKey(spaces.entrySpace, targets.writeTo.indexKey, targets.writeTo.baseKey).key;
    const removed = (bytes: number) => this.host.counted(tableName, index.indexName, -1, -bytes);
    const write = async (key: Uint8Array) => {
      const item = targets.writeTo!.item;
      await this.casEntry(key, version, item, (bytes) => this.host.counted(tableName, index.indexName, bytes === 0 ? 1 : 0, itemSize(item) - bytes));
    };
    if (spaces.locatorSpace === undefined) {
      // A catalog from before locators, until start() gave it one: the images alone.
      if (removeKey !== undefined) await this.casEntry(removeKey, version, undefined, removed);
      if (writeKey !== undefined) await write(writeKey);
    } else {
      const image = change.new ?? change.old ?? change.key;
      const located = locatorKey(spaces.locatorSpace, baseKeyOf(record.schema, image!));
      for (let attempt = 0; ; attempt += 1) {
        if (attempt === CAS_ATTEMPTS_MAX) throw new Error('an index locator lost every compare-and-set round');
        const current = await this.host.engine.getOrdered(located, { consistent: true });
        const plan = locateChange(current?.value as IndexLocator | undefined, version, removeKey, writeKey);
        if (plan === undefined) break;
        for (const key of plan.remove) await this.casEntry(key, version, undefined, removed);
        if (plan.write !== undefined) await write(plan.write);
        try {
          await this.host.engine.writeOrdered({ key: located, value: plan.locator, expect: current?.version ?? 'absent' });
          break;
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
      }
    }
    try {
      await this.host.engine.writeOrdered({ key: entry.key, expect: entry.version });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }

  /** Writes (or removes, `item` undefined) the entry at `key` unless it came from a version at least as new. */
  private async casEntry(key: Uint8Array, version: number, item: AttributeMap | undefined, counted: (previousBytes: number) => void): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt += 1) {
      const current = await this.host.engine.getOrdered(key, { consistent: true });
      const value = current?.value as IndexEntryValue | undefined;
      if (!supersedes(version, value)) return;
      if (item === undefined && current === undefined) return;
      try {
        const next: IndexEntryValue | undefined = item === undefined ? undefined : { item, baseVersion: version };
        await this.host.engine.writeOrdered({ key, value: next, expect: current?.version ?? 'absent' });
      } catch (error) {
        if (isConflict(error)) continue;
        throw error;
      }
      if (item !== undefined || value !== undefined) counted(value === undefined ? 0 : itemSize(value.item));
      return;
    }
    throw new Error('an index entry lost every compare-and-set round');
  }

  private *liveIndexes(): Iterable<{ record: TableRecord; index: IndexSchema }> {
    for (const record of Object.values(this.host.catalog().tables)) {
      if (record.status !== 'ACTIVE') continue;
      for (const index of record.schema.globalSecondaryIndexes) {
        const status = record.indexes?.spaces[index.indexName]?.status;
        if (status === 'ACTIVE' || status === 'CREATING') yield { record, index };
      }
    }
  }

  private queueOf(tableName: string, indexName: string): QueueState {
    const name = `${tableName}/${indexName}`;
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = { dirty: new Map(), left: new Map(), dirtySince: new Map(), applied: 0 };
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Forget a deleted index's or table's queue state. */
  forget(tableName: string, indexName?: string): void {
    for (const name of [...this.queues.keys()]) if (indexName === undefined ? name.startsWith(`${tableName}/`) : name === `${tableName}/${indexName}`) this.queues.delete(name);
  }

  private tokenRanges(): TokenRange[] {
    this.ranges ??= this.host.engine.tokenRanges();
    return this.ranges;
  }

  private partitionOf(token: number): number {
    const ranges = this.tokenRanges();
    let low = 0;
    let high = ranges.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (ranges[middle]!.tokenStart <= token) low = middle;
      else high = middle - 1;
    }
    return ranges[low]!.partition;
  }

  private nextDueInMs(): number {
    const now = this.host.nowMs();
    let next = this.lastSweepMs + SWEEP_MS;
    for (const queue of this.queues.values()) for (const dueMs of queue.dirty.values()) next = Math.min(next, dueMs);
    return Math.max(0, Math.min(IDLE_MS, next - now));
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      // Unreferenced: an applier alone never keeps the process alive (a Database left open over an in-memory engine).
      this.timer = setTimeout(() => this.wake(), ms);
      this.timer.unref?.();
    });
  }
}

