/**
 * Accesses per ring partition as a heatmap, one band per owning node: the
 * cells of a node's partitions side by side in ring order, darker for more
 * accesses. A hot key shows as one dark cell; a badly placed ring as one dark
 * band. Colour follows the square root of the count: under a zipfian load the
 * hottest partition is tens of times the median, and a linear ramp would
 * paint every other partition the same pale shade.
 */
import { finiteOr, formatCompact, formatCount, formatPercent } from './format.js';
import { HEAT_RAMP, INK, INK_MUTED, heatColour } from './palette.js';
import { maxOf } from './scale.js';
import { type Plot, chartFrame, coord, element, emptyChart, label, tooltip } from './svg.js';

export const PARTITION_HEAT_CHART = 'partition-heat';
const WIDTH = 960;
const ROW_HEIGHT_MAX = 22;
const CELL_WIDTH_MIN = 4;
const CELL_WIDTH_MAX = 28;
/** Past this many partitions cells get no tooltip: it would triple the page's size for a map too fine to hover. */
const TOOLTIP_CELLS_MAX = 8192;

export interface OwnerBand {
  /** Owning node id, or null for partitions the report gives no owner for. */
  owner: number | null;
  partitions: number[];
  accesses: number;
}

/** Partitions grouped by owner (ascending, unknown last), each group in ring order. */
export function ownerBands(heat: number[], owners: number[]): OwnerBand[] {
  const bands = new Map<number | null, OwnerBand>();
  heat.forEach((value, partition) => {
    const raw = owners[partition];
    const owner = typeof raw === 'number' && Number.isFinite(raw) ? raw : null;
    let band = bands.get(owner);
    if (band === undefined) bands.set(owner, (band = { owner, partitions: [], accesses: 0 }));
    band.partitions.push(partition);
    band.accesses += Math.max(0, finiteOr(value, 0));
  });
  return [...bands.values()].sort((a, b) => (a.owner ?? Infinity) - (b.owner ?? Infinity));
}

export function partitionHeatChart(heat: number[], owners: number[]): string {
  const title = 'Accesses per ring partition, by owner';
  if (heat.length === 0) return emptyChart(PARTITION_HEAT_CHART, title, 'No partition counts in this run.', WIDTH);
  const values = heat.map((v) => Math.max(0, finiteOr(v, 0)));
  const hottest = values.reduce((a, b) => Math.max(a, b), 0);
  const total = values.reduce((a, b) => a + b, 0);
  const bands = ownerBands(values, owners);
  const tooltips = values.length <= TOOLTIP_CELLS_MAX;

  const plot: Plot = { left: 64, right: WIDTH - 120, top: 54, bottom: 0 };
  const widest = maxOf(bands.map((b) => b.partitions.length), 1);
  // A band wraps onto more lines when its partitions would be thinner than
  // CELL_WIDTH_MIN, with the widest band's lines equally long.
  const linesPerBand = Math.ceil(widest / Math.max(1, Math.floor((plot.right - plot.left) / CELL_WIDTH_MIN)));
  const columns = Math.max(1, Math.ceil(widest / linesPerBand));
  const cellWidth = Math.min(CELL_WIDTH_MAX, (plot.right - plot.left) / columns);
  const lines = bands.reduce((sum, b) => sum + Math.ceil(b.partitions.length / columns), 0);
  const rowHeight = Math.max(8, Math.min(ROW_HEIGHT_MAX, 480 / lines));
  const bandGap = 6;

  const parts: string[] = [];
  let top = plot.top;
  for (const band of bands) {
    const bandLines = Math.ceil(band.partitions.length / columns);
    const cells = band.partitions.map((partition, i) => {
      const cx = plot.left + (i % columns) * cellWidth;
      const cy = top + Math.floor(i / columns) * rowHeight;
      const value = values[partition]!;
      const text = `partition ${partition} (node ${band.owner ?? '?'}): ${formatCount(value)} accesses, ${formatPercent(total > 0 ? value / total : 0)} of all`;
      return element('rect', { x: cx, y: cy, width: Math.max(1, cellWidth - (cellWidth >= 6 ? 1 : 0)), height: rowHeight - 1, fill: heatColour(hottest > 0 ? Math.sqrt(value / hottest) : 0), 'data-partition': String(partition), 'data-accesses': String(value) }, tooltips ? tooltip(text) : undefined);
    });
    const bandHeight = bandLines * rowHeight;
    const name = band.owner === null ? 'no owner' : `n${band.owner}`;
    const share = formatPercent(total > 0 ? band.accesses / total : 0);
    parts.push(
      element(
        'g',
        { class: 'owner-band', 'data-owner': band.owner === null ? 'none' : String(band.owner), 'data-partitions': String(band.partitions.length) },
        label(plot.left - 8, top + bandHeight / 2 + 4, name, { 'text-anchor': 'end', fill: INK }) +
          cells.join('') +
          label(plot.left + Math.min(columns, band.partitions.length) * cellWidth + 8, top + bandHeight / 2 + 4, `${formatCompact(band.accesses)} · ${share}`, { fill: INK_MUTED }),
      ),
    );
    top += bandHeight + bandGap;
  }
  const height = top + 8;
  parts.push(heatLegend(hottest, plot.left, 16));
  const description = `Accesses to each of ${values.length} ring partitions, grouped into ${bands.length} bands by owning node; the hottest partition had ${formatCount(hottest)} accesses.`;
  return chartFrame({ chart: PARTITION_HEAT_CHART, width: WIDTH, height, title, description, body: parts.join(''), data: { 'data-partitions': String(values.length) } });
}

/** A gradient bar from 0 to the hottest partition's count, with the quarter mark where a square-root ramp puts it (halfway). */
function heatLegend(hottest: number, x: number, y: number): string {
  const width = 180;
  const stops = HEAT_RAMP.map((colour, i) => element('stop', { offset: coord(i / (HEAT_RAMP.length - 1)), 'stop-color': colour })).join('');
  return element(
    'g',
    { class: 'legend' },
    element('defs', {}, element('linearGradient', { id: 'partition-heat-ramp', x1: 0, x2: 1, y1: 0, y2: 0 }, stops)) +
      label(x, y + 9, 'accesses (√ scale)', { fill: INK }) +
      label(x + 130, y + 9, '0', { fill: INK_MUTED, 'text-anchor': 'end' }) +
      element('rect', { x: x + 136, y, width, height: 12, fill: 'url(#partition-heat-ramp)', stroke: '#d2d6dc', rx: 2 }) +
      element('line', { x1: x + 136 + width / 2, x2: x + 136 + width / 2, y1: y + 12, y2: y + 16, stroke: INK_MUTED }) +
      label(x + 136 + width / 2, y + 27, formatCompact(hottest / 4), { fill: INK_MUTED, 'text-anchor': 'middle', 'font-size': 10 }) +
      label(x + 142 + width, y + 9, formatCount(hottest), { fill: INK_MUTED }),
  );
}
