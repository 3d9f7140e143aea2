/**
 * What an in-process GetItem costs, step by step (issue 12 §4): each step of
 * the wire protocol alone (body decode and JSON.parse, the Authorization
 * presence check, the shape check, the answer's JSON and bytes, CRC32, the
 * request id), the protocol and the in-process handler against a constant
 * dispatcher, the engine's read, the typed db.getItem, and the handler
 * against the Database. One call in flight, a tight loop, no SDK; CPU of the
 * whole process per call (process.cpuUsage), steps interleaved by round.
 *
 *   node dist/bench/dynamodb-get-steps.bench.js --rounds 5
 *
 * The handler's share of an SDK call is the last row; what the SDK itself
 * costs is bench/dynamodb-sdk.bench.ts's floor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequestHandler, Database } from '../lib/index.js';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { encodeJsonBody } from '../lib/dynamodb/json-body.js';
import { answerRequest } from '../lib/dynamodb/protocol.js';
import { newRequestId } from '../lib/dynamodb/request-id.js';
import { readRequest } from '../lib/dynamodb/serialization.js';
import { readSignature } from '../lib/dynamodb/signature-v4.js';
import type { WireRequest } from '../lib/dynamodb/wire-message.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import type { TableEngine } from '../lib/tables/table-engine.js';
import { signedRequest } from './dynamodb/signed-request.js';
import { median } from './lib/measure.js';
import { int, parseOptions } from './lib/options.js';
import { type Report, commandLine, environment, finishReport } from './lib/report.js';

const args = parseOptions('node dist/bench/dynamodb-get-steps.bench.js', 'An in-process GetItem step by step: CPU per call of each wire-protocol step, the engine read, the typed call and the handler.', {
  rounds: int(5, 'interleaved rounds'),
  calls: int(20_000, 'calls per step and round'),
  nodes: int(3, 'storage-node threads'),
});

const TABLE = 'bench';
const KEY = { pk: { S: 'user#0042' } };
const ITEM = {
  ...KEY, name: { S: 'Ada Lovelace' }, email: { S: 'ada@example.com' }, visits: { N: '1815' },
  roles: { SS: ['admin', 'author'] }, address: { M: { city: { S: 'London' }, street: { S: 'St James Square 12' }, zip: { S: 'SW1Y 4JH' } } },
};

/** CPU microseconds per call of `call`, awaited one at a time. */
async function cpuPerCall(call: () => unknown, calls: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) await call();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

async function main(): Promise<void> {
  const report: Report = {
    benchmark: 'dynamodb-get-steps', command: commandLine('dynamodb-get-steps.bench.js'),
    measured: 'CPU of this process (all threads) per call, one call in flight, median of interleaved rounds',
    environment: environment(), config: { rounds: args.rounds, calls: args.calls, nodes: args.nodes, durability: 'none' },
    phases: {}, figures: [], ratios: [], notes: [],
  };
  const path = mkdtempSync(join(tmpdir(), 'ringtable-bench-get-steps-'));
  const db = await Database.open({ path, nodes: args.nodes, durability: 'none' });
  try {
    await db.createTable({
      TableName: TABLE, BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    });
    await db.putItem({ TableName: TABLE, Item: ITEM });
    const input = { TableName: TABLE, Key: KEY };
    const signed = signedRequest('localhost', 'GetItem', input, Date.now());
    const body = Buffer.from(signed.body);
    // What the SDK sends beside the signed headers.
    const headers = { ...signed.headers, 'user-agent': 'aws-sdk-js/3', 'amz-sdk-invocation-id': 'bench', 'amz-sdk-request': 'attempt=1; max=3', 'content-length': String(body.byteLength) };
    const sdkRequest = { method: 'POST', path: '/', query: {}, headers, body: new Uint8Array(body) };
    const wire: WireRequest = { method: 'POST', path: '/', query: '', headers, body };
    const output = await db.getItem(input) as unknown as Record<string, unknown>;
    const constant = { dispatch: async () => output };
    const handlerOfConstant = createRequestHandler({ dispatcher: constant });
    const handlerOfDatabase = createRequestHandler({ dispatcher: db });
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    // The engine below the tables layer: private to Database, reached here only to split the typed call.
    const internals = db as unknown as { engine: TableEngine; activeTable(name: string): { id: number } };
    const engineKey = encodeItemKey(internals.activeTable(TABLE).id, KEY.pk).key;
    const steps: Array<[string, () => unknown]> = [
      ['decode + JSON.parse the body', () => JSON.parse(utf8.decode(body))],
      ['Authorization presence check (readSignature)', () => readSignature(wire)],
      ['shape check (readRequest)', () => readRequest('GetItem', parsed)],
      ['the answer\'s JSON and bytes (encodeJsonBody)', () => encodeJsonBody(output)],
      ['CRC32 of a body', () => crc32(body)],
      ['request id', () => newRequestId()],
      ['protocol (answerRequest), constant dispatcher', () => answerRequest(wire, { dispatcher: constant, requestId: 'X', nowMs: Date.now() })],
      ['in-process handler, constant dispatcher', () => handlerOfConstant.handle(sdkRequest)],
      ['engine read (getOrdered, eventual)', () => internals.engine.getOrdered(engineKey, { consistent: false })],
      ['typed db.getItem', () => db.getItem(input)],
      ['in-process handler, Database', () => handlerOfDatabase.handle(sdkRequest)],
    ];
    for (const [, call] of steps) await cpuPerCall(call, Math.max(1, args.calls >> 2));
    const perStep = new Map<string, number[]>(steps.map(([name]) => [name, []]));
    for (let round = 0; round < args.rounds; round++) {
      for (const [name, call] of steps) perStep.get(name)!.push(await cpuPerCall(call, args.calls));
    }
    for (const [name, values] of perStep) {
      const us = median(values);
      console.log(`${name.padEnd(48)} ${us.toFixed(2)} us CPU/call`);
      report.notes.push(`${name}: ${us.toFixed(2)} us CPU per call (rounds: ${values.map((v) => v.toFixed(2)).join(', ')})`);
    }
  } finally {
    await db.close();
    rmSync(path, { recursive: true, force: true });
  }
  finishReport(report, args.json);
}

await main();
