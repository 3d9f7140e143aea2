/**
 * One `ringtable bench` run: generate the operation stream, open the store,
 * load the records, run the stream with the requested concurrency (or target
 * rate), then collect per-node load, partition heat and hot keys; then the
 * same records and the same stream against each requested baseline, one
 * after another in this process; with `rounds` > 1, further rounds of
 * ringtable and the baselines, interleaved, so each ratio is also measured
 * under the same machine load. Returns the filled BenchReport.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Store, StoreStats } from '../../lib/index.js';
import { makeTempDir, removeTempDir } from '../lib/temp-dir.js';
import { accessStats, type AccessStats } from './access-stats.js';
import type { BaselineResult, BenchReport, FaultEvent, KeyForm, NodeLoad, StoreShape, WorkloadConfig } from './bench-report.js';
import { type FaultStep, crashImpacts, dueSteps } from './fault-plan.js';
import { healthOf } from './health.js';
import { KeySpace } from './key-space.js';
import { loadAverage, machineFacts } from './machine-facts.js';
import { imbalanceOf, nodeLoads } from './node-load.js';
import { type DriveResult, type Health, LAUNCH_LATE_MS, type LaunchLag, drive } from './op-driver.js';
import { peakCaution, rateAtPercentOfPeak } from './op-schedule.js';
import { generateOperations, type OperationStream } from './operation-stream.js';
import type { Progress } from './progress.js';
import type { KvTarget } from './targets/kv-target.js';
import { LmdbTarget } from './targets/lmdb-target.js';
import { MapTarget } from './targets/map-target.js';
import { RedisTarget } from './targets/redis-target.js';
import { RedisServer } from '../lib/redis-server.js';
import { RingtableTarget, drained } from './targets/ringtable-target.js';
import { type StallSummary, StallMonitor, stallNote } from './stall-monitor.js';

export const BASELINE_NAMES = ['map', 'lmdb', 'post-message', 'redis'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/** Timeline resolution. */
export const INTERVAL_MS = 1000;
/** Longest wait for replications and repairs still in flight after callers were answered (W < N). */
const DRAIN_WAIT_MS = 10_000;
/**
 * `--target P%`: how long the unthrottled pass that measures the peak runs
 * (no longer than the run's --duration). Five seconds: the throughput of a
 * warmed-up store settles within a second or two, and at this workload's
 * 100-180K ops/s 5 s is 0.5-0.9M operations, the length of an unthrottled
 * run limited by the default 1M operations (what "the peak" meant in the
 * figures before, bench/README.md); longer would spend the machine's time,
 * and move V8's heap further from where a run at the target keeps it.
 */
export const PEAK_PASS_MS = 5_000;

export interface BenchRequest {
  workload: WorkloadConfig;
  /** How the stream's keys are handed to the targets that take either form (bench-report.ts KeyForm). */
  keyForm: KeyForm;
  store: StoreShape;
  baselines: BaselineName[];
  /** Rounds of ringtable then each baseline (the first is the full measurement; the others throughput only). */
  rounds: number;
  /** Port of the redis-server on 127.0.0.1 for the redis baseline. */
  redisPort: number;
  /** Start a redis-server of our own with this command (on a free port, stopped afterwards) instead of using redisPort. */
  redisServer?: string | undefined;
  /** Directory for the stores; a temporary one (removed at the end) when undefined. */
  path: string | undefined;
  command: string;
  /** Node failures during the measured run (`--fault`), ringtable only. */
  faults: FaultStep[];
}

export interface RunContext {
  progress: Progress;
  /** One line of narration (phase changes), not figures. */
  log: (line: string) => void;
}

interface Measured {
  load: { records: number; durationMs: number; throughputPerSec: number };
  run: DriveResult;
  /** The coordinator thread's event-loop delay and GC pauses during the run (stall-monitor.ts). */
  stalls: StallSummary;
  /** The rate the run went at: the workload's, or with `--target P%` P% of `peak`. */
  targetPerSec: number;
  /** With hooks.findPeak: the unthrottled pass the run's rate was derived from. */
  peak?: NonNullable<BenchReport['peak']>;
}

export async function runBench(request: BenchRequest, context: RunContext): Promise<BenchReport> {
  const { facts, packages } = machineFacts();
  const notes: string[] = [];
  const workload = request.workload;

  const generatedMs = performance.now();
  const stream = generateOperations(workload);
  const keys = new KeySpace(stream.keyCountAfter, workload.recordCount, workload.valueBytes, workload.seed, request.keyForm);
  context.log(`operation stream: ${stream.count} operations, ${keys.names.length} keys, generated in ${(performance.now() - generatedMs).toFixed(0)} ms (outside the measured phase)`);

  const dir = request.path ?? makeTempDir('ringtable-bench-');
  fs.mkdirSync(dir, { recursive: true });
  try {
    const main = await measureRingtable(request, stream, keys, path.join(dir, 'ringtable'), context);
    // With --target P%, ringtable's peak pass set the rate: the baselines and later rounds run at that same rate.
    const paced: BenchRequest = { ...request, workload: { ...workload, targetPerSec: main.measured.targetPerSec } };
    if (main.target.loadRetries.length > 0) notes.push(`ringtable load: ${main.target.loadRetries.length} batches retried with smaller batches (machine too busy for the store's timeout): ${main.target.loadRetries.join('; ')}`);
    const baselines: BaselineResult[] = [];
    if (request.baselines.length > 0) {
      baselines.push(baselineOf(main.target, main.measured, main.throughputPerSec, main.latency));
      for (const name of request.baselines) baselines.push(await measureBaseline(name, paced, stream, keys, dir, main.throughputPerSec, context));
      if (request.rounds > 1) await measureMoreRounds(paced, stream, keys, dir, baselines, context);
    }
    notes.push(...runNotes(paced, main.measured.run, main.access, main.measured.peak));
    notes.push(stallNote('ringtable', main.measured.run.durationMs, main.measured.stalls));
    if (stream.foldedDraws > 0) notes.push(`${stream.foldedDraws} zipfian draws found no inserted key and were folded into range (see bench/ycsb/zipfian.ts)`);
    if (!main.drainedInTime) notes.push(`replications still in flight ${DRAIN_WAIT_MS} ms after the run: node counters may be short`);
    notes.push(`versions: lmdb ${packages.lmdb}, msgpackr ${packages.msgpackr}`);
    for (const baseline of baselines) if (baseline.note !== undefined) notes.push(`${baseline.name}: ${baseline.note}`);
    for (const impact of crashImpacts(main.measured.run.timeline, main.faults)) {
      const recovery = impact.recoveryMs === undefined ? 'not back to 90% before the run ended' : impact.recoveryMs === 0 ? 'never below 90% of it' : `back to 90% ${(impact.recoveryMs / 1000).toFixed(1)} s after it`;
      notes.push(`fault on node ${impact.node} at ${(impact.crashAtMs / 1000).toFixed(1)} s: throughput ${Math.round(impact.beforePerSec)}/s before, lowest ${Math.round(impact.lowestPerSec)}/s after (a ${(impact.dip * 100).toFixed(0)}% dip), ${recovery}`);
    }
    const run = main.measured.run;
    const report: BenchReport = {
      schemaVersion: 1,
      command: request.command,
      workload: paced.workload,
      keyForm: request.keyForm,
      store: request.store,
      machine: { ...facts, loadAverageAtEnd: loadAverage() },
      load: main.measured.load,
      run: {
        durationMs: round(run.durationMs, 1),
        operations: run.operations,
        throughputPerSec: round(main.throughputPerSec, 1),
        intervalMs: INTERVAL_MS,
        timeline: run.timeline.map((point) => ({ ...point, atMs: round(point.atMs, 1), opsPerSec: round(point.opsPerSec, 1) })),
        keyAccesses: main.access.keyAccesses,
        notFound: run.notFound,
        ...(run.launchLag === undefined ? {} : { launchLag: { ...run.launchLag, maxMs: round(run.launchLag.maxMs, 1), slotsFullMs: round(run.launchLag.slotsFullMs, 1) } }),
      },
      ...(main.measured.peak === undefined ? {} : { peak: main.measured.peak }),
      latency: main.latency,
      errors: run.errors,
      nodes: main.nodes,
      imbalance: round(imbalanceOf(main.nodes), 4),
      writeCopiesImbalance: round(main.access.writeCopiesImbalance, 4),
      partitionHeat: main.access.partitionHeat,
      partitionOwners: main.partitionOwners,
      hotKeys: main.access.hotKeys,
      baselines,
      faults: main.faults,
      stalls: main.measured.stalls,
      notes,
    };
    return report;
  } finally {
    if (request.path === undefined) removeTempDir(dir);
  }
}

function seconds(ms: number): number {
  return Math.max(ms, 1e-3) / 1000;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

interface MeasureHooks {
  /** After loading, before the run: settle and snapshot counters (not timed). */
  afterLoad?: () => Promise<void>;
  /** At each interval of the run: cluster health for the timeline. */
  health?: () => Health;
  /** At each interval of the run, before health is read: apply the faults due. */
  onRunInterval?: (elapsedMs: number) => void;
  /** With `--target P%` (workload.targetPercentOfPeak): measure the peak after the warm-up and run at P% of it. */
  findPeak?: boolean;
}

/** Load the records, then run the stream: the two timed phases every target goes through. */
async function measure(target: KvTarget, request: BenchRequest, stream: OperationStream, keys: KeySpace, context: RunContext, hooks: MeasureHooks = {}): Promise<Measured> {
  const workload = request.workload;
  context.progress.start(`${target.name}: load`, workload.recordCount);
  const loadStartMs = performance.now();
  await target.load(0, workload.recordCount, (count) => context.progress.update(count, ''));
  const loadMs = performance.now() - loadStartMs;
  context.progress.stop();
  const load = { records: workload.recordCount, durationMs: round(loadMs, 1), throughputPerSec: round(workload.recordCount / seconds(loadMs), 1) };
  context.log(`${target.name}: loaded ${workload.recordCount} records in ${(loadMs / 1000).toFixed(2)} s`);
  await hooks.afterLoad?.();
  const warmUpPerSec = (workload.warmupMs ?? 0) > 0 ? await warmUp(target, workload, stream, keys, context) : undefined;
  const peak = hooks.findPeak === true && workload.targetPercentOfPeak !== undefined ? await peakPass(target, workload, stream, keys, context, warmUpPerSec) : undefined;
  const targetPerSec = peak === undefined ? workload.targetPerSec : rateAtPercentOfPeak(workload.targetPercentOfPeak!, peak.throughputPerSec);
  if (peak !== undefined) context.log(`${target.name}: the run's target is ${workload.targetPercentOfPeak}% of that peak: ${targetPerSec} ops/s`);

  context.progress.start(`${target.name}: run`, workload.operationCount);
  const monitor = new StallMonitor();
  monitor.start();
  let previousCompleted = 0;
  let previousMs = 0;
  const run = await drive({
    stream,
    keys,
    target,
    limits: { operationCount: workload.operationCount, durationMs: workload.durationMs, concurrency: workload.concurrency, targetPerSec },
    intervalMs: INTERVAL_MS,
    onInterval: (elapsedMs, completed) => {
      hooks.onRunInterval?.(elapsedMs);
      const rate = ((completed - previousCompleted) * 1000) / Math.max(1, elapsedMs - previousMs);
      previousCompleted = completed;
      previousMs = elapsedMs;
      const limit = workload.durationMs > 0 ? `/${(workload.durationMs / 1000).toFixed(0)}` : '';
      context.progress.update(completed, `${(elapsedMs / 1000).toFixed(0)}${limit} s | ${Math.round(rate)} ops/s`);
      return hooks.health?.();
    },
  });
  const stalls = monitor.stop();
  context.progress.update(run.operations, `${(run.durationMs / 1000).toFixed(1)} s`);
  context.progress.stop();
  context.log(`${target.name}: ran ${run.operations} operations in ${(run.durationMs / 1000).toFixed(2)} s, ${run.errors.total} errors`);
  return { load, run, stalls, targetPerSec, ...(peak === undefined ? {} : { peak }) };
}

/**
 * `--target P%`'s peak: the stream from its start, unthrottled, unmeasured
 * but for its throughput, for PEAK_PASS_MS (no longer than the run's own
 * duration limit, and ending at the stream's end). It runs right before the
 * run, after the warm-up, so that the rate is the one the store sustains in
 * the state the run starts in, not a figure from another process.
 */
async function peakPass(
  target: KvTarget,
  workload: BenchRequest['workload'],
  stream: OperationStream,
  keys: KeySpace,
  context: RunContext,
  warmUpPerSec: number | undefined,
): Promise<NonNullable<BenchReport['peak']>> {
  const durationMs = workload.durationMs > 0 ? Math.min(PEAK_PASS_MS, workload.durationMs) : PEAK_PASS_MS;
  context.progress.start(`${target.name}: peak`, workload.operationCount);
  const pass = await drive({
    stream,
    keys,
    target,
    limits: { operationCount: workload.operationCount, durationMs, concurrency: workload.concurrency, targetPerSec: 0 },
    intervalMs: INTERVAL_MS,
    onInterval: (elapsedMs, completed) => context.progress.update(completed, `peak ${(elapsedMs / 1000).toFixed(0)}/${(durationMs / 1000).toFixed(0)} s`),
  });
  context.progress.stop();
  pass.latency.destroy();
  const throughputPerSec = pass.operations / seconds(pass.durationMs);
  context.log(`${target.name}: peak pass (unthrottled) ran ${pass.operations} operations in ${(pass.durationMs / 1000).toFixed(2)} s: ${Math.round(throughputPerSec)} ops/s, ${pass.errors.total} errors`);
  const caution = peakCaution(throughputPerSec, warmUpPerSec);
  if (caution !== undefined) context.log(`${target.name}: ${caution}`);
  return {
    operations: pass.operations,
    durationMs: round(pass.durationMs, 1),
    throughputPerSec: round(throughputPerSec, 1),
    ...(warmUpPerSec === undefined ? {} : { warmUpThroughputPerSec: round(warmUpPerSec, 1) }),
  };
}

/**
 * The stream, unmeasured, for workload.warmupMs (bench-report.ts's warmupMs):
 * at the same pace and concurrency as the run, with no fault plan, its
 * latencies and counts discarded. An insert it makes is made again by the
 * run (an overwrite of the same value), so workloads d and e read a few
 * records early that the cold run would have found missing.
 */
async function warmUp(target: KvTarget, workload: BenchRequest['workload'], stream: OperationStream, keys: KeySpace, context: RunContext): Promise<number> {
  context.progress.start(`${target.name}: warm-up`, workload.operationCount);
  const warm = await drive({
    stream,
    keys,
    target,
    limits: { operationCount: workload.operationCount, durationMs: workload.warmupMs!, concurrency: workload.concurrency, targetPerSec: workload.targetPerSec },
    intervalMs: INTERVAL_MS,
    onInterval: (elapsedMs, completed) => context.progress.update(completed, `warm-up ${(elapsedMs / 1000).toFixed(0)}/${(workload.warmupMs! / 1000).toFixed(0)} s`),
  });
  context.progress.stop();
  context.log(`${target.name}: warm-up ran ${warm.operations} operations in ${(warm.durationMs / 1000).toFixed(2)} s (not measured), ${warm.errors.total} errors`);
  return warm.operations / seconds(warm.durationMs);
}

const RUN_COUNTERS = ['readsInPlace', 'readRepairs', 'readRepairsSkipped', 'readRepairsCovered', 'siblingsSeen', 'timeouts', 'overloaded', 'writeEnvelopes', 'hintsDelivered'] as const;

function counterDeltas(before: StoreStats, after: StoreStats): string {
  return RUN_COUNTERS.map((name) => `${name} ${after[name] - before[name]}`).join(', ');
}

interface MainResult {
  target: RingtableTarget;
  measured: Measured;
  throughputPerSec: number;
  latency: BenchReport['latency'];
  nodes: NodeLoad[];
  partitionOwners: number[];
  access: AccessStats;
  drainedInTime: boolean;
  faults: FaultEvent[];
}

async function measureRingtable(request: BenchRequest, stream: OperationStream, keys: KeySpace, dir: string, context: RunContext): Promise<MainResult> {
  context.log(`ringtable: opening ${request.store.nodes} storage nodes at ${dir}`);
  const target = await RingtableTarget.open('ringtable', dir, request.store, keys);
  const store = target.store;
  try {
    // Where every key lives, before the timed loop: heat is counted from it afterwards.
    const partitionOfKey = new Int32Array(keys.names.length);
    for (let k = 0; k < keys.names.length; k++) partitionOfKey[k] = store.partitionOf(keys.names[k]!);
    const partitionOwners = store.partitionOwners();
    // The store's counters once loaded: the run's node loads and counters are counted from them.
    let before: StoreStats | undefined;
    let drainedInTime = true;
    const faults: FaultEvent[] = [];
    let faultsDone = 0;
    const measured = await measure(target, request, stream, keys, context, {
      findPeak: true,
      afterLoad: async () => {
        drainedInTime = (await drained(store, DRAIN_WAIT_MS)) && drainedInTime;
        before = store.stats();
      },
      health: () => healthOf(store),
      onRunInterval: (elapsedMs) => {
        // Faults act at interval boundaries (1 s): the timeline point after a step shows its effect.
        for (const step of dueSteps(request.faults, elapsedMs, faultsDone)) {
          faultsDone++;
          faults.push({ atMs: Math.round(elapsedMs), action: step.action, node: step.node });
          context.log(`fault at ${(elapsedMs / 1000).toFixed(1)} s: ${step.action} node ${step.node}`);
          applyFault(store, step).catch((error: unknown) => context.log(`fault ${step.action} of node ${step.node} failed: ${(error as Error).message}`));
        }
      },
    });
    drainedInTime = (await drained(store, DRAIN_WAIT_MS)) && drainedInTime;
    const after = store.stats();
    const nodes = nodeLoads(before?.nodes ?? [], after.nodes);
    if (after.hotKeyCache !== undefined) context.log(`hot-key cache: ${JSON.stringify(after.hotKeyCache)}`);
    if (before !== undefined) context.log(`store counters in the run: ${counterDeltas(before, after)}`);
    const run = measured.run;
    const access = accessStats({
      stream,
      operations: run.operations,
      recordCount: request.workload.recordCount,
      partitionOfKey,
      partitionCount: partitionOwners.length,
      nodeCount: request.store.nodes,
      names: keys.names,
      preferenceList: (key) => store.preferenceList(key),
    });
    const latency = run.latency.summaries();
    run.latency.destroy();
    return { target, measured, throughputPerSec: run.operations / seconds(run.durationMs), latency, nodes, partitionOwners, access, drainedInTime, faults };
  } finally {
    await target.close();
  }
}

/**
 * Rounds 2..rounds: ringtable, then each baseline that ran in round 1, each
 * in a fresh directory removed after its round. Fills every baseline's
 * throughputPerRound, ratioPerRound and their median in place.
 */
async function measureMoreRounds(request: BenchRequest, stream: OperationStream, keys: KeySpace, dir: string, baselines: BaselineResult[], context: RunContext): Promise<void> {
  const ringtable = baselines[0]!;
  const others = baselines.slice(1).filter((baseline) => baseline.ran);
  for (const baseline of [ringtable, ...others]) {
    baseline.throughputPerRound = [baseline.throughputPerSec];
    baseline.ratioPerRound = [baseline.ratioToRingtable];
  }
  for (let roundNumber = 2; roundNumber <= request.rounds; roundNumber++) {
    const roundDir = path.join(dir, `round-${roundNumber}`);
    fs.mkdirSync(roundDir, { recursive: true });
    try {
      context.log(`round ${roundNumber} of ${request.rounds}`);
      const target = await RingtableTarget.open('ringtable', path.join(roundDir, 'ringtable'), request.store, keys);
      let ringtablePerSec: number;
      try {
        const measured = await measure(target, request, stream, keys, context, { afterLoad: async () => void (await drained(target.store, DRAIN_WAIT_MS)) });
        measured.run.latency.destroy();
        ringtablePerSec = measured.run.operations / seconds(measured.run.durationMs);
      } finally {
        await target.close();
      }
      ringtable.throughputPerRound!.push(round(ringtablePerSec, 1));
      ringtable.ratioPerRound!.push(1);
      for (const baseline of others) {
        const result = await measureBaseline(baseline.name as BaselineName, request, stream, keys, roundDir, ringtablePerSec, context);
        baseline.throughputPerRound!.push(result.throughputPerSec);
        baseline.ratioPerRound!.push(result.ratioToRingtable);
      }
    } finally {
      removeTempDir(roundDir);
    }
  }
  for (const baseline of [ringtable, ...others]) baseline.medianRatioToRingtable = median(baseline.ratioPerRound!);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : round((sorted[middle - 1]! + sorted[middle]!) / 2, 4);
}

async function applyFault(store: Store, step: FaultStep): Promise<void> {
  switch (step.action) {
    case 'crash':
      return store.crashNode(step.node);
    case 'restart':
    case 'start':
      return store.startNode(step.node);
    case 'stop':
      return store.stopNode(step.node);
    case 'pause':
      store.faults.pause(step.node);
      return;
    case 'resume':
      store.faults.resume(step.node);
      return;
  }
}

async function openBaseline(name: BaselineName, request: BenchRequest, keys: KeySpace, dir: string): Promise<KvTarget | string> {
  switch (name) {
    case 'map':
      return new MapTarget(keys);
    case 'lmdb':
      fs.mkdirSync(path.join(dir, 'lmdb'), { recursive: true });
      return new LmdbTarget(path.join(dir, 'lmdb'), request.store.durability, keys);
    case 'post-message':
      return RingtableTarget.open('post-message', path.join(dir, 'post-message'), { ...request.store, transport: 'post-message', readPath: 'messages' }, keys);
    case 'redis': {
      const server = request.redisServer === undefined ? undefined : await RedisServer.start(request.redisServer);
      const connection = await RedisTarget.connect(keys, server?.port ?? request.redisPort, server);
      return connection.ok ? connection.target : connection.note;
    }
  }
}

function baselineOf(target: KvTarget, measured: Measured, ringtablePerSec: number, latency?: BenchReport['latency']): BaselineResult {
  const throughputPerSec = measured.run.operations / seconds(measured.run.durationMs);
  const result: BaselineResult = {
    name: target.name,
    description: target.description,
    ran: true,
    throughputPerSec: round(throughputPerSec, 1),
    ratioToRingtable: round(throughputPerSec / ringtablePerSec, 4),
  };
  if (latency !== undefined) result.latency = latency;
  const errors = measured.run.errors;
  if (errors.total > 0) result.note = `${errors.total} of ${measured.run.operations} operations failed: ${JSON.stringify(errors.byCode)}`;
  return result;
}

async function measureBaseline(name: BaselineName, request: BenchRequest, stream: OperationStream, keys: KeySpace, dir: string, ringtablePerSec: number, context: RunContext): Promise<BaselineResult> {
  let target: KvTarget | string;
  try {
    target = await openBaseline(name, request, keys, dir);
  } catch (error) {
    target = `could not start: ${(error as Error).message}`;
  }
  if (typeof target === 'string') {
    context.log(`${name}: skipped: ${target}`);
    return { name, description: `${name} baseline`, ran: false, note: target, throughputPerSec: 0, ratioToRingtable: 0 };
  }
  try {
    const measured = await measure(target, request, stream, keys, context);
    context.log(stallNote(name, measured.run.durationMs, measured.stalls));
    const latency = measured.run.latency.summaries();
    measured.run.latency.destroy();
    const result = baselineOf(target, measured, ringtablePerSec, latency);
    if (target instanceof RingtableTarget && target.loadRetries.length > 0) {
      const retried = `load: ${target.loadRetries.length} batches retried with smaller batches (machine too busy for the store's timeout)`;
      result.note = result.note === undefined ? retried : `${result.note}; ${retried}`;
    }
    return result;
  } finally {
    await target.close();
  }
}

/** One target measured alone in this process (measureAlone): what a tail comparison needs. */
export interface AloneResult {
  name: string;
  /** The rate the run went at: the workload's, or with `--target P%` P% of `peak`. */
  targetPerSec: number;
  peak?: NonNullable<BenchReport['peak']>;
  throughputPerSec: number;
  operations: number;
  durationMs: number;
  latency: BenchReport['latency'];
  launchLag?: LaunchLag;
  stalls: StallSummary;
}

/**
 * A baseline alone: the stream, load, warm-up, peak pass (with `--target P%`)
 * and run that ringtable goes through in runBench, with no ringtable run
 * before it in this process (its threads, heap and garbage would weigh on the
 * baseline's run). bench/tail-floor.bench.ts runs each in a fresh process.
 */
export async function measureAlone(name: BaselineName, request: BenchRequest, context: RunContext): Promise<AloneResult> {
  const stream = generateOperations(request.workload);
  const keys = new KeySpace(stream.keyCountAfter, request.workload.recordCount, request.workload.valueBytes, request.workload.seed, request.keyForm);
  const dir = request.path ?? makeTempDir('ringtable-bench-');
  fs.mkdirSync(dir, { recursive: true });
  try {
    const target = await openBaseline(name, request, keys, dir);
    if (typeof target === 'string') throw new Error(`${name} could not start: ${target}`);
    try {
      const measured = await measure(target, request, stream, keys, context, { findPeak: true });
      const run = measured.run;
      const latency = run.latency.summaries();
      run.latency.destroy();
      return {
        name,
        targetPerSec: measured.targetPerSec,
        ...(measured.peak === undefined ? {} : { peak: measured.peak }),
        throughputPerSec: round(run.operations / seconds(run.durationMs), 1),
        operations: run.operations,
        durationMs: round(run.durationMs, 1),
        latency,
        ...(run.launchLag === undefined ? {} : { launchLag: run.launchLag }),
        stalls: measured.stalls,
      };
    } finally {
      await target.close();
    }
  } finally {
    if (request.path === undefined) removeTempDir(dir);
  }
}

function launchLagNote(lag: LaunchLag, operations: number, durationMs: number): string {
  const share = `${((100 * lag.late) / Math.max(1, operations)).toFixed(2)}%`;
  const full = `${Math.round(lag.slotsFullMs)} ms (${((100 * lag.slotsFullMs) / Math.max(1, durationMs)).toFixed(1)}% of the run)`;
  return `behind the schedule: ${lag.late} operations (${share}) launched ${LAUNCH_LATE_MS} ms or more after their intended start, longest lag ${lag.maxMs.toFixed(1)} ms; an operation was due with every one of the ${'--concurrency'} slots busy for ${full} (the store holding that many: queueing), the rest of the lag is the driver's thread held (GC, a long turn, waiting for a core)`;
}

function runNotes(request: BenchRequest, run: DriveResult, access: AccessStats, peak: BenchReport['peak']): string[] {
  const notes: string[] = [];
  const workload = request.workload;
  notes.push('operations counts every operation launched and completed, failed or not; latency histograms hold the successful ones, errors the others (operations = sum of latency counts + errors.total); throughput = operations / run duration');
  if (peak !== undefined) notes.push(`target ${workload.targetPercentOfPeak}% of the peak: after the warm-up, the stream ran unthrottled for ${(peak.durationMs / 1000).toFixed(2)} s (${peak.operations} operations, not measured otherwise) at ${round(peak.throughputPerSec, 0)} ops/s, so the run's target is ${workload.targetPerSec} ops/s`);
  const caution = peak === undefined ? undefined : peakCaution(peak.throughputPerSec, peak.warmUpThroughputPerSec);
  if (caution !== undefined) notes.push(`caution: ${caution}`);
  if (workload.targetPerSec > 0) notes.push(`target ${workload.targetPerSec} ops/s: operation i is scheduled at start + i/target and its latency runs from that intended start (coordinated-omission correction)`);
  else notes.push(`unthrottled: ${workload.concurrency} operations in flight, each latency from the moment the operation was launched`);
  if (run.launchLag !== undefined) notes.push(launchLagNote(run.launchLag, run.operations, run.durationMs));
  if (workload.mix.scan > 0) notes.push('scan: a hash-partitioned store has no key order, so a YCSB scan is a getMany of the next records in key-number order (as YCSB runs scans on hash-partitioned stores): one operation, one latency');
  if (run.notFound > 0) notes.push(`${run.notFound} key reads found no value (records whose insert was still in flight); counted as successful reads`);
  notes.push(`${access.keyAccesses} key accesses (a scan touches each record it reads) in partitionHeat and the hot-key sketch`);
  return notes;
}
