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
import assert from 'node:assert/strict';
import type { RingtableError } from '../errors.js';
import type { PendingReply } from '../transport/node-link.js';
import { Status, type WireKey } from '../transport/wire.js';
import { type GetResult, type ReadClock, resultFromBytes } from './get-result.js';
import type { GetCallback } from './operation.js';

/** Gets waiting for the next macrotask at most (each also counts against pendingMax); past it, a get is started as any other. */
export const LATER_GETS_MAX = 65_536;

/** The resolve and reject of a get's promise (ClientRequests): what a get waiting for the next macrotask keeps, instead of a callback made for it. */
export type ResolveGet = (result: GetResult | undefined) => void;
export type RejectGet = (error: RingtableError) => void;

/** A GetCallback that settles a get's promise: made only for a waiting get that then has to be started as any other. */
export function getCallbackOf(resolve: ResolveGet, reject: RejectGet): GetCallback {
  return (error, result) => (error ? reject(error) : resolve(result));
}

/**
 * What a get does with the coordinator's hot-key cache (Coordinator.getInPlace):
 * NONE: not cacheable, or a miss already counted of a key the cache would not
 * keep; LOOK_UP: a plain get, looked up (and counted) once; FILL: a miss
 * already counted of a key the cache would keep, to be read on the full path
 * that fills its entry.
 */
export const CacheUse = { NONE: 0, LOOK_UP: 1, FILL: 2 } as const;
export type CacheUse = (typeof CacheUse)[keyof typeof CacheUse];

/** The ring's first capacity; it doubles when full, up to LATER_GETS_MAX. */
const LATER_GETS_START = 256;

/**
 * Gets waiting for the next macrotask to be read in place
 * (Coordinator.getLater), oldest first: a ring over arrays kept from turn to
 * turn. At YCSB-B rates most gets wait here once (each macrotask reads 512 in
 * place, direct-reads.ts), and arrays made anew after every drain and grown
 * by push were a twentieth of the coordinator's bytes per operation. A slot
 * let go is cleared, so nothing of a settled get stays reachable.
 */
export class LaterGets {
  private keys: (WireKey | undefined)[] = new Array<WireKey | undefined>(LATER_GETS_START).fill(undefined);
  private resolves: (ResolveGet | undefined)[] = new Array<ResolveGet | undefined>(LATER_GETS_START).fill(undefined);
  private rejects: (RejectGet | undefined)[] = new Array<RejectGet | undefined>(LATER_GETS_START).fill(undefined);
  private rs = new Int32Array(LATER_GETS_START);
  /** Each key's hashKey32, from the getInPlace that sent it here. */
  private hashes = new Uint32Array(LATER_GETS_START);
  private cacheUses = new Uint8Array(LATER_GETS_START);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(key: WireKey, cacheUse: CacheUse, resolve: ResolveGet, reject: RejectGet, r: number, hash: number): void {
    assert.ok(this.count < LATER_GETS_MAX, 'later gets beyond LATER_GETS_MAX');
    if (this.count === this.keys.length) this.grow();
    const at = (this.head + this.count) & (this.keys.length - 1);
    this.keys[at] = key;
    this.resolves[at] = resolve;
    this.rejects[at] = reject;
    this.rs[at] = r;
    this.hashes[at] = hash;
    this.cacheUses[at] = cacheUse;
    this.count++;
  }

  key(): WireKey {
    return this.keys[this.head]!;
  }

  cacheUse(): CacheUse {
    return this.cacheUses[this.head] as CacheUse;
  }

  r(): number {
    return this.rs[this.head]!;
  }

  hash(): number {
    return this.hashes[this.head]!;
  }

  resolve(): ResolveGet {
    return this.resolves[this.head]!;
  }

  reject(): RejectGet {
    return this.rejects[this.head]!;
  }

  /** Drop the oldest (read what it holds first). */
  shift(): void {
    assert.ok(this.count > 0, 'shift of no later get');
    const at = this.head;
    this.keys[at] = undefined;
    this.resolves[at] = undefined;
    this.rejects[at] = undefined;
    this.head = (at + 1) & (this.keys.length - 1);
    this.count--;
  }

  /** Twice the capacity (a power of two), the waiting gets moved to its start in order. */
  private grow(): void {
    const capacity = this.keys.length * 2;
    const keys = new Array<WireKey | undefined>(capacity).fill(undefined);
    const resolves = new Array<ResolveGet | undefined>(capacity).fill(undefined);
    const rejects = new Array<RejectGet | undefined>(capacity).fill(undefined);
    const rs = new Int32Array(capacity);
    const hashes = new Uint32Array(capacity);
    const cacheUses = new Uint8Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (this.keys.length - 1);
      keys[i] = this.keys[from];
      resolves[i] = this.resolves[from];
      rejects[i] = this.rejects[from];
      rs[i] = this.rs[from]!;
      hashes[i] = this.hashes[from]!;
      cacheUses[i] = this.cacheUses[from]!;
    }
    this.keys = keys;
    this.resolves = resolves;
    this.rejects = rejects;
    this.rs = rs;
    this.hashes = hashes;
    this.cacheUses = cacheUses;
    this.head = 0;
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
  /**
   * `clock` observes the write time of what is read (GetOperation's full path
   * does; the R = 1 reads in place did not), and tells the wall clock when
   * what is read expires (resultFromBytes with nowMs NaN).
   */
  constructor(private readonly clock: ReadClock) {}

  reset(): void {
    this.state = InPlaceState.NONE;
    this.result = undefined;
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
      result = resultFromBytes(bytes, view, at, length, NaN, this.clock);
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
