/**
 * A compare-and-set overtaken by a write (lib/store/ordered-operation.ts,
 * OrderedWriteOperation.leaderAnswered): the interleaving the simulation found
 * at seed 9590 of scenario ordered (on main at b4e1418), replayed
 * deterministically against a scripted coordinator (the OrderedHost) with the
 * real UncommittedKeys. A compare-and-set of rk1 ("expect absent") passed the
 * gate and went to the leader; a blind write of rk1 went to the same node just
 * after it; the node applied the blind write first and refused the
 * compare-and-set with a conflict showing the blind write's version; the blind
 * write failed (ERR_QUORUM: on the leader alone). Given at once, the verdict
 * revealed a version that a crash of the leader then took back ("consistent
 * range read of rk1 invoked at 390.16ms returned absent at version 0, older
 * than what a compare-and-set's verdict answered at 285.47ms (a conflict at
 * version 50331654)"): a condition decided on uncommitted state. The verdict
 * must be held until that write settles and, failed, is committed to W
 * replicas.
 */
import t from 'tap';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { OrderedWriteOperation, type OrderedHost, type OrderedWriteRequest } from '../lib/store/ordered-operation.js';
import { type CommitWaiter, UncommittedKeys, keyIdOf } from '../lib/store/uncommitted-keys.js';
import type { KeyCommitCallback } from '../lib/store/key-commit.js';
import type { LeaderWaiter } from '../lib/store/partition-leaders.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { ExpectKind, Op, Status, type WireKey } from '../lib/transport/wire.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { TERM_SPAN, orderedObject } from '../lib/version/ordered-version.js';

const PARTITION = 5;
const LEADER = 1;
const TERM = 3;
const KEY = 'rk1';
const BLIND_VERSION = TERM * TERM_SPAN + 6; // the blind write's version, as the leader minted it

/** A coordinator reduced to what the write asks: a ready leader, sends recorded, commits answered by the test. */
function scriptedHost() {
  const uncommitted = new UncommittedKeys();
  const sent: { op: number; target: number; reply: PendingReply }[] = [];
  const commits: { keyId: string; callback: KeyCommitCallback }[] = [];
  let leaderRoutes = 0;
  const host = {
    send: (target: number, request: { op: number }, reply: PendingReply) => void sent.push({ op: request.op, target, reply }),
    sendRead: () => assert('no eventual read'),
    sendLeaderRead: () => assert('no read'),
    withLeader: (_partition: number, _list: Int32Array, waiter: LeaderWaiter) => {
      leaderRoutes++;
      waiter.leaderReady(LEADER, TERM);
    },
    leaderRefused: () => undefined,
    stopWaiting: () => undefined,
    anyUpReplica: () => LEADER,
    isUp: () => true,
    wallClockMs: () => 0,
    orderedSettled: () => undefined,
    commitGate: (waiter: CommitWaiter, _kind: 'get' | 'range', key: WireKey, _payload: Uint8Array | undefined, _partition: number, writtenAfter?: number) =>
      uncommitted.gateKey(keyIdOf(key), waiter, writtenAfter),
    stopWaitingCommits: (keyId: string, waiter: CommitWaiter) => uncommitted.removeWaiter(keyId, waiter),
    commitKey: (keyId: string, _partition: number, _list: Int32Array, _leader: number, _term: number, callback: KeyCommitCallback) => void commits.push({ keyId, callback }),
    // As the coordinator does (coordinator.ts: orderedWriteSent, orderedWriteRefused).
    orderedWriteSent: (operation: OrderedWriteOperation) => {
      const id = keyIdOf(operation.request.key);
      uncommitted.writeSent(id, PARTITION);
      operation.keyIds = [id];
    },
    orderedWriteRefused: (operation: OrderedWriteOperation) => {
      const ids = operation.keyIds;
      operation.keyIds = [];
      for (const id of ids) for (const w of uncommitted.writeSettled(id, false, () => 0)) w.commitsSettled();
    },
    writesSent: () => uncommitted.writesSent,
    keyWrittenSince: (keyId: string, since: number) => uncommitted.keyWrittenSince(keyId, since),
    writtenSince: () => assert('a write asks keyWrittenSince'),
  };
  return { host: host as unknown as OrderedHost, uncommitted, sent, commits, leaderRoutes: () => leaderRoutes };
}

function assert(what: string): never {
  throw new Error(`unexpected call: ${what}`);
}

const casRequest = (): OrderedWriteRequest => ({
  key: KEY,
  partition: PARTITION,
  value: new Uint8Array([0xa3, 0x6f, 0x37, 0x34]), // msgpack 'o74'
  tombstone: false,
  expect: ExpectKind.ABSENT,
  expectVersion: 0,
  timestampMs: 1,
  expiresAtMs: 0,
  also: [],
});

interface Answer {
  code: string | undefined;
  current: unknown;
}

function compareAndSet(host: OrderedHost, answers: Answer[]): OrderedWriteOperation {
  return new OrderedWriteOperation(host, casRequest(), new Int32Array([1, 2, 3]), 2, Number.POSITIVE_INFINITY, (error: RingtableError | undefined) =>
    void answers.push({ code: error?.code, current: (error?.details as { current?: unknown } | undefined)?.current }),
  );
}

/** The leader's CONFLICT: its copy of the key, the blind write's object. */
const conflictBytes = encodeObject(orderedObject(BLIND_VERSION, { value: new Uint8Array([0xa3, 0x6f, 0x37, 0x35]), timestampMs: 2, expiresAtMs: 0, tombstone: false }));
const conflict = (r: PendingReply) => r.onReply(LEADER, Status.CONFLICT, conflictBytes, new DataView(conflictBytes.buffer), 0, conflictBytes.byteLength, 0);

t.test('seed 9590: a blind write sent after the compare-and-set was applied first and failed: the conflict waits for it, then for its commit', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: Answer[] = [];
  compareAndSet(host, answers).start();
  t.same(sent.map((s) => s.op), [Op.ORDERED_WRITE], 'the gate passed (nothing tracked): the compare-and-set went to the leader');
  const rk1 = keyIdOf(KEY);
  uncommitted.writeSent(rk1, PARTITION); // the blind ORDERED_WRITE #399, after #397
  conflict(sent[0]!.reply); // the node applied the blind write first
  t.same(answers, [], 'the verdict is not given while the write it may rest on is in flight');
  for (const w of uncommitted.writeSettled(rk1, false, () => BLIND_VERSION)) w.commitsSettled(); // ERR_QUORUM: on the leader alone
  t.same(answers, [], 'nor while that write is in doubt');
  t.same(commits.map((c) => c.keyId), [rk1], "the leader's copy of rk1 is committed first");
  t.equal(sent.length, 1, 'and the compare-and-set is not sent again');
  for (const w of uncommitted.committed(rk1, BLIND_VERSION)) w.commitsSettled();
  commits[0]!.callback(undefined, Status.OK, conflictBytes, BLIND_VERSION);
  t.same(answers, [{ code: ErrorCode.CONFLICT, current: String(BLIND_VERSION) }], 'then the conflict is given, at the version now on W replicas');
  t.equal(uncommitted.size, 0, 'nothing is left tracked: the refused write applied nothing');
});

t.test('the commit of the overtaking write fails: the compare-and-set fails, its verdict never given', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: Answer[] = [];
  compareAndSet(host, answers).start();
  const rk1 = keyIdOf(KEY);
  uncommitted.writeSent(rk1, PARTITION);
  conflict(sent[0]!.reply);
  for (const w of uncommitted.writeSettled(rk1, false, () => BLIND_VERSION)) w.commitsSettled();
  t.same(commits.map((c) => c.keyId), [rk1], 'a commit began');
  commits[0]!.callback(new RingtableError(ErrorCode.QUORUM, 'one of two replicas answered'), Status.ERROR, undefined, 0);
  t.same(answers, [{ code: ErrorCode.QUORUM, current: undefined }], 'the commit failed: the write fails as a write would');
  t.equal(sent.length, 1, 'not sent again');
});

t.test('a deposed term while the verdict is held: the write fails and is not sent again', async (t) => {
  const { host, uncommitted, sent, commits, leaderRoutes } = scriptedHost();
  const answers: Answer[] = [];
  compareAndSet(host, answers).start();
  const rk1 = keyIdOf(KEY);
  uncommitted.writeSent(rk1, PARTITION);
  for (const w of uncommitted.writeSettled(rk1, false, () => BLIND_VERSION)) w.commitsSettled(); // settled in doubt before the verdict came
  conflict(sent[0]!.reply);
  t.same(commits.map((c) => c.keyId), [rk1], 'the write in doubt is committed before the verdict is given');
  const routes = leaderRoutes();
  commits[0]!.callback(new RingtableError(ErrorCode.QUORUM, 'a replica refused the term'), Status.STALE_TERM, undefined, 0);
  t.equal(answers.length, 1, 'answered once');
  t.not(answers[0]!.code, ErrorCode.CONFLICT, 'with a failure, not the conflict (the version it showed may be taken back)');
  t.equal(sent.length, 1, 'not sent again');
  t.equal(leaderRoutes(), routes, 'not routed again');
});

t.test('a write sent after the compare-and-set that settled committed before the verdict came: given at once', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: Answer[] = [];
  compareAndSet(host, answers).start();
  const rk1 = keyIdOf(KEY);
  uncommitted.writeSent(rk1, PARTITION);
  uncommitted.writeSettled(rk1, true, () => BLIND_VERSION);
  conflict(sent[0]!.reply);
  t.same(answers, [{ code: ErrorCode.CONFLICT, current: String(BLIND_VERSION) }], 'what it shows is on W replicas');
  t.same(commits, [], 'nothing committed');
});

t.test('no write of the key sent after it: the conflict is given at once', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: Answer[] = [];
  compareAndSet(host, answers).start();
  uncommitted.writeSent(keyIdOf('rk2'), PARTITION); // another key of the partition
  conflict(sent[0]!.reply);
  t.same(answers, [{ code: ErrorCode.CONFLICT, current: String(BLIND_VERSION) }]);
  t.same(commits, []);
});
