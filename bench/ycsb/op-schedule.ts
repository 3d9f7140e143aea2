/**
 * When the next operation may start, and from when its latency counts: the
 * pure part of the driver (no clock of its own; the caller passes times in).
 *
 * Unthrottled (target 0), an operation starts as soon as one of the
 * `concurrency` slots is free, and its latency runs from that moment.
 *
 * With a target rate, operation i has a fixed intended start time,
 * startMs + i / target. It is launched at that time or, when every slot is
 * busy or the process was stalled, as soon as it can be; its latency still
 * runs from the intended start. A system that stalls for a second then owes
 * a second of latency to every operation that should have started during the
 * stall, instead of the one request that was in flight: this is the
 * correction for coordinated omission (Gil Tene, "How NOT to Measure
 * Latency"; YCSB's `-target` with intended-time measurement, Measurements
 * "Intended" series in CoreWorkload/DBWrapper).
 */
import assert from 'node:assert/strict';

export type Decision =
  /** Launch operation `index` now. */
  | { kind: 'launch'; index: number; intendedStartMs: number }
  /** Nothing is due yet: come back at `atMs`. */
  | { kind: 'wait'; atMs: number }
  /** Every slot is busy: come back when an operation completes. */
  | { kind: 'full' }
  /** No operation will be launched any more (count reached or time is up). */
  | { kind: 'done' };

export interface ScheduleLimits {
  /** Operations in the stream: no more than this many are launched. */
  operationCount: number;
  /** No operation is launched at or after startMs + durationMs (0: no time limit). */
  durationMs: number;
  /** Operations in flight at once. */
  concurrency: number;
  /** Operations per second; 0 launches as fast as slots free up. */
  targetPerSec: number;
}

export class OpSchedule {
  readonly startMs: number;
  private readonly limits: ScheduleLimits;
  private readonly intervalMs: number;
  private launched = 0;
  private inFlight = 0;
  /** Set once the next operation was found due at or after the time limit: nothing more will be launched. */
  private closed = false;

  constructor(startMs: number, limits: ScheduleLimits) {
    assert.ok(Number.isInteger(limits.operationCount) && limits.operationCount >= 0, 'operationCount is a count');
    assert.ok(Number.isInteger(limits.concurrency) && limits.concurrency >= 1, 'concurrency is at least 1');
    assert.ok(limits.targetPerSec >= 0 && limits.durationMs >= 0, 'target and duration are not negative');
    this.startMs = startMs;
    this.limits = limits;
    this.intervalMs = limits.targetPerSec > 0 ? 1000 / limits.targetPerSec : 0;
  }

  /** When operation `index` should start; only meaningful with a target rate. */
  intendedStartMs(index: number): number {
    return this.startMs + index * this.intervalMs;
  }

  get launchedCount(): number {
    return this.launched;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  /** True once nothing more will be launched and nothing is in flight. */
  isFinished(nowMs: number): boolean {
    return this.inFlight === 0 && this.nothingLeft(nowMs);
  }

  private nothingLeft(nowMs: number): boolean {
    if (this.closed || this.launched >= this.limits.operationCount) return true;
    return this.limits.durationMs > 0 && nowMs >= this.startMs + this.limits.durationMs;
  }

  /**
   * What to do at `nowMs`. A 'launch' counts the operation as launched and in
   * flight; call `completed()` when it ends.
   */
  next(nowMs: number): Decision {
    if (this.nothingLeft(nowMs)) return { kind: 'done' };
    if (this.inFlight >= this.limits.concurrency) return { kind: 'full' };
    const index = this.launched;
    let intendedStartMs = nowMs;
    if (this.intervalMs > 0) {
      intendedStartMs = this.intendedStartMs(index);
      if (intendedStartMs > nowMs) {
        // An operation due after the time limit is never launched.
        // The run is then over once what is in flight completes, before the time limit itself (isFinished): a
        // driver of synchronous operations has nothing else that would call it back (it hung there).
        if (this.limits.durationMs > 0 && intendedStartMs >= this.startMs + this.limits.durationMs) {
          this.closed = true;
          return { kind: 'done' };
        }
        return { kind: 'wait', atMs: intendedStartMs };
      }
    }
    this.launched++;
    this.inFlight++;
    return { kind: 'launch', index, intendedStartMs };
  }

  completed(): void {
    assert.ok(this.inFlight > 0, 'completed() without a launch in flight');
    this.inFlight--;
  }
}

/** Latency of one operation in whole microseconds, from its (intended) start to its end. */
export function latencyUs(intendedStartMs: number, endMs: number): number {
  return Math.max(0, Math.round((endMs - intendedStartMs) * 1000));
}

/**
 * `--target P%`: the rate that is P% of a measured peak, whole operations per
 * second and at least one (a rate of 0 would mean unthrottled).
 */
export function rateAtPercentOfPeak(percentOfPeak: number, peakPerSec: number): number {
  assert.ok(percentOfPeak > 0 && percentOfPeak <= 100, 'a share of the peak is in (0, 100]');
  assert.ok(Number.isFinite(peakPerSec) && peakPerSec >= 0, 'a peak is a rate');
  return Math.max(1, Math.round((peakPerSec * percentOfPeak) / 100));
}

/**
 * A peak pass that made less than this share of the unthrottled warm-up's
 * rate just before it was most likely held (a stall, the machine's other
 * load) rather than the store's capacity, and P% of it is not what the run
 * means to ask (bench/README.md "Session s15: the read tail": the peak moved
 * 43-141K ops/s between 5-s passes under load).
 */
export const PEAK_BELOW_WARMUP_SHARE = 0.5;

/**
 * A caution about `--target P%`'s peak, or undefined: when the peak pass ran
 * under PEAK_BELOW_WARMUP_SHARE of the warm-up's rate (both unthrottled, the
 * same stream, one after the other).
 */
export function peakCaution(peakPerSec: number, warmUpPerSec: number | undefined): string | undefined {
  if (warmUpPerSec === undefined || !(warmUpPerSec > 0)) return undefined;
  if (peakPerSec >= PEAK_BELOW_WARMUP_SHARE * warmUpPerSec) return undefined;
  return `the peak pass made ${Math.round(peakPerSec)} ops/s, under ${PEAK_BELOW_WARMUP_SHARE * 100}% of the unthrottled warm-up's ${Math.round(warmUpPerSec)} ops/s just before it: something held the store or the machine during the pass (a stall, other load), so the target derived from it is lower than P% of what the store sustains; run again`;
}
