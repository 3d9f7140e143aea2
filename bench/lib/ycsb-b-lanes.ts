/**
 * The YCSB-B loop of the baselines (lmdb-load.ts, redis-load.ts and
 * ycsb-b-floor.bench.ts's replicated floor): `config.concurrency` lanes run
 * until Date.now() reaches `endAtMs`, each drawing a record with YCSB's key
 * chooser and reading it (READ_PROPORTION) or updating it. What a read and an
 * update are is the target's; the draws, the counts and the turns are here,
 * so every target runs the same stream. A read answered synchronously yields
 * to the event loop every SYNC_BURST reads, so the lanes and timers take turns.
 */
import { Prng, deriveSeed } from '../../lib/prng.js';
import { SYNC_BURST } from '../ycsb/op-driver.js';
import { type LoadConfig, type LoadResult, READ_PROPORTION, ycsbKeyChooser } from './thread-load.js';

export interface YcsbBOperations {
  /** Read record `index`: whether it holds the value expected, now or as a promise. */
  read(index: number): boolean | Promise<boolean>;
  /** Overwrite record `index`. */
  update(index: number): Promise<unknown>;
}

/** The lanes' operations counted: `wrong` reads returned something other than the value loaded. */
export async function runYcsbBLanes(config: LoadConfig, stream: number, endAtMs: number, operations: YcsbBOperations): Promise<LoadResult> {
  const result: LoadResult = { ops: 0, errors: 0, wrong: 0 };
  const prng = new Prng(deriveSeed(config.seed, 100 + stream));
  const chooser = ycsbKeyChooser(config);
  const readBelow = READ_PROPORTION * 4294967296;
  const lane = async () => {
    let synchronous = 0;
    while (Date.now() < endAtMs) {
      const index = chooser.draw(prng);
      try {
        if (prng.nextUint32() < readBelow) {
          const read = operations.read(index);
          if (typeof read === 'boolean') {
            if (!read) result.wrong++;
            if (++synchronous >= SYNC_BURST) {
              synchronous = 0;
              await new Promise((resolve) => setImmediate(resolve));
            }
          } else if (!(await read)) {
            result.wrong++;
          }
        } else {
          await operations.update(index);
        }
        result.ops++;
      } catch {
        result.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, lane));
  return result;
}
