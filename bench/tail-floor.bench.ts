/**
 * Target 6's floor (issue 15): read p99.9 / p50 at a share of the peak, for
 * ringtable and, through the same driver and stream, for the simplest
 * designs this process could serve the workload with.
 *
 *   node dist/bench/tail-floor.bench.js --rounds 2
 *
 * Every measurement runs in a fresh process, one after another, alternated
 * by round (a process's heap history moves V8's collections: bench/README.md
 * s10), with nothing before it in that process:
 *   - ringtable: the issue's command, `ringtable bench --workload b
 *     --distribution zipfian --nodes 8 --n 3 --r 2 --w 2 --durability none
 *     --records 100k --duration 15 --warmup 5 --target P%`;
 *   - lmdb, P% of its own peak: raw lmdb-js (bench/ycsb/targets/lmdb-target.ts:
 *     one copy, reads synchronous in this thread and decoded to a fresh
 *     Uint8Array as ringtable returns them, puts batched per event turn), the
 *     same records, stream, warm-up, 5-s unthrottled peak pass and P% of the
 *     peak that pass measured, as ringtable's run goes through;
 *   - lmdb and map at ringtable's rate: raw lmdb-js, and the in-process Map
 *     with the same value decode (map-target.ts), at the rate ringtable's run
 *     of the same round went at.
 * A design that cannot keep read p99.9 within 10x its p50 here, with one
 * copy and no thread but the caller's, bounds what a replicated store on the
 * same driver, runtime and machine can show.
 *
 * Internal: `--child lmdb|map --target N|P%` runs one of them and prints its
 * result as one JSON line (runner.ts measureAlone).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchReport, type LatencySummary } from './ycsb/bench-report.js';
import { DEFAULTS, parseTarget, resolveRequest } from './ycsb/bench-options.js';
import { type AloneResult, type BaselineName, measureAlone } from './ycsb/runner.js';
import type { StallSummary } from './ycsb/stall-monitor.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { commandLine, environment } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const args = parseOptions('node dist/bench/tail-floor.bench.js', "Read p99.9 / p50 at P% of the peak: ringtable (issue 15 target 6's command) against raw lmdb-js and a Map through the same driver, each in a fresh process.", {
  rounds: int(2, 'rounds of the four measurements'),
  percent: int(70, 'the share of the peak ringtable and lmdb (own peak) run at, in percent'),
  duration: int(15, 'seconds each run lasts at most (--duration)', 1),
  warmup: int(5, 'seconds of unmeasured warm-up before the peak pass (--warmup)', 0),
  operations: int(1_000_000, 'operations each run holds at most (--operations: the issue command runs end at 1M)'),
  records: int(100_000, 'records (--records)'),
  child: choice('none', ['none', 'lmdb', 'map'] as const, 'internal: run one baseline alone and print its result'),
  target: text('internal, with --child: ops/s or P%', 'RATE'),
});

/** The issue's command, less the target and the report file, which each round adds. */
function ringtableArgs(): string[] {
  return ['bench', '--workload', 'b', '--distribution', 'zipfian', '--nodes', '8', '--n', '3', '--r', '2', '--w', '2', '--durability', 'none', '--records', String(args.records), '--operations', String(args.operations), '--duration', String(args.duration), '--warmup', String(args.warmup), '--seed', String(args.seed)];
}

async function runChild(): Promise<void> {
  const name = args.child as BaselineName;
  const raw = {
    ...DEFAULTS,
    workload: 'b',
    distribution: 'zipfian' as const,
    records: args.records,
    operations: args.operations,
    duration: args.duration,
    warmup: args.warmup,
    target: parseTarget(args.target ?? '0'),
    nodes: 8,
    n: 3,
    r: 2,
    w: 2,
    durability: 'none' as const,
    seed: args.seed,
    baselines: [],
  };
  const request = resolveRequest(raw, `tail-floor child ${name} --target ${args.target}`);
  const result = await measureAlone(name, request, { progress: { start() {}, update() {}, stop() {} }, log: () => {} });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

interface Measurement {
  round: number;
  subject: string;
  targetPerSec: number;
  peakPerSec: number | undefined;
  read: LatencySummary;
  oldGenerationCollections: number;
  /** The driver's thread runnable but waiting for a core, as a share of the run. */
  waitedShare: number | undefined;
  load: string;
}

function execNode(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => (error ? reject(new Error(`${argv.join(' ')} failed: ${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function loadNow(): string {
  return os.loadavg()[0]!.toFixed(1);
}

async function measureRingtable(round: number, dir: string): Promise<Measurement> {
  const file = path.join(dir, `ringtable-${round}.json`);
  const loadBefore = loadNow();
  await execNode([path.join(here, '..', 'lib', 'cli', 'ringtable.js'), ...ringtableArgs(), '--target', `${args.percent}%`, '--json', file, '--no-progress']);
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
  if (report.stalls === undefined) throw new Error(`${file}: the report has no stalls (a ringtable build before them?)`);
  const { stalls } = report;
  return {
    round,
    subject: `ringtable, ${args.percent}% of its peak`,
    targetPerSec: report.workload.targetPerSec,
    peakPerSec: report.peak?.throughputPerSec,
    read: report.latency.read!,
    oldGenerationCollections: stalls.gcMajorPauses,
    waitedShare: waitedShare(stalls, report.run.durationMs),
    load: `${loadBefore}-${loadNow()}`,
  };
}

async function measureBaseline(round: number, name: BaselineName, target: string, subject: string): Promise<Measurement> {
  const loadBefore = loadNow();
  const output = await execNode([fileURLToPath(import.meta.url), '--child', name, '--target', target, '--rounds', '1', '--duration', String(args.duration), '--warmup', String(args.warmup), '--operations', String(args.operations), '--records', String(args.records), '--seed', String(args.seed)]);
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as AloneResult;
  const { stalls } = result;
  return {
    round,
    subject,
    targetPerSec: result.targetPerSec,
    peakPerSec: result.peak?.throughputPerSec,
    read: result.latency.read!,
    oldGenerationCollections: stalls.gcMajorPauses,
    waitedShare: waitedShare(stalls, result.durationMs),
    load: `${loadBefore}-${loadNow()}`,
  };
}

/** The driver's thread runnable but not running, as a share of the run; undefined without schedstat. */
function waitedShare(stalls: StallSummary, durationMs: number): number | undefined {
  return stalls.coordinatorWaitedMs === undefined ? undefined : stalls.coordinatorWaitedMs / Math.max(1, durationMs);
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

function print(rows: Measurement[]): void {
  const header = ['round', 'subject', 'rate ops/s (peak)', 'read p50 ms', 'read p99.9 ms', 'p99.9/p50', 'old-gen GCs', 'waited for a core', 'load'];
  const table = rows.map((row) => [
    String(row.round),
    row.subject,
    `${Math.round(row.targetPerSec)}${row.peakPerSec === undefined ? '' : ` (${Math.round(row.peakPerSec)})`}`,
    ms(row.read.p50Us),
    ms(row.read.p999Us),
    `${(row.read.p999Us / row.read.p50Us).toFixed(1)}x`,
    String(row.oldGenerationCollections),
    row.waitedShare === undefined ? '-' : `${(100 * row.waitedShare).toFixed(1)}%`,
    row.load,
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...table.map((line) => line[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`;
  console.log(line(header));
  for (const cells of table) console.log(line(cells));
}

async function main(): Promise<void> {
  if (args.child !== 'none') return runChild();
  const env = environment();
  console.log(`=== ringtable benchmark: tail floor (issue 15 target 6: read p99.9 <= 10x read p50 at ${args.percent}% of the peak) ===`);
  console.log(`command:  ${commandLine('tail-floor.bench.js')}`);
  console.log(`ringtable: node dist/lib/cli/ringtable.js ${ringtableArgs().join(' ')} --target ${args.percent}%`);
  console.log(`machine:  node ${env.node} (v8 ${env.v8}), ${env.cpus} x ${env.cpuModel}; load average ${env.loadAverageAtStart} at start; lmdb ${env.packages.lmdb}; git ${env.git}`);
  const dir = makeTempDir('ringtable-tail-floor-');
  const rows: Measurement[] = [];
  try {
    for (let round = 1; round <= args.rounds; round++) {
      const ringtable = await measureRingtable(round, dir);
      rows.push(ringtable);
      rows.push(await measureBaseline(round, 'lmdb', `${args.percent}%`, `raw lmdb-js, ${args.percent}% of its own peak`));
      const rate = String(Math.round(ringtable.targetPerSec));
      rows.push(await measureBaseline(round, 'lmdb', rate, "raw lmdb-js, ringtable's rate"));
      rows.push(await measureBaseline(round, 'map', rate, "Map + decode, ringtable's rate"));
    }
  } finally {
    removeTempDir(dir);
  }
  print(rows);
  console.log('note:     every row is a fresh process; p99.9 and p50 are of reads, coordinated-omission corrected (from each operation\'s intended start); "waited for a core": the driver\'s thread runnable but not running, as a share of the run');
  if (args.json !== undefined) fs.writeFileSync(args.json, `${JSON.stringify({ benchmark: 'tail-floor', command: commandLine('tail-floor.bench.js'), environment: env, rows, loadAverageAtEnd: os.loadavg()[0] }, null, 2)}\n`);
}

await main();
