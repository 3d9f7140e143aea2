/**
 * `ringtable bench`: YCSB-style workloads against an embedded ringtable, with
 * baselines in the same run. The command line is parsed by commander (the
 * most used, maintained Node CLI library: subcommands, typed option parsers,
 * generated --help with defaults and choices, no dependencies of its own).
 *
 * The `ringtable` bin (lib/cli/ringtable.ts) mounts it beside `serve`, so
 * that the server never depends on the benchmarks or they on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { renderHtmlReport } from './report/html-report.js';
import { type BenchReport, KEY_FORMS } from './ycsb/bench-report.js';
import {
  CONCURRENCY_MAX,
  CONFLICT_MODES,
  READ_PATHS,
  DEFAULTS,
  DISTRIBUTIONS,
  DURABILITIES,
  OPERATIONS_MAX,
  RECORDS_MAX,
  type RawBenchOptions,
  UsageError,
  VALUE_BYTES_MAX,
  WORKLOAD_LETTERS,
  parseBaselines,
  parseCount,
  parseNumber,
  parseTarget,
  resolveRequest,
} from './ycsb/bench-options.js';
import { progressDisplay } from './ycsb/progress.js';
import { PEAK_PASS_MS, runBench } from './ycsb/runner.js';
import { formatSummary } from './ycsb/summary-table.js';
import { tablesCommand } from './tables-workload/tables-command.js';

/** Adapts a pure parser to commander: a UsageError becomes commander's invalid-argument error (exit 2). */
function parser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof UsageError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

const count = (min: number, max: number) => parser((text) => parseCount(text, min, max));
const fraction = parser((text) => parseNumber(text, 0, 1));

function theta(text: string): number {
  const value = parseNumber(text, 0, 1);
  if (value <= 0 || value >= 1) throw new UsageError(`expected a number strictly between 0 and 1, got '${text}'`);
  return value;
}

export function benchCommand(): Command {
  const command = new Command('bench')
    .description(
      'Run a YCSB workload against an embedded ringtable store (worker-thread nodes, one LMDB environment each, in a temporary directory unless --path is given), then optionally the same records and operation stream against baselines; print a summary and write JSON/HTML reports.',
    )
    .addOption(new Option('--workload <letter>', 'YCSB core workload: a (read 0.5, update 0.5), b (read 0.95, update 0.05), c (read 1), d (read 0.95, insert 0.05, latest), e (scan 0.95, insert 0.05), f (read 0.5, read-modify-write 0.5); default b unless --mix is given').choices(WORKLOAD_LETTERS))
    .option('--mix <proportions>', 'custom mix instead of --workload, e.g. read=0.7,update=0.2,insert=0.05,scan=0.03,rmw=0.02 (proportions summing to 1; names read, update, insert, scan, rmw)')
    .addOption(new Option('--distribution <name>', "which records operations pick (default: the workload's own: latest for d, scrambled-zipfian (what YCSB calls zipfian) for the others and for --mix); zipfian is the plain, clustered one").choices(DISTRIBUTIONS))
    .option('--theta <number>', 'zipfian constant for zipfian, scrambled-zipfian and latest (0 < theta < 1)', parser(theta), DEFAULTS.theta)
    .option('--hotspot-data-fraction <fraction>', 'hotspot: fraction of the records that are hot', fraction, DEFAULTS.hotspotDataFraction)
    .option('--hotspot-op-fraction <fraction>', 'hotspot: fraction of operations that go to the hot records', fraction, DEFAULTS.hotspotOpFraction)
    .option('--records <count>', 'records loaded before the run (100k, 1m, 1_000_000 are accepted)', count(1, RECORDS_MAX), DEFAULTS.records)
    .option('--value-bytes <bytes>', "bytes per record's value (YCSB: 10 fields x 100 B)", count(1, VALUE_BYTES_MAX), DEFAULTS.valueBytes)
    .option('--operations <count>', 'operations in the run; the run stops at this count or at --duration, whichever comes first', count(1, OPERATIONS_MAX), DEFAULTS.operations)
    .option('--duration <seconds>', 'longest run in seconds (0: no time limit)', parser((text) => parseNumber(text, 0, 86_400)), DEFAULTS.durationSec)
    .option('--warmup <seconds>', 'before the measured run, run the same stream this long unmeasured, for ringtable and each baseline alike (compiled code, elected leaders, warm caches), then replay it from its start (0: none)', parser((text) => parseNumber(text, 0, 3_600)), 0)
    .option('--concurrency <count>', 'operations in flight at once', count(1, CONCURRENCY_MAX), DEFAULTS.concurrency)
    .option('--target <opsPerSec|P%>', `target operations per second (0: unthrottled), or P% (0 < P <= 100) of this run's own peak: after the warm-up (run unthrottled then), the same stream runs unthrottled and unmeasured for ${PEAK_PASS_MS / 1000} s (no longer than --duration), its throughput is the peak, and the run goes at P% of it (the summary and reports give both); with a target, latency is measured from each operation's intended start (coordinated-omission correction); baselines run at the same rate`, parser(parseTarget), DEFAULTS.targetPerSec)
    .option('--scan-length-max <count>', 'longest scan; scan lengths are uniform in 1..max', count(1, 65_535), DEFAULTS.scanLengthMax)
    .option('--nodes <count>', 'storage nodes (worker threads)', count(1, 64), DEFAULTS.nodes)
    .option('--vnodes <count>', 'ring partitions (virtual nodes) per node', count(1, 65_536), DEFAULTS.vnodes)
    .option('--n <count>', 'replicas per key (default: min(3, nodes))', count(1, 16))
    .option('--r <count>', 'replies a read waits for (default: min(2, n))', count(1, 16))
    .option('--w <count>', 'acknowledgements a write waits for (default: min(2, n))', count(1, 16))
    .addOption(new Option('--durability <mode>', 'when a write is acknowledged: none (no fsync), async (committed, flushed in the background), sync (flushed)').choices(DURABILITIES).default(DEFAULTS.durability))
    .addOption(new Option('--conflicts <mode>', 'siblings (keep concurrent versions) or lww (last writer wins)').choices(CONFLICT_MODES).default(DEFAULTS.conflicts))
    .addOption(new Option('--read-path <path>', 'direct (gets read up replicas in place, in this thread) or messages (every read a message to a node thread)').choices(READ_PATHS).default(DEFAULTS.readPath))
    .addOption(new Option('--key-form <form>', "how the stream's keys are handed to ringtable and Redis: strings (the key names, encoded by every operation, as most applications' keys are) or bytes (UTF-8 Buffers made before the run, the very objects raw lmdb-js reads, which takes no strings); the Map baseline always takes strings").choices(KEY_FORMS).default(DEFAULTS.keyForm))
    .addOption(new Option('--read-balance <mode>', 'which R of N replicas a get asks: least-loaded (those whose node threads were handed the fewest requests lately) or rotate (round-robin)').choices(['least-loaded', 'rotate']).default(DEFAULTS.readBalance))
    .option('--hot-key-cache <entries>', "entries of the store's opt-in hot-key cache of the hottest keys' reads (0: none)", count(0, 1 << 19), DEFAULTS.hotKeyCache)
    .option('--node-thread-nice <increment>', "how much lower the node threads' scheduling priority is than the coordinator's (Linux nice, 0-19; 0: the same)", count(0, 19), DEFAULTS.nodeThreadNice)
    .option('--path <dir>', 'directory for the stores (use an empty one; kept afterwards) (default: a temporary directory, removed at the end)')
    .option('--seed <number>', 'seed of the operation stream and the values', count(0, 2 ** 32 - 1), DEFAULTS.seed)
    .addOption(new Option('--baselines [list]', 'baselines to run after ringtable on the same records and stream: all, none, or a comma list of map, lmdb, post-message, redis (the flag alone means all)').preset('all').argParser(parser(parseBaselines)).default(parseBaselines(DEFAULTS.baselines), DEFAULTS.baselines))
    .option('--rounds <count>', 'with --baselines: measure ringtable and the baselines this many times, interleaved (ringtable, baselines, ringtable, ...), and report each ratio per round and its median; the other figures are the first round\'s', count(1, 20), 1)
    .option('--redis-port <port>', 'port of the redis-server on 127.0.0.1 for the redis baseline', count(1, 65_535), DEFAULTS.redisPort)
    .option('--redis-server [command]', "for the redis baseline, start a redis-server of the bench's own (COMMAND, default redis-server from PATH) on a free loopback port with no persistence (--save '' --appendonly no), and stop it afterwards; instead of --redis-port")
    .option('--fault <plan>', 'node failures during the run, ringtable only: action:node@time[,...] with actions crash, restart, stop, start, pause, resume and times like 5s or 1500ms (applied at the next 1 s interval), e.g. crash:2@5s,restart:2@12s')
    .option('--json <file>', 'write the full report (every figure, configuration, machine) as JSON to FILE')
    .option('--html <file>', 'write a self-contained HTML report with charts to FILE')
    .option('--no-progress', 'no live progress bar (it is drawn only when stdout and stderr are terminals anyway)')
    .showHelpAfterError('(run `ringtable bench --help` for every option)')
    .action(async (options: RawBenchOptions & { json?: string; html?: string; progress: boolean }) => {
      const request = resolveRequest(options, ['ringtable', ...process.argv.slice(2)].join(' '));
      const log = (line: string) => console.log(`  ${line}`);
      console.log('ringtable bench: YCSB workload against an embedded ringtable store');
      const report = await runBench(request, { progress: progressDisplay(options.progress), log });
      console.log(formatSummary(report));
      writeReports(report, options.json, options.html);
    });
  // `ringtable bench tables`: the DynamoDB tables workload; its options come after its name, not bench's.
  command.enablePositionalOptions().addCommand(tablesCommand().exitOverride());
  command.addHelpText('after', ['', 'Examples:', '  ringtable bench --workload a --distribution zipfian --nodes 8', '  ringtable bench --workload c --records 1m --duration 30 --baselines all --json out.json --html out.html', '  ringtable bench --mix read=0.9,update=0.1 --target 20000 --concurrency 512', '  ringtable bench --workload b --distribution zipfian --nodes 8 --warmup 5 --target 70%'].join('\n'));
  return command;
}

function writeReports(report: BenchReport, jsonFile: string | undefined, htmlFile: string | undefined): void {
  const write = (file: string, text: string, what: string) => {
    const full = path.resolve(file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, text);
    console.log(`${what} written to ${full}`);
  };
  if (jsonFile !== undefined) write(jsonFile, JSON.stringify(report, null, 2) + '\n', 'JSON report');
  if (htmlFile !== undefined) write(htmlFile, renderHtmlReport(report), 'HTML report (open it in a browser)');
}
