/**
 * Requests each storage node served, as bars of reads, writes and the rest
 * (replication and other requests), with the mean as a line: a bar well
 * above the line is the node a skewed workload or a small ring overloads.
 */
import type { NodeLoad } from '../ycsb/bench-report.js';
import { finiteOr, formatCompact, formatCount, formatRatio } from './format.js';
import { INK, INK_MUTED, NEUTRAL, OP_COLOURS } from './palette.js';
import { linearScale, maxOf, niceTicks } from './scale.js';
import { HALO, type LegendItem, type Plot, axisTitle, chartFrame, element, emptyChart, label, legend, textWidth, tooltip, verticalAxis } from './svg.js';

export const NODE_LOAD_CHART = 'node-load';
const WIDTH = 960;
const HEIGHT = 340;
const BAR_WIDTH_MAX = 72;

export interface NodeBar {
  id: number;
  reads: number;
  writes: number;
  /** operations - reads - writes, when positive: replication and other requests. */
  other: number;
  /** Height of the bar: operations, or reads + writes if a report has them larger. */
  total: number;
}

export function nodeBars(nodes: NodeLoad[]): NodeBar[] {
  return nodes.map((node) => {
    const reads = Math.max(0, finiteOr(node.reads, 0));
    const writes = Math.max(0, finiteOr(node.writes, 0));
    const operations = Math.max(0, finiteOr(node.operations, 0));
    const other = Math.max(0, operations - reads - writes);
    return { id: node.id, reads, writes, other, total: reads + writes + other };
  });
}

export function meanOperations(nodes: NodeLoad[]): number {
  if (nodes.length === 0) return 0;
  return nodes.reduce((sum, node) => sum + Math.max(0, finiteOr(node.operations, 0)), 0) / nodes.length;
}

export function nodeLoadChart(nodes: NodeLoad[], imbalance: number): string {
  const title = 'Requests served per storage node';
  if (nodes.length === 0) return emptyChart(NODE_LOAD_CHART, title, 'No per-node counts in this run.', WIDTH);
  const bars = nodeBars(nodes);
  const mean = meanOperations(nodes);
  const plot: Plot = { left: 78, right: WIDTH - 96, top: 36, bottom: HEIGHT - 66 };
  const ticks = niceTicks(0, Math.max(1, maxOf(bars.map((b) => b.total), 0)), 5);
  const y = linearScale([0, ticks[ticks.length - 1]!], [plot.bottom, plot.top]);
  const slot = (plot.right - plot.left) / bars.length;
  const barWidth = Math.min(BAR_WIDTH_MAX, slot * 0.7);
  const labelEvery = Math.max(1, Math.ceil((textWidth('n000 ') + 8) / slot));

  const parts: string[] = [verticalAxis(y, ticks, plot, formatCompact), axisTitle('requests', plot, 'left')];
  parts.push(element('line', { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom, stroke: INK_MUTED }));
  // Under the bars, which hide it where they rise above the mean.
  const meanY = y(mean);
  parts.push(
    element(
      'g',
      { class: 'mean-line', 'data-mean': String(mean) },
      element('line', { x1: plot.left, x2: plot.right, y1: meanY, y2: meanY, stroke: INK, 'stroke-width': 1.5, 'stroke-dasharray': '6 4' }) +
        label(plot.right + 6, meanY + 4, `mean ${formatCompact(mean)}`, { fill: INK, ...HALO }),
    ),
  );
  bars.forEach((bar, i) => {
    const x = plot.left + slot * i + (slot - barWidth) / 2;
    const segments: string[] = [];
    let base = plot.bottom;
    for (const [kind, value, colour] of [['reads', bar.reads, OP_COLOURS.read], ['writes', bar.writes, OP_COLOURS.update], ['other', bar.other, NEUTRAL]] as const) {
      const height = plot.bottom - y(value);
      segments.push(element('rect', { x, y: base - height, width: barWidth, height, fill: colour, 'data-segment': kind }));
      base -= height;
    }
    const text = `node ${bar.id}: ${formatCount(bar.total)} requests (${formatCount(bar.reads)} reads, ${formatCount(bar.writes)} writes, ${formatCount(bar.other)} other)`;
    // The value goes under the node's name, not on the bar's top, where the mean line would cross it.
    const valueLabel = i % labelEvery === 0 ? label(x + barWidth / 2, plot.bottom + 31, formatCompact(bar.total), { 'text-anchor': 'middle', fill: INK_MUTED, 'font-size': 11 }) : '';
    const nodeLabel = i % labelEvery === 0 ? label(x + barWidth / 2, plot.bottom + 17, `n${bar.id}`, { 'text-anchor': 'middle', fill: INK }) : '';
    parts.push(element('g', { class: 'node-bar', 'data-node': String(bar.id), 'data-operations': String(bar.total), 'data-bar-height': plot.bottom - y(bar.total) }, tooltip(text) + segments.join('') + valueLabel + nodeLabel));
  });

  parts.push(axisTitle('storage node', { ...plot, bottom: plot.bottom + 14 }, 'bottom'));
  const items: LegendItem[] = [
    { label: 'reads', colour: OP_COLOURS.read, shape: 'box' },
    { label: 'writes', colour: OP_COLOURS.update, shape: 'box' },
    { label: 'replication / other', colour: NEUTRAL, shape: 'box' },
    { label: 'mean', colour: INK, shape: 'dash' },
  ];
  parts.push(legend(items, plot.right, 16));
  const description = `Requests served by each of ${bars.length} storage nodes, split into reads, writes and other requests; mean ${formatCount(mean)}, max/mean ${formatRatio(imbalance)}.`;
  return chartFrame({ chart: NODE_LOAD_CHART, width: WIDTH, height: HEIGHT, title, description, body: parts.join('') });
}
