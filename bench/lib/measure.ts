/**
 * Timing and summarising. Runs of competing variants are interleaved
 * (A, B, B, A, A, B, ...: interleave rotates the order every round) so that
 * drift on a shared machine (other processes, page cache, thermal) and the
 * place in a round hit both alike, and each variant is summarised by its median.
 */
import { performance } from 'node:perf_hooks';

export interface Run {
  ops: number;
  seconds: number;
  opsPerSecond: number;
}

export async function timed(ops: number, body: () => Promise<void> | void): Promise<Run> {
  const startMs = performance.now();
  await body();
  const seconds = (performance.now() - startMs) / 1000;
  return { ops, seconds, opsPerSecond: ops / seconds };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Run each variant once per round for `rounds` rounds; returns the runs per
 * variant, in round order. The order rotates: round r runs variants r mod k,
 * r mod k + 1, ... (k variants), so over k rounds each variant takes each
 * place once. A place in the round is not neutral: put-many measured each
 * round's first series at about 0.9x of the second whatever build it ran
 * (likely the previous round's teardown still weighing on it), so with a
 * fixed order a before/after ratio carried the place's bias. Over a multiple
 * of k rounds every variant bears it alike.
 */
export async function interleave(rounds: number, variants: readonly { name: string; run: (round: number) => Promise<Run> }[], onRun?: (name: string, round: number, run: Run) => void): Promise<Map<string, Run[]>> {
  const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let place = 0; place < variants.length; place++) {
      const variant = variants[(round + place) % variants.length]!;
      const run = await variant.run(round);
      runs.get(variant.name)!.push(run);
      onRun?.(variant.name, round, run);
    }
  }
  return runs;
}

/** Let the event loop and GC settle between runs, so one run's garbage is not billed to the next. */
export async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

export function formatRate(opsPerSecond: number): string {
  if (!Number.isFinite(opsPerSecond)) return String(opsPerSecond);
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)}M`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)}K`;
  return opsPerSecond.toFixed(0);
}

export function formatSeconds(seconds: number): string {
  return seconds >= 10 ? `${seconds.toFixed(1)} s` : seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(0)} ms`;
}
