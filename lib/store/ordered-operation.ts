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
import { type Operation, nodeReason, quorumError } from './operation.js';
import type { LeaderWaiter } from './partition-leaders.js';

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
}

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

export class OrderedWriteOperation implements PendingReply, Operation, LeaderWaiter {
  readonly request: OrderedWriteRequest;
  readonly list: Int32Array;
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

  leaderReady(leader: number, term: number): void {
    this.waiting = false;
    if (this.callback === undefined) return this.settle();
    this.leader = leader;
    this.term = term;
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
      this.finish(new RingtableError(ErrorCode.CONFLICT, `the key's current version is ${current === 'absent' ? 'absent' : current}, not the one expected`, { current, answered: 0, required: this.w, contacted: 1 }));
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

  expire(): void {
    this.finish(this.error(true));
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
export class OrderedReadOperation implements PendingReply, Operation, LeaderWaiter {
  readonly deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  private readonly host: OrderedHost;
  private readonly kind: 'get' | 'range';
  private readonly key: WireKey;
  private readonly partition: number;
  private readonly list: Int32Array;
  private readonly consistent: boolean;
  /** RANGE's payload after the ordered fields. */
  private readonly payload: Uint8Array | undefined;
  private callback: OrderedReadCallback | undefined;
  private term = 0;
  private target = -1;
  private retried = false;
  private waiting = false;
  private settled = false;

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
    this.sendTo(leader, term);
  }

  private sendTo(target: number, term: number): void {
    this.target = target;
    this.term = term;
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
    if (status === Status.OK || status === Status.NOT_FOUND) return this.finish(undefined, status, copyBytes(bytes, at, at + length));
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
    this.finish(quorumError('read', 'pending', 0, 1, 1, true), Status.ERROR, undefined);
  }
}

function knownTermOf(bytes: Uint8Array, at: number, length: number): number {
  return length === 8 ? new DataView(bytes.buffer, bytes.byteOffset + at, 8).getFloat64(0, true) : 0;
}
