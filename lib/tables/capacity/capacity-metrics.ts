/**
 * What the capacity model saw, per table, index and logical partition, at
 * one-second resolution (CloudWatch's ConsumedRead/WriteCapacityUnits and
 * Contributor Insights give one minute): consumed units and throttled
 * requests per second over a bounded window, splits, the hottest keys by
 * consumed capacity and by throttles (Contributor Insights' "most accessed"
 * and "most throttled" keys, DynamoDB Developer Guide: contributorinsights),
 * and the model's events (adaptive boosts, splits with their point, refused
 * splits with their reason) in a bounded ring.
 *
 * Throttles caused by a global secondary index's back-pressure are counted
 * on the index, with the index's key, which Contributor Insights does not do.
 *
 * Every structure is bounded: `windowSeconds` slots per series, a
 * Space-Saving summary of `topKeys` counters per resource
 * (lib/stats/space-saving.ts, Metwally et al., ICDT 2005), `eventsMax`
 * events. Pure: time is the `nowMs` the caller passes.
 */
import assert from 'node:assert/strict';
import { SpaceSaving, type HeavyHitter } from '../../stats/space-saving.js';
import type { KeyBound, Operation } from './logical-partitions.js';
import type { SplitRefusal } from './split-for-heat.js';

/** A table, or one of its global secondary indexes. */
export interface ResourceRef {
  table: string;
  index?: string | undefined;
}

export function resourceKey(ref: ResourceRef): string {
  return ref.index === undefined ? ref.table : `${ref.table}/index/${ref.index}`;
}

export type CapacityEvent =
  /** Units lent from the table's unused throughput to a hot partition, summed over one second. */
  | { kind: 'adaptive-boost'; atMs: number; table: string; index?: string | undefined; partitionId: number; operation: Operation; units: number }
  | { kind: 'split'; atMs: number; table: string; index?: string | undefined; partitionId: number; point: KeyBound; leftShare: number; children: [number, number] }
  | { kind: 'split-refused'; atMs: number; table: string; index?: string | undefined; partitionId: number; reason: SplitRefusal }
  | { kind: 'partitions-added'; atMs: number; table: string; index?: string | undefined; added: number; count: number; cause: 'throughput' | 'size' | 'on-demand-peak' };

export interface CapacityMetricsOptions {
  /** Seconds of per-second history kept per series. */
  windowSeconds: number;
  /** Space-Saving counters per resource, for each of the two top-K lists. */
  topKeys: number;
  /** Events kept (the oldest are dropped). */
  eventsMax: number;
}

export const CAPACITY_METRICS_DEFAULTS: CapacityMetricsOptions = { windowSeconds: 60, topKeys: 64, eventsMax: 1_024 };

/** One number per second over the last `windowSeconds` seconds. */
export class SecondSeries {
  readonly #values: Float64Array;
  readonly #seconds: Float64Array;

  constructor(windowSeconds: number) {
    this.#values = new Float64Array(windowSeconds);
    this.#seconds = new Float64Array(windowSeconds).fill(Number.NEGATIVE_INFINITY);
  }

  add(second: number, value: number): void {
    const slot = this.slot(second);
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#values[slot] = 0;
    }
    this.#values[slot]! += value;
  }

  /** The value of one second (0 if none was recorded or it fell out of the window). */
  at(second: number): number {
    const slot = this.slot(second);
    return this.#seconds[slot] === second ? this.#values[slot]! : 0;
  }

  /** The window ending at `lastSecond`, oldest first. */
  window(lastSecond: number): number[] {
    const size = this.#values.length;
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = this.at(lastSecond - size + 1 + i);
    return out;
  }

  private slot(second: number): number {
    const size = this.#values.length;
    return ((second % size) + size) % size;
  }
}

/** Per-second consumed units and throttled requests, reads and writes apart. */
export class UsageSeries {
  readonly consumedReadUnits: SecondSeries;
  readonly consumedWriteUnits: SecondSeries;
  readonly throttledReads: SecondSeries;
  readonly throttledWrites: SecondSeries;

  constructor(windowSeconds: number) {
    this.consumedReadUnits = new SecondSeries(windowSeconds);
    this.consumedWriteUnits = new SecondSeries(windowSeconds);
    this.throttledReads = new SecondSeries(windowSeconds);
    this.throttledWrites = new SecondSeries(windowSeconds);
  }

  consumed(operation: Operation): SecondSeries {
    return operation === 'read' ? this.consumedReadUnits : this.consumedWriteUnits;
  }

  throttled(operation: Operation): SecondSeries {
    return operation === 'read' ? this.throttledReads : this.throttledWrites;
  }
}

interface ResourceMetrics {
  usage: UsageSeries;
  partitions: Map<number, UsageSeries>;
  mostConsumed: SpaceSaving;
  mostThrottled: SpaceSaving;
  throttledTotal: number;
  splits: number;
  refusedSplits: number;
}

export interface ResourceMetricsView {
  table: string;
  index?: string | undefined;
  /** Per second over the window ending at the second of `nowMs`, oldest first. */
  consumedReadUnits: number[];
  consumedWriteUnits: number[];
  throttledReads: number[];
  throttledWrites: number[];
  /** Throttled requests since the resource was defined. */
  throttledTotal: number;
  splits: number;
  refusedSplits: number;
  partitions: Array<{ partitionId: number; consumedReadUnits: number[]; consumedWriteUnits: number[]; throttledReads: number[]; throttledWrites: number[] }>;
  mostConsumedKeys: HeavyHitter[];
  mostThrottledKeys: HeavyHitter[];
}

export class CapacityMetrics {
  readonly options: CapacityMetricsOptions;
  readonly #resources = new Map<string, ResourceMetrics>();
  readonly #events: CapacityEvent[] = [];
  #eventsHead = 0;
  /** Events recorded since the start, dropped ones included: the sequence number of the newest. */
  #eventsTotal = 0;
  /** The adaptive-boost event of the current second, per partition, to sum into. */
  readonly #openBoosts = new Map<string, Extract<CapacityEvent, { kind: 'adaptive-boost' }>>();

  constructor(options: Partial<CapacityMetricsOptions> = {}) {
    this.options = { ...CAPACITY_METRICS_DEFAULTS, ...options };
    const { windowSeconds, topKeys, eventsMax } = this.options;
    assert.ok(Number.isInteger(windowSeconds) && windowSeconds >= 1 && windowSeconds <= 86_400, `windowSeconds must be an integer in [1, 86400], got ${windowSeconds}`);
    assert.ok(Number.isInteger(eventsMax) && eventsMax >= 1 && eventsMax <= 1_000_000, `eventsMax must be an integer in [1, 1000000], got ${eventsMax}`);
    assert.ok(Number.isInteger(topKeys) && topKeys >= 1, `topKeys must be an integer >= 1, got ${topKeys}`);
  }

  recordConsumed(ref: ResourceRef, partitionId: number, operation: Operation, units: number, keyLabel: string, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const resource = this.resource(ref);
    resource.usage.consumed(operation).add(second, units);
    this.partition(resource, partitionId).consumed(operation).add(second, units);
    if (units > 0) resource.mostConsumed.offer(keyLabel, units);
  }

  recordThrottle(ref: ResourceRef, partitionId: number, operation: Operation, keyLabel: string, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const resource = this.resource(ref);
    resource.usage.throttled(operation).add(second, 1);
    this.partition(resource, partitionId).throttled(operation).add(second, 1);
    resource.throttledTotal++;
    resource.mostThrottled.offer(keyLabel, 1);
  }

  recordAdaptiveBoost(ref: ResourceRef, partitionId: number, operation: Operation, units: number, nowMs: number): void {
    const key = `${resourceKey(ref)}#${partitionId}#${operation}`;
    const open = this.#openBoosts.get(key);
    if (open !== undefined && Math.floor(open.atMs / 1000) === Math.floor(nowMs / 1000)) {
      open.units += units;
      return;
    }
    const event = { kind: 'adaptive-boost' as const, atMs: nowMs, table: ref.table, index: ref.index, partitionId, operation, units };
    this.#openBoosts.set(key, event);
    this.event(event);
  }

  /** A split (its parent's series are dropped; the children start their own) or a refused split. */
  recordSplit(ref: ResourceRef, event: Extract<CapacityEvent, { kind: 'split' | 'split-refused' }>): void {
    const resource = this.resource(ref);
    if (event.kind === 'split') {
      resource.splits++;
      resource.partitions.delete(event.partitionId);
      for (const suffix of ['read', 'write']) this.#openBoosts.delete(`${resourceKey(ref)}#${event.partitionId}#${suffix}`);
    } else {
      resource.refusedSplits++;
    }
    this.event(event);
  }

  event(event: CapacityEvent): void {
    this.#eventsTotal++;
    if (this.#events.length < this.options.eventsMax) {
      this.#events.push(event);
      return;
    }
    this.#events[this.#eventsHead] = event;
    this.#eventsHead = (this.#eventsHead + 1) % this.options.eventsMax;
  }

  /** Events, oldest first. */
  events(): CapacityEvent[] {
    return [...this.#events.slice(this.#eventsHead), ...this.#events.slice(0, this.#eventsHead)];
  }

  /** How many events were ever recorded: the newest event's sequence number (the first is 1); events() ends with it. */
  get eventsTotal(): number {
    return this.#eventsTotal;
  }

  /** Drop the series of partitions that no longer exist (after partitions were added by splitting). */
  retainPartitions(ref: ResourceRef, partitionIds: ReadonlySet<number>): void {
    const resource = this.resource(ref);
    for (const id of resource.partitions.keys()) if (!partitionIds.has(id)) resource.partitions.delete(id);
  }

  removeResource(ref: ResourceRef): void {
    this.#resources.delete(resourceKey(ref));
    const prefix = `${resourceKey(ref)}#`;
    for (const key of this.#openBoosts.keys()) if (key.startsWith(prefix)) this.#openBoosts.delete(key);
  }

  view(ref: ResourceRef, nowMs: number, topK = 10): ResourceMetricsView {
    const resource = this.resource(ref);
    const second = Math.floor(nowMs / 1000);
    return {
      table: ref.table,
      index: ref.index,
      ...seriesView(resource.usage, second),
      throttledTotal: resource.throttledTotal,
      splits: resource.splits,
      refusedSplits: resource.refusedSplits,
      partitions: [...resource.partitions].sort((a, b) => a[0] - b[0]).map(([partitionId, usage]) => ({ partitionId, ...seriesView(usage, second) })),
      mostConsumedKeys: resource.mostConsumed.top(topK),
      mostThrottledKeys: resource.mostThrottled.top(topK),
    };
  }

  private resource(ref: ResourceRef): ResourceMetrics {
    const key = resourceKey(ref);
    let resource = this.#resources.get(key);
    if (resource === undefined) {
      resource = {
        usage: new UsageSeries(this.options.windowSeconds),
        partitions: new Map(),
        mostConsumed: new SpaceSaving(this.options.topKeys),
        mostThrottled: new SpaceSaving(this.options.topKeys),
        throttledTotal: 0,
        splits: 0,
        refusedSplits: 0,
      };
      this.#resources.set(key, resource);
    }
    return resource;
  }

  private partition(resource: ResourceMetrics, partitionId: number): UsageSeries {
    let usage = resource.partitions.get(partitionId);
    if (usage === undefined) {
      usage = new UsageSeries(this.options.windowSeconds);
      resource.partitions.set(partitionId, usage);
    }
    return usage;
  }
}

function seriesView(usage: UsageSeries, second: number): { consumedReadUnits: number[]; consumedWriteUnits: number[]; throttledReads: number[]; throttledWrites: number[] } {
  return {
    consumedReadUnits: usage.consumedReadUnits.window(second),
    consumedWriteUnits: usage.consumedWriteUnits.window(second),
    throttledReads: usage.throttledReads.window(second),
    throttledWrites: usage.throttledWrites.window(second),
  };
}
