/**
 * The report's colours: a restrained palette on a light background. One
 * colour per operation type, used by every chart and table that shows one, so
 * a reader learns them once.
 */
import type { OpKind } from '../ycsb/bench-report.js';

export const INK = '#1f2933';
export const INK_MUTED = '#616e7c';
export const GRID = '#e4e7eb';
export const AXIS = '#9aa5b1';
export const ACCENT = '#2f6690';
export const ERROR = '#c0392b';
export const WARNING = '#d9822b';
export const FAULT = '#7b4397';
export const NEUTRAL = '#9aa5b1';

export const OP_COLOURS: Record<OpKind, string> = {
  read: '#2f6690',
  update: '#d9822b',
  insert: '#3a7d44',
  scan: '#7b4397',
  readModifyWrite: '#b5485d',
};

export const OP_LABELS: Record<OpKind, string> = {
  read: 'read',
  update: 'update',
  insert: 'insert',
  scan: 'scan',
  readModifyWrite: 'read-modify-write',
};

/** Sequential ramp for heat, light to dark; interpolated in sRGB, which is close enough over stops this near. */
const HEAT_STOPS = ['#f4f6f8', '#cfe0ee', '#8fb8d8', '#4f87b8', '#24558a', '#0f2f57'];

function channel(hex: string, index: number): number {
  return parseInt(hex.slice(1 + index * 2, 3 + index * 2), 16);
}

/** Colour for an intensity in [0, 1] (clamped; non-finite reads as 0). */
export function heatColour(intensity: number): string {
  const t = Number.isFinite(intensity) ? Math.min(1, Math.max(0, intensity)) : 0;
  const position = t * (HEAT_STOPS.length - 1);
  const i = Math.min(HEAT_STOPS.length - 2, Math.floor(position));
  const f = position - i;
  const [a, b] = [HEAT_STOPS[i]!, HEAT_STOPS[i + 1]!];
  const mix = [0, 1, 2].map((c) => Math.round(channel(a, c) + (channel(b, c) - channel(a, c)) * f));
  return `#${mix.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The ramp's stops, for a legend gradient. */
export const HEAT_RAMP: readonly string[] = HEAT_STOPS;
