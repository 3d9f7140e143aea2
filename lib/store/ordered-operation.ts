/**
 * Leader-ordered requests in flight (lib/tables/DESIGN.md §3, §5): a write
 * through the partition's leader (OrderedWriteOperation: the leader checks
 * the compare-and-set and orders the write, its object then goes to the other
 * replicas, acknowledged at W with the leader among them), and a one-replica
 * read (OrderedReadOperation: a key or a key range, from the leader of the
 * current term when consistent, else from any up replica).
 *
 * Both wait for their partition's leader to catch up (partition-leaders.ts)
 * and are retried once when the leader refuses its term (it restarted, or was
 * deposed), which is safe: a refused request changed nothing.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { WriteQuorum } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import {
  type AlsoWrite,
  ExpectKind,
  type KeyedObject,
  Op,
  OrderedFlag,
  RequestFlag,
  Status,
  type RequestRecord,
  type WireKey,
  copyBytes,
  decodeKeyedObjects,
  encodeAlsoPayload,
  encodeOrderedValue,
  requestOf,
} from '../transport/wire.js';
import { decodeObject } from '../version/object-codec.js';
import { orderedEntryOf, versionText } from '../version/ordered-version.js';
import type { KeyCommitCallback } from './key-commit.js';
import { type Operation, nodeReason, quorumError } from './operation.js';
import type { LeaderWaiter } from './partition-leaders.js';
import { type CommitGate, type CommitWaiter, termVersionMax } from './uncommitted-keys.js';

/** What ordered operations need from the coordinator. */
export interface OrderedHost {
  send(target: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  /** A GET: read in place where read-path.ts allows it (readPath 'direct', answered before this returns), else sent. */
  sendRead(target: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  /** An ORDERED_GET to the partition's leader: read in place where its leadership allows it, else sent. */
  sendLeaderRead(leader: number, partition: number, term: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  /** Route to the partition's leader: `waiter` starts when it serves (at once, or after its catch-up), or fails. */
  withLeader(partition: number, list: Int32Array, waiter: LeaderWaiter): void;
  /** The node refused `term` (knowing `knownTerm`): elect again at the next request. */
  leaderRefused(partition: number, term: number, knownTerm: number): void;
  /** A waiter whose deadline passed leaves its partition's queue. */
  stopWaiting(partition: number, waiter: LeaderWaiter): void;
  /** Any up replica of the list, rotating (an eventual read). */
  anyUpReplica(list: Int32Array): number;
  isUp(node: number): boolean;
  wallClockMs(): number;
  orderedSettled(operation: OrderedWriteOperation | OrderedReadOperation): void;
  /**
   * May the leader's copy of `key` (kind 'get'), or of the range from `key`
   * (kind 'range', `payload` its RANGE fields), be served now, or must the
   * request wait for writes in flight, or commit keys in doubt first
   * (uncommitted-keys.ts)? Throws ERR_OVERLOADED past the waiters' bound.
   */
  commitGate(waiter: CommitWaiter, kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, writtenAfter?: number): CommitGate;
  /** Writes sent so far (uncommitted-keys.ts's writesSent). */
  writesSent(): number;
  /** Is the key (a gate's latin1 id) tracked with a write sent since `since`? */
  keyWrittenSince(keyId: string, since: number): boolean;
  /** Was a write of `key` (kind 'get'), or of a key of the range from `key`, sent since `since` and not settled committed? */
  writtenSince(kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, since: number): boolean;
  /** A waiter whose deadline passed leaves the queue of the key it waited on. */
  stopWaitingCommits(keyId: string, waiter: CommitWaiter): void;
  /** Commit the leader's copy of the key (a gate's latin1 id) to W replicas (key-commit.ts). */
  commitKey(keyId: string, partition: number, list: Int32Array, leader: number, term: number, callback: KeyCommitCallback): void;
  /** An ordered write is about to reach its leader for the first time: its keys are in flight (it sets `keyIds`). Throws ERR_OVERLOADED. */
  orderedWriteSent(operation: OrderedWriteOperation): void;
  /**
   * The leader refused an ordered write (a compare-and-set's conflict) and the write holds its verdict:
   * its keys are no longer in flight, as it applied nothing (it empties `keyIds`, so its settling does not count them again).
   */
  orderedWriteRefused(operation: OrderedWriteOperation): void;
}

/**
 * Run `gate`'s answer for a request served from the leader's copy: serve at
 * once, wait (remembering the key waited on), or commit the keys in doubt
 * and then ask the gate again, serving if only keys just committed are left
 * (a key whose doubt a commit could not end, its write lost in a failover,
 * stays in doubt; its committed copy is served). `committed` maps each key
 * this request committed to the count of writes sent when its commit began:
 * a key written since (in doubt again, maybe at a version no greater) is
 * committed again, not served (seed 3188 of scenario ordered's kind of race).
 */
function passGate(host: OrderedHost, request: GatedRequest, leader: number, term: number, committed: ReadonlyMap<string, number>): void {
  let gate: CommitGate;
  try {
    gate = request.gate();
  } catch (error) {
    return request.gateFailed(error as RingtableError);
  }
  if (gate.action === 'wait') {
    request.heldOn = gate.key;
    return;
  }
  const pending = gate.action === 'serve' ? NO_IDS : gate.keys.filter((key) => !committed.has(key) || host.keyWrittenSince(key, committed.get(key)!));
  if (pending.length === 0) return request.serve(leader, term);
  let left = pending.length;
  let failed = false;
  const done = new Map(committed);
  const since = host.writesSent();
  for (const key of pending) {
    host.commitKey(key, request.partition, request.list, leader, term, (error, status) => {
      if (failed) return;
      if (error !== undefined || request.expired) {
        failed = true;
        // A replica refused the term: nothing was served yet, so route again (once) to the leader of a new term.
        if (status === Status.STALE_TERM && !request.expired && request.routeAgain()) return;
        return request.gateFailed(error ?? quorumError('write', 'pending', 0, 1, 1, true));
      }
      done.set(key, since);
      if (--left === 0) passGate(host, request, leader, term, done);
    });
  }
}

interface GatedRequest {
  readonly partition: number;
  readonly list: Int32Array;
  readonly expired: boolean;
  heldOn: string | undefined;
  gate(): CommitGate;
  /** Route once more to the partition's leader (false: done once already). */
  routeAgain(): boolean;
  serve(leader: number, term: number): void;
  gateFailed(error: RingtableError): void;
}

const NO_KEYS: ReadonlyMap<string, number> = new Map();
const NO_IDS: readonly string[] = [];

/** A leader-ordered write as the coordinator sends it: one record. */
export interface OrderedWriteRequest {
  key: WireKey;
  partition: number;
  /** The msgpack value; empty for a delete. */
  value: Uint8Array;
  tombstone: boolean;
  expect: number;
  expectVersion: number;
  timestampMs: number;
  expiresAtMs: number;
  /** More keys written atomically with `key` (same token; wire.ts: OrderedFlag.ALSO); empty for a one-key write. */
  also: readonly AlsoWrite[];
}

export type OrderedWriteCallback = (error: RingtableError | undefined, objectBytes: Uint8Array | undefined) => void;

export class OrderedWriteOperation implements PendingReply, Operation, LeaderWaiter, CommitWaiter, GatedRequest {
  readonly request: OrderedWriteRequest;
  readonly list: Int32Array;
  /** The key waited on for writes in flight to settle (a conditional write), or undefined. */
  heldOn: string | undefined;
  /** The ids of its keys, registered in flight (uncommitted-keys.ts) when it was first sent; empty before. */
  keyIds: readonly string[] = NO_IDS;
  /** Sent to a leader that has not refused it: the leader may hold it (uncommitted-keys.ts's doubt). */
  private sentToLeader = false;
  readonly deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  quorum: WriteQuorum;
  objectBytes: Uint8Array | undefined;
  /** A multi-key write's other keys and their objects, as the leader made them. */
  alsoObjects: KeyedObject[] = [];
  /** The leader's answer to a multi-key write (every key's object), replicated as it is. */
  private keyedBytes: Uint8Array | undefined;
  private readonly host: OrderedHost;
  private readonly w: number;
  private callback: OrderedWriteCallback | undefined;
  private leader = -1;
  private term = 0;
  private retried = false;
  private waiting = true;
  private settled = false;
  private reason: string | undefined;
  /** Writes sent (OrderedHost.writesSent) when this write was first sent to a leader, itself counted. */
  private sentAfterWrites = 0;
  /**
   * A compare-and-set's conflict, held until the writes of its key sent after it (which the leader may
   * have applied first, so the verdict may rest on them) settle and those that failed are committed.
   */
  private heldConflict: RingtableError | undefined;

  constructor(host: OrderedHost, request: OrderedWriteRequest, list: Int32Array, w: number, deadlineMs: number, callback: OrderedWriteCallback) {
    this.host = host;
    this.request = request;
    this.list = list;
    this.w = w;
    this.quorum = new WriteQuorum(list, w);
    this.deadlineMs = deadlineMs;
    this.callback = callback;
  }

  start(): void {
    this.host.withLeader(this.request.partition, this.list, this);
  }

  get partition(): number {
    return this.request.partition;
  }

  get expired(): boolean {
    return this.callback === undefined;
  }

  leaderReady(leader: number, term: number): void {
    this.waiting = false;
    if (this.callback === undefined) return this.settle();
    // A condition is decided on the leader's copy: never on a write that may not be on W replicas (uncommitted-keys.ts).
    // A retry after a refusal passed the gate already (and is itself in flight now).
    if (this.request.expect !== ExpectKind.NONE && this.keyIds.length === 0) return passGate(this.host, this, leader, term, NO_KEYS);
    this.serve(leader, term);
  }

  gate(): CommitGate {
    if (this.heldConflict !== undefined) return this.host.commitGate(this, 'get', this.request.key, undefined, this.request.partition, this.sentAfterWrites);
    return this.host.commitGate(this, 'get', this.request.key, undefined, this.request.partition);
  }

  gateFailed(error: RingtableError): void {
    this.finish(error);
    this.settle();
  }

  routeAgain(): boolean {
    // A held verdict is of a deposed leader's term: the write failed (it applied nothing), not sent again.
    if (this.heldConflict !== undefined) return false;
    if (this.retried) return false;
    this.retried = true;
    this.waiting = true;
    this.host.withLeader(this.request.partition, this.list, this);
    return true;
  }

  commitsSettled(): void {
    this.heldOn = undefined;
    if (this.callback === undefined) return;
    if (this.heldConflict !== undefined) return passGate(this.host, this, this.leader, this.term, NO_KEYS);
    this.waiting = true;
    this.host.withLeader(this.request.partition, this.list, this);
  }

  serve(leader: number, term: number): void {
    if (this.heldConflict !== undefined) return this.gateFailed(this.heldConflict);
    if (this.keyIds.length === 0) {
      try {
        this.host.orderedWriteSent(this);
      } catch (error) {
        return this.gateFailed(error as RingtableError);
      }
      this.sentAfterWrites = this.host.writesSent();
    }
    this.leader = leader;
    this.term = term;
    this.sentToLeader = true;
    const q = this.request;
    const multi = q.also.length > 0;
    const payload = multi ? encodeAlsoPayload(q.value, q.also) : q.value;
    const value = encodeOrderedValue({ partition: q.partition, term, expect: q.expect, expectVersion: q.expectVersion, flags: multi ? OrderedFlag.ALSO : 0 }, payload);
    this.host.send(leader, { op: Op.ORDERED_WRITE, flags: q.tombstone ? RequestFlag.TOMBSTONE : 0, key: q.key, context: undefined, value, timestampMs: q.timestampMs, expiresAtMs: q.expiresAtMs }, this, 0);
  }

  leaderFailed(error: RingtableError): void {
    this.waiting = false;
    this.finish(error);
    this.settle();
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    if (nodeId === this.leader && this.objectBytes === undefined) return this.leaderAnswered(status, bytes, at, length);
    if (status === Status.OK) this.quorum.ack(nodeId);
    else {
      if (status === Status.STALE_TERM) this.host.leaderRefused(this.request.partition, this.term, knownTermOf(bytes, at, length));
      if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
      this.quorum.fail(nodeId);
    }
    this.progress();
  }

  private leaderAnswered(status: number, bytes: Uint8Array, at: number, length: number): void {
    // Refused or failed at the leader: it applied nothing.
    if (status !== Status.OK) this.sentToLeader = false;
    if (status === Status.OK) {
      const answer = copyBytes(bytes, at, at + length);
      if (this.request.also.length > 0) {
        const keyed = decodeKeyedObjects(answer);
        this.keyedBytes = answer;
        this.objectBytes = keyed.object;
        this.alsoObjects = keyed.also;
      } else this.objectBytes = answer;
      this.quorum.ack(this.leader);
      this.replicate();
      return this.progress();
    }
    if (status === Status.CONFLICT) {
      const current = length === 0 ? 'absent' : versionText(orderedEntryOf(decodeObject(copyBytes(bytes, at, at + length)))!.version);
      const conflict = new RingtableError(ErrorCode.CONFLICT, `the key's current version is ${current === 'absent' ? 'absent' : current}, not the one expected`, { current, answered: 0, required: this.w, contacted: 1 });
      // The leader may have applied a write of the key sent after this one first (the transport does not order
      // two requests to one node): the verdict then rests on a write that may not reach W replicas, and a
      // failover would take back what it showed (seed 9590 of scenario ordered: a blind write sent after a
      // compare-and-set overtook it, failed with ERR_QUORUM, and a crash of the leader took it back). As a
      // consistent read's answer is (OrderedReadOperation.onReply), the verdict is held until those writes
      // settle and the leader's copy of those that failed is committed, then given; not sent again.
      if (this.callback !== undefined && this.keyIds.length > 0 && this.host.keyWrittenSince(this.keyIds[0]!, this.sentAfterWrites)) {
        this.heldConflict = conflict;
        this.host.orderedWriteRefused(this);
        return passGate(this.host, this, this.leader, this.term, NO_KEYS);
      }
      this.finish(conflict);
      return this.settle();
    }
    if (status === Status.STALE_TERM) {
      this.host.leaderRefused(this.request.partition, this.term, knownTermOf(bytes, at, length));
      // Refused, so nothing was written: route again once, to the leader of a new term.
      if (!this.retried && this.callback !== undefined) {
        this.retried = true;
        this.waiting = true;
        this.quorum = new WriteQuorum(this.list, this.w);
        return this.host.withLeader(this.request.partition, this.list, this);
      }
    }
    if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
    this.failAll();
  }

  onNodeFailure(nodeId: number): void {
    // The leader failed before answering: the write may or may not be on it. Not retried (a
    // compare-and-set sent twice could fail on its own first attempt); the caller decides.
    if (nodeId === this.leader && this.objectBytes === undefined) return this.failAll();
    this.quorum.fail(nodeId);
    this.progress();
  }

  private failAll(): void {
    for (let i = 0; i < this.list.length; i++) if (!this.quorum.hasAnswered(this.list[i]!)) this.quorum.fail(this.list[i]!);
    this.progress();
  }

  private replicate(): void {
    const q = this.request;
    const multi = this.keyedBytes !== undefined;
    const value = encodeOrderedValue({ partition: q.partition, term: this.term, expect: ExpectKind.NONE, expectVersion: 0, flags: multi ? OrderedFlag.ALSO : 0 }, multi ? this.keyedBytes : this.objectBytes);
    for (let i = 0; i < this.list.length; i++) {
      const node = this.list[i]!;
      if (node !== this.leader) this.host.send(node, { op: Op.ORDERED_REPLICATE, flags: 0, key: q.key, context: undefined, value, timestampMs: q.timestampMs, expiresAtMs: 0 }, this, 0);
    }
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status !== 'pending') this.finish(status === 'succeeded' ? undefined : this.error(false));
    if (this.quorum.settled) this.settle();
  }

  private error(timedOut: boolean): RingtableError {
    const q = this.quorum;
    return quorumError('write', q.status(), q.answered, q.required, q.replicas.length, timedOut, this.reason);
  }

  private finish(error: RingtableError | undefined): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    callback(error, error === undefined ? this.objectBytes : undefined);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.host.orderedSettled(this);
  }

  /**
   * After a failure: the greatest version the leader may hold of this write
   * unconfirmed (0: it surely applied nothing). The leader's answer's version
   * if it answered, else every version its term can mint.
   */
  doubtVersion(): number {
    if (this.objectBytes !== undefined) return orderedEntryOf(decodeObject(this.objectBytes))!.version;
    return this.sentToLeader ? termVersionMax(this.term) : 0;
  }

  expire(): void {
    this.finish(this.error(true));
    if (this.heldOn !== undefined) {
      this.host.stopWaitingCommits(this.heldOn, this);
      this.heldOn = undefined;
      this.settle();
    }
    if (this.waiting) {
      this.host.stopWaiting(this.request.partition, this);
      this.waiting = false;
      this.settle();
    }
  }

  /** Every replica acknowledged (a delete's tombstone may then be purged). */
  get allAcked(): boolean {
    return this.quorum.allAcked && this.objectBytes !== undefined;
  }

  /** The leader's term this write was ordered in (the simulation's history reads it). */
  get orderedTerm(): number {
    return this.term;
  }
}

export type OrderedReadCallback = (error: RingtableError | undefined, status: number, payload: Uint8Array | undefined, replica: number) => void;

/** A read of one key (Op.GET / Op.ORDERED_GET) or one range (Op.RANGE) from one replica. */
export class OrderedReadOperation implements PendingReply, Operation, LeaderWaiter, CommitWaiter, GatedRequest {
  readonly deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  /** The key waited on for writes in flight to settle, or undefined. */
  heldOn: string | undefined;
  readonly partition: number;
  readonly list: Int32Array;
  private readonly host: OrderedHost;
  private readonly kind: 'get' | 'range';
  private readonly key: WireKey;
  private readonly consistent: boolean;
  /** RANGE's payload after the ordered fields. */
  private readonly payload: Uint8Array | undefined;
  private callback: OrderedReadCallback | undefined;
  private term = 0;
  private target = -1;
  private retried = false;
  private waiting = false;
  private settled = false;
  /** Writes sent (OrderedHost.writesSent) when this consistent read was sent to its leader. */
  private sentAfterWrites = 0;
  /** The leader's answer, held until the writes sent after the read (which may have overtaken it) settle or are committed. */
  private held: { status: number; payload: Uint8Array } | undefined;

  constructor(host: OrderedHost, kind: 'get' | 'range', key: WireKey, payload: Uint8Array | undefined, partition: number, list: Int32Array, consistent: boolean, deadlineMs: number, callback: OrderedReadCallback) {
    this.host = host;
    this.kind = kind;
    this.key = key;
    this.payload = payload;
    this.partition = partition;
    this.list = list;
    this.consistent = consistent;
    this.deadlineMs = deadlineMs;
    this.callback = callback;
  }

  start(): void {
    if (this.consistent) {
      this.waiting = true;
      return this.host.withLeader(this.partition, this.list, this);
    }
    this.sendTo(this.host.anyUpReplica(this.list), 0);
  }

  leaderReady(leader: number, term: number): void {
    this.waiting = false;
    if (this.callback === undefined) return this.settle();
    // Only what is on W replicas is served (uncommitted-keys.ts): Raft's "commit before serving".
    if (this.kind === 'get') return this.gateGet(leader, term);
    passGate(this.host, this, leader, term, NO_KEYS);
  }

  get expired(): boolean {
    return this.callback === undefined;
  }

  gate(): CommitGate {
    if (this.held !== undefined) return this.host.commitGate(this, this.kind, this.key, this.payload, this.partition, this.sentAfterWrites);
    return this.host.commitGate(this, this.kind, this.key, this.payload, this.partition);
  }

  /** A key in doubt is answered with exactly the copy committed, so nothing between the commit and the answer can differ. */
  private gateGet(leader: number, term: number): void {
    let gate: CommitGate;
    try {
      gate = this.gate();
    } catch (error) {
      return this.gateFailed(error as RingtableError);
    }
    if (gate.action === 'serve') return this.serve(leader, term);
    if (gate.action === 'wait') {
      this.heldOn = gate.key;
      return;
    }
    this.target = leader;
    this.term = term;
    // The key's companions (a failed write's records: UncommittedKeys.recordsInDoubt) are committed with it.
    let left = gate.keys.length;
    let failed = false;
    let answer: { status: number; objectBytes: Uint8Array | undefined } | undefined;
    gate.keys.forEach((key, i) => {
      this.host.commitKey(key, this.partition, this.list, leader, term, (error, status, objectBytes) => {
        if (failed) return;
        if (error !== undefined) {
          failed = true;
          if (status === Status.STALE_TERM && this.routeAgain()) return;
          return this.gateFailed(error);
        }
        if (i === 0) answer = { status, objectBytes };
        if (--left === 0) this.finish(undefined, answer!.status, answer!.status === Status.OK ? answer!.objectBytes : new Uint8Array(0));
      });
    });
  }

  serve(leader: number, term: number): void {
    if (this.held !== undefined) return this.finish(undefined, this.held.status, this.held.payload);
    this.sendTo(leader, term);
  }

  gateFailed(error: RingtableError): void {
    this.finish(error, Status.ERROR, undefined);
  }

  routeAgain(): boolean {
    // A held answer is of a deposed leader's term: read the new leader's instead.
    this.held = undefined;
    return this.retryOnce();
  }

  commitsSettled(): void {
    this.heldOn = undefined;
    if (this.callback === undefined) return;
    if (this.held !== undefined) return passGate(this.host, this, this.target, this.term, NO_KEYS);
    this.start();
  }

  private sendTo(target: number, term: number): void {
    this.target = target;
    this.term = term;
    if (term !== 0) this.sentAfterWrites = this.host.writesSent();
    const fields = { partition: this.partition, term, expect: ExpectKind.NONE, expectVersion: 0, flags: 0 };
    if (this.kind === 'range') return this.host.send(target, { op: Op.RANGE, flags: 0, key: this.key, context: undefined, value: encodeOrderedValue(fields, this.payload), timestampMs: this.host.wallClockMs(), expiresAtMs: 0 }, this, 0);
    // An eventual read is a plain GET of one replica's committed copy: read in place where a get of a plain key would be.
    if (term === 0) return this.host.sendRead(target, requestOf(Op.GET, this.key, undefined), this, 0);
    this.host.sendLeaderRead(target, this.partition, term, requestOf(Op.ORDERED_GET, this.key, encodeOrderedValue(fields, undefined)), this, 0);
  }

  leaderFailed(error: RingtableError): void {
    this.waiting = false;
    this.finish(error, Status.ERROR, undefined);
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    if (status === Status.OK || status === Status.NOT_FOUND) {
      const payload = copyBytes(bytes, at, at + length);
      // The leader may have applied a write sent after this read before it (seed 3188 of scenario ordered:
      // a RANGE and then an ORDERED_WRITE of a key in it, the write's answer lost): unless that write settled
      // committed, the answer may show what a failover takes back. So the answer is held while the writes sent
      // since settle, and those that failed are committed (the leader's copy, at least what the answer showed),
      // and then given. Not read again: under a steady write load a read again is overtaken again.
      if (this.term !== 0 && this.callback !== undefined && this.held === undefined && this.host.writtenSince(this.kind, this.key, this.payload, this.partition, this.sentAfterWrites)) {
        this.held = { status, payload };
        return passGate(this.host, this, this.target, this.term, NO_KEYS);
      }
      return this.finish(undefined, status, payload);
    }
    if (status === Status.STALE_TERM) {
      this.host.leaderRefused(this.partition, this.term, knownTermOf(bytes, at, length));
      if (this.retryOnce()) return;
    }
    const reason = status === Status.ERROR ? `; node ${this.target} said: ${nodeReason(bytes, at, length)}` : '';
    this.finish(quorumError('read', 'failed', 0, 1, 1, false, reason === '' ? undefined : reason), status, undefined);
  }

  onNodeFailure(): void {
    // Reads change nothing: ask again once, now that the failed node is routed around.
    if (this.retryOnce()) return;
    this.finish(quorumError('read', 'failed', 0, 1, 1, false), Status.ERROR, undefined);
  }

  private retryOnce(): boolean {
    if (this.retried || this.callback === undefined) return false;
    this.retried = true;
    this.start();
    return true;
  }

  private finish(error: RingtableError | undefined, status: number, payload: Uint8Array | undefined): void {
    const callback = this.callback;
    this.callback = undefined;
    if (callback !== undefined) callback(error, status, payload, this.target);
    this.settle();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.host.orderedSettled(this);
  }

  expire(): void {
    if (this.waiting) {
      this.host.stopWaiting(this.partition, this);
      this.waiting = false;
    }
    if (this.heldOn !== undefined) {
      this.host.stopWaitingCommits(this.heldOn, this);
      this.heldOn = undefined;
    }
    this.finish(quorumError('read', 'pending', 0, 1, 1, true), Status.ERROR, undefined);
  }
}

function knownTermOf(bytes: Uint8Array, at: number, length: number): number {
  return length === 8 ? new DataView(bytes.buffer, bytes.byteOffset + at, 8).getFloat64(0, true) : 0;
}
