/**
 * The pure parts of `ringtable bench`: the operation schedule (and its
 * coordinated-omission correction), per-interval accounting, option parsing,
 * node load and imbalance, scan clipping and access counting; and the
 * benchmarks' interleaved rounds (bench/lib/measure.ts).
 */
import t from 'tap';
import type { NodeStats } from '../lib/index.js';
import { UsageError, parseBaselines, parseCount, parseNumber, parseTarget, resolveRequest, type RawBenchOptions } from '../bench/ycsb/bench-options.js';
import { ErrorCounter } from '../bench/ycsb/error-tally.js';
import { INTERVALS_MAX, IntervalTally } from '../bench/ycsb/interval-tally.js';
import { KeySpace, forEachAccess, scanEnd } from '../bench/ycsb/key-space.js';
import { imbalanceOf, nodeLoads } from '../bench/ycsb/node-load.js';
import { accessStats } from '../bench/ycsb/access-stats.js';
import { OpSchedule, latencyUs, peakCaution, rateAtPercentOfPeak } from '../bench/ycsb/op-schedule.js';
import { OpCode, type OperationStream } from '../bench/ycsb/operation-stream.js';
import { StallMonitor, stallNote } from '../bench/ycsb/stall-monitor.js';
import { mainThreadSchedule, parseSchedstat } from '../bench/lib/thread-cpu.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { drive } from '../bench/ycsb/op-driver.js';
import type { KvTarget } from '../bench/ycsb/targets/kv-target.js';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { interleave } from '../bench/lib/measure.js';

t.test('unthrottled: up to `concurrency` in flight, each completion frees a slot, done at the count', async (t) => {
  const schedule = new OpSchedule(1000, { operationCount: 5, durationMs: 0, concurrency: 2, targetPerSec: 0 });
  t.same(schedule.next(1000), { kind: 'launch', index: 0, intendedStartMs: 1000 });
  t.same(schedule.next(1001), { kind: 'launch', index: 1, intendedStartMs: 1001 }, 'unthrottled: latency runs from the launch');
  t.same(schedule.next(1002), { kind: 'full' });
  schedule.completed();
  t.match(schedule.next(1003), { kind: 'launch', index: 2 });
  schedule.completed();
  schedule.completed();
  t.match(schedule.next(1004), { kind: 'launch', index: 3 });
  t.match(schedule.next(1004), { kind: 'launch', index: 4 });
  t.same(schedule.next(1005), { kind: 'done' });
  t.notOk(schedule.isFinished(1005), 'two still in flight');
  schedule.completed();
  schedule.completed();
  t.ok(schedule.isFinished(1005));
  t.equal(schedule.launchedCount, 5);
  t.throws(() => schedule.completed(), 'a completion without a launch is a bug');
});

t.test('time limit: nothing is launched at or after start + duration', async (t) => {
  const schedule = new OpSchedule(0, { operationCount: 100, durationMs: 50, concurrency: 10, targetPerSec: 0 });
  t.match(schedule.next(49.9), { kind: 'launch', index: 0 });
  t.same(schedule.next(50), { kind: 'done' });
  t.notOk(schedule.isFinished(50));
  schedule.completed();
  t.ok(schedule.isFinished(60));
});

t.test('target rate: operation i is due at start + i/target, and waits until then', async (t) => {
  const schedule = new OpSchedule(100, { operationCount: 10, durationMs: 0, concurrency: 4, targetPerSec: 1000 });
  t.equal(schedule.intendedStartMs(0), 100);
  t.equal(schedule.intendedStartMs(7), 107);
  t.same(schedule.next(100), { kind: 'launch', index: 0, intendedStartMs: 100 });
  t.same(schedule.next(100.5), { kind: 'wait', atMs: 101 });
  // Late by 2.5 ms: the overdue operations go at once, each keeping its intended start.
  t.same(schedule.next(103.5), { kind: 'launch', index: 1, intendedStartMs: 101 });
  t.same(schedule.next(103.5), { kind: 'launch', index: 2, intendedStartMs: 102 });
  t.same(schedule.next(103.5), { kind: 'launch', index: 3, intendedStartMs: 103 });
  t.same(schedule.next(103.5), { kind: 'full' }, 'four in flight');
  schedule.completed();
  t.same(schedule.next(103.6), { kind: 'wait', atMs: 104 });
});

t.test('target rate: an operation due after the time limit ends the run instead of waiting for it', async (t) => {
  const schedule = new OpSchedule(0, { operationCount: 100, durationMs: 25, concurrency: 4, targetPerSec: 100 });
  t.match(schedule.next(0), { kind: 'launch', index: 0 });
  t.same(schedule.next(1), { kind: 'wait', atMs: 10 });
  t.match(schedule.next(10), { kind: 'launch', index: 1 });
  t.match(schedule.next(20), { kind: 'launch', index: 2 });
  t.same(schedule.next(21), { kind: 'done' }, 'operation 3 would start at 30 ms, past the 25 ms limit');
  t.notOk(schedule.isFinished(21), 'three still in flight');
  for (let i = 0; i < 3; i++) schedule.completed();
  t.ok(schedule.isFinished(21), 'then the run is over, before the limit itself: nothing more will be launched');
  t.same(schedule.next(22), { kind: 'done' });
});

t.test('target rate: a run of synchronous operations whose next one is due past the time limit ends, it does not hang', async (t) => {
  // 100 ops/s for 29 ms: operations at 0, 10 and 20 ms, the next at 30 is past the limit and is found so at about
  // 20 ms, with nothing in flight (each completes inside its launch) and no timer left to call the driver back.
  const target: KvTarget = {
    name: 'sync',
    description: 'answers inside the launch',
    load: async () => {},
    read: () => 0,
    write: () => 0,
    scan: () => 0,
    readModifyWrite: () => 0,
    close: async () => {},
  };
  const stream = streamOf([[OpCode.READ, 1], [OpCode.READ, 2], [OpCode.READ, 3], [OpCode.READ, 4], [OpCode.READ, 5]]);
  const keys = new KeySpace(10, 10, 8, 1);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 5_000)));
  const result = await Promise.race([drive({ stream, keys, target, limits: { operationCount: 5, durationMs: 29, concurrency: 4, targetPerSec: 100 }, intervalMs: 1000 }), hung]);
  clearTimeout(timer);
  t.not(result, 'hung', 'the run ended');
  if (result !== 'hung') t.equal(result.operations, 3, 'the operations due before the limit ran');
});

/**
 * A server that answers in 1 ms but stalls once for 100 ms, driven at 100 ops/s
 * with one operation in flight: the stalled operation makes the next ten late.
 * Measured from the actual start, only one latency shows the stall
 * (coordinated omission); measured from the intended start, every operation
 * that should have started during the stall carries its share.
 */
function simulateStall(corrected: boolean): number[] {
  const schedule = new OpSchedule(0, { operationCount: 50, durationMs: 0, concurrency: 1, targetPerSec: 100 });
  const latencies: number[] = [];
  let nowMs = 0;
  for (;;) {
    const decision = schedule.next(nowMs);
    if (decision.kind === 'done') break;
    if (decision.kind === 'wait') {
      nowMs = decision.atMs;
      continue;
    }
    if (decision.kind !== 'launch') throw new Error('one in flight, completed before the next');
    const startMs = nowMs;
    nowMs += decision.index === 5 ? 100 : 1;
    schedule.completed();
    latencies.push(latencyUs(corrected ? decision.intendedStartMs : startMs, nowMs));
  }
  return latencies;
}

t.test('coordinated omission: latency from the intended start charges the stall to every operation it delayed', async (t) => {
  const naive = simulateStall(false);
  const corrected = simulateStall(true);
  t.equal(naive.length, 50);
  t.equal(corrected.length, 50);
  t.equal(naive.filter((us) => us > 1000).length, 1, 'uncorrected: one slow operation');
  t.equal(naive[5], 100_000);
  // Operation 5 starts at 50 ms and ends at 150 ms; operations 6..14 were due at 60..140 ms.
  t.same(corrected.slice(5, 16), [100_000, 91_000, 82_000, 73_000, 64_000, 55_000, 46_000, 37_000, 28_000, 19_000, 10_000]);
  t.same(corrected.slice(16), new Array(34).fill(1000), 'back on schedule afterwards');
  t.same(corrected.slice(0, 5), new Array(5).fill(1000));
});

t.test('interval tally: completions per interval, a short last interval, health samples', async (t) => {
  const tally = new IntervalTally(1000);
  for (const atMs of [0, 10, 999, 1000]) tally.record(atMs, false);
  tally.record(1500, true);
  tally.record(2100, false);
  tally.sample(1000, 1, 7);
  tally.sample(2050, 2, 3);
  const points = tally.points(2500);
  t.same(points, [
    { atMs: 1000, opsPerSec: 4, errors: 0, hintsPending: 7, nodesDown: 1 },
    { atMs: 2000, opsPerSec: 1, errors: 1, hintsPending: 0, nodesDown: 0 },
    { atMs: 2500, opsPerSec: 2, errors: 0, hintsPending: 3, nodesDown: 2 },
  ]);
  t.equal(tally.total, 6);
  const completed = points.reduce((sum, point, i) => sum + (point.opsPerSec * (point.atMs - (i === 0 ? 0 : points[i - 1]!.atMs))) / 1000, 0);
  t.equal(completed, 6, 'rates times interval lengths add up to the completions');
  t.same(new IntervalTally(1000).points(0), [], 'an empty run has no points');
  const tail = new IntervalTally(1000);
  for (const atMs of [100, 1100, 1200, 2000, 2003]) tail.record(atMs, atMs === 2003);
  t.same(tail.points(2004), [
    { atMs: 1000, opsPerSec: 1, errors: 0, hintsPending: 0, nodesDown: 0 },
    { atMs: 2004, opsPerSec: 4000 / 1004, errors: 1, hintsPending: 0, nodesDown: 0 },
  ], 'a 4 ms tail joins the interval before it');
  t.throws(() => tail.points(1500), 'completions after the end are a bug');
  t.equal(new IntervalTally(250).points(1000).length, 4, 'quiet intervals still get a point');
  t.throws(() => tally.record(INTERVALS_MAX * 1000 + 1, false), 'bounded');
});

t.test('option parsing: counts, numbers, baselines', async (t) => {
  t.equal(parseCount('100k', 1, 1e9), 100_000);
  t.equal(parseCount('1m', 1, 1e9), 1_000_000);
  t.equal(parseCount('1_000', 1, 1e9), 1000);
  t.throws(() => parseCount('0', 1, 10), UsageError);
  t.throws(() => parseCount('1.5', 1, 10), UsageError);
  t.throws(() => parseCount('11', 1, 10), UsageError);
  t.equal(parseNumber('0.25', 0, 1), 0.25);
  t.throws(() => parseNumber('', 0, 1), UsageError);
  t.throws(() => parseNumber('2', 0, 1), UsageError);
  t.same(parseBaselines('all'), ['map', 'lmdb', 'post-message', 'redis']);
  t.same(parseBaselines('none'), []);
  t.same(parseBaselines('lmdb, map,lmdb'), ['lmdb', 'map']);
  t.throws(() => parseBaselines('map,mongodb'), UsageError);
});

t.test('--target: a rate, or a share of the peak in (0, 100]; the share becomes a whole rate of at least 1', async (t) => {
  t.equal(parseTarget('20000'), 20000);
  t.equal(parseTarget('0'), 0, 'unthrottled');
  t.same(parseTarget('70%'), { percentOfPeak: 70 });
  t.same(parseTarget(' 12.5 % '), { percentOfPeak: 12.5 });
  t.same(parseTarget('100%'), { percentOfPeak: 100 });
  for (const bad of ['0%', '-1%', '100.1%', '%', 'x%', 'Infinity%', '-5', 'fast']) t.throws(() => parseTarget(bad), UsageError, bad);
  t.equal(rateAtPercentOfPeak(70, 150_000), 105_000);
  t.equal(rateAtPercentOfPeak(70, 1234.5), 864);
  t.equal(rateAtPercentOfPeak(1, 10), 1, 'never 0, which would mean unthrottled');
  t.equal(rateAtPercentOfPeak(50, 0), 1);
});

t.test('--target P%: a peak pass far under the warm-up just before it is flagged', async (t) => {
  t.equal(peakCaution(100_000, undefined), undefined, 'no warm-up, nothing to compare with');
  t.equal(peakCaution(100_000, 120_000), undefined, 'a peak near the warm-up is taken as it is');
  t.equal(peakCaution(60_000, 120_000), undefined, 'at the share itself: not flagged');
  const caution = peakCaution(20_000, 120_000);
  t.match(caution, /peak pass made 20000 ops\/s, under 50% of the unthrottled warm-up's 120000 ops\/s/);
  t.equal(peakCaution(20_000, 0), undefined, 'a warm-up that made nothing tells nothing');
});

const RAW: RawBenchOptions = {
  theta: 0.99,
  hotspotDataFraction: 0.2,
  hotspotOpFraction: 0.8,
  records: 1000,
  valueBytes: 100,
  operations: 5000,
  duration: 2.5,
  concurrency: 8,
  target: 0,
  scanLengthMax: 100,
  nodes: 5,
  vnodes: 16,
  durability: 'none',
  conflicts: 'siblings',
  readPath: 'direct',
  keyForm: 'strings',
  seed: 7,
  baselines: [],
  redisPort: 6379,
};

t.test('KeySpace: with keys as bytes every target that takes them reads the same Buffers, with keys as strings the names', async (t) => {
  const asBytes = new KeySpace(50, 40, 8, 3, 'bytes');
  const bytes = asBytes.bytes();
  t.equal(bytes.length, 50);
  t.equal(asBytes.bytes(), bytes, 'made once: raw lmdb-js and ringtable are handed the very same objects');
  t.equal(asBytes.keysInForm(), bytes, "ringtable's and Redis's keys are those bytes");
  for (let k = 0; k < 50; k++) t.same(bytes[k], Buffer.from(asBytes.names[k]!, 'utf8'), `key ${k} is its name's UTF-8`);
  const asStrings = new KeySpace(50, 40, 8, 3, 'strings');
  t.equal(asStrings.keysInForm(), asStrings.names);
  t.same(asStrings.bytes(), bytes, 'raw lmdb-js reads bytes either way');
});

t.test('resolveRequest: the store defaults n/r/w from nodes, a workload brings its mix, conflicting options are refused', async (t) => {
  const request = resolveRequest({ ...RAW, workload: 'a' }, 'ringtable bench --workload a');
  t.match(request.store, { nodes: 5, vnodes: 16, n: 3, r: 2, w: 2, durability: 'none', transport: 'sab' });
  t.equal(request.workload.name, 'a');
  t.equal(request.keyForm, 'strings');
  t.equal(resolveRequest({ ...RAW, keyForm: 'bytes' }, '').keyForm, 'bytes');
  t.equal(request.workload.durationMs, 2500);
  t.equal(request.workload.mix.read + request.workload.mix.update, 1);
  t.equal(resolveRequest({ ...RAW, nodes: 1 }, '').store.n, 1, 'n shrinks with the cluster');
  t.equal(resolveRequest({ ...RAW, workload: 'a', distribution: 'uniform' }, '').workload.distribution, 'uniform', 'an explicit distribution wins');
  const custom = resolveRequest({ ...RAW, mix: 'read=0.5,scan=0.5' }, '');
  t.equal(custom.workload.name, 'custom');
  t.equal(custom.workload.distribution, 'scrambled-zipfian', "a custom mix takes YCSB's distribution");
  t.match(custom.workload, { recordCount: 1000, valueBytes: 100, operationCount: 5000, concurrency: 8, seed: 7, theta: 0.99 }, 'the options, not the workload defaults');
  t.throws(() => resolveRequest({ ...RAW, workload: 'a', mix: 'read=1' }, ''), UsageError);
  t.throws(() => resolveRequest({ ...RAW, nodes: 2, n: 3 }, ''), UsageError);
  t.throws(() => resolveRequest({ ...RAW, n: 2, r: 3 }, ''), UsageError);
  t.throws(() => resolveRequest({ ...RAW, mix: 'read=0.5' }, ''), UsageError, 'a mix must sum to 1');
  const share = resolveRequest({ ...RAW, target: { percentOfPeak: 70 } }, '').workload;
  t.match(share, { targetPerSec: 0, targetPercentOfPeak: 70 }, 'a share of the peak: unthrottled until the peak is measured');
  t.equal(resolveRequest({ ...RAW, target: 5000 }, '').workload.targetPercentOfPeak, undefined, 'a fixed rate has no share');
});

function stats(id: number, gets: number, puts: number, replicates: number): NodeStats {
  return { id, ops: gets + puts + replicates, gets, puts, replicates, purges: 0, keys: 0, bytes: 0, queueDepth: 0, errors: 0, commits: 0, expired: 0 };
}

t.test('node load: counter deltas over the run, imbalance is max/mean', async (t) => {
  const loads = nodeLoads([stats(0, 10, 5, 5), stats(1, 0, 0, 0)], [stats(0, 40, 15, 25), stats(1, 10, 0, 0)]);
  t.same(loads, [
    { id: 0, operations: 60, reads: 30, writes: 30 },
    { id: 1, operations: 10, reads: 10, writes: 0 },
  ]);
  t.equal(imbalanceOf(loads), 60 / 35);
  t.equal(imbalanceOf([{ id: 0, operations: 0, reads: 0, writes: 0 }]), 1, 'an idle cluster is balanced');
  t.throws(() => nodeLoads([stats(0, 5, 0, 0)], [stats(0, 4, 0, 0)]), 'counters never go back');
});

function streamOf(ops: [code: number, keyNumber: number, scanLength?: number][]): OperationStream {
  return {
    count: ops.length,
    codes: Uint8Array.from(ops.map((op) => op[0])),
    keyNumbers: Float64Array.from(ops.map((op) => op[1])),
    scanLengths: Uint16Array.from(ops.map((op) => op[2] ?? 0)),
    keyCountAfter: 10 + ops.filter((op) => op[0] === OpCode.INSERT).length,
    foldedDraws: 0,
  };
}

t.test('accesses: scans read the next records in key order, clipped to what was inserted before them', async (t) => {
  t.equal(scanEnd(5, 10, 100), 15);
  t.equal(scanEnd(95, 10, 100), 100);
  t.equal(scanEnd(100, 10, 100), 100, 'a scan past the end reads nothing');
  const stream = streamOf([
    [OpCode.READ, 1],
    [OpCode.SCAN, 8, 5],
    [OpCode.INSERT, 10],
    [OpCode.SCAN, 8, 5],
    [OpCode.READ_MODIFY_WRITE, 2],
    [OpCode.UPDATE, 3],
  ]);
  const seen: number[] = [];
  const accesses = forEachAccess(stream, stream.count, 10, (k) => seen.push(k));
  t.same(seen, [1, 8, 9, 10, 8, 9, 10, 2, 3]);
  t.equal(accesses, seen.length);
  t.equal(forEachAccess(stream, 2, 10, () => {}), 3, 'only the operations that ran');
});

t.test("the writes' own imbalance: every write counted on each node of its key's preference list, reads and scans not at all", async (t) => {
  const stream = streamOf([
    [OpCode.UPDATE, 1],
    [OpCode.READ, 2],
    [OpCode.UPDATE, 1],
    [OpCode.SCAN, 0, 5],
    [OpCode.INSERT, 10],
    [OpCode.READ_MODIFY_WRITE, 2],
    [OpCode.UPDATE, 3],
  ]);
  const names = Array.from({ length: 11 }, (_, k) => `k${k}`);
  const input = {
    stream,
    recordCount: 10,
    partitionOfKey: new Int32Array(11),
    partitionCount: 1,
    nodeCount: 4,
    names,
    // Key k lives on nodes k % 4 and (k + 1) % 4.
    preferenceList: (key: string) => [Number(key.slice(1)) % 4, (Number(key.slice(1)) + 1) % 4],
  };
  // Copies per node: k1 twice -> 1,2 x2; k10 -> 2,3; k2 -> 2,3; k3 -> 3,0. Node 0: 1, 1: 2, 2: 4, 3: 3; mean 2.5.
  t.equal(accessStats({ ...input, operations: stream.count }).writeCopiesImbalance, 4 / 2.5);
  t.equal(accessStats({ ...input, operations: 3 }).writeCopiesImbalance, 2 / 1, 'only the operations that ran: k1 twice on nodes 1 and 2');
  t.equal(accessStats({ ...input, operations: 2 }).writeCopiesImbalance, 2, 'one write on two of four nodes');
  t.equal(accessStats({ ...input, stream: streamOf([[OpCode.READ, 1]]), operations: 1 }).writeCopiesImbalance, 0, 'no writes: 0');
  t.throws(() => accessStats({ ...input, nodeCount: 2, operations: stream.count }), 'a preference list outside the store is refused');
});

t.test('errors are counted by code, timeouts also on their own', async (t) => {
  const counter = new ErrorCounter();
  counter.add('ERR_TIMEOUT');
  counter.add('ERR_QUORUM');
  counter.add('ERR_TIMEOUT');
  t.same(counter.tally(), { total: 3, timeouts: 2, byCode: { ERR_TIMEOUT: 2, ERR_QUORUM: 1 } });
});

t.test('schedstat: the three counters of a thread (ns on a core, ns waiting for one, slices), nothing else', async (t) => {
  t.same(parseSchedstat('5904000000 2274000000 25933\n'), { ranMs: 5904, waitedMs: 2274, slices: 25933 });
  t.equal(parseSchedstat(''), undefined);
  t.equal(parseSchedstat('1 2'), undefined, 'two fields');
  t.equal(parseSchedstat('1 -2 3'), undefined, 'a negative field');
  if (process.platform === 'linux') {
    const before = mainThreadSchedule();
    t.ok(before !== undefined, 'this Linux has schedstats');
    const after = spinOnCore(5);
    t.ok(after.ranMs >= before!.ranMs + 5, `the main thread's time on a core grows as it runs: ${before!.ranMs} -> ${after.ranMs} ms`);
  }
});

/**
 * Keep this thread busy until the kernel has counted `ms` more of it on a
 * core (not a wall-clock time: on a loaded machine a thread busy for 50 ms of
 * wall time may have run for 18). Gives up after 20 s of wall time.
 */
function spinOnCore(ms: number) {
  const startMs = mainThreadSchedule()!.ranMs;
  const giveUpAtMs = performance.now() + 20_000;
  for (;;) {
    const now = mainThreadSchedule()!;
    if (now.ranMs >= startMs + ms || performance.now() > giveUpAtMs) return now;
    for (let i = 0; i < 100_000; i++) Math.sqrt(i);
  }
}

t.test('the stall note: event-loop delay rounded to 0.01 ms, the coordinator thread\'s time waiting for a core and the process\'s share of the cores', async (t) => {
  const monitor = new StallMonitor();
  monitor.start();
  if (process.platform === 'linux') spinOnCore(40);
  else for (const untilMs = performance.now() + 50; performance.now() < untilMs; );
  await new Promise((resolve) => setTimeout(resolve, 30));
  const summary = monitor.stop();
  const note = stallNote('ringtable', 80, summary);
  t.match(note, /^ringtable run, coordinator thread: event-loop delay p50 \d+(\.\d{1,2})? ms, p99 \d+(\.\d{1,2})? ms, p99\.9 \d+(\.\d{1,2})? ms, max \d+(\.\d{1,2})? ms/);
  t.ok(summary.processCpuShare > 0 && summary.processCpuShare <= 1, `the process's share of the cores: ${summary.processCpuShare}`);
  if (process.platform === 'linux') {
    t.ok(summary.coordinatorRanMs! >= 40, `the busy loop ran on a core: ${summary.coordinatorRanMs} ms`);
    t.match(note, /runnable but waiting for a core \d+ ms/);
  }
});

t.test("the stall note tells the old generation's collections from the young one's", async (t) => {
  // A full collection on demand: V8's gc() exposed for this test only.
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const monitor = new StallMonitor();
  monitor.start();
  collect();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const summary = monitor.stop();
  t.ok(summary.gcMajorPauses >= 1, `a full collection counts as the old generation's: ${summary.gcMajorPauses}`);
  t.ok(summary.gcMajorPauses <= summary.gcPauses && summary.gcMajorMs <= summary.gcTotalMs + 1, 'the old generation\'s pauses are among all pauses');
  t.match(stallNote('ringtable', 100, summary), new RegExp(`, ${summary.gcMajorPauses} of the old generation \\(${summary.gcMajorMs} ms\\)`));
});

t.test('the stall note estimates the external memory (ArrayBuffers) the thread allocated in the run', async (t) => {
  const monitor = new StallMonitor();
  monitor.start();
  await new Promise((resolve) => setTimeout(resolve, 30));
  // 48 buffers of 1 MiB, allocated over several samples and all kept until the monitor stops: no free can hide them.
  const kept: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 12; j++) kept.push(new Uint8Array(1 << 20));
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  const summary = monitor.stop();
  t.equal(kept.length, 48);
  // A lower bound: a collection between two samples may free other buffers and hide part of an increase.
  t.ok(summary.externalBytesAllocated >= 40 * (1 << 20), `most of the 48 MiB kept: ${summary.externalBytesAllocated}`);
  t.match(stallNote('ringtable', 1000, summary), new RegExp(`external memory \\(ArrayBuffers\\) allocated >= ${(summary.externalBytesAllocated / 1e6).toFixed(1)} MB \\(${(summary.externalBytesAllocated / 1e6).toFixed(1)} MB/s\\)`));
});

t.test('the driver counts what promised operations settle with: a read through missingOf, a write as nothing missing, a rejection as an error', async (t) => {
  const ops: [number, number][] = [];
  for (let i = 0; i < 400; i++) ops.push([i % 4 === 0 ? OpCode.UPDATE : OpCode.READ, i % 10]);
  const stream = streamOf(ops);
  let reads = 0;
  let writes = 0;
  let maxInFlight = 0;
  let inFlight = 0;
  const later = <T>(value: T, fail = false): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<T>((resolve, reject) => setImmediate(() => (inFlight--, fail ? reject(new RingtableError(ErrorCode.TIMEOUT, 'late')) : resolve(value))));
  };
  const target: KvTarget = {
    name: 'promised',
    description: 'settles each operation on a later turn',
    load: async () => {},
    // Keys 0-2 "have no value"; key 9 fails; what a read resolves with is an object, counted by missingOf.
    read: (keyNumber) => (reads++, later({ absent: keyNumber < 3 }, keyNumber === 9)),
    missingOf: (result) => ((result as { absent: boolean }).absent ? 1 : 0),
    write: () => (writes++, later(undefined)),
    scan: () => 0,
    readModifyWrite: () => 0,
    close: async () => {},
  };
  const result = await drive({ stream, keys: new KeySpace(10, 10, 8, 1), target, limits: { operationCount: 400, durationMs: 0, concurrency: 16, targetPerSec: 0 }, intervalMs: 1000 });
  t.equal(result.operations, 400);
  t.equal(reads + writes, 400);
  // Reads are i % 4 != 0: of keys i % 10 < 3 the reads that had no value, of key 9 the failures.
  const readOps = ops.filter(([code]) => code === OpCode.READ);
  t.equal(result.notFound, readOps.filter(([, key]) => key < 3).length, 'a read counts as missing what missingOf says, a write nothing');
  t.equal(result.errors.total, readOps.filter(([, key]) => key === 9).length, 'a rejection is an error');
  t.equal(result.latency.count(OpCode.UPDATE), writes, 'every write that resolved with nothing succeeded');
  t.ok(maxInFlight <= 16, `never more in flight than the concurrency: ${maxInFlight}`);
  result.latency.destroy();
});

t.test('launch lag: behind its schedule, the driver tells time with every slot busy (a queue) from its own thread held', async (t) => {
  const stream = streamOf(Array.from({ length: 40 }, (_, i) => [OpCode.READ, i % 10] as [number, number]));
  const base = { name: 'lagging', description: 'settles late or holds the thread', load: async () => {}, write: () => 0, scan: () => 0, readModifyWrite: () => 0, close: async () => {} };
  // One slot, operations due every 2 ms, each taking at least 25 ms: every launch after the first waits for the slot.
  const slow: KvTarget = { ...base, read: () => new Promise((resolve) => setTimeout(() => resolve(undefined), 25)) };
  const queued = await drive({ stream, keys: new KeySpace(10, 10, 8, 1), target: slow, limits: { operationCount: 6, durationMs: 0, concurrency: 1, targetPerSec: 500 }, intervalMs: 1000 });
  t.equal(queued.launchLag!.late, 5, 'the five after the first launched late');
  t.ok(queued.launchLag!.maxMs >= 5 * 23, `the lag grows with the queue: ${queued.launchLag!.maxMs} ms`);
  // Operation k (k >= 1) was due while k - 1 held the one slot: from 2 ms, then from each launch, to each completion.
  t.ok(queued.launchLag!.slotsFullMs >= 23 + 4 * 24, `due with every slot busy: ${queued.launchLag!.slotsFullMs} ms`);
  queued.latency.destroy();
  // Many slots, the thread held 25 ms by the first operation: the operations due meanwhile launch late, none for want of a slot.
  let first = true;
  const holding: KvTarget = {
    ...base,
    read: () => {
      if (first) {
        first = false;
        const until = performance.now() + 25;
        while (performance.now() < until);
      }
      return new Promise((resolve) => setImmediate(() => resolve(undefined)));
    },
  };
  const held = await drive({ stream, keys: new KeySpace(10, 10, 8, 1), target: holding, limits: { operationCount: 6, durationMs: 0, concurrency: 16, targetPerSec: 500 }, intervalMs: 1000 });
  t.ok(held.launchLag!.late >= 1, `launched late after the hold: ${held.launchLag!.late}`);
  t.equal(held.launchLag!.slotsFullMs, 0, 'never for want of a slot');
  held.latency.destroy();
  const unthrottled = await drive({ stream, keys: new KeySpace(10, 10, 8, 1), target: slow, limits: { operationCount: 2, durationMs: 0, concurrency: 1, targetPerSec: 0 }, intervalMs: 1000 });
  t.equal(unthrottled.launchLag, undefined, 'unthrottled, no schedule to be behind');
  unthrottled.latency.destroy();
});

t.test('interleave rotates the order every round, so each variant runs in each place of a round', async (t) => {
  const calls: string[] = [];
  const variant = (name: string) => ({ name, run: async (round: number) => (calls.push(`${name}${round}`), { ops: round + 1, seconds: 1, opsPerSecond: round + 1 }) });
  const runs = await interleave(4, [variant('a'), variant('b'), variant('c')]);
  t.same(calls, ['a0', 'b0', 'c0', 'b1', 'c1', 'a1', 'c2', 'a2', 'b2', 'a3', 'b3', 'c3'], 'round r starts with variant r mod 3');
  t.same([...runs.keys()], ['a', 'b', 'c'], 'runs keyed by variant, in the order given');
  t.same(runs.get('b')!.map((run) => run.ops), [1, 2, 3, 4], "each variant's runs in round order");
});
