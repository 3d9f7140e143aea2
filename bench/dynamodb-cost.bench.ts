/**
 * Where a DynamoDB request's CPU goes (issue 12 §4), thread by thread: the
 * main thread (HTTP, protocol, tables layer, coordinator), the storage-node
 * threads, and the rest (V8's helpers, libuv's pool where lmdb-js commits),
 * from /proc/self/task (bench/dynamodb/thread-cpu.ts). Everything runs in this
 * process except the load generator, so each layer is measured by difference
 * in one run:
 *   - idle: what an open Database burns per second with nothing to do;
 *   - typed: db.getItem (eventual, consistent), db.putItem, db.query;
 *   - handler: the in-process handler's handle() with a signed request, no
 *     SDK, answering from a constant dispatcher and from the Database (their
 *     difference is the tables layer and engine behind the wire protocol);
 *   - serve: serve() on loopback, autocannon in a child process, from a
 *     constant dispatcher and from the Database.
 *
 *   node dist/bench/dynamodb-cost.bench.js --duration 3 --rounds 2
 *
 * Rounds interleave the variants. On a shared machine compare CPU per
 * request within one run, not across runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequestHandler, Database, serve, type DynamoDbServer } from '../lib/index.js';
import type { DynamoDbDispatcher } from '../lib/dynamodb/dispatcher.js';
import { signedRequest } from './dynamodb/signed-request.js';
import { cpuSplit, threadCpuMicros, type CpuSplit } from './dynamodb/thread-cpu.js';
import { median } from './lib/measure.js';
import { int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, finishReport } from './lib/report.js';

const args = parseOptions('node dist/bench/dynamodb-cost.bench.js', 'CPU per DynamoDB request by thread: idle, typed Database calls, the in-process handler and serve, each against a constant answer.', {
  duration: int(3, 'seconds per run'),
  rounds: int(2, 'interleaved rounds'),
  nodes: int(3, 'storage-node threads'),
  concurrency: int(64, 'calls in flight (typed and handler)'),
  connections: int(64, 'autocannon connections (serve)'),
  idle: int(10, 'seconds of the idle measurement (0: none)', 0),
  items: int(100, 'items preloaded in the one partition'),
  putKeys: int(1000, 'distinct items PutItem writes in turn'),
  operations: text('comma-separated subset of GetItem, GetItem consistent, PutItem, Query (default: all)', 'LIST'),
});
const OPERATIONS = ['GetItem', 'GetItem consistent', 'PutItem', 'Query'];

const here = dirname(fileURLToPath(import.meta.url));
const TABLE = 'bench';
const PARTITION = 'partition-0';
const payload = 'x'.repeat(64);
const sortKey = (i: number): string => String(i).padStart(6, '0');
const ITEM_ANSWER = { Item: { pk: { S: PARTITION }, sk: { S: sortKey(50) }, payload: { S: payload }, n: { N: '50' } } };

function input(operation: string, variant = 0): Record<string, unknown> {
  switch (operation) {
    case 'GetItem': return { TableName: TABLE, Key: { pk: { S: PARTITION }, sk: { S: sortKey(args.items >> 1) } } };
    case 'GetItem consistent': return { ...input('GetItem'), ConsistentRead: true };
    case 'PutItem': return { TableName: TABLE, Item: { pk: { S: 'written' }, sk: { S: sortKey(variant % args.putKeys) }, payload: { S: payload }, n: { N: '42' } } };
    case 'Query': return { TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: PARTITION } }, Limit: 10 };
    default: throw new Error(operation);
  }
}
const wireOperation = (operation: string): string => operation.split(' ')[0]!;

interface Measured {
  perSecond: number;
  cpu: CpuSplit;
}

/** `concurrency` loops calling `call(i)` for `seconds`, with this process's threads' CPU per call. */
async function drive(call: (i: number) => Promise<unknown>, seconds: number, storage: ReadonlySet<string>): Promise<Measured> {
  let calls = 0;
  const deadline = performance.now() + seconds * 1000;
  const before = threadCpuMicros();
  const startMs = performance.now();
  await Promise.all(Array.from({ length: args.concurrency }, async () => {
    while (performance.now() < deadline) await call(calls++);
  }));
  const elapsedS = (performance.now() - startMs) / 1000;
  return { perSecond: calls / elapsedS, cpu: cpuSplit(before, threadCpuMicros(), storage, calls) };
}

/** autocannon in a child against `url`, replaying signed bodies of `operation`; this process's CPU per request. */
async function load(url: string, operation: string, storage: ReadonlySet<string>): Promise<Measured> {
  const host = new URL(url).host;
  const count = operation === 'PutItem' ? args.putKeys : 1;
  const bodies = Array.from({ length: count }, (_, i) => {
    const signed = signedRequest(host, wireOperation(operation), input(operation, i), Date.now());
    return { headers: signed.headers, body: signed.body };
  });
  const optionsFile = join(tmpdir(), `ringtable-bench-cost-${process.pid}.json`);
  writeFileSync(optionsFile, JSON.stringify({ url, method: 'POST', ...bodies[0], bodies, connections: args.connections, pipelining: 1, duration: args.duration }));
  const before = threadCpuMicros();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [join(here, 'dynamodb', 'autocannon-child.js'), optionsFile], (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  const after = threadCpuMicros();
  rmSync(optionsFile, { force: true });
  const result = JSON.parse(output) as { total: number; perSecond: number; failed: number };
  if (result.failed > 0) throw new Error(`${url} ${operation}: ${result.failed} requests failed`);
  return { perSecond: result.perSecond, cpu: cpuSplit(before, after, storage, result.total) };
}

const format = (cpu: CpuSplit): string =>
  `${cpu.total.toFixed(0)} us CPU (main ${cpu.main.toFixed(0)}, storage threads ${cpu.storage.toFixed(0)}, other ${cpu.other.toFixed(0)})`;

async function main(): Promise<void> {
  const report: Report = {
    benchmark: 'dynamodb-cost', command: commandLine('dynamodb-cost.bench.js'),
    measured: 'CPU of this process per request, by thread (median of rounds); requests per second beside',
    environment: environment(),
    config: { duration: args.duration, rounds: args.rounds, nodes: args.nodes, concurrency: args.concurrency, connections: args.connections, items: args.items, putKeys: args.putKeys, durability: 'none' },
    phases: {}, figures: [], ratios: [], notes: [],
  };
  const path = mkdtempSync(join(tmpdir(), 'ringtable-bench-cost-'));
  const threadsBefore = new Set(readdirSync('/proc/self/task'));
  const database = await Database.open({ path, nodes: args.nodes, durability: 'none', antiEntropyIntervalMs: 0 });
  const storage = new Set([...threadCpuMicros().keys()].filter((id) => !threadsBefore.has(id)));
  const servers: DynamoDbServer[] = [];
  try {
    await database.createTable({
      TableName: TABLE, BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    });
    for (let i = 0; i < args.items; i++) await database.putItem({ TableName: TABLE, Item: { pk: { S: PARTITION }, sk: { S: sortKey(i) }, payload: { S: payload }, n: { N: String(i) } } });

    if (args.idle > 0) {
      // Past the transaction sweep's first pass (every max(5 s, timeout)), which elects a leader for every ring partition.
      await new Promise((resolve) => setTimeout(resolve, 7000));
      const before = threadCpuMicros();
      await new Promise((resolve) => setTimeout(resolve, args.idle * 1000));
      const idle = cpuSplit(before, threadCpuMicros(), storage, args.idle * 1000);
      report.notes.push(`idle: ${(idle.total / 1000 * 100).toFixed(1)}% of a core (ms of CPU per second: main ${idle.main.toFixed(1)}, storage threads ${idle.storage.toFixed(1)}, other ${idle.other.toFixed(1)}) with nothing to do`);
    }

    const constant: DynamoDbDispatcher = { dispatch: async () => ITEM_ANSWER };
    const handlers = { constant: createRequestHandler({ dispatcher: constant }), database: createRequestHandler({ dispatcher: database }) };
    servers.push(await serve({ dispatcher: constant, port: 0 }), await serve({ database, port: 0 }));
    const [constantServer, databaseServer] = servers as [DynamoDbServer, DynamoDbServer];
    const handlerRequest = (operation: string, i: number) => {
      const signed = signedRequest('localhost', wireOperation(operation), input(operation, i), Date.now());
      return { method: 'POST', path: '/', headers: signed.headers, body: Buffer.from(signed.body) };
    };
    const handlerCall = (handler: typeof handlers.constant, operation: string) => {
      const fixed = operation === 'PutItem' ? undefined : handlerRequest(operation, 0);
      return async (i: number) => {
        const { response } = await handler.handle(fixed ?? handlerRequest(operation, i));
        if (response.statusCode !== 200) throw new Error(`${operation}: ${response.statusCode} ${Buffer.from(response.body).toString()}`);
      };
    };
    const typed: Record<string, (i: number) => Promise<unknown>> = {
      'GetItem': () => database.getItem(input('GetItem') as never),
      'GetItem consistent': () => database.getItem(input('GetItem consistent') as never),
      'PutItem': (i) => database.putItem(input('PutItem', i) as never),
      'Query': () => database.query(input('Query') as never),
    };
    for (const operation of args.operations === undefined ? OPERATIONS : args.operations.split(',').map((name) => name.trim())) {
      if (!OPERATIONS.includes(operation)) throw new Error(`--operations: unknown ${operation}`);
      const variants: Array<{ name: string; run: () => Promise<Measured> }> = [
        { name: 'typed', run: () => drive(typed[operation]!, args.duration, storage) },
        { name: 'handler, constant', run: () => drive(handlerCall(handlers.constant, operation), args.duration, storage) },
        { name: 'handler, database', run: () => drive(handlerCall(handlers.database, operation), args.duration, storage) },
        { name: 'serve, constant', run: () => load(constantServer.url, operation, storage) },
        { name: 'serve, database', run: () => load(databaseServer.url, operation, storage) },
      ];
      const runs = new Map<string, Measured[]>(variants.map((v) => [v.name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const variant of variants) {
          const run = await variant.run();
          runs.get(variant.name)!.push(run);
          console.log(`${operation} ${variant.name} round ${round + 1}: ${run.perSecond.toFixed(0)}/s, ${format(run.cpu)}`);
        }
      }
      const cpu = (name: string, part: keyof CpuSplit): number => median(runs.get(name)!.map((m) => m.cpu[part]));
      for (const { name } of variants) {
        const measured = runs.get(name)!;
        report.figures.push({
          name: `${operation} ${name}: ${cpu(name, 'total').toFixed(0)} us CPU/request (main ${cpu(name, 'main').toFixed(0)}, storage threads ${cpu(name, 'storage').toFixed(0)}, other ${cpu(name, 'other').toFixed(0)})`,
          op: `one ${operation}`, medianOpsPerSecond: median(measured.map((m) => m.perSecond)),
          runs: measured.map((m) => ({ ops: Math.round(m.perSecond * args.duration), seconds: args.duration, opsPerSecond: m.perSecond })),
        });
      }
      report.notes.push(`${operation}: the Database behind the wire protocol costs ${(cpu('handler, database', 'total') - cpu('handler, constant', 'total')).toFixed(0)} us in process ` +
        `and ${(cpu('serve, database', 'total') - cpu('serve, constant', 'total')).toFixed(0)} us behind serve (main thread: ${(cpu('serve, database', 'main') - cpu('serve, constant', 'main')).toFixed(0)} us); the typed call alone ${cpu('typed', 'total').toFixed(0)} us.`);
    }
    report.notes.push('constant: a dispatcher answering one fixed GetItem response; the HTTP and protocol work is the same as the database\'s.');
  } finally {
    for (const server of servers) await server.close();
    await database.close();
    rmSync(path, { recursive: true, force: true });
  }
  finishReport(report, args.json);
}

await main();
