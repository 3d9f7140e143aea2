/**
 * What every in-flight operation of the coordinator shares: the host it runs
 * on (coordinator.ts), its accounting shape, its completion callbacks, and the
 * errors it fails with. The operations themselves: get-operation.ts (riak's
 * get_fsm), put-operation.ts (put_fsm), and the batches of operations.ts.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { QuorumStatus } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import type { RequestRecord } from '../transport/wire.js';
import type { VersionedObject } from '../version/dotted-version-vector.js';
import type { GetResult } from './get-result.js';
import type { GetOperation } from './get-operation.js';
import type { PutOperation } from './put-operation.js';

/** What operations need from the coordinator that runs them (coordinator.ts). */
export interface OperationHost {
  send(nodeId: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  /** A GET: possibly answered in place, before this returns (read-path.ts). */
  sendRead(nodeId: number, request: RequestRecord, reply: PendingReply, tag: number, batch?: boolean): void;
  /** `send`, possibly packed with other writes to the same node (a write envelope): for PUT and REPLICATE. */
  sendBatched(nodeId: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  toResult(object: VersionedObject | undefined): GetResult | undefined;
  /** A read returned a version written at `timestampMs` without going through toResult: later writes come after it (the hybrid logical clock). */
  observeTimestampMs(timestampMs: number): void;
  wallClockMs(): number;
  /** A monotonic clock for deadlines (the Node host's monotonic clock in the store). */
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
  /** Encoded bytes it holds until it settles (writes): what it counts against pendingBytesMax. */
  readonly bytes?: number;
  /** Set by the store once the caller has its answer; the rest is background work. */
  callerDone: boolean;
  /** The deadline passed: fail the caller if it is still waiting. */
  expire(): void;
}

/** Completion callbacks carry the caller's tag (a batch index) so a batch needs one closure, not one per item. */
export type GetCallback = (error: RingtableError | undefined, result: GetResult | undefined, tag: number) => void;
export type PutCallback = (error: RingtableError | undefined, objectBytes: Uint8Array | undefined, tag: number) => void;

export function quorumError(
  kind: 'read' | 'write',
  status: QuorumStatus,
  answered: number,
  required: number,
  contacted: number,
  timedOut: boolean,
  reason?: string,
): RingtableError {
  const details = { answered, required, contacted };
  // A node's deterministic refusal keeps its own code: retrying cannot help, unlike a quorum that failed.
  if (!timedOut && reason !== undefined && reason.startsWith(`${ErrorCode.SIBLINGS_FULL}: `)) {
    return new RingtableError(ErrorCode.SIBLINGS_FULL, reason.slice(ErrorCode.SIBLINGS_FULL.length + 2), details);
  }
  const code = timedOut ? ErrorCode.TIMEOUT : ErrorCode.QUORUM;
  const what = timedOut ? 'timed out' : 'failed';
  const because = reason === undefined ? '' : `; a node said: ${reason}`;
  return new RingtableError(code, `${kind} ${what}: ${answered} of ${contacted} replicas answered, ${required} required (${status})${because}`, details);
}

const textDecoder = new TextDecoder();

/** The text a node sent with an ERROR status. */
export function nodeReason(bytes: Uint8Array, at: number, length: number): string {
  return textDecoder.decode(bytes.subarray(at, at + Math.min(length, 1024)));
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
