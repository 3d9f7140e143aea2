/**
 * The idle node's spin budget (lib/transport/spin-budget.ts): bounded in time,
 * full while spinning catches work, down to no spin at all when it does not,
 * and back once a sleep turns out shorter than a spin. Pure: a virtual clock.
 */
import t from 'tap';
import { SPIN_ITERATIONS_PER_CLOCK_READ, SPIN_MS_MAX, SPIN_MS_MIN, SpinBudget, spinFor } from '../lib/transport/spin-budget.js';

t.test('a spin that catches work keeps the full budget; misses halve it down to none', async (t) => {
  const budget = new SpinBudget();
  t.equal(budget.nextSpinMs, SPIN_MS_MAX, 'a new node spins the full budget');
  budget.spun(true);
  t.equal(budget.nextSpinMs, SPIN_MS_MAX);
  const seen: number[] = [];
  for (let i = 0; i < 20 && budget.nextSpinMs > 0; i++) {
    budget.spun(false);
    seen.push(budget.nextSpinMs);
  }
  t.equal(budget.nextSpinMs, 0, 'enough misses and the node sleeps at once');
  for (let i = 1; i < seen.length; i++) t.ok(seen[i]! < seen[i - 1]!, 'each miss shortens the spin');
  for (const ms of seen) t.ok(ms === 0 || ms >= SPIN_MS_MIN, 'never a spin too short to be worth its clock reads');
  budget.spun(true);
  t.equal(budget.nextSpinMs, SPIN_MS_MAX, 'a hit restores it');
});

t.test('a sleep shorter than a spin brings the spin back; a long one does not', async (t) => {
  const budget = new SpinBudget();
  while (budget.nextSpinMs > 0) budget.spun(false);
  budget.woke(SPIN_MS_MAX * 10);
  t.equal(budget.nextSpinMs, 0, 'work that came long after: sleeping was right');
  budget.woke(SPIN_MS_MAX / 2);
  t.equal(budget.nextSpinMs, SPIN_MS_MAX, 'work that came within a spin: spin next time');
});

t.test('spinFor stops at its budget of the clock, or as soon as there is data', async (t) => {
  let clockMs = 0;
  let polls = 0;
  const tick = () => {
    clockMs += 0.001;
    return clockMs;
  };
  t.equal(
    spinFor(0.01, () => (polls++, false), tick),
    false,
    'no data: gives up',
  );
  t.ok(clockMs >= 0.01, 'not before its budget ran out');
  t.ok(polls <= SPIN_ITERATIONS_PER_CLOCK_READ * 12 + 1, `polls bounded by the clock reads (${polls})`);

  let arrivesAfter = 50;
  polls = 0;
  t.equal(spinFor(1, () => ++polls >= arrivesAfter, tick), true, 'data: caught');
  t.equal(polls, arrivesAfter, 'caught on the poll that saw it');

  polls = 0;
  arrivesAfter = 1;
  const before = clockMs;
  t.equal(spinFor(0, () => ++polls >= arrivesAfter, tick), true, 'a zero budget still looks once');
  t.equal(clockMs, before, 'and reads no clock');
});
