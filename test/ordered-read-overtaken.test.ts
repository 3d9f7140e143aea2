/**
 * A consistent read overtaken by a write (lib/store/ordered-operation.ts,
 * OrderedReadOperation.onReply): the interleaving the simulation found at
 * seed 3188 of scenario ordered (on main at 78a370a), replayed deterministically
 * against a scripted coordinator (the OrderedHost) with the real
 * UncommittedKeys. The read passed the gate and went to the leader as a
 * RANGE; then an ORDERED_WRITE of a key in the range went to the same node;
 * the node applied the write first and answered the read with it; the
 * write's answer was lost (it failed: in doubt). Served, a crash of the
 * leader then took the key back ("consistent range read of rk0 invoked at
 * 41.24ms returned absent at version 0, older than what a consistent range
 * read answered at 33.55ms"). The answer must be held until that write is
 * committed to W replicas.
 */
import t from 'tap';
import { OrderedReadOperation, type OrderedHost } from '../lib/store/ordered-operation.js';
import { type CommitWaiter, UncommittedKeys, keyIdOf } from '../lib/store/uncommitted-keys.js';
import type { KeyCommitCallback } from '../lib/store/key-commit.js';
import type { LeaderWaiter } from '../lib/store/partition-leaders.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { Status, type WireKey, decodeRangePayload, encodeRangePayload } from '../lib/transport/wire.js';
import { TERM_SPAN } from '../lib/version/ordered-version.js';

const PARTITION = 5;
const LEADER = 1;
const TERM = 3;

/** A coordinator reduced to what the read asks: a ready leader, sends recorded, commits answered by the test. */
function scriptedHost() {
  const uncommitted = new UncommittedKeys();
  const sent: { op: number; reply: PendingReply }[] = [];
  const commits: { keyId: string; callback: KeyCommitCallback }[] = [];
  const host = {
    send: (_target: number, request: { op: number }, reply: PendingReply) => void sent.push({ op: request.op, reply }),
    sendRead: () => assert('no eventual read'),
    sendLeaderRead: () => assert('a range read only'),
    withLeader: (_partition: number, _list: Int32Array, waiter: LeaderWaiter) => waiter.leaderReady(LEADER, TERM),
    leaderRefused: () => undefined,
    stopWaiting: () => undefined,
    anyUpReplica: () => LEADER,
    isUp: () => true,
    wallClockMs: () => 0,
    orderedSettled: () => undefined,
    commitGate: (waiter: CommitWaiter, _kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, writtenAfter?: number) =>
      uncommitted.gateRange(partition, keyIdOf(key), keyIdOf(decodeRangePayload(payload!).end), waiter, writtenAfter),
    stopWaitingCommits: (keyId: string, waiter: CommitWaiter) => uncommitted.removeWaiter(keyId, waiter),
    commitKey: (keyId: string, _partition: number, _list: Int32Array, _leader: number, _term: number, callback: KeyCommitCallback) => void commits.push({ keyId, callback }),
    orderedWriteSent: () => assert('no write'),
    writesSent: () => uncommitted.writesSent,
    keyWrittenSince: (keyId: string, since: number) => uncommitted.keyWrittenSince(keyId, since),
    writtenSince: (_kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, since: number) =>
      uncommitted.rangeWrittenSince(partition, keyIdOf(key), keyIdOf(decodeRangePayload(payload!).end), since),
  };
  return { host: host as unknown as OrderedHost, uncommitted, sent, commits };
}

function assert(what: string): never {
  throw new Error(`unexpected call: ${what}`);
}

function rangeRead(host: OrderedHost, answers: { status: number; payload: Uint8Array | undefined }[]): OrderedReadOperation {
  const payload = encodeRangePayload(100, 1 << 20, false, new TextEncoder().encode('rk\xff'));
  return new OrderedReadOperation(host, 'range', 'rk', payload, PARTITION, new Int32Array([1, 2, 3]), true, Number.POSITIVE_INFINITY, (_error, status, bytes) => void answers.push({ status, payload: bytes }));
}

const answerBytes = new Uint8Array([7, 7, 7]); // the node's answer, as opaque bytes: the read hands them on unread
const reply = (r: PendingReply) => r.onReply(LEADER, Status.OK, answerBytes, new DataView(answerBytes.buffer), 0, answerBytes.byteLength, 0);

t.test('seed 3188: the write sent after the read was applied first and failed: the answer waits for it, then for its commit', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: { status: number; payload: Uint8Array | undefined }[] = [];
  rangeRead(host, answers).start();
  t.equal(sent.length, 1, 'the gate passed (nothing tracked): the RANGE went to the leader');
  const rk0 = keyIdOf('rk0');
  uncommitted.writeSent(rk0, PARTITION); // ORDERED_WRITE #54 of rk0, after RANGE #53
  reply(sent[0]!.reply); // the node applied the write first: the answer may show rk0
  t.same(answers, [], 'not answered while the write that may have overtaken it is in flight');
  for (const w of uncommitted.writeSettled(rk0, false, () => 3 * TERM_SPAN + 1)) w.commitsSettled(); // its answer was lost: in doubt
  t.same(answers, [], 'not answered while the write is in doubt');
  t.same(commits.map((c) => c.keyId), [rk0], "the leader's copy of rk0 is committed first");
  t.equal(sent.length, 1, 'and the range is not read again');
  for (const w of uncommitted.committed(rk0, 3 * TERM_SPAN + 1)) w.commitsSettled();
  commits[0]!.callback(undefined, Status.OK, new Uint8Array(0), 3 * TERM_SPAN + 1);
  t.same(answers, [{ status: Status.OK, payload: answerBytes }], 'then the answer read is given');
});

t.test('a write sent after the read that settled committed before the answer came: answered at once', async (t) => {
  const { host, uncommitted, sent, commits } = scriptedHost();
  const answers: { status: number; payload: Uint8Array | undefined }[] = [];
  rangeRead(host, answers).start();
  const rk0 = keyIdOf('rk0');
  uncommitted.writeSent(rk0, PARTITION);
  uncommitted.writeSettled(rk0, true, () => 3 * TERM_SPAN + 1);
  reply(sent[0]!.reply);
  t.same(answers, [{ status: Status.OK, payload: answerBytes }], 'what it may show is on W replicas');
  t.same(commits, [], 'nothing committed');
});

t.test('a write of a key outside the range, or sent before the read, does not hold the answer', async (t) => {
  const { host, uncommitted, sent } = scriptedHost();
  const answers: { status: number; payload: Uint8Array | undefined }[] = [];
  const other = keyIdOf('zz');
  uncommitted.writeSent(other, PARTITION);
  rangeRead(host, answers).start();
  uncommitted.writeSent(keyIdOf('other'), PARTITION + 1);
  reply(sent[0]!.reply);
  t.same(answers, [{ status: Status.OK, payload: answerBytes }]);
});
