/**
 * How long an idle storage node polls its request ring before it sleeps
 * (Atomics.wait), in time rather than in loop iterations.
 *
 * Why: sleeping costs a wake when the next request comes (the producer's
 * Atomics.notify and the kernel's futex wake: about 20 us per round trip at
 * the median, 29 us at p90, measured on the 2-vCPU machine with a sleeping
 * worker answering the main thread). Spinning costs a core for as long as it
 * lasts. Spin-then-block is 2-competitive when the spin lasts as long as one
 * wake costs (Karlin, Li, Manasse, Owicki, "Empirical studies of competitive
 * spinning for a shared-memory multiprocessor", SOSP 1991), so a spin longer
 * than that never pays. The previous budget counted iterations (up to
 * 100,000 Atomics.loads, which is a tenth of a millisecond to several
 * milliseconds depending on the JIT and the load), so four nodes polling a
 * store that served a request every millisecond kept their cores busy.
 *
 * Adaptive within that bound: a spin that caught work keeps the full budget
 * (the requests come in bursts: the next one is likely as close); each spin
 * that caught nothing halves it, down to no spin at all, so that a store
 * under sparse traffic sleeps at once and an idle store costs nothing.
 *
 * Pure: the caller reads the clock and polls the ring.
 */

/** The longest a node spins: about one wake round trip (above). */
export const SPIN_MS_MAX = 0.03;
/** Below this a spin is not worth the clock reads: sleep at once. */
export const SPIN_MS_MIN = 0.002;
/** Loop iterations between two clock reads while spinning (a clock read costs tens of Atomics.loads). */
export const SPIN_ITERATIONS_PER_CLOCK_READ = 32;

export class SpinBudget {
  /** 0 means: sleep at once. */
  private budgetMs = SPIN_MS_MAX;

  /** How long the next spin may last, in milliseconds (0: do not spin). */
  get nextSpinMs(): number {
    return this.budgetMs;
  }

  /** The spin that just ended found work (true) or ran out of budget (false). */
  spun(caughtWork: boolean): void {
    if (caughtWork) {
      this.budgetMs = SPIN_MS_MAX;
      return;
    }
    const halved = this.budgetMs / 2;
    this.budgetMs = halved < SPIN_MS_MIN ? 0 : halved;
  }

  /**
   * A sleep ended after `sleptMs` with work to do: work that came sooner than
   * a spin could have waited means spinning would have caught it, so spin again.
   */
  woke(sleptMs: number): void {
    if (sleptMs <= SPIN_MS_MAX) this.budgetMs = SPIN_MS_MAX;
  }
}

/**
 * Poll `hasData` for at most `budgetMs` of `nowMs()`: true once there is data.
 * The clock is read every SPIN_ITERATIONS_PER_CLOCK_READ polls.
 */
export function spinFor(budgetMs: number, hasData: () => boolean, nowMs: () => number): boolean {
  if (budgetMs <= 0) return hasData();
  const untilMs = nowMs() + budgetMs;
  for (;;) {
    for (let i = 0; i < SPIN_ITERATIONS_PER_CLOCK_READ; i++) if (hasData()) return true;
    if (nowMs() >= untilMs) return hasData();
  }
}
