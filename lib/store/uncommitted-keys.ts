/**
 * Leader-ordered keys whose latest write is not known to be committed, that
 * is on W replicas (lib/tables/DESIGN.md §3): writes in flight, and writes
 * that failed after they were sent to the leader (ERR_TIMEOUT, ERR_QUORUM,
 * the leader failed), which the leader may hold alone. A leader's copy of
 * such a key must not be served: a failover to a replica that never had the
 * write would take back what a consistent read (or a compare-and-set's
 * verdict) showed, which is not linearizable and which DynamoDB never does.
 *
 * So a consistent read, or a conditional write, of a key in flight waits
 * until its writes settle, and of a key in doubt first commits the leader's
 * copy to W replicas (Raft §5.4.2's "commit before serving"; a read repair
 * with W acknowledgements), then answers from exactly that copy. A key is
 * in doubt up to a version: the failed write's, when the leader answered
 * it, else the greatest version of the term it was sent in (the leader may
 * have applied it unseen). A commit of a version at least that great ends
 * the doubt; a lesser one (the write was lost in a failover, and may come
 * back with its old leader) keeps it, so every later consistent read of the
 * key commits again until a write of a later term supersedes it.
 *
 * Pure: the coordinator feeds it writes sent, settled and committed, and
 * runs what it decides. With nothing tracked a gate costs one size check.
 */
import { Buffer } from 'node:buffer';
import { ErrorCode, RingtableError } from '../errors.js';
import { TERM_SPAN } from '../version/ordered-version.js';
import type { WireKey } from '../transport/wire.js';

/** Keys in doubt at most; beyond, a write of another key is refused (ERR_OVERLOADED) until consistent reads commit some. */
export const DOUBTFUL_KEYS_MAX = 65_536;
/** Requests one key may hold while its writes settle; beyond, ERR_OVERLOADED. */
export const COMMIT_WAITERS_MAX = 4096;

/** A request held until the writes of its key settle: it then asks the gate again. */
export interface CommitWaiter {
  commitsSettled(): void;
}

interface KeyState {
  readonly partition: number;
  /** The key's bytes as a latin1 string: ordered as the bytes are. */
  readonly id: string;
  inFlight: number;
  /** The count of writes sent (UncommittedKeys.writesSent) when the last write of the key was sent. */
  lastSent: number;
  /** 0: not in doubt; else the greatest version the leader may hold unconfirmed. */
  doubtVersion: number;
  readonly waiters: CommitWaiter[];
  /**
   * The other keys of a failed write whose records (version-keyed also keys:
   * a GSI queue's, a stream's) the leader made: committed with this key,
   * never one without the other (recordsInDoubt).
   */
  companions: string[] | undefined;
}

export type CommitGate =
  | { action: 'serve' }
  /** Held: `commitsSettled()` is called when the key's (or keys') writes in flight settled. */
  | { action: 'wait'; key: string }
  /** Commit the leader's copy of these keys (latin1 ids; keyBytesOf turns them back) to W replicas first. */
  | { action: 'commit'; keys: string[] };

/** The latin1 id of a key (a string key is its UTF-8 bytes, as the wire sends it). */
export function keyIdOf(key: WireKey): string {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return bytes.toString('latin1');
}

export function keyBytesOf(id: string): Uint8Array {
  return new Uint8Array(Buffer.from(id, 'latin1'));
}

/** The greatest version a leader of `term` can mint: the doubt of a write whose leader never answered. */
export function termVersionMax(term: number): number {
  return (term + 1) * TERM_SPAN - 1;
}

export class UncommittedKeys {
  private readonly keys = new Map<string, KeyState>();
  /** The tracked keys of each ring partition, for range reads. */
  private readonly byPartition = new Map<number, Set<string>>();
  private doubtful = 0;
  private sent = 0;

  /** Keys tracked (in flight or in doubt). */
  get size(): number {
    return this.keys.size;
  }

  /**
   * Writes sent so far: a request that reads the leader remembers it, and
   * asks `keyWrittenSince`/`rangeWrittenSince` later whether a write of its
   * keys was sent in between (one the leader may have applied before the read).
   */
  get writesSent(): number {
    return this.sent;
  }

  /** Is `id` tracked, with a write sent after `writesSent` was `since`? */
  keyWrittenSince(id: string, since: number): boolean {
    const state = this.keys.get(id);
    return state !== undefined && state.lastSent > since;
  }

  /**
   * The same for any key of [start, end) within `partition`. A leader may
   * apply a write sent after a read before that read (the transport does not
   * promise order between two requests), so an answer that may show a write
   * still in flight, or failed, must not be served: the read asks the gate
   * again. A write that settled committed and left no doubt is not tracked:
   * showing it is right.
   */
  rangeWrittenSince(partition: number, start: string, end: string, since: number): boolean {
    if (this.sent === since) return false;
    const ids = this.byPartition.get(partition);
    if (ids === undefined) return false;
    for (const id of ids) {
      if (id < start || id >= end) continue;
      if (this.keys.get(id)!.lastSent > since) return true;
    }
    return false;
  }

  get doubtfulKeys(): number {
    return this.doubtful;
  }

  /** Up to `limit` keys in doubt with no write in flight: what a background pass commits (Coordinator.drainDoubts). */
  doubtfulIds(limit: number): string[] {
    const ids: string[] = [];
    if (this.doubtful === 0) return ids;
    for (const state of this.keys.values()) {
      if (ids.length >= limit) break;
      if (state.inFlight === 0 && state.doubtVersion > 0) ids.push(state.id);
    }
    return ids;
  }

  /** A write of `id` is about to reach its leader. */
  writeSent(id: string, partition: number): void {
    let state = this.keys.get(id);
    if (state === undefined) {
      if (this.doubtful >= DOUBTFUL_KEYS_MAX) {
        throw new RingtableError(ErrorCode.OVERLOADED, `${this.doubtful} keys have writes not known to be on W replicas; a consistent read of each commits it`);
      }
      state = { partition, id, inFlight: 0, lastSent: 0, doubtVersion: 0, waiters: [], companions: undefined };
      this.keys.set(id, state);
      let ids = this.byPartition.get(partition);
      if (ids === undefined) this.byPartition.set(partition, (ids = new Set()));
      ids.add(id);
    }
    state.inFlight++;
    state.lastSent = ++this.sent;
  }

  /**
   * A write of `id` settled for its caller: committed, at `version()`, or
   * failed, with the leader perhaps holding up to `version()` (0: it surely
   * applied nothing). `version` is asked only when it matters (it decodes).
   * Returns the requests to release.
   */
  writeSettled(id: string, committed: boolean, version: () => number): CommitWaiter[] {
    const state = this.keys.get(id);
    if (state === undefined) return NONE;
    state.inFlight--;
    if (committed) {
      if (state.doubtVersion > 0) this.commit(state, version());
    } else {
      const doubt = version();
      if (doubt > state.doubtVersion) this.doubt(state, doubt);
    }
    return this.release(state);
  }

  /**
   * A write of `ownerId` failed after its leader made `records` (version-keyed
   * also keys, ids and versions as the leader answered): new keys, so they
   * were not tracked in flight, yet the leader may hold them alone. Served
   * (a GSI applier's or stream reader's consistent range read) while the item
   * is not on W replicas, a failover takes back the item and leaves the
   * change applied; the item committed alone, a failover loses the change.
   * So each is in doubt, and a gate on either key commits both.
   */
  recordsInDoubt(ownerId: string, partition: number, records: readonly { id: string; version: number }[]): void {
    const owner = this.keys.get(ownerId);
    if (owner === undefined || records.length === 0) return;
    for (const { id, version } of records) {
      let state = this.keys.get(id);
      if (state === undefined) {
        if (this.doubtful >= DOUBTFUL_KEYS_MAX) return; // the bound: the owner stays in doubt, its gate still commits what is linked
        state = { partition, id, inFlight: 0, lastSent: this.sent, doubtVersion: 0, waiters: [], companions: undefined };
        this.keys.set(id, state);
        let ids = this.byPartition.get(partition);
        if (ids === undefined) this.byPartition.set(partition, (ids = new Set()));
        ids.add(id);
      }
      if (version > state.doubtVersion) this.doubt(state, version);
      (state.companions ??= []).push(ownerId);
      (owner.companions ??= []).push(id);
    }
  }

  /** The leader's copy of `id` at `version` (0: it had none) reached W replicas. */
  committed(id: string, version: number): CommitWaiter[] {
    const state = this.keys.get(id);
    if (state === undefined) return NONE;
    this.commit(state, version);
    return this.release(state);
  }

  /** Whether `id` has writes in flight or in doubt (a read of it in place must go through gateKey instead). */
  tracks(id: string): boolean {
    return this.keys.has(id);
  }

  /** May a consistent read, or a conditional write, of `id` be served from the leader's copy now? */
  gateKey(id: string, waiter: CommitWaiter, writtenAfter = -1): CommitGate {
    if (this.keys.size === 0) return SERVE;
    const state = this.keys.get(id);
    if (state === undefined || state.lastSent <= writtenAfter) return SERVE;
    if (state.inFlight > 0) return this.hold(state, waiter);
    if (state.doubtVersion === 0) return SERVE;
    if (state.companions === undefined) return { action: 'commit', keys: [id] };
    const keys = [id];
    const held = this.addCompanions(state, keys, waiter);
    return held ?? { action: 'commit', keys };
  }

  /** Push `state`'s companions in doubt to `keys` (once each); a companion with a write in flight holds the request instead. */
  private addCompanions(state: KeyState, keys: string[], waiter: CommitWaiter): CommitGate | undefined {
    for (const id of state.companions!) {
      const companion = this.keys.get(id);
      if (companion === undefined) continue;
      if (companion.inFlight > 0) return this.hold(companion, waiter);
      if (companion.doubtVersion > 0 && !keys.includes(id)) keys.push(id);
    }
    return undefined;
  }

  /**
   * The same for a range read of [start, end) (latin1 ids) within `partition`: every tracked key in it.
   * `writtenAfter` (gateKey's too): only keys with a write sent since writesSent was that (an answer
   * already read, held until the writes that may have overtaken it settle: rangeWrittenSince).
   */
  gateRange(partition: number, start: string, end: string, waiter: CommitWaiter, writtenAfter = -1): CommitGate {
    if (this.keys.size === 0) return SERVE;
    const ids = this.byPartition.get(partition);
    if (ids === undefined) return SERVE;
    const commit: string[] = [];
    for (const id of ids) {
      if (id < start || id >= end) continue;
      const state = this.keys.get(id)!;
      if (state.lastSent <= writtenAfter) continue;
      if (state.inFlight > 0) return this.hold(state, waiter);
      if (state.doubtVersion === 0) continue;
      if (!commit.includes(id)) commit.push(id);
      if (state.companions !== undefined) {
        const held = this.addCompanions(state, commit, waiter);
        if (held !== undefined) return held;
      }
    }
    return commit.length === 0 ? SERVE : { action: 'commit', keys: commit };
  }

  /** A waiter whose deadline passed leaves the queue of the key it waited on (the gate's `key`). */
  removeWaiter(id: string, waiter: CommitWaiter): void {
    const state = this.keys.get(id);
    const index = state === undefined ? -1 : state.waiters.indexOf(waiter);
    if (index < 0) return;
    state!.waiters.splice(index, 1);
    this.forgetIfClear(state!);
  }

  private hold(state: KeyState, waiter: CommitWaiter): CommitGate {
    if (state.waiters.length >= COMMIT_WAITERS_MAX) {
      throw new RingtableError(ErrorCode.OVERLOADED, `${state.waiters.length} requests wait for the writes of one key to settle`);
    }
    state.waiters.push(waiter);
    return { action: 'wait', key: state.id };
  }

  private commit(state: KeyState, version: number): void {
    if (state.doubtVersion === 0 || version < state.doubtVersion) return;
    state.doubtVersion = 0;
    this.doubtful--;
  }

  private doubt(state: KeyState, version: number): void {
    if (state.doubtVersion === 0) this.doubtful++;
    state.doubtVersion = version;
  }

  private release(state: KeyState): CommitWaiter[] {
    if (state.inFlight > 0) return NONE;
    const released = state.waiters.splice(0);
    this.forgetIfClear(state);
    return released;
  }

  private forgetIfClear(state: KeyState): void {
    if (state.inFlight > 0 || state.doubtVersion > 0 || state.waiters.length > 0) return;
    state.companions = undefined;
    this.keys.delete(state.id);
    const ids = this.byPartition.get(state.partition)!;
    ids.delete(state.id);
    if (ids.size === 0) this.byPartition.delete(state.partition);
  }
}

const SERVE: CommitGate = { action: 'serve' };
const NONE: CommitWaiter[] = [];
