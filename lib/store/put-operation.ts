/**
 * A put or delete in flight (riak_kv's put_fsm): the first replica
 * coordinates (it is the actor of the new version, Dynamo §4.5), then its
 * resulting object goes to the other N-1; acknowledgements feed the pure
 * write quorum (quorum/write-quorum.ts). Once every replica answered it hands
 * the coordinator what to do next as data (settledActions: a tombstone purge).
 */
import type { RingtableError } from '../errors.js';
import { WriteQuorum, type QuorumStatus } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, RequestFlag, type RequestRecord, Status, type WireKey, copyBytes } from '../transport/wire.js';
import type { CausalContext } from '../version/dotted-version-vector.js';
import { type Operation, type OperationHost, type PutCallback, nodeReason, quorumError } from './operation.js';
import { shouldSchedulePurge } from './purge-rule.js';

/** A put or delete as the coordinator sends it: one record per request, reused for its retry. */
export interface PutRequest extends RequestRecord {
  /** Op.PUT. */
  op: number;
  key: WireKey;
  flags: number;
  context: CausalContext | undefined;
  value: Uint8Array;
  timestampMs: number;
  expiresAtMs: number;
}

/** What a write holds while it runs, for pendingBytesMax: its encoded value and its key (UTF-16 units for a string: close enough for a bound). */
export function requestBytesOf(request: PutRequest): number {
  return putBytesOf(request.key, request.value.byteLength);
}

/** requestBytesOf of a put of `key` and an encoded value of `valueBytes`, for a batch that holds no PutRequest (put-many-items.ts). */
export function putBytesOf(key: WireKey, valueBytes: number): number {
  return valueBytes + key.length;
}

export class PutOperation implements PendingReply, Operation {
  readonly request: PutRequest;
  private reason: string | undefined;
  readonly quorum: WriteQuorum;
  /** Infinity until its request goes out (Coordinator.stampWhenSent). */
  deadlineMs: number;
  readonly weight = 1;
  readonly bytes: number;
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
    this.bytes = requestBytesOf(request);
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
    this.coordinator.sendBatched(this.coordinatorNode, q, this, 0);
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
    const replicate: RequestRecord = { op: Op.REPLICATE, flags: 0, key: q.key, context: undefined, value: this.objectBytes, timestampMs: q.timestampMs, expiresAtMs: 0 };
    for (let i = 1; i < replicas.length; i++) this.coordinator.sendBatched(replicas[i]!, replicate, this, 0);
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

  /** Once every replica answered: the tombstone to purge (all N hold it, purge-rule.ts), or undefined. */
  settledActions(n: number): { purgeBytes: Uint8Array | undefined } {
    // Dynamo's tombstones must outlive every stale replica: purge only once all N hold it.
    const tombstoneEverywhere = (this.request.flags & RequestFlag.TOMBSTONE) !== 0 && this.quorum.allAcked && this.objectBytes !== undefined;
    return { purgeBytes: shouldSchedulePurge(tombstoneEverywhere, this.quorum.replicas, n) ? this.objectBytes : undefined };
  }
}
