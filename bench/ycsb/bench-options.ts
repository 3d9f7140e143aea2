/**
 * `ringtable bench` options: their defaults, the parsers of single values
 * (used by the CLI library as it reads each option) and the checks that span
 * several options. Pure, so every rule is unit-tested without a process; a
 * broken rule throws UsageError, which the CLI turns into exit code 2.
 */
import { RingtableError, type Durability } from '../../lib/index.js';
import { NODE_THREAD_NICE_DEFAULT, resolveOptions } from '../../lib/config/options.js';
import type { DistributionName, KeyForm, StoreShape, WorkloadConfig } from './bench-report.js';
import { coreWorkload, customWorkload, parseMix } from './core-workloads.js';
import { type FaultStep, parseFaultPlan } from './fault-plan.js';
import { BASELINE_NAMES, type BaselineName, type BenchRequest } from './runner.js';
import { validateWorkload } from './operation-stream.js';
import { REDIS_SERVER_DEFAULT_COMMAND } from '../lib/redis-server.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const WORKLOAD_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
export const DISTRIBUTIONS: readonly DistributionName[] = ['uniform', 'zipfian', 'scrambled-zipfian', 'hotspot', 'latest'];
export const DURABILITIES: readonly Durability[] = ['none', 'async', 'sync'];
export const CONFLICT_MODES = ['siblings', 'lww'] as const;
export const READ_PATHS = ['direct', 'messages'] as const;

/**
 * Defaults, chosen so that a bare `ringtable bench` (and `npm start`, 8
 * nodes) finishes in under a minute on a shared 2-core machine: 50k records
 * of 1000 B (YCSB's 10 fields of 100 B) loaded at the 2-4K records/s
 * measured there under heavy load (much faster on a quiet machine), then a
 * run that stops at 15 s or 1M operations. 256 operations in flight keep the
 * nodes' queues deep enough to batch without piling up latency. The store
 * shape is Store.open's own defaults, so figures describe the store as users
 * get it.
 */
export const DEFAULTS = {
  workload: 'b',
  theta: 0.99,
  hotspotDataFraction: 0.2,
  hotspotOpFraction: 0.8,
  records: 50_000,
  valueBytes: 1000,
  operations: 1_000_000,
  durationSec: 15,
  concurrency: 256,
  targetPerSec: 0,
  scanLengthMax: 100,
  nodes: 4,
  vnodes: 256,
  durability: 'async' as Durability,
  conflicts: 'siblings' as const,
  readPath: 'direct' as const,
  keyForm: 'strings' as KeyForm,
  readBalance: 'least-loaded' as const,
  hotKeyCache: 0,
  nodeThreadNice: NODE_THREAD_NICE_DEFAULT,
  seed: 42,
  baselines: 'none',
  redisPort: 6379,
};

/** Operations one run may hold in its pregenerated stream (13 bytes each: 130 MB at the bound). */
export const OPERATIONS_MAX = 10_000_000;
export const RECORDS_MAX = 10_000_000;
export const CONCURRENCY_MAX = 65_536;
export const VALUE_BYTES_MAX = 1 << 20;

/** A whole number; accepts 100k, 1m, 1_000_000. */
export function parseCount(text: string, min: number, max: number): number {
  const match = /^(\d[\d_]*)(k|m)?$/i.exec(text.trim());
  if (match === null) throw new UsageError(`expected a whole number (100k, 1m and 1_000_000 are fine), got '${text}'`);
  const scale = match[2] === undefined ? 1 : match[2].toLowerCase() === 'k' ? 1e3 : 1e6;
  const value = Number(match[1]!.replaceAll('_', '')) * scale;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`expected a whole number in ${min}..${max}, got '${text}'`);
  return value;
}

/** A decimal number in [min, max]. */
export function parseNumber(text: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) throw new UsageError(`expected a number in ${min}..${max}, got '${text}'`);
  return value;
}

export function parseChoice<C extends string>(text: string, choices: readonly C[]): C {
  const value = text.trim().toLowerCase();
  if (!choices.includes(value as C)) throw new UsageError(`expected one of ${choices.join(', ')}, got '${text}'`);
  return value as C;
}

/** `--target 70%`: a share of the peak that an unthrottled pass of the same stream measures first (runner.ts). */
export interface PeakShare {
  percentOfPeak: number;
}

/**
 * `--target`: operations per second (0: unthrottled), or a percentage of the
 * run's own unthrottled peak, which moves by tens of percent between runs on
 * a shared machine, so a fixed rate is a different load in each.
 */
export function parseTarget(text: string): number | PeakShare {
  const trimmed = text.trim();
  if (!trimmed.endsWith('%')) return parseNumber(text, 0, 1e9);
  const number = trimmed.slice(0, -1).trim();
  const percent = Number(number);
  if (number === '' || !Number.isFinite(percent) || percent <= 0 || percent > 100) throw new UsageError(`expected a percentage of the peak above 0 and at most 100 (e.g. 70%), got '${text}'`);
  return { percentOfPeak: percent };
}

/** 'all', 'none', or a comma-separated list of baseline names. */
export function parseBaselines(text: string): BaselineName[] {
  const value = text.trim().toLowerCase();
  if (value === 'all') return [...BASELINE_NAMES];
  if (value === 'none' || value === '') return [];
  const names = value.split(',').map((part) => part.trim());
  for (const name of names) {
    if (!BASELINE_NAMES.includes(name as BaselineName)) throw new UsageError(`unknown baseline '${name}': expected all, none, or a list of ${BASELINE_NAMES.join(', ')}`);
  }
  return [...new Set(names as BaselineName[])];
}

/** What the CLI library hands over, each value already parsed on its own. */
export interface RawBenchOptions {
  workload?: string;
  mix?: string;
  distribution?: DistributionName;
  theta: number;
  hotspotDataFraction: number;
  hotspotOpFraction: number;
  records: number;
  valueBytes: number;
  operations: number;
  duration: number;
  /** `--warmup <seconds>`: the stream run this long unmeasured before the run; absent: 0. */
  warmup?: number;
  concurrency: number;
  /** Operations per second (0: unthrottled), or a share of the peak measured first. */
  target: number | PeakShare;
  scanLengthMax: number;
  nodes: number;
  vnodes: number;
  n?: number;
  r?: number;
  w?: number;
  durability: Durability;
  conflicts: 'siblings' | 'lww';
  readPath: 'direct' | 'messages';
  keyForm: KeyForm;
  readBalance?: 'least-loaded' | 'rotate';
  /** Entries of the store's hot-key cache; 0 or absent: none. */
  hotKeyCache?: number;
  /** StoreOptions.nodeThreadNice; absent: the store's default. */
  nodeThreadNice?: number;
  path?: string;
  seed: number;
  baselines: BaselineName[];
  /** `--rounds`: ringtable and the baselines measured this many times, interleaved; absent: 1. */
  rounds?: number;
  redisPort: number;
  /** `--redis-server [command]`: true for the flag alone (redis-server from PATH). */
  redisServer?: string | true;
  fault?: string;
}

/** The workload: a core one (a..f) or a custom mix, with every other field from the options. */
function workloadOf(raw: RawBenchOptions): WorkloadConfig {
  if (raw.mix !== undefined && raw.workload !== undefined) throw new UsageError('give --workload or --mix, not both');
  const overrides: Partial<Omit<WorkloadConfig, 'name' | 'mix'>> = {
    theta: raw.theta,
    hotspotDataFraction: raw.hotspotDataFraction,
    hotspotOpFraction: raw.hotspotOpFraction,
    recordCount: raw.records,
    valueBytes: raw.valueBytes,
    scanLengthMax: raw.scanLengthMax,
    operationCount: raw.operations,
    durationMs: Math.round(raw.duration * 1000),
    warmupMs: Math.round((raw.warmup ?? 0) * 1000),
    concurrency: raw.concurrency,
    // A share of the peak is turned into a rate once the peak is measured (runner.ts); until then the stream runs unthrottled.
    targetPerSec: typeof raw.target === 'number' ? raw.target : 0,
    seed: raw.seed,
  };
  if (typeof raw.target !== 'number') overrides.targetPercentOfPeak = raw.target.percentOfPeak;
  // Without --distribution, the workload's own (latest for d, YCSB's scrambled zipfian otherwise and for custom mixes).
  if (raw.distribution !== undefined) overrides.distribution = raw.distribution;
  try {
    if (raw.mix !== undefined) return customWorkload(parseMix(raw.mix), overrides);
    return coreWorkload(parseChoice(raw.workload ?? DEFAULTS.workload, WORKLOAD_LETTERS), overrides);
  } catch (error) {
    if (error instanceof RingtableError) throw new UsageError(error.message);
    throw error;
  }
}

function storeShapeOf(raw: RawBenchOptions): StoreShape {
  try {
    // The store's own validation and defaults (n = min(3, nodes), r = w = min(2, n)), before any thread starts.
    const resolved = resolveOptions({
      path: '(bench)',
      nodes: raw.nodes,
      vnodes: raw.vnodes,
      replication: { n: raw.n, r: raw.r, w: raw.w },
      durability: raw.durability,
      conflicts: raw.conflicts,
      readPath: raw.readPath,
      readBalance: raw.readBalance,
      hotKeyCache: raw.hotKeyCache !== undefined && raw.hotKeyCache > 0 ? { entriesMax: raw.hotKeyCache } : undefined,
      nodeThreadNice: raw.nodeThreadNice,
    });
    const shape: StoreShape = { nodes: resolved.nodes, vnodes: resolved.vnodes, n: resolved.n, r: resolved.r, w: resolved.w, durability: resolved.durability, conflicts: resolved.conflicts, transport: 'sab', readPath: resolved.readPath, readBalance: resolved.readBalance, nodeThreadNice: resolved.nodeThreadNice };
    if (resolved.hotKeyCache !== undefined) shape.hotKeyCacheEntries = resolved.hotKeyCache.entriesMax;
    return shape;
  } catch (error) {
    if (error instanceof RingtableError) throw new UsageError(`store shape: ${error.message}`);
    throw error;
  }
}

/** The whole request, checked across options. `command` is the command line, for the report. */
export function resolveRequest(raw: RawBenchOptions, command: string): BenchRequest {
  const workload = workloadOf(raw);
  try {
    validateWorkload(workload);
  } catch (error) {
    if (error instanceof RingtableError) throw new UsageError(error.message);
    throw error;
  }
  const store = storeShapeOf(raw);
  let faults: FaultStep[] = [];
  if (raw.fault !== undefined) {
    try {
      faults = parseFaultPlan(raw.fault, store.nodes);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const rounds = raw.rounds ?? 1;
  // Extra rounds exist to compare ringtable with its baselines under the same machine load; alone, or with faults
  // (which only the first ringtable run applies), they would measure nothing the first round did not.
  if (rounds > 1 && raw.baselines.length === 0) throw new UsageError('--rounds interleaves ringtable with its baselines: give --baselines too');
  if (rounds > 1 && faults.length > 0) throw new UsageError('--rounds and --fault do not go together: faults apply to the first ringtable run only');
  const redisServer = raw.redisServer === true ? REDIS_SERVER_DEFAULT_COMMAND : raw.redisServer;
  return { workload, keyForm: raw.keyForm, store, baselines: raw.baselines, rounds, redisPort: raw.redisPort, redisServer, path: raw.path, command, faults };
}
