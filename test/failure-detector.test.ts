/**
 * The failure detector, pure: heartbeats judged on the coordinator's clock,
 * and no verdict right after the coordinator itself stalled.
 */
import t from 'tap';
import { FailureDetector } from '../lib/store/failure-detector.js';

t.test('a heartbeat that stops changing is silent after timeoutMs, and beats again when it changes', async (t) => {
  const detector = new FailureDetector(1000, 100);
  let now = 0;
  const round = (heartbeat: number) => {
    detector.beginRound(now);
    const state = detector.observe(7, heartbeat, now);
    now += 100;
    return state;
  };
  t.equal(round(1), 'beating', 'first sight');
  t.equal(round(2), 'beating');
  const states = Array.from({ length: 11 }, () => round(2));
  t.same(states.slice(0, 10), Array(10).fill('quiet'), 'quiet up to the timeout');
  t.equal(states[10], 'silent', 'silent past it');
  t.equal(round(3), 'beating', 'back when it changes');
});

t.test('after the coordinator stalls, it judges nothing and starts the clock again', async (t) => {
  const detector = new FailureDetector(1000, 100);
  t.ok(detector.beginRound(0));
  detector.observe(1, 5, 0);
  t.ok(detector.beginRound(100));
  t.equal(detector.observe(1, 5, 100), 'quiet');
  // The process was paused for 2.6 s: the node's heartbeat could not be seen to change.
  t.notOk(detector.beginRound(2700), 'a stall round is not judged');
  t.equal(detector.observe(1, 5, 2700), 'quiet', 'its clock restarts');
  const states: string[] = [];
  for (let now = 2800; now <= 3800; now += 100) {
    t.ok(detector.beginRound(now), `round at ${now} ms is judged`);
    states.push(detector.observe(1, 5, now));
  }
  t.same(states.slice(0, -1), Array(states.length - 1).fill('quiet'), 'quiet for timeoutMs after the stall');
  t.equal(states.at(-1), 'silent', 'silent once timeoutMs passed after the stall');
  detector.forget(1);
  t.ok(detector.beginRound(3900));
  t.equal(detector.observe(1, 5, 3900), 'beating', 'a forgotten node starts afresh');
});
