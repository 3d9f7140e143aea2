/**
 * A get of R >= 2 answered before the call returns (readPath 'direct', issue
 * 15 target 2): the R first live replicas of the key are read in place, and
 * when their stored records are byte-identical (agreeing-replies.ts) that
 * record is the answer, as GetOperation's agreeing path answers it, without
 * an operation, a quorum, a deadline, a callback or a message. Identical
 * bytes merge to themselves and leave nothing to repair (read-quorum.ts
 * would find `equal` versions), so nothing the full path decides is skipped.
 *
 * Anything else is DECLINED and the caller takes the full path (GetOperation:
 * merge, read repair, purge, retry) exactly as before: records that differ
 * (a write or a repair in flight, a replica that missed writes), a replica
 * that cannot be read in place now (down, a stand-in, paused,
 * fault-injected, not yet open: read-path.ts and the host decide), several
 * siblings, a record that fails to decode, or a tombstone when the R
 * replicas are all N (the full path may purge it, purge-rule.ts).
 */
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';
import { HeldRecord, soleTimestampMs } from './agreeing-replies.js';
import { type GetResult, resultFromBytes } from './get-result.js';
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
  private nowMs = 0;
  /**
   * The first replica's record, copied (the next read reuses lmdb-js's read
   * buffer); none held while none was read or it was absent. Only read()
   * uses it and keeps nothing of it (the value is copied out), so one
   * scratch serves every get.
   */
  private readonly held = new HeldRecord();
  private absent = false;
  private answers = 0;

  /**
   * Read `targets[0, r)` in place and compare: ANSWERED (result set) or
   * DECLINED, or NONE when the host could not read one of them (the caller
   * takes the full path then too). `purgeMayApply`: the R replicas are all N,
   * so a tombstone is left to the full path.
   */
  read(readInPlace: ReadInPlace, targets: Int32Array, r: number, key: WireKey, nowMs: number, purgeMayApply: boolean): void {
    this.state = InPlaceState.NONE;
    this.result = undefined;
    this.observedTimestampMs = NaN;
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
      this.decide(purgeMayApply);
    } finally {
      this.held.release();
    }
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number): void {
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
    if (first) this.held.hold(bytes, at, length);
    else if (this.absent || !this.held.holds(bytes, at, length)) this.state = InPlaceState.DECLINED;
  }

  onNodeFailure(): void {
    this.state = InPlaceState.DECLINED;
  }

  /** Every replica agreed: the answer read from the held bytes, as GetOperation's agree() reads it. */
  private decide(purgeMayApply: boolean): void {
    const { bytes, view, length } = this.held;
    if (length < 0) {
      // Absent on every replica asked: what the full path merges to, with nothing to repair or purge.
      this.state = this.absent ? InPlaceState.ANSWERED : InPlaceState.DECLINED;
      return;
    }
    let result: GetResult | undefined | null;
    try {
      // The value is decoded into its own memory (value-codec.ts): nothing of the scratch is kept.
      result = resultFromBytes(bytes, view, 0, length, this.nowMs);
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
    this.observedTimestampMs = soleTimestampMs(view, 0, length);
    this.result = result;
    this.state = InPlaceState.ANSWERED;
  }
}
