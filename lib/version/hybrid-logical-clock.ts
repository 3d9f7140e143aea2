/**
 * A hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical
 * Clocks", OPODIS 2014) for version timestamps: the wall clock while it moves
 * forward, else the last timestamp plus one step, so that every timestamp one
 * coordinator hands out is later than every one it handed out or read before.
 *
 * Why: last-writer-wins (dotted-version-vector.ts lastWriterWins) only
 * converges when the order it keeps extends causality: a write made with a
 * context must be newer than every value that context covers. A millisecond
 * clock gave a put and the put that read it within one millisecond equal
 * timestamps, and the tie went to the higher actor, which made the merge
 * non-associative (test/last-writer-wins.test.ts has the history). One
 * coordinator serves a store's directory (store-lock.ts), so its clock alone
 * orders every write of the store's life in this process.
 *
 * The step is a fraction of a millisecond, so timestamps stay milliseconds
 * since the epoch (expiry adds ttlMs to them) and run ahead of the wall
 * clock only past 1,024 writes in one millisecond. Multiples of 1/1024 are
 * exact in a float64 up to 2^42 ms (the year 2109).
 *
 * Pure: the wall clock is passed in.
 */

/** The smallest step between two timestamps of one clock, in milliseconds. */
export const TIMESTAMP_STEP_MS = 1 / 1024;

export class HybridLogicalClock {
  private lastMs = 0;

  /** A timestamp later than every one this clock gave or observed: `wallMs` if it is, else the last one plus a step. */
  next(wallMs: number): number {
    this.lastMs = wallMs > this.lastMs ? wallMs : this.lastMs + TIMESTAMP_STEP_MS;
    return this.lastMs;
  }

  /** A timestamp read back (another process's, or one from before a restart whose wall clock ran behind): later ones follow it. */
  observe(timestampMs: number): void {
    if (timestampMs > this.lastMs) this.lastMs = timestampMs;
  }
}
