/**
 * The AWS SDK v3 through ringtable (issue 12 §4): GetItem of one ~200-byte
 * item with DynamoDBClient, at concurrency 1 and 64, interleaved:
 *   - floor: the SDK against a request handler that answers a constant,
 *     valid GetItem response (what the SDK alone costs: serialise, sign,
 *     middleware, parse);
 *   - in-process: the SDK against `db.requestHandler` (no socket);
 *   - http: the SDK against `ringtable serve` in a child process, over its
 *     default NodeHttpHandler with a keep-alive agent of 64 sockets;
 *   - typed: `db.getItem()` itself, no SDK, for comparison;
 *   - and the floor and in-process again "tuned": `cacheMiddleware: true`
 *     and no request signing (the SDK's smithy.api#noAuth scheme, answered by
 *     `createRequestHandler({ dispatcher: db, acceptUnsigned: true })`), the
 *     two SDK options that cut its cost most (README, "Use it with the AWS SDK").
 *
 *   npm run bench:sdk
 *   node dist/bench/dynamodb-sdk.bench.js --duration 3 --rounds 3
 *
 * Targets: in-process >= 2x http, and in-process within 1.3x of the floor
 * (in-process / floor >= 1/1.3 = 0.77), at both concurrencies.
 * CPU is this process's (user + system, all its threads) per call; for http
 * the server's CPU is in the child and not counted. On a loaded machine
 * calls per second swing between rounds; CPU per call holds steadier, so the
 * floor and in-process are also compared by it, and ringtable's own share of
 * a call is the in-process CPU less the floor's (handler, Database and the
 * storage threads' work together).
 */
import { Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { createRequestHandler, Database } from '../lib/index.js';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { startChild, type ChildServer } from './dynamodb/child-server.js';
import { BENCH_CREDENTIALS, BENCH_REGION, send } from './dynamodb/signed-request.js';
import { median, settle, type Run } from './lib/measure.js';
import { int, parseOptions } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';

const args = parseOptions('node dist/bench/dynamodb-sdk.bench.js', 'GetItem through the AWS SDK v3: its floor, the in-process handler, HTTP to ringtable serve, and the typed Database.getItem.', {
  duration: int(2, 'seconds per run'),
  warmup: int(1, 'seconds of warm-up per variant and concurrency before its first run'),
  rounds: int(5, 'interleaved rounds'),
  nodes: int(3, 'storage-node threads of each database'),
});

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const TABLE = 'bench';
const KEY = { pk: { S: 'user#0042' } };
const ITEM = {
  ...KEY, name: { S: 'Ada Lovelace' }, email: { S: 'ada@example.com' }, visits: { N: '1815' },
  roles: { SS: ['admin', 'author'] }, address: { M: { city: { S: 'London' }, street: { S: 'St James Square 12' }, zip: { S: 'SW1Y 4JH' } } },
};
const TABLE_INPUT = {
  TableName: TABLE, BillingMode: 'PAY_PER_REQUEST' as const,
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
};

/** The constant answer of the floor handler: DynamoDB's exact GetItem response for ITEM. */
function constantHandler() {
  const body = Buffer.from(JSON.stringify({ Item: ITEM }));
  const headers = {
    'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.byteLength),
    'x-amz-crc32': String(crc32(body)), 'x-amzn-requestid': 'RINGTABLEBENCHFLOOR0000000000000000000000000000000000',
  };
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    handle: async () => ({ response: { statusCode: 200, headers, body } }),
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

interface Measured extends Run {
  cpuMicrosPerOp: number;
}

/** `concurrency` loops calling `call` until `seconds` pass; every answer is checked. */
async function drive(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Measured> {
  let ops = 0;
  const deadline = performance.now() + seconds * 1000;
  const cpuStart = process.cpuUsage();
  const startMs = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const answer = await call();
      if (answer === undefined) throw new Error('no item');
      ops += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { ops, seconds: elapsed, opsPerSecond: ops / elapsed, cpuMicrosPerOp: (cpu.user + cpu.system) / ops };
}

/**
 * Client options that skip request signing: the smithy.api#noAuth scheme
 * with a signer that leaves the request as it is (what @smithy/core's
 * NoAuthSigner does, written out so that no SDK-internal package is imported).
 * For the in-process handler, where nothing crosses a trust boundary.
 */
const NO_SIGNING: Partial<DynamoDBClientConfig> = {
  httpAuthSchemes: [{ schemeId: 'smithy.api#noAuth', identityProvider: () => async () => ({}), signer: { sign: async (request) => request } }],
  httpAuthSchemeProvider: () => [{ schemeId: 'smithy.api#noAuth' }],
};
const TUNED: Partial<DynamoDBClientConfig> = { cacheMiddleware: true, ...NO_SIGNING };

function sdkCall(client: DynamoDBClient): () => Promise<unknown> {
  const command = new GetItemCommand({ TableName: TABLE, Key: KEY });
  return async () => (await client.send(command)).Item;
}

async function main(): Promise<void> {
  const report: Report = {
    benchmark: 'dynamodb-sdk', command: commandLine('dynamodb-sdk.bench.js'),
    measured: 'GetItem calls per second (one ~200-byte item), CPU of this process per call',
    environment: environment(),
    config: { duration: args.duration, warmup: args.warmup, rounds: args.rounds, nodes: args.nodes, durability: 'none', signing: 'SigV4 (static credentials)' },
    phases: {}, figures: [], ratios: [], notes: [],
  };
  report.environment.packages['@aws-sdk/client-dynamodb'] = require('@aws-sdk/client-dynamodb/package.json').version as string;
  const inProcessPath = mkdtempSync(join(tmpdir(), 'ringtable-bench-sdk-'));
  const servePath = mkdtempSync(join(tmpdir(), 'ringtable-bench-sdk-serve-'));
  const database = await Database.open({ path: inProcessPath, nodes: args.nodes, durability: 'none', antiEntropyIntervalMs: 0 });
  let server: ChildServer | undefined;
  const clients: DynamoDBClient[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    server = await startChild(join(here, '..', 'lib', 'cli', 'ringtable.js'),
      ['serve', '--port', '0', '--path', servePath, '--nodes', String(args.nodes), '--durability', 'none'], /at (http:\/\/127\.0\.0\.1:\d+)/, (url) => url);
    await database.createTable(TABLE_INPUT);
    await database.putItem({ TableName: TABLE, Item: ITEM });
    await send(server.url, 'CreateTable', TABLE_INPUT);
    await send(server.url, 'PutItem', { TableName: TABLE, Item: ITEM });

    const client = (config: Partial<DynamoDBClientConfig>): DynamoDBClient => {
      const made = new DynamoDBClient({ region: BENCH_REGION, credentials: BENCH_CREDENTIALS, ...config });
      clients.push(made);
      return made;
    };
    const variants: Array<{ name: string; call: () => Promise<unknown> }> = [
      { name: 'floor', call: sdkCall(client({ requestHandler: constantHandler() })) },
      { name: 'in-process', call: sdkCall(client({ requestHandler: database.requestHandler })) },
      { name: 'http', call: sdkCall(client({ endpoint: server.url, requestHandler: { httpAgent: agent } })) },
      { name: 'typed Database.getItem', call: async () => (await database.getItem({ TableName: TABLE, Key: KEY })).Item },
      { name: 'floor, tuned', call: sdkCall(client({ requestHandler: constantHandler(), ...TUNED })) },
      // db.requestHandler answers an unsigned request as DynamoDB does (MissingAuthenticationToken): this one accepts it.
      { name: 'in-process, tuned', call: sdkCall(client({ requestHandler: createRequestHandler({ dispatcher: database, acceptUnsigned: true }), ...TUNED })) },
    ];
    for (const concurrency of [1, 64]) {
      for (const variant of variants) await drive(variant.call, concurrency, args.warmup);
      const runs = new Map<string, Measured[]>(variants.map((v) => [v.name, []]));
      for (let round = 0; round < args.rounds; round++) {
        for (const variant of variants) {
          await settle();
          const run = await drive(variant.call, concurrency, args.duration);
          runs.get(variant.name)!.push(run);
          console.log(`c=${concurrency} ${variant.name} round ${round + 1}: ${run.opsPerSecond.toFixed(0)} calls/s, ${run.cpuMicrosPerOp.toFixed(0)} us CPU/call`);
        }
      }
      const medians = new Map<string, number>();
      const cpuMedians = new Map<string, number>();
      for (const [name, measured] of runs) {
        const cpu = median(measured.map((m) => m.cpuMicrosPerOp));
        report.figures.push(figure(`c=${concurrency} ${name} (${cpu.toFixed(0)} us CPU/call)`, `one GetItem, ${concurrency} in flight`, measured));
        medians.set(name, median(measured.map((m) => m.opsPerSecond)));
        cpuMedians.set(name, cpu);
      }
      const ratio = (a: string, b: string): number => medians.get(a)! / medians.get(b)!;
      const cpuRatio = (a: string, b: string): number => cpuMedians.get(b)! / cpuMedians.get(a)!;
      report.ratios.push({ name: `c=${concurrency} in-process / http`, value: ratio('in-process', 'http'), target: 2 });
      report.ratios.push({ name: `c=${concurrency} in-process / floor (target: within 1.3x)`, value: ratio('in-process', 'floor'), target: 0.77 });
      report.ratios.push({ name: `c=${concurrency} in-process / floor by CPU per call (floor's CPU / in-process's)`, value: cpuRatio('in-process', 'floor'), target: 0.77 });
      report.ratios.push({ name: `c=${concurrency} in-process, tuned / floor, tuned by CPU per call`, value: cpuRatio('in-process, tuned', 'floor, tuned'), target: 0.77 });
      report.ratios.push({ name: `c=${concurrency} in-process, tuned / in-process`, value: ratio('in-process, tuned', 'in-process') });
      report.ratios.push({ name: `c=${concurrency} typed / in-process`, value: ratio('typed Database.getItem', 'in-process') });
      report.ratios.push({ name: `c=${concurrency} typed / in-process, tuned`, value: ratio('typed Database.getItem', 'in-process, tuned') });
      report.notes.push(`c=${concurrency}: ringtable's share of an SDK call (in-process CPU less the floor's): ` +
        `${(cpuMedians.get('in-process')! - cpuMedians.get('floor')!).toFixed(0)} us; tuned: ` +
        `${(cpuMedians.get('in-process, tuned')! - cpuMedians.get('floor, tuned')!).toFixed(0)} us; ` +
        `the typed Database.getItem alone: ${cpuMedians.get('typed Database.getItem')!.toFixed(0)} us.`);
    }
    report.notes.push('tuned: cacheMiddleware: true and no signing (the smithy.api#noAuth scheme); the floor, tuned is the SDK alone with both.');
    report.notes.push('http: NodeHttpHandler (the SDK default) with a keep-alive agent of 64 sockets; the server is `ringtable serve` in a child process.');
  } finally {
    for (const made of clients) made.destroy();
    agent.destroy();
    await server?.stop();
    await database.close();
    rmSync(inProcessPath, { recursive: true, force: true });
    rmSync(servePath, { recursive: true, force: true });
  }
  finishReport(report, args.json);
}

await main();
