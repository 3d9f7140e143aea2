/**
 * The simulation's CoordinatorHost (lib/store/coordinator-host.ts): the
 * virtual clock and timers of the event queue, the end of a virtual instant
 * for the end of a turn, and links that carry the real request and response
 * frames (wire.ts) over the simulated network. The real coordinator
 * (lib/store/coordinator.ts) and membership change
 * (lib/store/membership-change.ts) run on it; nothing here decides routing,
 * quorums, retries or purges.
 *
 * What a link is in the store (transport/node-link.ts), a pending map by
 * request id is here: an answer finds its request, a node marked down fails
 * what waits on it at once (NodeLink.abandonPending). Unlike the real rings,
 * the simulated network loses messages, so a request whose answer never came
 * fails after timeoutMs, freeing its slot.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../../lib/errors.js';
import { HINTS_FOR_BASE, NODE_IDS_MAX } from '../../lib/node/replica.js';
import { hintFieldOfTarget, isHinted, nodeOfTarget } from '../../lib/ring/sloppy-quorum.js';
import type { CoordinatorHost, TimerHandle } from '../../lib/store/coordinator-host.js';
import type { PendingReply } from '../../lib/transport/node-link.js';
import { ENVELOPE_ITEMS_MAX, Op, Request, RequestFlag, type RequestRecord, Response, Status, type WireKey, encodeRequest, forEachEnvelopeItem, keyBytesOf, requestBytes, requestOf, valueOffset } from '../../lib/transport/wire.js';
import type { EventQueue } from './event-queue.js';
import type { SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

export interface SimHostConfig {
  /** How long a request waits for an answer the network may have lost. */
  timeoutMs: number;
  /** Wall clock at virtual time 0: timestamps are integers, as Date.now() gives. */
  wallClockOriginMs: number;
  /**
   * Planted bug 'ack-mint' (bugs.ts): PutBatch counts a MINT_ONLY answer as
   * its minting node's acknowledgement, as for a PUT that stored its version,
   * so it sends the object to the other replicas only.
   */
  mintAnswerAcks?: boolean;
}

export interface SimHostHooks {
  /** Frames leave through the simulated network. */
  transmit(node: number, frame: Uint8Array): void;
  /** A PUT request was sent: the oracle maps its request id to the client's write (`flags`: its RequestFlag bits, MINT_ONLY among them). */
  onPutSent(requestId: number, value: Uint8Array, flags: number): void;
  /**
   * A REPLICATE request was sent, carrying `object` (a view: copy it to
   * keep it): a putMany item minted by MINT_ONLY, or by the coordinator in
   * 'lww', is stored only by its REPLICATEs, where the oracle learns it.
   */
  onReplicateSent(requestId: number, key: string, object: Uint8Array): void;
  /** A core assertion failed while handling an answer: a finding, not a simulation error. */
  onInvariant(error: unknown): void;
  /** The network cuts the node off (a partition): it is not read in place either. */
  isCut(node: number): boolean;
}

/**
 * The id the history knows an enveloped PUT by: its envelope's request id and
 * its index in it, negative so that it never meets a single request's id.
 */
export function envelopeItemId(requestId: number, index: number): number {
  return -(requestId * ENVELOPE_ITEMS_MAX + index) - 1;
}

const OPS = ['', 'GET', 'PUT', 'REPLICATE', 'PURGE', 'PING', 'HINTS', 'HINT_DELIVERED', 'PARTITION_SCAN', 'DROP_IF_COVERED', 'WRITE_BATCH', 'TERM', 'ORDERED_WRITE', 'ORDERED_REPLICATE', 'ORDERED_GET', 'RANGE', 'DROP_SPACE'];
const STATUSES = ['OK', 'NOT_FOUND', 'ERROR', 'PARTIAL', 'CONFLICT', 'STALE_TERM'];
const REQUEST_TICK_MS_MAX = 100;

interface PendingRequest {
  node: number;
  /** The node, or the node as a stand-in for another: what replies name. */
  target: number;
  op: number;
  reply: PendingReply;
  tag: number;
  deadlineMs: number;
}

/** A reply for background work (repair, membership): the callback learns the status, or undefined on failure. */
export class CallbackReply implements PendingReply {
  constructor(private readonly done: (status: number | undefined, payload: Uint8Array | undefined) => void) {}

  onReply(_nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    this.done(status, bytes.slice(at, at + length));
  }

  onNodeFailure(): void {
    this.done(undefined, undefined);
  }
}

interface VirtualTimer {
  cancelled: boolean;
}

export class SimHost implements CoordinatorHost {
  private readonly config: SimHostConfig;
  private readonly queue: EventQueue;
  private readonly trace: Trace;
  private readonly hooks: SimHostHooks;
  private readonly nodes: Map<number, SimNode>;
  /** Nodes the coordinator has a link to. */
  private readonly linked = new Set<number>();
  /** Nodes it knows to be down (their exit was noticed, or their heartbeat went silent). */
  private readonly down = new Set<number>();
  private readonly pending = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  private tickArmed = false;
  /** Nodes that left the ring: hints still held for them go to the keys' current replicas. */
  readonly retired: number[] = [];
  /** When a write or read last went to a stand-in (sloppy quorum): it may have left a hint. */
  lastHintedRouteMs = -Infinity;
  staleAnswers = 0;

  constructor(config: SimHostConfig, queue: EventQueue, trace: Trace, nodes: Map<number, SimNode>, hooks: SimHostHooks) {
    this.config = config;
    this.queue = queue;
    this.trace = trace;
    this.nodes = nodes;
    this.hooks = hooks;
  }

  // ---- clock and timers ---------------------------------------------------------

  wallClockMs(): number {
    return this.config.wallClockOriginMs + Math.floor(this.queue.nowMs);
  }

  monotonicMs(): number {
    return this.queue.nowMs;
  }

  setTimer(delayMs: number, run: () => void): TimerHandle {
    const timer: VirtualTimer = { cancelled: false };
    this.queue.after(Math.max(0, delayMs), () => {
      if (!timer.cancelled) run();
    });
    return timer;
  }

  clearTimer(timer: TimerHandle): void {
    (timer as VirtualTimer).cancelled = true;
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.queue.after(delayMs, resolve));
  }

  /** The end of a turn is the end of a virtual instant: what is due now has run. */
  scheduleFlush(flush: () => void): void {
    this.queue.after(0, flush);
  }

  // ---- node liveness --------------------------------------------------------------

  link(node: number): void {
    this.linked.add(node);
    this.down.delete(node);
  }

  unlink(node: number): void {
    this.linked.delete(node);
  }

  /** As Store.markDown: what waits on the node fails now, and its quorums move on. */
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

  isDown(node: number): boolean {
    return !this.isUp(node);
  }

  hintsHeld(holder: number, owner: number): number {
    return owner < NODE_IDS_MAX ? (this.nodes.get(holder)?.stats[HINTS_FOR_BASE + owner] ?? 0) : 0;
  }

  hintsOwedTo(owner: number): number {
    let owed = 0;
    if (owner < NODE_IDS_MAX) for (const node of this.nodes.values()) owed += node.stats[HINTS_FOR_BASE + owner] ?? 0;
    return owed;
  }

  retiredIds(): Iterable<number> {
    return this.retired;
  }

  /** Requests still waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  // ---- the links --------------------------------------------------------------------

  /** A background request (repair); `done` gets the status, or undefined if it failed or timed out. */
  sendBackground(node: number, op: number, key: WireKey, value: Uint8Array | undefined, done: (status: number | undefined, payload: Uint8Array | undefined) => void): void {
    this.send(node, requestOf(op, key, value), new CallbackReply(done), 0);
  }

  readonly send = (target: number, request: RequestRecord, reply: PendingReply, tag: number): void => {
    const { op, flags, key, context, value } = request;
    if (op === Op.PUT && (flags & RequestFlag.MINT_ONLY) !== 0 && this.config.mintAnswerAcks === true) reply = mintAnswerAcks(reply);
    const nodeId = nodeOfTarget(target);
    if (!this.isUp(nodeId)) {
      // As NodeHost.send: requests never wait on a node marked down.
      reply.onNodeFailure(target, new Error(`storage node ${nodeId} is down`), tag);
      return;
    }
    const requestId = this.nextRequestId++;
    assert.ok(requestId < 2 ** 32, 'request ids exhausted');
    const keyBytes = keyBytesOf(key);
    const frame = Buffer.alloc(requestBytes(keyBytes, context?.length ?? 0, value?.byteLength ?? 0));
    encodeRequest(frame, new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 0, requestId, request, keyBytes, hintFieldOfTarget(target));
    this.pending.set(requestId, { node: nodeId, target, op, reply, tag, deadlineMs: this.queue.nowMs + this.config.timeoutMs });
    if (op === Op.PUT) this.hooks.onPutSent(requestId, value!, flags);
    if (op === Op.REPLICATE) this.hooks.onReplicateSent(requestId, keyName(key), value!);
    if (isHinted(target) && (op === Op.PUT || op === Op.REPLICATE || op === Op.GET)) this.lastHintedRouteMs = this.queue.nowMs;
    if (this.trace.enabled) this.trace.log(`coord -> n${nodeId}${isHinted(target) ? ` (hint for n${hintFieldOfTarget(target) - 1})` : ''}  ${OPS[op]} #${requestId} key=${keyName(key)}${flagsText(flags)}`);
    if (op === Op.WRITE_BATCH) this.envelopeSent(nodeId, requestId, value!);
    this.hooks.transmit(nodeId, frame);
    this.armTick();
  };

  /**
   * readPath 'direct' (lib/store/read-path.ts decides, this only serves): the
   * node's committed storage read at this instant, without the network, as
   * the store reads an up node's LMDB environment in its own thread. A node
   * crashed or cut off is asked by message (and fails or is lost as before).
   */
  readInPlace(target: number, key: WireKey, reply: PendingReply, tag: number): boolean {
    const nodeId = nodeOfTarget(target);
    const node = this.nodes.get(nodeId);
    if (node === undefined || !node.isUp || !this.isUp(nodeId) || this.hooks.isCut(nodeId)) return false;
    const stored = node.engine.get(typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
    if (this.trace.enabled) this.trace.log(`coord reads n${nodeId} in place  GET key=${keyName(key)} -> ${stored === undefined ? 'NOT_FOUND' : 'OK'}`);
    const bytes = stored === undefined ? new Uint8Array(0) : stored.slice();
    try {
      reply.onReply(target, stored === undefined ? Status.NOT_FOUND : Status.OK, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength, tag);
    } catch (error) {
      this.hooks.onInvariant(error);
    }
    return true;
  }

  /** The history learns each enveloped PUT and REPLICATE, and the trace shows every item. */
  private envelopeSent(nodeId: number, requestId: number, body: Uint8Array): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    forEachEnvelopeItem(view, 0, body.byteLength, true, (at, _length, index) => {
      const op = view.getUint8(at + Request.OP);
      const keyBytes = view.getUint32(at + Request.KEY_BYTES, true);
      const valueAt = at + valueOffset(keyBytes, view.getUint32(at + Request.CONTEXT_PAIRS, true));
      const hint = view.getUint16(at + Request.HINT_OWNER, true);
      const flags = view.getUint8(at + Request.FLAGS);
      const value = body.subarray(valueAt, valueAt + view.getUint32(at + Request.VALUE_BYTES, true));
      const key = Buffer.from(body.subarray(at + Request.HEADER_BYTES, at + Request.HEADER_BYTES + keyBytes)).toString('latin1');
      if (op === Op.PUT) this.hooks.onPutSent(envelopeItemId(requestId, index), value, flags);
      if (op === Op.REPLICATE) this.hooks.onReplicateSent(envelopeItemId(requestId, index), key, value);
      if (hint > 0) this.lastHintedRouteMs = this.queue.nowMs;
      if (this.trace.enabled) this.trace.log(`    #${requestId}.${index} -> n${nodeId}${hint > 0 ? ` (hint for n${hint - 1})` : ''}  ${OPS[op]} key=${key}${flagsText(flags)}`);
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
      this.staleAnswers++;
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

  /** A request whose answer never came (lost, or its node died unnoticed): fail it, freeing its slot. */
  private armTick(): void {
    if (this.tickArmed) return;
    this.tickArmed = true;
    const tickMs = Math.max(1, Math.min(REQUEST_TICK_MS_MAX, Math.floor(this.config.timeoutMs / 4)));
    this.queue.after(tickMs, () => {
      this.tickArmed = false;
      const nowMs = this.queue.nowMs;
      for (const [requestId, entry] of this.pending) {
        if (entry.deadlineMs > nowMs) continue;
        this.pending.delete(requestId);
        try {
          entry.reply.onNodeFailure(entry.target, new RingtableError(ErrorCode.TIMEOUT, `request ${requestId} timed out`), entry.tag);
        } catch (error) {
          this.hooks.onInvariant(error);
        }
      }
      if (this.pending.size > 0) this.armTick();
    });
  }
}

/** The planted bug 'ack-mint': the item's PutBatch learns, as its answer arrives, that its PUT was not MINT_ONLY (operations.ts PutBatch.mintedOnly). */
function mintAnswerAcks(reply: PendingReply): PendingReply {
  return {
    onReply(nodeId, status, bytes, view, at, length, tag) {
      (reply as unknown as { mintedOnly: Uint8Array }).mintedOnly[tag] = 0;
      reply.onReply(nodeId, status, bytes, view, at, length, tag);
    },
    onNodeFailure: (nodeId, error, tag) => reply.onNodeFailure(nodeId, error, tag),
  };
}

function flagsText(flags: number): string {
  return `${flags & RequestFlag.TOMBSTONE ? ' (delete)' : ''}${flags & RequestFlag.BLIND ? ' (blind)' : ''}${flags & RequestFlag.MINT_ONLY ? ' (mint only)' : ''}`;
}

function keyName(key: WireKey): string {
  return typeof key === 'string' ? key : Buffer.from(key).toString('latin1');
}
