/**
 * Runs an operation stream against a target: the shell around OpSchedule.
 * Keeps up to `concurrency` operations in flight (each completion launches
 * the next), or with a target rate launches each at its intended time;
 * records each operation's latency in the histogram of its type, counts
 * errors by code, and tallies completions per interval.
 *
 * Synchronous targets (a Map, lmdb-js reads) complete inside the launch: the
 * driver then runs operations back to back, one at a time, and yields to the
 * event loop every SYNC_BURST of them so timers (progress, intervals, the
 * time limit) still run.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { OP_KINDS, type ErrorTally, type TimelinePoint } from './bench-report.js';
import { ErrorCounter, errorCodeOf } from './error-tally.js';
import { IntervalTally } from './interval-tally.js';
import { KeySpace, scanEnd } from './key-space.js';
import { LatencyRecorder } from './latency-recorder.js';
import { OpSchedule, type ScheduleLimits, latencyUs } from './op-schedule.js';
import { OpCode, type OperationStream } from './operation-stream.js';
import type { KvTarget, Outcome } from './targets/kv-target.js';

// The histogram of an operation is OP_KINDS[code]: both lists must keep one order.
assert.deepEqual([OpCode.READ, OpCode.UPDATE, OpCode.INSERT, OpCode.SCAN, OpCode.READ_MODIFY_WRITE], OP_KINDS.map((_, i) => i));

/** Synchronous operations run between two yields to the event loop. */
export const SYNC_BURST = 512;
/**
 * With a target rate, an operation launched this much after its intended
 * start counts as late: well above the 1 ms of a timer's granularity, and a
 * lag that the coordinated-omission correction charges to its latency.
 */
export const LAUNCH_LATE_MS = 10;

/**
 * With a target rate: how far the driver fell behind its schedule, and
 * whether for want of a slot. Time during which an operation was due and
 * every one of the `concurrency` slots was busy is the system under test
 * holding that many operations: queueing, the rate above what it serves at
 * that moment. A lag without it is the driver's own thread held (its event
 * loop busy or stalled: GC, a long turn, no core), after which the backlog
 * launches at once (and, with targets that answer within the turn, frees
 * its slots within microseconds).
 */
export interface LaunchLag {
  /** Operations launched LAUNCH_LATE_MS or more after their intended start. */
  late: number;
  /** The longest lag of any launch. */
  maxMs: number;
  /** Time during which an operation was due and every slot was busy. */
  slotsFullMs: number;
}

export interface Health {
  nodesDown: number;
  hintsPending: number;
}

export interface DriveOptions {
  stream: OperationStream;
  keys: KeySpace;
  target: KvTarget;
  limits: ScheduleLimits;
  intervalMs: number;
  /** Called at every interval's end: progress display, health sample, and the place for fault injection. */
  onInterval?: (elapsedMs: number, completed: number) => Health | void;
}

export interface DriveResult {
  /** Operations launched and completed (succeeded or failed). */
  operations: number;
  /** Operations that failed: errors.total. */
  errors: ErrorTally;
  durationMs: number;
  latency: LatencyRecorder;
  timeline: TimelinePoint[];
  /** Keys read that had no value (records inserted by operations still in flight). */
  notFound: number;
  /** With a target rate: launches behind the schedule (undefined unthrottled, where every launch is on time by definition). */
  launchLag?: LaunchLag;
}

/** Turns operation `index` of the stream into a target call; inserts are counted in launch (= stream) order for scan clipping. */
function executor(stream: OperationStream, keys: KeySpace, target: KvTarget): (index: number) => Outcome {
  let inserted = keys.recordCount;
  return (index) => {
    const keyNumber = stream.keyNumbers[index]!;
    switch (stream.codes[index]) {
      case OpCode.READ:
        return target.read(keyNumber);
      case OpCode.UPDATE:
        return target.write(keyNumber, keys.writeValue(index));
      case OpCode.INSERT:
        inserted++;
        return target.write(keyNumber, keys.writeValue(index));
      case OpCode.SCAN:
        return target.scan(keyNumber, scanEnd(keyNumber, stream.scanLengths[index]!, inserted));
      case OpCode.READ_MODIFY_WRITE:
        return target.readModifyWrite(keyNumber, keys.writeValue(index));
      default:
        throw new Error(`unknown operation code ${stream.codes[index]}`);
    }
  };
}

/**
 * One operation in flight on a promise: its two handlers are made once and
 * reused by the operations that take the slot after it, so a launch
 * allocates no closures (the driver's own allocation counted against the
 * store measured: bench/README.md "Session s8").
 */
class InFlight {
  index = 0;
  intendedStartMs = 0;
  readonly fulfilled: (result: unknown) => void;
  readonly rejected: (error: unknown) => void;

  constructor(settle: (slot: InFlight, result: unknown, error: unknown) => void) {
    this.fulfilled = (result) => settle(this, result, undefined);
    this.rejected = (error) => settle(this, undefined, error ?? new Error('rejected without a reason'));
  }
}

export function drive(options: DriveOptions): Promise<DriveResult> {
  const { stream, limits } = options;
  assert.ok(limits.operationCount <= stream.count, 'the stream holds every operation the run may launch');
  const execute = executor(stream, options.keys, options.target);
  const latency = new LatencyRecorder();
  const errors = new ErrorCounter();
  const tally = new IntervalTally(options.intervalMs);
  let notFound = 0;
  const paced = limits.targetPerSec > 0;
  const lag: LaunchLag = { late: 0, maxMs: 0, slotsFullMs: 0 };
  // With every slot busy: when the next operation is (or was) due; -1 while a slot is free.
  let fullSinceMs = -1;

  return new Promise<DriveResult>((resolve) => {
    const schedule = new OpSchedule(performance.now(), limits);
    const startMs = schedule.startMs;
    let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
    let finished = false;
    const slotsFull = (nowMs: number): void => {
      if (paced && fullSinceMs < 0) fullSinceMs = Math.max(nowMs, schedule.intendedStartMs(schedule.launchedCount));
    };

    const complete = (index: number, intendedStartMs: number, missing: number, error: unknown) => {
      const endMs = performance.now();
      schedule.completed();
      const failed = error !== undefined;
      if (failed) errors.add(errorCodeOf(error));
      else {
        latency.record(stream.codes[index]!, latencyUs(intendedStartMs, endMs));
        notFound += missing;
      }
      tally.record(endMs - startMs, failed);
    };

    // Operations in flight on a promise hold a slot; a settled slot is reused, so at most as many exist as were ever in flight at once.
    const idle: InFlight[] = [];
    const missingOf = options.target.missingOf?.bind(options.target);
    const settle = (slot: InFlight, result: unknown, error: unknown): void => {
      const { index, intendedStartMs } = slot;
      if (fullSinceMs >= 0) {
        lag.slotsFullMs += Math.max(0, performance.now() - fullSinceMs);
        fullSinceMs = -1;
      }
      idle.push(slot);
      if (error !== undefined) complete(index, intendedStartMs, 0, error);
      else complete(index, intendedStartMs, typeof result === 'number' ? result : missingOf !== undefined && stream.codes[index] === OpCode.READ ? missingOf(result) : 0, undefined);
      if (timer === undefined) dispatch();
    };

    const ticker = setInterval(() => {
      const elapsedMs = performance.now() - startMs;
      const health = options.onInterval?.(elapsedMs, schedule.launchedCount - schedule.inFlightCount);
      tally.sample(elapsedMs, health?.nodesDown ?? 0, health?.hintsPending ?? 0);
    }, options.intervalMs);

    const finish = (nowMs: number) => {
      finished = true;
      clearInterval(ticker);
      const durationMs = nowMs - startMs;
      const counted = errors.total + OP_KINDS.reduce((sum, _, i) => sum + latency.count(i), 0);
      assert.equal(counted, schedule.launchedCount, 'every launched operation is counted once, as a success or an error');
      resolve({ operations: schedule.launchedCount, errors: errors.tally(), durationMs, latency, timeline: tally.points(durationMs), notFound, ...(paced ? { launchLag: lag } : {}) });
    };

    const dispatch = (): void => {
      timer = undefined;
      let synchronous = 0;
      for (;;) {
        const nowMs = performance.now();
        const decision = schedule.next(nowMs);
        if (decision.kind === 'launch') {
          const { index, intendedStartMs } = decision;
          if (paced) {
            const lagMs = nowMs - intendedStartMs;
            if (lagMs > lag.maxMs) lag.maxMs = lagMs;
            if (lagMs >= LAUNCH_LATE_MS) lag.late++;
          }
          let outcome: Outcome;
          try {
            outcome = execute(index);
          } catch (error) {
            outcome = NaN;
            complete(index, intendedStartMs, 0, error ?? new Error('thrown without a reason'));
          }
          if (typeof outcome === 'number') {
            if (!Number.isNaN(outcome)) complete(index, intendedStartMs, outcome, undefined);
            if (++synchronous >= SYNC_BURST) {
              timer = setImmediate(dispatch);
              return;
            }
          } else {
            const slot = idle.pop() ?? new InFlight(settle);
            slot.index = index;
            slot.intendedStartMs = intendedStartMs;
            outcome.then(slot.fulfilled, slot.rejected);
            // Every slot busy: what schedule.next would say ('full', or 'done' with operations in flight, which
            // only a completion finishes), without a clock read. Each completion of a promise-returning target
            // launches one operation and then found the slots full: one more performance.now() and decision per
            // operation than a synchronous target, which never meets a full schedule (and never gets here).
            if (schedule.inFlightCount >= limits.concurrency) return slotsFull(nowMs);
          }
        } else if (decision.kind === 'wait') {
          timer = setTimeout(dispatch, Math.max(0, decision.atMs - nowMs));
          return;
        } else {
          // 'full': a completion calls back; 'done': the last completion finishes.
          if (decision.kind === 'full') slotsFull(nowMs);
          if (decision.kind === 'done' && schedule.isFinished(nowMs) && !finished) finish(nowMs);
          return;
        }
      }
    };
    dispatch();
  });
}
