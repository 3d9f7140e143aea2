/**
 * How many gets one macrotask may read in place (readPath 'direct',
 * direct-reads.ts), and when it must stop so that the event loop turns.
 *
 * A read in place answers before the call returns, so a caller that starts
 * its next get when one resolves (a YCSB client with 256 in flight, an
 * application awaiting gets in a loop) never leaves the microtask queue:
 * timers, the rings' answers and every other I/O wait until the turn ends.
 * Past the turn's reads, a get waits for the next macrotask
 * (Coordinator.getLater) and each caller's chain stops there: so every turn
 * makes as many gets wait as there are chains in flight, and a short turn
 * makes most of them wait (512 reads a turn and 256 in flight: half of all
 * gets, each paying a pending promise and a second admission: 4-5% of
 * YCSB-C's time per get, bench/README.md "Session s12: single gets").
 *
 * So a turn always serves READS_IN_PLACE_PER_TURN (the bound before it could
 * stretch, about 1.8 ms of YCSB-C's reads on the 2-core machine), and goes on
 * past it only while nothing else is waited for: no node answer is awaited
 * (a write or a read by message in flight: its answer must not wait
 * READ_TURN_MS for the turn; YCSB-B then turns as it did) and the turn has
 * read for less than READ_TURN_MS by the monotonic clock, read every
 * CLOCK_EVERY_READS reads. READS_IN_PLACE_PER_TURN_MAX bounds it whatever the
 * clock says.
 *
 * Pure: the clock and the node links' state are passed in (node-host.ts).
 */
import assert from 'node:assert/strict';
import { isPowerOfTwo } from '../bytes.js';

/** Reads in place every turn may serve, whatever else waits. */
export const READS_IN_PLACE_PER_TURN = 512;
/** Reads in place a turn never exceeds (about 14 ms of YCSB-C's gets): the bound if the clock says little. */
export const READS_IN_PLACE_PER_TURN_MAX = 4_096;
/**
 * A turn past READS_IN_PLACE_PER_TURN ends once its reads took this long: the
 * longest an idle timer or another callback waits for chained gets. 8 ms
 * serve about 2,500 YCSB-C gets, so 256 chains make a tenth of them wait
 * (measured: as fast as no bound at all, bench/README.md).
 */
export const READ_TURN_MS = 8;
/** Reads between two looks at the clock (a power of two). */
export const CLOCK_EVERY_READS = 32;
assert.ok(isPowerOfTwo(CLOCK_EVERY_READS) && READS_IN_PLACE_PER_TURN % CLOCK_EVERY_READS === 0 && READS_IN_PLACE_PER_TURN < READS_IN_PLACE_PER_TURN_MAX);

export class ReadTurn {
  /** Reads served since the turn began. */
  private reads = 0;
  /** The clock at the turn's first read. */
  private startMs = 0;
  /** The turn is over: no more reads until `reset`. */
  private over = false;

  /**
   * `clockMs`: a monotonic clock in milliseconds; `answersAwaited`: whether
   * any node answer is awaited now (then the turn ends at READS_IN_PLACE_PER_TURN).
   */
  constructor(
    private readonly clockMs: () => number,
    private readonly answersAwaited: () => boolean,
  ) {}

  /** A new macrotask: nothing read yet. */
  reset(): void {
    this.reads = 0;
    this.over = false;
  }

  /** The turn's first read is about to be served: its time starts now. */
  begin(): void {
    this.startMs = this.clockMs();
  }

  /** Whether `reads` more reads may be served in this turn. */
  hasLeft(reads: number): boolean {
    return !this.over && this.reads + reads <= READS_IN_PLACE_PER_TURN_MAX;
  }

  /** One read served; past READS_IN_PLACE_PER_TURN, every CLOCK_EVERY_READS reads decide whether the turn goes on. */
  served(): void {
    const reads = ++this.reads;
    if ((reads & (CLOCK_EVERY_READS - 1)) !== 0 || reads < READS_IN_PLACE_PER_TURN) return;
    if (reads >= READS_IN_PLACE_PER_TURN_MAX || this.answersAwaited() || this.clockMs() - this.startMs >= READ_TURN_MS) this.over = true;
  }
}
