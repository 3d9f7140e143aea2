/**
 * A storage node thread runs at a lower scheduling priority than the thread
 * that started it (Linux nice, per thread).
 *
 * Why: the coordinator's thread is on every request's path (reads in place
 * are done there, every write is sent from there), a node thread on the
 * paths of its own keys only. When more threads are runnable than there are
 * cores, a node thread woken by the coordinator's Atomics.notify took the
 * coordinator's core (a woken thread that slept is eligible first, on
 * Linux 6.18's EEVDF as on CFS), and the coordinator then waited for a
 * core, with every operation it was carrying. Measured on 2 cores, YCSB-B
 * plain zipfian, 8 nodes, N=3 R=2 W=2 (bench/README.md, "Session s7"): at
 * nice 0 the coordinator waited for a core 18-22% of the run and each
 * notify cost it 250 us of wall time on average; at nice 10, 4-6%, and the
 * unthrottled peak rose from 57.8K to 85.1K ops/s.
 *
 * Only on Linux, where nice is a thread's own (setpriority(2), "under the
 * current Linux/NPTL implementation of POSIX threads, the nice value is a
 * per-thread attribute"): elsewhere the call would lower the whole process.
 * Lowering needs no privilege; a node thread restarted is a new thread,
 * started at its starter's priority, and lowers its own again.
 */
import { getPriority, setPriority } from 'node:os';
import { NICE_MAX } from '../bounds.js';

/**
 * Lower the calling thread's priority by `niceIncrement`, within Linux's
 * range. Returns its nice value afterwards, or undefined where nothing was
 * done (an increment of 0, not Linux, or a system that refused).
 */
export function lowerThreadPriority(niceIncrement: number, platform: NodeJS.Platform = process.platform): number | undefined {
  if (!Number.isInteger(niceIncrement) || niceIncrement < 0 || niceIncrement > NICE_MAX) throw new RangeError(`a node thread's nice increment is an integer in [0, ${NICE_MAX}], got ${niceIncrement}`);
  if (niceIncrement === 0 || platform !== 'linux') return undefined;
  try {
    // pid 0: the calling thread on Linux (see above).
    setPriority(0, Math.min(NICE_MAX, getPriority(0) + niceIncrement));
    return getPriority(0);
  } catch {
    // A sandbox that forbids setpriority (seccomp): the node runs at its starter's priority, as with 0.
    return undefined;
  }
}
