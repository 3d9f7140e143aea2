/**
 * The quorum state machines are pure (style rule 1): replies go in, a status
 * and a decision come out. These tests drive them by hand, with a tiny fake
 * version type for reads so that nothing here depends on DVVSets.
 */
import { AssertionError } from 'node:assert';
import t from 'tap';
import { ReadQuorum, type VersionOps } from '../lib/quorum/read-quorum.js';
import { WriteQuorum, WriteQuorumTable } from '../lib/quorum/write-quorum.js';

// ---------------------------------------------------------------- write quorum

t.test('WriteQuorum succeeds at exactly W acknowledgements', async (t) => {
  const q = new WriteQuorum([10, 20, 30], 2);
  t.equal(q.status(), 'pending');
  t.equal(q.ack(20), 'pending', 'one ack of W=2');
  t.equal(q.answered, 1);
  t.equal(q.ack(10), 'succeeded', 'the second ack reaches W');
  t.equal(q.answered, 2);
  t.notOk(q.settled, 'one replica has not answered yet');
  t.notOk(q.allAcked);
  t.equal(q.ack(30), 'succeeded', 'a late ack keeps it succeeded');
  t.ok(q.settled);
  t.ok(q.allAcked, 'every replica acknowledged: the tombstone-purge condition');
});

t.test('WriteQuorum fails as soon as W is out of reach', async (t) => {
  const q = new WriteQuorum([1, 2, 3], 2);
  t.equal(q.fail(1), 'pending', 'two replicas left can still make W=2');
  t.equal(q.fail(3), 'failed', 'one replica left cannot make W=2');
  t.notOk(q.settled);
  t.equal(q.ack(2), 'failed', 'an ack after the quorum is lost does not revive it');
  t.ok(q.settled);
  t.notOk(q.allAcked);
  t.equal(q.answered, 1);

  const all = new WriteQuorum([1, 2, 3], 3);
  t.equal(all.ack(1), 'pending');
  t.equal(all.fail(2), 'failed', 'W=N fails on the first failure');

  const one = new WriteQuorum([1, 2, 3], 1);
  t.equal(one.fail(1), 'pending');
  t.equal(one.fail(2), 'pending');
  t.equal(one.ack(3), 'succeeded', 'W=1 needs only the last replica');
});

t.test('WriteQuorum: success is decided by acks even with failures afterwards', async (t) => {
  const q = new WriteQuorum([1, 2, 3], 2);
  q.ack(1);
  q.ack(2);
  t.equal(q.fail(3), 'succeeded');
  t.ok(q.settled);
  t.notOk(q.allAcked, 'a failed replica does not hold the write');
});

t.test('WriteQuorumTable: one row per batch item; a reset row starts again (a put retried with another coordinator)', async (t) => {
  const table = new WriteQuorumTable(3, 3);
  for (let item = 0; item < 3; item++) table.setRequired(item, 2);
  t.equal(table.ack(0, 0), 'pending');
  t.equal(table.ack(0, 2), 'succeeded');
  t.equal(table.fail(1, 0), 'pending');
  t.equal(table.fail(1, 1), 'failed', 'item 1: one replica left cannot make W=2');
  t.equal(table.status(2), 'pending', 'rows are independent');
  t.ok(table.settled(1) === false && table.hasAnswered(1, 1) && !table.hasAnswered(1, 2));
  table.reset(1);
  t.equal(table.status(1), 'pending', 'a reset row is pending again');
  t.notOk(table.hasAnswered(1, 0), 'and has no answers');
  t.equal(table.ack(1, 0), 'pending', 'position 0 may answer again: it is the new coordinator');
  t.equal(table.ack(1, 1), 'succeeded');
  t.equal(table.answered(1), 2);
  t.equal(table.status(0), 'succeeded', 'other rows untouched');
  t.throws(() => table.ack(1, 1), /answered twice/, 'still one answer per position');
});

t.test('WriteQuorum asserts on programmer errors', async (t) => {
  const q = new WriteQuorum([1, 2, 3], 2);
  t.throws(() => q.ack(4), AssertionError, 'ack from a node that was not asked');
  t.throws(() => q.fail(4), AssertionError, 'failure from a node that was not asked');
  q.ack(1);
  t.throws(() => q.ack(1), AssertionError, 'double ack');
  t.throws(() => q.fail(1), AssertionError, 'fail after ack');
  q.fail(2);
  t.throws(() => q.fail(2), AssertionError, 'double fail');
  t.throws(() => q.ack(2), AssertionError, 'ack after fail');
  t.equal(q.answered, 1, 'rejected answers changed nothing');
  t.equal(q.status(), 'pending');

  t.throws(() => new WriteQuorum([1, 2, 3], 0), AssertionError, 'W=0');
  t.throws(() => new WriteQuorum([1, 2, 3], 4), AssertionError, 'W > replicas');
});

// ---------------------------------------------------------------- read quorum

/** A version small enough to reason about: merge keeps the higher counter. */
interface FakeVersion {
  id: string;
  counter: number;
}

const fakeOps: VersionOps<FakeVersion> = {
  merge: (a, b) => (b.counter > a.counter ? b : a),
  equal: (a, b) => a.counter === b.counter,
};

function v(counter: number, id = `v${counter}`): FakeVersion {
  return { id, counter };
}

function repairedNodes(q: ReadQuorum<FakeVersion>): number[] {
  return q
    .repairs()
    .map((r) => r.node)
    .sort((a, b) => a - b);
}

t.test('ReadQuorum succeeds at R answers, counting "not found" as an answer', async (t) => {
  const q = new ReadQuorum([1, 2, 3], 2, fakeOps);
  t.equal(q.status(), 'pending');
  t.equal(q.reply(1, v(5)), 'pending');
  t.equal(q.answered, 1);
  t.equal(q.reply(3, undefined), 'succeeded', 'a replica without the key still answered');
  t.equal(q.answered, 2);
  t.notOk(q.settled);
  t.same(q.result(), v(5));
  t.equal(q.reply(2, v(7)), 'succeeded');
  t.ok(q.settled);
  t.same(q.result(), v(7), 'a late reply still joins the merge');
});

t.test('ReadQuorum fails when R is out of reach', async (t) => {
  const q = new ReadQuorum([1, 2, 3], 2, fakeOps);
  t.equal(q.fail(2), 'pending');
  t.equal(q.reply(1, v(1)), 'pending');
  t.equal(q.fail(3), 'failed', 'one answer, no replica left to make R=2');
  t.ok(q.settled);
  t.equal(q.answered, 1);

  const all = new ReadQuorum([1, 2, 3], 3, fakeOps);
  t.equal(all.fail(3), 'failed', 'R=N fails on the first failure');
});

t.test('ReadQuorum.result is the merge of every reply', async (t) => {
  const q = new ReadQuorum([1, 2, 3, 4], 4, fakeOps);
  t.equal(q.result(), undefined, 'nothing yet');
  q.reply(1, v(3));
  q.reply(2, v(9));
  q.reply(3, undefined);
  q.reply(4, v(4));
  t.same(q.result(), v(9));

  const none = new ReadQuorum([1, 2], 2, fakeOps);
  none.reply(1, undefined);
  none.reply(2, undefined);
  t.equal(none.status(), 'succeeded');
  t.equal(none.result(), undefined, 'every replica said not found');
  t.same(none.repairs(), [], 'nothing to repair when nobody holds the key');
  t.notOk(none.unanimous(), 'agreement on nothing is not a version to purge');
});

t.test('ReadQuorum.repairs lists exactly the stale and missing replicas, never failed ones', async (t) => {
  const q = new ReadQuorum([1, 2, 3, 4, 5], 2, fakeOps);
  q.reply(1, v(5, 'newest'));
  q.reply(2, v(3, 'stale'));
  q.reply(3, undefined); // missing
  q.fail(4); // failed: may be down, not repaired
  // 5 never answers: not repaired either
  t.same(repairedNodes(q), [2, 3]);
  for (const repair of q.repairs()) t.same(repair.version, v(5, 'newest'), `node ${repair.node} receives the merged version`);
  t.notOk(q.unanimous());

  const upToDate = new ReadQuorum([1, 2, 3], 3, fakeOps);
  upToDate.reply(1, v(2, 'a'));
  upToDate.reply(2, v(2, 'b')); // equal by counter: not stale
  upToDate.reply(3, v(2, 'c'));
  t.same(upToDate.repairs(), [], 'equal versions need no repair');
});

t.test('ReadQuorum.repairs of replicas that are each behind the merge', async (t) => {
  // A merge that is newer than every single reply (concurrent versions):
  // every replica is stale relative to it.
  const sumOps: VersionOps<FakeVersion> = {
    merge: (a, b) => ({ id: `${a.id}+${b.id}`, counter: a.counter + b.counter }),
    equal: (a, b) => a.counter === b.counter,
  };
  const q = new ReadQuorum([1, 2], 2, sumOps);
  q.reply(1, v(1, 'x'));
  q.reply(2, v(2, 'y'));
  t.same(q.result(), { id: 'x+y', counter: 3 });
  t.same(repairedNodes(q), [1, 2]);
  t.notOk(q.unanimous());
});

t.test('ReadQuorum.unanimous: every replica asked answered the same version', async (t) => {
  const q = new ReadQuorum([1, 2, 3], 2, fakeOps);
  q.reply(1, v(4));
  q.reply(2, v(4));
  t.equal(q.status(), 'succeeded');
  t.notOk(q.unanimous(), 'replica 3 has not answered');
  q.reply(3, v(4));
  t.ok(q.unanimous());

  const withFailure = new ReadQuorum([1, 2, 3], 2, fakeOps);
  withFailure.reply(1, v(4));
  withFailure.reply(2, v(4));
  withFailure.fail(3);
  t.ok(withFailure.settled);
  t.notOk(withFailure.unanimous(), 'a failed replica is not known to agree');

  const withMissing = new ReadQuorum([1, 2, 3], 3, fakeOps);
  withMissing.reply(1, v(4));
  withMissing.reply(2, v(4));
  withMissing.reply(3, undefined);
  t.notOk(withMissing.unanimous(), 'a replica without the key disagrees');
});

t.test('ReadQuorum asserts on programmer errors', async (t) => {
  const q = new ReadQuorum([1, 2, 3], 2, fakeOps);
  t.throws(() => q.reply(9, v(1)), AssertionError, 'reply from a node that was not asked');
  t.throws(() => q.fail(9), AssertionError, 'failure from a node that was not asked');
  q.reply(1, v(1));
  t.throws(() => q.reply(1, v(2)), AssertionError, 'double reply');
  t.throws(() => q.fail(1), AssertionError, 'fail after reply');
  q.fail(2);
  t.throws(() => q.reply(2, undefined), AssertionError, 'reply after fail');
  t.same(q.result(), v(1), 'the rejected double reply did not join the merge');
  t.equal(q.answered, 1);

  t.throws(() => new ReadQuorum([1, 2, 3], 0, fakeOps), AssertionError, 'R=0');
  t.throws(() => new ReadQuorum([1, 2, 3], 4, fakeOps), AssertionError, 'R > replicas');
});
