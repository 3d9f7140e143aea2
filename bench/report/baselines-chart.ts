/**
 * Throughput of each baseline beside ringtable's, as horizontal bars with
 * the ratio printed at the end. A baseline that did not run gets its note in
 * place of a bar: a missing figure must not read as zero throughput.
 */
import type { BaselineResult } from '../ycsb/bench-report.js';
import { finiteOr, formatCompact, formatRate, formatRatio } from './format.js';
import { ACCENT, INK, INK_MUTED, NEUTRAL } from './palette.js';
import { linearScale, maxOf, niceTicks } from './scale.js';
import { type Plot, axisTitle, chartFrame, element, emptyChart, horizontalAxis, label, textWidth, tooltip } from './svg.js';

export const BASELINES_CHART = 'baselines';
const WIDTH = 960;
const ROW_HEIGHT = 34;
const NAME_WIDTH_MAX = 180;
const NOTE_CHARS_MAX = 110;

function shorten(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

/**
 * `ringtableThroughputPerSec` is the measured run's figure: drawn as a
 * reference line when no baseline is named 'ringtable', so every bar has
 * something to be compared with.
 */
export function baselinesChart(baselines: BaselineResult[], ringtableThroughputPerSec: number): string {
  const title = 'Throughput against baselines';
  if (baselines.length === 0) return emptyChart(BASELINES_CHART, title, 'No baselines were run.', WIDTH, 90);
  const names = baselines.map((b) => shorten(b.name, 24));
  const nameWidth = Math.min(NAME_WIDTH_MAX, Math.max(...names.map((n) => textWidth(n))) + 16);
  const plot: Plot = { left: nameWidth + 8, right: WIDTH - 170, top: 12, bottom: 12 + baselines.length * ROW_HEIGHT };
  const reference = baselines.some((b) => b.name === 'ringtable') ? undefined : Math.max(0, finiteOr(ringtableThroughputPerSec, 0));
  const ran = baselines.filter((b) => b.ran).map((b) => Math.max(0, finiteOr(b.throughputPerSec, 0)));
  const ticks = niceTicks(0, Math.max(1, reference ?? 0, maxOf(ran, 0)), 6);
  const x = linearScale([0, ticks[ticks.length - 1]!], [plot.left, plot.right]);

  const parts: string[] = [horizontalAxis(x, ticks, plot, formatCompact, true)];
  const ranRows: string[] = [];
  const notRunRows: string[] = [];
  baselines.forEach((baseline, i) => {
    const top = plot.top + i * ROW_HEIGHT;
    const middle = top + ROW_HEIGHT / 2;
    const name = label(plot.left - 10, middle + 4, names[i]!, { 'text-anchor': 'end', fill: INK, 'font-weight': baseline.name === 'ringtable' ? 'bold' : undefined });
    let body: string;
    if (!baseline.ran) {
      const note = `not run${baseline.note ? `: ${baseline.note}` : ''}`;
      const shown = shorten(note, NOTE_CHARS_MAX);
      body =
        tooltip(`${baseline.name}: ${note}`) +
        element('rect', { x: plot.left + 4, y: middle - 9, width: textWidth(shown) + 8, height: 18, fill: '#ffffff' }) +
        label(plot.left + 8, middle + 4, shown, { fill: INK_MUTED, 'font-style': 'italic', class: 'not-run' });
    } else {
      const perSec = Math.max(0, finiteOr(baseline.throughputPerSec, 0));
      const end = x(perSec);
      const summary = `${formatRate(perSec)} · ${formatRatio(baseline.ratioToRingtable)}`;
      body =
        tooltip(`${baseline.name}: ${summary}${baseline.description ? ` (${baseline.description})` : ''}`) +
        element('rect', { x: plot.left, y: top + 7, width: Math.max(0, end - plot.left), height: ROW_HEIGHT - 14, fill: baseline.name === 'ringtable' ? ACCENT : NEUTRAL, rx: 2, class: 'bar' }) +
        label(end + 8, middle + 4, summary, { fill: INK });
    }
    (baseline.ran ? ranRows : notRunRows).push(element('g', { class: 'baseline', 'data-baseline': baseline.name, 'data-ran': String(baseline.ran), 'data-row': String(i) }, name + body));
  });
  parts.push(...ranRows);
  // Above the bars, so the comparison stays visible; under the notes of baselines that did not run.
  if (reference !== undefined) {
    const rx = x(reference);
    parts.push(
      element(
        'g',
        { class: 'reference', 'data-throughput': String(reference) },
        element('line', { x1: rx, x2: rx, y1: plot.top - 4, y2: plot.bottom, stroke: ACCENT, 'stroke-width': 2, 'stroke-dasharray': '6 4' }) +
          label(rx, plot.bottom + 38, `ringtable run ${formatCompact(reference)}`, { 'text-anchor': 'middle', fill: ACCENT }),
      ),
    );
  }
  parts.push(...notRunRows);
  parts.push(axisTitle('operations / s', { ...plot, bottom: plot.bottom + (reference === undefined ? 0 : 18) }, 'bottom'));
  const height = plot.bottom + (reference === undefined ? 48 : 66);
  const description = `Throughput of ${baselines.length} baselines (${baselines.filter((b) => !b.ran).length} did not run), with each one's ratio to ringtable.`;
  return chartFrame({ chart: BASELINES_CHART, width: WIDTH, height, title, description, body: parts.join('') });
}
