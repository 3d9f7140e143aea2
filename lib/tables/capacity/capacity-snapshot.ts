/**
 * The capacity metrics API: one plain, JSON-serialisable picture of what the
 * capacity model saw, per table, global secondary index and logical
 * partition, at one-second resolution (CloudWatch and Contributor Insights
 * give one minute). `Database.capacityMetrics()` returns it and
 * `Database.capacityUpdates()` streams it; the inspector serves it as
 * server-sent events. README.md in this folder documents every field.
 *
 * Series: every per-second array has `windowSeconds` entries, oldest first;
 * entry i is the second `lastSecond - windowSeconds + 1 + i` (seconds since
 * the epoch of the model's clock), so two snapshots line up by second.
 *
 * Events carry a sequence number (1, 2, …; dropped ones keep theirs) so a
 * subscriber asks only for the events after the last one it saw.
 *
 * Pure: built from the model and the `nowMs` the caller passes.
 */
import type { HeavyHitter } from '../../stats/space-saving.js';
import type { CapacityEvent } from './capacity-metrics.js';
import type { BillingMode, CapacityModel, ProvisionedThroughputSetting } from './capacity-model.js';
import type { KeyBound } from './logical-partitions.js';

/** Bump when a field changes meaning or disappears (adding fields does not bump it). */
export const CAPACITY_SNAPSHOT_VERSION = 1;

export type CapacitySetting = 'off' | 'observe' | 'enforce';

export interface PartitionSnapshot {
  partitionId: number;
  /** Inclusive start and exclusive end of the key range: partition-key hash (unsigned 32-bit), then sort key. */
  start: KeyBound;
  end: KeyBound;
  /** The partition's ceiling, units per second (3,000 RCU / 1,000 WCU × capacityScale). */
  readUnitsMax: number;
  writeUnitsMax: number;
  /** PROVISIONED: the partition's even share of the table's throughput, units per second (scaled); null on-demand. */
  readShareUnitsPerSecond: number | null;
  writeShareUnitsPerSecond: number | null;
  /** PROVISIONED: units banked (up to 300 s of the share); negative while an oversized request is paid back; null on-demand. */
  readBurstBalanceUnits: number | null;
  writeBurstBalanceUnits: number | null;
  /** Consecutive seconds at or above split for heat's threshold. */
  hotSeconds: number;
  consumedReadUnits: number[];
  consumedWriteUnits: number[];
  throttledReads: number[];
  throttledWrites: number[];
}

export interface ResourceSnapshot {
  table: string;
  /** Set for a global secondary index. */
  index?: string | undefined;
  arn: string;
  billingMode: BillingMode;
  /** PROVISIONED: RCU/WCU as set (unscaled); null on-demand. */
  provisioned: ProvisionedThroughputSetting | null;
  /** What the table (or index) admits per second now, scaled: provisioned RCU/WCU, or on-demand's current limit. */
  readUnitsPerSecond: number;
  writeUnitsPerSecond: number;
  /** On-demand: the previous peaks the current limits double (scaled); null provisioned. */
  onDemand: { readPreviousPeakUnits: number; writePreviousPeakUnits: number } | null;
  consumedReadUnits: number[];
  consumedWriteUnits: number[];
  throttledReads: number[];
  throttledWrites: number[];
  /** Throttled (or, observing, would-be throttled) requests since the table or index was first charged. */
  throttledTotal: number;
  splits: number;
  refusedSplits: number;
  /** In key order. */
  partitions: PartitionSnapshot[];
  /** Contributor Insights' "most accessed" keys: consumed units, Space-Saving estimates (upper bounds, errorMax apart). */
  mostConsumedKeys: HeavyHitter[];
  /** "Most throttled" keys: throttled requests. A GSI's back-pressure throttles count on the index, with its key. */
  mostThrottledKeys: HeavyHitter[];
}

export type SequencedEvent = CapacityEvent & { seq: number };

export interface CapacitySnapshot {
  version: typeof CAPACITY_SNAPSHOT_VERSION;
  mode: CapacitySetting;
  capacityScale: number;
  /** The model clock's time of the snapshot. */
  atMs: number;
  windowSeconds: number;
  /** The second of every series' last entry: floor(atMs / 1000). */
  lastSecond: number;
  /** Each table followed by its global secondary indexes. */
  resources: ResourceSnapshot[];
  /** Events after `sinceEventSeq` (all kept ones by default), oldest first. */
  events: SequencedEvent[];
  /** The newest event's sequence number (0 before any): pass it back as sinceEventSeq. */
  eventSeq: number;
}

export interface SnapshotOptions {
  /** Only events with a greater sequence number. */
  sinceEventSeq?: number | undefined;
  /** Keys per top-K list (default 10; at most the metrics' topKeys). */
  topKeys?: number | undefined;
}

/** The snapshot of a Database without a capacity model (capacity 'off'). */
export function emptySnapshot(nowMs: number, windowSeconds: number): CapacitySnapshot {
  return { version: CAPACITY_SNAPSHOT_VERSION, mode: 'off', capacityScale: 1, atMs: nowMs, windowSeconds, lastSecond: Math.floor(nowMs / 1000), resources: [], events: [], eventSeq: 0 };
}

export function capacitySnapshot(model: CapacityModel, nowMs: number, options: SnapshotOptions = {}): CapacitySnapshot {
  const windowSeconds = model.metrics.options.windowSeconds;
  const topKeys = Math.min(options.topKeys ?? 10, model.metrics.options.topKeys);
  const zeros = (): number[] => new Array<number>(windowSeconds).fill(0);
  const resources = model.resources().map((ref): ResourceSnapshot => {
    const view = model.describe(ref.table, nowMs, ref.index);
    const metrics = model.metrics.view(ref, nowMs, topKeys);
    const series = new Map(metrics.partitions.map((p) => [p.partitionId, p]));
    const shareSum = (pick: (p: (typeof view.partitions)[number]) => number | null): number => view.partitions.reduce((sum, p) => sum + (pick(p) ?? 0), 0);
    return {
      table: view.table,
      index: view.index,
      arn: view.arn,
      billingMode: view.billingMode,
      provisioned: view.provisioned,
      readUnitsPerSecond: view.onDemand?.readLimitUnits ?? shareSum((p) => p.readShareUnitsPerSecond),
      writeUnitsPerSecond: view.onDemand?.writeLimitUnits ?? shareSum((p) => p.writeShareUnitsPerSecond),
      onDemand: view.onDemand === null ? null : { readPreviousPeakUnits: view.onDemand.readPreviousPeakUnits, writePreviousPeakUnits: view.onDemand.writePreviousPeakUnits },
      consumedReadUnits: metrics.consumedReadUnits,
      consumedWriteUnits: metrics.consumedWriteUnits,
      throttledReads: metrics.throttledReads,
      throttledWrites: metrics.throttledWrites,
      throttledTotal: metrics.throttledTotal,
      splits: metrics.splits,
      refusedSplits: metrics.refusedSplits,
      partitions: view.partitions.map((p) => {
        const usage = series.get(p.partitionId);
        return {
          partitionId: p.partitionId,
          start: p.start,
          end: p.end,
          readUnitsMax: p.readUnitsMax,
          writeUnitsMax: p.writeUnitsMax,
          readShareUnitsPerSecond: p.readShareUnitsPerSecond,
          writeShareUnitsPerSecond: p.writeShareUnitsPerSecond,
          readBurstBalanceUnits: p.readBurstBalanceUnits,
          writeBurstBalanceUnits: p.writeBurstBalanceUnits,
          hotSeconds: p.hotSeconds,
          consumedReadUnits: usage?.consumedReadUnits ?? zeros(),
          consumedWriteUnits: usage?.consumedWriteUnits ?? zeros(),
          throttledReads: usage?.throttledReads ?? zeros(),
          throttledWrites: usage?.throttledWrites ?? zeros(),
        };
      }),
      mostConsumedKeys: metrics.mostConsumedKeys,
      mostThrottledKeys: metrics.mostThrottledKeys,
    };
  });
  const eventSeq = model.metrics.eventsTotal;
  const kept = model.events();
  const firstSeq = eventSeq - kept.length + 1;
  const since = options.sinceEventSeq ?? 0;
  const events = kept.map((event, i) => ({ ...event, seq: firstSeq + i })).filter((event) => event.seq > since);
  return { version: CAPACITY_SNAPSHOT_VERSION, mode: model.mode, capacityScale: model.capacityScale, atMs: nowMs, windowSeconds, lastSecond: Math.floor(nowMs / 1000), resources, events, eventSeq };
}
