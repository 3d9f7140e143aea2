/**
 * The capacity model the tables layer calls: DynamoDB's throughput rules for
 * every table and global secondary index, reproduced with logical
 * partitions (logical-partitions.ts), burst (token-bucket.ts), adaptive
 * capacity (adaptive-capacity.ts), split for heat (split-for-heat.ts),
 * on-demand scaling (on-demand.ts) and GSI back-pressure (here), with
 * metrics (capacity-metrics.ts).
 *
 * charge() admits a request's units or throttles it the way DynamoDB does:
 * the exception name, DynamoDB's message text and the ThrottlingReasons
 * list (reason = ResourceType + OperationType + LimitType, resource = the
 * table's or index's ARN; API reference: ThrottlingReason).
 *
 * Modes: 'enforce' refuses as DynamoDB would; 'observe' answers admitted
 * but reports what would have throttled. In both, the model's state evolves
 * as under enforcement (a request that would throttle consumes nothing), so
 * an observed run reports the throttles an enforced run of the same traffic
 * would have met. ('off' is the tables layer not constructing a model.)
 *
 * capacityScale multiplies every throughput figure: provisioned RCU/WCU,
 * the per-partition 3,000 / 1,000 and 10 GB, on-demand's initial 12,000 /
 * 4,000, the 40,000 per-table quota, configured on-demand maximums, and
 * therefore the 300 s burst bank and the split-for-heat threshold (a
 * fraction of the scaled ceiling). Request costs and durations (300 s, 30
 * minutes, the split's sustain time) are not scaled. Because RCU / 3,000 +
 * WCU / 1,000 is scale-free, a scaled table has exactly the partitions the
 * real one would.
 *
 * Pure: no timers or clock; every call carries `nowMs`.
 */
import assert from 'node:assert/strict';
import { checkPartition, commitPartition, lendingWindowSeconds, type PartitionLimitType } from './adaptive-capacity.js';
import { CapacityMetrics, resourceKey, type CapacityEvent, type CapacityMetricsOptions, type ResourceMetricsView, type ResourceRef } from './capacity-metrics.js';
import { LogicalPartitionSet, PARTITIONS_MAX, partitionCountFor, scaledPartitionLimits, type KeyBound, type LogicalPartition, type Operation, type SharedThroughput } from './logical-partitions.js';
import { ON_DEMAND_INITIAL_READ_UNITS, ON_DEMAND_INITIAL_WRITE_UNITS, OnDemandThroughput, TABLE_THROUGHPUT_QUOTA_UNITS, type OnDemandLimitType } from './on-demand.js';
import { HeatTracker, SPLIT_FOR_HEAT_DEFAULTS, decideSplit, type SplitForHeatOptions } from './split-for-heat.js';
import { throttleFor, throttlingReasonOf, type Throttle, type ThrottlingReason } from './throttling-exception.js';
import { TokenBucket } from './token-bucket.js';

export { ON_DEMAND_INDEX_MESSAGE, ON_DEMAND_TABLE_MESSAGE, PROVISIONED_INDEX_MESSAGE, PROVISIONED_TABLE_MESSAGE, throttleError, type Throttle, type ThrottlingReason } from './throttling-exception.js';

export type CapacityMode = 'observe' | 'enforce';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

/** Bound on the tables one model tracks (ringtable's; DynamoDB's default quota is 2,500 per Region, DG ServiceQuotas). */
export const CAPACITY_TABLES_MAX = 10_000;

export interface ProvisionedThroughputSetting {
  readCapacityUnits: number;
  writeCapacityUnits: number;
}

/** OnDemandThroughput (API reference): an optional ceiling per table or index. */
export interface OnDemandThroughputSetting {
  maxReadRequestUnits?: number | undefined;
  maxWriteRequestUnits?: number | undefined;
}

export interface CapacityIndexDefinition {
  index: string;
  provisioned?: ProvisionedThroughputSetting | undefined;
  onDemandMax?: OnDemandThroughputSetting | undefined;
}

export interface CapacityTableDefinition {
  table: string;
  billingMode: BillingMode;
  provisioned?: ProvisionedThroughputSetting | undefined;
  onDemandMax?: OnDemandThroughputSetting | undefined;
  /** A table with an LSI never has an item collection split (split-for-heat.ts). */
  hasLocalSecondaryIndex?: boolean | undefined;
  globalSecondaryIndexes?: CapacityIndexDefinition[] | undefined;
  sizeBytes?: number | undefined;
}

/** UpdateTable's throughput changes. */
export interface CapacityTableUpdate {
  billingMode?: BillingMode | undefined;
  provisioned?: ProvisionedThroughputSetting | undefined;
  onDemandMax?: OnDemandThroughputSetting | undefined;
  /** Updated (when it exists) or created indexes. */
  globalSecondaryIndexes?: CapacityIndexDefinition[] | undefined;
  deletedGlobalSecondaryIndexes?: string[] | undefined;
}

/** One key a request touches. */
export interface ChargedKey {
  /** Unsigned 32-bit hash of the partition key value (lib/ring/hash.ts hashKey32). */
  partitionKeyHash: number;
  /** The sort key in the tables layer's sortable encoding (string order = DynamoDB's order), if the key schema has one. */
  sortKey?: string | undefined;
  /** The key as the metrics' top-K lists name it (default: hash and sort key). */
  itemKey?: string | undefined;
}

export interface ChargeRequest extends ChargedKey {
  table: string;
  /** A global secondary index read (Query/Scan on the index). LSIs share the table's partitions: charge the table. */
  index?: string | undefined;
  readUnits?: number | undefined;
  writeUnits?: number | undefined;
  /**
   * A base-table write's writes to its global secondary indexes (1 unit per
   * index put or delete, 2 when the index key changes: DG GSI, "Provisioned
   * throughput considerations"). They are admitted together with the base
   * write or not at all: "For a table write to succeed, the provisioned
   * throughput settings for the table and all of its global secondary
   * indexes must have enough write capacity to accommodate the write;
   * otherwise, the write to the table is throttled" (DG GSI; AWS whitepaper
   * "Comparing DynamoDB and HBase", Global Secondary Index Considerations;
   * AWS re:Post knowledge center dynamodb-gsi-throttling-table).
   */
  indexWrites?: Array<ChargedKey & { index: string; writeUnits: number }> | undefined;
  /**
   * More parts of one read on the same table or index, each on its own
   * logical partition (a Scan page charges every partition the units of the
   * items it read from it: scan-charge.ts). Admitted together with the
   * request's own key and units, or not at all.
   */
  readParts?: Array<ChargedKey & { readUnits: number }> | undefined;
  nowMs: number;
}

export type ChargeResult =
  | { admitted: true; wouldThrottle?: Throttle | undefined }
  | { admitted: false; throttle: Throttle };

export interface CapacityModelOptions {
  mode: CapacityMode;
  /** Multiplies every throughput limit (see the file comment); default 1. */
  capacityScale?: number | undefined;
  /** For the ARNs in ThrottlingReasons. */
  region?: string | undefined;
  accountId?: string | undefined;
  splitForHeat?: Partial<SplitForHeatOptions> | undefined;
  metrics?: Partial<CapacityMetricsOptions> | undefined;
}

export interface PartitionView {
  partitionId: number;
  start: KeyBound;
  end: KeyBound;
  /** Provisioned only: the partition's share of the table's throughput, units per second (scaled). */
  readShareUnitsPerSecond: number | null;
  writeShareUnitsPerSecond: number | null;
  /** Provisioned only: banked units (burst balance included). */
  readBurstBalanceUnits: number | null;
  writeBurstBalanceUnits: number | null;
  readUnitsMax: number;
  writeUnitsMax: number;
  hotSeconds: number;
}

export interface ResourceView {
  table: string;
  index?: string | undefined;
  arn: string;
  billingMode: BillingMode;
  /** Provisioned: RCU/WCU as set (unscaled); on-demand: null. */
  provisioned: ProvisionedThroughputSetting | null;
  /** On-demand: units per second admitted now (scaled) and the previous peak they double. */
  onDemand: { readLimitUnits: number; writeLimitUnits: number; readPreviousPeakUnits: number; writePreviousPeakUnits: number } | null;
  partitions: PartitionView[];
  metrics: ResourceMetricsView;
}

interface OperationState {
  /** PROVISIONED: the table's (or index's) throughput not yet used this second; null on-demand. */
  tableUnused: TokenBucket | null;
  /** PAY_PER_REQUEST: the doubling rule and quotas; null provisioned. */
  onDemand: OnDemandThroughput | null;
}

interface Resource {
  ref: ResourceRef;
  arn: string;
  billingMode: BillingMode;
  provisioned: ProvisionedThroughputSetting | null;
  onDemandMax: OnDemandThroughputSetting;
  hasLocalSecondaryIndex: boolean;
  sizeBytes: number;
  partitions: LogicalPartitionSet;
  read: OperationState;
  write: OperationState;
  heat: Map<number, HeatTracker>;
  /** The second at which on-demand growth was last checked. */
  grownAtSecond: number;
}

interface TableState {
  table: Resource;
  indexes: Map<string, Resource>;
}

interface Leg {
  resource: Resource;
  key: KeyBound;
  label: string;
  units: number;
}

type LegDecision =
  | { admitted: true; partition: LogicalPartition; via: 'share' | 'ceiling' | 'adaptive' }
  | { admitted: false; partition: LogicalPartition; limit: PartitionLimitType | OnDemandLimitType };

export class CapacityModel {
  readonly mode: CapacityMode;
  readonly capacityScale: number;
  readonly metrics: CapacityMetrics;
  readonly #region: string;
  readonly #accountId: string;
  readonly #split: SplitForHeatOptions;
  readonly #tables = new Map<string, TableState>();

  constructor(options: CapacityModelOptions) {
    assert.ok(options.mode === 'observe' || options.mode === 'enforce', `mode must be 'observe' or 'enforce', got ${String(options.mode)}`);
    this.mode = options.mode;
    this.capacityScale = options.capacityScale ?? 1;
    scaledPartitionLimits(this.capacityScale); // validates the scale
    this.#region = options.region ?? 'us-east-1';
    this.#accountId = options.accountId ?? '000000000000';
    this.#split = { ...SPLIT_FOR_HEAT_DEFAULTS, ...options.splitForHeat };
    this.metrics = new CapacityMetrics(options.metrics);
  }

  /** CreateTable (and the table's GSIs). */
  defineTable(definition: CapacityTableDefinition, nowMs: number): void {
    assert.ok(!this.#tables.has(definition.table), `table ${definition.table} is already defined`);
    assert.ok(this.#tables.size < CAPACITY_TABLES_MAX, `at most ${CAPACITY_TABLES_MAX} tables`);
    const table = this.newResource({ table: definition.table }, definition.billingMode, definition.provisioned, definition.onDemandMax, definition.hasLocalSecondaryIndex ?? false, definition.sizeBytes ?? 0, nowMs);
    const state: TableState = { table, indexes: new Map() };
    for (const index of definition.globalSecondaryIndexes ?? []) {
      state.indexes.set(index.index, this.newResource({ table: definition.table, index: index.index }, definition.billingMode, index.provisioned, index.onDemandMax, false, 0, nowMs));
    }
    this.#tables.set(definition.table, state);
  }

  deleteTable(table: string): void {
    const state = this.#tables.get(table);
    if (state === undefined) return;
    this.metrics.removeResource(state.table.ref);
    for (const index of state.indexes.values()) this.metrics.removeResource(index.ref);
    this.#tables.delete(table);
  }

  hasTable(table: string): boolean {
    return this.#tables.has(table);
  }

  /** Every table and global secondary index the model tracks, each table followed by its indexes. */
  resources(): ResourceRef[] {
    const refs: ResourceRef[] = [];
    for (const state of this.#tables.values()) {
      refs.push(state.table.ref);
      for (const index of state.indexes.values()) refs.push(index.ref);
    }
    return refs;
  }

  /** UpdateTable: billing mode, provisioned throughput, on-demand maximums, GSIs created, updated or deleted. */
  updateTable(table: string, update: CapacityTableUpdate, nowMs: number): void {
    const state = this.tableState(table);
    const billingMode = update.billingMode ?? state.table.billingMode;
    this.updateResource(state.table, billingMode, update.provisioned, update.onDemandMax, nowMs);
    for (const index of update.globalSecondaryIndexes ?? []) {
      const existing = state.indexes.get(index.index);
      if (existing === undefined) {
        state.indexes.set(index.index, this.newResource({ table, index: index.index }, billingMode, index.provisioned, index.onDemandMax, false, 0, nowMs));
      } else {
        this.updateResource(existing, billingMode, index.provisioned, index.onDemandMax, nowMs);
      }
    }
    // GSIs inherit the table's billing mode (DG HowItWorks.ReadWriteCapacityMode).
    for (const index of state.indexes.values()) {
      if (index.billingMode !== billingMode) this.updateResource(index, billingMode, index.provisioned ?? undefined, undefined, nowMs);
    }
    for (const name of update.deletedGlobalSecondaryIndexes ?? []) {
      const index = state.indexes.get(name);
      if (index === undefined) continue;
      this.metrics.removeResource(index.ref);
      state.indexes.delete(name);
    }
  }

  /** The table's (or an index's) size changed: partitions hold 10 GB (scaled) each, so size may add partitions. */
  setSize(table: string, sizeBytes: number, nowMs: number, index?: string): void {
    assert.ok(Number.isFinite(sizeBytes) && sizeBytes >= 0, `sizeBytes must be a finite number >= 0, got ${sizeBytes}`);
    const resource = this.resourceOf(table, index);
    resource.sizeBytes = sizeBytes;
    this.grow(resource, 'size', nowMs);
  }

  /** Admit or throttle one request's capacity (see the file comment). */
  charge(request: ChargeRequest): ChargeResult {
    const { nowMs } = request;
    assert.ok((request.readUnits === undefined) !== (request.writeUnits === undefined), 'charge: give exactly one of readUnits and writeUnits');
    const operation: Operation = request.readUnits !== undefined ? 'read' : 'write';
    assert.ok(request.indexWrites === undefined || (operation === 'write' && request.index === undefined), 'charge: indexWrites come with a base-table write');
    const state = this.tableState(request.table);
    const legs: Leg[] = [this.leg(request.index === undefined ? state.table : this.indexOf(state, request.index), request, request.readUnits ?? request.writeUnits!)];
    for (const write of request.indexWrites ?? []) {
      // One entry per index: two legs on one index would each be checked against the same buckets.
      assert.ok(legs.every((leg) => leg.resource.ref.index !== write.index), `charge: index ${write.index} appears twice in indexWrites`);
      legs.push(this.leg(this.indexOf(state, write.index), write, write.writeUnits));
    }
    assert.ok(request.readParts === undefined || operation === 'read', 'charge: readParts come with a read');
    for (const part of request.readParts ?? []) {
      const leg = this.leg(legs[0]!.resource, part, part.readUnits);
      // One leg per partition: two legs on one partition would each be checked against the same buckets.
      const partition = leg.resource.partitions.find(leg.key);
      assert.ok(legs.every((other) => other.resource !== leg.resource || other.resource.partitions.find(other.key) !== partition), 'charge: two read parts on one logical partition');
      legs.push(leg);
    }

    // Legs on one resource share its pool of unused throughput: what earlier legs would borrow is not lent twice.
    const borrowed = new Map<Resource, number>();
    const decisions = legs.map((leg) => {
      const decision = this.check(leg, operation, nowMs, borrowed.get(leg.resource) ?? 0);
      if (decision.admitted && decision.via === 'adaptive') borrowed.set(leg.resource, (borrowed.get(leg.resource) ?? 0) + leg.units);
      return decision;
    });
    const failed = decisions.some((d) => !d.admitted);
    for (let i = 0; i < legs.length; i++) {
      const leg = legs[i]!;
      const decision = decisions[i]!;
      if (!failed && decision.admitted) {
        this.commit(leg, operation, decision.partition, decision.via, nowMs);
      } else if (!decision.admitted) {
        this.metrics.recordThrottle(leg.resource.ref, decision.partition.id, operation, leg.label, nowMs);
      }
    }
    // Heat counts demand, throttled or not: a throttling partition is the one to split.
    for (let i = 0; i < legs.length; i++) this.recordHeat(legs[i]!, operation, decisions[i]!.partition, nowMs);

    if (!failed) return { admitted: true };
    const throttle = this.throttleOf(legs, decisions, operation);
    return this.mode === 'enforce' ? { admitted: false, throttle } : { admitted: true, wouldThrottle: throttle };
  }

  /** The model's view of a table or index: partitions, limits, burst balances, metrics. */
  describe(table: string, nowMs: number, index?: string): ResourceView {
    const resource = this.resourceOf(table, index);
    const limits = resource.partitions.limits;
    return {
      table,
      index,
      arn: resource.arn,
      billingMode: resource.billingMode,
      provisioned: resource.billingMode === 'PROVISIONED' ? resource.provisioned : null,
      onDemand: resource.read.onDemand === null || resource.write.onDemand === null ? null : {
        readLimitUnits: resource.read.onDemand.limitUnitsPerSecond(nowMs),
        writeLimitUnits: resource.write.onDemand.limitUnitsPerSecond(nowMs),
        readPreviousPeakUnits: resource.read.onDemand.previousPeakUnits(nowMs),
        writePreviousPeakUnits: resource.write.onDemand.previousPeakUnits(nowMs),
      },
      partitions: resource.partitions.list().map((p) => ({
        partitionId: p.id,
        start: p.start,
        end: p.end,
        readShareUnitsPerSecond: p.read.share?.ratePerSecond ?? null,
        writeShareUnitsPerSecond: p.write.share?.ratePerSecond ?? null,
        readBurstBalanceUnits: p.read.share?.availableUnits(nowMs) ?? null,
        writeBurstBalanceUnits: p.write.share?.availableUnits(nowMs) ?? null,
        readUnitsMax: limits.readUnitsMax,
        writeUnitsMax: limits.writeUnitsMax,
        hotSeconds: resource.heat.get(p.id)?.hotSeconds ?? 0,
      })),
      metrics: this.metrics.view(resource.ref, nowMs),
    };
  }

  /** The id of the logical partition of a table (or GSI) holding a key: to group a read's items by partition (scan-charge.ts). */
  partitionIdOf(table: string, key: ChargedKey, index?: string): number {
    const resource = this.resourceOf(table, index);
    return resource.partitions.find(key.sortKey === undefined ? { hash: key.partitionKeyHash } : { hash: key.partitionKeyHash, sortKey: key.sortKey }).id;
  }

  /** The model's events (adaptive boosts, splits, refused splits, partitions added), oldest first. */
  events(): CapacityEvent[] {
    return this.metrics.events();
  }

  private leg(resource: Resource, key: ChargedKey, units: number): Leg {
    assert.ok(Number.isFinite(units) && units >= 0, `units must be a finite number >= 0, got ${units}`);
    const bound: KeyBound = key.sortKey === undefined ? { hash: key.partitionKeyHash } : { hash: key.partitionKeyHash, sortKey: key.sortKey };
    const label = key.itemKey ?? (key.sortKey === undefined ? `#${key.partitionKeyHash}` : `#${key.partitionKeyHash}/${key.sortKey}`);
    return { resource, key: bound, label, units };
  }

  private check(leg: Leg, operation: Operation, nowMs: number, borrowedUnits: number): LegDecision {
    const resource = leg.resource;
    if (resource.billingMode === 'PAY_PER_REQUEST') this.growOnDemand(resource, nowMs);
    const partition = resource.partitions.find(leg.key);
    const state = resource[operation];
    const admission = checkPartition(partition, operation, leg.units, state.tableUnused, nowMs, borrowedUnits);
    if (!admission.admitted) return { admitted: false, partition, limit: admission.limit };
    const onDemandLimit = state.onDemand?.check(leg.units, nowMs) ?? null;
    if (onDemandLimit !== null) return { admitted: false, partition, limit: onDemandLimit };
    return { admitted: true, partition, via: admission.via };
  }

  private commit(leg: Leg, operation: Operation, partition: LogicalPartition, via: 'share' | 'ceiling' | 'adaptive', nowMs: number): void {
    const state = leg.resource[operation];
    commitPartition(partition, operation, leg.units, state.tableUnused, via, nowMs);
    state.onDemand?.commit(leg.units, nowMs);
    this.metrics.recordConsumed(leg.resource.ref, partition.id, operation, leg.units, leg.label, nowMs);
    if (via === 'adaptive') this.metrics.recordAdaptiveBoost(leg.resource.ref, partition.id, operation, leg.units, nowMs);
  }

  /** The exception for the first refused leg (the base table's before its indexes'), with every refused leg's reason. */
  private throttleOf(legs: Leg[], decisions: LegDecision[], operation: Operation): Throttle {
    const reasons: ThrottlingReason[] = [];
    let first: Resource | undefined;
    for (let i = 0; i < legs.length; i++) {
      const decision = decisions[i]!;
      if (decision.admitted) continue;
      const resource = legs[i]!.resource;
      first ??= resource;
      const reason = throttlingReasonOf(resource.ref.index === undefined ? 'Table' : 'Index', operation, decision.limit);
      if (!reasons.some((r) => r.reason === reason && r.resource === resource.arn)) reasons.push({ reason, resource: resource.arn });
    }
    assert.ok(first !== undefined);
    return throttleFor(first.billingMode, first.ref.index !== undefined, reasons);
  }

  private recordHeat(leg: Leg, operation: Operation, partition: LogicalPartition, nowMs: number): void {
    const resource = leg.resource;
    if (resource.partitions.find(leg.key) !== partition) return; // split by an earlier leg of this request
    let tracker = resource.heat.get(partition.id);
    if (tracker === undefined) {
      tracker = new HeatTracker(this.#split);
      resource.heat.set(partition.id, tracker);
    }
    const due = tracker.record(leg.key, operation === 'read' ? leg.units : 0, operation === 'write' ? leg.units : 0, nowMs, resource.partitions.limits);
    if (due) this.considerSplit(resource, partition, tracker, nowMs);
  }

  private considerSplit(resource: Resource, partition: LogicalPartition, tracker: HeatTracker, nowMs: number): void {
    const base = { atMs: nowMs, table: resource.ref.table, index: resource.ref.index, partitionId: partition.id };
    const decision = resource.partitions.count >= PARTITIONS_MAX
      ? { kind: 'refused' as const, reason: 'partition-limit' as const }
      : decideSplit({
        start: partition.start,
        end: partition.end,
        keys: tracker.weightedKeys(),
        hasLocalSecondaryIndex: resource.hasLocalSecondaryIndex,
        sequentialShare: tracker.sequentialShare,
        sequentialShareMin: this.#split.sequentialShareMin,
      });
    if (decision.kind === 'refused') {
      tracker.resetStreak();
      this.metrics.recordSplit(resource.ref, { kind: 'split-refused', ...base, reason: decision.reason });
      return;
    }
    const [left, right] = resource.partitions.split(partition, decision.point, nowMs);
    resource.heat.delete(partition.id);
    this.metrics.recordSplit(resource.ref, { kind: 'split', ...base, point: decision.point, leftShare: decision.leftShare, children: [left.id, right.id] });
  }

  private newResource(ref: ResourceRef, billingMode: BillingMode, provisioned: ProvisionedThroughputSetting | undefined, onDemandMax: OnDemandThroughputSetting | undefined, hasLocalSecondaryIndex: boolean, sizeBytes: number, nowMs: number): Resource {
    const limits = scaledPartitionLimits(this.capacityScale);
    const resource: Resource = {
      ref,
      arn: this.arnOf(ref),
      billingMode,
      provisioned: null,
      onDemandMax: onDemandMax ?? {},
      hasLocalSecondaryIndex,
      sizeBytes,
      partitions: new LogicalPartitionSet({ limits, shared: null, count: 1, nowMs }),
      read: { tableUnused: null, onDemand: null },
      write: { tableUnused: null, onDemand: null },
      heat: new Map(),
      grownAtSecond: Number.NEGATIVE_INFINITY,
    };
    if (billingMode === 'PROVISIONED') {
      assert.ok(provisioned !== undefined, `${resourceKey(ref)}: PROVISIONED needs ProvisionedThroughput`);
      this.setProvisioned(resource, provisioned, nowMs);
    } else {
      this.setOnDemand(resource, nowMs);
    }
    // The first partitions: DynamoDB's formula, all at once (no event: the table is new).
    const count = this.requiredPartitions(resource, nowMs);
    resource.partitions = new LogicalPartitionSet({ limits, shared: this.sharedOf(resource), count, nowMs });
    return resource;
  }

  private updateResource(resource: Resource, billingMode: BillingMode, provisioned: ProvisionedThroughputSetting | undefined, onDemandMax: OnDemandThroughputSetting | undefined, nowMs: number): void {
    if (onDemandMax !== undefined) resource.onDemandMax = { ...resource.onDemandMax, ...onDemandMax };
    if (billingMode !== resource.billingMode) {
      resource.billingMode = billingMode;
      if (billingMode === 'PROVISIONED') {
        assert.ok(provisioned !== undefined || resource.provisioned !== null, `${resourceKey(resource.ref)}: PROVISIONED needs ProvisionedThroughput`);
        this.setProvisioned(resource, provisioned ?? resource.provisioned!, nowMs);
      } else {
        this.setOnDemand(resource, nowMs);
      }
      resource.partitions.setShared(this.sharedOf(resource), nowMs);
    } else if (billingMode === 'PROVISIONED' && provisioned !== undefined) {
      this.setProvisioned(resource, provisioned, nowMs);
      resource.partitions.setShared(this.sharedOf(resource), nowMs);
    } else if (billingMode === 'PAY_PER_REQUEST') {
      resource.read.onDemand!.setMaxUnits(this.scaled(resource.onDemandMax.maxReadRequestUnits));
      resource.write.onDemand!.setMaxUnits(this.scaled(resource.onDemandMax.maxWriteRequestUnits));
    }
    this.grow(resource, 'throughput', nowMs);
  }

  private setProvisioned(resource: Resource, provisioned: ProvisionedThroughputSetting, nowMs: number): void {
    for (const units of [provisioned.readCapacityUnits, provisioned.writeCapacityUnits]) {
      assert.ok(Number.isInteger(units) && units >= 1, `provisioned capacity units must be integers >= 1, got ${units}`);
    }
    resource.provisioned = { readCapacityUnits: provisioned.readCapacityUnits, writeCapacityUnits: provisioned.writeCapacityUnits };
    for (const operation of ['read', 'write'] as const) {
      const ratePerSecond = this.scaled(operation === 'read' ? provisioned.readCapacityUnits : provisioned.writeCapacityUnits)!;
      const state = resource[operation];
      // One second of the table's throughput: what adaptive capacity can lend "instantly" (longer when a second holds less than a unit).
      const burstSeconds = lendingWindowSeconds(ratePerSecond);
      // A new table starts with its window full: one second's worth, or the one unit a longer window holds (a first request is served at once, as a real table serves it).
      if (state.tableUnused === null) state.tableUnused = new TokenBucket({ ratePerSecond, burstSeconds, nowMs, initialUnits: ratePerSecond * burstSeconds });
      else state.tableUnused.setRate(ratePerSecond, nowMs, burstSeconds);
      state.onDemand = null;
    }
  }

  private setOnDemand(resource: Resource, nowMs: number): void {
    for (const operation of ['read', 'write'] as const) {
      const initial = operation === 'read' ? ON_DEMAND_INITIAL_READ_UNITS : ON_DEMAND_INITIAL_WRITE_UNITS;
      const provisioned = resource.provisioned === null ? 0 : operation === 'read' ? resource.provisioned.readCapacityUnits : resource.provisioned.writeCapacityUnits;
      // A new table's previous peak is half of what it sustains at once. A table
      // switched from provisioned keeps its partitions and serves what it was
      // provisioned for at once ("pre-warm the table by creating the table
      // provisioned at the necessary capacity, and then switch it to on-demand",
      // AWS Database Blog, Scaling DynamoDB Part 3; DG pre-warming-on-demand-capacity-mode).
      const previousPeakUnits = this.scaled(Math.max(initial, provisioned) / 2)!;
      const max = operation === 'read' ? resource.onDemandMax.maxReadRequestUnits : resource.onDemandMax.maxWriteRequestUnits;
      resource[operation] = {
        tableUnused: null,
        onDemand: new OnDemandThroughput({ previousPeakUnits, quotaUnits: this.scaled(TABLE_THROUGHPUT_QUOTA_UNITS)!, maxUnits: this.scaled(max), nowMs }),
      };
    }
  }

  private sharedOf(resource: Resource): SharedThroughput | null {
    if (resource.billingMode !== 'PROVISIONED' || resource.provisioned === null) return null;
    return {
      readUnitsPerSecond: this.scaled(resource.provisioned.readCapacityUnits)!,
      writeUnitsPerSecond: this.scaled(resource.provisioned.writeCapacityUnits)!,
    };
  }

  /** DynamoDB's formula over what the table must serve: provisioned throughput, or on-demand's current limit. */
  private requiredPartitions(resource: Resource, nowMs: number): number {
    const limits = resource.partitions.limits;
    if (resource.billingMode === 'PROVISIONED') {
      const shared = this.sharedOf(resource)!;
      return partitionCountFor(shared.readUnitsPerSecond, shared.writeUnitsPerSecond, resource.sizeBytes, limits);
    }
    return partitionCountFor(resource.read.onDemand!.limitUnitsPerSecond(nowMs), resource.write.onDemand!.limitUnitsPerSecond(nowMs), resource.sizeBytes, limits);
  }

  private grow(resource: Resource, cause: 'throughput' | 'size' | 'on-demand-peak', nowMs: number): void {
    const added = resource.partitions.growTo(this.requiredPartitions(resource, nowMs), nowMs);
    if (added === 0) return;
    const live = new Set(resource.partitions.list().map((p) => p.id));
    for (const id of resource.heat.keys()) if (!live.has(id)) resource.heat.delete(id);
    this.metrics.retainPartitions(resource.ref, live);
    this.metrics.event({ kind: 'partitions-added', atMs: nowMs, table: resource.ref.table, index: resource.ref.index, added, count: resource.partitions.count, cause });
  }

  /** On-demand: "an on-demand table sees a new high-water mark" adds partitions (AWS Database Blog, Scaling DynamoDB Part 3); checked once a second. */
  private growOnDemand(resource: Resource, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === resource.grownAtSecond) return;
    resource.grownAtSecond = second;
    this.grow(resource, 'on-demand-peak', nowMs);
  }

  private scaled(units: number | undefined): number | undefined {
    return units === undefined ? undefined : units * this.capacityScale;
  }

  private arnOf(ref: ResourceRef): string {
    const table = `arn:aws:dynamodb:${this.#region}:${this.#accountId}:table/${ref.table}`;
    return ref.index === undefined ? table : `${table}/index/${ref.index}`;
  }

  private tableState(table: string): TableState {
    const state = this.#tables.get(table);
    assert.ok(state !== undefined, `table ${table} is not defined in the capacity model`);
    return state;
  }

  private indexOf(state: TableState, index: string): Resource {
    const resource = state.indexes.get(index);
    assert.ok(resource !== undefined, `index ${index} of table ${state.table.ref.table} is not defined in the capacity model`);
    return resource;
  }

  private resourceOf(table: string, index?: string): Resource {
    const state = this.tableState(table);
    return index === undefined ? state.table : this.indexOf(state, index);
  }
}
