/**
 * bench/tail-floor.bench.ts (issue 15 target 6's floor) and runner.ts's
 * measureAlone: a baseline alone goes through the load, warm-up, peak pass
 * and paced run ringtable's run goes through, and the script's four rows per
 * round each run at the rate they claim. Tiny workloads; no timing is
 * asserted.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DEFAULTS, resolveRequest } from '../bench/ycsb/bench-options.js';
import { rateAtPercentOfPeak } from '../bench/ycsb/op-schedule.js';
import { measureAlone } from '../bench/ycsb/runner.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'tail-floor.bench.js');
const QUIET = { progress: { start() {}, update() {}, stop() {} }, log: () => {} };

function request(target: number | { percentOfPeak: number }) {
  return resolveRequest(
    { ...DEFAULTS, workload: 'b', distribution: 'zipfian', records: 2000, valueBytes: 100, operations: 20_000, duration: 1, warmup: 0.5, concurrency: 32, target, nodes: 3, durability: 'none', baselines: [], seed: 7 },
    'tail-floor test',
  );
}

t.test('measureAlone: P% of the peak its own pass measured, every operation counted once', async (t) => {
  for (const name of ['lmdb', 'map'] as const) {
    const result = await measureAlone(name, request({ percentOfPeak: 50 }), QUIET);
    t.equal(result.name, name);
    t.ok(result.peak !== undefined && result.peak.throughputPerSec > 0, `${name}: the peak pass ran`);
    t.equal(result.targetPerSec, rateAtPercentOfPeak(50, result.peak!.throughputPerSec), `${name}: the run's rate is 50% of that peak`);
    t.ok(result.operations > 0 && result.operations <= 20_000, `${name}: the run launched operations, no more than the stream holds`);
    t.equal((result.latency.read?.count ?? 0) + (result.latency.update?.count ?? 0), result.operations, `${name}: workload b is reads and updates, each counted once`);
    t.ok(result.launchLag !== undefined, `${name}: a paced run reports its launch lag`);
    t.ok(result.stalls.gcPauses >= 0 && result.stalls.loopDelayMaxMs >= 0, `${name}: the driver thread's stalls are measured`);
  }
  const fixed = await measureAlone('lmdb', request(3000), QUIET);
  t.equal(fixed.targetPerSec, 3000, 'a fixed rate is kept as given');
  t.equal(fixed.peak, undefined, 'a fixed rate needs no peak pass');
});

t.test('the script: four rows a round, the baselines at the rates they claim', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tail-floor-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'out.json');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [SCRIPT, '--rounds', '1', '--duration', '1', '--warmup', '1', '--operations', '20k', '--records', '2000', '--json', json], { timeout: 240_000, maxBuffer: 16 << 20 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)));
  });
  t.match(stdout, /ringtable: node dist\/lib\/cli\/ringtable\.js bench --workload b --distribution zipfian --nodes 8 --n 3 --r 2 --w 2 --durability none --records 2000 /, "the ringtable command is printed: the issue's, with the sizes given");
  const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { rows: { subject: string; targetPerSec: number; peakPerSec?: number; oldGenerationCollections: number; read: { p50Us: number; p999Us: number; count: number } }[] };
  const [ringtable, lmdbOwn, lmdbAtRate, mapAtRate] = report.rows;
  t.equal(report.rows.length, 4);
  t.equal(ringtable!.targetPerSec, rateAtPercentOfPeak(70, ringtable!.peakPerSec!), "ringtable's run at 70% of its peak");
  t.equal(lmdbOwn!.targetPerSec, rateAtPercentOfPeak(70, lmdbOwn!.peakPerSec!), 'lmdb at 70% of its own peak');
  t.equal(lmdbAtRate!.targetPerSec, ringtable!.targetPerSec, "lmdb at ringtable's rate");
  t.equal(mapAtRate!.targetPerSec, ringtable!.targetPerSec, "the Map at ringtable's rate");
  t.equal(lmdbAtRate!.peakPerSec, undefined, 'a fixed rate has no peak pass');
  for (const row of report.rows) t.ok(row.read.count > 0 && row.read.p50Us <= row.read.p999Us, `${row.subject}: reads measured`);
  for (const row of report.rows) t.ok(Number.isInteger(row.oldGenerationCollections) && row.oldGenerationCollections >= 0, `${row.subject}: its old-generation collections counted`);
});
