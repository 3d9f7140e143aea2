/**
 * How figures read on the page. Pure and locale-fixed (en-US grouping), so a
 * report renders the same everywhere and tests can compare cells with the
 * formatter's output instead of hard-coding strings. A figure that is not a
 * finite number (JSON turns NaN into null) prints as a dash, never "NaN".
 */
export const MISSING = '–';

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The value when it is a finite number, else `fallback`: geometry never sees NaN. */
export function finiteOr(value: unknown, fallback: number): number {
  return isFiniteNumber(value) ? value : fallback;
}

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Whole count with thousands separators: 1,234,567. */
export function formatCount(value: unknown): string {
  return isFiniteNumber(value) ? grouping.format(Math.round(value)) : MISSING;
}

/** Operations per second, whole: "123,456 ops/s". */
export function formatRate(perSec: unknown): string {
  return isFiniteNumber(perSec) ? `${formatCount(perSec)} ops/s` : MISSING;
}

/** Three significant digits without exponent noise: 0.0123, 1.23, 12.3, 123. */
export function formatSignificant(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return String(Number(value.toFixed(digits)));
}

/** Short form for axis ticks and bar labels: 950, 1.2k, 15k, 1.5M, 2G. */
export function formatCompact(value: unknown): string {
  if (!isFiniteNumber(value)) return MISSING;
  const abs = Math.abs(value);
  for (const [scale, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (abs >= scale) return `${formatSignificant(value / scale)}${suffix}`;
  }
  return formatSignificant(value);
}

/** A latency given in microseconds, in the unit that reads best: 850 µs, 1.23 ms, 2.5 s. */
export function formatLatencyUs(us: unknown): string {
  if (!isFiniteNumber(us)) return MISSING;
  const abs = Math.abs(us);
  if (abs >= 1e6) return `${formatSignificant(us / 1e6)} s`;
  if (abs >= 1e3) return `${formatSignificant(us / 1e3)} ms`;
  return `${formatSignificant(us)} µs`;
}

/** A duration given in milliseconds: 850 ms, 12.5 s, 3.2 min. */
export function formatDurationMs(ms: unknown): string {
  if (!isFiniteNumber(ms)) return MISSING;
  const abs = Math.abs(ms);
  if (abs >= 120_000) return `${formatSignificant(ms / 60_000)} min`;
  if (abs >= 1000) return `${formatSignificant(ms / 1000)} s`;
  return `${formatSignificant(ms)} ms`;
}

/** A fraction 0..1 as a percentage with `digits` decimals (fixed, so columns align): 0.1234 -> "12.3%". */
export function formatPercent(fraction: unknown, digits = 1): string {
  if (!isFiniteNumber(fraction)) return MISSING;
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A share such as an operation mix: whole percent when it is one, else one decimal: 50%, 33.3%. */
export function formatShare(fraction: unknown): string {
  if (!isFiniteNumber(fraction)) return MISSING;
  return formatPercent(fraction, Number.isInteger(Math.round(fraction * 1e6) / 1e4) ? 0 : 1);
}

/** A ratio such as imbalance or throughput over ringtable's: "1.12×". */
export function formatRatio(ratio: unknown): string {
  return isFiniteNumber(ratio) ? `${ratio.toFixed(2)}×` : MISSING;
}

/** A percentile label for an axis or header: 50 -> "p50", 99.9 -> "p99.9". */
export function formatPercentileLabel(percentile: number): string {
  return `p${Number(percentile.toFixed(4))}`;
}
