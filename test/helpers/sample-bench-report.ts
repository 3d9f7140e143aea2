/**
 * A plausible BenchReport built from a seed, for the HTML report's tests and
 * for looking at the report without running a benchmark. Input data only:
 * tests compare the page with whatever this builds, never with numbers
 * written down here. Partition owners come from the real ring, so the heat
 * map is laid out as a real run's would be.
 */
import { Prng, deriveSeed } from '../../lib/prng.js';
import { preferenceList } from '../../lib/ring/preference-list.js';
import { Ring } from '../../lib/ring/ring.js';
import type { BaselineResult, BenchReport, FaultEvent, HotKey, LatencySummary, NodeLoad, OpKind, TimelinePoint } from '../../bench/ycsb/bench-report.js';

export interface SampleOptions {
  seed?: number;
  nodes?: number;
  /** Tokens per node; the ring rounds nodes × vnodes up to a power of two. */
  vnodes?: number;
  ops?: OpKind[];
  /** Baselines by name; `ran: false` ones get a note. */
  baselines?: Array<{ name: string; ran: boolean }>;
  faults?: FaultEvent[];
  timelinePoints?: number;
  intervalMs?: number;
  hotKeys?: number;
  /** Whether the run had errors. */
  errors?: boolean;
}

export const DEFAULT_BASELINES = [
  { name: 'ringtable', ran: true },
  { name: 'map', ran: true },
  { name: 'lmdb', ran: true },
  { name: 'post-message', ran: true },
  { name: 'redis', ran: false },
];

const BASE_LATENCY_US: Record<OpKind, number> = { read: 45, update: 120, insert: 110, scan: 900, readModifyWrite: 170 };
const CDF_PERCENTILES = [0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 99, 99.5, 99.9, 99.95, 99.99, 100];

/** Approximately standard normal (sum of 12 uniforms minus 6): enough for plausible latencies. */
function normal(prng: Prng): number {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += prng.nextUint32() / 4294967296;
  return sum - 6;
}

function latency(prng: Prng, baseUs: number, samples: number): LatencySummary {
  const values = Array.from({ length: samples }, () => Math.max(1, Math.round(baseUs * Math.exp(0.6 * normal(prng)) * (prng.nextBelow(100) === 0 ? 8 : 1))));
  values.sort((a, b) => a - b);
  const at = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;
  return {
    count: samples,
    meanUs: values.reduce((a, b) => a + b, 0) / values.length,
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs: values[values.length - 1]!,
    cdf: CDF_PERCENTILES.map((p): [number, number] => [p, at(p)]),
  };
}

function timeline(prng: Prng, points: number, intervalMs: number, perSec: number, faults: FaultEvent[], errors: boolean): TimelinePoint[] {
  return Array.from({ length: points }, (_, i) => {
    const atMs = (i + 1) * intervalMs;
    const down = new Set<number>();
    for (const fault of [...faults].sort((a, b) => a.atMs - b.atMs)) {
      if (fault.atMs > atMs) break;
      if (fault.action === 'crash' || fault.action === 'stop') down.add(fault.node);
      else down.delete(fault.node);
    }
    const dip = down.size > 0 ? 0.7 : 1;
    return {
      atMs,
      opsPerSec: Math.round(perSec * dip * (0.9 + 0.2 * (prng.nextUint32() / 4294967296))),
      errors: errors ? (down.size > 0 ? 5 + prng.nextBelow(40) : prng.nextBelow(3)) : 0,
      hintsPending: down.size > 0 ? (i + 1) * 150 + prng.nextBelow(100) : 0,
      nodesDown: down.size,
    };
  });
}

export function sampleBenchReport(options: SampleOptions = {}): BenchReport {
  const seed = options.seed ?? 42;
  const nodeCount = options.nodes ?? 4;
  const vnodes = options.vnodes ?? 16;
  const ops = options.ops ?? ['read', 'update'];
  const intervalMs = options.intervalMs ?? 1000;
  const points = options.timelinePoints ?? 30;
  const faults = options.faults ?? (nodeCount > 1 ? [{ atMs: 10_000, action: 'crash', node: 1 }, { atMs: 20_000, action: 'restart', node: 1 }] : []);
  const errors = options.errors ?? true;
  const prng = new Prng(deriveSeed(seed, 0));

  const ring = Ring.create(Array.from({ length: nodeCount }, (_, i) => i), vnodes);
  const partitionOwners = Array.from({ length: ring.partitionCount }, (_, p) => ring.ownerOf(p));
  // Zipf-like heat: partition k of a shuffled order gets about 1/(k+1)^0.6 of the hottest's accesses.
  const order = partitionOwners.map((_, p) => p);
  for (let i = order.length - 1; i > 0; i--) {
    const j = prng.nextBelow(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const partitionHeat = new Array<number>(partitionOwners.length).fill(0);
  order.forEach((partition, rank) => (partitionHeat[partition] = Math.round(60_000 / (rank + 1) ** 0.6 + prng.nextBelow(500))));

  const readShare = ops.includes('read') ? 0.5 : 0;
  const nodes: NodeLoad[] = Array.from({ length: nodeCount }, (_, id) => {
    const owned = partitionHeat.reduce((sum, heat, p) => sum + (partitionOwners[p] === id ? heat : 0), 0);
    const reads = Math.round(owned * readShare);
    const writes = owned - reads;
    return { id, reads, writes, operations: reads + writes + Math.round(writes * 2) };
  });
  const meanOps = nodes.reduce((s, n) => s + n.operations, 0) / Math.max(1, nodes.length);
  const imbalance = nodes.length > 0 && meanOps > 0 ? Math.max(...nodes.map((n) => n.operations)) / meanOps : 0;

  const timelinePoints = timeline(prng, points, intervalMs, 40_000 + prng.nextBelow(20_000), faults, errors);
  const durationMs = points * intervalMs;
  const operations = Math.round(timelinePoints.reduce((sum, p) => sum + (p.opsPerSec * intervalMs) / 1000, 0));
  const throughputPerSec = durationMs > 0 ? (operations * 1000) / durationMs : 0;

  const latencyByOp: Partial<Record<OpKind, LatencySummary>> = {};
  for (const op of ops) latencyByOp[op] = latency(prng, BASE_LATENCY_US[op], 2000);

  const hotKeys: HotKey[] = [];
  let count = Math.round(operations * 0.04);
  for (let i = 0; i < (options.hotKeys ?? 10); i++) {
    const partition = prng.nextBelow(ring.partitionCount);
    hotKeys.push({ key: `user${(prng.nextUint32() * 7919) % 1e12}`, count, errorMax: prng.nextBelow(50), nodes: preferenceList(ring, partition, Math.min(3, nodeCount)) });
    count = Math.round(count * (0.55 + 0.3 * (prng.nextUint32() / 4294967296)));
  }

  const baselines: BaselineResult[] = (options.baselines ?? DEFAULT_BASELINES).map(({ name, ran }) => {
    const perSec = name === 'ringtable' ? throughputPerSec : throughputPerSec * (0.3 + prng.nextBelow(400) / 100);
    return ran
      ? { name, description: `${name} driven by the same workload, ${ops.join('/')} operations`, ran, throughputPerSec: perSec, ratioToRingtable: throughputPerSec > 0 ? perSec / throughputPerSec : 0 }
      : { name, description: `${name} driven by the same workload`, ran, note: `no ${name} server answered on 127.0.0.1`, throughputPerSec: 0, ratioToRingtable: 0 };
  });

  const byCode: Record<string, number> = {};
  if (errors) {
    const total = timelinePoints.reduce((s, p) => s + p.errors, 0);
    byCode.ERR_TIMEOUT = Math.round(total * 0.6);
    byCode.ERR_QUORUM = total - byCode.ERR_TIMEOUT;
  }
  const errorTotal = Object.values(byCode).reduce((a, b) => a + b, 0);

  const mix = { read: 0, update: 0, insert: 0, scan: 0, readModifyWrite: 0 };
  for (const op of ops) mix[op] = 1 / ops.length;

  return {
    schemaVersion: 1,
    command: `node dist/bench/ycsb/ringtable-bench.js --workload a --nodes ${nodeCount} --seed ${seed}`,
    workload: {
      name: 'a',
      mix,
      distribution: 'zipfian',
      theta: 0.99,
      hotspotDataFraction: 0.2,
      hotspotOpFraction: 0.8,
      recordCount: 100_000,
      valueBytes: 1000,
      scanLengthMax: 100,
      operationCount: operations,
      durationMs,
      concurrency: 64,
      targetPerSec: 0,
      seed,
    },
    store: { nodes: nodeCount, vnodes, n: Math.min(3, nodeCount), r: Math.min(2, nodeCount), w: Math.min(2, nodeCount), durability: 'async', conflicts: 'siblings', transport: 'sab' },
    machine: {
      cpus: 2,
      cpuModel: 'Sample CPU @ 2.0GHz',
      memoryGiB: 24,
      node: 'v20.19.0',
      platform: 'linux x64',
      packageVersion: '0.1.0',
      git: 'abc1234',
      loadAverageAtStart: 0.5,
      loadAverageAtEnd: 1.7,
      startedAt: '2025-01-01T00:00:00.000Z',
    },
    load: { records: 100_000, durationMs: 2500, throughputPerSec: 40_000 },
    run: { durationMs, operations, throughputPerSec, intervalMs, timeline: timelinePoints },
    latency: latencyByOp,
    errors: { total: errorTotal, timeouts: byCode.ERR_TIMEOUT ?? 0, byCode },
    nodes,
    imbalance,
    partitionHeat,
    partitionOwners,
    hotKeys,
    baselines,
    faults,
    notes: ['Sample report built from a seed by test/helpers/sample-bench-report.ts: the figures are made up.'],
  };
}
