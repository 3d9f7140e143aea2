/**
 * The result of a tables workload run (`ringtable bench tables`, the
 * hot-partition demonstration): per table, what the client saw (requests,
 * throttles by exception and reason) and what the capacity model saw
 * (consumed units per second, throttles per logical partition, the hottest
 * keys, splits and adaptive boosts), taken from Database.capacityMetrics().
 * Pure: built from the run's counters and one capacity snapshot.
 */
import type { HeavyHitter } from '../../lib/stats/space-saving.js';
import type { CapacitySnapshot, ResourceSnapshot, SequencedEvent } from '../../lib/tables/capacity/capacity-snapshot.js';
import type { MachineFacts } from '../ycsb/bench-report.js';
import type { TableDesign } from './table-design.js';

export const TABLES_REPORT_SCHEMA_VERSION = 1;
/** Events kept per table in the report. */
export const REPORT_EVENTS_MAX = 50;

/** What the client side of one table's run counted. */
export interface ClientCounts {
  reads: number;
  writes: number;
  consistentReads: number;
  succeeded: number;
  throttled: number;
  /** Requests not sent because `concurrency` were already in flight (the target rate was not met). */
  skipped: number;
  /** Failures by exception name, throttles included. */
  errorsByName: Record<string, number>;
  /** Throttles by ThrottlingReasons' reason. */
  throttlesByReason: Record<string, number>;
}

export interface PartitionReport {
  partitionId: number;
  /** The key range's partition-key hashes, [start, end). */
  startHash: number;
  endHash: number;
  readUnitsMax: number;
  writeUnitsMax: number;
  readShareUnitsPerSecond: number | null;
  writeShareUnitsPerSecond: number | null;
  consumedReadUnits: number;
  consumedWriteUnits: number;
  peakWriteUnitsPerSecond: number;
  peakReadUnitsPerSecond: number;
  throttledReads: number;
  throttledWrites: number;
  /** Per second of the run: consumed write + read units, and throttled requests. */
  consumedUnitsPerSecond: number[];
  throttledPerSecond: number[];
}

export interface TableRunReport {
  design: TableDesign;
  arn: string;
  client: ClientCounts;
  /** Table-wide, per second of the run. */
  seconds: Array<{ consumedReadUnits: number; consumedWriteUnits: number; throttledReads: number; throttledWrites: number }>;
  consumedReadUnits: number;
  consumedWriteUnits: number;
  /** What the table admits per second (scaled): provisioned, or on-demand's current limit. */
  readUnitsPerSecond: number;
  writeUnitsPerSecond: number;
  throttledTotal: number;
  splits: number;
  refusedSplits: number;
  partitions: PartitionReport[];
  mostConsumedKeys: HeavyHitter[];
  mostThrottledKeys: HeavyHitter[];
  events: SequencedEvent[];
  adaptiveBoosts: number;
}

export interface TablesBenchReport {
  schemaVersion: typeof TABLES_REPORT_SCHEMA_VERSION;
  kind: 'tables';
  command: string;
  capacity: { mode: 'off' | 'observe' | 'enforce'; scale: number };
  database: { nodes: number; durability: string };
  workload: { opsPerSecond: number; durationSeconds: number; concurrency: number; seed: number };
  run: { elapsedMs: number; requests: number; throughputPerSec: number };
  machine?: MachineFacts | undefined;
  tables: TableRunReport[];
  notes: string[];
}

/** The last `seconds` entries of a per-second series (the run's seconds). */
function lastSeconds(series: number[], seconds: number): number[] {
  return series.slice(Math.max(0, series.length - seconds));
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

export function tableRunReport(design: TableDesign, client: ClientCounts, snapshot: CapacitySnapshot, runSeconds: number): TableRunReport {
  const resource: ResourceSnapshot | undefined = snapshot.resources.find((r) => r.table === design.table && r.index === undefined);
  const seconds = Math.min(runSeconds, snapshot.windowSeconds);
  if (resource === undefined) {
    return {
      design, arn: '', client, seconds: [], consumedReadUnits: 0, consumedWriteUnits: 0, readUnitsPerSecond: 0, writeUnitsPerSecond: 0,
      throttledTotal: 0, splits: 0, refusedSplits: 0, partitions: [], mostConsumedKeys: [], mostThrottledKeys: [], events: [], adaptiveBoosts: 0,
    };
  }
  const read = lastSeconds(resource.consumedReadUnits, seconds);
  const write = lastSeconds(resource.consumedWriteUnits, seconds);
  const throttledReads = lastSeconds(resource.throttledReads, seconds);
  const throttledWrites = lastSeconds(resource.throttledWrites, seconds);
  const events = snapshot.events.filter((e) => e.table === design.table && e.index === undefined);
  return {
    design,
    arn: resource.arn,
    client,
    seconds: read.map((_, i) => ({ consumedReadUnits: read[i]!, consumedWriteUnits: write[i]!, throttledReads: throttledReads[i]!, throttledWrites: throttledWrites[i]! })),
    consumedReadUnits: sum(read),
    consumedWriteUnits: sum(write),
    readUnitsPerSecond: resource.readUnitsPerSecond,
    writeUnitsPerSecond: resource.writeUnitsPerSecond,
    throttledTotal: resource.throttledTotal,
    splits: resource.splits,
    refusedSplits: resource.refusedSplits,
    partitions: resource.partitions.map((p): PartitionReport => {
      const pRead = lastSeconds(p.consumedReadUnits, seconds);
      const pWrite = lastSeconds(p.consumedWriteUnits, seconds);
      const pThrottled = lastSeconds(p.throttledReads, seconds).map((r, i) => r + lastSeconds(p.throttledWrites, seconds)[i]!);
      return {
        partitionId: p.partitionId,
        startHash: p.start.hash,
        endHash: p.end.hash,
        readUnitsMax: p.readUnitsMax,
        writeUnitsMax: p.writeUnitsMax,
        readShareUnitsPerSecond: p.readShareUnitsPerSecond,
        writeShareUnitsPerSecond: p.writeShareUnitsPerSecond,
        consumedReadUnits: sum(pRead),
        consumedWriteUnits: sum(pWrite),
        peakReadUnitsPerSecond: Math.max(0, ...pRead),
        peakWriteUnitsPerSecond: Math.max(0, ...pWrite),
        throttledReads: sum(lastSeconds(p.throttledReads, seconds)),
        throttledWrites: sum(lastSeconds(p.throttledWrites, seconds)),
        consumedUnitsPerSecond: pRead.map((r, i) => r + pWrite[i]!),
        throttledPerSecond: pThrottled,
      };
    }),
    mostConsumedKeys: resource.mostConsumedKeys,
    mostThrottledKeys: resource.mostThrottledKeys,
    events: events.filter((e) => e.kind !== 'adaptive-boost').slice(-REPORT_EVENTS_MAX),
    adaptiveBoosts: events.filter((e) => e.kind === 'adaptive-boost').length,
  };
}
