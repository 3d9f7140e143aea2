/**
 * Every figure is printed with what produced it (style rule 15): the command,
 * the machine, the versions, the sizes, the seed and the store options. The
 * same report goes to `--json FILE` when asked.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Run, formatRate, formatSeconds, median } from './measure.js';

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  /** 1-minute load average when the benchmark started: other work on a shared machine shows here. */
  loadAverageAtStart: number;
  packages: Record<string, string>;
  git: string;
  startedAt: string;
}

export interface Figure {
  name: string;
  /** What one op is, e.g. "key read via getMany(10000 keys, r=1)". */
  op: string;
  medianOpsPerSecond: number;
  runs: Run[];
}

export interface Ratio {
  name: string;
  value: number;
  /** The issue's target for this ratio, if it has one. */
  target?: number;
  stretch?: number;
}

export interface Report {
  benchmark: string;
  command: string;
  measured: string;
  environment: Environment;
  config: Record<string, unknown>;
  storeOptions?: Record<string, unknown>;
  /** Timings that are not the figure (preload, open) reported on their own. */
  phases: Record<string, string>;
  figures: Figure[];
  ratios: Ratio[];
  notes: string[];
  loadAverageAtEnd?: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function packageVersion(name: string): string {
  for (let dir = here; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function gitDescription(): string {
  try {
    const options = { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], encoding: 'utf8' as const };
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], options).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ':(top)lib', ':(top)workers'], options).trim().length > 0;
    return dirty ? `${commit} + uncommitted changes in lib/ or workers/` : commit;
  } catch {
    return 'unknown';
  }
}

export function environment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
    packages: { lmdb: packageVersion('lmdb'), msgpackr: packageVersion('msgpackr') },
    git: gitDescription(),
    startedAt: new Date().toISOString(),
  };
}

export function commandLine(script: string): string {
  const args = process.argv.slice(2);
  return [`node dist/bench/${script}`, ...args].join(' ');
}

export function figure(name: string, op: string, runs: Run[]): Figure {
  return { name, op, medianOpsPerSecond: median(runs.map((r) => r.opsPerSecond)), runs };
}

function formatValue(value: unknown): string {
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function ratioVerdict(ratio: Ratio): string {
  if (ratio.target === undefined) return '';
  const met = ratio.value >= ratio.target ? 'met' : 'NOT met';
  const stretch = ratio.stretch === undefined ? '' : `; stretch >= ${ratio.stretch}x ${ratio.value >= ratio.stretch ? 'met' : 'not met'}`;
  return `  (target >= ${ratio.target}x: ${met}${stretch})`;
}

export function printReport(report: Report): void {
  const env = report.environment;
  const lines: string[] = [];
  lines.push('', `=== ringtable benchmark: ${report.benchmark} ===`);
  lines.push(`command:  ${report.command}`);
  lines.push(`measured: ${report.measured}`);
  lines.push(`machine:  node ${env.node} (v8 ${env.v8}), ${env.platform}, ${env.cpus} x ${env.cpuModel}, ${env.memoryGiB} GiB`);
  lines.push(`          load average ${env.loadAverageAtStart} at start, ${report.loadAverageAtEnd ?? '?'} at end; lmdb ${env.packages.lmdb}, msgpackr ${env.packages.msgpackr}; git ${env.git}`);
  lines.push(`config:   ${Object.entries(report.config).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ')}`);
  if (report.storeOptions !== undefined) lines.push(`store:    ${formatValue(report.storeOptions)}`);
  for (const [name, value] of Object.entries(report.phases)) lines.push(`phase:    ${name}: ${value}`);
  lines.push('figures (median of interleaved runs):');
  const width = Math.max(...report.figures.map((f) => f.name.length));
  for (const f of report.figures) {
    const runs = f.runs.map((r) => formatRate(r.opsPerSecond)).join(', ');
    const total = f.runs.reduce((sum, r) => sum + r.seconds, 0);
    lines.push(`  ${f.name.padEnd(width)}  ${formatRate(f.medianOpsPerSecond).padStart(7)} ops/s   runs: ${runs}  (${f.runs.length} x ${f.runs[0]?.ops ?? 0} ops, ${formatSeconds(total)} total)`);
    lines.push(`  ${''.padEnd(width)}  one op = ${f.op}`);
  }
  if (report.ratios.length > 0) {
    lines.push('ratios (of medians):');
    const ratioWidth = Math.max(...report.ratios.map((r) => r.name.length));
    for (const r of report.ratios) lines.push(`  ${r.name.padEnd(ratioWidth)}  ${r.value.toFixed(2)}x${ratioVerdict(r)}`);
  }
  for (const note of report.notes) lines.push(`note:     ${note}`);
  console.log(lines.join('\n'));
}

export function finishReport(report: Report, jsonFile: string | undefined): void {
  report.loadAverageAtEnd = Math.round(os.loadavg()[0]! * 100) / 100;
  printReport(report);
  if (jsonFile !== undefined) {
    fs.mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
    fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
    console.log(`report written to ${jsonFile}`);
  }
}
