/**
 * Throughput over the run, one point per interval: completions and errors are
 * counted in the interval in which they ended (times are passed in, relative
 * to the start of the measured phase), and cluster health is sampled at the
 * interval's end. Pure: the driver owns the clock.
 */
import assert from 'node:assert/strict';
import type { TimelinePoint } from './bench-report.js';

/** A run longer than this many intervals is refused rather than grown without bound (a day of 1 s points). */
export const INTERVALS_MAX = 86_400;

export class IntervalTally {
  readonly intervalMs: number;
  private readonly completions: number[] = [];
  private readonly errors: number[] = [];
  private readonly nodesDown: number[] = [];
  private readonly hintsPending: number[] = [];

  constructor(intervalMs: number) {
    assert.ok(intervalMs > 0, 'intervalMs must be positive');
    this.intervalMs = intervalMs;
  }

  /** Interval i covers (i * intervalMs, (i + 1) * intervalMs]; time 0 belongs to the first. */
  private slot(atMs: number): number {
    const index = Math.max(0, Math.ceil(atMs / this.intervalMs) - 1);
    assert.ok(index < INTERVALS_MAX, `a run of more than ${INTERVALS_MAX} intervals`);
    while (this.completions.length <= index) {
      this.completions.push(0);
      this.errors.push(0);
      this.nodesDown.push(0);
      this.hintsPending.push(0);
    }
    return index;
  }

  /** One operation ended at `atMs` (failed or not: failures count in `errors` too). */
  record(atMs: number, failed: boolean): void {
    const index = this.slot(atMs);
    this.completions[index]!++;
    if (failed) this.errors[index]!++;
  }

  /** Health seen at `atMs`; the last sample in an interval wins. */
  sample(atMs: number, nodesDown: number, hintsPending: number): void {
    const index = this.slot(atMs);
    this.nodesDown[index] = nodesDown;
    this.hintsPending[index] = hintsPending;
  }

  /**
   * The timeline of a run that lasted `durationMs`: one point per interval,
   * each rate over the interval's own length. A last interval shorter than
   * half an interval (the tail of a run stopped by time, while the operations
   * in flight finish) joins the one before: a rate over a few milliseconds
   * says nothing.
   */
  points(durationMs: number): TimelinePoint[] {
    assert.ok(durationMs >= 0, 'durationMs must not be negative');
    assert.ok(this.completions.length <= Math.max(1, Math.ceil(durationMs / this.intervalMs)), 'no completion after the end of the run');
    let count = Math.ceil(durationMs / this.intervalMs);
    const tailMs = durationMs - (count - 1) * this.intervalMs;
    const mergeTail = count >= 2 && tailMs < this.intervalMs / 2;
    if (mergeTail) count--;
    const points: TimelinePoint[] = [];
    for (let i = 0; i < count; i++) {
      const last = i === count - 1;
      const startMs = i * this.intervalMs;
      const endMs = last ? durationMs : (i + 1) * this.intervalMs;
      const lengthMs = endMs - startMs;
      let completed = this.completions[i] ?? 0;
      let errors = this.errors[i] ?? 0;
      let sampled = i;
      if (last && mergeTail) {
        completed += this.completions[i + 1] ?? 0;
        errors += this.errors[i + 1] ?? 0;
        if (i + 1 < this.completions.length) sampled = i + 1;
      }
      points.push({
        atMs: endMs,
        opsPerSec: lengthMs > 0 ? (completed * 1000) / lengthMs : 0,
        errors,
        hintsPending: this.hintsPending[sampled] ?? 0,
        nodesDown: this.nodesDown[sampled] ?? 0,
      });
    }
    return points;
  }

  get total(): number {
    return this.completions.reduce((sum, n) => sum + n, 0);
  }
}
