/**
 * A simulated storage node: the real Replica over an in-memory StorageEngine,
 * fed request frames by the simulated network. It behaves as the worker does
 * (workers/storage-node.ts): reads are answered as they are drained, writes
 * wait for the next group commit, and their answers leave only once that
 * commit ran. A crash drops the Replica with its uncommitted batch; the
 * engine's committed state survives, and a restart builds a new Replica on
 * it, which takes a fresh actor epoch from `readEpoch` (version/actor.ts).
 */
import { Prng } from '../../lib/prng.js';
import { NODE_STAT_SLOTS, Replica, type ReplicaConfig, type ResponseSink } from '../../lib/node/replica.js';
import type { PendingMints } from '../../lib/node/pending-mints.js';
import { ExpectKind, Op, OrderedField, Request, RequestFlag, Response, Status, decodeRangePage, decodeRequestHeader, encodeRangePage, newRequestHeader } from '../../lib/transport/wire.js';
import type { EventQueue } from './event-queue.js';
import { MemoryStorage, type StorageFaults } from './memory-storage.js';

/** Bug injection for the checker tests: a node that is wrong on purpose. */
export interface NodeFaults {
  /** Answer REPLICATE with OK and never store it. */
  ignoreReplicate?: boolean;
  /** Acknowledge REPLICATE on arrival, apply it `applyLagMs` later (an ack before the commit). */
  ackReplicateEarly?: { applyLagMs: number };
  /** Treat every PUT as blind: the client's context is ignored, concurrent siblings are overwritten. */
  forceBlind?: boolean;
  /** Answer ORDERED_REPLICATE with OK and never store it (a replica, or a new leader's catch-up, that keeps nothing). */
  ignoreOrderedReplicate?: boolean;
  /** The leader ignores a write's compare-and-set expectation (applies it whatever is stored). */
  skipExpect?: boolean;
  /** RANGE pages leave out their last key but still say the range is complete (an off-by-one at the page's end). */
  rangeDropsLast?: boolean;
  /**
   * The node keeps no pending-mint marks (lib/node/pending-mints.ts): a
   * MINT_ONLY mints from committed storage with the key's reused actor even
   * while a dot it minted with that actor is not stored yet, so it mints that
   * dot again under another value (Riak's KV679).
   */
  mintWithoutMarks?: boolean;
  /** Answer each GET of a key with what the node answered the GET of it before (a stale read cache), and remember this answer for the next. */
  staleGets?: boolean;
}

export interface NodeTiming {
  /** Group-commit latency: a commit runs this long after its first write arrived. */
  commitMinMs: number;
  commitMaxMs: number;
}

const READ_OPS: ReadonlySet<number> = new Set([Op.GET, Op.PING, Op.HINTS, Op.PARTITION_SCAN, Op.ORDERED_GET, Op.RANGE]);

export type FrameSender = (node: number, frame: Uint8Array) => void;
/** The oracle's tap on every answer a node gives, before the network can lose it. */
export type ResponseTap = (node: number, op: number, status: number, requestId: number, payload: Uint8Array | undefined) => void;

export class SimNode {
  readonly id: number;
  readonly engine: MemoryStorage;
  private readonly config: ReplicaConfig;
  private readonly queue: EventQueue;
  private readonly prng: Prng;
  private readonly timing: NodeTiming;
  private readonly faults: NodeFaults;
  private replica: Replica | undefined;
  /** Bumped at every crash: events scheduled for an earlier life do nothing. */
  private life = 0;
  private commitScheduled = false;
  /** Requests whose Replica answer is swallowed (ackReplicateEarly answered them already). */
  private readonly swallowed = new Set<number>();
  /** NodeFaults.staleGets: the key of each GET in flight here, and the last OK answer given for each key. */
  private readonly getKeys = new Map<number, string>();
  private readonly staleAnswers = new Map<string, Uint8Array>();
  readonly stats = new Float64Array(NODE_STAT_SLOTS);
  crashes = 0;

  constructor(
    id: number,
    config: ReplicaConfig,
    queue: EventQueue,
    seed: number,
    timing: NodeTiming,
    private readonly sendResponse: FrameSender,
    private readonly tap: ResponseTap,
    storageFaults: StorageFaults = {},
    faults: NodeFaults = {},
  ) {
    this.id = id;
    this.config = config;
    this.queue = queue;
    this.prng = new Prng(seed);
    this.timing = timing;
    this.faults = faults;
    this.engine = new MemoryStorage(storageFaults);
    this.start();
  }

  get isUp(): boolean {
    return this.replica !== undefined;
  }

  private start(): void {
    const sink: ResponseSink = { respond: (op, status, requestId, payload) => this.respond(op, status, requestId, payload) };
    this.replica = new Replica(this.engine, this.config, sink, this.stats);
    // The planted bug reaches into the Replica's private marks: nothing else may.
    if (this.faults.mintWithoutMarks === true) (this.replica as unknown as { pendingMints: PendingMints }).pendingMints.mark = () => true;
  }

  /** The process dies: nothing beyond the engine's committed state survives. */
  crash(): void {
    this.replica = undefined;
    this.life++;
    this.commitScheduled = false;
    this.swallowed.clear();
    this.crashes++;
  }

  /** A new process on the same storage: the Replica re-reads and bumps its actor epoch. */
  restart(): void {
    if (this.replica === undefined) this.start();
  }

  receive(frame: Uint8Array): void {
    const replica = this.replica;
    if (replica === undefined) return;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const op = frame[Request.OP]!;
    if (op === Op.REPLICATE && this.faults.ignoreReplicate === true) {
      this.later(() => this.respond(op, Status.OK, view.getUint32(Request.REQUEST_ID, true), undefined));
      return;
    }
    if (op === Op.REPLICATE && this.faults.ackReplicateEarly !== undefined) {
      const requestId = view.getUint32(Request.REQUEST_ID, true);
      this.respond(op, Status.OK, requestId, undefined);
      this.swallowed.add(requestId);
      const life = this.life;
      this.queue.after(this.faults.ackReplicateEarly.applyLagMs, () => {
        if (life !== this.life) return;
        this.replica!.handleSafely(frame, view, 0, frame.byteLength);
        this.scheduleCommit();
      });
      return;
    }
    if (op === Op.PUT && this.faults.forceBlind === true) frame[Request.FLAGS] = frame[Request.FLAGS]! | RequestFlag.BLIND;
    if (op === Op.GET && this.faults.staleGets === true) {
      const header = decodeRequestHeader(view, 0, frame.byteLength, newRequestHeader());
      this.getKeys.set(header.requestId, Buffer.from(frame.subarray(header.keyAt, header.keyAt + header.keyBytes)).toString('latin1'));
    }
    if (op === Op.ORDERED_REPLICATE && this.faults.ignoreOrderedReplicate === true) {
      this.later(() => this.respond(op, Status.OK, view.getUint32(Request.REQUEST_ID, true), undefined));
      return;
    }
    if (op === Op.ORDERED_WRITE && this.faults.skipExpect === true) {
      const header = decodeRequestHeader(view, 0, frame.byteLength, newRequestHeader());
      frame[header.valueAt + OrderedField.EXPECT] = ExpectKind.NONE;
    }
    replica.handleSafely(frame, view, 0, frame.byteLength);
    // Everything but a read waits for the group commit (an empty commit does nothing).
    if (!READ_OPS.has(op)) this.scheduleCommit();
  }

  /** The drained writes commit together after the commit latency (group commit). */
  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    this.later(() => {
      this.commitScheduled = false;
      void this.replica!.commit();
    });
  }

  /** Run `work` after a commit latency, unless the node crashed meanwhile. */
  private later(work: () => void): void {
    const life = this.life;
    const { commitMinMs, commitMaxMs } = this.timing;
    const delayMs = commitMinMs + (commitMaxMs - commitMinMs) * (this.prng.nextUint32() / 4294967296);
    this.queue.after(delayMs, () => {
      if (life === this.life && this.replica !== undefined) work();
    });
  }

  /** NodeFaults.staleGets: the payload of the previous OK answer to a GET of this request's key, if any, and this one kept in its place. */
  private staleAnswer(requestId: number, status: number, payload: Uint8Array | undefined): Uint8Array | undefined {
    const key = this.getKeys.get(requestId);
    this.getKeys.delete(requestId);
    if (key === undefined || status !== Status.OK || payload === undefined) return payload;
    const previous = this.staleAnswers.get(key);
    this.staleAnswers.set(key, payload.slice());
    return previous ?? payload;
  }

  private respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    // An early ack already went out for it: the Replica's own answer is not sent twice.
    if (op === Op.REPLICATE && this.swallowed.delete(requestId)) return;
    if (op === Op.RANGE && status === Status.OK && payload !== undefined && this.faults.rangeDropsLast === true) {
      const page = decodeRangePage(payload, 0, payload.byteLength);
      payload = encodeRangePage(page.more, page.entries.slice(0, -1));
    }
    if (op === Op.GET && this.faults.staleGets === true) payload = this.staleAnswer(requestId, status, payload);
    this.tap(this.id, op, status, requestId, payload);
    const frame = new Uint8Array(Response.HEADER_BYTES + (payload?.byteLength ?? 0));
    const view = new DataView(frame.buffer);
    view.setUint8(Response.OP, op);
    view.setUint8(Response.STATUS, status);
    view.setUint32(Response.REQUEST_ID, requestId, true);
    view.setUint32(Response.PAYLOAD_BYTES, payload?.byteLength ?? 0, true);
    // The payload may be a transient view (encodeObjectTransient): copied here, as the ring write does.
    if (payload !== undefined) frame.set(payload, Response.HEADER_BYTES);
    this.sendResponse(this.id, frame);
  }
}
