/**
 * A paced load of the engine's own gets and puts, driven from the test
 * process: `concurrency` loops share an ops-per-second budget (the target
 * rate, never exceeded), each op a get or, one in `putEvery`, a put, over a
 * bounded set of plain string keys (a string key never aliases a table's
 * partitioned keys, lib/ring/partitioned-key.ts). What it reports is what
 * was served: ops that completed, over the time the load ran. Not a
 * *.test.ts: tap does not run it.
 */
import type { Store } from '../../lib/index.js';
import { sleep } from './temp-store.js';

export interface PacedLoadOptions {
  /** The target: the loops never start more than this many ops per second. */
  opsPerSecond: number;
  /** Loops with one op in flight each. */
  concurrency: number;
  /** One op in this many is a put; the others are gets. */
  putEvery: number;
  /** Distinct keys (all written once before the load starts). */
  keys: number;
  keyPrefix: string;
}

export interface PacedLoadResult {
  ops: number;
  gets: number;
  puts: number;
  seconds: number;
  opsPerSecond: number;
}

export interface PacedLoad {
  /** Ops completed so far. */
  served(): number;
  /** Whether the loops still run. */
  readonly running: boolean;
  /** Stops the loops, waits for the ops in flight, and reports what was served. */
  stop(): Promise<PacedLoadResult>;
}

export async function startPacedLoad(store: Store, options: PacedLoadOptions): Promise<PacedLoad> {
  const key = (i: number): string => `${options.keyPrefix}${i % options.keys}`;
  for (let i = 0; i < options.keys; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, options.keys - i) }, (_, j) => store.put(key(i + j), { n: i + j })));
  }
  let running = true;
  let started = 0;
  let gets = 0;
  let puts = 0;
  const startedAt = performance.now();
  let stoppedAt = startedAt;
  const loops = Array.from({ length: options.concurrency }, async (_, loop) => {
    for (let n = 0; running; n++) {
      // The budget so far: the target rate times the time elapsed. Ahead of it, wait a millisecond (a macrotask: the page's server runs meanwhile).
      if (started >= ((performance.now() - startedAt) * options.opsPerSecond) / 1000) {
        await sleep(1);
        continue;
      }
      const op = started++;
      const k = key(loop * 7_919 + n * 31);
      if (op % options.putEvery === 0) {
        await store.put(k, { op });
        puts++;
      } else {
        await store.get(k);
        gets++;
      }
    }
  });
  let result: Promise<PacedLoadResult> | undefined;
  return {
    served: () => gets + puts,
    get running() {
      return running;
    },
    stop() {
      result ??= (async () => {
        running = false;
        await Promise.all(loops);
        stoppedAt = performance.now();
        const seconds = (stoppedAt - startedAt) / 1000;
        return { ops: gets + puts, gets, puts, seconds, opsPerSecond: (gets + puts) / seconds };
      })();
      return result;
    },
  };
}
