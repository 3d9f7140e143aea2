/**
 * When a storage node holds its group commit for the rest of a burst.
 *
 * A coordinator packing a putMany sends a node's writes in envelopes of
 * ENVELOPE_ITEMS_TARGET as they fill, flagged FOLLOWS (wire.ts) while more
 * for that node follow in the same turn. A node that commits as soon as it
 * drains commits a batch's share in several transactions, and each commit
 * of a durable environment costs a flush: measured (put-many bench, the
 * storage ceiling with `--ceiling-commits 2`, under load) lmdb-js's commit
 * work per key went from 2.7 to 6.9 µs with two commits per batch instead
 * of one. So while the last envelope says more follows, the node keeps
 * draining and commits once the last one came, bounded in time and in
 * writes: a coordinator that never sends the rest (its node marked down
 * meanwhile, its thread gone) delays the commit by at most HOLD_MS_MAX.
 * Pure: the node thread passes its clock in.
 */

/** Longest a commit waits for the rest of a burst (a putMany turn of 10,000 items takes tens of ms). */
export const HOLD_MS_MAX = 100;
/** Queued writes beyond which a node commits whatever follows. */
export const HOLD_WRITES_MAX = 65_536;

export class CommitHold {
  private sinceMs = NaN;

  /** Whether to hold the commit of `queued` writes now; the hold starts at the first call that holds. */
  holds(writesFollow: boolean, queued: number, nowMs: number): boolean {
    if (!writesFollow || queued === 0 || queued >= HOLD_WRITES_MAX) return this.release();
    if (Number.isNaN(this.sinceMs)) this.sinceMs = nowMs;
    if (nowMs - this.sinceMs >= HOLD_MS_MAX) return this.release();
    return true;
  }

  /** Time left before a held commit goes anyway (0 when none is held). */
  remainingMs(nowMs: number): number {
    return Number.isNaN(this.sinceMs) ? 0 : Math.max(0, this.sinceMs + HOLD_MS_MAX - nowMs);
  }

  private release(): false {
    this.sinceMs = NaN;
    return false;
  }
}
