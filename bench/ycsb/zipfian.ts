/**
 * Zipfian over items 0..itemCount-1, item 0 the most popular, drawn with the
 * method of Gray et al. (SIGMOD 1994) exactly as YCSB's ZipfianGenerator
 * does: with zeta(n) = sum i^-theta, alpha = 1/(1-theta) and
 * eta = (1 - (2/n)^(1-theta)) / (1 - zeta(2)/zeta(n)), draw u in [0,1):
 *   u*zeta(n) < 1                -> item 0
 *   u*zeta(n) < 1 + 0.5^theta    -> item 1
 *   otherwise                    -> floor(n * (eta*u - eta + 1)^alpha)
 * Item k is drawn with probability close to (k+1)^-theta / zeta(n); items 0
 * and 1 exactly so.
 *
 * The popular items are clustered at the low numbers: YCSB's request
 * distribution "zipfian" is the scrambled variant (scrambled-zipfian.ts).
 *
 * As a KeyChooser (YCSB CoreWorkload.nextKeynum), the item count is fixed
 * when the stream starts (records plus expected inserts) and a draw beyond
 * the keys inserted so far is redrawn, so inserts do not shift which keys
 * are popular.
 */
import assert from 'node:assert/strict';
import type { Prng } from '../../lib/prng.js';
import type { KeyChooser } from './key-chooser.js';
import { nextUnitDouble } from './unit-interval.js';
import { zeta } from './zeta.js';

/** YCSB ZipfianGenerator.ZIPFIAN_CONSTANT. */
export const ZIPFIAN_THETA_DEFAULT = 0.99;
/**
 * Redraws before a KeyChooser draw gives up on rejection and folds the draw
 * into the inserted range (a modulo). Only reachable when the records loaded
 * are a tiny fraction of the key space, e.g. 1 record and a million inserts.
 */
export const REDRAWS_MAX = 10_000;

/**
 * A KeyChooser draw from a generator over the whole key space while only
 * `insertedCount` keys exist: redraw until an inserted item comes up, at
 * most REDRAWS_MAX times, then fold the draw into range (counted).
 */
export function drawInserted(generator: { draw(prng: Prng): number; foldedDraws: number }, prng: Prng, insertedCount: number): number {
  for (let attempt = 0; attempt < REDRAWS_MAX; attempt++) {
    const item = generator.draw(prng);
    if (item < insertedCount) return item;
  }
  generator.foldedDraws++;
  return generator.draw(prng) % insertedCount;
}

export class ZipfianGenerator implements KeyChooser {
  readonly theta: number;
  readonly #alpha: number;
  readonly #zeta2: number;
  /** u*zeta(n) below this (and >= 1) draws item 1. */
  readonly #secondItemBound: number;
  #itemCount: number;
  #zetaN: number;
  #eta: number;
  /** KeyChooser draws that hit REDRAWS_MAX and were folded with a modulo. */
  foldedDraws = 0;

  /** `zetaN`: zeta(itemCount, theta) when the caller has it precomputed (YCSB's scrambled zipfian). */
  constructor(itemCount: number, theta = ZIPFIAN_THETA_DEFAULT, zetaN?: number) {
    assert.ok(Number.isSafeInteger(itemCount) && itemCount >= 1, `zipfian item count must be an integer >= 1, got ${itemCount}`);
    assert.ok(theta > 0 && theta < 1, `zipfian theta must be in (0, 1), got ${theta}`);
    this.theta = theta;
    this.#alpha = 1 / (1 - theta);
    this.#zeta2 = zeta(2, theta);
    this.#secondItemBound = 1 + Math.pow(0.5, theta);
    this.#itemCount = itemCount;
    this.#zetaN = zetaN ?? zeta(itemCount, theta);
    this.#eta = this.etaFor(itemCount);
  }

  get itemCount(): number {
    return this.#itemCount;
  }

  get zetaN(): number {
    return this.#zetaN;
  }

  private etaFor(itemCount: number): number {
    return (1 - Math.pow(2 / itemCount, 1 - this.theta)) / (1 - this.#zeta2 / this.#zetaN);
  }

  /**
   * Let the draws range over more items, adding only the new terms to zeta
   * (YCSB nextLong(itemcount) with a larger count). YCSB recomputes eta with
   * the item count it was constructed with; this uses the new count, as
   * Gray's formula has it (the difference is slight at any realistic growth).
   */
  growTo(itemCount: number): void {
    if (itemCount === this.#itemCount) return;
    assert.ok(Number.isSafeInteger(itemCount) && itemCount > this.#itemCount, 'a zipfian only grows');
    this.#zetaN = zeta(itemCount, this.theta, this.#itemCount, this.#zetaN);
    this.#itemCount = itemCount;
    this.#eta = this.etaFor(itemCount);
  }

  /** An item in [0, itemCount), 0 the most popular. */
  draw(prng: Prng): number {
    return this.itemFor(nextUnitDouble(prng));
  }

  /** The item for a given u in [0, 1): the whole method, deterministic. */
  itemFor(u: number): number {
    const uz = u * this.#zetaN;
    if (uz < 1) return 0;
    if (uz < this.#secondItemBound) return 1;
    const item = Math.floor(this.#itemCount * Math.pow(this.#eta * u - this.#eta + 1, this.#alpha));
    // u < 1 keeps the power below 1, but rounding could reach n itself.
    return item < this.#itemCount ? item : this.#itemCount - 1;
  }

  next(prng: Prng, insertedCount: number): number {
    return drawInserted(this, prng, insertedCount);
  }
}
