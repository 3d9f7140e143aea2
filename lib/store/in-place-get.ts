/**
 * An R = 1 get answered before the call returns (readPath 'direct'): one
 * replica read in place is the whole read, as GetOperation's one-answer path
 * (one replica asked, one answer needed: nothing to merge, repair or purge
 * when N > 1), without an operation, a quorum, a deadline or a callback.
 * Only the plain answers are taken here: a single live sibling, a tombstone or
 * an expired value, or nothing. Anything else (siblings, a value that fails
 * to decode, a node that cannot be read in place now) is left to GetOperation,
 * which reads again and answers, fails or repairs as it always did.
 */
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';
import { type GetResult, type TimestampObserver, resultFromBytes } from './get-result.js';
import type { GetCallback } from './operation.js';

/** Gets waiting for the next macrotask at most (each also counts against pendingMax); past it, a get is started as any other. */
export const LATER_GETS_MAX = 65_536;

/** Gets waiting for the next macrotask to be read in place (Coordinator.getLater), oldest first. */
export class LaterGets {
  private keys: WireKey[] = [];
  private cacheables: boolean[] = [];
  private rs: number[] = [];
  private callbacks: GetCallback[] = [];
  private head = 0;

  get size(): number {
    return this.keys.length - this.head;
  }

  push(key: WireKey, cacheable: boolean, callback: GetCallback, r = 1): void {
    this.keys.push(key);
    this.cacheables.push(cacheable);
    this.rs.push(r);
    this.callbacks.push(callback);
  }

  key(): WireKey {
    return this.keys[this.head]!;
  }

  cacheable(): boolean {
    return this.cacheables[this.head]!;
  }

  r(): number {
    return this.rs[this.head]!;
  }

  /** Drop the oldest and return its callback. */
  shift(): GetCallback {
    const callback = this.callbacks[this.head]!;
    this.head++;
    if (this.head === this.keys.length) {
      this.keys = [];
      this.cacheables = [];
      this.rs = [];
      this.callbacks = [];
      this.head = 0;
    }
    return callback;
  }
}

export const InPlaceState = {
  /** No answer: not read in place. */
  NONE: 0,
  ANSWERED: 1,
  /** Read, but the answer needs the operation's path. */
  DECLINED: 2,
} as const;

/** The sink of one read in place; the coordinator keeps one and resets it per read (reads in place answer synchronously). */
export class InPlaceAnswer implements PendingReply {
  state: number = InPlaceState.NONE;
  result: GetResult | undefined = undefined;
  /** The wall clock of this read (expiry): set before each read. */
  nowMs = 0;

  /** `clock` observes the write time of what is read (GetOperation's full path does; the R = 1 reads in place did not). */
  constructor(private readonly clock: TimestampObserver) {}

  reset(nowMs: number): void {
    this.state = InPlaceState.NONE;
    this.result = undefined;
    this.nowMs = nowMs;
  }

  onReply(_nodeId: number, status: number, bytes: Uint8Array, view: DataView, at: number, length: number): void {
    if (status === Status.NOT_FOUND) {
      this.state = InPlaceState.ANSWERED;
      return;
    }
    if (status !== Status.OK) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    let result: GetResult | undefined | null;
    try {
      result = resultFromBytes(bytes, view, at, length, this.nowMs, this.clock);
    } catch {
      result = null;
    }
    if (result === null) {
      this.state = InPlaceState.DECLINED;
      return;
    }
    this.result = result;
    this.state = InPlaceState.ANSWERED;
  }

  onNodeFailure(): void {
    this.state = InPlaceState.DECLINED;
  }
}
