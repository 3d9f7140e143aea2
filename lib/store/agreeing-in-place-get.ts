/**
 * A get of R >= 2 answered before the call returns (readPath 'direct', issue
 * 15 target 2): the R first live replicas of the key are read in place, and
 * when their stored records are byte-identical (agreeing-replies.ts) that
 * record is the answer, as GetOperation's agreeing path answers it, without
 * an operation, a quorum, a deadline, a callback or a message. Identical
 * bytes merge to themselves and leave nothing to repair (read-quorum.ts
 * would find `equal` versions), so nothing the full path decides is skipped.
 *
 * Records that differ only because one replica is behind (its version is
 * one the others' supersede: object-codec.ts syncOrderAt, the rule of
 * sync's own "teaches it nothing") merge to the newest record too: that is
 * the answer, and the replicas behind are read-repaired with it, as the
 * full path's merge and repairs() would do. Under YCSB-B's hot keys a write
 * is nearly always on its way to some replica, and reading, decoding and
 * merging such a key again on the full path was the most a read in place
 * could cost (bench/README.md, "Session s11").
 *
 * Anything else is DECLINED and the caller takes the full path (GetOperation:
 * merge, read repair, purge, retry) exactly as before: concurrent versions
 * (their merge is a third object), the same clock in other bytes, a replica
 * that cannot be read in place now (down, a stand-in, paused,
 * fault-injected, not yet open: read-path.ts and the host decide), an absent
 * copy beside a present one, several siblings, a record that fails to
 * decode, or a tombstone when the R replicas are all N (the full path may
 * purge it, purge-rule.ts).
 */
import assert from 'node:assert/strict';
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';
import type { VersionedObject } from '../version/dotted-version-vector.js';
import { SyncOrder, decodeObject, syncOrderAt } from '../version/object-codec.js';
import { HeldRecord, soleTimestampMs } from './agreeing-replies.js';
import { type GetResult, type ReadClock, resultFromBytes } from './get-result.js';
import { InPlaceState } from './in-place-get.js';

/** The host's half: read `target`'s stored record of `key` in place into `reply`, or false (not readable in place now). */
export type ReadInPlace = (target: number, key: WireKey, reply: PendingReply, tag: number, batch?: boolean) => boolean;

/**
 * The first `r` targets of `list` that `readable` allows, into `into`
 * (length >= r); false when fewer are. Always the same copies of a key while
 * its nodes are up, as firstLiveTarget (routing.ts) for R = 1: nothing is
 * spread by rotating a read no node thread serves.
 */
export function firstReadableTargets(list: Int32Array, r: number, readable: (target: number) => boolean, into: Int32Array): boolean {
  let found = 0;
  for (let i = 0; i < list.length && found < r; i++) {
    const target = list[i]!;
    if (readable(target)) into[found++] = target;
  }
  return found === r;
}

/** The sink of R reads in place of one key; the coordinator keeps one and resets it per get (each read answers synchronously). */
export class AgreeingInPlaceAnswer implements PendingReply {
  state: number = InPlaceState.NONE;
  result: GetResult | undefined = undefined;
  /** The write time the caller's clock observes (hybrid-logical-clock.ts), NaN when none. */
  observedTimestampMs = NaN;
  /** ANSWERED: the targets whose records were behind the answer's, to read-repair with `repairBytes` (staleTargets[0, staleCount)). */
  staleTargets = new Int32Array(2);
  staleCount = 0;
  /** The answer's stored record, copied for the repairs (undefined when none are due). */
  repairBytes: Uint8Array | undefined = undefined;
  /**
   * ANSWERED by a read asked to `keepObject`: the answer's stored object,
   * decoded from a copy of its record (undefined when absent everywhere), for
   * the hot-key cache to keep as the full path's merge would have filled it.
   */
  object: VersionedObject | undefined = undefined;
  private nowMs = 0;
  /** Tells the wall clock when read() was given NaN for it (resultFromBytes asks only for a value that expires); observes nothing: the coordinator observes an answer's write time itself. */
  private readonly expiryClock: ReadClock | undefined;

  /** `wallClockMs`: the coordinator's wall clock, for reads given NaN as their time (most records never expire: no clock read per get). */
  constructor(wallClockMs?: () => number) {
    this.expiryClock = wallClockMs === undefined ? undefined : { wallClockMs, observeTimestampMs: () => {} };
  }
  /**
   * The newest record read so far, copied (the next read reuses lmdb-js's
   * read buffer); none held while none was read or it was absent. Only
   * read() uses it and keeps nothing of it (the value is copied out, the
   * repair's bytes too), so one scratch serves every get.
   */
  private readonly held = new HeldRecord();
  /** The targets whose records are the held one's bytes: behind, once a newer one is read. */
  private holding = new Int32Array(2);
  private holdingCount = 0;
  private absent = false;
  private answers = 0;

  /**
   * Read `targets[0, r)` in place and compare: ANSWERED (result set, and
   * the targets to repair) or DECLINED, or NONE when the host could not read
   * one of them (the caller takes the full path then too). `purgeMayApply`:
   * the R replicas are all N, so a tombstone is left to the full path.
   * `nowMs` NaN: the wall clock given at construction is asked, and only
   * when the answer's value expires.
   */
  read(readInPlace: ReadInPlace, targets: Int32Array, r: number, key: WireKey, nowMs: number, purgeMayApply: boolean, keepObject = false): void {
    if (Number.isNaN(nowMs) && this.expiryClock === undefined) assert.fail('a read without its time needs a wall clock');
    this.state = InPlaceState.NONE;
    this.result = undefined;
    this.observedTimestampMs = NaN;
    this.repairBytes = undefined;
    this.object = undefined;
    this.staleCount = 0;
    this.holdingCount = 0;
    if (this.holding.length < r) {
      this.holding = new Int32Array(r);
      this.staleTargets = new Int32Array(r);
    }
    this.nowMs = nowMs;
    this.absent = false;
    this.answers = 0;
    try {
      for (let i = 0; i < r; i++) {
        if (!readInPlace(targets[i]!, key, this, 0, false)) {
          this.state = InPlaceState.NONE;
          return;
        }
        if (this.state === InPlaceState.DECLINED) return;
      }
      this.decide(purgeMayApply, keepObject);
    } finally {
      this.held.release();
    }
  }

  onReply(target: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    const first = this.answers++ === 0;
    if (status === Status.NOT_FOUND) {
      if (first) this.absent = true;
      else if (!this.absent) this.state = InPlaceState.DECLINED;
      return;
    }
    if (status !== Status.OK) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    if (first) {
      this.held.hold(bytes, at, length);
      this.holding[this.holdingCount++] = target;
      return;
    }
    if (this.absent) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    if (this.held.holds(bytes, at, length)) {
      this.holding[this.holdingCount++] = target;
      return;
    }
    const order = syncOrderAt(this.held.view, 0, this.held.length, view, at, length);
    if (order === SyncOrder.FIRST) {
      // This replica is behind: the merge is the held record.
      this.staleTargets[this.staleCount++] = target;
    } else if (order === SyncOrder.SECOND) {
      // Every replica read so far is behind this one (sync is associative: what the held record supersedes, this one does too).
      for (let i = 0; i < this.holdingCount; i++) this.staleTargets[this.staleCount++] = this.holding[i]!;
      this.holdingCount = 0;
      this.held.hold(bytes, at, length);
      this.holding[this.holdingCount++] = target;
    } else {
      this.state = InPlaceState.DECLINED;
    }
  }

  onNodeFailure(): void {
    this.state = InPlaceState.DECLINED;
  }

  /** Every replica agreed, or was behind the newest: the answer read from the held bytes, as GetOperation's agree() reads it. */
  private decide(purgeMayApply: boolean, keepObject: boolean): void {
    const { bytes, view, length } = this.held;
    if (length < 0) {
      // Absent on every replica asked: what the full path merges to, with nothing to repair or purge.
      this.state = this.absent ? InPlaceState.ANSWERED : InPlaceState.DECLINED;
      return;
    }
    let result: GetResult | undefined | null;
    try {
      // The value is copied out (value-codec.ts, into the value pool): nothing of the scratch is kept.
      result = resultFromBytes(bytes, view, 0, length, this.nowMs, Number.isNaN(this.nowMs) ? this.expiryClock : undefined);
    } catch {
      result = null;
    }
    // Several siblings or undecodable: the full path (it merges, resolves or fails as it always did).
    if (result === null) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    // A tombstone or an expired value: undefined, unless the full path might purge it.
    if (result === undefined && purgeMayApply) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    let object: VersionedObject | undefined;
    try {
      if (keepObject) object = decodeObject(bytes.slice(0, length));
    } catch {
      // resultFromBytes read it; should the whole object not decode, the full path decides as it always did.
      this.state = InPlaceState.DECLINED;
      return;
    }
    this.observedTimestampMs = soleTimestampMs(view, 0, length);
    this.result = result;
    this.object = object;
    if (this.staleCount > 0) this.repairBytes = bytes.slice(0, length);
    this.state = InPlaceState.ANSWERED;
  }
}
