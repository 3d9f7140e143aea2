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
import assert from 'node:assert/strict';
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';
import { soleTimestampMs } from './agreeing-replies.js';
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
   * buffer) into this answer's own scratch: `heldBytes[0, heldLength)`, -1
   * while none was read or it was absent. Only read() uses it, and it keeps
   * nothing of it (the value is copied out), so one scratch serves every get
   * with no object per get: a Buffer per held copy, a DataView on it, and a
   * view for the value's copy out of a Buffer were a tenth of the
   * coordinator's bytes per YCSB-B operation. A plain Uint8Array, so that the
   * value's copy is one slice (value-codec.ts decodeValueInPlace) and any
   * other value meets msgpackr with the same source (its DataView is cached).
   */
  private heldBytes: Uint8Array<ArrayBuffer> = new Uint8Array(HELD_BYTES_START);
  /** Buffer and DataView over heldBytes' memory: for compare, and for reading the record's fields. */
  private heldBuffer = bufferOver(this.heldBytes);
  private heldView = new DataView(this.heldBytes.buffer);
  private heldLength = -1;
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
      this.releaseHeld();
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
    if (first) this.hold(bytes, at, length);
    else if (this.absent || !this.holds(bytes, at, length)) this.state = InPlaceState.DECLINED;
  }

  private hold(bytes: Uint8Array, at: number, length: number): void {
    if (length > this.heldBytes.byteLength) this.heldScratch(new Uint8Array(Math.max(length, this.heldBytes.byteLength * 2)));
    this.heldBytes.set(bytes.subarray(at, at + length), 0);
    this.heldLength = length;
  }

  /** Whether `bytes[at, at + length)` is exactly the held record (Buffer.compare's native loop, no view made). */
  private holds(bytes: Uint8Array, at: number, length: number): boolean {
    assert.ok(this.heldLength >= 0, 'a second answer compared with no first held');
    return length === this.heldLength && this.heldBuffer.compare(bytes, at, at + length, 0, length) === 0;
  }

  private heldScratch(bytes: Uint8Array<ArrayBuffer>): void {
    this.heldBytes = bytes;
    this.heldBuffer = bufferOver(bytes);
    this.heldView = new DataView(bytes.buffer);
  }

  onNodeFailure(): void {
    this.state = InPlaceState.DECLINED;
  }

  /** Every replica agreed: the answer read from the held bytes, as GetOperation's agree() reads it. */
  private decide(purgeMayApply: boolean): void {
    const length = this.heldLength;
    if (length < 0) {
      // Absent on every replica asked: what the full path merges to, with nothing to repair or purge.
      this.state = this.absent ? InPlaceState.ANSWERED : InPlaceState.DECLINED;
      return;
    }
    let result: GetResult | undefined | null;
    try {
      // The value is decoded into its own memory (value-codec.ts): nothing of the scratch is kept.
      result = resultFromBytes(this.heldBytes, this.heldView, 0, length, this.nowMs);
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
    this.observedTimestampMs = soleTimestampMs(this.heldView, 0, length);
    this.result = result;
    this.state = InPlaceState.ANSWERED;
  }

  /** The scratch is free for the next get; one grown past HELD_BYTES_MAX for a large record is not kept. */
  private releaseHeld(): void {
    this.heldLength = -1;
    if (this.heldBytes.byteLength > HELD_BYTES_MAX) this.heldScratch(new Uint8Array(HELD_BYTES_START));
  }
}

/** The held scratch's first size, and the most it keeps between gets (a larger record gets a scratch of its own, dropped after). */
const HELD_BYTES_START = 4096;
const HELD_BYTES_MAX = 64 * 1024;

function bufferOver(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
