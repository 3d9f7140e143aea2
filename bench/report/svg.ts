/**
 * Building blocks for the report's inline SVG charts: elements with escaped
 * attributes, coordinates checked to be finite, axes with gridlines, legends,
 * and the chart frame with its accessible title. Charts are strings: the page
 * needs no script to show them.
 */
import assert from 'node:assert/strict';
import { escapeText } from './escape.js';
import { AXIS, GRID, INK, INK_MUTED } from './palette.js';
import type { Scale } from './scale.js';

export const FONT_SIZE = 12;

/** A coordinate or length for an attribute: finite (asserted), one decimal. */
export function coord(value: number): string {
  assert.ok(Number.isFinite(value), `non-finite SVG coordinate ${value}`);
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

export type AttributeValue = string | number | undefined;

/** Attributes as text; numbers go through `coord`, strings are escaped, undefined is left out. */
export function attributes(values: Record<string, AttributeValue>): string {
  let out = '';
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out += ` ${name}="${typeof value === 'number' ? coord(value) : escapeText(value)}"`;
  }
  return out;
}

/** An element; `children` is markup already built (escape text with `escapeText`). */
export function element(tag: string, values: Record<string, AttributeValue>, children?: string): string {
  return children === undefined ? `<${tag}${attributes(values)}/>` : `<${tag}${attributes(values)}>${children}</${tag}>`;
}

/** A tooltip for the element it is placed in: the browser shows SVG <title> on hover, no script needed. */
export function tooltip(content: string): string {
  return `<title>${escapeText(content)}</title>`;
}

export function label(x: number, y: number, content: string, values: Record<string, AttributeValue> = {}): string {
  return element('text', { x, y, ...values }, escapeText(content));
}

/** A white outline behind a label, so a line crossing it does not make it unreadable. */
export const HALO = { stroke: '#ffffff', 'stroke-width': 3, 'stroke-linejoin': 'round', 'paint-order': 'stroke' } as const;

/** Rough width of a label, for layout decisions (no font metrics without a browser): narrow, wide and other characters in em. */
export function textWidth(content: string, fontSize = FONT_SIZE): number {
  let em = 0;
  for (const c of content) em += /[ilj.,:;'|!() /\-]/.test(c) ? 0.3 : /[mwMW@%]/.test(c) ? 0.85 : /[A-Z]/.test(c) ? 0.68 : 0.58;
  return em * fontSize;
}

/** Points as a polyline path: "M x y L x y ...". */
export function linePath(points: Array<[number, number]>): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${coord(x)} ${coord(y)}`).join(' ');
}

/** A step path: each value holds from its x to the next point's x. */
export function stepPath(points: Array<[number, number]>): string {
  const parts: string[] = [];
  points.forEach(([x, y], i) => {
    if (i === 0) parts.push(`M${coord(x)} ${coord(y)}`);
    else parts.push(`H${coord(x)} V${coord(y)}`);
  });
  return parts.join(' ');
}

export interface Plot {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Horizontal gridlines and labels on the left (or right) edge of a plot. */
export function verticalAxis(scale: Scale, ticks: number[], plot: Plot, format: (v: number) => string, side: 'left' | 'right' = 'left', grid = true): string {
  const x = side === 'left' ? plot.left : plot.right;
  const parts: string[] = [];
  for (const tick of ticks) {
    const y = scale(tick);
    if (grid) parts.push(element('line', { x1: plot.left, x2: plot.right, y1: y, y2: y, stroke: GRID }));
    parts.push(label(side === 'left' ? x - 6 : x + 6, y + 4, format(tick), { 'text-anchor': side === 'left' ? 'end' : 'start', fill: INK_MUTED }));
  }
  return element('g', { class: `axis axis-${side}` }, parts.join(''));
}

/** The baseline and labelled ticks under a plot; labels are thinned so they never overlap. */
export function horizontalAxis(scale: Scale, ticks: number[], plot: Plot, format: (v: number) => string, grid = false): string {
  const parts: string[] = [element('line', { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom, stroke: AXIS })];
  let lastRight = -Infinity;
  for (const tick of ticks) {
    const x = scale(tick);
    const text = format(tick);
    const half = textWidth(text) / 2;
    if (grid) parts.push(element('line', { x1: x, x2: x, y1: plot.top, y2: plot.bottom, stroke: GRID }));
    parts.push(element('line', { x1: x, x2: x, y1: plot.bottom, y2: plot.bottom + 4, stroke: AXIS }));
    if (x - half < lastRight + 6) continue;
    parts.push(label(x, plot.bottom + 17, text, { 'text-anchor': 'middle', fill: INK_MUTED }));
    lastRight = x + half;
  }
  return element('g', { class: 'axis axis-bottom' }, parts.join(''));
}

/** An axis title: under the plot, or rotated beside it. */
export function axisTitle(content: string, plot: Plot, side: 'bottom' | 'left' | 'right'): string {
  if (side === 'bottom') return label((plot.left + plot.right) / 2, plot.bottom + 36, content, { 'text-anchor': 'middle', fill: INK, class: 'axis-title' });
  const x = side === 'left' ? plot.left - 52 : plot.right + 52;
  const y = (plot.top + plot.bottom) / 2;
  return label(x, y, content, { 'text-anchor': 'middle', fill: INK, class: 'axis-title', transform: `rotate(${side === 'left' ? -90 : 90} ${coord(x)} ${coord(y)})` });
}

export interface LegendItem {
  label: string;
  colour: string;
  /** 'line' for a series drawn as a line, 'box' for bars and areas, 'dash' for a marker line. */
  shape: 'line' | 'box' | 'dash';
}

/** Legend items in a row ending at `right` (right-aligned), at baseline `y`. */
export function legend(items: LegendItem[], right: number, y: number): string {
  const widths = items.map((item) => 22 + textWidth(item.label) + 16);
  let x = right - widths.reduce((a, b) => a + b, 0);
  const parts: string[] = [];
  items.forEach((item, i) => {
    if (item.shape === 'box') parts.push(element('rect', { x, y: y - 9, width: 14, height: 10, fill: item.colour, rx: 2 }));
    else parts.push(element('line', { x1: x, x2: x + 16, y1: y - 4, y2: y - 4, stroke: item.colour, 'stroke-width': 2.5, 'stroke-dasharray': item.shape === 'dash' ? '4 3' : undefined }));
    parts.push(label(x + 22, y, item.label, { fill: INK }));
    x += widths[i]!;
  });
  return element('g', { class: 'legend' }, parts.join(''));
}

export interface ChartFrame {
  /** The `data-chart` name; also prefixes the ids of the title and description. */
  chart: string;
  width: number;
  height: number;
  title: string;
  /** One sentence on what the chart shows, for screen readers and as the SVG <desc>. */
  description: string;
  body: string;
  /** Extra attributes on the <svg> (data-* for tests and tools). */
  data?: Record<string, AttributeValue>;
}

/**
 * The chart's <svg>: fixed user units in a viewBox so it scales to the page
 * width, labelled by its <title> and <desc> for assistive technology.
 */
export function chartFrame(frame: ChartFrame): string {
  const titleId = `${frame.chart}-title`;
  const descId = `${frame.chart}-desc`;
  const open = attributes({
    xmlns: 'http://www.w3.org/2000/svg',
    viewBox: `0 0 ${coord(frame.width)} ${coord(frame.height)}`,
    width: frame.width,
    height: frame.height,
    role: 'img',
    'aria-labelledby': `${titleId} ${descId}`,
    'data-chart': frame.chart,
    class: 'chart',
    'font-size': FONT_SIZE,
    ...frame.data,
  });
  return `<svg${open}><title id="${escapeText(titleId)}">${escapeText(frame.title)}</title><desc id="${escapeText(descId)}">${escapeText(frame.description)}</desc>${frame.body}</svg>`;
}

/** A chart with nothing to draw still takes its place, saying why, so the page's shape does not depend on the data. */
export function emptyChart(chart: string, title: string, message: string, width: number, height = 120): string {
  const body = element('rect', { x: 0.5, y: 0.5, width: width - 1, height: height - 1, fill: '#fafbfc', stroke: GRID, rx: 6 }) + label(width / 2, height / 2 + 4, message, { 'text-anchor': 'middle', fill: INK_MUTED });
  return chartFrame({ chart, width, height, title, description: message, body, data: { 'data-empty': 'true' } });
}
