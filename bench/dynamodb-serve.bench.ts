/**
 * `ringtable serve` against dynalite over HTTP (issue 12 §4): the same fixed,
 * signed GetItem, PutItem and Query requests, replayed by autocannon at 64
 * connections (keep-alive, one request in flight per connection), one server
 * at a time, interleaved (ringtable, dynalite, ringtable, ...).
 *
 *   npm run bench:serve
 *   node dist/bench/dynamodb-serve.bench.js --duration 10 --rounds 3
 *
 * Both servers run in their own child process, so each has a thread of its
 * own beside the load generator: `ringtable serve --durability none` (the
 * bin, loopback, so signatures are checked for form but not verified, as
 * dynalite does) with --nodes storage-node threads, a second one tuned for
 * serving on a small machine (--tuned-nodes threads: fewer threads to wake
 * per request, and no replicas to write when it is 1), and dynalite({
 * createTableMs: 0 }) in memory. Data: one table (pk S, sk S), --items items
 * of about 100 bytes in one partition; GetItem reads one of them, PutItem
 * writes --put-keys items in turn (each body signed; --put-keys 1 overwrites
 * one item, a hot key, which ringtable orders through its leader and
 * DynamoDB caps at 1,000 writes per second), Query reads the first 10 of the
 * partition.
 * Target: ringtable >= 10x dynalite's requests/s, for every operation. A
 * fourth server, node:http answering a constant (bench/dynamodb/constant-server.ts),
 * shows the ceiling that the machine, node:http and autocannon allow.
 * Each run also reads the server's CPU time (all its threads, from /proc):
 * CPU per request compares the servers more steadily than requests per
 * second when other work shares the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, type ChildServer } from './dynamodb/child-server.js';
import { processCpuMicros } from './dynamodb/process-cpu.js';
import { send, signedRequest, type SignedRequest } from './dynamodb/signed-request.js';
import { median, type Run } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';

const args = parseOptions('node dist/bench/dynamodb-serve.bench.js', "ringtable serve vs dynalite: autocannon replaying signed GetItem, PutItem and Query bodies at 64 connections.", {
  duration: int(5, 'seconds per run'),
  rounds: int(2, 'interleaved rounds per operation and server'),
  connections: int(64, 'autocannon connections (one request in flight on each)'),
  nodes: int(3, 'storage-node threads of the ringtable database'),
  tunedNodes: int(1, 'storage-node threads of a second ringtable server tuned for a small machine (0: no second server)', 0),
  putKeys: int(1000, 'distinct items PutItem writes in turn (1: the same item every time)'),
  items: int(100, 'items preloaded in the one partition'),
  operations: choice('all', ['all', 'GetItem', 'PutItem', 'Query'] as const, 'which operations to measure'),
  settle: int(8, 'seconds to wait after the preload: the transaction sweep\'s first pass (5 s after open) elects a leader for every ring partition', 0),
  compareBin: text('another build\'s dist/lib/cli/ringtable.js, served as a third ringtable server with --nodes (before/after in one run)', 'FILE'),
});
const COMPARED = 'ringtable, compared build';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

const here = dirname(fileURLToPath(import.meta.url));
const TABLE = 'bench';
const PARTITION = 'partition-0';
const sortKey = (i: number): string => String(i).padStart(6, '0');
const payload = 'x'.repeat(64);
const TUNED = `ringtable --nodes ${args.tunedNodes}`;

function operationInput(operation: string, items: number, variant = 0): unknown {
  switch (operation) {
    case 'GetItem': return { TableName: TABLE, Key: { pk: { S: PARTITION }, sk: { S: sortKey(items >> 1) } } };
    case 'PutItem': return { TableName: TABLE, Item: { pk: { S: 'written' }, sk: { S: sortKey(variant) }, payload: { S: payload }, n: { N: '42' } } };
    case 'Query': return { TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: PARTITION } }, Limit: 10 };
    default: throw new Error(operation);
  }
}

async function prepare(url: string, items: number): Promise<void> {
  await send(url, 'CreateTable', {
    TableName: TABLE, BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
  });
  for (let start = 0; start < items; start += 25) {
    const puts = [];
    for (let i = start; i < Math.min(items, start + 25); i++) {
      puts.push({ PutRequest: { Item: { pk: { S: PARTITION }, sk: { S: sortKey(i) }, payload: { S: payload }, n: { N: String(i) } } } });
    }
    const answer = await send(url, 'BatchWriteItem', { RequestItems: { [TABLE]: puts } });
    if (Object.keys((answer['UnprocessedItems'] as object | undefined) ?? {}).length > 0) throw new Error('preload: unprocessed items');
  }
  // Every body the benchmark replays must succeed once before it is timed.
  const got = await send(url, 'GetItem', operationInput('GetItem', items));
  if (got['Item'] === undefined) throw new Error('preload: the GetItem target is missing');
  const queried = await send(url, 'Query', operationInput('Query', items));
  if (queried['Count'] !== Math.min(10, items)) throw new Error(`preload: Query counted ${String(queried['Count'])}`);
}

interface Measured extends Run {
  p50Ms: number;
  p99Ms: number;
  /** The server's CPU (all threads) per request answered, NaN where /proc cannot say. */
  cpuMicrosPerRequest: number;
}

/** The signed bodies one run replays: one, or for PutItem --put-keys of them, taken in turn across all connections. */
function signedBodies(url: string, operation: string): SignedRequest[] {
  const count = operation === 'PutItem' ? args.putKeys : 1;
  const nowMs = Date.now();
  return Array.from({ length: count }, (_, i) => signedRequest(new URL(url).host, operation, operationInput(operation, args.items, i), nowMs));
}

async function load(server: ChildServer, operation: string): Promise<Measured> {
  const bodies = signedBodies(server.url, operation);
  let next = 0;
  // One request whose setupRequest picks the next body: all connections share one turn, so no two
  // connections replay the same sequence in step (an array of requests is walked by each from its start).
  const rotate = bodies.length > 1
    ? { requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, ...bodies[next++ % bodies.length]! }) }] }
    : {};
  const cpuBefore = processCpuMicros(server.pid);
  const result = await autocannon({
    url: server.url, method: 'POST', headers: bodies[0]!.headers, body: bodies[0]!.body, ...rotate,
    connections: args.connections, pipelining: 1, duration: args.duration,
  });
  const cpuAfter = processCpuMicros(server.pid);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${server.url} ${operation}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  const cpuMicrosPerRequest = cpuBefore === undefined || cpuAfter === undefined ? NaN : (cpuAfter - cpuBefore) / result.requests.total;
  return {
    ops: result.requests.total, seconds: result.duration, opsPerSecond: result.requests.average,
    p50Ms: result.latency.p50, p99Ms: result.latency.p99, cpuMicrosPerRequest,
  };
}

async function main(): Promise<void> {
  const report: Report = {
    benchmark: 'dynamodb-serve', command: commandLine('dynamodb-serve.bench.js'),
    measured: 'HTTP requests per second answered 200 (autocannon average over the run), latency p50/p99 in ms',
    environment: environment(),
    config: {
      duration: args.duration, rounds: args.rounds, connections: args.connections, nodes: args.nodes, tunedNodes: args.tunedNodes,
      items: args.items, putKeys: args.putKeys, durability: 'none', settle: args.settle, compareBin: args.compareBin ?? null,
    },
    phases: {}, figures: [], ratios: [], notes: [],
  };
  report.environment.packages['autocannon'] = require('autocannon/package.json').version as string;
  report.environment.packages['dynalite'] = require('dynalite/package.json').version as string;
  const path = mkdtempSync(join(tmpdir(), 'ringtable-bench-serve-'));
  const servers: Array<{ name: string; server: ChildServer }> = [];
  try {
    const ringtable = await startChild(join(here, '..', 'lib', 'cli', 'ringtable.js'),
      ['serve', '--port', '0', '--path', path, '--nodes', String(args.nodes), '--durability', 'none'],
      /at (http:\/\/127\.0\.0\.1:\d+)/, (url) => url);
    servers.push({ name: 'ringtable', server: ringtable });
    if (args.tunedNodes > 0) {
      const tuned = await startChild(join(here, '..', 'lib', 'cli', 'ringtable.js'),
        ['serve', '--port', '0', '--path', join(path, 'tuned'), '--nodes', String(args.tunedNodes), '--durability', 'none', '--no-inspector'],
        /at (http:\/\/127\.0\.0\.1:\d+)/, (url) => url);
      servers.push({ name: TUNED, server: tuned });
    }
    if (args.compareBin !== undefined) {
      const compared = await startChild(args.compareBin,
        ['serve', '--port', '0', '--path', join(path, 'compared'), '--nodes', String(args.nodes), '--durability', 'none'],
        /at (http:\/\/127\.0\.0\.1:\d+)/, (url) => url);
      servers.push({ name: COMPARED, server: compared });
    }
    const dynalite = await startChild(join(here, 'dynamodb', 'dynalite-server.js'), [], /listening (\d+)/, (port) => `http://127.0.0.1:${port}`);
    servers.push({ name: 'dynalite', server: dynalite });
    const startMs = Date.now();
    for (const { server } of servers) await prepare(server.url, args.items);
    const ceiling = await startChild(join(here, 'dynamodb', 'constant-server.js'), [], /listening (\d+)/, (port) => `http://127.0.0.1:${port}`);
    servers.push({ name: 'node:http ceiling', server: ceiling });
    report.phases['preload'] = `${Date.now() - startMs} ms for both servers`;
    await new Promise((resolve) => setTimeout(resolve, args.settle * 1000));

    const operations = args.operations === 'all' ? ['GetItem', 'PutItem', 'Query'] : [args.operations];
    for (const operation of operations) {
      const runs = new Map<string, Measured[]>(servers.map(({ name }) => [name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const { name, server } of servers) {
          const run = await load(server, operation);
          runs.get(name)!.push(run);
          console.log(`${operation} ${name} round ${round + 1}: ${run.opsPerSecond.toFixed(0)} req/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, ` +
            `server CPU ${run.cpuMicrosPerRequest.toFixed(0)} us/request`);
        }
      }
      const medians: Record<string, number> = {};
      const cpu: Record<string, number> = {};
      for (const [name, measured] of runs) {
        const p50 = median(measured.map((m) => m.p50Ms));
        const p99 = median(measured.map((m) => m.p99Ms));
        cpu[name] = median(measured.map((m) => m.cpuMicrosPerRequest));
        report.figures.push(figure(`${operation} ${name} (p50 ${p50} ms, p99 ${p99} ms, server CPU ${cpu[name]!.toFixed(0)} us/request)`,
          `one signed ${operation} over HTTP, ${args.connections} connections`, measured));
        medians[name] = median(measured.map((m) => m.opsPerSecond));
      }
      if (args.compareBin !== undefined) {
        report.ratios.push({ name: `${operation}: ringtable / ${COMPARED}`, value: medians['ringtable']! / medians[COMPARED]! });
        report.ratios.push({ name: `${operation}: ringtable / ${COMPARED} by server CPU per request (compared's / ringtable's)`, value: cpu[COMPARED]! / cpu['ringtable']! });
      }
      for (const name of ['ringtable', ...(args.tunedNodes > 0 ? [TUNED] : []), ...(args.compareBin !== undefined ? [COMPARED] : [])]) {
        report.ratios.push({ name: `${operation}: ${name} / dynalite`, value: medians[name]! / medians['dynalite']!, target: 10 });
        report.ratios.push({ name: `${operation}: ${name} / dynalite by server CPU per request (dynalite's / ringtable's)`, value: cpu['dynalite']! / cpu[name]! });
        report.ratios.push({ name: `${operation}: ${name} / node:http ceiling`, value: medians[name]! / medians['node:http ceiling']! });
      }
      report.ratios.push({ name: `${operation}: node:http ceiling / dynalite (the most any server could show here)`, value: medians['node:http ceiling']! / medians['dynalite']! });
    }
    report.notes.push('ringtable serve binds loopback without credentials: signatures are checked for form, not verified (dynalite does not verify either).');
    report.notes.push('node:http ceiling: a node:http server answering a constant GetItem response, in its own process; no DynamoDB server in Node answers faster on this machine and load generator.');
    report.notes.push(`PutItem writes ${args.putKeys} distinct items in turn (one pre-signed body each), the same bodies for every server.`);
    report.notes.push('server CPU: user + system time of the server process (all its threads) from /proc/<pid>/stat, per request answered.');
    report.notes.push('The load generator shares the machine with both servers (one server runs at a time); on 2 cores it takes most of one.');
  } finally {
    for (const { server } of servers) await server.stop();
    rmSync(path, { recursive: true, force: true });
  }
  finishReport(report, args.json);
}

await main();
