/**
 * Latency per operation type, in microseconds, in HdrHistograms
 * (hdr-histogram-js). Its WebAssembly build records a value in about 21 ns on
 * these machines against about 100 ns for the plain-JS one (anchors.md), so
 * recording every operation costs little next to a ~30 us store round trip;
 * the WASM module ships inside the npm package (base64), nothing is fetched.
 * Memory is fixed by the histogram's range and precision, not by the number
 * of operations: a bound by construction.
 */
import { type Histogram, build, initWebAssemblySync } from 'hdr-histogram-js';
import { OP_KINDS, type LatencySummary, type OpKind } from './bench-report.js';

/** Percentiles drawn as the CDF in reports: dense in the tail, where latency lives. */
export const CDF_PERCENTILES: readonly number[] = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 99.999, 100];

/** Three significant digits: 0.1% resolution at any latency, the HdrHistogram default. */
const SIGNIFICANT_DIGITS = 3;
/** Initial range 1 us .. 60 s; autoResize grows it should a stall last longer. */
const HIGHEST_TRACKABLE_US = 60_000_000;

let wasmReady = false;

function newHistogram(): Histogram {
  if (!wasmReady) {
    initWebAssemblySync();
    wasmReady = true;
  }
  return build({ useWebAssembly: true, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true });
}

export class LatencyRecorder {
  private readonly histograms: Histogram[];
  private destroyed = false;

  constructor() {
    this.histograms = OP_KINDS.map(() => newHistogram());
  }

  /** `kindIndex` indexes OP_KINDS (the order of OpCode). */
  record(kindIndex: number, latencyUs: number): void {
    this.histograms[kindIndex]!.recordValue(latencyUs);
  }

  count(kindIndex: number): number {
    return this.histograms[kindIndex]!.totalCount;
  }

  /** A summary for every operation type that recorded anything. */
  summaries(): Partial<Record<OpKind, LatencySummary>> {
    const out: Partial<Record<OpKind, LatencySummary>> = {};
    OP_KINDS.forEach((kind, i) => {
      const histogram = this.histograms[i]!;
      if (histogram.totalCount > 0) out[kind] = summarise(histogram);
    });
    return out;
  }

  /** Frees the WebAssembly memory; the recorder is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const histogram of this.histograms) histogram.destroy();
  }
}

function summarise(histogram: Histogram): LatencySummary {
  const maxUs = histogram.maxValue;
  // A percentile reads as the top of its bucket (within 0.1%), which can pass the largest value recorded: clamp, so p99.9 <= max.
  const at = (percentile: number) => Math.min(histogram.getValueAtPercentile(percentile), maxUs);
  return {
    count: histogram.totalCount,
    meanUs: Math.round(histogram.mean * 10) / 10,
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs,
    cdf: CDF_PERCENTILES.map((percentile): [number, number] => [percentile, at(percentile)]),
  };
}
