/**
 * What held the coordinator's event loop during a measured run (issue 15
 * target 6, the read tail): the event loop's delay (node:perf_hooks
 * monitorEventLoopDelay, sampled every RESOLUTION_MS) and the garbage
 * collector's pauses (PerformanceObserver 'gc' entries: every scavenge and
 * mark-compact with its duration). A tail that these explain is the
 * coordinator thread's own (allocation, long synchronous work); one they do
 * not is waiting elsewhere (node threads, the OS scheduler on a loaded
 * machine). So the note also says how long the thread waited for a core
 * while runnable (Linux's schedstat, where there is one) and how much of the
 * machine the whole process used. Reported as one note per run.
 */
import { availableParallelism } from 'node:os';
import { type IntervalHistogram, PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { type ThreadSchedule, mainThreadSchedule } from '../lib/thread-cpu.js';

/** Event-loop delay sampling period (the histogram's resolution). */
const RESOLUTION_MS = 10;

export interface StallSummary {
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayP999Ms: number;
  loopDelayMaxMs: number;
  gcPauses: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Pauses of 10 ms or more: the ones a p99.9 can be made of. */
  gcPausesOver10Ms: number;
  /** Of those pauses, the old generation's (mark-compact; the rest are scavenges of the young one): their count and time. */
  gcMajorPauses: number;
  gcMajorMs: number;
  /** The coordinator thread on a core, and runnable but waiting for one, during the run; undefined without schedstat. */
  coordinatorRanMs: number | undefined;
  coordinatorWaitedMs: number | undefined;
  /** CPU of every thread of the process over the run, as a share of all the machine's cores. */
  processCpuShare: number;
}

export class StallMonitor {
  private readonly loop: IntervalHistogram;
  private readonly observer: PerformanceObserver;
  private gcPauses = 0;
  private gcTotalMs = 0;
  private gcMaxMs = 0;
  private gcPausesOver10Ms = 0;
  private gcMajorPauses = 0;
  private gcMajorMs = 0;
  private scheduleAtStart: ThreadSchedule | undefined;
  private cpuAtStart = process.cpuUsage();
  private startedAtMs = 0;

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcPauses++;
        this.gcTotalMs += entry.duration;
        if (entry.duration > this.gcMaxMs) this.gcMaxMs = entry.duration;
        if (entry.duration >= 10) this.gcPausesOver10Ms++;
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          this.gcMajorPauses++;
          this.gcMajorMs += entry.duration;
        }
      }
    });
  }

  start(): void {
    this.scheduleAtStart = mainThreadSchedule();
    this.cpuAtStart = process.cpuUsage();
    this.startedAtMs = performance.now();
    this.loop.enable();
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): StallSummary {
    this.loop.disable();
    this.observer.disconnect();
    const schedule = mainThreadSchedule();
    const atStart = this.scheduleAtStart;
    const cpu = process.cpuUsage(this.cpuAtStart);
    const elapsedMs = Math.max(1, performance.now() - this.startedAtMs);
    // The histogram holds whole sampling intervals: the delay is what exceeds the period (rounded after, to 0.01 ms).
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    return {
      loopDelayP50Ms: ms(this.loop.percentile(50)),
      loopDelayP99Ms: ms(this.loop.percentile(99)),
      loopDelayP999Ms: ms(this.loop.percentile(99.9)),
      loopDelayMaxMs: ms(this.loop.max),
      gcPauses: this.gcPauses,
      gcTotalMs: Math.round(this.gcTotalMs),
      gcMaxMs: Math.round(this.gcMaxMs * 10) / 10,
      gcPausesOver10Ms: this.gcPausesOver10Ms,
      gcMajorPauses: this.gcMajorPauses,
      gcMajorMs: Math.round(this.gcMajorMs),
      coordinatorRanMs: schedule === undefined || atStart === undefined ? undefined : Math.round(schedule.ranMs - atStart.ranMs),
      coordinatorWaitedMs: schedule === undefined || atStart === undefined ? undefined : Math.round(schedule.waitedMs - atStart.waitedMs),
      processCpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs / availableParallelism(),
    };
  }
}

export function stallNote(target: string, durationMs: number, summary: StallSummary): string {
  const gcShare = ((100 * summary.gcTotalMs) / Math.max(1, durationMs)).toFixed(1);
  const pct = (share: number) => `${(100 * share).toFixed(1)}%`;
  const scheduled =
    summary.coordinatorRanMs === undefined || summary.coordinatorWaitedMs === undefined
      ? ''
      : `; on a core ${summary.coordinatorRanMs} ms (${pct(summary.coordinatorRanMs / Math.max(1, durationMs))} of the run), runnable but waiting for a core ${summary.coordinatorWaitedMs} ms (${pct(summary.coordinatorWaitedMs / Math.max(1, durationMs))})`;
  return `${target} run, coordinator thread: event-loop delay p50 ${summary.loopDelayP50Ms} ms, p99 ${summary.loopDelayP99Ms} ms, p99.9 ${summary.loopDelayP999Ms} ms, max ${summary.loopDelayMaxMs} ms (beyond a ${RESOLUTION_MS} ms sampling period); GC ${summary.gcPauses} pauses, ${summary.gcTotalMs} ms (${gcShare}% of the run), longest ${summary.gcMaxMs} ms, ${summary.gcPausesOver10Ms} of 10 ms or more, ${summary.gcMajorPauses} of the old generation (${summary.gcMajorMs} ms)${scheduled}; the process used ${pct(summary.processCpuShare)} of ${availableParallelism()} cores`;
}
