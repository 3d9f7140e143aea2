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
 * - Cost: a page's due changes are applied per base item, folded
 *   (change-fold.ts): the item's locators of one base partition read with
 *   one range, its entry writes sent at once (no read before them), and its
 *   locator written together with the removal of its applied records in one
 *   atomic write (the records share the item's token). About three engine
 *   round trips per item per page, however many of its changes the page
 *   holds, instead of about four per change.
 * - Idempotence: an item's locator (index-locator.ts) records which entry
 *   it has and from which version, and is written (compare-and-set on the
 *   version read) only after the entry writes are acknowledged, with the
 *   removal of the records applied: a record applied but not yet removed
 *   when the process or a leader failed is applied again harmlessly (the
 *   same writes), one no newer than the locator changes nothing, and a
 *   failed write's record that repair brings back late cannot leave an
 *   entry behind. An entry is keyed by its item's base key, and one drain
 *   at a time applies a queue partition (which holds all of its items'
 *   changes), so entries are written without compare-and-set. The queue
 *   itself is the durable cursor.
 * - Bounds: QUEUE_PAGE records per range read, PARTITIONS_AT_ONCE partitions
 *   in flight, GROUPS_AT_ONCE base partitions and ITEMS_AT_ONCE items of each
 *   per page, CAS_ATTEMPTS_MAX rounds per locator (or legacy entry) under contention.
 */
import type { AttributeMap } from '../attribute-value.js';
import { itemSize } from '../item-size.js';
import type { CatalogState, TableRecord } from '../table-catalog.js';
import { ALSO_WRITES_MAX, isConflict, RANGE_LIMIT_MAX, type OrderedValue, type OrderedWrite, type RangeEntry, type TableEngine, type TokenRange } from '../table-engine.js';
import type { IndexSchema } from '../table-schema.js';
import { segmentRanges } from '../scan.js';
import { changeOfRecord, logGroupOf, logVersionOf, type QueueRecord } from './change-log.js';
import { baseKeyOf, changeTargets, supersedes, type IndexEntryValue } from './index-entry.js';
import { locatorKey, type IndexLocator } from './index-locator.js';
import { countDelta, foldChanges, type KeyedChange } from './change-fold.js';
import { encodeIndexKey } from './index-key.js';
import { keyAfter } from '../../bytes.js';
import { boundedAll } from '../bounded-all.js';

const QUEUE_PAGE = 500;
const PARTITIONS_AT_ONCE = 16;
/** Base partitions of one queue page applied at once (each one's records in order). */
const GROUPS_AT_ONCE = 16;
const CAS_ATTEMPTS_MAX = 32;
/** Base items of one base partition applied at once. */
const ITEMS_AT_ONCE = 64;
/** A base partition's locators are read with one range when it holds at most this many per item wanted. */
const LOCATOR_RANGE_SLACK = 4;
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

/** One base item's due changes of a queue page, in version order, and their records' keys. */
interface PendingItem {
  readonly locatorKey: Uint8Array;
  readonly changes: KeyedChange[];
  readonly records: Uint8Array[];
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
        // What is due, per base partition in key order; a record held back holds every later one of its base partition.
        const ready: RangeEntry[] = [];
        const readyByGroup: RangeEntry[][] = [];
        for (const [group, records] of groups) {
          const due: RangeEntry[] = [];
          readyByGroup.push(due);
          for (const entry of records) {
            const change = entry.value as QueueRecord;
            const readyAtMs = change.t + lagMs;
            if (held.has(group) || readyAtMs > this.host.nowMs()) {
              held.add(group);
              left += 1;
              oldestMs = Math.min(oldestMs, change.t);
              dueMs = Math.min(dueMs, readyAtMs);
              continue;
            }
            ready.push(entry);
            due.push(entry);
          }
        }
        if (spaces.locatorSpace === undefined) {
          // A catalog from before locators, until start() gave it one: one change at a time, by its images.
          await boundedAll(readyByGroup, GROUPS_AT_ONCE, async (records) => {
            for (const entry of records) {
              await this.applyByImages(record, index, spaces.entrySpace, entry);
              queue.applied += 1;
            }
          });
        } else {
          await this.applyPage(record, index, { entrySpace: spaces.entrySpace, locatorSpace: spaces.locatorSpace }, ready);
          queue.applied += ready.length;
        }
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
   * A page's due changes into the index's entries, then off the queue. Per
   * base item (its locator, index-locator.ts): its changes of the page folded
   * in version order (change-fold.ts) into one set of entry writes, sent at
   * once, then one atomic write of the locator (compare-and-set on the
   * version read) with the deletion of the item's applied records (the same
   * token: change-log.ts). The locators of one base partition are read with
   * one range read. A record is removed only with or after its entry writes:
   * one the process or a leader lost is applied again, and a change no newer
   * than the locator changes nothing.
   */
  private async applyPage(record: TableRecord, index: IndexSchema, spaces: { entrySpace: number; locatorSpace: number }, ready: readonly RangeEntry[]): Promise<void> {
    const items = new Map<string, PendingItem>();
    const byGroup = new Map<string, PendingItem[]>();
    for (const entry of ready) {
      const change = changeOfRecord(entry.value as QueueRecord);
      const targets = changeTargets(record.schema, index, change);
      const image = change.new ?? change.old ?? change.key;
      const located = locatorKey(spaces.locatorSpace, baseKeyOf(record.schema, image!));
      const name = Buffer.from(located).toString('latin1');
      let item = items.get(name);
      if (item === undefined) {
        item = { locatorKey: located, changes: [], records: [] };
        items.set(name, item);
        const group = logGroupOf(entry.key);
        const others = byGroup.get(group);
        if (others === undefined) byGroup.set(group, [item]);
        else others.push(item);
      }
      const keyed: { version: number; removeFrom?: Uint8Array; writeTo?: Uint8Array; item?: AttributeMap } = { version: logVersionOf(entry.key) };
      if (targets.removeFrom !== undefined) keyed.removeFrom = encodeIndexKey(spaces.entrySpace, targets.removeFrom.indexKey, targets.removeFrom.baseKey).key;
      if (targets.writeTo !== undefined) {
        keyed.writeTo = encodeIndexKey(spaces.entrySpace, targets.writeTo.indexKey, targets.writeTo.baseKey).key;
        keyed.item = targets.writeTo.item;
      }
      item.changes.push(keyed);
      item.records.push(entry.key);
    }
    await boundedAll([...byGroup.values()], GROUPS_AT_ONCE, async (group) => {
      const locators = await this.readLocators(group.map((item) => item.locatorKey));
      await boundedAll(group, ITEMS_AT_ONCE, (item) => this.applyItem(record.schema.tableName, index.indexName, item, locators.get(Buffer.from(item.locatorKey).toString('latin1'))));
    });
  }

  /** One base item's changes of a page (PendingItem), from its locator as first read. */
  private async applyItem(tableName: string, indexName: string, item: PendingItem, first: OrderedValue | undefined): Promise<void> {
    let current = first;
    for (let attempt = 0; ; attempt += 1) {
      if (attempt === CAS_ATTEMPTS_MAX) throw new Error('an index locator lost every compare-and-set round');
      if (attempt > 0) current = await this.host.engine.getOrdered(item.locatorKey, { consistent: true });
      const before = current?.value as IndexLocator | undefined;
      const folded = foldChanges(before, item.changes, itemSize);
      if (folded === undefined) break;
      const beforeBytes = before?.entryKey === undefined ? 0 : before.entryBytes ?? (await this.entryBytes(before.entryKey));
      const writes: OrderedWrite[] = folded.remove.map((key) => ({ key }));
      if (folded.write !== undefined) writes.push({ key: folded.write.key, value: { item: folded.write.item, baseVersion: folded.write.baseVersion } satisfies IndexEntryValue });
      await Promise.all(writes.map((write) => this.host.engine.writeOrdered(write)));
      const deletions = item.records.slice(0, ALSO_WRITES_MAX).map((key) => ({ key }));
      try {
        await this.host.engine.writeOrdered({ key: item.locatorKey, value: folded.locator, expect: current?.version ?? 'absent', also: deletions });
      } catch (error) {
        if (!isConflict(error)) throw error;
        continue;
      }
      const delta = countDelta(before, beforeBytes, folded.locator);
      if (delta.items !== 0 || delta.bytes !== 0) this.host.counted(tableName, indexName, delta.items, delta.bytes);
      await this.removeRecords(item.records.slice(ALSO_WRITES_MAX));
      return;
    }
    // Nothing newer than the locator: the records only go.
    await this.removeRecords(item.records);
  }

  /** Queue records of one base partition (one token) off the queue, ALSO_WRITES_MAX + 1 per atomic write. */
  private async removeRecords(keys: readonly Uint8Array[]): Promise<void> {
    for (let at = 0; at < keys.length; at += ALSO_WRITES_MAX + 1) {
      const [first, ...rest] = keys.slice(at, at + ALSO_WRITES_MAX + 1);
      await this.host.engine.writeOrdered({ key: first!, also: rest.map((key) => ({ key })) });
    }
  }

  /**
   * The locators at `keys` (one base partition's, so one token and ordered
   * by sort key): one consistent range read from the first to the last when
   * there are several, each alone when the range holds too many others.
   */
  private async readLocators(keys: readonly Uint8Array[]): Promise<Map<string, OrderedValue | undefined>> {
    const found = new Map<string, OrderedValue | undefined>();
    const names = keys.map((key) => Buffer.from(key).toString('latin1'));
    if (keys.length > 1) {
      const sorted = [...keys].sort((a, b) => Buffer.compare(a, b));
      const page = await this.host.engine.range({ start: sorted[0]!, end: keyAfter(sorted[sorted.length - 1]!), limit: Math.min(RANGE_LIMIT_MAX, LOCATOR_RANGE_SLACK * keys.length), consistent: true });
      if (!page.more) {
        for (const name of names) found.set(name, undefined);
        for (const entry of page.entries) {
          const name = Buffer.from(entry.key).toString('latin1');
          if (found.has(name)) found.set(name, { value: entry.value, version: entry.version, replica: page.replica });
        }
        return found;
      }
    }
    await Promise.all(keys.map(async (key, at) => found.set(names[at]!, await this.host.engine.getOrdered(key, { consistent: true }))));
    return found;
  }

  /** An entry's size, for a locator written before locators kept it. */
  private async entryBytes(key: Uint8Array): Promise<number> {
    const value = (await this.host.engine.getOrdered(key, { consistent: true }))?.value as IndexEntryValue | undefined;
    return value === undefined ? 0 : itemSize(value.item);
  }

  /** One queued change into the index's entries by its images alone (a catalog without locators), then off the queue. */
  private async applyByImages(record: TableRecord, index: IndexSchema, entrySpace: number, entry: RangeEntry): Promise<void> {
    const version = logVersionOf(entry.key);
    const targets = changeTargets(record.schema, index, changeOfRecord(entry.value as QueueRecord));
    const { tableName } = record.schema;
    if (targets.removeFrom !== undefined) {
      const key = encodeIndexKey(entrySpace, targets.removeFrom.indexKey, targets.removeFrom.baseKey).key;
      await this.casEntry(key, version, undefined, (bytes) => this.host.counted(tableName, index.indexName, -1, -bytes));
    }
    if (targets.writeTo !== undefined) {
      const item = targets.writeTo.item;
      const key = encodeIndexKey(entrySpace, targets.writeTo.indexKey, targets.writeTo.baseKey).key;
      await this.casEntry(key, version, item, (bytes) => this.host.counted(tableName, index.indexName, bytes === 0 ? 1 : 0, itemSize(item) - bytes));
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

