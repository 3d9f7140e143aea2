/**
 * How many writes of each key a storage node has taken and not yet
 * committed, counted by a hash of the key: what a MINT_ONLY mint
 * (wire.ts RequestFlag.MINT_ONLY) must not read past.
 *
 * Why: a MINT_ONLY PUT is minted from committed storage and answered before
 * any commit (replica.ts mintNow), while the node's other writes wait for
 * their commit in arrival order. A write of the same key that arrived before
 * the mint (a put's REPLICATE still queued, or in a commit not yet complete)
 * is invisible to that read, so the mint would not supersede it: a blind
 * putMany after an acknowledged put of its key left both values as
 * siblings (test/crash-durability.test.ts, seed 2, CI of session s15). A
 * mint whose key has a count here is minted in its place in the next commit
 * instead, from the transaction's view, which shows every write queued
 * before it; it still stores nothing (replica.ts mintInCommit). Applying it
 * as an ordinary PUT there, stored by that commit, broke the mint's contract
 * with PutBatch (its object is stored by the REPLICATE that follows): the
 * simulation's putMany clients failed seeds 86, 478, 566 and 892.
 *
 * A hash collision only sends a mint the slower way; a count is never
 * missed, since every uncommitted write of a key counts in its key's slot.
 * Bounded: SLOTS counters, whatever the number of writes in flight.
 */
import assert from 'node:assert/strict';

/** Counter slots: 256 KiB of counters per node. */
export const UNCOMMITTED_SLOTS = 1 << 16;
const SLOT_MASK = UNCOMMITTED_SLOTS - 1;

/** The slot of the key `bytes[at, at + length)`: FNV-1a, 32 bits. */
export function uncommittedSlotOf(bytes: Uint8Array, at: number, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = at; i < at + length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return (hash >>> 0) & SLOT_MASK;
}

export class UncommittedWrites {
  private readonly counts = new Uint32Array(UNCOMMITTED_SLOTS);

  /** A write of the key in `slot` was taken for a later commit. */
  add(slot: number): void {
    this.counts[slot]!++;
  }

  /** A write counted by `add` committed, failed, or was dropped. */
  remove(slot: number): void {
    if (this.counts[slot] === 0) assert.fail(`uncommitted write count of slot ${slot} below zero`);
    this.counts[slot]!--;
  }

  /** Whether some write of a key in `slot` may still be uncommitted here. */
  has(slot: number): boolean {
    return this.counts[slot] !== 0;
  }
}
