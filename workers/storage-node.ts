/**
 * A storage node: a long-lived worker thread that owns one LMDB environment
 * and serves requests from its request ring, answering on its response ring.
 *
 * The loop: drain every request available (reads are answered at once from
 * LMDB read transactions), commit the drained writes as one transaction, then
 * publish the answers in one go. When idle, spin for as long as the gaps lately
 * measured make worth it, never longer than a wake costs (transport/spin-budget.ts),
 * then sleep with Atomics.wait. While commits are in flight the node waits with
 * Atomics.waitAsync instead, because lmdb-js completes commits on the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import { NodeStat, Replica, type ResponseSink, publishTermMax } from '../lib/node/replica.js';
import { commitExtension } from '../lib/node/commit-extension.js';
import { type MessageHandler, RingReader, RingWriter } from '../lib/transport/spsc-ring.js';
import { REQUEST_TAG_SHIFT, Response, Status, encodeResponseHeader } from '../lib/transport/wire.js';
import { PUBLISH_EVERY_RECORDS, type StorageNodeData } from '../lib/transport/node-link.js';
import { SpinBudget } from '../lib/transport/spin-budget.js';
import { lowerThreadPriority } from '../lib/node/thread-priority.js';

const data = workerData as StorageNodeData;
// Before any work: the coordinator's thread goes first when both want a core (node/thread-priority.ts).
lowerThreadPriority(data.nodeThreadNice);
const SLEEP_SLICE_MS = 100;
/** Ring checks between two clock reads while spinning: a check costs ~8 ns of CPU, a clock read ~50 ns. */
const SPIN_CHECKS_PER_CLOCK_READ = 32;
const DRAIN_MESSAGES_MAX = 4096;
const SWEEP_INTERVAL_MS = data.sweepIntervalMs;
const SWEEP_KEYS_MAX = 1000;
const COUNTS_INTERVAL_MS = 250;
/** post-message mode has no loop turn to beat on: a timer beats. */
const HEARTBEAT_INTERVAL_MS = 50;
const COMMIT_WAIT_SLICE_MS = 50;
const PAUSED_POLL_MS = 10;
const noop = () => {};

const storage = new LmdbStorage({ path: data.path, nodeId: data.nodeId, durability: data.durability });
const stats = new Float64Array(data.statsBuffer);

/** store.crashNode asked this node to stop as if it had crashed (NodeStat.CRASHED). */
function crashed(): boolean {
  return stats[NodeStat.CRASHED] === 1;
}

/**
 * Stop as a crash would: uncommitted writes are lost, unanswered. Commits
 * already handed to LMDB finish (a crash may land after them as well as
 * before), so that no thread stops holding LMDB's writer lock; then the
 * environment closes normally.
 */
async function crashStop(replica: Replica): Promise<void> {
  replica.dropQueued();
  await drainCommits(replica);
}

class RingResponseSink implements ResponseSink {
  constructor(private readonly writer: RingWriter) {}

  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    if (Response.HEADER_BYTES + (payload?.byteLength ?? 0) > data.messageBytesMax) {
      // Never send what the coordinator refuses to reassemble: fail this request instead.
      status = Status.ERROR;
      payload = new TextEncoder().encode(`object of ${payload!.byteLength} bytes exceeds the transport bound`);
    }
    const payloadBytes = payload?.byteLength ?? 0;
    const messageBytes = Response.HEADER_BYTES + payloadBytes;
    if (messageBytes > this.writer.recordPayloadMax) return this.respondFragmented(op, status, requestId, payload!);
    let at = this.writer.reserve(messageBytes);
    while (at < 0) {
      // The coordinator is behind on answers: hand it what we have and wait.
      this.writer.publish();
      // A crashed node's coordinator reads no more answers: drop them.
      if (this.writer.isClosed() || crashed()) return;
      this.writer.waitForSpace(messageBytes + 64, SLEEP_SLICE_MS);
      at = this.writer.reserve(messageBytes);
    }
    encodeResponseHeader(this.writer.view, at, op, status, requestId, payloadBytes);
    if (payload !== undefined) this.writer.bytes.set(payload, at + Response.HEADER_BYTES);
    this.writer.publishEvery(PUBLISH_EVERY_RECORDS);
  }

  private respondFragmented(op: number, status: number, requestId: number, payload: Uint8Array): void {
    const message = new Uint8Array(Response.HEADER_BYTES + payload.byteLength);
    encodeResponseHeader(new DataView(message.buffer), 0, op, status, requestId, payload.byteLength);
    message.set(payload, Response.HEADER_BYTES);
    let sentBytes = 0;
    for (;;) {
      sentBytes = this.writer.writeFragments(message, sentBytes);
      this.writer.publish();
      if (sentBytes === message.byteLength || this.writer.isClosed() || crashed()) return;
      this.writer.waitForSpace(this.writer.recordPayloadMax, SLEEP_SLICE_MS);
    }
  }
}

/** An attached coordinator's rings (wire.ts, "Attached coordinators"): its requests, and its answers. */
interface AttachedCoordinator {
  slot: number;
  tag: number;
  reader: RingReader;
  writer: RingWriter;
  sink: RingResponseSink;
}

/**
 * Every coordinator this node serves: the owner's rings, and the attached
 * coordinators' (added and replaced at runtime by 'attach' messages, dropped
 * when their rings close). Answers go to the ring of the tag in the top bits
 * of the request id; a tag no longer attached has its answers dropped.
 */
class Coordinators implements ResponseSink {
  readonly attached: AttachedCoordinator[] = [];
  private readonly byTag: (AttachedCoordinator | undefined)[] = [];

  constructor(
    readonly reader: RingReader,
    readonly writer: RingWriter,
    private readonly owner: RingResponseSink,
  ) {}

  attach(slot: number, tag: number, requestRing: SharedArrayBuffer, responseRing: SharedArrayBuffer): void {
    this.detach(slot);
    const writer = new RingWriter(responseRing);
    const coordinator = { slot, tag, reader: new RingReader(requestRing, data.messageBytesMax), writer, sink: new RingResponseSink(writer) };
    this.attached.push(coordinator);
    this.byTag[tag] = coordinator;
  }

  private detach(slot: number): void {
    const at = this.attached.findIndex((coordinator) => coordinator.slot === slot);
    if (at < 0) return;
    this.byTag[this.attached[at]!.tag] = undefined;
    this.attached.splice(at, 1);
  }

  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    const tag = requestId >>> REQUEST_TAG_SHIFT;
    if (tag === 0) return this.owner.respond(op, status, requestId, payload);
    this.byTag[tag]?.sink.respond(op, status, requestId, payload);
  }

  /** Drain every attached coordinator's ring (the owner's is drained by the loop); drop those that closed. */
  readAttached(handle: MessageHandler, messagesMax: number): number {
    let drained = 0;
    for (const coordinator of this.attached) {
      if (coordinator.reader.isClosed()) {
        this.detach(coordinator.slot);
        return drained + this.readAttached(handle, messagesMax);
      }
      drained += coordinator.reader.read(handle, messagesMax);
    }
    return drained;
  }

  readonly attachedHaveData = (): boolean => {
    for (const coordinator of this.attached) if (coordinator.reader.hasData()) return true;
    return false;
  };

  publish(): void {
    this.writer.publish();
    for (const coordinator of this.attached) coordinator.writer.publish();
  }
}

class PostMessageResponseSink implements ResponseSink {
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    const message = new Uint8Array(Response.HEADER_BYTES + (payload?.byteLength ?? 0));
    encodeResponseHeader(new DataView(message.buffer), 0, op, status, requestId, payload?.byteLength ?? 0);
    if (payload !== undefined) message.set(payload, Response.HEADER_BYTES);
    parentPort!.postMessage(message, [message.buffer]);
  }
}

const config = {
  nodeId: data.nodeId,
  conflicts: data.conflicts,
  clockEntriesMax: data.clockEntriesMax,
  objectBytesMax: data.objectBytesMax,
  // Alive while applying a large commit too (the failure detector reads this).
  beat: () => void (stats[NodeStat.HEARTBEAT_MS] = Date.now()),
};
let lastSweepMs = Date.now();
let lastCountsMs = 0;

function housekeeping(replica: Replica): void {
  const nowMs = Date.now();
  stats[NodeStat.HEARTBEAT_MS] = nowMs;
  if (nowMs - lastCountsMs >= COUNTS_INTERVAL_MS) {
    lastCountsMs = nowMs;
    replica.refreshCounts();
  }
  if (nowMs - lastSweepMs >= SWEEP_INTERVAL_MS) {
    lastSweepMs = nowMs;
    void replica.sweepExpired(nowMs, SWEEP_KEYS_MAX);
  }
}

async function serveRings(): Promise<void> {
  const reader = new RingReader(data.requestRing, data.messageBytesMax);
  const writer = new RingWriter(data.responseRing);
  const coordinators = new Coordinators(reader, writer, new RingResponseSink(writer));
  // The owner's thread may hand this node an attached coordinator's rings at any time (store/attachments.ts).
  const onControl = (message: { type?: string; slot: number; tag: number; requestRing: SharedArrayBuffer; responseRing: SharedArrayBuffer }) => {
    if (message?.type === 'attach') coordinators.attach(message.slot, message.tag, message.requestRing, message.responseRing);
  };
  parentPort!.on('message', onControl);
  try {
    await serveCoordinators(reader, coordinators);
  } finally {
    parentPort!.off('message', onControl);
  }
}

async function serveCoordinators(reader: RingReader, coordinators: Coordinators): Promise<void> {
  const writer = coordinators;
  const replica = new Replica(storage, config, coordinators, stats);
  const handle = replica.handleSafely.bind(replica);
  // Only the owner's ring: attached coordinators' requests wait for the loop.
  const extendCommit = commitExtension(reader, handle, { stopped: () => crashed() || stats[NodeStat.PAUSED] === 1, publish: () => coordinators.publish() });
  const spinBudget = new SpinBudget();
  let drainsSinceYield = 0;
  while (!reader.isClosed()) {
    // Checked here, outside any LMDB write transaction (see crashStop).
    if (crashed()) return crashStop(replica);
    if (stats[NodeStat.PAUSED] === 1) {
      // Fault injection: a paused node neither drains nor heartbeats, like a
      // stopped process; what is in its ring waits.
      await sleep(PAUSED_POLL_MS);
      continue;
    }
    // The failure detector's signal: one store per turn of the loop, cheap.
    stats[NodeStat.HEARTBEAT_MS] = Date.now();
    let drained = reader.read(handle, DRAIN_MESSAGES_MAX);
    if (coordinators.attached.length > 0) drained += coordinators.readAttached(handle, DRAIN_MESSAGES_MAX);
    const committing = replica.commit(extendCommit);
    writer.publish();
    if (drained > 0) {
      // Let lmdb-js run its commit callbacks now and then, even under load.
      if (committing !== undefined || replica.hasCommitsInFlight || ++drainsSinceYield >= 64) {
        drainsSinceYield = 0;
        await yieldToEventLoop();
        writer.publish();
      }
      continue;
    }
    housekeeping(replica);
    if (replica.hasCommitsInFlight) {
      // A pending Atomics.waitAsync does not keep a thread alive; the timer does.
      const keepAlive = setTimeout(noop, COMMIT_WAIT_SLICE_MS);
      await Promise.race([reader.waitForDataAsync(COMMIT_WAIT_SLICE_MS, coordinators.attachedHaveData), replica.committed()]);
      clearTimeout(keepAlive);
      reader.markAwake();
      writer.publish();
      continue;
    }
    const idleSinceMs = performance.now();
    let wakeMs = NaN;
    if (!spin(coordinators, spinBudget.budgetMs, idleSinceMs)) wakeMs = reader.waitForData(SLEEP_SLICE_MS, coordinators.attachedHaveData);
    if (!Number.isNaN(wakeMs)) spinBudget.observeWake(wakeMs);
    // The gap to the request's arrival: a woken thread's, without what its wake took (nor the yield below).
    spinBudget.observe(Math.max(0, performance.now() - idleSinceMs - (Number.isNaN(wakeMs) ? 0 : wakeMs)));
    // Timers (lmdb-js housekeeping) get their turn after a sleep.
    await yieldToEventLoop();
  }
  await drainCommits(replica);
}

/** Spin until a request arrives (true) or `budgetMs` since `sinceMs` passed (false). */
function spin(coordinators: Coordinators, budgetMs: number, sinceMs: number): boolean {
  const reader = coordinators.reader;
  const attached = coordinators.attached.length > 0;
  do {
    for (let i = 0; i < SPIN_CHECKS_PER_CLOCK_READ; i++) {
      if (reader.hasData() || (attached && coordinators.attachedHaveData())) return true;
    }
  } while (performance.now() - sinceMs < budgetMs);
  return false;
}

async function drainCommits(replica: Replica): Promise<void> {
  while (replica.hasCommitsInFlight) await yieldToEventLoop();
}

function servePostMessage(): void {
  const replica = new Replica(storage, config, new PostMessageResponseSink(), stats);
  let scheduled = false;
  let crashing = false;
  /** Requests that arrived while paused (fault injection): bounded by the coordinator's pendingMax. */
  const pausedMessages: Uint8Array[] = [];
  parentPort!.on('message', (message: Uint8Array | { type: 'stop' | 'crash' }) => {
    if (crashed()) {
      if (!(message instanceof Uint8Array) && message.type === 'crash' && !crashing) {
        // Runs between messages, so outside any LMDB write transaction.
        crashing = true;
        clearInterval(housekeepingTimer);
        pausedMessages.length = 0;
        void crashStop(replica)
          .then(() => storage.close())
          .then(() => process.exit(0));
      }
      return;
    }
    if (!(message instanceof Uint8Array)) {
      clearInterval(housekeepingTimer);
      void drainCommits(replica).then(() => storage.close()).then(() => parentPort!.postMessage({ type: 'stopped' }));
      return;
    }
    if (stats[NodeStat.PAUSED] === 1) {
      pausedMessages.push(message);
      return;
    }
    for (const held of pausedMessages.splice(0)) replica.handleSafely(held, new DataView(held.buffer, held.byteOffset, held.byteLength), 0, held.byteLength);
    replica.handleSafely(message, new DataView(message.buffer, message.byteOffset, message.byteLength), 0, message.byteLength);
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (crashed()) return;
        void replica.commit();
        housekeeping(replica);
      });
    }
  });
  // No ring to wake on: housekeeping (TTL sweep, counts) runs on a timer.
  const housekeepingTimer = setInterval(() => {
    if (stats[NodeStat.PAUSED] === 1 || crashed()) return;
    if (pausedMessages.length > 0) {
      for (const held of pausedMessages.splice(0)) replica.handleSafely(held, new DataView(held.buffer, held.byteOffset, held.byteLength), 0, held.byteLength);
      void replica.commit();
    }
    housekeeping(replica);
  }, Math.min(SWEEP_INTERVAL_MS, COUNTS_INTERVAL_MS, HEARTBEAT_INTERVAL_MS));
  parentPort!.once('close', () => clearInterval(housekeepingTimer));
  parentPort!.postMessage({ type: 'ready' });
}

stats[NodeStat.KEYS] = storage.counts().keys;
stats[NodeStat.HEARTBEAT_MS] = Date.now();
// Before 'ready': the ring transport makes its Replica only once it serves, after the coordinator read it.
publishTermMax(stats, storage.readTerms());
if (data.transport === 'post-message') {
  servePostMessage();
} else {
  parentPort!.postMessage({ type: 'ready' });
  await serveRings();
  await storage.close();
  parentPort!.postMessage({ type: 'stopped' });
}
