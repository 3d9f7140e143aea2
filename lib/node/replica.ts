/**
 * A storage node's side of every request: read, coordinate a write, merge a
 * replicated write, purge a tombstone, sweep expired items. Transport-agnostic:
 * requests arrive as message bytes (wire.ts), answers leave through a
 * ResponseSink, and storage sits behind StorageEngine, so the same code runs in
 * a worker over SharedArrayBuffer rings, over postMessage, or in a simulation.
 */
import assert from 'node:assert/strict';
import {
  type CausalContext,
  type Sibling,
  type VersionedObject,
  descends,
  equal,
  join,
  lastWriterWins,
  siblingsOf,
  sync,
  truncate,
  update,
} from '../version/dotted-version-vector.js';
import { checkObjectBytes, decodeObject, encodeObject, encodeObjectTransient } from '../version/object-codec.js';
import type { ExpiryCandidate, StorageEngine, WriteBatch } from '../storage/storage-engine.js';
import { EPOCH_MAX, EPOCH_RESTART_MARGIN, actorOf, nodeOfActor } from '../version/actor.js';
import { CONTEXT_PAIR_BYTES, Op, Request, RequestFlag, Status, contextOffset, copyBytes, requestBytes } from '../transport/wire.js';

export interface ResponseSink {
  /** `payload` may be a view that is only valid during the call: copy it. */
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void;
}

export interface ReplicaConfig {
  nodeId: number;
  /** Largest encoded object this node stores: beyond it a write is refused. */
  objectBytesMax: number;
  conflicts: 'siblings' | 'lww';
  /** Dynamo §4.4: bound on clock entries per object. */
  clockEntriesMax: number;
}

/** Counters shared with the coordinator for `store.stats()` (order fixed by NodeStat). */
export const NodeStat = {
  GETS: 0,
  PUTS: 1,
  REPLICATES: 2,
  PURGES: 3,
  KEYS: 4,
  BYTES: 5,
  ERRORS: 6,
  COMMITS: 7,
  EXPIRED: 8,
  COUNT: 9,
} as const;

/** Shared by every write without a context (most of them): never mutated. */
const NO_CONTEXT: [number, number][] = [];

interface PendingWrite {
  op: number;
  requestId: number;
  flags: number;
  key: Uint8Array;
  context: CausalContext;
  value: Uint8Array;
  timestampMs: number;
  expiresAtMs: number;
}

export class Replica {
  private readonly engine: StorageEngine;
  private readonly config: ReplicaConfig;
  private readonly sink: ResponseSink;
  readonly stats: Float64Array;
  private queued: PendingWrite[] = [];
  private commitsInFlight = 0;
  /** This node's current actor epoch (version/actor.ts); persisted with the writes that use it. */
  private epoch: number;
  private epochUnsaved = false;
  private lastCommit: Promise<unknown> = Promise.resolve();

  constructor(engine: StorageEngine, config: ReplicaConfig, sink: ResponseSink, stats: Float64Array) {
    assert.ok(stats.length >= NodeStat.COUNT);
    this.engine = engine;
    this.config = config;
    this.sink = sink;
    this.stats = stats;
    this.epoch = Math.min(engine.readEpoch() + EPOCH_RESTART_MARGIN, EPOCH_MAX);
    // Persisted before any write can use it; ordered before every later commit.
    // A failure here surfaces again, as an error, on the first write's commit.
    engine.write((batch) => batch.writeEpoch(this.epoch))?.catch(() => this.stats[NodeStat.ERRORS]!++);
  }

  get hasCommitsInFlight(): boolean {
    return this.commitsInFlight > 0;
  }

  /** Settles when the newest commit (and so, in order, every earlier one) is answered. */
  committed(): Promise<unknown> {
    return this.lastCommit;
  }

  /**
   * `handle`, but a request that cannot be served (a storage error, a frame
   * that fails its checks) is answered with an error and the node goes on:
   * one bad request never stops a node or touches stored data.
   */
  handleSafely(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    try {
      this.handle(bytes, view, offset, length);
    } catch (error) {
      this.stats[NodeStat.ERRORS]!++;
      const op = view.getUint8(offset + Request.OP);
      const requestId = view.getUint32(offset + Request.REQUEST_ID, true);
      this.sink.respond(op, Status.ERROR, requestId, new TextEncoder().encode(toError(error).message));
    }
  }

  /** Handle one request message. Reads answer at once; writes wait for `commit()`. */
  handle(bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const op = view.getUint8(offset + Request.OP);
    const requestId = view.getUint32(offset + Request.REQUEST_ID, true);
    const keyBytes = view.getUint32(offset + Request.KEY_BYTES, true);
    const contextPairs = view.getUint32(offset + Request.CONTEXT_PAIRS, true);
    const valueBytes = view.getUint32(offset + Request.VALUE_BYTES, true);
    // Check after reading (style: assert on both sides of the wire).
    assert.equal(requestBytes(keyBytes, contextPairs, valueBytes), length, `request ${requestId} length mismatch`);
    const keyAt = offset + Request.HEADER_BYTES;
    if (op === Op.GET) return this.get(requestId, bytes.subarray(keyAt, keyAt + keyBytes));
    if (op === Op.PING) return this.sink.respond(op, Status.OK, requestId, undefined);
    assert.ok(op === Op.PUT || op === Op.REPLICATE || op === Op.PURGE, `unknown op ${op}`);
    const contextAt = offset + contextOffset(keyBytes);
    const context: [number, number][] = contextPairs === 0 ? NO_CONTEXT : [];
    for (let i = 0; i < contextPairs; i++) {
      const at = contextAt + i * CONTEXT_PAIR_BYTES;
      context.push([view.getFloat64(at, true), view.getFloat64(at + 8, true)]);
    }
    const valueAt = contextAt + contextPairs * CONTEXT_PAIR_BYTES;
    this.queued.push({
      op,
      requestId,
      flags: view.getUint8(offset + Request.FLAGS),
      // Copies: the ring's bytes are released before the commit runs.
      key: copyBytes(bytes, keyAt, keyAt + keyBytes),
      context,
      value: copyBytes(bytes, valueAt, valueAt + valueBytes),
      timestampMs: view.getFloat64(offset + Request.TIMESTAMP_MS, true),
      expiresAtMs: view.getFloat64(offset + Request.EXPIRES_AT_MS, true),
    });
  }

  private get(requestId: number, key: Uint8Array): void {
    this.stats[NodeStat.GETS]!++;
    const stored = this.engine.get(key);
    this.sink.respond(Op.GET, stored === undefined ? Status.NOT_FOUND : Status.OK, requestId, stored);
  }

  /** Commit every queued write in one transaction (group commit), then answer them all. */
  commit(): Promise<void> | undefined {
    if (this.queued.length === 0) return undefined;
    const writes = this.queued;
    this.queued = [];
    const results: (Uint8Array | Error | undefined)[] = new Array(writes.length);
    let committed: Promise<void> | undefined;
    try {
      committed = this.engine.write((batch) => {
        for (let i = 0; i < writes.length; i++) results[i] = this.applyCatching(batch, writes[i]!);
        if (this.epochUnsaved) batch.writeEpoch(this.epoch);
        this.epochUnsaved = false;
      });
    } catch (error) {
      committed = Promise.reject(error);
    }
    if (committed === undefined) {
      // Committed and as durable as promised already: answer now.
      this.answer(writes, results);
      return undefined;
    }
    return this.inFlight(
      committed.then(
        () => this.answer(writes, results),
        (error: unknown) => this.answer(writes, writes.map(() => toError(error))),
      ),
    );
  }

  /**
   * Track a commit that completes later (on lmdb-js's writer thread): the
   * node loop waits on `committed()` instead of sleeping, so the commit's
   * callbacks get their event-loop turns. Commits complete in order, so the
   * newest one settling means every earlier one has.
   */
  private inFlight<T>(work: Promise<T>): Promise<T> {
    this.commitsInFlight++;
    const tracked = work.finally(() => {
      this.commitsInFlight--;
    });
    this.lastCommit = tracked;
    return tracked;
  }

  private answer(writes: PendingWrite[], results: (Uint8Array | Error | undefined)[]): void {
    this.stats[NodeStat.COMMITS]!++;
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const result = results[i];
      if (result instanceof Error) {
        this.stats[NodeStat.ERRORS]!++;
        this.sink.respond(write.op, Status.ERROR, write.requestId, new TextEncoder().encode(result.message));
      } else {
        this.sink.respond(write.op, Status.OK, write.requestId, result);
      }
    }
  }

  private applyCatching(batch: WriteBatch, write: PendingWrite): Uint8Array | Error | undefined {
    try {
      if (write.op === Op.PUT) return this.coordinate(batch, write);
      if (write.op === Op.REPLICATE) return this.replicate(batch, write);
      return this.purge(batch, write);
    } catch (error) {
      // A bad request fails alone: the batch and the worker go on.
      return toError(error);
    }
  }

  /** The coordinator's write: this node is the actor of the new dot. */
  private coordinate(batch: WriteBatch, write: PendingWrite): Uint8Array {
    this.stats[NodeStat.PUTS]!++;
    const stored = batch.get(write.key);
    const local = stored === undefined ? undefined : decodeObject(copyBytes(stored));
    const sibling: Sibling = {
      value: write.value,
      timestampMs: write.timestampMs,
      expiresAtMs: write.expiresAtMs,
      tombstone: (write.flags & RequestFlag.TOMBSTONE) !== 0,
    };
    const blind = (write.flags & RequestFlag.BLIND) !== 0;
    const context = blind && local !== undefined ? join(local) : write.context;
    const next = this.settle(update(local, context, sibling, this.actorFor(local)));
    // Kept until the commit is answered: its own buffer, not the transient one.
    const encoded = encodeObject(next);
    this.checkObjectSize(encoded.byteLength);
    batch.put(write.key, encoded);
    if (write.expiresAtMs > 0) batch.indexExpiry(write.key, write.expiresAtMs);
    return encoded;
  }

  /** A replica's write: merge the coordinator's object into ours (DVVSet sync). */
  private replicate(batch: WriteBatch, write: PendingWrite): undefined {
    this.stats[NodeStat.REPLICATES]!++;
    const stored = batch.get(write.key);
    if (stored === undefined && this.config.conflicts === 'siblings') {
      // A key this replica does not hold yet: keep the coordinator's bytes as
      // they are, once their layout is checked (the common path of a put).
      checkObjectBytes(write.value, (expiresAtMs) => batch.indexExpiry(write.key, expiresAtMs));
      batch.put(write.key, write.value);
      return undefined;
    }
    const incoming = decodeObject(write.value);
    const local = stored === undefined ? undefined : decodeObject(copyBytes(stored));
    const next = this.settle(local === undefined ? incoming : sync(local, incoming));
    if (local !== undefined && equal(local, next)) return undefined;
    const encoded = encodeObjectTransient(next);
    this.checkObjectSize(encoded.byteLength);
    batch.put(write.key, encoded);
    for (const sibling of siblingsOf(incoming)) {
      if (sibling.expiresAtMs > 0) batch.indexExpiry(write.key, sibling.expiresAtMs);
    }
    return undefined;
  }

  /**
   * Remove a tombstone, but only if nothing newer than the purged version
   * arrived meanwhile: a concurrent put must survive the purge.
   */
  private purge(batch: WriteBatch, write: PendingWrite): undefined {
    this.stats[NodeStat.PURGES]!++;
    const stored = batch.get(write.key);
    if (stored === undefined) return undefined;
    const local = decodeObject(copyBytes(stored));
    const purged = decodeObject(write.value);
    if (descends(purged, local) && siblingsOf(local).every((s) => s.tombstone)) batch.remove(write.key);
    return undefined;
  }

  private checkObjectSize(bytes: number): void {
    if (bytes > this.config.objectBytesMax) {
      throw new Error(`the key's versions would take ${bytes} bytes, over objectBytesMax (${this.config.objectBytesMax}): resolve its siblings with a put that carries their context`);
    }
  }

  /**
   * Reuse this node's actor only where the key's local clock shows it;
   * otherwise take a fresh epoch, so no dot is ever minted twice.
   */
  private actorFor(local: VersionedObject | undefined): number {
    let newest = -1;
    if (local !== undefined) {
      for (const entry of local.entries) {
        if (nodeOfActor(entry.actor) === this.config.nodeId && entry.actor > newest) newest = entry.actor;
      }
    }
    if (newest >= 0) return newest;
    assert.ok(this.epoch < EPOCH_MAX, 'actor epochs exhausted');
    this.epoch++;
    this.epochUnsaved = true;
    return actorOf(this.config.nodeId, this.epoch);
  }

  private settle(object: VersionedObject): VersionedObject {
    const resolved = this.config.conflicts === 'lww' ? lastWriterWins(object) : object;
    return truncate(resolved, this.config.clockEntriesMax);
  }

  /**
   * Remove items whose every value has expired. Expiry times travel with the
   * value, so every replica holding a version expires it at the same instant.
   */
  sweepExpired(nowMs: number, limit: number): Promise<number> | undefined {
    try {
      return this.sweepExpiredUnsafe(nowMs, limit)?.catch(() => this.sweepFailed());
    } catch {
      this.sweepFailed();
      return undefined;
    }
  }

  /** A failed sweep changes nothing stored (its transaction aborts); the next one retries. */
  private sweepFailed(): number {
    this.stats[NodeStat.ERRORS]!++;
    return 0;
  }

  private sweepExpiredUnsafe(nowMs: number, limit: number): Promise<number> | undefined {
    const due = this.engine.dueExpiries(nowMs, limit);
    if (due.length === 0) return undefined;
    let removed = 0;
    const committed = this.engine.write((batch) => {
      for (const candidate of due) removed += this.expireOne(batch, candidate, nowMs);
    });
    // Counted once committed: with a durable engine the transaction (and so
    // the count) runs later, on lmdb-js's writer thread.
    const count = () => {
      this.stats[NodeStat.EXPIRED]! += removed;
      return removed;
    };
    if (committed === undefined) {
      count();
      return undefined;
    }
    return this.inFlight(committed.then(count));
  }

  private expireOne(batch: WriteBatch, candidate: ExpiryCandidate, nowMs: number): number {
    batch.removeExpiry(candidate);
    const stored = batch.get(candidate.key);
    if (stored === undefined) return 0;
    const siblings = siblingsOf(decodeObject(copyBytes(stored)));
    const allExpired = siblings.every((s) => s.expiresAtMs > 0 && s.expiresAtMs <= nowMs);
    if (!allExpired) return 0;
    batch.remove(candidate.key);
    return 1;
  }

  refreshCounts(): void {
    const counts = this.engine.counts();
    this.stats[NodeStat.KEYS] = counts.keys;
    this.stats[NodeStat.BYTES] = counts.bytes;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
