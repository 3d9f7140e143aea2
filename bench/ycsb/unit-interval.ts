/**
 * A uniform double in [0, 1) with 53 random bits, from two 32-bit draws of
 * the project's Prng (the construction of java.util.Random.nextDouble: 26
 * high bits, then 27). One 32-bit draw is not enough for the generators
 * here: a zipfian over 10^10 items (YCSB's scrambled zipfian) maps u to an
 * item through a continuous function, and 2^32 values of u could not reach
 * most of its tail.
 */
import type { Prng } from '../../lib/prng.js';

const TWO_POW_27 = 134217728;
const TWO_POW_53 = 9007199254740992;

export function nextUnitDouble(prng: Prng): number {
  const high26 = prng.nextUint32() >>> 6;
  const low27 = prng.nextUint32() >>> 5;
  return (high26 * TWO_POW_27 + low27) / TWO_POW_53;
}
