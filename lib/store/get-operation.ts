/**
 * A get in flight (riak_kv's get_fsm): asks its replicas, feeds their
 * decoded answers to the pure read quorum (quorum/read-quorum.ts), answers
 * the caller at R, and once every replica answered hands the coordinator what
 * to do next as data (settledActions: read repairs, a tombstone purge).
 */
import { ReadQuorum } from '../quorum/read-quorum.js';
import type { QuorumStatus } from '../quorum/write-quorum.js';
import type { PendingReply } from '../transport/node-link.js';
import { Op, type RequestRecord, Status, type WireKey, copyBytes } from '../transport/wire.js';
import { CLOCK_ENTRIES_BOUND, type VersionedObject, boundedForStorage, equal, siblingsOf, sync } from '../version/dotted-version-vector.js';
import { decodeObject, encodeObject } from '../version/object-codec.js';
import { type GetResult, resultError, resultFromBytes } from './get-result.js';
import type { RingtableError } from '../errors.js';
import { type GetCallback, type Operation, type OperationHost, quorumError } from './operation.js';
import { shouldSchedulePurge } from './purge-rule.js';
import { heldCopy, isScratch, released, sameBytes, soleTimestampMs } from './agreeing-replies.js';

/**
 * The merge of R replicas' objects may hold up to R times the clock entries
 * one object may (ENTRIES_MAX): answered and repaired with as boundedForStorage
 * truncates it, so that its context (what the next put passes back) names at
 * most what one object holds, keeping every entry with a value and the newest
 * others. A larger context is taken back too (CONTEXT_ENTRIES_MAX), but the
 * coordinating node must then truncate its young entries, and may drop the
 * very entries that supersede the values the read showed. Untouched when its
 * values alone pass the bound (nothing can hold it: no repair, below).
 */
const versionOps = { merge: sync, equal, bound: (merged: VersionedObject) => boundedForStorage(merged) ?? merged };

/** What a settled read leaves to do: repair these replicas with the merge, and purge a tombstone every replica holds. */
export interface ReadSettledActions {
  repairTargets: number[];
  /** The merge to write to each repair target (undefined: none). */
  repairBytes: Uint8Array | undefined;
  /** The tombstone to purge from the replicas (purge-rule.ts), or undefined. */
  purgeBytes: Uint8Array | undefined;
}

/** Nothing to do once a read settled: the common case (one replica asked, or all agreed), shared rather than allocated per read. */
const NOTHING_TO_DO: ReadSettledActions = Object.freeze({ repairTargets: [], repairBytes: undefined, purgeBytes: undefined }) as ReadSettledActions;

export class GetOperation implements PendingReply, Operation, RequestRecord {
  readonly key: WireKey;
  // The GET it sends: the operation is its own request record (no allocation
  // per request). Its constant fields live on the prototype (below), not on
  // each instance: six own fields defined per get cost more than the rest of
  // its construction (a main-thread profile of the transport bench).
  declare readonly op: number;
  declare readonly flags: number;
  declare readonly context: undefined;
  declare readonly value: undefined;
  declare readonly timestampMs: number;
  declare readonly expiresAtMs: number;
  readonly quorum: ReadQuorum<VersionedObject>;
  /** Infinity until its request goes out (Coordinator.stampWhenSent). */
  deadlineMs: number;
  readonly weight = 1;
  callerDone = false;
  private readonly coordinator: OperationHost;
  private callback: GetCallback | undefined;
  private readonly tag: number;
  /** Set by the single-answer fast path, which skips the merge. */
  private direct: GetResult | undefined;
  /** Always merge, even one answer (the hot-key cache keeps the merged object). */
  keepObject = false;
  /** Two replicas, R = 2: the first answer's bytes, held undecoded until the second shows whether they agree (agreeing-replies.ts). */
  private held: Buffer | undefined;
  private heldNode = -1;
  /** Both answers agreed byte for byte: nothing to repair or purge. */
  private agreed = false;
  /** The first answer that could not be used (replyFailed): what a failed read reports. */
  private replyError: unknown;

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
    for (let i = 0; i < replicas.length; i++) this.coordinator.sendRead(replicas[i]!, this, this, 0);
  }

  onReply(nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    try {
      this.takeReply(nodeId, status, bytes, view, at, length);
    } catch (error) {
      this.replyFailed(nodeId, error);
    }
  }

  /**
   * An answer this read could not use (its object does not decode) counts as
   * its replica's failure, once; one whose handling threw after it was
   * counted (settling: a merge that would not encode for read repair, before
   * boundedForStorage) is not counted again. If the read then fails, the
   * caller hears that error, not a quorum's. Handled here and never
   * rethrown: the link would fail the request again (node-link.ts
   * failReply), and the quorum, which may have counted the answer already,
   * asserted "node N answered twice", which failReply could only report as
   * a warning.
   */
  private replyFailed(nodeId: number, error: unknown): void {
    this.replyError ??= error;
    this.releaseHeldOrFail();
    if (!this.quorum.heard(nodeId)) this.quorum.fail(nodeId);
    // Finished and settled once only: finish drops its callback, Coordinator.readSettled ignores an operation it settled.
    this.progress();
  }

  private takeReply(nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (status === Status.OK && this.mayAgree()) {
      if (this.held === undefined) {
        this.held = heldCopy(bytes, at, length);
        this.heldNode = nodeId;
        return;
      }
      if (sameBytes(this.held, bytes, at, length) && this.agree(nodeId)) return this.progress();
    }
    // A held answer that does not decode fails its own replica; this one is counted as it is.
    const thrown = this.releaseHeldOrFail();
    if (thrown !== undefined) this.replyError ??= thrown;
    if (status === Status.OK) {
      // One replica asked, one answer needed: nothing to merge or repair, so
      // read the answer in place (the common cache read, R = 1).
      const direct = this.quorum.replicas.length === 1 && !this.keepObject ? resultFromBytes(bytes, view, at, length, this.coordinator.wallClockMs(), this.coordinator) : null;
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

  /** The shortcut applies: two replicas asked, both needed, no object kept, and neither has been counted yet. */
  private mayAgree(): boolean {
    const q = this.quorum;
    return q.replicas.length === 2 && q.required === 2 && !this.keepObject && q.answered === 0 && q.status() === 'pending';
  }

  /** The second answer is the held bytes: answer from them as an R = 1 read does, unless they hold no single live value. */
  private agree(nodeId: number): boolean {
    const held = this.held!;
    const view = new DataView(held.buffer, held.byteOffset, held.byteLength);
    // The value is copied out (value-codec.ts, into the value pool), the clock read into numbers: nothing of `held` is kept.
    const result = resultFromBytes(held, view, 0, held.byteLength, this.coordinator.wallClockMs());
    // Several siblings, a tombstone (whose purge the full path decides) or an expired value: the full path.
    if (result === null || result === undefined) return false;
    // As toResult does: a write made with this read's context comes after what it read.
    this.coordinator.observeTimestampMs(soleTimestampMs(view));
    this.held = undefined;
    released(held);
    this.direct = result;
    this.agreed = true;
    this.quorum.reply(this.heldNode, undefined);
    this.quorum.reply(nodeId, undefined);
    return true;
  }

  /** Count the held answer as the full path does (decoded), before anything else is counted. */
  private releaseHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    // The decoded object's values are views into its bytes: the shared scratch is copied first.
    const object = decodeObject(isScratch(held) ? copyBytes(held) : held);
    released(held);
    this.quorum.reply(this.heldNode, object);
  }

  onNodeFailure(nodeId: number): void {
    const thrown = this.releaseHeldOrFail();
    if (thrown !== undefined) this.replyError ??= thrown;
    this.quorum.fail(nodeId);
    this.progress();
  }

  /** releaseHeld, but a held answer that does not decode counts as its replica's failure: what it threw, or undefined. */
  private releaseHeldOrFail(): unknown {
    if (this.held === undefined) return undefined;
    const heldNode = this.heldNode;
    try {
      this.releaseHeld();
      return undefined;
    } catch (thrown) {
      this.quorum.fail(heldNode);
      return thrown;
    }
  }

  private progress(): void {
    const status = this.quorum.status();
    if (status !== 'pending') this.finish(status === 'succeeded' ? undefined : this.error(status, false));
    if (this.quorum.settled) this.coordinator.readSettled(this);
  }

  private error(status: QuorumStatus, timedOut: boolean): RingtableError {
    // A replica's answer that could not be used is why it failed: its own error (resultError's code).
    if (!timedOut && this.replyError !== undefined) return resultError(this.replyError);
    const q = this.quorum;
    return quorumError('read', status, q.answered, q.required, q.replicas.length, timedOut);
  }

  private finish(error: RingtableError | undefined): void {
    const callback = this.callback;
    if (callback === undefined) return;
    this.callback = undefined;
    if (error !== undefined) return callback(error, undefined, this.tag);
    // The result runs the user's resolver: evaluated before the callback, so that a throw rejects the caller instead of escaping.
    let result: GetResult | undefined;
    try {
      result = this.direct ?? this.coordinator.toResult(this.quorum.result());
    } catch (thrown) {
      return callback(resultError(thrown), undefined, this.tag);
    }
    callback(undefined, result, this.tag);
  }

  expire(): void {
    this.releaseHeldOrFail();
    this.finish(this.error(this.quorum.status(), true));
  }

  /** Once every replica answered: the repairs and the purge it decided (coordinator.ts readSettled sends them). */
  settledActions(n: number): ReadSettledActions {
    // One answer (an R = 1 read) repairs nothing; it purges only when it is every replica (N = 1) and holds a tombstone.
    // Two that agreed byte for byte hold one live value: nothing to repair or purge.
    if (this.agreed) return NOTHING_TO_DO;
    if (this.quorum.answered < 2 && (this.quorum.result() === undefined || this.quorum.replicas.length !== n)) return NOTHING_TO_DO;
    const merged = this.quorum.result();
    // Bounded already (versionOps.bound), unless its values alone pass the bound: no replica would store it, so no repair.
    const bounded = merged === undefined || merged.entries.length > CLOCK_ENTRIES_BOUND ? undefined : merged;
    const repairs = bounded === undefined ? [] : this.quorum.repairs();
    const repairBytes = repairs.length > 0 ? encodeObject(bounded!) : undefined;
    // The cheap test first: only a tombstone read asks whether all N agree.
    const tombstoneEverywhere = bounded !== undefined && isAllTombstones(bounded) && this.quorum.unanimous();
    const purgeBytes = shouldSchedulePurge(tombstoneEverywhere, this.quorum.replicas, n) ? encodeObject(bounded!) : undefined;
    return { repairTargets: repairs.map((repair) => repair.node), repairBytes, purgeBytes };
  }
}

Object.defineProperties(GetOperation.prototype, {
  op: { value: Op.GET },
  flags: { value: 0 },
  context: { value: undefined },
  value: { value: undefined },
  timestampMs: { value: 0 },
  expiresAtMs: { value: 0 },
});

function isAllTombstones(object: VersionedObject): boolean {
  const siblings = siblingsOf(object);
  return siblings.length > 0 && siblings.every((s) => s.tombstone);
}
