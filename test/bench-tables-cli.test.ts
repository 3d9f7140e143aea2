/**
 * `ringtable bench tables` end to end: the built CLI as a child process on
 * real storage nodes, two key designs side by side under the capacity model
 * (observe). Checked: the report against itself and the request, where the
 * capacity went (two partition-key values reach at most two logical
 * partitions; many values reach all of them), nothing refused in observe
 * mode, and a self-contained HTML page. No timing is asserted.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { TablesBenchReport } from '../bench/tables-workload/tables-report.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'cli', 'ringtable.js');

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

t.test('two key designs side by side: a report consistent with itself and with where the keys live', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-tables-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const htmlFile = path.join(dir, 'report.html');
  const exit = await runCli(['bench', 'tables', '--partition-keys', '2', '--versus-partition-keys', '5000', '--skew', 'uniform', '--wcu', '3900', '--rcu', '300',
    '--read-fraction', '0.25', '--consistent-read-fraction', '0.5', '--capacity', 'observe', '--capacity-scale', '0.01', '--rate', '40', '--duration', '3', '--nodes', '2',
    '--seed', '7', '--json', jsonFile, '--html', htmlFile]);
  t.equal(exit.code, 0, exit.stderr);
  t.match(exit.stdout, /bench_table_versus/);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as TablesBenchReport;
  t.equal(report.kind, 'tables');
  t.same(report.capacity, { mode: 'observe', scale: 0.01 });
  t.same(report.database, { nodes: 2, durability: 'none' });
  t.same(report.workload, { opsPerSecond: 40, durationSeconds: 3, concurrency: 256, seed: 7 });
  t.equal(report.tables.length, 2);
  const [few, many] = report.tables as [TablesBenchReport['tables'][number], TablesBenchReport['tables'][number]];
  t.equal(few.design.partitionKeys, 2);
  t.equal(many.design.partitionKeys, 5000);
  for (const run of report.tables) {
    const requests = run.client.reads + run.client.writes;
    t.ok(requests > 0, `${run.design.table}: requests were made`);
    t.equal(run.client.succeeded, requests, 'observe refuses nothing');
    t.equal(run.client.throttled, 0);
    t.ok(run.client.consistentReads <= run.client.reads);
    t.equal(run.partitions.length, 4, 'ceil(300 / 3,000 + 3,900 / 1,000) = 4 logical partitions');
    t.equal(run.arn, `arn:aws:dynamodb:ddblocal:000000000000:table/${run.design.table}`);
    const consumedWrites = run.partitions.reduce((sum, p) => sum + p.consumedWriteUnits, 0);
    t.equal(consumedWrites, run.consumedWriteUnits, 'the partitions add up to the table');
    t.ok(run.consumedWriteUnits <= run.client.writes, 'each 200 B write costs 1 WCU; a would-be throttle costs nothing');
  }
  const used = (run: typeof few) => run.partitions.filter((p) => p.consumedWriteUnits + p.consumedReadUnits > 0).length;
  t.ok(used(few) <= 2, 'two partition-key values use at most two partitions');
  t.equal(used(many), 4, 'five thousand use all four');
  t.ok(few.mostConsumedKeys.length <= 2 && few.mostConsumedKeys.every((k) => /^bench_table-[01]$/.test(k.key)), 'the hottest keys are the two values');

  const html = fs.readFileSync(htmlFile, 'utf8');
  t.match(html, /data-chart="partition-capacity"/);
  t.notMatch(html, /<script/i, 'no script');
  t.notMatch(html, /(src|href)="https?:/, 'nothing fetched');
});

t.test('a bad flag is a usage error (exit 2), not a run', async (t) => {
  const exit = await runCli(['bench', 'tables', '--read-fraction', '2']);
  t.equal(exit.code, 2);
  t.match(exit.stderr, /read-fraction/);
});
