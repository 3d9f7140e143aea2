/**
 * The dots a storage node minted with an actor it reused (actor.ts) that its
 * committed storage may not show yet.
 *
 * Why: a putMany item's PUT with RequestFlag.MINT_ONLY is minted from the
 * key's committed clock and answered before any commit; the object is
 * stored when the coordinator's REPLICATE of it commits here, with the other
 * replicas' writes, so that a batch costs each node one commit (bench/README.md
 * s15). A PUT's version is stored by its own commit, which may still be in
 * flight when a later MINT_ONLY reads the committed clock. Until storage
 * shows such a dot, minting from storage again with the same actor would mint
 * it twice (two values under one dot: Riak's KV679). So a key with a mark
 * takes a fresh epoch for its next mint instead (what a new key takes
 * anyway); a dot minted by a fresh actor needs no mark, since no stored clock
 * names that actor for the key before it is stored.
 *
 * A mark goes once a commit that stored the key with the actor at least at
 * the marked counter completed. Bounded: at PENDING_MINTS_MAX the node
 * forgets every mark and raises its epochMin (the caller: no actor of the
 * current epochs is reused, as after a restart), as it does when a commit
 * aborts or the node drops its queue.
 *
 * It also keeps the fresh actors of MINT_ONLY's mints until a write brings
 * their one dot here: such an object names an actor of this node the key's
 * local clock does not show, which otherwise means the node forgot dots it
 * minted (actor.ts namesForgottenActor) and raises epochMin, after which no
 * key reuses an actor (a fresh epoch, one more clock entry, per write).
 * A fresh actor mints one dot of one key, so until that dot is stored here
 * nothing of it was forgotten. Bounded: at FRESH_ACTORS_MAX they are all
 * forgotten, and a late copy of their dots raises epochMin as before.
 */

import type { CausalContext } from '../version/dotted-version-vector.js';

/** A key's mark: the dot (actor, counter) minted with a reused actor, and the clock of the object it was minted in. */
export type PendingMint = readonly [actor: number, counter: number, clock: CausalContext];

/** Marked keys at most: four putMany windows (16,384 items) of overwrites on one node. */
export const PENDING_MINTS_MAX = 65_536;
/** Fresh actors kept at most: four putMany windows (16,384 items) of new keys on one node. */
export const FRESH_ACTORS_MAX = 65_536;

export class PendingMints {
  /**
   * By the key's bytes as latin1 text: [actor, counter] of the newest dot
   * minted with a reused actor, and the clock of the object minted with it
   * (a blind mint that chains on it has seen all of that object's past, not
   * only its dot: replica.ts chainedBlindMint).
   */
  private readonly byKey = new Map<string, PendingMint>();
  /** Fresh actors of MINT_ONLY's mints whose one dot has not come back to be stored here. */
  private readonly fresh = new Set<number>();

  get size(): number {
    return this.byKey.size;
  }

  /** The key's mark, if it has one: its next mint takes a fresh actor. */
  markOf(key: Uint8Array): PendingMint | undefined {
    return this.byKey.size === 0 ? undefined : this.byKey.get(keyText(key));
  }

  /** Mark `key`'s dot (actor, counter) of the object whose clock is `clock`; false, and nothing marked, when full (the caller forgets them all). */
  mark(key: Uint8Array, actor: number, counter: number, clock: CausalContext): boolean {
    const text = keyText(key);
    if (this.byKey.size >= PENDING_MINTS_MAX && !this.byKey.has(text)) return false;
    this.byKey.set(text, [actor, counter, clock]);
    return true;
  }

  /** A completed commit stored the key (`keyText`'s) with `actor` at `counter` or more: its mark of that actor, up to that counter, goes. */
  stored(text: string, actor: number, counter: number): void {
    const mark = this.byKey.get(text);
    if (mark !== undefined && mark[0] === actor && mark[1] <= counter) this.byKey.delete(text);
  }

  clear(): void {
    this.byKey.clear();
  }

  /** A MINT_ONLY's mint took the fresh actor `actor`. */
  mintedFresh(actor: number): void {
    if (this.fresh.size >= FRESH_ACTORS_MAX) this.fresh.clear();
    this.fresh.add(actor);
  }

  /** Whether `actor` is a fresh actor whose dot is still on its way here; `storing`: a write about to store it, which ends that. */
  isFreshInFlight(actor: number, storing: boolean): boolean {
    if (this.fresh.size === 0 || !this.fresh.has(actor)) return false;
    if (storing) this.fresh.delete(actor);
    return true;
  }

  get freshCount(): number {
    return this.fresh.size;
  }
}

/** A key's bytes as a Map key. */
export function keyText(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
