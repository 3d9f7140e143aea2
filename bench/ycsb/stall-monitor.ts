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
 *
 * It also estimates the external memory (chiefly ArrayBuffers: a get's
 * returned value above 64 bytes) the thread allocated, from V8's own count
 * sampled every RESOLUTION_MS (increases summed, so frees between two
 * samples hide some: a lower bound). V8 11 counts external memory allocated
 * since its last mark-compact against the old generation's limit (heap.h
 * OldGenerationSpaceAvailable), which is what puts a run into the mode
 * where the old generation is collected every ~150 ms (bench/README.md,
 * "Session s10").
 */
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';
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
  /** External memory (ArrayBuffers) this thread allocated during the run, at least: V8's count's increases between samples. */
  externalBytesAllocated: number;
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
  private externalSampler: ReturnType<typeof setInterval> | undefined;
  private externalLast = 0;
  private externalAllocated = 0;

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
    this.externalLast = getHeapStatistics().external_memory;
    this.externalAllocated = 0;
    this.externalSampler = setInterval(() => this.sampleExternal(), RESOLUTION_MS);
    // The run's own work keeps the loop alive; the sampler must not.
    this.externalSampler.unref();
  }

  private sampleExternal(): void {
    const now = getHeapStatistics().external_memory;
    if (now > this.externalLast) this.externalAllocated += now - this.externalLast;
    this.externalLast = now;
  }

  stop(): StallSummary {
    this.loop.disable();
    this.observer.disconnect();
    clearInterval(this.externalSampler);
    this.sampleExternal();
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
      externalBytesAllocated: this.externalAllocated,
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
  const external = `; external memory (ArrayBuffers) allocated >= ${(summary.externalBytesAllocated / 1e6).toFixed(1)} MB (${(summary.externalBytesAllocated / 1e3 / Math.max(1, durationMs)).toFixed(1)} MB/s)`;
  return `${target} run, coordinator thread: event-loop delay p50 ${summary.loopDelayP50Ms} ms, p99 ${summary.loopDelayP99Ms} ms, p99.9 ${summary.loopDelayP999Ms} ms, max ${summary.loopDelayMaxMs} ms (beyond a ${RESOLUTION_MS} ms sampling period); GC ${summary.gcPauses} pauses, ${summary.gcTotalMs} ms (${gcShare}% of the run), longest ${summary.gcMaxMs} ms, ${summary.gcPausesOver10Ms} of 10 ms or more, ${summary.gcMajorPauses} of the old generation (${summary.gcMajorMs} ms)${external}${scheduled}; the process used ${pct(summary.processCpuShare)} of ${availableParallelism()} cores`;
}
