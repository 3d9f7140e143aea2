/**
 * The HTML report of a tables workload run: one self-contained page (inline
 * CSS and SVG, no script, a Content-Security-Policy that forbids every
 * fetch), built with the bench report's own builders (bench/report). Per
 * table: the verdict, a heat map of consumed capacity per logical partition
 * and second (throttled seconds outlined in red), the partitions' table and
 * the hottest and most throttled keys. Sections have stable ids and the
 * heat maps carry data-chart="partition-capacity", for tools and tests.
 */
import { escapeText } from '../report/escape.js';
import { type Content, facts, markup, section, table, tag } from '../report/html.js';
import { ERROR, INK_MUTED } from '../report/palette.js';
import { REPORT_CSS } from '../report/report-style.js';
import { element, label, tooltip } from '../report/svg.js';
import type { TableRunReport, TablesBenchReport } from './tables-report.js';
import { keyDesignText, throughputText, units, verdict } from './tables-summary.js';

export const PARTITION_CAPACITY_CHART = 'partition-capacity';
const CELL_MAX_PX = 24;
const CHART_WIDTH = 720;
const ROW_PX = 18;
const LABEL_PX = 90;

/** Consumed units per partition and second against the partition's ceiling: darker is closer to it. */
export function partitionCapacityChart(run: TableRunReport): string {
  const seconds = Math.max(1, ...run.partitions.map((p) => p.consumedUnitsPerSecond.length));
  const cell = Math.min(CELL_MAX_PX, (CHART_WIDTH - LABEL_PX) / seconds);
  const height = run.partitions.length * ROW_PX + 24;
  const rows = run.partitions.map((p, row) => {
    const y = row * ROW_PX;
    const ceiling = p.writeUnitsMax + p.readUnitsMax / 3; // what one second of mixed traffic can reach, roughly
    const cells = p.consumedUnitsPerSecond.map((consumed, s) => {
      const throttled = p.throttledPerSecond[s] ?? 0;
      const shade = Math.min(1, consumed / Math.max(ceiling, 1e-9));
      return element('rect', {
        x: LABEL_PX + s * cell, y, width: Math.max(1, cell - 1), height: ROW_PX - 2,
        fill: `rgba(47,102,144,${(0.08 + 0.92 * shade).toFixed(3)})`,
        stroke: throttled > 0 ? ERROR : undefined, 'stroke-width': throttled > 0 ? 2 : undefined,
      }, tooltip(`partition ${p.partitionId}, second ${s + 1}: ${units(consumed)} units consumed, ${throttled} throttled`));
    }).join('');
    return label(0, y + ROW_PX - 6, `partition ${p.partitionId}`, { fill: INK_MUTED }) + cells;
  }).join('');
  const axis = label(LABEL_PX, height - 6, `seconds 1–${seconds}; darker = closer to the partition's ceiling; red outline = throttled`, { fill: INK_MUTED });
  return element('svg', { 'data-chart': PARTITION_CAPACITY_CHART, viewBox: `0 0 ${CHART_WIDTH} ${height}`, width: CHART_WIDTH, height, role: 'img', 'aria-label': `consumed capacity per partition of ${run.design.table}` }, rows + axis);
}

function tableSection(run: TableRunReport, index: number): string {
  const requests = run.client.reads + run.client.writes;
  const seconds = Math.max(1, run.seconds.length);
  const partitionRows = run.partitions.map((p): Content[] => [
    String(p.partitionId),
    `${(p.startHash / 2 ** 32).toFixed(3)}–${(p.endHash / 2 ** 32).toFixed(3)}`,
    units(p.writeUnitsMax),
    p.writeShareUnitsPerSecond === null ? 'on-demand' : units(p.writeShareUnitsPerSecond),
    units(p.consumedWriteUnits / seconds),
    units(p.peakWriteUnitsPerSecond),
    units(p.consumedReadUnits / seconds),
    String(p.throttledReads + p.throttledWrites),
  ]);
  const keyRows = Array.from({ length: Math.max(run.mostConsumedKeys.length, run.mostThrottledKeys.length) }, (_, i): Content[] => [
    run.mostConsumedKeys[i]?.key ?? '', run.mostConsumedKeys[i] === undefined ? '' : units(run.mostConsumedKeys[i]!.count),
    run.mostThrottledKeys[i]?.key ?? '', run.mostThrottledKeys[i] === undefined ? '' : String(run.mostThrottledKeys[i]!.count),
  ]);
  return section(
    `table-${index}`,
    run.design.table,
    markup(tag('p', { class: 'lead' }, verdict(run))),
    markup(facts([
      ['key design', keyDesignText(run.design)],
      ['throughput', throughputText(run.design)],
      ['requests', `${requests} (${run.client.reads} reads, ${run.client.consistentReads} consistent; ${run.client.writes} writes)`],
      ['throttled', `${run.client.throttled}; the model counted ${run.throttledTotal}`],
      ['throttling reasons', Object.entries(run.client.throttlesByReason).map(([reason, n]) => `${reason} × ${n}`).join(', ') || 'none'],
      ['splits', `${run.splits} (${run.refusedSplits} refused); adaptive boosts in ${run.adaptiveBoosts} partition-seconds`],
      ['ARN', run.arn],
    ])),
    markup(partitionCapacityChart(run)),
    markup(table('partitions', [
      { header: 'partition' }, { header: 'hash range' }, { header: 'WCU/s max', numeric: true }, { header: 'WCU/s share', numeric: true },
      { header: 'WCU/s mean', numeric: true }, { header: 'WCU/s peak', numeric: true }, { header: 'RCU/s mean', numeric: true }, { header: 'throttled', numeric: true },
    ], partitionRows, 'Logical partitions')),
    markup(table('keys', [{ header: 'hottest key' }, { header: 'units', numeric: true }, { header: 'most throttled key' }, { header: 'throttles', numeric: true }], keyRows, 'Keys (Space-Saving estimates)')),
  );
}

export function renderTablesHtmlReport(report: TablesBenchReport): string {
  const title = `ringtable tables workload: ${report.tables.map((run) => run.design.table).join(' vs ')}`;
  const summary = section(
    'summary',
    title,
    markup(facts([
      ['capacity', `${report.capacity.mode}, scale ${report.capacity.scale}`],
      ['traffic', `${report.workload.opsPerSecond} requests/s per table for ${report.workload.durationSeconds} s`],
      ['run', `${(report.run.elapsedMs / 1000).toFixed(1)} s, ${report.run.requests} requests`],
      ['command', report.command],
    ])),
    markup(table('comparison', [{ header: 'table' }, { header: 'key design' }, { header: 'throughput' }, { header: 'partitions', numeric: true }, { header: 'throttled', numeric: true }, { header: 'verdict' }],
      report.tables.map((run) => [run.design.table, keyDesignText(run.design), throughputText(run.design), String(run.partitions.length), String(run.client.throttled), verdict(run)]))),
  );
  const body = [summary, ...report.tables.map(tableSection), tag('footer', {}, 'ringtable tables workload report. Self-contained: no scripts, fonts or images are loaded.')].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ringtable bench tables">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeText(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
