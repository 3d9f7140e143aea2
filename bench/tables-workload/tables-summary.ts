/**
 * The terminal summary of a tables workload run: the tables side by side
 * (key design, throughput, requests, throttles and why), then, per table,
 * its logical partitions (consumed capacity against their limits, throttles)
 * and its hottest and most throttled keys: where and why a design throttles.
 */
import Table from 'cli-table3';
import type { TableDesign } from './table-design.js';
import type { TableRunReport, TablesBenchReport } from './tables-report.js';

const TABLE_STYLE = { head: [] as string[], border: [] as string[], compact: true };
const KEYS_PRINTED = 5;
const PARTITIONS_PRINTED = 16;

function table(head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  const t = new Table({ head, style: TABLE_STYLE, colAligns: align ?? head.map((_, i) => (i === 0 ? 'left' : 'right')) });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

export function units(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2).replace(/\.?0+$/, '') || '0';
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`;
}

export function keyDesignText(design: TableDesign): string {
  const names = design.partitionKeyNames === undefined ? '' : ` (${design.partitionKeyNames.slice(0, 4).join(', ')}${design.partitionKeyNames.length > 4 ? ', …' : ''})`;
  const skew = design.skew === 'uniform' ? 'uniform' : `zipfian ${design.theta}`;
  return `${design.partitionKeys} partition keys${names}, ${design.itemsPerPartitionKey} item(s) each, ${skew}`;
}

export function throughputText(design: TableDesign): string {
  return design.billingMode === 'PAY_PER_REQUEST' ? 'on-demand' : `${design.readCapacityUnits} RCU / ${design.writeCapacityUnits} WCU`;
}

/** The one line that says why a table throttled (or that it did not). */
export function verdict(run: TableRunReport): string {
  const requests = run.client.reads + run.client.writes;
  if (run.client.throttled === 0 && run.throttledTotal === 0) return `no throttles: ${run.partitions.length} partitions shared the load`;
  const worst = [...run.partitions].sort((a, b) => b.throttledReads + b.throttledWrites - (a.throttledReads + a.throttledWrites))[0];
  const hotKey = run.mostThrottledKeys[0]?.key;
  const reasons = Object.entries(run.client.throttlesByReason).sort((a, b) => b[1] - a[1]).map(([reason]) => reason);
  const throttled = Math.max(run.client.throttled, run.throttledTotal);
  return `${percent(throttled, requests)} throttled${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}: partition ${worst?.partitionId ?? '?'} of ${run.partitions.length}`
    + `${worst === undefined ? '' : ` capped at ${units(worst.writeUnitsMax)} WCU/s`}${hotKey === undefined ? '' : `, hottest key ${JSON.stringify(hotKey)}`}`;
}

export function formatTablesSummary(report: TablesBenchReport): string {
  const lines: string[] = [];
  const w = report.workload;
  lines.push(`capacity ${report.capacity.mode}, scale ${report.capacity.scale} (a partition serves ${units(3000 * report.capacity.scale)} RCU / ${units(1000 * report.capacity.scale)} WCU per second)`);
  lines.push(`${w.opsPerSecond} requests/s per table for ${w.durationSeconds} s, at most ${w.concurrency} in flight per table, seed ${w.seed}; ${report.database.nodes} storage nodes, durability ${report.database.durability}`);
  lines.push(`ran ${(report.run.elapsedMs / 1000).toFixed(1)} s: ${report.run.requests} requests, ${report.run.throughputPerSec.toFixed(0)}/s`);
  lines.push('');
  const runs = report.tables;
  const requests = (run: TableRunReport) => run.client.reads + run.client.writes;
  const seconds = (run: TableRunReport) => Math.max(1, run.seconds.length);
  lines.push(table(['', ...runs.map((run) => run.design.table)], [
    ['key design', ...runs.map((run) => keyDesignText(run.design))],
    ['throughput', ...runs.map((run) => throughputText(run.design))],
    ['logical partitions', ...runs.map((run) => run.partitions.length)],
    ['requests (reads / writes)', ...runs.map((run) => `${requests(run)} (${run.client.reads} / ${run.client.writes})`)],
    ['throttled', ...runs.map((run) => `${run.client.throttled} (${percent(run.client.throttled, requests(run))})`)],
    ['would-be throttles (model)', ...runs.map((run) => run.throttledTotal)],
    ['consumed WCU/s (mean)', ...runs.map((run) => units(run.consumedWriteUnits / seconds(run)))],
    ['consumed RCU/s (mean)', ...runs.map((run) => units(run.consumedReadUnits / seconds(run)))],
    ['table limit WCU/s / RCU/s', ...runs.map((run) => `${units(run.writeUnitsPerSecond)} / ${units(run.readUnitsPerSecond)}`)],
    ['splits (refused)', ...runs.map((run) => `${run.splits} (${run.refusedSplits})`)],
    ['adaptive boosts (partition-seconds)', ...runs.map((run) => run.adaptiveBoosts)],
  ], ['left', ...runs.map(() => 'left' as const)]));
  for (const run of runs) {
    lines.push('');
    lines.push(`${run.design.table}: ${verdict(run)}`);
    const partitions = [...run.partitions].sort((a, b) => b.throttledReads + b.throttledWrites - (a.throttledReads + a.throttledWrites) || b.consumedWriteUnits - a.consumedWriteUnits).slice(0, PARTITIONS_PRINTED);
    lines.push(table(['partition', 'hash range', 'WCU/s max', 'WCU/s share', 'WCU/s mean', 'WCU/s peak', 'RCU/s mean', 'throttled'], partitions.map((p) => [
      p.partitionId,
      `${(p.startHash / 2 ** 32).toFixed(3)}–${(p.endHash / 2 ** 32).toFixed(3)}`,
      units(p.writeUnitsMax),
      p.writeShareUnitsPerSecond === null ? 'on-demand' : units(p.writeShareUnitsPerSecond),
      units(p.consumedWriteUnits / seconds(run)),
      units(p.peakWriteUnitsPerSecond),
      units(p.consumedReadUnits / seconds(run)),
      p.throttledReads + p.throttledWrites,
    ])));
    if (run.partitions.length > PARTITIONS_PRINTED) lines.push(`  (${run.partitions.length - PARTITIONS_PRINTED} more partitions, none throttled more)`);
    const keys = Math.max(Math.min(KEYS_PRINTED, run.mostConsumedKeys.length), Math.min(KEYS_PRINTED, run.mostThrottledKeys.length));
    if (keys > 0) {
      lines.push(table(['hottest keys (units)', '', 'most throttled keys', ''], Array.from({ length: keys }, (_, i) => [
        run.mostConsumedKeys[i]?.key ?? '', run.mostConsumedKeys[i] === undefined ? '' : units(run.mostConsumedKeys[i]!.count),
        run.mostThrottledKeys[i]?.key ?? '', run.mostThrottledKeys[i]?.count ?? '',
      ]), ['left', 'right', 'left', 'right']));
    }
    for (const event of run.events.slice(-5)) {
      if (event.kind === 'split') lines.push(`  split of partition ${event.partitionId} at hash ${event.point.hash}${event.point.sortKey === undefined ? '' : ' (inside one partition key)'}, ${(event.leftShare * 100).toFixed(0)}% of the heat to the left`);
      else if (event.kind === 'split-refused') lines.push(`  split of partition ${event.partitionId} refused: ${event.reason}`);
      else if (event.kind === 'partitions-added') lines.push(`  ${event.added} partitions added (${event.cause}), ${event.count} in all`);
    }
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
