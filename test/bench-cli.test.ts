/**
 * `ringtable bench` end to end: the built CLI as a child process, with real
 * storage-node threads and real LMDB, on a tiny workload. The JSON report is
 * checked against itself and against the request; no timing is asserted.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { OP_KINDS, type BenchReport, type OpKind } from '../bench/ycsb/bench-report.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'cli', 'ringtable.js');

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A loopback port with nothing listening: the redis baseline must find no server there. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const MIX: Record<OpKind, number> = { read: 0.4, update: 0.2, insert: 0.1, scan: 0.1, readModifyWrite: 0.2 };
const OPERATIONS = 5000;
const RECORDS = 2000;
const NODES = 3;

t.test('a small mixed run writes a report consistent with itself and with the request', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const htmlFile = path.join(dir, 'report.html');
  const redisPort = await closedPort();
  const args = ['bench', '--mix', 'read=0.4,update=0.2,insert=0.1,scan=0.1,rmw=0.2', '--scan-length-max', '10', '--records', String(RECORDS), '--operations', String(OPERATIONS), '--duration', '0', '--nodes', String(NODES), '--vnodes', '32', '--durability', 'none', '--read-path', 'messages', '--node-thread-nice', '3', '--seed', '11', '--concurrency', '64', '--baselines', 'map,lmdb,redis', '--redis-port', String(redisPort), '--json', jsonFile, '--html', htmlFile, '--no-progress'];
  const exit = await runCli(args);
  t.equal(exit.code, 0, exit.stderr);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;

  t.test('the request is echoed in full', async (t) => {
    t.equal(report.schemaVersion, 1);
    t.match(report.command, /^ringtable bench --mix/);
    t.match(report.workload, { name: 'custom', mix: MIX, distribution: 'scrambled-zipfian', recordCount: RECORDS, operationCount: OPERATIONS, durationMs: 0, concurrency: 64, seed: 11, scanLengthMax: 10 });
    // Reads as messages: the node counters below then see every replica read (readPath 'direct' serves them in this thread).
    t.same(report.store, { nodes: NODES, vnodes: 32, n: 3, r: 2, w: 2, durability: 'none', conflicts: 'siblings', transport: 'sab', readPath: 'messages', readBalance: 'least-loaded', nodeThreadNice: 3 });
    t.equal(report.machine.node, process.version);
    t.ok(report.machine.cpus >= 1);
    t.match(report.machine.packageVersion, /^\d+\.\d+\.\d+/);
    t.equal(report.load.records, RECORDS);
    t.ok(report.load.throughputPerSec > 0);
    t.same(report.faults, []);
  });

  t.test('every operation is counted once, and the mix holds within binomial tolerance', async (t) => {
    const counts = Object.fromEntries(OP_KINDS.map((kind) => [kind, report.latency[kind]?.count ?? 0])) as Record<OpKind, number>;
    t.equal(report.run.operations, OPERATIONS, 'no time limit: the whole stream ran');
    t.equal(report.errors.total, 0, 'no errors on a healthy store');
    t.equal(OP_KINDS.reduce((sum, kind) => sum + counts[kind], 0) + report.errors.total, report.run.operations, 'successes + errors = operations');
    for (const kind of OP_KINDS) {
      const p = MIX[kind];
      const sigma = Math.sqrt((p * (1 - p)) / OPERATIONS);
      t.ok(Math.abs(counts[kind] / OPERATIONS - p) <= 5 * sigma, `${kind}: ${counts[kind]} of ${OPERATIONS}, expected ${p} +/- 5 sigma`);
      const l = report.latency[kind]!;
      t.ok(l.p50Us <= l.p90Us && l.p90Us <= l.p99Us && l.p99Us <= l.p999Us && l.p999Us <= l.maxUs, `${kind}: percentiles ascend`);
      t.equal(l.cdf.at(-1)![0], 100);
      t.ok(l.cdf.every((point, i) => i === 0 || (point[0] > l.cdf[i - 1]![0] && point[1] >= l.cdf[i - 1]![1])), `${kind}: CDF ascends`);
    }
    const timeline = report.run.timeline;
    t.ok(timeline.length >= 1);
    const completed = timeline.reduce((sum, point, i) => sum + (point.opsPerSec * (point.atMs - (i === 0 ? 0 : timeline[i - 1]!.atMs))) / 1000, 0);
    t.ok(Math.abs(completed - report.run.operations) < 1, `the timeline accounts for every operation (${completed})`);
    t.equal(timeline.at(-1)!.atMs, report.run.durationMs);
    t.ok(Math.abs(report.run.throughputPerSec - (report.run.operations * 1000) / report.run.durationMs) < 1);
  });

  t.test('nodes served what N/R/W imply, and imbalance is max/mean', async (t) => {
    t.equal(report.nodes.length, NODES);
    t.same(report.nodes.map((node) => node.id), [0, 1, 2]);
    for (const node of report.nodes) t.equal(node.operations, node.reads + node.writes);
    const c = (kind: OpKind) => report.latency[kind]?.count ?? 0;
    const keyAccesses = report.run.keyAccesses!;
    const scannedKeys = keyAccesses - (report.run.operations - c('scan'));
    t.ok(scannedKeys >= c('scan'), 'every scan read at least the record it started at');
    const reads = report.nodes.reduce((sum, node) => sum + node.reads, 0);
    const writes = report.nodes.reduce((sum, node) => sum + node.writes, 0);
    const { n, r } = report.store;
    t.ok(reads >= r * (c('read') + c('readModifyWrite') + scannedKeys), `every key read asks R replicas: ${reads}`);
    t.ok(writes >= n * (c('update') + c('insert') + c('readModifyWrite')), `every write reaches N replicas: ${writes}`);
    const operations = report.nodes.map((node) => node.operations);
    const mean = operations.reduce((a, b) => a + b, 0) / operations.length;
    t.ok(report.imbalance >= 1);
    t.ok(Math.abs(report.imbalance - Math.max(...operations) / mean) < 1e-3, 'imbalance = max/mean');
    t.equal(n, NODES, 'the run below keeps a copy of every key on every node');
    t.equal(report.writeCopiesImbalance, 1, "so the writes alone load every node alike");
  });

  t.test("the coordinator thread's stalls, as the stall note gives them in words", async (t) => {
    const stalls = report.stalls!;
    t.ok(stalls !== undefined, 'the report has them');
    t.ok(stalls.gcMajorPauses <= stalls.gcPauses && stalls.gcPausesOver10Ms <= stalls.gcPauses, "the old generation's and the long pauses are among all pauses");
    t.ok(stalls.loopDelayP50Ms <= stalls.loopDelayMaxMs, 'event-loop delay: p50 <= max');
    const note = report.notes.find((line) => line.startsWith('ringtable run, coordinator thread:')) ?? '';
    t.match(note, `GC ${stalls.gcPauses} pauses`, 'the same count as the note');
    t.match(note, `${stalls.gcMajorPauses} of the old generation`);
  });

  t.test('partition heat and hot keys cover the accesses', async (t) => {
    // Q = the next power of two at or above nodes x vnodes (lib/ring/ring.ts).
    t.equal(report.partitionHeat.length, 2 ** Math.ceil(Math.log2(NODES * 32)));
    t.equal(report.partitionOwners.length, report.partitionHeat.length);
    t.ok(report.partitionOwners.every((owner) => owner >= 0 && owner < NODES));
    t.equal(report.partitionHeat.reduce((a, b) => a + b, 0), report.run.keyAccesses);
    t.ok(report.run.keyAccesses! > report.run.operations, 'scans touch several records each');
    t.ok(report.hotKeys.length > 0 && report.hotKeys.length <= 20);
    for (let i = 1; i < report.hotKeys.length; i++) t.ok(report.hotKeys[i - 1]!.count >= report.hotKeys[i]!.count, 'sorted by count, descending');
    for (const hot of report.hotKeys) {
      t.match(hot.key, /^user\d+$/);
      t.equal(hot.nodes.length, report.store.n);
      t.equal(new Set(hot.nodes).size, hot.nodes.length, 'distinct replicas');
      t.ok(hot.errorMax >= 0 && hot.errorMax <= hot.count);
    }
  });

  t.test('baselines ran on the same stream; redis, with no server, did not, and says how to start one', async (t) => {
    t.same(report.baselines.map((b) => b.name), ['ringtable', 'map', 'lmdb', 'redis']);
    t.equal(report.keyForm, 'strings', "by default ringtable is given the key names, as most applications' keys are");
    const ringtable = report.baselines[0]!;
    t.match(ringtable.description, /keys as strings/);
    t.equal(ringtable.ratioToRingtable, 1);
    t.ok(Math.abs(ringtable.throughputPerSec - report.run.throughputPerSec) < 1);
    for (const name of ['map', 'lmdb']) {
      const b = report.baselines.find((x) => x.name === name)!;
      t.equal(b.ran, true, name);
      t.ok(b.throughputPerSec > 0);
      // Relative: the report rounds throughputs to 0.1 op/s, which at a large ratio moves it by more than 1e-3 absolute.
      t.ok(Math.abs(b.ratioToRingtable / (b.throughputPerSec / report.run.throughputPerSec) - 1) < 1e-3, `${name}: ratio = throughput / ringtable's`);
      const counted = Object.values(b.latency ?? {}).reduce((sum, l) => sum + l.count, 0);
      t.equal(counted, OPERATIONS, `${name}: the same operations`);
      t.equal(b.latency?.scan?.count, report.latency.scan?.count, `${name}: the same stream`);
    }
    const redis = report.baselines.find((b) => b.name === 'redis')!;
    t.equal(redis.ran, false);
    t.match(redis.note, /apt-get install redis-server/);
    t.match(exit.stdout, /redis: no redis-server answered/, 'the note is printed');
  });

  t.test('terminal summary and HTML report', async (t) => {
    for (const section of ['latency per operation type', 'requests served per node', 'hottest keys', 'baselines', 'machine:', 'store:']) t.match(exit.stdout, section);
    t.notMatch(exit.stdout + exit.stderr, /\x1b\[/, 'no progress bar or colours when not on a terminal');
    const html = fs.readFileSync(htmlFile, 'utf8');
    t.match(html, /^<!doctype html>/i);
    for (const id of ['summary', 'throughput', 'latency', 'node-load', 'partition-heat', 'hot-keys', 'baselines', 'errors', 'notes']) t.match(html, `id="${id}"`, `section ${id}`);
    t.match(html, report.hotKeys[0]!.key, 'with this run\'s figures');
    t.notMatch(html, /<script/i, 'self-contained, no script');
    t.match(exit.stdout, `HTML report (open it in a browser) written to ${htmlFile}`);
  });
});

t.test('--fault crashes and restarts a node during the run; the timeline shows it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-fault-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const exit = await runCli(['bench', '--workload', 'a', '--records', '2000', '--duration', '6', '--nodes', '4', '--durability', 'none', '--concurrency', '32', '--fault', 'crash:1@1s,restart:1@2s', '--json', jsonFile, '--no-progress']);
  t.equal(exit.code, 0, exit.stderr);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;
  t.same(report.faults.map((fault) => [fault.action, fault.node]), [['crash', 1], ['restart', 1]], 'both steps ran, in order');
  t.ok(report.faults[0]!.atMs >= 1000 && report.faults[1]!.atMs >= 2000, 'not before their times');
  t.ok(report.run.timeline.some((point) => point.nodesDown === 1), 'the timeline shows the node down');
  t.equal(report.run.timeline.at(-1)!.nodesDown, 0, 'and up again at the end');
  t.ok(report.notes.some((note) => /fault on node 1/.test(note)), 'the dip and recovery are in the notes');
  t.ok(report.run.operations > 0);
});

t.test('--rounds interleaves ringtable with its baselines and reports every round\'s ratio and their median', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-rounds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const exit = await runCli(['bench', '--workload', 'c', '--records', '500', '--operations', '3000', '--duration', '0', '--nodes', '2', '--vnodes', '16', '--durability', 'none', '--concurrency', '16', '--baselines', 'map', '--rounds', '3', '--path', dir, '--json', jsonFile, '--no-progress']);
  t.equal(exit.code, 0, exit.stderr);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;
  t.same(report.baselines.map((b) => b.name), ['ringtable', 'map']);
  const [ringtable, map] = report.baselines as [BenchReport['baselines'][number], BenchReport['baselines'][number]];
  t.same(ringtable.ratioPerRound, [1, 1, 1]);
  t.equal(ringtable.throughputPerRound![0], ringtable.throughputPerSec, 'round 1 is the main measurement');
  t.equal(map.throughputPerRound!.length, 3);
  t.ok(map.throughputPerRound!.every((perSec) => perSec > 0), 'the baseline ran in every round');
  for (let round = 0; round < 3; round++) {
    const ratio = map.throughputPerRound![round]! / ringtable.throughputPerRound![round]!;
    t.ok(Math.abs(map.ratioPerRound![round]! / ratio - 1) < 1e-2, `round ${round + 1}: the ratio is of the same round's throughputs`);
  }
  t.equal(map.medianRatioToRingtable, [...map.ratioPerRound!].sort((a, b) => a - b)[1], 'the median of the three');
  t.match(exit.stdout, /3 rounds of ringtable then each baseline, interleaved/);
  t.match(exit.stdout, /median x \(per round\)/);
  t.same(fs.readdirSync(dir).filter((name) => name.startsWith('round-')), [], 'each extra round removed its stores');
});

t.test('--key-form bytes hands ringtable the Buffers raw lmdb-js reads, strings the key names; both find every loaded record', async (t) => {
  for (const form of ['strings', 'bytes'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ringtable-bench-keys-${form}-`));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const jsonFile = path.join(dir, 'report.json');
    const exit = await runCli(['bench', '--workload', 'f', '--records', '300', '--operations', '1500', '--duration', '0', '--nodes', '2', '--vnodes', '16', '--durability', 'none', '--concurrency', '16', '--key-form', form, '--baselines', 'lmdb', '--path', dir, '--json', jsonFile, '--no-progress']);
    t.equal(exit.code, 0, exit.stderr);
    const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;
    t.equal(report.keyForm, form);
    t.match(report.baselines[0]!.description, `keys as ${form}`);
    t.match(exit.stdout, `keys as ${form}`, 'the summary says how keys were given');
    t.equal(report.errors.total, 0, `${form}: no errors`);
    t.equal(report.run.notFound ?? 0, 0, `${form}: every read and read-modify-write found the record loaded under the same key`);
  }
});

t.test('--warmup runs the stream unmeasured first, for ringtable and each baseline, then measures the run from the stream\'s start', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-warmup-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const exit = await runCli(['bench', '--workload', 'b', '--records', '500', '--operations', '2000', '--duration', '0', '--warmup', '0.5', '--nodes', '2', '--vnodes', '16', '--durability', 'none', '--concurrency', '16', '--baselines', 'map', '--json', jsonFile, '--no-progress']);
  t.equal(exit.code, 0, exit.stderr);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;
  t.equal(report.workload.warmupMs, 500);
  // The run's counts are the run's alone: the warm-up's operations are not in them.
  t.equal(report.run.operations, 2000);
  t.equal(report.latency.read!.count + (report.latency.update?.count ?? 0) + report.errors.total, 2000);
  t.match(exit.stdout, /after a 0\.5 s unmeasured warm-up/);
  t.match(exit.stderr + exit.stdout, /ringtable: warm-up ran \d+ operations/);
  t.match(exit.stderr + exit.stdout, /map: warm-up ran \d+ operations/);
});

t.test('--target P% measures the peak unthrottled after the warm-up, then runs at P% of it; the baselines at the same rate', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-bench-peak-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const jsonFile = path.join(dir, 'report.json');
  const htmlFile = path.join(dir, 'report.html');
  // --duration bounds the run: a peak pass that a stall of this loaded machine cut short (its 5 s limit, few
  // operations done) derives a rate so low that the stream would take longer than runCli waits (CI of s15).
  const exit = await runCli(['bench', '--workload', 'b', '--records', '500', '--operations', '3000', '--duration', '20', '--warmup', '0.2', '--nodes', '2', '--vnodes', '16', '--durability', 'none', '--concurrency', '16', '--target', '40%', '--baselines', 'map', '--json', jsonFile, '--html', htmlFile, '--no-progress']);
  t.equal(exit.code, 0, exit.stderr);
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as BenchReport;
  const peak = report.peak!;
  t.ok(peak !== undefined, 'the report has the peak');
  // The peak pass ends at the stream's end or after its 5 s, whichever comes first.
  t.ok(peak.operations > 0 && peak.operations <= 3000, 'the peak pass ran the stream unthrottled');
  t.ok(peak.operations === 3000 || peak.durationMs >= 5000, 'to its end, or for its whole 5 s');
  t.ok(peak.throughputPerSec > 0);
  t.ok(peak.warmUpThroughputPerSec !== undefined && peak.warmUpThroughputPerSec > 0, "the unthrottled warm-up's rate beside it (a peak far under it is flagged)");
  t.equal(report.workload.targetPercentOfPeak, 40);
  t.ok(Math.abs(report.workload.targetPerSec - 0.4 * peak.throughputPerSec) <= 1, 'the target is 40% of the peak (the peak is rounded to 0.1 in the JSON)');
  // The schedule never launches operation i before start + i/target: the run cannot beat its target.
  t.ok(report.run.operations - 1 <= (Math.ceil(report.run.durationMs) * report.workload.targetPerSec) / 1000, 'the run went at the derived target, not unthrottled');
  t.ok(report.run.operations > 0 && report.run.operations <= 3000, 'the run is the stream (up to --duration), its counts its own');
  t.equal(report.latency.read!.count + (report.latency.update?.count ?? 0) + report.errors.total, report.run.operations);
  t.equal(report.baselines[1]!.name, 'map');
  t.match(exit.stdout, new RegExp(`target ${report.workload.targetPerSec} ops/s = 40% of the peak`), 'the summary says where the target came from');
  t.match(exit.stdout, new RegExp(`^peak: +${peak.operations} operations in [\\d.]+ s unthrottled`, 'm'));
  t.match(exit.stdout, new RegExp(`ringtable: peak pass \\(unthrottled\\) ran ${peak.operations} operations`));
  t.match(exit.stdout, new RegExp(`map: warm-up ran \\d+ operations`));
  t.ok(report.notes.some((note) => note.startsWith('target 40% of the peak')), 'a note says how the peak was measured');
  t.ok(report.run.launchLag !== undefined && report.run.launchLag.slotsFullMs >= 0 && report.run.launchLag.late <= report.run.operations, 'with a target, how far the driver fell behind its schedule');
  t.ok(report.notes.some((note) => note.startsWith('behind the schedule: ')), 'and a note says it');
  t.match(fs.readFileSync(htmlFile, 'utf8'), /40% of the peak, [\d,]+ ops\/s in an unthrottled pass/, 'the HTML report gives the peak and the target');
});

t.test('--help explains every option with its default', async (t) => {
  const exit = await runCli(['bench', '--help']);
  t.equal(exit.code, 0);
  const options = ['--workload', '--mix', '--distribution', '--theta', '--hotspot-data-fraction', '--hotspot-op-fraction', '--records', '--value-bytes', '--operations', '--duration', '--warmup', '--concurrency', '--target', '--scan-length-max', '--nodes', '--vnodes', '--n ', '--r ', '--w ', '--durability', '--conflicts', '--key-form', '--path', '--seed', '--baselines', '--rounds', '--redis-port', '--redis-server', '--fault', '--json', '--html', '--no-progress'];
  for (const option of options) t.match(exit.stdout, option, option);
  t.match(exit.stdout, /--target <opsPerSec\|P%>/, '--target takes a share of the peak too');
  // commander wraps the help text, so a default may start a new line after "default:".
  for (const fallback of [/default:\s+0\.99/, /default:\s+50000/, /default:\s+1000000/, /default:\s+256/, /default:\s+"async"/, /default:\s+none/]) t.match(exit.stdout, fallback);
});

t.test('invalid input: a clear message and exit code 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['bench', '--records', 'many'], /--records.*expected a whole number/],
    [['bench', '--nodes', '2', '--n', '3'], /replication\.n \(3\) cannot exceed nodes \(2\)/],
    [['bench', '--workload', 'z'], /Allowed choices are a, b, c, d, e, f/],
    [['bench', '--fault', 'crash:7@1s', '--nodes', '4'], /node 7 does not exist/],
    [['bench', '--workload', 'a', '--mix', 'read=1'], /--workload or --mix, not both/],
    [['bench', '--theta', '1'], /strictly between 0 and 1/],
    [['bench', '--baselines', 'map,oracle'], /unknown baseline 'oracle'/],
    [['bench', '--rounds', '3'], /--rounds interleaves ringtable with its baselines: give --baselines too/],
    [['bench', '--rounds', '0', '--baselines', 'map'], /--rounds/],
    [['bench', '--target', '0%'], /--target.*expected a percentage of the peak above 0 and at most 100 \(e\.g\. 70%\), got '0%'/],
    [['bench', '--target', '100.5%'], /expected a percentage of the peak above 0 and at most 100/],
    [['bench', '--target', '-5%'], /expected a percentage of the peak above 0 and at most 100/],
    [['bench', '--target', '%'], /expected a percentage of the peak above 0 and at most 100/],
    [['bench', '--target', 'fast'], /--target.*expected a number in 0\.\.1000000000/],
    // --baselines alone means all and must not swallow the next option as its list.
    [['bench', '--baselines', '--theta', '1'], /strictly between 0 and 1/],
    [['bench', '--frobnicate'], /unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const exit = await runCli(args);
    t.equal(exit.code, 2, args.join(' '));
    t.match(exit.stderr, message, args.join(' '));
  }
});

t.test('--help piped into a reader that stops early (| head) ends quietly, without an EPIPE trace', async (t) => {
  const child = spawn(process.execPath, [CLI, 'bench', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Close our end at the first chunk, as `head -1` does; the rest of the help then meets a closed pipe.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, 'exit code 0');
  t.notMatch(stderr, /EPIPE|Error/, 'nothing on stderr about the closed pipe');
});
