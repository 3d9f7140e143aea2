/**
 * The one thing every request distribution does (YCSB CoreWorkload's
 * `keychooser`): pick the key number of the next read, update, scan or
 * read-modify-write among the records that exist at that point of the
 * operation stream. Keys 0 .. insertedCount-1 exist: the loaded records,
 * then the run's inserts in order.
 *
 * Choosers are pure apart from the state they carry on purpose (the latest
 * generator's zeta grows with the key count): the randomness comes from the
 * Prng passed in, so a seed replays the stream.
 */
import type { Prng } from '../../lib/prng.js';

export interface KeyChooser {
  /** A key number in [0, insertedCount); insertedCount >= 1 and never decreases between calls. */
  next(prng: Prng, insertedCount: number): number;
}
