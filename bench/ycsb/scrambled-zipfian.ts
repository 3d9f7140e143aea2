/**
 * YCSB's request distribution "zipfian" (ScrambledZipfianGenerator): a
 * zipfian over a fixed 10^10 items whose draw is then hashed onto the real
 * item count, fnvhash64(draw) % itemCount. The popular items scatter over
 * the key space instead of clustering at the low numbers, and, because the
 * hash spreads the 10^10 ranks over far fewer items, the head flattens: over
 * 10^6 items the hottest takes about 3.8% of draws, against 6.5%
 * (1/zeta(10^6)) for the plain zipfian.
 *
 * Faithful details: YCSB builds the inner generator as
 * ZipfianGenerator(0, ITEM_COUNT, ...) with max inclusive, so over
 * ITEM_COUNT + 1 items, while the precomputed ZETAN = 26.46902820178302 is
 * zeta(ITEM_COUNT, 0.99); both are kept as they are. For another theta YCSB
 * sums zeta over 10^10 terms (minutes); zeta.ts gets it by Euler-Maclaurin in
 * microseconds.
 *
 * The one hash Java's Math.abs leaves negative (Long.MIN_VALUE) would give
 * YCSB a negative item; here it folds back into range. It needs one exact
 * 64-bit value out of 2^64, so it makes no measurable difference.
 */
import assert from 'node:assert/strict';
import type { Prng } from '../../lib/prng.js';
import { FNV_MODULUS_MAX, fnvHash64Mod } from './fnv-hash.js';
import type { KeyChooser } from './key-chooser.js';
import { ZIPFIAN_THETA_DEFAULT, ZipfianGenerator, drawInserted } from './zipfian.js';

/** YCSB ScrambledZipfianGenerator.ITEM_COUNT. */
export const SCRAMBLED_ZIPFIAN_ITEM_COUNT = 10_000_000_000;
/** YCSB ScrambledZipfianGenerator.ZETAN: zeta(10^10, 0.99), precomputed there. */
export const SCRAMBLED_ZIPFIAN_ZETA_N = 26.46902820178302;
/** YCSB ScrambledZipfianGenerator.USED_ZIPFIAN_CONSTANT: the theta ZETAN is for. */
export const SCRAMBLED_ZIPFIAN_THETA = 0.99;

export class ScrambledZipfianGenerator implements KeyChooser {
  readonly itemCount: number;
  readonly #ranks: ZipfianGenerator;
  /** KeyChooser draws that hit REDRAWS_MAX and were folded with a modulo. */
  foldedDraws = 0;

  constructor(itemCount: number, theta = ZIPFIAN_THETA_DEFAULT) {
    assert.ok(Number.isSafeInteger(itemCount) && itemCount >= 1 && itemCount <= FNV_MODULUS_MAX, `scrambled zipfian item count must be an integer in [1, 2^37], got ${itemCount}`);
    this.itemCount = itemCount;
    const zetaN = theta === SCRAMBLED_ZIPFIAN_THETA ? SCRAMBLED_ZIPFIAN_ZETA_N : undefined;
    this.#ranks = new ZipfianGenerator(SCRAMBLED_ZIPFIAN_ITEM_COUNT + 1, theta, zetaN);
  }

  get theta(): number {
    return this.#ranks.theta;
  }

  /** An item in [0, itemCount). */
  draw(prng: Prng): number {
    return this.itemForRank(this.#ranks.draw(prng));
  }

  /** Where the zipfian rank `rank` lands: fnvhash64(rank) % itemCount. */
  itemForRank(rank: number): number {
    const item = fnvHash64Mod(rank, this.itemCount);
    return item >= 0 ? item : item + this.itemCount;
  }

  next(prng: Prng, insertedCount: number): number {
    return drawInserted(this, prng, insertedCount);
  }
}
