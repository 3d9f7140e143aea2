/**
 * The result of one `ringtable bench` run: what `--json FILE` writes and what
 * the HTML report (`--html FILE`) draws. One home for the shape, so the
 * runner that fills it and the renderer that reads it cannot drift apart.
 *
 * Units are in the names: `...Us` microseconds, `...Ms` milliseconds,
 * `...PerSec` operations per second. Every figure is measured in this run.
 */
import type { StallSummary } from './stall-monitor.js';

/** YCSB operation types (CoreWorkload), plus read-modify-write as its own type. */
export type OpKind = 'read' | 'update' | 'insert' | 'scan' | 'readModifyWrite';
export const OP_KINDS: readonly OpKind[] = ['read', 'update', 'insert', 'scan', 'readModifyWrite'];

export type DistributionName = 'uniform' | 'zipfian' | 'scrambled-zipfian' | 'hotspot' | 'latest';

/** Proportions of each operation type; they sum to 1. */
export type OperationMix = Record<OpKind, number>;

export interface WorkloadConfig {
  /** 'a'..'f' for a YCSB core workload, 'custom' for an explicit mix. */
  name: string;
  mix: OperationMix;
  distribution: DistributionName;
  /** Zipfian constant (YCSB default 0.99); used by zipfian, scrambled-zipfian and latest. */
  theta: number;
  /** hotspot: fraction of the keys that are hot (YCSB hotspotdatafraction, default 0.2). */
  hotspotDataFraction: number;
  /** hotspot: fraction of operations that go to the hot keys (YCSB hotspotopnfraction, default 0.8). */
  hotspotOpFraction: number;
  recordCount: number;
  /** Bytes of one record's value. */
  valueBytes: number;
  /** Longest scan (YCSB maxscanlength, default 100; lengths are uniform in 1..max). */
  scanLengthMax: number;
  /** Stop after this many operations... */
  operationCount: number;
  /** ...or after this long, whichever comes first (0: no time limit). */
  durationMs: number;
  /**
   * Before the measured run, the same stream ran this long unmeasured (its
   * latencies and counts discarded), so the run starts with compiled code,
   * filled caches and elected leaders (wrk2's calibration period); the run
   * then replays the stream from its start. Absent or 0: no warm-up.
   */
  warmupMs?: number;
  /** Operations in flight at once. */
  concurrency: number;
  /** Target operations per second (0: as fast as possible). With a target, latencies are corrected for coordinated omission. */
  targetPerSec: number;
  /**
   * With `--target P%`: P. The run's targetPerSec is then P% of the throughput
   * of an unthrottled pass of the same stream right before the run (BenchReport.peak).
   */
  targetPercentOfPeak?: number;
  seed: number;
}

/**
 * How the stream's keys are handed to a target that takes either form
 * (ringtable, Redis): 'bytes' gives every such target the same UTF-8 Buffers,
 * made once before any timed loop, that raw lmdb-js always reads (its
 * environment is opened with keyEncoding 'binary', as ringtable's nodes open
 * theirs, so it takes no strings); 'strings' gives the key names, which each
 * operation then encodes (the default: most applications' keys are
 * strings). The Map baseline always takes the names (a Map keys objects by
 * identity).
 */
export type KeyForm = 'strings' | 'bytes';
export const KEY_FORMS: readonly KeyForm[] = ['strings', 'bytes'];

export interface StoreShape {
  nodes: number;
  vnodes: number;
  n: number;
  r: number;
  w: number;
  durability: 'sync' | 'async' | 'none';
  conflicts: 'siblings' | 'lww';
  transport: 'sab' | 'post-message';
  /** How gets reach replicas (StoreOptions.readPath); absent in reports from before it existed. */
  readPath?: 'direct' | 'messages';
  /** Which R of N replicas a get asks (StoreOptions.readBalance); absent in reports from before it existed. */
  readBalance?: 'least-loaded' | 'rotate';
  /** Entries of the store's hot-key cache (StoreOptions.hotKeyCache); absent: none. */
  hotKeyCacheEntries?: number;
  /** How much lower the node threads' priority is (StoreOptions.nodeThreadNice); absent in reports from before it existed. */
  nodeThreadNice?: number;
}

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  packageVersion: string;
  /** Short commit, with a note when lib/ or workers/ had uncommitted changes. */
  git: string;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  startedAt: string;
}

/** Latency of one operation type, from an HdrHistogram, in microseconds. */
export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** Points of the latency CDF for charts: [percentile 0..100, latency in us], ascending. */
  cdf: Array<[number, number]>;
}

/** One sample of the run's progress, taken every `intervalMs`. */
export interface TimelinePoint {
  /** Milliseconds since the measured phase started (end of the interval). */
  atMs: number;
  /** Operations completed in this interval, divided by its length. */
  opsPerSec: number;
  /** Errors (any code, timeouts included) in this interval. */
  errors: number;
  /** Hints waiting on stand-in nodes at the sample time (failures issue); 0 when none. */
  hintsPending: number;
  /** Nodes marked down at the sample time. */
  nodesDown: number;
}

export interface NodeLoad {
  id: number;
  /** Requests this storage node served in the measured phase (reads + writes + replications). */
  operations: number;
  reads: number;
  writes: number;
}

export interface HotKey {
  /** Printable key (YCSB keys are ASCII: "user" + digits). */
  key: string;
  /** Estimated accesses (Space-Saving count, an upper bound). */
  count: number;
  /** Most the estimate can exceed the true count by. */
  errorMax: number;
  /** The key's preference list, primary first. */
  nodes: number[];
}

export interface ErrorTally {
  total: number;
  timeouts: number;
  /** Error code (ERR_QUORUM, ERR_TIMEOUT, ...) to count. */
  byCode: Record<string, number>;
}

export interface BaselineResult {
  /** 'ringtable', 'map', 'lmdb', 'post-message', 'redis'. */
  name: string;
  /** One line on what it is and how it was driven. */
  description: string;
  /** False when it could not run (e.g. no redis-server answered); `note` says why. */
  ran: boolean;
  note?: string;
  throughputPerSec: number;
  /** This baseline's throughput over ringtable's, both from this run (the first round). */
  ratioToRingtable: number;
  /** With `--rounds` > 1: throughput in each round (ringtable and the baselines interleaved, round 1 first). */
  throughputPerRound?: number[];
  /** With `--rounds` > 1: throughput over ringtable's of the same round, per round. */
  ratioPerRound?: number[];
  /** With `--rounds` > 1: the median of ratioPerRound, the figure to quote on a noisy machine. */
  medianRatioToRingtable?: number;
  latency?: Partial<Record<OpKind, LatencySummary>>;
}

export interface FaultEvent {
  /** Milliseconds since the measured phase started. */
  atMs: number;
  /** e.g. 'crash', 'restart', 'stop', 'start'. */
  action: string;
  node: number;
}

export interface BenchReport {
  /** Bumped when the shape changes incompatibly. */
  schemaVersion: 1;
  command: string;
  workload: WorkloadConfig;
  /** How the targets were given the stream's keys; absent in reports from before --key-form (they gave ringtable strings). */
  keyForm?: KeyForm;
  store: StoreShape;
  machine: MachineFacts;
  /** Loading `recordCount` records before the measured phase. */
  load: { records: number; durationMs: number; throughputPerSec: number };
  run: {
    durationMs: number;
    operations: number;
    throughputPerSec: number;
    intervalMs: number;
    timeline: TimelinePoint[];
    /** Keys touched by the run's operations (a scan touches every record it reads): what `partitionHeat` sums to. */
    keyAccesses?: number;
    /** Keys read that had no value (e.g. records whose insert was still in flight); such reads still count as successful. */
    notFound?: number;
    /**
     * With a target rate: operations launched 10 ms or more after their intended start (`late`), the longest lag,
     * and the time during which an operation was due with every one of `concurrency` slots busy (`slotsFullMs`:
     * the store holding that many, a queue). A run with many late launches measured a backlog, not only a tail
     * (op-driver.ts LaunchLag).
     */
    launchLag?: { late: number; maxMs: number; slotsFullMs: number };
  };
  /**
   * With `--target P%`: the unthrottled pass of the stream (after the warm-up,
   * before the run, unmeasured otherwise) whose throughput the run's target
   * was derived from. Absent with a fixed target or none. `warmUpThroughputPerSec`:
   * the warm-up's rate (unthrottled with `--target P%`), when there was one, so a
   * peak pass far below it can be told apart (op-schedule.ts peakCaution).
   */
  peak?: { operations: number; durationMs: number; throughputPerSec: number; warmUpThroughputPerSec?: number };
  latency: Partial<Record<OpKind, LatencySummary>>;
  errors: ErrorTally;
  nodes: NodeLoad[];
  /** max/mean of `nodes[].operations`. */
  imbalance: number;
  /** access-stats.ts writeCopiesImbalance: the imbalance the writes alone set, each on its key's N home replicas (0: no writes; absent in reports from before it). */
  writeCopiesImbalance?: number;
  /** Accesses per ring partition (virtual node), index = partition number; owner of each partition in `partitionOwners`. */
  partitionHeat: number[];
  partitionOwners: number[];
  hotKeys: HotKey[];
  baselines: BaselineResult[];
  faults: FaultEvent[];
  /** The coordinator thread's event-loop delay, GC pauses and core waits during the run (stall-monitor.ts; the stall note says the same in words); absent in reports from before it. */
  stalls?: StallSummary;
  notes: string[];
}
