/**
 * Latency distribution per operation type: one CDF line each, latency on a
 * log axis (latencies span decades: a cached read against a quorum write
 * waiting on a slow replica), percentile on a "nines" axis so p99 and p99.9
 * stay apart (see `ninesScale`).
 */
import type { LatencySummary, OpKind } from '../ycsb/bench-report.js';
import { formatLatencyUs, formatPercentileLabel, isFiniteNumber } from './format.js';
import { OP_COLOURS, OP_LABELS } from './palette.js';
import { logDomain, logScale, logTicks, maxOf, minOf, ninesScale, percentileToNines } from './scale.js';
import { type LegendItem, type Plot, axisTitle, chartFrame, element, emptyChart, horizontalAxis, legend, linePath, verticalAxis } from './svg.js';

export const LATENCY_CDF_CHART = 'latency-cdf';
const WIDTH = 960;
const HEIGHT = 360;
/** Highest nines drawn (p99.9999): beyond that a run's samples cannot resolve the tail. */
const NINES_CAP = 6;

export interface LatencySeries {
  op: OpKind;
  summary: LatencySummary;
}

/** The CDF points a chart can draw: finite, percentile within 0..100, latency above 0 (log axis). */
function drawablePoints(cdf: Array<[number, number]>): Array<[number, number]> {
  return cdf.filter(([p, us]) => isFiniteNumber(p) && isFiniteNumber(us) && p >= 0 && p <= 100 && us > 0).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** The top of the nines axis: one decade past the highest percentile below 100 that the data resolves. */
function ninesTop(series: Array<Array<[number, number]>>): number {
  let highest = 1;
  for (const points of series) for (const [p] of points) if (p < 100) highest = Math.max(highest, percentileToNines(p, NINES_CAP));
  return Math.min(NINES_CAP, Math.max(2, Math.ceil(highest - 1e-9)));
}

export function latencyCdfChart(series: LatencySeries[]): string {
  const title = 'Latency CDF per operation type';
  const drawn = series.map((s) => ({ op: s.op, points: drawablePoints(s.summary.cdf ?? []) })).filter((s) => s.points.length > 0);
  if (drawn.length === 0) return emptyChart(LATENCY_CDF_CHART, title, 'No latency samples were recorded in this run.', WIDTH);

  const plot: Plot = { left: 78, right: WIDTH - 24, top: 36, bottom: HEIGHT - 52 };
  const latencies = drawn.flatMap((s) => s.points.map(([, us]) => us));
  const [lo, hi] = logDomain(minOf(latencies, 1), maxOf(latencies, 1));
  const x = logScale([lo, hi], [plot.left, plot.right]);
  const top = ninesTop(drawn.map((s) => s.points));
  const y = ninesScale(top, [plot.bottom, plot.top]);
  const percentileTicks = [0, 50, 90, 99, 99.9, 99.99, 99.999, 99.9999].filter((p) => percentileToNines(p, NINES_CAP) <= top + 1e-9);

  const ticks = logTicks(lo, hi);
  const parts: string[] = [];
  parts.push(verticalAxis(y, percentileTicks, plot, (p) => (p === 0 ? '0' : formatPercentileLabel(p))));
  parts.push(element('g', { class: 'minor-grid' }, ticks.minor.map((v) => element('line', { x1: x(v), x2: x(v), y1: plot.top, y2: plot.bottom, stroke: '#f0f2f4' })).join('')));
  parts.push(horizontalAxis(x, ticks.major, plot, formatLatencyUs, true));
  parts.push(axisTitle('latency (log scale)', plot, 'bottom'), axisTitle('percentile', plot, 'left'));

  for (const s of drawn) {
    const points = s.points.map(([p, us]): [number, number] => [x(us), y(p)]);
    const shape = points.length === 1 ? element('circle', { cx: points[0]![0], cy: points[0]![1], r: 4, fill: OP_COLOURS[s.op] }) : element('path', { d: linePath(points), fill: 'none', stroke: OP_COLOURS[s.op], 'stroke-width': 2, 'stroke-linejoin': 'round' });
    parts.push(element('g', { class: 'series', 'data-series': s.op, 'data-points': s.points.length }, shape));
  }
  const items: LegendItem[] = drawn.map((s) => ({ label: OP_LABELS[s.op], colour: OP_COLOURS[s.op], shape: 'line' }));
  parts.push(legend(items, plot.right, 16));

  const description = `Cumulative distribution of latency for ${drawn.map((s) => OP_LABELS[s.op]).join(', ')}; latency on a log axis, percentile on an axis of nines up to ${formatPercentileLabel(100 * (1 - 10 ** -top))}.`;
  return chartFrame({ chart: LATENCY_CDF_CHART, width: WIDTH, height: HEIGHT, title, description, body: parts.join('') });
}
