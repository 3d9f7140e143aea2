/**
 * YCSB's request distribution "latest" (SkewedLatestGenerator): the newest
 * key minus a zipfian draw over the current key count, so the keys inserted
 * last are the most popular and popularity moves with every insert (the
 * pattern of a news feed or status updates: YCSB workload D).
 *
 * The zipfian grows with the key count, adding only the new terms to zeta.
 * YCSB draws over (newest key) items, so its key 0 is never chosen; this
 * draws over the key count, so every existing key can be.
 */
import type { Prng } from '../../lib/prng.js';
import type { KeyChooser } from './key-chooser.js';
import { ZIPFIAN_THETA_DEFAULT, ZipfianGenerator } from './zipfian.js';

export class LatestGenerator implements KeyChooser {
  readonly #offsets: ZipfianGenerator;

  /** `initialCount`: keys existing when the stream starts (zeta is computed for it once). */
  constructor(initialCount: number, theta = ZIPFIAN_THETA_DEFAULT) {
    this.#offsets = new ZipfianGenerator(initialCount, theta);
  }

  next(prng: Prng, insertedCount: number): number {
    this.#offsets.growTo(insertedCount);
    return insertedCount - 1 - this.#offsets.draw(prng);
  }
}
