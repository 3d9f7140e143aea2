/**
 * CPU time of this process's threads in groups, from Linux's per-thread
 * counters (/proc/self/task/<tid>/stat, utime + stime, in clock ticks of
 * 10 ms), so a benchmark can say where a series' CPU went: the main thread
 * (ringtable's coordinator), the threads a series started (ringtable's node
 * threads, the storage ceiling's writers), V8's helper threads (concurrent
 * and parallel GC, the optimizing compiler: they exist from the process's
 * start) and the rest (libuv's pool, which runs lmdb-js's asynchronous
 * commits). Node 20 has no per-thread CPU call of its own, and a worker
 * cannot be told apart from libuv's threads by name ("node" for all), hence
 * the grouping by when a thread appeared: V8's helpers are created at
 * startup, before libuv's pool (started on its first job: an ES module's
 * loading is one), whose UV_THREADPOOL_SIZE (default 4) threads come next.
 * Elsewhere than Linux: undefined.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Microseconds per clock tick (USER_HZ is 100 on every Linux Node runs on). */
const TICK_MICROS = 10_000;

export type ThreadCpu = ReadonlyMap<number, number>;

export type ThreadGroup = 'main' | 'started' | 'v8 helpers' | 'other';

/** Every thread's CPU so far, in µs; undefined where /proc is not there. */
export function threadCpu(): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const cpu = new Map<number, number>();
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state is the first, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * TICK_MICROS);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return cpu;
}

/** V8's helper threads among those there once libuv's pool started (the ones created before it). */
export function v8HelperThreads(atStart: ThreadCpu): Set<number> {
  const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const others = [...atStart.keys()].filter((tid) => tid !== process.pid).sort((a, b) => a - b);
  return new Set(others.slice(0, Math.max(0, others.length - poolSize)));
}

/**
 * The CPU each group spent between two snapshots. `helpers`: V8's helper
 * threads (v8HelperThreads); `beforeSetup`: the threads there before the
 * series started its own.
 */
export function cpuByGroup(helpers: ReadonlySet<number>, beforeSetup: ThreadCpu, from: ThreadCpu, to: ThreadCpu): Map<ThreadGroup, number> {
  const groups = new Map<ThreadGroup, number>([
    ['main', 0],
    ['started', 0],
    ['v8 helpers', 0],
    ['other', 0],
  ]);
  for (const [tid, micros] of to) {
    const used = micros - (from.get(tid) ?? 0);
    const group: ThreadGroup = tid === process.pid ? 'main' : helpers.has(tid) ? 'v8 helpers' : beforeSetup.has(tid) ? 'other' : 'started';
    groups.set(group, groups.get(group)! + used);
  }
  return groups;
}

/**
 * What the scheduler did with one thread so far (Linux /proc/<pid>/task/<tid>/schedstat:
 * nanoseconds on a core, nanoseconds runnable but waiting for one, times it was put on one).
 * The wait is what no profile of the thread shows: a thread that waits for a core
 * looks, from inside, like one whose work took longer.
 */
export interface ThreadSchedule {
  ranMs: number;
  waitedMs: number;
  slices: number;
}

/** The three numbers of a schedstat line; undefined if it is not one. */
export function parseSchedstat(line: string): ThreadSchedule | undefined {
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 3 || !fields.every((field) => /^\d+$/.test(field))) return undefined;
  return { ranMs: Number(fields[0]) / 1e6, waitedMs: Number(fields[1]) / 1e6, slices: Number(fields[2]) };
}

/** This process's main thread's schedule so far; undefined where /proc (or schedstats) is not there. */
export function mainThreadSchedule(): ThreadSchedule | undefined {
  try {
    return parseSchedstat(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8'));
  } catch {
    return undefined;
  }
}
