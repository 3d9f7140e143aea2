/**
 * The coordinator's handle on one storage node: the worker thread, its two
 * rings, and the requests awaiting its answers. Two implementations share the
 * interface: SharedArrayBuffer rings (the product) and postMessage (a baseline
 * for the benchmarks, one message per request as a plain design would do).
 * postMessage otherwise carries control only: ready, stopped.
 */
import assert from 'node:assert/strict';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Durability } from '../storage/storage-engine.js';
import { NODE_STAT_SLOTS, NodeStat } from './node-stats.js';
import type { TransportKind } from '../config/options.js';
import { RingReader, RingWriter, allocateRing } from './spsc-ring.js';
import { Op, type RequestRecord, RequestFlag, Response, Status, encodeRequest, keyBytesOf, requestBytesOf, copyBytes, REQUEST_ID_MASK, REQUEST_TAG_SHIFT } from './wire.js';
import { hintFieldOfTarget } from '../ring/sloppy-quorum.js';
import type { Prng } from '../prng.js';

/**
 * Faults injected on the way to one node (store.faults): each request is
 * dropped, delayed or duplicated with the given odds, drawn from a seeded
 * PRNG so a failing test replays. Answers are not touched: a lost request
 * and a lost answer look the same to the coordinator.
 */
export interface LinkFaults {
  prng: Prng;
  dropProbability: number;
  duplicateProbability: number;
  delayProbability: number;
  delayMsMin: number;
  delayMsMax: number;
}

/** A slot whose answer nobody waits for any more (abandoned, or a duplicate's): dropped on arrival. */
const IGNORED: PendingReply = {
  onReply() {},
  onNodeFailure() {},
};

export type { TransportKind };

/** What a storage-node worker receives at start (workerData). */
export interface StorageNodeData {
  nodeId: number;
  path: string;
  durability: Durability;
  conflicts: 'siblings' | 'lww';
  clockEntriesMax: number;
  /** Largest encoded object a node stores or sends. */
  objectBytesMax: number;
  /** Largest message either side accepts on a ring (fragments reassembled). */
  messageBytesMax: number;
  sweepIntervalMs: number;
  /** Lower the node thread's priority by this much (node/thread-priority.ts). */
  nodeThreadNice: number;
  transport: TransportKind;
  requestRing: SharedArrayBuffer;
  responseRing: SharedArrayBuffer;
  statsBuffer: SharedArrayBuffer;
}

/**
 * An attached coordinator's way to a node another thread started
 * (store/attachment.ts): its own two rings, the node's doorbell (the owner's
 * request ring) and counters, and the tag its request ids carry (wire.ts).
 */
export interface AttachedRings {
  tag: number;
  requestRing: SharedArrayBuffer;
  responseRing: SharedArrayBuffer;
  doorbellRing: SharedArrayBuffer;
  statsBuffer: SharedArrayBuffer;
}

/** A request awaiting a node's answer. */
export interface PendingReply {
  /**
   * The payload is `bytes[at, at + length)`, also readable through `view`;
   * both are valid only during the call (ring memory): copy what you keep.
   * `tag` is the number given to `send`, e.g. an index in a batch.
   */
  onReply(nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number, tag: number): void;
  onNodeFailure(nodeId: number, error: Error, tag: number): void;
}

/**
 * Fail one request. One that cannot take its failure is a bug worth a
 * warning, not the loss of the other requests being failed with it.
 */
export function failReply(reply: PendingReply, target: number, error: unknown, tag: number, where: string): void {
  const failure = error instanceof Error ? error : new Error(String(error));
  try {
    reply.onNodeFailure(target, failure, tag);
  } catch {
    process.emitWarning(`ringtable: ${where}: a reply failed and could not be failed cleanly: ${failure.message}`);
  }
}

export interface NodeLinkOptions extends Omit<StorageNodeData, 'requestRing' | 'responseRing' | 'statsBuffer'> {
  ringBytes: number;
  workerUrl: URL;
}

/**
 * Node flags for the node threads: the parent's, less those meant for the
 * application's main script. `-e`, `-p` and `--input-type` make a worker
 * started from a file fail; preloaded hooks (`--import`, `--require`,
 * `--loader`) instrument application code a node thread never runs, and cost
 * seconds at start (seen under a test runner's hooks: 4-5 s against 0.6 s).
 */
const MAIN_ONLY_FLAGS = new Set(['-e', '--eval', '-p', '--print', '--input-type', '--import', '-r', '--require', '--loader', '--experimental-loader']);

export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const name = flag.startsWith('--') ? flag.split('=', 1)[0]! : flag;
    if (!MAIN_ONLY_FLAGS.has(name)) flags.push(flag);
    else if (!flag.includes('=')) i++; // its value is the next argument
  }
  return flags;
}

/**
 * Flags a worker's execArgv refuses (ERR_WORKER_INVALID_EXEC_ARGV): V8's own
 * (`--max-old-space-size`, `--max-semi-space-size`, `--trace-gc`) and the
 * process's (`--title`). An application started with one of them could not
 * open a store. They already hold for the whole process, node threads
 * included (a worker left to inherit its parent's flags is not refused
 * them), so a node thread starts without restating them. Node names them
 * only in the refusal's message ("Initiated Worker with invalid execArgv
 * flags: a, b", lib/internal/errors.js, unchanged since Node 12): learnt from
 * the first refusal and remembered for the process.
 */
const refusedFlags = new Set<string>();

/** The flags a refusal names, among those that were asked for. */
export function refusedExecArgv(message: string, asked: readonly string[]): string[] {
  const at = message.indexOf('flags: ');
  if (at < 0) return [];
  const named = new Set(message.slice(at + 'flags: '.length).split(', '));
  return asked.filter((flag) => named.has(flag));
}

/** A Worker with the parent's flags less the main script's (workerExecArgv) and less those a worker refuses. */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  const execArgv = workerExecArgv().filter((flag) => !refusedFlags.has(flag));
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (error) {
    const refused = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? refusedExecArgv((error as Error).message, execArgv) : [];
    if (refused.length === 0) throw error;
    for (const flag of refused) refusedFlags.add(flag);
    return new Worker(url, { ...options, execArgv: execArgv.filter((flag) => !refusedFlags.has(flag)) });
  }
}

const RESPONSE_WAIT_SLICE_MS = 200;
/** How long a crashed node may take to reach its exit before it is terminated regardless. */
const CRASH_EXIT_WAIT_MS = 10_000;
const SPACE_WAIT_SLICE_MS = 200;
const READ_MESSAGES_MAX = 1 << 16;
/** Publish within a burst so the node starts while the coordinator still writes. */
export const PUBLISH_EVERY_RECORDS = 512;

/**
 * Outbox copies of this many bytes or more (a write envelope that did not
 * fit in the ring) go into buffers the link keeps and reuses once the ring
 * took them, up to OUTBOX_BUFFERS_MAX. Each fresh copy was an ArrayBuffer
 * of its own: about 5 MB per 10,000-key lww putMany on the coordinator, freed
 * only after a scavenge, and V8 counts ArrayBuffer memory allocated since the
 * last mark-compact against the old generation's limit: with a large live
 * heap (put-many.bench's data sets) that started a mark-compact of the whole
 * heap, marked by V8's helper threads, every few batches.
 */
export const OUTBOX_POOLED_BYTES_MIN = 16 * 1024;
/** A pooled outbox buffer: a write envelope (128 KiB of items at most, wire.ts) and its header. */
export const OUTBOX_BUFFER_BYTES = 132 * 1024;
/** Pooled outbox buffers per link: 1 MiB, the default ring's size. */
export const OUTBOX_BUFFERS_MAX = 8;

/** Memory for a link's outbox copies: large ones in reused buffers (OUTBOX_POOLED_BYTES_MIN). */
export class OutboxBuffers {
  /** OUTBOX_BUFFER_BYTES buffers whose copy the ring took: at most OUTBOX_BUFFERS_MAX. */
  private readonly free: Buffer[] = [];

  get freeCount(): number {
    return this.free.length;
  }

  /** `messageBytes` for a copy, not zeroed: a pooled buffer's start for a large one, until `sent` gives it back. */
  take(messageBytes: number): Buffer {
    if (messageBytes < OUTBOX_POOLED_BYTES_MIN || messageBytes > OUTBOX_BUFFER_BYTES) return Buffer.allocUnsafe(messageBytes);
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(OUTBOX_BUFFER_BYTES);
    return buffer.subarray(0, messageBytes);
  }

  /** The ring took `message` (from take) whole: a pooled buffer serves the next large copy while the pool has room. */
  sent(message: Uint8Array): void {
    if (message.byteLength < OUTBOX_POOLED_BYTES_MIN || message.buffer.byteLength !== OUTBOX_BUFFER_BYTES || this.free.length >= OUTBOX_BUFFERS_MAX) return;
    this.free.push(Buffer.from(message.buffer, 0, OUTBOX_BUFFER_BYTES));
  }
}

export abstract class NodeLink {
  readonly nodeId: number;
  readonly stats: Float64Array;
  /** Pending requests by slot; the request id is the slot, recycled through `freeSlots`. */
  private readonly replies: (PendingReply | undefined)[] = [];
  private readonly tags: number[] = [];
  /** What each request was sent to (the node, or the node as a stand-in: ring/sloppy-quorum.ts); replies name it. */
  private readonly targets: number[] = [];
  private readonly freeSlots: number[] = [];
  /** Slots abandoned or duplicated: their answers may still come and are dropped. */
  private ignoredCount = 0;
  faults: LinkFaults | undefined;
  /** Requests held back by a delay fault, with whom to answer if the node fails first. */
  private readonly delayed = new Map<NodeJS.Timeout, [reply: PendingReply, tag: number, target: number]>();
  private pendingCount = 0;
  /**
   * Answers read from the node so far: a reader of its environment in this
   * thread renews its snapshot when this moved, so that what the node
   * acknowledged is visible to it (store/direct-reads.ts).
   */
  answersDispatched = 0;
  /** The node's thread; none for an attached coordinator's link (the owner's thread started it). */
  protected readonly worker: Worker | undefined;
  /** This coordinator's tag in the top bits of its request ids (wire.ts): 0 for the owner. */
  private readonly requestTagBits: number;
  private failure: Error | undefined;
  private readonly ready: Promise<void>;
  private readonly stopped: Promise<void>;
  private readonly exited: Promise<void>;

  constructor(options: NodeLinkOptions, extraData: Partial<StorageNodeData>, attached?: AttachedRings) {
    this.nodeId = options.nodeId;
    const statsBuffer = attached?.statsBuffer ?? new SharedArrayBuffer(NODE_STAT_SLOTS * 8);
    this.stats = new Float64Array(statsBuffer);
    // The owner's 0 written as a small integer, never as the double `0 * 2 ** 24`:
    // a field V8 has seen hold a double boxes every sum made of it (a heap number per request).
    this.requestTagBits = attached === undefined ? 0 : attached.tag * 2 ** REQUEST_TAG_SHIFT;
    let onReady!: () => void;
    let onStopped!: () => void;
    let onExited!: () => void;
    this.exited = new Promise((resolve) => (onExited = resolve));
    this.ready = new Promise((resolve) => (onReady = resolve));
    this.stopped = new Promise((resolve) => (onStopped = resolve));
    if (attached !== undefined) {
      // The node serves already; stopping this link only closes its rings (SabNodeLink.requestStop).
      this.worker = undefined;
      onReady();
      onStopped();
      onExited();
      return;
    }
    const { ringBytes: _ringBytes, workerUrl, ...data } = options;
    this.worker = startWorker(workerUrl, { workerData: { ...data, statsBuffer, ...extraData } });
    const controlListener = (message: unknown) => {
      const type = (message as { type?: string } | null)?.type;
      if (type === 'ready') onReady();
      if (type === 'stopped') onStopped();
    };
    this.worker.on('message', controlListener);
    this.worker.on('error', (error) => {
      // Requests waiting on the node fail with their own errors; the cause is worth saying once.
      process.emitWarning(`ringtable: storage node ${this.nodeId} failed: ${error.message}`, { code: 'RINGTABLE_NODE_FAILED' });
      this.failAll(error);
    });
    this.worker.on('exit', (code) => {
      onExited();
      this.failAll(new Error(`storage node ${this.nodeId} exited with code ${code}`));
      onReady();
      onStopped();
    });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pendingCount;
  }

  /** Answers still expected for requests nobody waits on (abandoned or duplicated). */
  get ignoredAnswers(): number {
    return this.ignoredCount;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Send one request. Never throws for a full ring: it queues (the store bounds pending work). */
  send(request: RequestRecord, reply: PendingReply, tag: number, target: number = this.nodeId): void {
    if (this.failure !== undefined) {
      reply.onNodeFailure(target, this.failure, tag);
      return;
    }
    const faults = this.faults;
    if (faults !== undefined && this.injectFault(faults, request, reply, tag, target)) return;
    const requestId = this.allocateSlot(reply, tag, target);
    this.pendingCount++;
    this.transmit(request, requestId + this.requestTagBits, hintFieldOfTarget(target));
  }

  private allocateSlot(reply: PendingReply, tag: number, target: number): number {
    const requestId = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.replies.length;
    assert.ok(requestId <= REQUEST_ID_MASK, 'request ids ran into the coordinator tag bits');
    this.replies[requestId] = reply;
    this.tags[requestId] = tag;
    this.targets[requestId] = target;
    return requestId;
  }

  /** Returns true when the request was dealt with (dropped or delayed). */
  private injectFault(faults: LinkFaults, request: RequestRecord, reply: PendingReply, tag: number, target: number): boolean {
    const { op, flags, key, value } = request;
    const roll = () => faults.prng.nextUint32() / 4294967296;
    if (faults.dropProbability > 0 && roll() < faults.dropProbability) return true;
    // Never a PUT (nor an envelope, which may carry PUTs): coordinating mints a
    // new version, so a late duplicate of a blind put could overwrite a later
    // write. Every other request is idempotent.
    const mints = op === Op.PUT || op === Op.ORDERED_WRITE || (op === Op.WRITE_BATCH && (flags & RequestFlag.MINTS) !== 0);
    if (faults.duplicateProbability > 0 && !mints && roll() < faults.duplicateProbability) {
      const duplicateId = this.allocateSlot(IGNORED, 0, target);
      this.ignoredCount++;
      this.transmit(request, duplicateId + this.requestTagBits, hintFieldOfTarget(target));
    }
    if (faults.delayProbability > 0 && roll() < faults.delayProbability) {
      const delayMs = faults.delayMsMin + roll() * (faults.delayMsMax - faults.delayMsMin);
      // The caller's buffers may be ring memory valid only now: keep copies.
      // Field by field, not a spread: a record's constant fields may live on its prototype (GetOperation's do).
      const copy: RequestRecord = {
        op: request.op, flags: request.flags, key: typeof key === 'string' ? key : copyBytes(key), context: request.context,
        value: value === undefined ? undefined : copyBytes(value), timestampMs: request.timestampMs, expiresAtMs: request.expiresAtMs,
      };
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        const saved = this.faults;
        this.faults = undefined;
        try {
          this.send(copy, reply, tag, target);
        } finally {
          this.faults = saved;
        }
      }, delayMs);
      this.delayed.set(timer, [reply, tag, target]);
      return true;
    }
    return false;
  }

  /**
   * The failure detector gave up on this node (no heartbeat): fail what waits
   * on it now, and drop the answers if they come after all.
   */
  abandonPending(error: Error): void {
    for (let slot = 0; slot < this.replies.length; slot++) {
      const reply = this.replies[slot];
      if (reply === undefined || reply === IGNORED) continue;
      this.replies[slot] = IGNORED;
      this.ignoredCount++;
      this.pendingCount--;
      this.failOne(reply, this.tags[slot]!, error, this.targets[slot]!);
    }
  }

  protected abstract transmit(request: RequestRecord, requestId: number, hintField: number): void;

  /** Dispatch one response message found at `at` in `bytes`. */
  protected dispatch(bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (this.failure !== undefined) return; // failed already: every request it had was answered with the failure
    this.answersDispatched++;
    const requestId = view.getUint32(at + Response.REQUEST_ID, true) & REQUEST_ID_MASK;
    const payloadBytes = view.getUint32(at + Response.PAYLOAD_BYTES, true);
    // Messages are built only on failure: a template literal per answer allocates (about 90 B).
    if (Response.HEADER_BYTES + payloadBytes !== length) assert.fail(`response ${requestId} length mismatch`);
    const reply = this.replies[requestId];
    if (reply === undefined) assert.fail(`response to unknown request ${requestId}`);
    const status = view.getUint8(at + Response.STATUS);
    if (status === Status.PARTIAL) {
      // Part of a write envelope's answers: the request stays pending for the rest.
      if (reply === IGNORED) return;
      const tag = this.tags[requestId]!;
      const target = this.targets[requestId]!;
      try {
        reply.onReply(target, status, bytes, view, at + Response.HEADER_BYTES, payloadBytes, tag);
      } catch (error) {
        this.failOne(reply, tag, error, target);
      }
      return;
    }
    this.replies[requestId] = undefined;
    this.freeSlots.push(requestId);
    if (reply === IGNORED) {
      this.ignoredCount--;
      return;
    }
    this.pendingCount--;
    const tag = this.tags[requestId]!;
    const target = this.targets[requestId]!;
    try {
      reply.onReply(target, status, bytes, view, at + Response.HEADER_BYTES, payloadBytes, tag);
    } catch (error) {
      // An answer its request cannot use (say, a value that no longer decodes)
      // fails that request, not the coordinator and every other request.
      this.failOne(reply, tag, error, target);
    }
  }

  private failOne(reply: PendingReply, tag: number, error: unknown, target: number): void {
    failReply(reply, target, error, tag, `node ${this.nodeId}`);
  }

  protected failAll(error: Error): void {
    this.failure ??= error;
    const failed: [PendingReply, number, number][] = [];
    for (let slot = 0; slot < this.replies.length; slot++) {
      const reply = this.replies[slot];
      if (reply !== undefined && reply !== IGNORED) failed.push([reply, this.tags[slot]!, this.targets[slot]!]);
    }
    this.replies.length = 0;
    this.tags.length = 0;
    this.targets.length = 0;
    this.freeSlots.length = 0;
    this.pendingCount = 0;
    this.ignoredCount = 0;
    // Delayed requests fail with the rest: they have no slot, and a caller
    // without a deadline of its own (a range move's step) would wait forever.
    for (const [timer, waiting] of this.delayed) {
      clearTimeout(timer);
      failed.push(waiting);
    }
    this.delayed.clear();
    for (const [reply, tag, target] of failed) reply.onNodeFailure(target, error, tag);
  }

  /**
   * Crash the node: its pending requests fail now, and it stops at once,
   * dropping the writes it had not committed. Not worker.terminate(): a
   * thread stopped inside an LMDB write transaction leaves lmdb-js's writer
   * lock held, and its environment then never closes (seen as close() hanging
   * forever). The node stops itself at its next point outside the lock.
   */
  crash(): void {
    this.failAll(new Error(`storage node ${this.nodeId} crashed`));
    this.stats[NodeStat.CRASHED] = 1;
    this.wakeNode();
  }

  /** Wake the node wherever it sleeps, so that it sees CRASHED. */
  protected abstract wakeNode(): void;

  /**
   * Serve an attached coordinator (store/attachment.ts) on its own rings too,
   * replacing that slot's earlier ones; its requests ring `doorbell` (this link's
   * request ring).
   */
  attachCoordinator(slot: number, tag: number, requestRing: SharedArrayBuffer, responseRing: SharedArrayBuffer): void {
    this.worker?.postMessage({ type: 'attach', slot, tag, requestRing, responseRing });
  }

  /** Stop the node gracefully: it finishes its commits, closes LMDB and exits. */
  async stop(): Promise<void> {
    if (this.worker === undefined) {
      // An attached coordinator's link: close its rings (the node drops them) and fail what waits.
      this.requestStop();
      this.failAll(new Error(`the link to storage node ${this.nodeId} was closed`));
      return;
    }
    if (this.failure !== undefined) {
      if (this.stats[NodeStat.CRASHED] === 1) {
        // Bounded: a node that does not get to its exit is terminated after all.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, CRASH_EXIT_WAIT_MS)))]);
        clearTimeout(timer);
      }
      return void (await this.worker.terminate());
    }
    this.requestStop();
    await this.stopped;
    await this.worker.terminate();
  }

  protected abstract requestStop(): void;

  /** Requests encoded but waiting for ring space (backpressure). */
  abstract get queuedMessages(): number;
}

export class SabNodeLink extends NodeLink {
  private readonly writer: RingWriter;
  private readonly reader: RingReader;
  /** Messages that did not fit in the ring, oldest first: bounded by the store's pendingMax. */
  private readonly outbox: Uint8Array[] = [];
  private outboxHead = 0;
  private readonly outboxBuffers = new OutboxBuffers();
  private fragmentSentBytes = 0;
  private publishScheduled = false;
  private pumping = false;
  private waitingForSpace = false;
  private readonly dispatchBound = this.dispatch.bind(this);

  /** The ring this coordinator's requests travel on; the owner's is also every attached coordinator's doorbell (wire.ts). */
  readonly requestRing: SharedArrayBuffer;

  constructor(options: NodeLinkOptions, attached?: AttachedRings) {
    const requestRing = attached?.requestRing ?? allocateRing(options.ringBytes);
    const responseRing = attached?.responseRing ?? allocateRing(options.ringBytes);
    super(options, { requestRing, responseRing, transport: 'sab' }, attached);
    this.requestRing = requestRing;
    this.writer = new RingWriter(requestRing, attached?.doorbellRing);
    this.reader = new RingReader(responseRing, options.messageBytesMax);
  }

  protected transmit(request: RequestRecord, requestId: number, hintField: number): void {
    const keyBytes = keyBytesOf(request.key);
    const messageBytes = requestBytesOf(request, keyBytes);
    const writer = this.writer;
    const at = this.outboxHead === this.outbox.length && messageBytes <= writer.recordPayloadMax ? writer.reserve(messageBytes) : -1;
    if (at >= 0) {
      encodeRequest(writer.bytes, writer.view, at, requestId, request, keyBytes, hintField);
      writer.publishEvery(PUBLISH_EVERY_RECORDS);
    } else {
      // Not zeroed first (a write envelope that did not fit is about 128 KB):
      // encodeRequest writes every byte, the key's padding included.
      const message = this.outboxBuffers.take(messageBytes);
      encodeRequest(message, new DataView(message.buffer, message.byteOffset, message.byteLength), 0, requestId, request, keyBytes, hintField);
      this.outbox.push(message);
    }
    this.schedulePublish();
  }

  /** One publish (and at most one wake) per node per event-loop turn: batching. */
  private schedulePublish(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    queueMicrotask(this.publishNow);
  }

  /**
   * Made once: a closure written inside schedulePublish made V8 allocate its
   * context on every call, early return or not (about 40 B per request).
   */
  private readonly publishNow = (): void => {
    this.publishScheduled = false;
    this.flushOutbox();
    this.writer.publish();
    this.pump();
  };

  private flushOutbox(): void {
    const writer = this.writer;
    while (this.outboxHead < this.outbox.length) {
      const message = this.outbox[this.outboxHead]!;
      if (message.byteLength <= writer.recordPayloadMax) {
        const at = writer.reserve(message.byteLength);
        if (at < 0) break;
        writer.bytes.set(message, at);
      } else {
        this.fragmentSentBytes = writer.writeFragments(message, this.fragmentSentBytes);
        if (this.fragmentSentBytes < message.byteLength) break;
        this.fragmentSentBytes = 0;
      }
      this.outbox[this.outboxHead++] = undefined as unknown as Uint8Array;
      this.outboxBuffers.sent(message);
    }
    if (this.outboxHead === this.outbox.length) {
      this.outbox.length = 0;
      this.outboxHead = 0;
    } else {
      this.waitForSpace();
    }
  }

  /** The ring is full: wait (without blocking the event loop) for the node to consume. */
  private waitForSpace(): void {
    if (this.waitingForSpace) return;
    const waited = this.writer.waitForSpaceAsync(this.writer.recordPayloadMax / 2, SPACE_WAIT_SLICE_MS);
    const resume = () => {
      this.waitingForSpace = false;
      if (this.failed !== undefined) return;
      this.flushOutbox();
      this.writer.publish();
    };
    this.waitingForSpace = true;
    if (waited === undefined) setImmediate(resume);
    else void waited.then(resume);
  }

  get queuedMessages(): number {
    return this.outbox.length - this.outboxHead;
  }

  /** Read answers while requests are in flight; sleep with Atomics.waitAsync between batches. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const step = () => {
      // A crashed node's ring may still hold answers written before it died:
      // their requests have already failed, so they are not read.
      if (this.failed !== undefined) {
        this.pumping = false;
        return;
      }
      this.reader.markAwake();
      this.reader.read(this.dispatchBound, READ_MESSAGES_MAX);
      if (this.queuedMessages > 0) {
        this.flushOutbox();
        this.writer.publish();
      }
      if ((this.inFlight === 0 && this.ignoredAnswers === 0) || this.failed !== undefined) {
        this.pumping = false;
        return;
      }
      const waited = this.reader.waitForDataAsync(RESPONSE_WAIT_SLICE_MS);
      // Data already there: go round again on the next macrotask so that I/O
      // and timers interleave with a busy stream of answers.
      if (waited === undefined) setImmediate(step);
      else void waited.then(step);
    };
    step();
  }

  protected requestStop(): void {
    this.writer.close();
    this.reader.close();
  }

  protected wakeNode(): void {
    this.writer.wake();
    this.reader.wake();
  }
}

export class PostMessageNodeLink extends NodeLink {
  constructor(options: NodeLinkOptions) {
    // The rings are allocated but unused, so workerData has one shape.
    super(options, { requestRing: allocateRing(4096), responseRing: allocateRing(4096), transport: 'post-message' });
    this.worker!.on('message', (message: unknown) => {
      if (message instanceof Uint8Array) this.dispatch(message, new DataView(message.buffer, message.byteOffset, message.byteLength), 0, message.byteLength);
    });
  }

  protected transmit(request: RequestRecord, requestId: number, hintField: number): void {
    const keyBytes = keyBytesOf(request.key);
    // Its own ArrayBuffer (not Buffer's pool), so that it can be transferred.
    const message = Buffer.from(new ArrayBuffer(requestBytesOf(request, keyBytes)));
    encodeRequest(message, new DataView(message.buffer), 0, requestId, request, keyBytes, hintField);
    this.worker!.postMessage(message, [message.buffer]);
  }

  get queuedMessages(): number {
    return 0;
  }

  protected requestStop(): void {
    this.worker!.postMessage({ type: 'stop' });
  }

  protected wakeNode(): void {
    this.worker!.postMessage({ type: 'crash' });
  }
}
