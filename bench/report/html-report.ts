/**
 * `renderHtmlReport`: one self-contained HTML page for a `ringtable bench`
 * result. Inline CSS, charts as inline SVG built here, no script, no font,
 * image or stylesheet from anywhere else: the file opens offline from disk
 * and looks the same years later. Every string from the report is escaped,
 * and a Content-Security-Policy forbids scripts and every fetch anyway, as a
 * second wall should an escape ever be missed.
 *
 * Sections have stable ids (summary, throughput, latency, node-load,
 * partition-heat, hot-keys, baselines, errors, notes) and charts carry
 * `data-chart`, so tools and tests can find them.
 */
import { type BenchReport, type LatencySummary, OP_KINDS, type OpKind } from '../ycsb/bench-report.js';
import { baselinesChart } from './baselines-chart.js';
import { escapeText } from './escape.js';
import { MISSING, finiteOr, formatCount, formatLatencyUs, formatPercent, formatRate, formatRatio, isFiniteNumber } from './format.js';
import { type Content, markup, section, table, tag } from './html.js';
import { type LatencySeries, latencyCdfChart } from './latency-cdf-chart.js';
import { meanOperations, nodeLoadChart } from './node-load-chart.js';
import { OP_COLOURS, OP_LABELS } from './palette.js';
import { ownerBands, partitionHeatChart } from './partition-heat-chart.js';
import { REPORT_CSS } from './report-style.js';
import { summarySection, workloadTitle } from './summary-section.js';
import { timelineChart } from './timeline-chart.js';

export const SECTION_IDS = ['summary', 'throughput', 'latency', 'node-load', 'partition-heat', 'hot-keys', 'baselines', 'errors', 'notes'] as const;

const NAV_LABELS: Record<(typeof SECTION_IDS)[number], string> = {
  summary: 'Summary',
  throughput: 'Throughput',
  latency: 'Latency',
  'node-load': 'Node load',
  'partition-heat': 'Partition heat',
  'hot-keys': 'Hot keys',
  baselines: 'Baselines',
  errors: 'Errors',
  notes: 'Notes',
};

function lead(...parts: Content[]): string {
  return tag('p', { class: 'lead' }, ...parts);
}

function strong(text: string): Content {
  return markup(tag('strong', {}, text));
}

function throughputSection(report: BenchReport): string {
  const { run } = report;
  return section(
    'throughput',
    'Throughput over time',
    markup(lead(strong(formatRate(run.throughputPerSec)), ` over ${formatCount(run.operations)} operations; one sample every ${formatCount(run.intervalMs)} ms (${formatCount(run.timeline.length)} samples), ${formatCount(report.faults.length)} fault events.`)),
    markup(timelineChart({ timeline: run.timeline, intervalMs: run.intervalMs, faults: report.faults })),
  );
}

/** The op types the report has latency for, in YCSB's order. */
export function latencyOps(report: BenchReport): Array<{ op: OpKind; summary: LatencySummary }> {
  return OP_KINDS.filter((op) => report.latency[op] !== undefined).map((op) => ({ op, summary: report.latency[op]! }));
}

export const PERCENTILE_COLUMNS = [
  ['p50', 'p50Us'],
  ['p90', 'p90Us'],
  ['p99', 'p99Us'],
  ['p99.9', 'p999Us'],
  ['max', 'maxUs'],
] as const;

function latencySection(report: BenchReport): string {
  const ops = latencyOps(report);
  const rows = ops.map(({ op, summary }): Content[] => {
    const sampled = isFiniteNumber(summary.count) && summary.count > 0;
    const cell = (value: number) => (sampled ? formatLatencyUs(value) : MISSING);
    return [
      markup(tag('span', { class: 'swatch', style: `background:${OP_COLOURS[op]}` }) + escapeText(OP_LABELS[op])),
      formatCount(summary.count),
      cell(summary.meanUs),
      ...PERCENTILE_COLUMNS.map(([, field]) => cell(summary[field])),
    ];
  });
  const columns = [{ header: 'operation' }, { header: 'count', numeric: true }, { header: 'mean', numeric: true }, ...PERCENTILE_COLUMNS.map(([name]) => ({ header: name, numeric: true }))];
  const body = ops.length === 0 ? markup(tag('p', { class: 'empty' }, 'No latency was recorded in this run.')) : markup(table('latency', columns, rows));
  const series: LatencySeries[] = ops.filter(({ summary }) => finiteOr(summary.count, 0) > 0);
  const corrected = report.workload.targetPerSec > 0 ? ' Latencies are measured from each operation’s intended start (corrected for coordinated omission).' : '';
  return section('latency', 'Latency per operation type', markup(lead(`Microsecond latencies from an HdrHistogram per operation type.${corrected}`)), body, markup(latencyCdfChart(series)));
}

function nodeLoadSection(report: BenchReport): string {
  const mean = meanOperations(report.nodes);
  const busiest = report.nodes.reduce<(typeof report.nodes)[number] | undefined>((top, node) => (top === undefined || finiteOr(node.operations, 0) > finiteOr(top.operations, 0) ? node : top), undefined);
  const text =
    busiest === undefined
      ? [strong('No per-node counts.')]
      : [`Imbalance (max / mean requests per node): `, markup(tag('strong', { 'data-imbalance': '' }, formatRatio(report.imbalance))), `; mean ${formatCount(mean)} requests per node, busiest n${busiest.id} with ${formatCount(busiest.operations)}.`];
  return section('node-load', 'Load per storage node', markup(lead(...text)), markup(nodeLoadChart(report.nodes, report.imbalance)));
}

function partitionHeatSection(report: BenchReport): string {
  const heat = report.partitionHeat.map((v) => Math.max(0, finiteOr(v, 0)));
  const total = heat.reduce((a, b) => a + b, 0);
  let text: Content[] = [strong('No partition counts.')];
  if (heat.length > 0) {
    const hottest = heat.reduce((best, v, i) => (v > heat[best]! ? i : best), 0);
    const owners = ownerBands(heat, report.partitionOwners).length;
    const meanHeat = total / heat.length;
    const times = meanHeat > 0 ? `, ${formatRatio(heat[hottest]! / meanHeat)} the mean partition` : '';
    text = [`${formatCount(heat.length)} partitions owned by ${formatCount(owners)} nodes; hottest: partition ${hottest} (n${report.partitionOwners[hottest] ?? '?'}) with `, strong(formatCount(heat[hottest])), ` accesses, ${formatPercent(total > 0 ? heat[hottest]! / total : 0)} of all${times}.`];
  }
  return section('partition-heat', 'Partition heat', markup(lead(...text)), markup(partitionHeatChart(report.partitionHeat, report.partitionOwners)));
}

function hotKeysSection(report: BenchReport): string {
  const operations = report.run.operations;
  const rows = report.hotKeys.map((hot, i): Content[] => [
    String(i + 1),
    markup(tag('code', {}, hot.key)),
    formatCount(hot.count),
    operations > 0 ? formatPercent(hot.count / operations, 2) : MISSING,
    formatCount(hot.errorMax),
    markup(hot.nodes.map((node, j) => tag('span', { class: j === 0 ? 'primary' : undefined, title: j === 0 ? 'primary' : undefined }, `n${node}`)).join(' · ')),
  ]);
  const columns = [{ header: '#', numeric: true }, { header: 'key' }, { header: 'count', numeric: true }, { header: 'share of operations', numeric: true }, { header: '± error', numeric: true }, { header: 'preference list (primary first)' }];
  const body = rows.length === 0 ? markup(tag('p', { class: 'empty' }, 'No hot keys were tracked in this run.')) : markup(table('hot-keys', columns, rows));
  return section('hot-keys', 'Hot keys', markup(lead('The most accessed keys by a Space-Saving sketch: each count is an upper bound, at most its error above the true count.')), body);
}

function baselinesSection(report: BenchReport): string {
  const rows = report.baselines.map((b): Content[] => [
    markup(tag('strong', {}, b.name)),
    b.description,
    b.ran ? 'ran' : markup(tag('span', { class: 'not-run' }, `not run${b.note ? `: ${b.note}` : ''}`)),
    b.ran ? formatRate(b.throughputPerSec) : MISSING,
    b.ran ? formatRatio(b.ratioToRingtable) : MISSING,
  ]);
  const columns = [{ header: 'baseline' }, { header: 'what it is' }, { header: 'status' }, { header: 'throughput', numeric: true }, { header: 'ratio to ringtable', numeric: true }];
  // With no baselines the chart says so itself; an empty table would add nothing.
  const body = markup(baselinesChart(report.baselines, report.run.throughputPerSec) + (rows.length === 0 ? '' : table('baselines', columns, rows)));
  return section('baselines', 'Baselines', markup(lead('The same workload against simpler stores, in this run on this machine: compare ratios, not absolute figures across machines.')), body);
}

function errorsSection(report: BenchReport): string {
  const { errors, run } = report;
  const codes = Object.entries(errors.byCode ?? {}).sort((a, b) => finiteOr(b[1], 0) - finiteOr(a[1], 0) || a[0].localeCompare(b[0]));
  const share = run.operations > 0 ? `, ${formatPercent(errors.total / run.operations, 3)} of operations` : '';
  const text = lead(strong(`${formatCount(errors.total)} errors`), `${share}; ${formatCount(errors.timeouts)} timeouts.`);
  const rows = codes.map(([code, count]): Content[] => [markup(tag('code', {}, code)), formatCount(count), errors.total > 0 ? formatPercent(count / errors.total) : MISSING]);
  const body = rows.length === 0 ? markup(tag('p', { class: 'empty' }, 'No errors by code.')) : markup(table('errors', [{ header: 'code' }, { header: 'count', numeric: true }, { header: 'share of errors', numeric: true }], rows));
  return section('errors', 'Errors by code', markup(text), body);
}

function notesSection(report: BenchReport): string {
  const body = report.notes.length === 0 ? markup(tag('p', { class: 'empty' }, 'No notes.')) : markup(tag('ul', { class: 'notes' }, ...report.notes.map((note) => markup(tag('li', {}, note)))));
  return section('notes', 'Notes', body);
}

export function reportTitle(report: BenchReport): string {
  return `ringtable bench · ${workloadTitle(report.workload)} · ${formatRate(report.run.throughputPerSec)}`;
}

export function renderHtmlReport(report: BenchReport): string {
  const nav = tag('nav', { 'aria-label': 'sections' }, ...SECTION_IDS.map((id) => markup(tag('a', { href: `#${id}` }, NAV_LABELS[id]))));
  const body = [
    summarySection(report),
    nav,
    throughputSection(report),
    latencySection(report),
    nodeLoadSection(report),
    partitionHeatSection(report),
    hotKeysSection(report),
    baselinesSection(report),
    errorsSection(report),
    notesSection(report),
    tag('footer', {}, `ringtable bench report, schema version ${report.schemaVersion}. Self-contained: no scripts, fonts or images are loaded.`),
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ringtable bench">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeText(reportTitle(report))}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
