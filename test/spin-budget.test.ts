/**
 * The node thread's spin budget (transport/spin-budget.ts), pure: measured
 * gaps and wakes in, budget out. Property tests draw the measurements from
 * fast-check's seeded runs.
 */
import t from 'tap';
import fc from 'fast-check';
import { SPIN_MS_CAP, SPIN_MS_MIN, SpinBudget, WAKE_MS_INITIAL, WAKE_SAMPLES } from '../lib/transport/spin-budget.js';

const SEED = 0x5b1d_0015;
t.comment(`seed=${SEED}`);

/** Durations from nothing to far past any wake (up to 100 ms, the node's sleep slice). */
const durationMs = fc.oneof(fc.double({ min: 0, max: 2 * SPIN_MS_CAP, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }));
const measurement = fc.record({ wake: fc.boolean(), ms: durationMs });

t.test('the budget never exceeds what a wake costs, the wake cost stays within its bounds, and a budget is 0 or worth a clock read', async (t) => {
  fc.assert(
    fc.property(fc.array(measurement, { maxLength: 200 }), (measurements) => {
      const budget = new SpinBudget();
      for (const { wake, ms } of measurements) {
        if (wake) budget.observeWake(ms);
        else budget.observe(ms);
        if (budget.wakeCostMs < SPIN_MS_MIN || budget.wakeCostMs > SPIN_MS_CAP) return false;
        if (budget.budgetMs < 0 || budget.budgetMs > budget.wakeCostMs) return false;
        if (budget.budgetMs !== 0 && budget.budgetMs < SPIN_MS_MIN) return false;
      }
      return true;
    }),
    { seed: SEED, numRuns: 500 },
  );
  t.pass('bounded');
});

t.test('a gap short enough to catch by spinning is spun for next time, with margin', async (t) => {
  fc.assert(
    fc.property(fc.array(measurement, { maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (history, fraction) => {
      const budget = new SpinBudget();
      for (const { wake, ms } of history) {
        if (wake) budget.observeWake(ms);
        else budget.observe(ms);
      }
      const gap = fraction * budget.wakeCostMs;
      budget.observe(gap);
      return budget.budgetMs >= Math.min(budget.wakeCostMs, 2 * gap);
    }),
    { seed: SEED + 1, numRuns: 500 },
  );
  t.pass('short gaps are caught');
});

t.test('the wake cost is a wake with a free core: wakes that waited for a core (up to three in four) do not raise it', async (t) => {
  fc.assert(
    fc.property(
      fc.double({ min: SPIN_MS_MIN, max: SPIN_MS_CAP, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: (3 * WAKE_SAMPLES) / 4 - 1 }),
      (quickMs, delays) => {
        const budget = new SpinBudget();
        for (let i = 0; i < WAKE_SAMPLES - delays.length; i++) budget.observeWake(quickMs);
        for (const delay of delays) budget.observeWake(quickMs + delay);
        return budget.wakeCostMs === quickMs;
      },
    ),
    { seed: SEED + 2, numRuns: 300 },
  );
  t.pass('median');
});

t.test('an idle or sparsely used node sleeps at once; dense traffic makes it spin again', async (t) => {
  const budget = new SpinBudget();
  t.equal(budget.wakeCostMs, WAKE_MS_INITIAL, 'before any wake, the quiet measurement');
  budget.observe(WAKE_MS_INITIAL); // the longest gap still worth spinning for
  t.equal(budget.budgetMs, WAKE_MS_INITIAL);
  const budgets: number[] = [];
  for (let i = 0; i < 10; i++) {
    budget.observe(1); // a request a millisecond
    budgets.push(budget.budgetMs);
  }
  for (let i = 1; i < budgets.length; i++) t.ok(budgets[i]! <= budgets[i - 1]!, `never grows on long gaps (step ${i})`);
  t.equal(budget.budgetMs, 0, 'sleeps at once after a few long gaps');
  budget.observe(WAKE_MS_INITIAL / 4);
  t.equal(budget.budgetMs, WAKE_MS_INITIAL / 2, 'spins again once a gap is short');
});

t.test('costly wakes make longer spins worth it, up to the cap', async (t) => {
  const budget = new SpinBudget();
  for (let i = 0; i < WAKE_SAMPLES; i++) budget.observeWake(0.015);
  t.equal(budget.wakeCostMs, 0.015);
  budget.observe(0.012); // would have cost a 0.015 ms wake: spinning for it pays
  t.equal(budget.budgetMs, 0.015);
  for (let i = 0; i < WAKE_SAMPLES; i++) budget.observeWake(5);
  t.equal(budget.wakeCostMs, SPIN_MS_CAP, 'never spins longer than the cap');
  t.ok(budget.budgetMs <= SPIN_MS_CAP);
  for (let i = 0; i < WAKE_SAMPLES; i++) budget.observeWake(0.003);
  t.equal(budget.wakeCostMs, 0.003, 'cheap wakes again');
  t.equal(budget.budgetMs, 0.003, 'the budget follows the wake cost down');
});

t.test('measurements go forwards', async (t) => {
  t.throws(() => new SpinBudget().observe(-1));
  t.throws(() => new SpinBudget().observeWake(-1));
});
