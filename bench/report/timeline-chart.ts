/**
 * Throughput over the measured phase: operations per second per interval as
 * a line, and under it, on the same time axis, errors per interval as
 * columns and panels for hints pending and nodes down when either was ever
 * non-zero (panels rather than a second y axis, which invites reading one
 * series against the other's scale), and a marker for
 * every injected fault, so a dip can be read against its cause.
 */
import type { FaultEvent, TimelinePoint } from '../ycsb/bench-report.js';
import { finiteOr, formatCompact, formatCount, formatDurationMs, formatRate, formatSignificant } from './format.js';
import { ACCENT, ERROR, FAULT, INK, WARNING } from './palette.js';
import { type Scale, linearScale, maxOf, niceTicks } from './scale.js';
import {
  type LegendItem,
  type Plot,
  axisTitle,
  chartFrame,
  coord,
  element,
  emptyChart,
  horizontalAxis,
  label,
  legend,
  linePath,
  stepPath,
  textWidth,
  tooltip,
  verticalAxis,
} from './svg.js';

export const TIMELINE_CHART = 'throughput-timeline';
const WIDTH = 960;
const MAIN_HEIGHT = 240;
const PANEL_HEIGHT = 60;
const PANEL_GAP = 40;
const FAULT_ROW_HEIGHT = 15;
/** Past this many intervals the per-interval hover targets cost more page than they are worth. */
const HOVER_TARGETS_MAX = 2000;
/**
 * Most points drawn: about one per pixel column of the plot, at most two.
 * A longer timeline is drawn from buckets of consecutive samples.
 */
const DRAWN_POINTS_MAX = 1600;

export interface TimelineInput {
  timeline: TimelinePoint[];
  intervalMs: number;
  faults: FaultEvent[];
}

interface Sample {
  atMs: number;
  opsPerSec: number;
  errors: number;
  hintsPending: number;
  nodesDown: number;
}

function clean(point: TimelinePoint): Sample {
  return {
    atMs: Math.max(0, finiteOr(point.atMs, 0)),
    opsPerSec: Math.max(0, finiteOr(point.opsPerSec, 0)),
    errors: Math.max(0, finiteOr(point.errors, 0)),
    hintsPending: Math.max(0, finiteOr(point.hintsPending, 0)),
    nodesDown: Math.max(0, finiteOr(point.nodesDown, 0)),
  };
}

/**
 * Consecutive samples merged `perBucket` at a time: throughput averaged (the
 * intervals are of equal length), errors summed, levels (hints, nodes down)
 * at their highest, so a short outage still shows.
 */
export function bucketSamples<T extends Sample>(samples: T[], perBucket: number): Sample[] {
  if (perBucket <= 1) return samples;
  const buckets: Sample[] = [];
  for (let start = 0; start < samples.length; start += perBucket) {
    const group = samples.slice(start, start + perBucket);
    buckets.push({
      atMs: group[group.length - 1]!.atMs,
      opsPerSec: group.reduce((sum, s) => sum + s.opsPerSec, 0) / group.length,
      errors: group.reduce((sum, s) => sum + s.errors, 0),
      hintsPending: maxOf(group.map((s) => s.hintsPending), 0),
      nodesDown: maxOf(group.map((s) => s.nodesDown), 0),
    });
  }
  return buckets;
}

/** The time axis counts seconds, minutes or hours, whichever keeps its labels short. */
function timeUnit(endMs: number): { name: string; ms: number } {
  if (endMs > 3 * 3_600_000) return { name: 'hours', ms: 3_600_000 };
  if (endMs > 5 * 60_000) return { name: 'minutes', ms: 60_000 };
  return { name: 'seconds', ms: 1000 };
}

/** Whole-number ticks for counts (errors, nodes): no "0.5 errors". */
function countTicks(max: number, count: number): number[] {
  const ticks = niceTicks(0, Math.max(1, max), count).filter((t) => Number.isInteger(t));
  return ticks.length >= 2 ? ticks : [0, 1];
}

/** Assign each fault label a row so that labels in one row do not overlap. */
function faultRows(faults: FaultEvent[], x: Scale): number[] {
  const rowEnds: number[] = [];
  return faults.map((fault) => {
    const centre = x(finiteOr(fault.atMs, 0));
    const half = textWidth(faultLabel(fault), 11) / 2 + 4;
    let row = rowEnds.findIndex((end) => centre - half > end);
    if (row === -1) row = rowEnds.push(0) - 1;
    rowEnds[row] = centre + half;
    return row;
  });
}

function faultLabel(fault: FaultEvent): string {
  return `${fault.action} n${fault.node}`;
}

interface Panel {
  name: string;
  title: string;
  colour: string;
  /** Bars for a count per interval (errors), a step line for a level sampled at the interval's end. */
  shape: 'bars' | 'step';
  values: (s: Sample) => number;
}

/** One column per interval with a non-zero value, spanning the interval. */
function intervalBars(panel: Panel, samples: Sample[], x: Scale, y: Scale, intervalMs: number): string {
  return samples
    .filter((s) => panel.values(s) > 0)
    .map((s) => {
      const x0 = intervalMs > 0 ? x(Math.max(0, s.atMs - intervalMs)) : x(s.atMs) - 1.5;
      const x1 = x(s.atMs);
      const width = Math.max(1.5, x1 - x0 - 1);
      const top = y(panel.values(s));
      return element('rect', { x: x1 - width, y: top, width, height: y.range[0] - top, fill: panel.colour, 'fill-opacity': 0.75 }, tooltip(`${formatSignificant(s.atMs / 1000)} s: ${formatCount(panel.values(s))} ${panel.title}`));
    })
    .join('');
}

function drawPanel(panel: Panel, samples: Sample[], x: Scale, plot: Plot, intervalMs: number): string {
  const max = maxOf(samples.map(panel.values), 0);
  const ticks = countTicks(max, 2);
  const y = linearScale([0, ticks[ticks.length - 1]!], [plot.bottom, plot.top]);
  let marks: string;
  if (panel.shape === 'bars') marks = intervalBars(panel, samples, x, y, intervalMs);
  else {
    const points = samples.map((s): [number, number] => [x(s.atMs), y(panel.values(s))]);
    marks = samples.length === 1 ? element('circle', { cx: points[0]![0], cy: points[0]![1], r: 3, fill: panel.colour }) : element('path', { d: stepPath(points), fill: 'none', stroke: panel.colour, 'stroke-width': 2 });
  }
  const title = max > 0 ? panel.title : `${panel.title}: none`;
  return element(
    'g',
    { class: 'panel', 'data-series': panel.name },
    verticalAxis(y, ticks, plot, (v) => formatCount(v)) + label(plot.left, plot.top - 14, title, { fill: INK, class: 'panel-title' }) + marks,
  );
}

export function timelineChart(input: TimelineInput): string {
  const title = 'Throughput over time';
  const recorded = input.timeline.map(clean).sort((a, b) => a.atMs - b.atMs);
  if (recorded.length === 0) return emptyChart(TIMELINE_CHART, title, 'No timeline samples were recorded in this run.', WIDTH);
  const faults = input.faults.filter((f) => Number.isFinite(f.atMs)).map((f) => ({ ...f, atMs: Math.max(0, f.atMs) }));
  const perBucket = Math.ceil(recorded.length / DRAWN_POINTS_MAX);
  const samples = bucketSamples(recorded, perBucket);
  const intervalMs = Math.max(0, finiteOr(input.intervalMs, 0)) * perBucket;
  const per = perBucket === 1 ? 'interval' : formatDurationMs(intervalMs);

  // Errors always get a panel (an empty one says "none"); hints and nodes down only when they happened.
  const panels: Panel[] = [{ name: 'errors', title: `errors per ${per}`, colour: ERROR, shape: 'bars', values: (s) => s.errors }];
  if (samples.some((s) => s.hintsPending > 0)) panels.push({ name: 'hints-pending', title: 'hints pending', colour: WARNING, shape: 'step', values: (s) => s.hintsPending });
  if (samples.some((s) => s.nodesDown > 0)) panels.push({ name: 'nodes-down', title: 'nodes down', colour: FAULT, shape: 'step', values: (s) => s.nodesDown });

  const endMs = Math.max(1, maxOf(samples.map((s) => s.atMs), 0), maxOf(faults.map((f) => f.atMs), 0));
  const left = 78;
  const right = WIDTH - 24;
  const xMs = linearScale([0, endMs], [left, right]);
  const rows = faultRows(faults, xMs);
  const rowCount = faults.length === 0 ? 0 : maxOf(rows, 0) + 1;
  const top = 40 + rowCount * FAULT_ROW_HEIGHT;
  const main: Plot = { left, right, top, bottom: top + MAIN_HEIGHT };
  const panelPlots = panels.map((_, i): Plot => {
    const panelTop = main.bottom + PANEL_GAP + i * (PANEL_HEIGHT + PANEL_GAP);
    return { left, right, top: panelTop, bottom: panelTop + PANEL_HEIGHT };
  });
  const bottom = panelPlots.length > 0 ? panelPlots[panelPlots.length - 1]!.bottom : main.bottom;
  const height = bottom + 48;

  const opsTicks = niceTicks(0, Math.max(1, maxOf(samples.map((s) => s.opsPerSec), 0)), 5);
  const y = linearScale([0, opsTicks[opsTicks.length - 1]!], [main.bottom, main.top]);

  const parts: string[] = [];
  parts.push(verticalAxis(y, opsTicks, main, formatCompact), axisTitle('operations / s', main, 'left'));

  const points = samples.map((s): [number, number] => [xMs(s.atMs), y(s.opsPerSec)]);
  const line =
    samples.length === 1
      ? element('circle', { cx: points[0]![0], cy: points[0]![1], r: 4, fill: ACCENT })
      : element('path', { d: `${linePath(points)} L${coord(points[points.length - 1]![0])} ${coord(main.bottom)} L${coord(points[0]![0])} ${coord(main.bottom)} Z`, fill: ACCENT, 'fill-opacity': 0.08, stroke: 'none' }) +
        element('path', { d: linePath(points), fill: 'none', stroke: ACCENT, 'stroke-width': 2, 'stroke-linejoin': 'round' });
  parts.push(element('g', { class: 'series', 'data-series': 'throughput', 'data-points': samples.length, 'data-samples': recorded.length, 'data-samples-per-point': perBucket }, line));

  panels.forEach((panel, i) => parts.push(drawPanel(panel, samples, xMs, panelPlots[i]!, intervalMs)));

  // Ticks at nice numbers of the time unit, placed on the millisecond scale.
  const unit = timeUnit(endMs);
  const timeTicks = niceTicks(0, endMs / unit.ms, 8).filter((t) => t <= endMs / unit.ms + 1e-9).map((t) => t * unit.ms);
  parts.push(horizontalAxis(xMs, timeTicks, { ...main, bottom }, (v) => formatSignificant(v / unit.ms)));
  parts.push(axisTitle(`${unit.name} since the measured phase started`, { ...main, bottom }, 'bottom'));

  parts.push(faultMarkers(faults, rows, xMs, bottom));
  if (samples.length <= HOVER_TARGETS_MAX) parts.push(hoverTargets(samples, xMs, intervalMs, main.top, bottom));

  const legendItems: LegendItem[] = [
    { label: 'throughput', colour: ACCENT, shape: 'line' },
  ];
  if (faults.length > 0) legendItems.push({ label: 'fault', colour: FAULT, shape: 'dash' });
  parts.push(legend(legendItems, right, 16));

  const peak = maxOf(samples.map((s) => s.opsPerSec), 0);
  const averaged = perBucket === 1 ? '' : `, averaged over ${formatDurationMs(intervalMs)}`;
  const description = `Operations per second in each of ${recorded.length} intervals${averaged} (peak ${formatRate(peak)}), with panels for ${panels.map((p) => p.title).join(', ')}, and ${faults.length} fault events.`;
  return chartFrame({ chart: TIMELINE_CHART, width: WIDTH, height, title, description, body: parts.join(''), data: { 'data-faults': String(faults.length) } });
}

function faultMarkers(faults: FaultEvent[], rows: number[], x: Scale, bottom: number): string {
  const markers = faults.map((fault, i) => {
    const at = x(fault.atMs);
    const labelY = 38 + rows[i]! * FAULT_ROW_HEIGHT;
    const text = faultLabel(fault);
    const half = textWidth(text, 11) / 2;
    const labelX = Math.min(Math.max(at, half + 2), WIDTH - half - 2);
    return element(
      'g',
      { class: 'fault', 'data-action': fault.action, 'data-node': String(fault.node), 'data-at-ms': String(fault.atMs) },
      tooltip(`${text} at ${formatSignificant(fault.atMs / 1000)} s`) +
        element('line', { x1: at, x2: at, y1: labelY + 3, y2: bottom, stroke: FAULT, 'stroke-width': 1.5, 'stroke-dasharray': '5 4' }) +
        label(labelX, labelY, text, { 'text-anchor': 'middle', fill: FAULT, 'font-size': 11 }),
    );
  });
  return element('g', { class: 'faults' }, markers.join(''));
}

/** Invisible columns, one per interval, whose tooltips give the interval's figures. */
function hoverTargets(samples: Sample[], x: Scale, intervalMs: number, top: number, bottom: number): string {
  const targets = samples.map((s, i) => {
    const previous = i > 0 ? samples[i - 1]!.atMs : Math.max(0, s.atMs - intervalMs);
    const x0 = x(previous);
    const x1 = Math.max(x0 + 1, x(s.atMs));
    const text = `${formatSignificant(s.atMs / 1000)} s: ${formatRate(s.opsPerSec)}, ${formatCount(s.errors)} errors` + (s.hintsPending > 0 ? `, ${formatCount(s.hintsPending)} hints pending` : '') + (s.nodesDown > 0 ? `, ${formatCount(s.nodesDown)} nodes down` : '');
    return element('rect', { x: x0, y: top, width: x1 - x0, height: bottom - top, fill: 'transparent' }, tooltip(text));
  });
  return element('g', { class: 'hover-targets' }, targets.join(''));
}
