/**
 * Scales map data values to chart pixels, and ticks pick the values an axis
 * labels. Pure functions: the charts decide the domains, these only do the
 * arithmetic. Every scale is built from a checked, non-degenerate domain, so
 * no coordinate comes out NaN or infinite.
 */
import assert from 'node:assert/strict';

export interface Scale {
  (value: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

function makeScale(toUnit: (value: number) => number, domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = [toUnit(domain[0]), toUnit(domain[1])];
  assert.ok(Number.isFinite(d0) && Number.isFinite(d1) && d0 !== d1, `degenerate scale domain ${domain.join('..')}`);
  assert.ok(Number.isFinite(range[0]) && Number.isFinite(range[1]), 'scale range must be finite');
  const scale = ((value: number) => range[0] + ((toUnit(value) - d0) / (d1 - d0)) * (range[1] - range[0])) as Scale;
  scale.domain = domain;
  scale.range = range;
  return scale;
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  return makeScale((v) => v, domain, range);
}

/** Logarithmic (base 10); the domain must be positive. Values at or below 0 clamp to the domain's low end. */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  assert.ok(domain[0] > 0 && domain[1] > 0, 'log scale needs a positive domain');
  return makeScale((v) => Math.log10(Math.max(v, domain[0])), domain, range);
}

/**
 * Percentiles on a "nines" axis, as HdrHistogram plots them: the distance
 * from 0 is -log10(1 - p/100), so 90, 99 and 99.9 are evenly spaced and the
 * tail that Dynamo judges latency by (p99.9, SOSP 2007 section 2.2) is not
 * squashed against 100%. `ninesMax` is the top of the axis (3 = p99.9); p100
 * and anything above the top is drawn at the top.
 */
export function percentileToNines(percentile: number, ninesMax: number): number {
  if (percentile >= 100) return ninesMax;
  return Math.min(ninesMax, -Math.log10(1 - Math.max(0, percentile) / 100));
}

export function ninesScale(ninesMax: number, range: [number, number]): Scale {
  assert.ok(ninesMax > 0, 'nines axis needs a positive top');
  return makeScale((p) => percentileToNines(p, ninesMax), [0, 100 * (1 - 10 ** -ninesMax)], range);
}

/**
 * Largest of `values`, or `empty` when there are none. A loop, not
 * Math.max(...values): spreading a long run's timeline (a day at one sample
 * a second) would overflow the call's argument limit.
 */
export function maxOf(values: Iterable<number>, empty: number): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max === -Infinity ? empty : max;
}

export function minOf(values: Iterable<number>, empty: number): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min === Infinity ? empty : min;
}

/**
 * A "nice" number near `value`: 1, 2 or 5 times a power of ten (Heckbert,
 * "Nice Numbers for Graph Labels", Graphics Gems, 1990). `round` picks the
 * nearest; otherwise the smallest nice number at or above `value`.
 */
export function niceNumber(value: number, round: boolean): number {
  assert.ok(value > 0 && Number.isFinite(value), `niceNumber of ${value}`);
  const exponent = Math.floor(Math.log10(value));
  const fraction = value / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

/** Ticks covering [0, max] or [min, max] with about `count` nice steps; the last tick is at or above max. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  assert.ok(Number.isFinite(min) && Number.isFinite(max), 'ticks need a finite domain');
  if (max <= min) max = min + 1;
  const step = niceNumber(niceNumber(max - min, false) / Math.max(1, count), true);
  const first = Math.floor(min / step) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  // Multiply rather than accumulate so 0.1 + 0.2 noise does not reach the labels.
  for (let i = 0; first + i * step <= last + step * 1e-9; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return ticks;
}

/** Ticks for a log axis over [lo, hi]: every decade, plus 2 and 5 when the span is short enough to label them. */
export function logTicks(lo: number, hi: number): { major: number[]; minor: number[] } {
  assert.ok(lo > 0 && hi > lo, `log ticks need 0 < lo < hi, got ${lo}..${hi}`);
  const first = Math.floor(Math.log10(lo) + 1e-9);
  const last = Math.ceil(Math.log10(hi) - 1e-9);
  const labelled = last - first <= 2 ? [1, 2, 5] : [1];
  const major: number[] = [];
  const minor: number[] = [];
  for (let e = first; e <= last; e++) {
    for (let m = 1; m <= 9; m++) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      (labelled.includes(m) ? major : minor).push(v);
    }
  }
  return { major, minor };
}

/**
 * A log domain around [min, max] (both positive) whose ends are 1, 2 or 5
 * times a power of ten: tight enough not to waste a decade on each side,
 * round enough to read. At least a factor of 10 wide, so one value still
 * gets an axis.
 */
export function logDomain(min: number, max: number): [number, number] {
  assert.ok(min > 0 && max >= min, `log domain of ${min}..${max}`);
  const steps = [1, 2, 5, 10];
  const below = (v: number) => {
    const decade = 10 ** Math.floor(Math.log10(v) + 1e-9);
    return decade * steps.filter((s) => s * decade <= v * (1 + 1e-9)).pop()!;
  };
  const above = (v: number) => {
    const decade = 10 ** Math.floor(Math.log10(v) + 1e-9);
    return decade * steps.find((s) => s * decade >= v * (1 - 1e-9))!;
  };
  let [lo, hi] = [below(min), above(max)];
  if (hi / lo < 10) [lo, hi] = [below(Math.sqrt((lo * hi) / 10)), above(Math.sqrt(lo * hi * 10))];
  return [Number(lo.toPrecision(12)), Number(hi.toPrecision(12))];
}
