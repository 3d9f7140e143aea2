/**
 * YCSB's HotspotIntegerGenerator: a fraction `opFraction` of the draws go
 * uniformly to the hot set, the first floor(count * dataFraction) keys, the
 * rest uniformly to the other keys. Hot keys are always the lowest numbers.
 *
 * YCSB fixes the range to the records loaded before the run, so keys the run
 * inserts are never read; here the range is the keys inserted so far, so
 * the hot set grows with the inserts (it is the same when nothing is inserted).
 */
import assert from 'node:assert/strict';
import type { Prng } from '../../lib/prng.js';
import type { KeyChooser } from './key-chooser.js';
import { nextUnitDouble } from './unit-interval.js';

/** YCSB hotspotdatafraction default. */
export const HOTSPOT_DATA_FRACTION_DEFAULT = 0.2;
/** YCSB hotspotopnfraction default. */
export const HOTSPOT_OP_FRACTION_DEFAULT = 0.8;

export class HotspotGenerator implements KeyChooser {
  readonly dataFraction: number;
  readonly opFraction: number;

  constructor(dataFraction = HOTSPOT_DATA_FRACTION_DEFAULT, opFraction = HOTSPOT_OP_FRACTION_DEFAULT) {
    assert.ok(dataFraction >= 0 && dataFraction <= 1, `hotspot data fraction must be in [0, 1], got ${dataFraction}`);
    assert.ok(opFraction >= 0 && opFraction <= 1, `hotspot op fraction must be in [0, 1], got ${opFraction}`);
    this.dataFraction = dataFraction;
    this.opFraction = opFraction;
  }

  /** Keys 0 .. hotCount(count)-1 are hot. */
  hotCount(insertedCount: number): number {
    return Math.floor(insertedCount * this.dataFraction);
  }

  next(prng: Prng, insertedCount: number): number {
    const hotCount = this.hotCount(insertedCount);
    const coldCount = insertedCount - hotCount;
    // An empty side cannot be drawn from (YCSB would divide by zero): use the other.
    const hot = coldCount === 0 || (hotCount > 0 && nextUnitDouble(prng) < this.opFraction);
    return hot ? Math.floor(nextUnitDouble(prng) * hotCount) : hotCount + Math.floor(nextUnitDouble(prng) * coldCount);
  }
}
