/**
 * Commit the leader's copy of one leader-ordered key to W replicas before it
 * is served (uncommitted-keys.ts; Raft §5.4.2): read it at the leader under
 * its term (ORDERED_GET), send that object to the other replicas
 * (ORDERED_REPLICATE of the same term: each keeps the greater version), and
 * answer once W of them, the leader among them, hold it. The object answered
 * is exactly the one committed, so a failover can no longer take it back.
 * Fails as a write would (ERR_QUORUM) when fewer than W replicas take it.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { WriteQuorum } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { ExpectKind, Op, type RequestRecord, Status, type WireKey, copyBytes, encodeOrderedValue, requestOf } from '../transport/wire.js';
import { decodeObject } from '../version/object-codec.js';
import { orderedEntryOf } from '../version/ordered-version.js';
import { nodeReason, quorumError } from './operation.js';

export interface KeyCommitHost {
  send(target: number, request: RequestRecord, reply: PendingReply, tag: number): void;
  /** The node refused `term` (knowing `knownTerm`): elect again at the next request. */
  leaderRefused(partition: number, term: number, knownTerm: number): void;
}

/**
 * `version`: the committed object's (0 when the leader had none: nothing to
 * commit). On failure `status` is Status.STALE_TERM when a replica refused
 * the term (the leader was deposed or restarted: route again), else ERROR.
 */
export type KeyCommitCallback = (error: RingtableError | undefined, status: number, objectBytes: Uint8Array | undefined, version: number) => void;

export class KeyCommit implements PendingReply {
  private readonly host: KeyCommitHost;
  private readonly key: WireKey;
  private readonly partition: number;
  private readonly list: Int32Array;
  private readonly leader: number;
  private readonly term: number;
  private readonly quorum: WriteQuorum;
  private callback: KeyCommitCallback | undefined;
  private objectBytes: Uint8Array | undefined;
  private version = 0;
  private reason: string | undefined;
  private refused = false;

  constructor(host: KeyCommitHost, key: WireKey, partition: number, list: Int32Array, leader: number, term: number, w: number, callback: KeyCommitCallback) {
    this.host = host;
    this.key = key;
    this.partition = partition;
    this.list = list;
    this.leader = leader;
    this.term = term;
    this.quorum = new WriteQuorum(list, Math.min(w, list.length));
    this.callback = callback;
  }

  start(): void {
    this.host.send(this.leader, requestOf(Op.ORDERED_GET, this.key, this.fields(undefined)), this, 0);
  }

  private fields(objectBytes: Uint8Array | undefined): Uint8Array {
    return encodeOrderedValue({ partition: this.partition, term: this.term, expect: ExpectKind.NONE, expectVersion: 0, flags: 0 }, objectBytes);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
    if (this.objectBytes === undefined && nodeId === this.leader) return this.leaderAnswered(status, bytes, at, length);
    if (status === Status.OK) this.quorum.ack(nodeId);
    else {
      if (status === Status.STALE_TERM) this.refuse(bytes, at, length);
      if (status === Status.ERROR) this.reason ??= nodeReason(bytes, at, length);
      this.quorum.fail(nodeId);
    }
    this.progress();
  }

  private leaderAnswered(status: number, bytes: Uint8Array, at: number, length: number): void {
    if (status === Status.NOT_FOUND) return this.finish(undefined, Status.NOT_FOUND);
    if (status !== Status.OK) {
      if (status === Status.STALE_TERM) this.refuse(bytes, at, length);
      const reason = status === Status.ERROR ? nodeReason(bytes, at, length) : status === Status.STALE_TERM ? `the leader, node ${this.leader}, refused term ${this.term}` : undefined;
      return this.finish(quorumError('write', 'failed', 0, this.quorum.required, this.list.length, false, reason), this.failedStatus());
    }
    const objectBytes = copyBytes(bytes, at, at + length);
    const entry = orderedEntryOf(decodeObject(objectBytes));
    if (entry === undefined) {
      return this.finish(new RingtableError(ErrorCode.NODE_FAILED, `the leader's copy of the key is not leader-ordered`), Status.ERROR);
    }
    this.objectBytes = objectBytes;
    this.version = entry.version;
    this.quorum.ack(this.leader);
    const value = this.fields(objectBytes);
    for (let i = 0; i < this.list.length; i++) {
      const node = this.list[i]!;
      if (node !== this.leader) this.host.send(node, { op: Op.ORDERED_REPLICATE, flags: 0, key: this.key, context: undefined, value, timestampMs: 0, expiresAtMs: 0 }, this, 0);
    }
    this.progress();
  }

  onNodeFailure(nodeId: number): void {
    if (this.objectBytes === undefined) return this.finish(quorumError('write', 'failed', 0, this.quorum.required, this.list.length, false, `the leader, node ${nodeId}, failed`), Status.ERROR);
    if (!this.quorum.hasAnswered(nodeId)) this.quorum.fail(nodeId);
    this.progress();
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status === 'succeeded') this.finish(undefined, Status.OK);
    else if (status === 'failed') this.finish(quorumError('write', status, this.quorum.answered, this.quorum.required, this.list.length, false, this.reason), this.failedStatus());
  }

  private refuse(bytes: Uint8Array, at: number, length: number): void {
    this.refused = true;
    this.host.leaderRefused(this.partition, this.term, knownTermOf(bytes, at, length));
  }

  private failedStatus(): number {
    return this.refused ? Status.STALE_TERM : Status.ERROR;
  }

  private finish(error: RingtableError | undefined, status: number): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    callback(error, status, error === undefined ? this.objectBytes : undefined, error === undefined ? this.version : 0);
  }
}

function knownTermOf(bytes: Uint8Array, at: number, length: number): number {
  return length === 8 ? new DataView(bytes.buffer, bytes.byteOffset + at, 8).getFloat64(0, true) : 0;
}
