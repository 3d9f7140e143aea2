/**
 * CommitHold (lib/node/commit-hold.ts): a node holds its group commit while
 * the last write envelope said more follow (FOLLOWS), bounded in time and in
 * queued writes. Pure: the clock is passed in.
 */
import t from 'tap';
import fc from 'fast-check';
import { CommitHold, HOLD_MS_MAX, HOLD_WRITES_MAX } from '../lib/node/commit-hold.js';

t.test('holds while more follow, and not without FOLLOWS or without queued writes', async (t) => {
  const hold = new CommitHold();
  t.notOk(hold.holds(false, 10, 0), 'no FOLLOWS: commit now');
  t.notOk(hold.holds(true, 0, 0), 'nothing queued: nothing to hold');
  t.equal(hold.remainingMs(0), 0, 'no hold, no time left');
  t.ok(hold.holds(true, 10, 5), 'FOLLOWS with writes queued: hold');
  t.equal(hold.remainingMs(5), HOLD_MS_MAX, 'the hold starts at its first call');
  t.ok(hold.holds(true, 20, 50), 'still held within the bound');
  t.equal(hold.remainingMs(50), HOLD_MS_MAX - 45);
  t.notOk(hold.holds(false, 30, 60), 'the last envelope of the burst ends the hold');
  t.equal(hold.remainingMs(60), 0);
});

t.test('a hold never outlasts HOLD_MS_MAX nor HOLD_WRITES_MAX queued writes', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.record({ follows: fc.boolean(), queued: fc.integer({ min: 0, max: 2 * HOLD_WRITES_MAX }), stepMs: fc.integer({ min: 0, max: 60 }) }), { maxLength: 40 }), (steps) => {
      const hold = new CommitHold();
      let nowMs = 0;
      let heldSinceMs = NaN;
      for (const step of steps) {
        nowMs += step.stepMs;
        const held = hold.holds(step.follows, step.queued, nowMs);
        if (!held) {
          heldSinceMs = NaN;
          continue;
        }
        if (Number.isNaN(heldSinceMs)) heldSinceMs = nowMs;
        if (!step.follows || step.queued === 0 || step.queued >= HOLD_WRITES_MAX) return false;
        if (nowMs - heldSinceMs >= HOLD_MS_MAX) return false;
      }
      return true;
    }),
  );
  const hold = new CommitHold();
  t.ok(hold.holds(true, 1, 0));
  t.notOk(hold.holds(true, 1, HOLD_MS_MAX), 'at the bound the commit goes');
  t.ok(hold.holds(true, 1, HOLD_MS_MAX + 1), 'and a later burst holds anew');
  t.notOk(hold.holds(true, HOLD_WRITES_MAX, HOLD_MS_MAX + 2), 'too many writes queued: commit');
});
