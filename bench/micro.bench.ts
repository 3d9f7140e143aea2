/**
 * Micro-benchmarks of the per-request hot paths, with tinybench: key hash,
 * preference-list lookup, frame encode/decode, SPSC ring push+pop, version
 * clock compare and merge, msgpack of a YCSB record, and the YCSB workload
 * pieces (zipfian draws, fnvhash64, key names, the Space-Saving summary).
 *
 *   npm run bench:micro
 *   node dist/bench/micro.bench.js --batch 1000 --time-ms 500 --rounds 3 --only clock
 *
 * Each tinybench task performs `--batch` operations over varied, seeded
 * inputs (tinybench's ~450 ns per call would swamp sub-microsecond work), so
 * figures are per operation: ns/op = task mean / batch. Every suite runs
 * once per round, in order, for `--rounds` rounds (interleaved: drift on a
 * shared machine hits all suites alike), and each figure is the median over
 * rounds. One thread, no I/O.
 */
import { Bench } from 'tinybench';
import { type MicroConfig, microSuites } from './lib/micro-suites.js';
import type { Run } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';

const args = parseOptions('node dist/bench/micro.bench.js', 'Per-operation cost of the hot paths (tinybench, batched tasks, median of interleaved rounds).', {
  batch: int(1000, 'operations per tinybench task call'),
  'time-ms': int(500, 'time budget per suite per round (tinybench `time`)'),
  'warmup-ms': int(100, 'warm-up budget per suite per round, not counted', 0),
  rounds: int(3, 'interleaved rounds over all suites'),
  records: int(1_000_000, 'key numbers the YCSB keys and zipfian draws range over'),
  nodes: int(4, 'storage nodes of the ring (preference-list suite)'),
  vnodes: int(256, 'tokens per node'),
  n: int(3, 'replicas per key (N)'),
  fields: int(10, 'fields of a YCSB record (msgpack and PUT-frame suites)'),
  'field-bytes': int(100, 'bytes per field'),
  'field-kind': choice('string', ['string', 'bytes'] as const, "field values as YCSB's printable strings or as Uint8Arrays"),
  only: text('run only the suites whose name contains TEXT', 'TEXT'),
});

/** Keeps every task's result reachable so the JIT cannot drop the work. */
let checksum = 0;

async function main(): Promise<void> {
  const config: MicroConfig = {
    batch: args.batch,
    seed: args.seed,
    records: args.records,
    nodes: args.nodes,
    vnodes: args.vnodes,
    n: args.n,
    fields: args.fields,
    fieldBytes: args['field-bytes'],
    fieldKind: args['field-kind'],
  };
  const suites = microSuites(config).filter((suite) => args.only === undefined || suite.name.includes(args.only));
  if (suites.length === 0) throw new Error(`no suite name contains '${args.only}'`);
  const report: Report = {
    benchmark: 'micro (hot paths, tinybench)',
    command: commandLine('micro.bench.js'),
    measured: `${args.batch} operations per tinybench task call; ${args['time-ms']} ms per suite per round after ${args['warmup-ms']} ms of warm-up; ${args.rounds} interleaved rounds; median of the rounds' mean ns/op`,
    environment: environment(),
    config: { ...config, timeMs: args['time-ms'], warmupMs: args['warmup-ms'], rounds: args.rounds, only: args.only ?? 'all' },
    phases: {},
    figures: [],
    ratios: [],
    notes: ['ops/s and ns/op are per operation (task time / batch); tinybench per-call overhead is spread over the batch'],
  };
  console.log(`micro benchmark: seed=${args.seed}, ${suites.length} suites, batch ${args.batch}, ${args.rounds} rounds of ${args['time-ms']} ms each...`);
  const runs = new Map<string, Run[]>(suites.map((suite) => [suite.name, []]));
  for (let round = 0; round < args.rounds; round++) {
    const bench = new Bench({ name: `round ${round + 1}`, time: args['time-ms'], warmupTime: args['warmup-ms'], warmup: args['warmup-ms'] > 0, iterations: 10, throws: true });
    for (const suite of suites) {
      bench.add(suite.name, () => {
        checksum += suite.task();
      }, { async: false });
    }
    for (const task of bench.runSync()) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`suite ${task.name}: ${result.state}`);
      const secondsPerOp = result.latency.mean / 1000 / args.batch;
      const run: Run = { ops: args.batch * result.latency.samplesCount, seconds: result.totalTime / 1000, opsPerSecond: 1 / secondsPerOp };
      runs.get(task.name)!.push(run);
      console.log(`  round ${round + 1}/${args.rounds} ${task.name.padEnd(24)} ${(secondsPerOp * 1e9).toFixed(1).padStart(8)} ns/op  (rme ${result.latency.rme.toFixed(1)}%, ${result.latency.samplesCount} samples)`);
    }
  }
  if (!Number.isFinite(checksum)) report.notes.push(`checksum is ${checksum}: some task returned a non-number`);
  for (const suite of suites) {
    const made = figure(suite.name, suite.op, runs.get(suite.name)!);
    made.op = `${suite.op}; median ${(1e9 / made.medianOpsPerSecond).toFixed(1)} ns/op`;
    report.figures.push(made);
  }
  finishReport(report, args.json);
}

await main();
