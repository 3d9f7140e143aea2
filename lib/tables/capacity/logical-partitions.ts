/**
 * A table's (or a global secondary index's) logical partitions: contiguous
 * ranges of the key space, ordered by the 32-bit hash of the partition key
 * and then, inside one partition key, by the sort key. DynamoDB partitions
 * are ranges too: "Partitions are split by key range" and a collection can
 * be split by sort key (DynamoDB Developer Guide: bp-partition-key-design,
 * "Adaptive capacity … isolate frequently accessed items";
 * throttling-key-range-limit-exceeded-mitigation: the hot partition's
 * "key range").
 *
 * Each partition serves at most 3,000 RCU and 1,000 WCU per second and holds
 * about 10 GB ("every partition in a DynamoDB table is designed to deliver a
 * maximum capacity of 3,000 read units per second and 1,000 write units per
 * second", DG bp-partition-key-design; 10 GB: DG HowItWorks.Partitions and
 * the AWS Database Blog "Scaling DynamoDB … Part 3"). A provisioned table's
 * throughput is shared evenly among its partitions, each with its own burst
 * bank (DG burst-adaptive-capacity: unused capacity is kept per partition).
 *
 * How many: DynamoDB's guide (the 2016 edition, GuidelinesForTables
 * .Partitions; quoted by AWS's Rick Houlihan, AWS Loft, 20 January 2016)
 * gave
 *   partitions = max( ceil(RCU / 3,000 + WCU / 1,000), ceil(size / 10 GB) )
 * and partitions are "only split, never merged" (AWS Database Blog, Scaling
 * DynamoDB Part 3), so the count only grows: with throughput raised above any
 * earlier value, with size, and with split for heat (split-for-heat.ts).
 *
 * Pure: no clock; buckets are refilled by the `nowMs` each call passes.
 */
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.js';

/** Per-partition read ceiling (RCU per second), before capacityScale (DG bp-partition-key-design). */
export const PARTITION_READ_UNITS_MAX = 3_000;
/** Per-partition write ceiling (WCU per second), before capacityScale (DG bp-partition-key-design). */
export const PARTITION_WRITE_UNITS_MAX = 1_000;
/** Per-partition size (10 GB), before capacityScale (DG HowItWorks.Partitions; DG ServiceQuotas). */
export const PARTITION_BYTES_MAX = 10 * 1024 ** 3;
/** Seconds of unused capacity a partition banks (DG burst-adaptive-capacity: "up to five minutes (300 seconds)"). */
export const BURST_SECONDS = 300;
/** The partition-key hash space: lib/ring/hash.ts hashKey32 gives an unsigned 32-bit hash. */
export const HASH_SPACE = 2 ** 32;
/**
 * Bound on the partitions of one table or index (ringtable's own: DynamoDB
 * publishes none). 40,000 WCU needs 40 partitions and 40 TB needs 4,096
 * by size at capacityScale 1; split for heat stops here.
 */
export const PARTITIONS_MAX = 4_096;

/** A point of the key space: a partition-key hash, then (optionally) a sort key in the tables layer's sortable encoding. */
export interface KeyBound {
  /** Unsigned 32-bit hash of the partition key value; HASH_SPACE only as an end bound. */
  hash: number;
  /** Sort key whose JavaScript string order is DynamoDB's sort order; absent sorts before every sort key. */
  sortKey?: string;
}

export type Operation = 'read' | 'write';

/** Order of two key points: by hash, then by sort key (absent first). */
export function compareKey(a: KeyBound, b: KeyBound): number {
  if (a.hash !== b.hash) return a.hash < b.hash ? -1 : 1;
  if (a.sortKey === b.sortKey) return 0;
  if (a.sortKey === undefined) return -1;
  if (b.sortKey === undefined) return 1;
  return a.sortKey < b.sortKey ? -1 : 1;
}

/** Per-partition limits after capacityScale. */
export interface PartitionLimits {
  readUnitsMax: number;
  writeUnitsMax: number;
  bytesMax: number;
}

export function scaledPartitionLimits(capacityScale: number): PartitionLimits {
  assert.ok(Number.isFinite(capacityScale) && capacityScale > 0, `capacityScale must be a positive finite number, got ${capacityScale}`);
  return {
    readUnitsMax: PARTITION_READ_UNITS_MAX * capacityScale,
    writeUnitsMax: PARTITION_WRITE_UNITS_MAX * capacityScale,
    bytesMax: PARTITION_BYTES_MAX * capacityScale,
  };
}

/**
 * The partition count DynamoDB's formula gives for a throughput (units per
 * second, in the same scale as `limits`) and a size. A tolerance of 1e-9
 * keeps 0.3 / 0.3 from rounding up to 2 after a scaled division.
 */
export function partitionCountFor(readUnits: number, writeUnits: number, sizeBytes: number, limits: PartitionLimits): number {
  const byThroughput = Math.ceil(readUnits / limits.readUnitsMax + writeUnits / limits.writeUnitsMax - 1e-9);
  const bySize = Math.ceil(sizeBytes / limits.bytesMax - 1e-9);
  return Math.min(PARTITIONS_MAX, Math.max(1, byThroughput, bySize));
}

/** The buckets of one operation (read or write) on one partition. */
export interface PartitionOperationBuckets {
  /** The partition's hard per-second ceiling (3,000 RCU or 1,000 WCU, scaled): no burst, no lending lifts it. */
  readonly ceiling: TokenBucket;
  /** The partition's even share of a provisioned table's throughput, with 300 s of burst; null in on-demand mode. */
  readonly share: TokenBucket | null;
}

export class LogicalPartition {
  readonly id: number;
  /** Inclusive start of the key range. */
  readonly start: KeyBound;
  /** Exclusive end of the key range; { hash: HASH_SPACE } is the end of the space. */
  readonly end: KeyBound;
  readonly read: PartitionOperationBuckets;
  readonly write: PartitionOperationBuckets;

  constructor(id: number, start: KeyBound, end: KeyBound, read: PartitionOperationBuckets, write: PartitionOperationBuckets) {
    assert.ok(compareKey(start, end) < 0, `a partition's start must precede its end`);
    this.id = id;
    this.start = start;
    this.end = end;
    this.read = read;
    this.write = write;
  }

  buckets(operation: Operation): PartitionOperationBuckets {
    return operation === 'read' ? this.read : this.write;
  }

  contains(key: KeyBound): boolean {
    return compareKey(this.start, key) <= 0 && compareKey(key, this.end) < 0;
  }
}

/** Throughput a provisioned table shares among its partitions (units per second, scaled); null for on-demand. */
export interface SharedThroughput {
  readUnitsPerSecond: number;
  writeUnitsPerSecond: number;
}

export interface LogicalPartitionSetOptions {
  limits: PartitionLimits;
  /** Provisioned throughput (scaled) or null for PAY_PER_REQUEST. */
  shared: SharedThroughput | null;
  /** Initial partition count (partitionCountFor). */
  count: number;
  nowMs: number;
}

/** The partitions of one table or index, in key order, covering the whole key space. */
export class LogicalPartitionSet {
  readonly limits: PartitionLimits;
  #shared: SharedThroughput | null;
  #partitions: LogicalPartition[] = [];
  #nextId = 0;

  constructor(options: LogicalPartitionSetOptions) {
    this.limits = options.limits;
    this.#shared = options.shared;
    assert.ok(Number.isInteger(options.count) && options.count >= 1 && options.count <= PARTITIONS_MAX, `count must be an integer in [1, ${PARTITIONS_MAX}], got ${options.count}`);
    // Equal hash ranges: DynamoDB places partition keys by hash, so an even
    // split of the hash space is an even split of the keys.
    for (let i = 0; i < options.count; i++) {
      const start = { hash: Math.floor((HASH_SPACE * i) / options.count) };
      const end = { hash: Math.floor((HASH_SPACE * (i + 1)) / options.count) };
      this.#partitions.push(this.newPartition(start, end, undefined, options.nowMs, options.count));
    }
  }

  get count(): number {
    return this.#partitions.length;
  }

  get shared(): SharedThroughput | null {
    return this.#shared;
  }

  /** The partitions in key order (a copy). */
  list(): LogicalPartition[] {
    return this.#partitions.slice();
  }

  /** The partition holding `key` (binary search over the starts). */
  find(key: KeyBound): LogicalPartition {
    assert.ok(Number.isInteger(key.hash) && key.hash >= 0 && key.hash < HASH_SPACE, `hash must be an unsigned 32-bit integer, got ${key.hash}`);
    const partitions = this.#partitions;
    let low = 0;
    let high = partitions.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (compareKey(partitions[middle]!.start, key) <= 0) low = middle;
      else high = middle - 1;
    }
    const partition = partitions[low]!;
    assert.ok(partition.contains(key), 'the partitions must cover the key space');
    return partition;
  }

  /**
   * Split `partition` at `point` into [start, point) and [point, end). Each
   * half keeps half of the parent's banked burst; every partition's share of
   * the table's throughput becomes throughput / count (a split divides the
   * table's throughput over more partitions, AWS Database Blog, Scaling
   * DynamoDB Part 3). Returns the two new partitions.
   */
  split(partition: LogicalPartition, point: KeyBound, nowMs: number): [LogicalPartition, LogicalPartition] {
    const index = this.#partitions.indexOf(partition);
    assert.ok(index >= 0, 'split: the partition is not in this set');
    assert.ok(compareKey(partition.start, point) < 0 && compareKey(point, partition.end) < 0, 'split: the point must lie strictly inside the partition');
    assert.ok(this.#partitions.length < PARTITIONS_MAX, `split: at most ${PARTITIONS_MAX} partitions`);
    const count = this.#partitions.length + 1;
    const left = this.newPartition(partition.start, point, partition, nowMs, count);
    const right = this.newPartition(point, partition.end, partition, nowMs, count);
    this.#partitions.splice(index, 1, left, right);
    this.reshare(nowMs);
    return [left, right];
  }

  /**
   * Add partitions until there are `count` (never fewer: partitions are not
   * merged), splitting the widest hash ranges at their middle: throughput
   * and size growth spread over the whole key space, unlike heat.
   * Returns how many were added.
   */
  growTo(count: number, nowMs: number): number {
    const target = Math.min(PARTITIONS_MAX, count);
    let added = 0;
    while (this.#partitions.length < target) {
      // A hash point m splits [start, end) when start < { hash: m } < end.
      let widest: LogicalPartition | undefined;
      let widestSpan = 0;
      for (const partition of this.#partitions) {
        const span = hashPointHigh(partition) - (partition.start.hash + 1) + 1;
        if (span > widestSpan) {
          widest = partition;
          widestSpan = span;
        }
      }
      if (widest === undefined) break; // every range is inside one partition key: nothing left to split by hash
      const middle = Math.floor((widest.start.hash + widest.end.hash) / 2);
      this.split(widest, { hash: Math.max(widest.start.hash + 1, Math.min(hashPointHigh(widest), middle)) }, nowMs);
      added++;
    }
    return added;
  }

  /** New provisioned throughput (UpdateTable), or null on a switch to PAY_PER_REQUEST. */
  setShared(shared: SharedThroughput | null, nowMs: number): void {
    const wasNull = this.#shared === null;
    this.#shared = shared;
    if (wasNull !== (shared === null)) {
      // A change of billing mode: rebuild the shares (their banks start at one second's worth).
      this.#partitions = this.#partitions.map((p) => new LogicalPartition(p.id, p.start, p.end,
        { ceiling: p.read.ceiling, share: this.newShare('read', nowMs, this.#partitions.length) },
        { ceiling: p.write.ceiling, share: this.newShare('write', nowMs, this.#partitions.length) }));
      return;
    }
    this.reshare(nowMs);
  }

  private reshare(nowMs: number): void {
    const shared = this.#shared;
    if (shared === null) return;
    const count = this.#partitions.length;
    for (const partition of this.#partitions) {
      partition.read.share!.setRate(shared.readUnitsPerSecond / count, nowMs);
      partition.write.share!.setRate(shared.writeUnitsPerSecond / count, nowMs);
    }
  }

  private newShare(operation: Operation, nowMs: number, count: number, parent?: TokenBucket | null): TokenBucket | null {
    const shared = this.#shared;
    if (shared === null) return null;
    const ratePerSecond = (operation === 'read' ? shared.readUnitsPerSecond : shared.writeUnitsPerSecond) / count;
    const initialUnits = parent ? Math.max(0, parent.availableUnits(nowMs)) / 2 : undefined;
    return new TokenBucket({ ratePerSecond, burstSeconds: BURST_SECONDS, nowMs, ...(initialUnits === undefined ? {} : { initialUnits }) });
  }

  private newPartition(start: KeyBound, end: KeyBound, parent: LogicalPartition | undefined, nowMs: number, count: number): LogicalPartition {
    const ceiling = (ratePerSecond: number): TokenBucket => new TokenBucket({ ratePerSecond, burstSeconds: 1, nowMs });
    return new LogicalPartition(this.#nextId++, start, end,
      { ceiling: ceiling(this.limits.readUnitsMax), share: this.newShare('read', nowMs, count, parent?.read.share) },
      { ceiling: ceiling(this.limits.writeUnitsMax), share: this.newShare('write', nowMs, count, parent?.write.share) });
  }
}

/** The highest hash m with { hash: m } < partition.end. */
function hashPointHigh(partition: LogicalPartition): number {
  return partition.end.sortKey === undefined ? partition.end.hash - 1 : partition.end.hash;
}
