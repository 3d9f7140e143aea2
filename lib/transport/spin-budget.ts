/**
 * How long a node thread spins for its next request before it sleeps in
 * Atomics.wait: a time, set from two things the thread measures, the gaps
 * between running out of requests and the next one arriving, and what its
 * wakes cost (from the producer's notify to the thread running again:
 * spsc-ring.ts waitForData, wire.ts NOTIFIED_AT). Pure: the caller passes both.
 *
 * The rule is the ski-rental one: spin at most as long as a wake costs (never
 * worse than twice the best choice made in hindsight), and only while the
 * gaps measured lately were that short; when they are longer, spinning cannot
 * pay for itself, so the budget decays to nothing and the thread sleeps at once.
 *
 * What a wake costs depends on the machine: 10 us at the median on a 2-vCPU
 * machine for a wait/notify ping-pong between two threads (the notify call most
 * of it). So it is measured, from the last WAKE_SAMPLES wakes. When more threads
 * are runnable than there are cores, a wake also waits for a core, a millisecond
 * and more; that part is no reason to spin longer, since a spinning thread then
 * holds the core its producer needs (measured: taking the median wake as the cost
 * let 12 node threads on 2 cores spin at the cap, and PING round trips fell to
 * 0.45x). So the cost is the wakes' lower quartile, what a wake costs when a core
 * is free, and SPIN_MS_CAP bounds it. Spinning costs the core for as long as it
 * spins (one empty ring check is about 8 ns of CPU): the former fixed budget of
 * 100,000 checks (about 0.8 ms) was spent on every gap it could catch.
 */
import assert from 'node:assert/strict';

/**
 * The most a thread ever spins, however costly its wakes: two quiet wakes. With
 * 0.1 ms, 12 node threads on 2 loaded cores spun up to it (their wakes' lower
 * quartile was above it) and spent 312 ns of CPU per PING round trip against
 * 215 ns with the former budget (in-process A/B, 10 rounds).
 */
export const SPIN_MS_CAP = 0.02;
/** Below this the budget is not worth a clock read: sleep at once. */
export const SPIN_MS_MIN = 0.001;
/** What a wake is taken to cost until one was measured: the quiet median above. */
export const WAKE_MS_INITIAL = 0.01;
/** Wakes whose lower quartile is the wake cost. */
export const WAKE_SAMPLES = 16;

export class SpinBudget {
  /** How long the next idle gap is spun for before sleeping; 0: sleep at once. */
  budgetMs = 0;
  /** The lower quartile of the last wakes measured, within [SPIN_MS_MIN, SPIN_MS_CAP]. */
  wakeCostMs = WAKE_MS_INITIAL;
  private readonly wakes: number[] = [];
  private nextWake = 0;
  private readonly sorted: number[] = [];

  /** A wake was measured: from the producer's notify to this thread running, in ms. */
  observeWake(wakeMs: number): void {
    assert.ok(wakeMs >= 0, 'a wake is measured forwards');
    if (this.wakes.length < WAKE_SAMPLES) this.wakes.push(wakeMs);
    else this.wakes[this.nextWake] = wakeMs;
    this.nextWake = (this.nextWake + 1) % WAKE_SAMPLES;
    // Sixteen numbers sorted per wake: cheap beside the wake itself.
    const sorted = this.sorted;
    sorted.length = 0;
    for (const wake of this.wakes) sorted.push(wake);
    sorted.sort((a, b) => a - b);
    const lowerQuartile = sorted[sorted.length >> 2]!;
    this.wakeCostMs = Math.min(SPIN_MS_CAP, Math.max(SPIN_MS_MIN, lowerQuartile));
    if (this.budgetMs > this.wakeCostMs) this.budgetMs = this.wakeCostMs;
  }

  /**
   * An idle gap ended: work arrived `gapMs` after the thread ran out (spun
   * for, or slept through: a slept gap includes the wake).
   */
  observe(gapMs: number): void {
    assert.ok(gapMs >= 0, 'a gap is measured forwards');
    const spinMsMax = this.wakeCostMs;
    if (gapMs <= spinMsMax) {
      // Short enough that spinning would catch it (or did): spin twice as long, for margin.
      this.budgetMs = Math.min(spinMsMax, Math.max(this.budgetMs, 2 * gapMs, SPIN_MS_MIN));
      return;
    }
    // A spin of any allowed length would have ended in a sleep anyway: spin less.
    const halved = this.budgetMs / 2;
    this.budgetMs = halved < SPIN_MS_MIN ? 0 : halved;
  }
}
