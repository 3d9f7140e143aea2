/**
 * In-flight requests on the coordinator: a get waiting for R answers, a put
 * waiting for W acknowledgements. They feed node answers into the pure quorum
 * state machines and hand the decisions (result, repairs, purge) back to the
 * coordinator, which does the messaging.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { ReadQuorum } from '../quorum/read-quorum.js';
import { WriteQuorum, type QuorumStatus } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, Status } from '../transport/wire.js';
import { type CausalContext, type VersionedObject, equal, sync } from '../version/dotted-version-vector.js';
import { decodeObject } from '../version/object-codec.js';

/** What operations need from the store that runs them. */
export interface Coordinator {
  send(nodeId: number, op: number, flags: number, key: Uint8Array, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply): void;
  readSettled(operation: GetOperation): void;
  writeSettled(operation: PutOperation): void;
}

export interface Operation {
  readonly deadlineMs: number;
  /** The deadline passed: fail the caller if it is still waiting. */
  expire(): void;
}

const versionOps = { merge: sync, equal };

function quorumError(kind: 'read' | 'write', status: QuorumStatus, answered: number, required: number, contacted: number, timedOut: boolean): RingtableError {
  const code = timedOut ? ErrorCode.TIMEOUT : ErrorCode.QUORUM;
  const what = timedOut ? 'timed out' : 'failed';
  return new RingtableError(code, `${kind} ${what}: ${answered} of ${contacted} replicas answered, ${required} required (${status})`, {
    answered,
    required,
    contacted,
  });
}

export type GetCallback = (error: RingtableError | undefined, object: VersionedObject | undefined) => void;

export class GetOperation implements PendingReply, Operation {
  readonly key: Uint8Array;
  readonly quorum: ReadQuorum<VersionedObject>;
  readonly deadlineMs: number;
  private readonly coordinator: Coordinator;
  private callback: GetCallback | undefined;

  constructor(coordinator: Coordinator, key: Uint8Array, replicas: number[], r: number, deadlineMs: number, callback: GetCallback) {
    this.coordinator = coordinator;
    this.key = key;
    this.quorum = new ReadQuorum(replicas, r, versionOps);
    this.deadlineMs = deadlineMs;
    this.callback = callback;
  }

  start(): void {
    for (const node of this.quorum.replicas) this.coordinator.send(node, Op.GET, 0, this.key, undefined, undefined, 0, 0, this);
  }

  onReply(nodeId: number, status: number, payload: Uint8Array): void {
    if (status === Status.OK) this.quorum.reply(nodeId, decodeObject(payload.slice()));
    else if (status === Status.NOT_FOUND) this.quorum.reply(nodeId, undefined);
    else this.quorum.fail(nodeId);
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
    callback(error, error === undefined ? this.quorum.result() : undefined);
  }

  expire(): void {
    this.finish(this.error(this.quorum.status(), true));
  }
}

export type PutCallback = (error: RingtableError | undefined, objectBytes: Uint8Array | undefined) => void;

export interface PutRequest {
  key: Uint8Array;
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
export class PutOperation implements PendingReply, Operation {
  readonly request: PutRequest;
  readonly quorum: WriteQuorum;
  readonly deadlineMs: number;
  /** The coordinator's resulting object, once it answered. */
  objectBytes: Uint8Array | undefined;
  private readonly coordinator: Coordinator;
  private callback: PutCallback | undefined;

  constructor(coordinator: Coordinator, request: PutRequest, replicas: number[], w: number, deadlineMs: number, callback: PutCallback) {
    this.coordinator = coordinator;
    this.request = request;
    this.quorum = new WriteQuorum(replicas, w);
    this.deadlineMs = deadlineMs;
    this.callback = callback;
  }

  get coordinatorNode(): number {
    return this.quorum.replicas[0]!;
  }

  start(): void {
    const q = this.request;
    this.coordinator.send(this.coordinatorNode, Op.PUT, q.flags, q.key, q.context, q.value, q.timestampMs, q.expiresAtMs, this);
  }

  onReply(nodeId: number, status: number, payload: Uint8Array): void {
    if (nodeId === this.coordinatorNode && this.objectBytes === undefined && status !== Status.OK) return this.coordinatorFailed();
    if (nodeId === this.coordinatorNode && this.objectBytes === undefined) {
      this.objectBytes = payload.slice();
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
    if (nodeId === this.coordinatorNode && this.objectBytes === undefined) return this.coordinatorFailed();
    this.quorum.fail(nodeId);
    this.progress();
  }

  /** Without the coordinator's version there is nothing to replicate: every replica counts as failed. */
  private coordinatorFailed(): void {
    for (const node of this.quorum.replicas) this.quorum.fail(node);
    this.progress();
  }

  private replicate(): void {
    const q = this.request;
    const replicas = this.quorum.replicas;
    for (let i = 1; i < replicas.length; i++) {
      this.coordinator.send(replicas[i]!, Op.REPLICATE, 0, q.key, undefined, this.objectBytes, q.timestampMs, 0, this);
    }
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status !== 'pending') this.finish(status === 'succeeded' ? undefined : this.error(status, false));
    if (this.quorum.settled) this.coordinator.writeSettled(this);
  }

  private error(status: QuorumStatus, timedOut: boolean): RingtableError {
    const q = this.quorum;
    return quorumError('write', status, q.answered, q.required, q.replicas.length, timedOut);
  }

  private finish(error: RingtableError | undefined): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    callback(error, this.objectBytes);
  }

  expire(): void {
    this.finish(this.error(this.quorum.status(), true));
  }
}

/** Fire-and-forget messages (read repair, purge): counted, never awaited by callers. */
export class BackgroundReply implements PendingReply {
  constructor(private readonly onDone: (ok: boolean) => void) {}

  onReply(_nodeId: number, status: number): void {
    this.onDone(status === Status.OK);
  }

  onNodeFailure(): void {
    this.onDone(false);
  }
}
