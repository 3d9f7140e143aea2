/**
 * Re-render a saved `ringtable bench --json` result as the HTML report:
 *
 *     node dist/bench/report/render-report.js results.json report.html
 *
 * Thin shell around the pure `renderHtmlReport`: reads, checks the shape's
 * version and the fields the page cannot do without, writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchReport } from '../ycsb/bench-report.js';
import { renderHtmlReport } from './html-report.js';

const REQUIRED_ARRAYS = ['nodes', 'partitionHeat', 'partitionOwners', 'hotKeys', 'baselines', 'faults', 'notes'] as const;

/** The problems that stop `value` from being rendered, empty when there are none. */
export function reportProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['not a JSON object'];
  const report = value as Record<string, unknown>;
  const problems: string[] = [];
  if (report.schemaVersion !== 1) problems.push(`schemaVersion is ${JSON.stringify(report.schemaVersion)}, this renderer reads version 1`);
  for (const field of ['workload', 'store', 'machine', 'load', 'run', 'latency', 'errors']) {
    if (typeof report[field] !== 'object' || report[field] === null) problems.push(`${field} is missing`);
  }
  for (const field of REQUIRED_ARRAYS) if (!Array.isArray(report[field])) problems.push(`${field} is not an array`);
  const run = report.run as Record<string, unknown> | undefined;
  if (run && !Array.isArray(run.timeline)) problems.push('run.timeline is not an array');
  return problems;
}

function main(argv: string[]): number {
  if (argv.length !== 2 || argv.includes('--help')) {
    console.error('usage: node dist/bench/report/render-report.js RESULTS.json REPORT.html');
    return argv.includes('--help') ? 0 : 2;
  }
  const [input, output] = argv as [string, string];
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(input, 'utf8'));
  } catch (error) {
    console.error(`cannot read ${input}: ${(error as Error).message}`);
    return 1;
  }
  const problems = reportProblems(parsed);
  if (problems.length > 0) {
    console.error(`${input} is not a ringtable bench result:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  fs.writeFileSync(output, renderHtmlReport(parsed as BenchReport));
  console.log(`report written to ${output}`);
  return 0;
}

// Run only as a script, so tests can import `reportProblems`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
