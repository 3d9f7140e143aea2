/**
 * What held the coordinator's event loop during a measured run (issue 15
 * target 6, the read tail): the event loop's delay (node:perf_hooks
 * monitorEventLoopDelay, sampled every RESOLUTION_MS) and the garbage
 * collector's pauses (PerformanceObserver 'gc' entries: every scavenge and
 * mark-compact with its duration). A tail that these explain is the
 * coordinator thread's own (allocation, long synchronous work); one they do
 * not is waiting elsewhere (node threads, the OS scheduler on a loaded
 * machine). Reported as one note per run.
 */
import { type IntervalHistogram, PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

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
}

export class StallMonitor {
  private readonly loop: IntervalHistogram;
  private readonly observer: PerformanceObserver;
  private gcPauses = 0;
  private gcTotalMs = 0;
  private gcMaxMs = 0;
  private gcPausesOver10Ms = 0;

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcPauses++;
        this.gcTotalMs += entry.duration;
        if (entry.duration > this.gcMaxMs) this.gcMaxMs = entry.duration;
        if (entry.duration >= 10) this.gcPausesOver10Ms++;
      }
    });
  }

  start(): void {
    this.loop.enable();
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): StallSummary {
    this.loop.disable();
    this.observer.disconnect();
    // The histogram holds whole sampling intervals: the delay is what exceeds the period.
    const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS);
    return {
      loopDelayP50Ms: ms(this.loop.percentile(50)),
      loopDelayP99Ms: ms(this.loop.percentile(99)),
      loopDelayP999Ms: ms(this.loop.percentile(99.9)),
      loopDelayMaxMs: ms(this.loop.max),
      gcPauses: this.gcPauses,
      gcTotalMs: Math.round(this.gcTotalMs),
      gcMaxMs: Math.round(this.gcMaxMs * 10) / 10,
      gcPausesOver10Ms: this.gcPausesOver10Ms,
    };
  }
}

export function stallNote(target: string, durationMs: number, summary: StallSummary): string {
  const gcShare = ((100 * summary.gcTotalMs) / Math.max(1, durationMs)).toFixed(1);
  return `${target} run, coordinator thread: event-loop delay p50 ${summary.loopDelayP50Ms} ms, p99 ${summary.loopDelayP99Ms} ms, p99.9 ${summary.loopDelayP999Ms} ms, max ${summary.loopDelayMaxMs} ms (beyond a ${RESOLUTION_MS} ms sampling period); GC ${summary.gcPauses} pauses, ${summary.gcTotalMs} ms (${gcShare}% of the run), longest ${summary.gcMaxMs} ms, ${summary.gcPausesOver10Ms} of 10 ms or more`;
}
