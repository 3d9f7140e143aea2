/**
 * In-flight requests on the coordinator: a get waiting for R answers, a put
 * waiting for W acknowledgements. They feed node answers into the pure quorum
 * state machines and hand the decisions (result, repairs, purge) back to the
 * coordinator, which does the messaging.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { ReadQuorum } from '../quorum/read-quorum.js';
import { WriteQuorum, WriteQuorumTable, positionOf, type QuorumStatus } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, Status, type WireKey, copyBytes } from '../transport/wire.js';
import { type CausalContext, type VersionedObject, equal, sync } from '../version/dotted-version-vector.js';
import { decodeObject } from '../version/object-codec.js';
import { type GetResult, resultFromBytes } from './get-result.js';

/** What operations need from the coordinator that runs them (coordinator.ts). */
export interface OperationHost {
  send(nodeId: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void;
  /** `send`, possibly packed with other writes to the same node (a write envelope): for PUT and REPLICATE. */
  sendBatched(nodeId: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void;
  toResult(object: VersionedObject | undefined): GetResult | undefined;
  wallClockMs(): number;
  /** A monotonic clock for deadlines (performance.now in the store). */
  monotonicMs(): number;
  readSettled(operation: GetOperation): void;
  writeSettled(operation: PutOperation): void;
  /** A batch has no request left in flight: it no longer counts against pendingMax. */
  batchSettled(operation: Operation): void;
}

export interface Operation {
  readonly deadlineMs: number;
  /** Requests it may have in flight: what it counts against pendingMax. */
  readonly weight: number;
  /** Set by the store once the caller has its answer; the rest is background work. */
  callerDone: boolean;
  /** The deadline passed: fail the caller if it is still waiting. */
  expire(): void;
}

/** Completion callbacks carry the caller's tag (a batch index) so a batch needs one closure, not one per item. */
export type GetCallback = (error: RingtableError | undefined, result: GetResult | undefined, tag: number) => void;
export type PutCallback = (error: RingtableError | undefined, objectBytes: Uint8Array | undefined, tag: number) => void;

const versionOps = { merge: sync, equal };

function quorumError(
  kind: 'read' | 'write',
  status: QuorumStatus,
  answered: number,
  required: number,
  contacted: number,
  timedOut: boolean,
  reason?: string,
): RingtableError {
  const code = timedOut ? ErrorCode.TIMEOUT : ErrorCode.QUORUM;
  const what = timedOut ? 'timed out' : 'failed';
  const because = reason === undefined ? '' : `; a node said: ${reason}`;
  return new RingtableError(code, `${kind} ${what}: ${answered} of ${contacted} replicas answered, ${required} required (${status})${because}`, {
    answered,
    required,
    contacted,
  });
}

export class GetOperation implements PendingReply, Operation {
  readonly key: WireKey;
  readonly quorum: ReadQuorum<VersionedObject>;
  readonly deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  private readonly coordinator: OperationHost;
  private callback: GetCallback | undefined;
  private readonly tag: number;
  /** Set by the single-answer fast path, which skips the merge. */
  private direct: GetResult | undefined;

  constructor(coordinator: OperationHost, key: WireKey, replicas: ArrayLike<number>, r: number, deadlineMs: number, callback: GetCallback, tag: number) {
    this.coordinator = coordinator;
    this.key = key;
    this.quorum = new ReadQuorum(replicas, r, versionOps);
    this.deadlineMs = deadlineMs;
    this.callback = callback;
    this.tag = tag;
  }

  start(): void {
    const replicas = this.quorum.replicas;
    for (let i = 0; i < replicas.length; i++) this.coordinator.send(replicas[i]!, Op.GET, 0, this.key, undefined, undefined, 0, 0, this, 0);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (status === Status.OK) {
      // One replica asked, one answer needed: nothing to merge or repair, so
      // read the answer in place (the common cache read, R = 1).
      const direct = this.quorum.replicas.length === 1 ? resultFromBytes(bytes, view, at, length, this.coordinator.wallClockMs()) : null;
      if (direct === null) {
        this.quorum.reply(nodeId, decodeObject(copyBytes(bytes, at, at + length)));
      } else {
        this.direct = direct;
        this.quorum.reply(nodeId, undefined);
      }
    } else if (status === Status.NOT_FOUND) {
      this.quorum.reply(nodeId, undefined);
    } else {
      this.quorum.fail(nodeId);
    }
    this.progress();
  }

  onNodeFailure(nodeId: number): void {
    this.quorum.fail(nodeId);
    this.progress();
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status !== 'pending') this.finish(status === 'succeeded' ? undefined : this.error(status, false));
    if (this.quorum.settled) this.coordinator.readSettled(this);
  }

  private error(status: QuorumStatus, timedOut: boolean): RingtableError {
    const q = this.quorum;
    return quorumError('read', status, q.answered, q.required, q.replicas.length, timedOut);
  }

  private finish(error: RingtableError | undefined): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    if (error !== undefined) return callback(error, undefined, this.tag);
    callback(undefined, this.direct ?? this.coordinator.toResult(this.quorum.result()), this.tag);
  }

  expire(): void {
    this.finish(this.error(this.quorum.status(), true));
  }
}

export interface PutRequest {
  key: WireKey;
  flags: number;
  context: CausalContext | undefined;
  value: Uint8Array;
  timestampMs: number;
  expiresAtMs: number;
}

/**
 * A put or delete: the first replica coordinates (it is the actor of the new
 * version, Dynamo §4.5), then its resulting object goes to the other N-1.
 */
const textDecoder = new TextDecoder();

/** The text a node sent with an ERROR status. */
function nodeReason(bytes: Uint8Array, at: number, length: number): string {
  return textDecoder.decode(bytes.subarray(at, at + Math.min(length, 1024)));
}

export class PutOperation implements PendingReply, Operation {
  readonly request: PutRequest;
  private reason: string | undefined;
  readonly quorum: WriteQuorum;
  readonly deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  /** The coordinator's resulting object, once it answered. */
  objectBytes: Uint8Array | undefined;
  private readonly coordinator: OperationHost;
  private callback: PutCallback | undefined;
  private readonly tag: number;

  /** The coordinating node failed before it answered (not an error it returned): a retry elsewhere may succeed. */
  coordinatorLost = false;
  constructor(coordinator: OperationHost, request: PutRequest, replicas: ArrayLike<number>, w: number, deadlineMs: number, callback: PutCallback, tag: number) {
    this.coordinator = coordinator;
    this.request = request;
    this.quorum = new WriteQuorum(replicas, w);
    this.deadlineMs = deadlineMs;
    this.callback = callback;
    this.tag = tag;
  }

  get coordinatorNode(): number {
    return this.quorum.replicas[0]!;
  }

  start(): void {
    const q = this.request;
    this.coordinator.sendBatched(this.coordinatorNode, Op.PUT, q.flags, q.key, q.context, q.value, q.timestampMs, q.expiresAtMs, this, 0);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    const coordinating = nodeId === this.coordinatorNode && this.objectBytes === undefined;
    if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
    if (coordinating && status !== Status.OK) return this.coordinatorFailed();
    if (coordinating) {
      this.objectBytes = copyBytes(bytes, at, at + length);
      this.quorum.ack(nodeId);
      this.replicate();
    } else if (status === Status.OK) {
      this.quorum.ack(nodeId);
    } else {
      this.quorum.fail(nodeId);
    }
    this.progress();
  }

  onNodeFailure(nodeId: number): void {
    if (nodeId === this.coordinatorNode && this.objectBytes === undefined) {
      // The node died or was given up on before answering: the store may retry with another coordinator.
      this.coordinatorLost = true;
      return this.coordinatorFailed();
    }
    this.quorum.fail(nodeId);
    this.progress();
  }

  /** Without the coordinator's version there is nothing to replicate: every replica counts as failed. */
  private coordinatorFailed(): void {
    const replicas = this.quorum.replicas;
    for (let i = 0; i < replicas.length; i++) if (!this.quorum.hasAnswered(replicas[i]!)) this.quorum.fail(replicas[i]!);
    this.progress();
  }

  private replicate(): void {
    const q = this.request;
    const replicas = this.quorum.replicas;
    for (let i = 1; i < replicas.length; i++) {
      this.coordinator.sendBatched(replicas[i]!, Op.REPLICATE, 0, q.key, undefined, this.objectBytes, q.timestampMs, 0, this, 0);
    }
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status !== 'pending') this.finish(status === 'succeeded' ? undefined : this.error(status, false));
    if (this.quorum.settled) this.coordinator.writeSettled(this);
  }

  private error(status: QuorumStatus, timedOut: boolean): RingtableError {
    const q = this.quorum;
    return quorumError('write', status, q.answered, q.required, q.replicas.length, timedOut, this.reason);
  }

  private finish(error: RingtableError | undefined): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    callback(error, this.objectBytes, this.tag);
  }

  expire(): void {
    this.finish(this.error(this.quorum.status(), true));
  }
}

/** Fire-and-forget messages (read repair, purge): counted, never awaited by callers. */
export class BackgroundReply implements PendingReply {
  constructor(private readonly settled: () => void) {}

  onReply(): void {
    this.settled();
  }

  onNodeFailure(): void {
    this.settled();
  }
}

/**
 * getMany with R = 1: one replica per key and nothing to merge, so the batch
 * is one operation (one deadline, one completion) whose items travel as tags.
 * It keeps at most `windowMax` reads in flight, refilling as answers arrive.
 */
export class SingleReadBatch implements PendingReply, Operation {
  readonly windowMax: number;
  callerDone = false;
  private readonly deadlines: ItemDeadlines;
  private readonly finishedItems: Uint8Array;
  get weight(): number {
    return this.windowMax;
  }
  private readonly coordinator: OperationHost;
  private readonly keys: readonly WireKey[];
  private readonly route: (key: WireKey) => number;
  private readonly results: (GetResult | undefined)[];
  private readonly done: (error: RingtableError | undefined) => void;
  private next = 0;
  private finished = 0;
  private ended = false;

  constructor(
    coordinator: OperationHost,
    keys: readonly WireKey[],
    route: (key: WireKey) => number,
    windowMax: number,
    timeoutMs: number,
    done: (error: RingtableError | undefined, results: (GetResult | undefined)[]) => void,
  ) {
    this.coordinator = coordinator;
    this.keys = keys;
    this.route = route;
    this.windowMax = Math.min(windowMax, keys.length);
    this.finishedItems = new Uint8Array(keys.length);
    this.deadlines = new ItemDeadlines(keys.length, timeoutMs, this.finishedItems);
    this.results = new Array(keys.length);
    this.done = (error) => done(error, this.results);
  }

  get inFlight(): number {
    return this.ended ? 0 : this.next - this.finished;
  }

  start(): void {
    while (this.next < this.windowMax) this.sendNext();
  }

  /** Each item has `timeoutMs` from its own start: the batch expires with its oldest unfinished item. */
  get deadlineMs(): number {
    return this.deadlines.oldest(this.next);
  }

  private sendNext(): void {
    const index = this.next++;
    this.deadlines.start(index, this.coordinator.monotonicMs());
    const key = this.keys[index]!;
    this.coordinator.send(this.route(key), Op.GET, 0, key, undefined, undefined, 0, 0, this, index);
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number, tag: number): void {
    if (this.ended) return;
    if (status === Status.OK) {
      const direct = resultFromBytes(bytes, view, at, length, this.coordinator.wallClockMs());
      this.results[tag] = direct !== null ? direct : this.coordinator.toResult(decodeObject(copyBytes(bytes, at, at + length)));
    } else if (status !== Status.NOT_FOUND) {
      return this.end(quorumError('read', 'failed', 0, 1, 1, false));
    }
    this.finishedItems[tag] = 1;
    this.finished++;
    if (this.finished === this.keys.length) return this.end(undefined);
    if (this.next < this.keys.length) this.sendNext();
  }

  onNodeFailure(): void {
    if (!this.ended) this.end(quorumError('read', 'failed', 0, 1, 1, false));
  }

  expire(): void {
    if (!this.ended) this.end(quorumError('read', 'pending', 0, 1, 1, true));
  }

  private end(error: RingtableError | undefined): void {
    this.ended = true;
    this.done(error);
  }
}

/**
 * putMany: every item is a put coordinated by its first replica and then
 * replicated, exactly as PutOperation, with the items' quorums in one
 * WriteQuorumTable. At most `windowMax` items are unsettled at a time; an
 * item settles when every replica has answered, and the next one starts.
 * The batch resolves once every item met its W.
 */
export class PutBatch implements PendingReply, Operation {
  readonly windowMax: number;
  callerDone = false;
  private readonly deadlines: ItemDeadlines;
  private readonly coordinator: OperationHost;
  private readonly requests: readonly PutRequest[];
  private readonly lists: Int32Array[];
  private readonly route: (key: WireKey) => Int32Array;
  private readonly quorums: WriteQuorumTable;
  private readonly ws: ArrayLike<number>;
  /** 1 once an item's coordinator answered: replicas were then sent its object. */
  private readonly coordinated: Uint8Array;
  /** 1 once an item was sent to a second coordinator (its first failed before answering). */
  private readonly retried: Uint8Array;
  private readonly succeeded: Uint8Array;
  private readonly done: (error: RingtableError | undefined) => void;
  private reason: string | undefined;
  private next = 0;
  private succeededCount = 0;
  private settledCount = 0;
  private ended = false;

  constructor(
    coordinator: OperationHost,
    requests: readonly PutRequest[],
    ws: ArrayLike<number>,
    n: number,
    route: (key: WireKey) => Int32Array,
    windowMax: number,
    timeoutMs: number,
    done: (error: RingtableError | undefined) => void,
  ) {
    this.coordinator = coordinator;
    this.requests = requests;
    this.ws = ws;
    this.route = route;
    this.lists = new Array(requests.length);
    this.quorums = new WriteQuorumTable(requests.length, n);
    this.coordinated = new Uint8Array(requests.length);
    this.retried = new Uint8Array(requests.length);
    this.succeeded = new Uint8Array(requests.length);
    this.windowMax = Math.min(windowMax, requests.length);
    this.deadlines = new ItemDeadlines(requests.length, timeoutMs, this.succeeded);
    this.done = done;
  }

  /** Each item has `timeoutMs` from its own start to meet its W. */
  get deadlineMs(): number {
    return this.deadlines.oldest(this.next);
  }

  get weight(): number {
    return this.windowMax;
  }

  /** Items started and not yet settled. */
  get inFlight(): number {
    return this.next - this.settledCount;
  }

  get isSettled(): boolean {
    return this.settledCount === this.next && (this.ended || this.next === this.requests.length);
  }

  start(): void {
    while (this.next < this.windowMax) this.startNext();
  }

  private startNext(): void {
    const item = this.next++;
    this.deadlines.start(item, this.coordinator.monotonicMs());
    const q = this.requests[item]!;
    const list = this.route(q.key);
    this.lists[item] = list;
    this.quorums.setRequired(item, this.ws[item]!);
    this.coordinator.sendBatched(list[0]!, Op.PUT, q.flags, q.key, q.context, q.value, q.timestampMs, q.expiresAtMs, this, item);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number, item: number): void {
    const list = this.lists[item]!;
    const position = positionOf(list, nodeId);
    if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
    if (position === 0 && this.coordinated[item] === 0) {
      if (status !== Status.OK) return this.coordinatorFailed(item);
      this.coordinated[item] = 1;
      this.quorums.ack(item, 0);
      // Forward the coordinator's object straight from the response ring into
      // the replicas' request rings: no intermediate copy.
      const object = bytes.subarray(at, at + length);
      const q = this.requests[item]!;
      for (let i = 1; i < list.length; i++) this.coordinator.sendBatched(list[i]!, Op.REPLICATE, 0, q.key, undefined, object, q.timestampMs, 0, this, item);
    } else if (status === Status.OK) {
      this.quorums.ack(item, position);
    } else {
      this.quorums.fail(item, position);
    }
    this.progress(item);
  }

  onNodeFailure(nodeId: number, _error: Error, item: number): void {
    const position = positionOf(this.lists[item]!, nodeId);
    if (position === 0 && this.coordinated[item] === 0) {
      // The coordinator failed before minting the version. As for a single
      // put, another node of the list coordinates instead (Dynamo §4.5), once.
      if (this.retried[item] === 0 && !this.ended && this.retryElsewhere(item, nodeId)) return;
      return this.coordinatorFailed(item);
    }
    this.quorums.fail(item, position);
    this.progress(item);
  }

  /** Route the item again (the failed node is down by now, so the list changes): false if it would go to the same coordinator. */
  private retryElsewhere(item: number, failed: number): boolean {
    const q = this.requests[item]!;
    const list = this.route(q.key);
    if (list.length === 0 || list[0] === failed) return false;
    this.retried[item] = 1;
    this.lists[item] = list;
    this.quorums.reset(item);
    this.coordinator.sendBatched(list[0]!, Op.PUT, q.flags, q.key, q.context, q.value, q.timestampMs, q.expiresAtMs, this, item);
    return true;
  }

  private coordinatorFailed(item: number): void {
    for (let position = 0; position < this.quorums.replicasPerItem; position++) {
      if (!this.quorums.hasAnswered(item, position)) this.quorums.fail(item, position);
    }
    this.progress(item);
  }

  private progress(item: number): void {
    const status = this.quorums.status(item);
    if (status === 'succeeded' && this.succeeded[item] === 0) {
      this.succeeded[item] = 1;
      this.succeededCount++;
      if (this.succeededCount === this.requests.length) this.end(undefined);
    } else if (status === 'failed') {
      this.end(this.itemError(item, false));
    }
    if (!this.quorums.settled(item)) return;
    this.settledCount++;
    if (!this.ended && this.next < this.requests.length) this.startNext();
    if (this.isSettled) this.coordinator.batchSettled(this);
  }

  private itemError(item: number, timedOut: boolean): RingtableError {
    const n = this.quorums.replicasPerItem;
    return quorumError('write', this.quorums.status(item), this.quorums.answered(item), this.ws[item]!, n, timedOut, this.reason);
  }

  expire(): void {
    if (this.ended) return;
    this.end(this.itemError(this.deadlines.oldestItem(this.next), true));
  }

  private end(error: RingtableError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.done(error);
  }
}

/**
 * Per-item deadlines of a batch whose items start in order: the batch's
 * deadline is that of its oldest unfinished item, found by a cursor that only
 * moves forward (amortised O(1)).
 */
class ItemDeadlines {
  private readonly startedMs: Float64Array;
  private cursor = 0;

  constructor(
    items: number,
    private readonly timeoutMs: number,
    /** 1 where an item no longer needs its deadline. */
    private readonly finished: Uint8Array,
  ) {
    this.startedMs = new Float64Array(items);
  }

  start(item: number, nowMs: number): void {
    this.startedMs[item] = nowMs;
  }

  oldestItem(started: number): number {
    while (this.cursor < started - 1 && this.finished[this.cursor] === 1) this.cursor++;
    return this.cursor;
  }

  oldest(started: number): number {
    if (started === 0) return Infinity;
    return this.startedMs[this.oldestItem(started)]! + this.timeoutMs;
  }
}
