/**
 * The coordinator of the simulation: the Store's routing (store.ts) over the
 * same pure modules and the same in-flight operations (operations.ts), with
 * the simulated network in place of the node links and the virtual clock in
 * place of Date.now, performance.now and timers. What it mirrors from Store,
 * each kept to the same rule:
 * - targetsOf: the key's preference list while its nodes are up; with some
 *   down, the up ones plus stand-ins that keep hints for the others (sloppy
 *   quorum, ring/replica-target.ts), or the list as it is (strict).
 * - coordinatorFirst, readTargets, readReplicas: called, not copied, from
 *   lib/store/routing.ts (a live target coordinates; reads use stand-ins only
 *   when fewer than R owners are up; R targets in rotation, live ones first).
 * - a put whose coordinator was lost before answering is retried once.
 * - readSettled: read repair of the replicas that answered stale, and a
 *   tombstone purge once all N own replicas were read holding the same tombstone.
 * - writeSettled: a tombstone purge once all N own replicas acknowledged the delete.
 * - markDown: requests waiting on a node marked down fail at once.
 * - deadlines: one tick scanning active operations, as armDeadlines does.
 * Node liveness is what a real coordinator can know: the run (simulation.ts)
 * marks a node down when its exit or its silent heartbeat would be noticed.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../../lib/errors.js';
import { hashKey32 } from '../../lib/ring/hash.js';
import { PreferenceListTable } from '../../lib/ring/preference-list.js';
import { hintFieldOfTarget, isHinted, nodeOfTarget, targetsFor } from '../../lib/ring/replica-target.js';
import { anyHinted, coordinatorFirst, readReplicas, readTargets } from '../../lib/store/routing.js';
import type { Ring } from '../../lib/ring/ring.js';
import { type GetResult, toGetResult } from '../../lib/store/get-result.js';
import { type Coordinator, type GetCallback, GetOperation, type Operation, type PutCallback, PutOperation, type PutRequest } from '../../lib/store/operations.js';
import type { PendingReply } from '../../lib/transport/node-link.js';
import {
  ENVELOPE_ITEMS_MAX,
  Op,
  Request,
  RequestFlag,
  Response,
  Status,
  type WireKey,
  encodeRequest,
  forEachEnvelopeItem,
  keyBytesOf,
  requestBytes,
  valueOffset,
} from '../../lib/transport/wire.js';
import { EnvelopeBatcher } from '../../lib/transport/write-envelope.js';
import { type CausalContext, type VersionedObject, siblingsOf } from '../../lib/version/dotted-version-vector.js';
import { encodeObject } from '../../lib/version/object-codec.js';
import type { EventQueue } from './event-queue.js';
import type { Trace } from './trace.js';

export interface CoordinatorConfig {
  n: number;
  /** Sloppy quorum with hinted handoff (Dynamo §4.6), or strict quorums. */
  sloppy: boolean;
  timeoutMs: number;
  readFanout: 'quorum' | 'all';
  tombstoneGraceMs: number;
  /** Wall clock at virtual time 0: timestamps are integers, as Date.now() gives. */
  wallClockOriginMs: number;
  /** Writes travel in write envelopes, as store.ts sends them (sendBatched), or each alone. */
  envelopes: boolean;
}

/**
 * The id the history knows an enveloped PUT by: its envelope's request id and
 * its index in it, negative so that it never meets a single request's id.
 */
export function envelopeItemId(requestId: number, index: number): number {
  return -(requestId * ENVELOPE_ITEMS_MAX + index) - 1;
}

const DEADLINE_TICK_MS_MAX = 100;
const PURGES_PENDING_MAX = 65_536;
const OPS = ['', 'GET', 'PUT', 'REPLICATE', 'PURGE', 'PING', 'HINTS', 'HINT_DELIVERED', 'PARTITION_SCAN', 'DROP_IF_COVERED', 'WRITE_BATCH'];
const STATUSES = ['OK', 'NOT_FOUND', 'ERROR', 'PARTIAL'];
/** A write envelope's own key: none (its items carry theirs). */
const NO_KEY = new Uint8Array(0);

interface PendingRequest {
  node: number;
  /** The node, or the node as a stand-in for another: what replies name. */
  target: number;
  op: number;
  reply: PendingReply;
  tag: number;
  deadlineMs: number;
}

export interface CoordinatorHooks {
  /** Frames leave through the simulated network. */
  transmit(node: number, frame: Uint8Array): void;
  /** A PUT request was sent: the oracle maps its request id to the client's write. */
  onPutSent(requestId: number, value: Uint8Array): void;
  /** A core assertion failed while handling an answer: a finding, not a simulation error. */
  onInvariant(error: unknown): void;
  /** Hints the nodes report holding for `owner` (store.ts hintsOwedTo): a purge waits while any are owed. */
  hintsOwedTo(owner: number): number;
}

export interface CoordinatorCounters {
  timeouts: number;
  readRepairs: number;
  purgesScheduled: number;
  purgesSent: number;
  purgesSkipped: number;
  staleAnswers: number;
  putRetries: number;
}

/** A reply for background work (handoff, repair): the callback learns the status, or undefined on failure. */
export class CallbackReply implements PendingReply {
  constructor(private readonly done: (status: number | undefined, payload: Uint8Array | undefined) => void) {}

  onReply(_nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    this.done(status, bytes.slice(at, at + length));
  }

  onNodeFailure(): void {
    this.done(undefined, undefined);
  }
}

export class SimCoordinator implements Coordinator {
  readonly config: CoordinatorConfig;
  private ringValue: Ring;
  private prefs: PreferenceListTable;
  /** Bumped at every ring change: a purge decided under an older ring is not sent. */
  ringVersion = 0;
  private readonly queue: EventQueue;
  private readonly trace: Trace;
  private readonly hooks: CoordinatorHooks;
  /** Nodes this coordinator has a link to. */
  private readonly linked = new Set<number>();
  /** Nodes it knows to be down (their worker exited). */
  private readonly down = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly active = new Set<Operation>();
  private readonly backgroundReply = new CallbackReply(() => {});
  /** As store.ts: the same packing policy, the end of a virtual instant for the end of a turn. */
  private readonly envelopes = new EnvelopeBatcher(
    (nodeId, flags, body, envelope) => this.send(nodeId, Op.WRITE_BATCH, flags, NO_KEY, undefined, body, 0, 0, envelope, 0),
    (flush) => this.queue.after(0, flush),
  );
  private nextRequestId = 1;
  private readRotation = 0;
  private lastTimestampMs = 0;
  private tickArmed = false;
  private purgesPending = 0;
  /** When an operation last started with a stand-in among its targets (sloppy quorum). */
  lastHintedRouteMs = -Infinity;
  /** False while a membership change is under way: its handoff could bring back what a purge removed. */
  purgesAllowed = true;
  readonly counters: CoordinatorCounters = { timeouts: 0, readRepairs: 0, purgesScheduled: 0, purgesSent: 0, purgesSkipped: 0, staleAnswers: 0, putRetries: 0 };

  constructor(config: CoordinatorConfig, ring: Ring, queue: EventQueue, trace: Trace, hooks: CoordinatorHooks) {
    this.config = config;
    this.ringValue = ring;
    this.prefs = new PreferenceListTable(ring, config.n);
    this.queue = queue;
    this.trace = trace;
    this.hooks = hooks;
    for (const node of ring.nodeIds()) this.linked.add(node);
  }

  get ring(): Ring {
    return this.ringValue;
  }

  setRing(ring: Ring): void {
    this.ringValue = ring;
    this.prefs = new PreferenceListTable(ring, this.config.n);
    this.ringVersion++;
  }

  /** store.ts targetsOf: the key's preference list, with stand-ins for down nodes under sloppy quorum. */
  targetsOf(key: WireKey): Int32Array {
    return targetsFor(this.prefs, hashKey32(key), this.isUpBound, this.config.sloppy);
  }

  /** The key's preference list in the current ring (own replicas only). */
  preferenceListOf(key: WireKey): Int32Array {
    return this.prefs.forHash(hashKey32(key));
  }

  private readonly isUpBound = (node: number): boolean => this.isUp(node);

  get nodeIds(): readonly number[] {
    return this.ringValue.nodeIds();
  }

  link(node: number): void {
    this.linked.add(node);
    this.down.delete(node);
  }

  unlink(node: number): void {
    this.linked.delete(node);
  }

  /** store.ts markDown: what waits on the node fails now, and its quorums move on. */
  markDown(node: number): void {
    if (this.down.has(node)) return;
    this.down.add(node);
    for (const [requestId, entry] of this.pending) {
      if (entry.node !== node) continue;
      this.pending.delete(requestId);
      try {
        entry.reply.onNodeFailure(entry.target, new Error(`storage node ${node} is down`), entry.tag);
      } catch (error) {
        this.hooks.onInvariant(error);
      }
    }
  }

  markUp(node: number): void {
    this.down.delete(node);
  }

  isUp(node: number): boolean {
    return this.linked.has(node) && !this.down.has(node);
  }

  get activeCount(): number {
    return this.active.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  // ---- the client's calls ---------------------------------------------------

  /** Returns the write's timestamp (last-writer-wins orders by it). */
  put(key: string, value: Uint8Array, context: CausalContext | undefined, tombstone: boolean, w: number, callback: PutCallback): number {
    const request: PutRequest = {
      key,
      flags: (tombstone ? RequestFlag.TOMBSTONE : 0) | (context === undefined ? RequestFlag.BLIND : 0),
      context,
      value,
      timestampMs: this.nowMs(),
      expiresAtMs: 0,
    };
    this.startPut(request, w, callback, this.monotonicMs() + this.config.timeoutMs, false);
    return request.timestampMs;
  }

  /** store.ts startPut, with its one retry when the coordinator was lost before answering. */
  private startPut(request: PutRequest, w: number, callback: PutCallback, deadlineMs: number, retried: boolean): void {
    const replicas = coordinatorFirst(this.targetsOf(request.key), this.isUpBound);
    this.noteRoute(replicas);
    const operation: PutOperation = new PutOperation(this, request, replicas, w, deadlineMs, (error, bytes, tag) => {
      operation.callerDone = true;
      if (error !== undefined && operation.coordinatorLost && !retried && this.monotonicMs() < deadlineMs && !this.isUp(nodeOfTarget(replicas[0]!))) {
        this.counters.putRetries++;
        if (this.trace.enabled) this.trace.log(`coordinator: put of ${request.key as string} retried (n${nodeOfTarget(replicas[0]!)} lost)`);
        this.startPut(request, w, callback, deadlineMs, true);
        return;
      }
      callback(error, bytes, tag);
    }, 0);
    this.track(operation);
    operation.start();
  }

  get(key: string, r: number, callback: GetCallback): void {
    // The store's routing itself (lib/store/routing.ts), over the current ring.
    const replicas = readReplicas(readTargets(this.prefs, hashKey32(key), r, this.config.sloppy, this.isUpBound), r, this.config.readFanout, this.readRotation++, this.isUpBound);
    this.noteRoute(replicas);
    const operation: GetOperation = new GetOperation(this, key, replicas, r, this.monotonicMs() + this.config.timeoutMs, (error, result, tag) => {
      operation.callerDone = true;
      callback(error, result, tag);
    }, 0);
    this.track(operation);
    operation.start();
  }

  /** A background request (handoff, repair); `done` gets the status, or undefined if it failed or timed out. */
  sendBackground(node: number, op: number, key: WireKey, value: Uint8Array | undefined, done: (status: number | undefined, payload: Uint8Array | undefined) => void): void {
    this.send(node, op, 0, key, undefined, value, 0, 0, new CallbackReply(done), 0);
  }

  private noteRoute(targets: ArrayLike<number>): void {
    if (anyHinted(targets)) this.lastHintedRouteMs = this.queue.nowMs;
  }

  // ---- Coordinator ------------------------------------------------------------

  /** `target` is a node, or a node standing in for another (ring/replica-target.ts). */
  /**
   * As store.ts sendBatched: with `envelopes`, writes to one node made at the
   * same virtual instant share a write envelope, sent when full or once the
   * events of that instant have run.
   */
  sendBatched(target: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void {
    const packable = this.config.envelopes && this.isUp(nodeOfTarget(target));
    if (!packable || !this.envelopes.add(target, op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag)) {
      this.send(target, op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag);
    }
  }

  send(target: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void {
    const nodeId = nodeOfTarget(target);
    if (!this.isUp(nodeId)) {
      // As store.ts send: requests never wait on a node marked down.
      reply.onNodeFailure(target, new Error(`storage node ${nodeId} is down`), tag);
      return;
    }
    const requestId = this.nextRequestId++;
    assert.ok(requestId < 2 ** 32, 'request ids exhausted');
    const keyBytes = keyBytesOf(key);
    const frame = Buffer.alloc(requestBytes(keyBytes, context?.length ?? 0, value?.byteLength ?? 0));
    encodeRequest(frame, new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 0, op, flags, requestId, key, keyBytes, context, value, timestampMs, expiresAtMs, hintFieldOfTarget(target));
    this.pending.set(requestId, { node: nodeId, target, op, reply, tag, deadlineMs: this.queue.nowMs + this.config.timeoutMs });
    if (op === Op.PUT) this.hooks.onPutSent(requestId, value!);
    if (this.trace.enabled) this.trace.log(`coord -> n${nodeId}${isHinted(target) ? ` (hint for n${hintFieldOfTarget(target) - 1})` : ''}  ${OPS[op]} #${requestId} key=${keyName(key)}${flags & RequestFlag.TOMBSTONE ? ' (delete)' : ''}${flags & RequestFlag.BLIND ? ' (blind)' : ''}`);
    if (op === Op.WRITE_BATCH) this.envelopeSent(nodeId, requestId, value!);
    this.hooks.transmit(nodeId, frame);
    this.armTick();
  }

  /** The history learns each enveloped PUT, and the trace shows every item. */
  private envelopeSent(nodeId: number, requestId: number, body: Uint8Array): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    forEachEnvelopeItem(view, 0, body.byteLength, true, (at, _length, index) => {
      const op = view.getUint8(at + Request.OP);
      const keyBytes = view.getUint32(at + Request.KEY_BYTES, true);
      const valueAt = at + valueOffset(keyBytes, view.getUint32(at + Request.CONTEXT_PAIRS, true));
      if (op === Op.PUT) this.hooks.onPutSent(envelopeItemId(requestId, index), body.subarray(valueAt, valueAt + view.getUint32(at + Request.VALUE_BYTES, true)));
      if (this.trace.enabled) {
        const hint = view.getUint16(at + Request.HINT_OWNER, true);
        const flags = view.getUint8(at + Request.FLAGS);
        const key = Buffer.from(body.subarray(at + Request.HEADER_BYTES, at + Request.HEADER_BYTES + keyBytes)).toString('latin1');
        this.trace.log(`    #${requestId}.${index} -> n${nodeId}${hint > 0 ? ` (hint for n${hint - 1})` : ''}  ${OPS[op]} key=${key}${flags & RequestFlag.TOMBSTONE ? ' (delete)' : ''}${flags & RequestFlag.BLIND ? ' (blind)' : ''}`);
      }
    });
  }

  /** A response frame arrived from `node`. */
  receive(node: number, frame: Uint8Array): void {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const requestId = view.getUint32(Response.REQUEST_ID, true);
    const status = view.getUint8(Response.STATUS);
    const payloadBytes = view.getUint32(Response.PAYLOAD_BYTES, true);
    assert.equal(Response.HEADER_BYTES + payloadBytes, frame.byteLength, `response ${requestId} length mismatch`);
    const entry = this.pending.get(requestId);
    if (entry === undefined || entry.node !== node) {
      // A duplicate, or an answer after its request timed out.
      this.counters.staleAnswers++;
      return;
    }
    // A PARTIAL answer leaves its request pending for the rest (write envelopes).
    if (status !== Status.PARTIAL) this.pending.delete(requestId);
    if (this.trace.enabled) this.trace.log(`n${node} -> coord  ${OPS[entry.op]} #${requestId} ${STATUSES[status] ?? status}`);
    try {
      entry.reply.onReply(entry.target, status, frame, view, Response.HEADER_BYTES, payloadBytes, entry.tag);
    } catch (error) {
      // NodeLink.dispatch fails that request alone; here it is also a finding.
      this.hooks.onInvariant(error);
      try {
        entry.reply.onNodeFailure(entry.target, error as Error, entry.tag);
      } catch (again) {
        this.hooks.onInvariant(again);
      }
    }
  }

  toResult(object: VersionedObject | undefined): GetResult | undefined {
    return toGetResult(object, this.wallClockMs(), undefined);
  }

  wallClockMs(): number {
    return this.config.wallClockOriginMs + Math.floor(this.queue.nowMs);
  }

  monotonicMs(): number {
    return this.queue.nowMs;
  }

  private nowMs(): number {
    // store.ts nowMs: timestamps never run backwards within a process.
    this.lastTimestampMs = Math.max(this.wallClockMs(), this.lastTimestampMs);
    return this.lastTimestampMs;
  }

  readSettled(operation: GetOperation): void {
    if (!this.active.delete(operation)) return;
    const repairs = operation.quorum.repairs();
    if (repairs.length > 0) {
      const merged = encodeObject(repairs[0]!.version);
      for (const repair of repairs) {
        this.counters.readRepairs++;
        this.send(repair.node, Op.REPLICATE, 0, operation.key, undefined, merged, 0, 0, this.backgroundReply, 0);
      }
    }
    const merged = operation.quorum.result();
    if (merged !== undefined && isAllTombstones(merged) && operation.quorum.replicas.length === this.config.n && !anyHinted(operation.quorum.replicas) && operation.quorum.unanimous()) {
      this.schedulePurge(operation.key, Array.from(operation.quorum.replicas), encodeObject(merged));
    }
  }

  writeSettled(operation: PutOperation): void {
    if (!this.active.delete(operation)) return;
    if (operation.request.flags & RequestFlag.TOMBSTONE && operation.quorum.allAcked && operation.objectBytes !== undefined && operation.quorum.replicas.length === this.config.n && !anyHinted(operation.quorum.replicas)) {
      this.schedulePurge(operation.request.key, Array.from(operation.quorum.replicas), operation.objectBytes);
    }
  }

  batchSettled(operation: Operation): void {
    this.active.delete(operation);
  }

  // ---- tombstone purges (tombstone-purges.ts, on the virtual clock) ----------

  private schedulePurge(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array): void {
    if (!this.purgesAllowed || this.purgesPending >= PURGES_PENDING_MAX) {
      this.counters.purgesSkipped++;
      return;
    }
    this.counters.purgesScheduled++;
    this.purgesPending++;
    const ringVersion = this.ringVersion;
    this.queue.after(this.config.tombstoneGraceMs, () => {
      this.purgesPending--;
      // Decided under another ring: those replicas may no longer be the key's N.
      if (!this.purgesAllowed || ringVersion !== this.ringVersion) {
        this.counters.purgesSkipped++;
        return;
      }
      // store.ts sendPurge: an older version may still come back from a hint owed to one of them.
      if (replicas.some((replica) => this.hooks.hintsOwedTo(nodeOfTarget(replica)) > 0)) {
        this.counters.purgesSkipped++;
        return;
      }
      for (const node of replicas) {
        this.counters.purgesSent++;
        this.send(node, Op.PURGE, 0, key, undefined, objectBytes, 0, 0, this.backgroundReply, 0);
      }
    });
  }

  // ---- deadlines ----------------------------------------------------------------

  private track(operation: Operation): void {
    this.active.add(operation);
    this.armTick();
  }

  /** store.ts armDeadlines: one tick for every deadline, while anything is in flight. */
  private armTick(): void {
    if (this.tickArmed) return;
    this.tickArmed = true;
    const tickMs = Math.max(1, Math.min(DEADLINE_TICK_MS_MAX, Math.floor(this.config.timeoutMs / 4)));
    this.queue.after(tickMs, () => {
      this.tickArmed = false;
      const nowMs = this.queue.nowMs;
      for (const operation of this.active) {
        if (operation.deadlineMs > nowMs) continue;
        this.active.delete(operation);
        this.counters.timeouts++;
        operation.expire();
      }
      // A request whose answer never came (lost, or its node died): free its
      // slot. Its operation expired at its own, earlier deadline already.
      for (const [requestId, entry] of this.pending) {
        if (entry.deadlineMs > nowMs) continue;
        this.pending.delete(requestId);
        try {
          entry.reply.onNodeFailure(entry.target, new RingtableError(ErrorCode.TIMEOUT, `request ${requestId} timed out`), entry.tag);
        } catch (error) {
          this.hooks.onInvariant(error);
        }
      }
      if (this.active.size > 0 || this.pending.size > 0) this.armTick();
    });
  }
}

/** A tombstone held by a stand-in is not yet on its owner: never purge it then. */
function isAllTombstones(object: VersionedObject): boolean {
  const siblings = siblingsOf(object);
  return siblings.length > 0 && siblings.every((s) => s.tombstone);
}

function keyName(key: WireKey): string {
  return typeof key === 'string' ? key : Buffer.from(key).toString('latin1');
}
