/**
 * `ringtable bench --fault`: parsing the plan, and reading a crash's dip and
 * recovery time from a timeline (pure).
 */
import t from 'tap';
import { crashImpacts, dueSteps, parseFaultPlan } from '../bench/ycsb/fault-plan.js';
import type { TimelinePoint } from '../bench/ycsb/bench-report.js';

t.test('parseFaultPlan', async (t) => {
  t.same(parseFaultPlan('restart:2@12s, crash:2@5s,pause:1@1500ms', 4), [
    { atMs: 1500, action: 'pause', node: 1 },
    { atMs: 5000, action: 'crash', node: 2 },
    { atMs: 12000, action: 'restart', node: 2 },
  ], 'steps sorted by time, seconds and milliseconds');
  t.throws(() => parseFaultPlan('explode:1@2s', 4), /unknown action/);
  t.throws(() => parseFaultPlan('crash:9@2s', 4), /node 9 does not exist/);
  t.throws(() => parseFaultPlan('crash:1', 4), /action:node@time/);
  t.throws(() => parseFaultPlan(' , ', 4), /no step/);
});

t.test('dueSteps runs each step once, in order', async (t) => {
  const steps = parseFaultPlan('crash:1@2s,restart:1@4s', 3);
  t.same(dueSteps(steps, 1000, 0), []);
  t.same(dueSteps(steps, 2000, 0).map((s) => s.action), ['crash']);
  t.same(dueSteps(steps, 9000, 1).map((s) => s.action), ['restart']);
  t.same(dueSteps(steps, 9000, 2), []);
});

const point = (atMs: number, opsPerSec: number): TimelinePoint => ({ atMs, opsPerSec, errors: 0, hintsPending: 0, nodesDown: 0 });

t.test('crashImpacts: the dip and the time back to 90% of the throughput before', async (t) => {
  const timeline = [point(1000, 100), point(2000, 100), point(3000, 40), point(4000, 60), point(5000, 95), point(6000, 100)];
  const [impact] = crashImpacts(timeline, [{ atMs: 2000, action: 'crash', node: 3 }]);
  t.equal(impact!.beforePerSec, 100);
  t.equal(impact!.lowestPerSec, 40);
  t.equal(impact!.dip, 0.6);
  t.equal(impact!.recoveryMs, 3000, 'back at 90% at the 5 s point, 3 s after the crash');
  const [never] = crashImpacts([point(1000, 100), point(2000, 30), point(3000, 50)], [{ atMs: 1000, action: 'crash', node: 0 }]);
  t.equal(never!.recoveryMs, undefined, 'not back before the end');
  const [flat] = crashImpacts([point(1000, 100), point(2000, 95)], [{ atMs: 1000, action: 'pause', node: 0 }]);
  t.equal(flat!.recoveryMs, 0, 'never below 90%');
  t.same(crashImpacts(timeline, [{ atMs: 2000, action: 'restart', node: 3 }]), [], 'a restart is not a failure');
});
