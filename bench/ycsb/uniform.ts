/**
 * YCSB's request distribution "uniform" (UniformLongGenerator): every key
 * equally likely. YCSB fixes the range to the records loaded before the run;
 * here it is the keys inserted so far, so the run's inserts are read too.
 */
import type { Prng } from '../../lib/prng.js';
import type { KeyChooser } from './key-chooser.js';
import { nextUnitDouble } from './unit-interval.js';

export class UniformGenerator implements KeyChooser {
  next(prng: Prng, insertedCount: number): number {
    return Math.floor(nextUnitDouble(prng) * insertedCount);
  }
}
