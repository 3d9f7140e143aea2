/**
 * uncommitted-keys.ts, pure: which leader-ordered keys a consistent read (or
 * a conditional write) may be served from the leader's copy, which must wait
 * for writes in flight, and which must first commit the leader's copy to W
 * replicas (a write that failed after it reached the leader).
 */
import t from 'tap';
import fc from 'fast-check';
import { TERM_SPAN } from '../lib/version/ordered-version.js';
import { COMMIT_WAITERS_MAX, type CommitWaiter, UncommittedKeys, keyBytesOf, keyIdOf, termVersionMax } from '../lib/store/uncommitted-keys.js';

function waiter(): CommitWaiter & { calls: number } {
  const w = { calls: 0, commitsSettled: () => void w.calls++ };
  return w;
}

const release = (waiters: CommitWaiter[]): void => waiters.forEach((w) => w.commitsSettled());

t.test('nothing tracked: every key and range is served', async (t) => {
  const keys = new UncommittedKeys();
  t.same(keys.gateKey(keyIdOf('a'), waiter()), { action: 'serve' });
  t.same(keys.gateRange(0, '', '\xff', waiter()), { action: 'serve' });
});

t.test('a key in flight holds its reads until its writes settle; committed, it is served and forgotten', async (t) => {
  const keys = new UncommittedKeys();
  const id = keyIdOf('k');
  keys.writeSent(id, 3);
  keys.writeSent(id, 3);
  const reader = waiter();
  t.same(keys.gateKey(id, reader), { action: 'wait', key: id });
  t.same(keys.gateKey(keyIdOf('other'), waiter()), { action: 'serve' }, 'another key is not held');
  release(keys.writeSettled(id, true, () => TERM_SPAN + 1));
  t.equal(reader.calls, 0, 'one write is still in flight');
  release(keys.writeSettled(id, true, () => TERM_SPAN + 2));
  t.equal(reader.calls, 1, 'released once the last settled');
  t.same(keys.gateKey(id, waiter()), { action: 'serve' });
  t.equal(keys.size, 0, 'nothing left tracked');
});

t.test('a write that failed after reaching its leader puts the key in doubt until a commit at least as great', async (t) => {
  const keys = new UncommittedKeys();
  const id = keyIdOf('k');
  keys.writeSent(id, 1);
  release(keys.writeSettled(id, false, () => 2 * TERM_SPAN + 5));
  t.equal(keys.doubtfulKeys, 1);
  t.same(keys.gateKey(id, waiter()), { action: 'commit', keys: [id] });
  release(keys.committed(id, 2 * TERM_SPAN + 4));
  t.same(keys.gateKey(id, waiter()), { action: 'commit', keys: [id] }, 'a lesser version committed (the write was lost in a failover): still in doubt');
  release(keys.committed(id, 2 * TERM_SPAN + 5));
  t.same(keys.gateKey(id, waiter()), { action: 'serve' });
  t.equal(keys.doubtfulKeys, 0);
  t.equal(keys.size, 0);
});

t.test('a failed write the leader surely did not apply leaves no doubt; a later committed write ends a doubt', async (t) => {
  const keys = new UncommittedKeys();
  const id = keyIdOf('k');
  keys.writeSent(id, 1);
  release(keys.writeSettled(id, false, () => 0));
  t.equal(keys.size, 0);
  keys.writeSent(id, 1);
  release(keys.writeSettled(id, false, () => termVersionMax(2)));
  t.equal(termVersionMax(2), 3 * TERM_SPAN - 1, "every version term 2's leader can mint");
  keys.writeSent(id, 1);
  release(keys.writeSettled(id, true, () => 3 * TERM_SPAN + 1));
  t.same(keys.gateKey(id, waiter()), { action: 'serve' }, "a write of a later term supersedes whatever term 2's leader held");
});

t.test('range reads: held by a key in flight within the range, commit the keys in doubt within it, ignore keys outside it', async (t) => {
  const keys = new UncommittedKeys();
  const [a, b, c] = ['a', 'b', 'c'].map(keyIdOf) as [string, string, string];
  keys.writeSent(a, 7);
  keys.writeSent(b, 7);
  keys.writeSent(c, 8);
  release(keys.writeSettled(a, false, () => 9));
  const reader = waiter();
  t.same(keys.gateRange(7, 'a', 'c', reader), { action: 'wait', key: b });
  t.same(keys.gateRange(7, 'c', 'd', waiter()), { action: 'serve' }, "c is another partition's");
  release(keys.writeSettled(b, false, () => 11));
  t.equal(reader.calls, 1);
  t.same(keys.gateRange(7, 'a', 'c', waiter()), { action: 'commit', keys: [a, b] });
  t.same(keys.gateRange(7, 'b', 'c', waiter()), { action: 'commit', keys: [b] }, 'the start is inclusive');
  t.same(keys.gateRange(7, 'a', 'b', waiter()), { action: 'commit', keys: [a] }, 'the end is exclusive');
});

t.test('a waiter whose deadline passed leaves; the bound on waiters is ERR_OVERLOADED', async (t) => {
  const keys = new UncommittedKeys();
  const id = keyIdOf('k');
  keys.writeSent(id, 0);
  const gone = waiter();
  keys.gateKey(id, gone);
  keys.removeWaiter(id, gone);
  for (let i = 1; i < COMMIT_WAITERS_MAX; i++) keys.gateKey(id, waiter());
  keys.gateKey(id, waiter());
  t.throws(() => keys.gateKey(id, waiter()), { code: 'ERR_OVERLOADED' });
  const released = keys.writeSettled(id, true, () => 1);
  t.equal(released.length, COMMIT_WAITERS_MAX);
  t.notOk(released.includes(gone), 'the one that left is not released');
});

t.test('ids keep the byte order of keys (range bounds compare as the bytes do) and turn back into the bytes', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ maxLength: 24 }), (x, y) => {
      const byBytes = Buffer.compare(Buffer.from(x), Buffer.from(y));
      const [ix, iy] = [keyIdOf(x), keyIdOf(y)];
      const byIds = ix < iy ? -1 : ix > iy ? 1 : 0;
      return byBytes === byIds && Buffer.from(keyBytesOf(ix)).equals(Buffer.from(x));
    }),
  );
  t.equal(keyIdOf('é'), keyIdOf(new Uint8Array(Buffer.from('é', 'utf8'))), 'a string key is its UTF-8 bytes');
});

t.test('property: a key is served exactly when nothing is in flight and no failed write exceeds what was committed since', async (t) => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('send' as const) }),
    fc.record({ kind: fc.constant('ok' as const), version: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ kind: fc.constant('fail' as const), version: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ kind: fc.constant('commit' as const), version: fc.integer({ min: 0, max: 50 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const keys = new UncommittedKeys();
      const id = keyIdOf('k');
      let inFlight = 0;
      let doubt = 0;
      for (const s of steps) {
        if (s.kind === 'send') {
          keys.writeSent(id, 0);
          inFlight++;
        } else if (s.kind === 'commit') {
          keys.committed(id, s.version);
          if (doubt > 0 && s.version >= doubt) doubt = 0;
        } else if (inFlight > 0) {
          keys.writeSettled(id, s.kind === 'ok', () => s.version);
          inFlight--;
          if (s.kind === 'ok' && doubt > 0 && s.version >= doubt) doubt = 0;
          if (s.kind === 'fail') doubt = Math.max(doubt, s.version);
        }
        const expected = inFlight > 0 ? 'wait' : doubt > 0 ? 'commit' : 'serve';
        const w = waiter();
        const gate = keys.gateKey(id, w);
        if (gate.action !== expected) return false;
        if (gate.action === 'wait') keys.removeWaiter(id, w);
      }
      return true;
    }),
  );
  t.pass('matches the model');
});

t.test('doubtfulIds: the keys in doubt with no write in flight, at most the limit asked', async (t) => {
  const keys = new UncommittedKeys();
  t.same(keys.doubtfulIds(10), [], 'nothing in doubt');
  for (const name of ['a', 'b', 'c']) {
    keys.writeSent(keyIdOf(name), 1);
    keys.writeSettled(keyIdOf(name), false, () => TERM_SPAN + 1);
  }
  keys.writeSent(keyIdOf('b'), 1); // b in doubt, and written again: its write decides
  keys.writeSent(keyIdOf('d'), 1); // d only in flight
  t.same(keys.doubtfulIds(10).sort(), [keyIdOf('a'), keyIdOf('c')].sort());
  t.equal(keys.doubtfulIds(1).length, 1, 'bounded by the limit');
  release(keys.committed(keyIdOf('a'), TERM_SPAN + 1));
  t.same(keys.doubtfulIds(10), [keyIdOf('c')], 'a committed key leaves');
});

t.test('writtenSince: a write sent after a read was sent, still in flight or failed, makes its answer unsafe; one settled committed does not', async (t) => {
  const keys = new UncommittedKeys();
  const [a, b, c] = ['a', 'b', 'c'].map(keyIdOf) as [string, string, string];
  const before = keys.writesSent;
  t.equal(keys.rangeWrittenSince(7, '', '\xff', before), false, 'nothing sent');
  keys.writeSent(b, 7);
  t.equal(keys.writesSent, before + 1, 'each write sent counts');
  t.equal(keys.keyWrittenSince(b, before), true, 'in flight: the leader may have applied it before the read');
  t.equal(keys.keyWrittenSince(a, before), false, 'another key');
  t.equal(keys.rangeWrittenSince(7, a, c, before), true, 'b is in [a, c)');
  t.equal(keys.rangeWrittenSince(7, c, '\xff', before), false, 'b is not in [c, end)');
  t.equal(keys.rangeWrittenSince(8, a, c, before), false, "another partition's range");
  t.equal(keys.rangeWrittenSince(7, a, c, keys.writesSent), false, 'a read sent after the write was sent');
  release(keys.writeSettled(b, false, () => TERM_SPAN + 2));
  t.equal(keys.rangeWrittenSince(7, a, c, before), true, 'failed, in doubt: still unsafe');
  release(keys.committed(b, TERM_SPAN + 2));
  t.equal(keys.rangeWrittenSince(7, a, c, before), false, 'committed: forgotten, safe to show');
  keys.writeSent(a, 7);
  release(keys.writeSettled(a, true, () => TERM_SPAN + 3));
  t.equal(keys.keyWrittenSince(a, before), false, 'settled committed with no doubt: safe to show');
});

t.test('writtenSince: a key whose doubt a commit could not end, written again in the same term, is unsafe again', async (t) => {
  const keys = new UncommittedKeys();
  const a = keyIdOf('a');
  keys.writeSent(a, 1);
  release(keys.writeSettled(a, false, () => termVersionMax(1))); // the leader never answered: every version of term 1
  const since = keys.writesSent;
  release(keys.committed(a, TERM_SPAN + 1)); // a lesser version: the doubt stays
  t.same(keys.gateKey(a, waiter()), { action: 'commit', keys: [a] }, 'still in doubt');
  t.equal(keys.keyWrittenSince(a, since), false, 'no write since the commit began: its committed copy may be served');
  keys.writeSent(a, 1);
  release(keys.writeSettled(a, false, () => TERM_SPAN + 5)); // no greater than the doubt: the doubt version does not move
  t.equal(keys.keyWrittenSince(a, since), true, 'written since: commit again');
});

t.test('recordsInDoubt: a failed write’s records are in doubt with its key, and a gate on either commits both', async (t) => {
  const keys = new UncommittedKeys();
  const [item, record, other] = ['item', 'log#item#0001', 'log#other'].map(keyIdOf) as [string, string, string];
  keys.writeSent(item, 3);
  release(keys.writeSettled(item, false, () => TERM_SPAN + 4));
  keys.recordsInDoubt(item, 3, [{ id: record, version: TERM_SPAN + 4 }]);
  t.equal(keys.doubtfulKeys, 2, 'the item and its record');
  t.same(keys.gateKey(item, waiter()), { action: 'commit', keys: [item, record] }, 'the item with its record: never one committed without the other');
  t.same(keys.gateRange(3, keyIdOf('log#'), keyIdOf('log$'), waiter()), { action: 'commit', keys: [record, item] }, 'a range read of the log commits the item too');
  t.same(keys.gateRange(3, keyIdOf('log#o'), keyIdOf('log$'), waiter()), { action: 'serve' }, 'a range without the record');
  t.same(keys.doubtfulIds(10).sort(), [item, record].sort(), 'both drained');
  keys.writeSent(item, 3);
  const w = waiter();
  t.same(keys.gateRange(3, keyIdOf('log#'), keyIdOf('log$'), w), { action: 'wait', key: item }, 'the item written again: the record waits for it');
  release(keys.writeSettled(item, true, () => TERM_SPAN + 9));
  t.equal(w.calls, 1, 'released when the write settles');
  t.same(keys.gateRange(3, keyIdOf('log#'), keyIdOf('log$'), waiter()), { action: 'commit', keys: [record] }, 'the item committed by its later write: the record alone is left');
  release(keys.committed(record, TERM_SPAN + 4));
  t.equal(keys.size, 0, 'nothing tracked once both are committed');
  keys.recordsInDoubt(other, 3, [{ id: record, version: 1 }]);
  t.equal(keys.size, 0, 'records of a key not in doubt are not tracked');
});

t.test('writtenAfter: a held answer waits only for the writes sent after its read, and commits only those in doubt', async (t) => {
  const keys = new UncommittedKeys();
  const [a, b] = ['a', 'b'].map(keyIdOf) as [string, string];
  keys.writeSent(a, 2);
  release(keys.writeSettled(a, false, () => TERM_SPAN + 1)); // a in doubt before the read
  const since = keys.writesSent;
  t.same(keys.gateRange(2, a, '\xff', waiter(), since), { action: 'serve' }, 'a was in doubt before the read: the gate that sent it dealt with a');
  keys.writeSent(b, 2);
  const w = waiter();
  t.same(keys.gateRange(2, a, '\xff', w, since), { action: 'wait', key: b }, 'b was sent after the read and is in flight: wait');
  release(keys.writeSettled(b, false, () => TERM_SPAN + 2));
  t.equal(w.calls, 1, 'released when b settles');
  t.same(keys.gateRange(2, a, '\xff', waiter(), since), { action: 'commit', keys: [b] }, 'b failed: commit it, not a');
  t.same(keys.gateKey(a, waiter(), since), { action: 'serve' }, 'the same for one key');
  t.same(keys.gateKey(b, waiter(), since), { action: 'commit', keys: [b] });
  t.same(keys.gateRange(2, a, '\xff', waiter()), { action: 'commit', keys: [a, b] }, 'without writtenAfter: every key in doubt');
});
