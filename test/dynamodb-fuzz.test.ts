/**
 * Fuzzes serve() on 127.0.0.1 with random and mutated requests: wrong JSON
 * types, truncation, invalid UTF-8, deep nesting, huge strings, missing or
 * wrong headers, other methods, random bytes, oversized bodies, malformed
 * HTTP, and concurrent requests on a closing server. Bounded in count and
 * time, loopback only. The server must never crash or hang, every answer
 * must be one of DynamoDB's, and no rejected request may reach the
 * dispatcher. Replay a failure with FUZZ_SEED=<seed printed>.
 */
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { Prng } from '../lib/prng.js';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { serve, type DynamoDbServer } from '../lib/server/serve.js';
import { ScriptedDispatcher, type RawRequest, type RawResponse } from './helpers/dynamodb-transports.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261206);
const REQUEST_COUNT = 500;
const TIME_BUDGET_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;
const CONCURRENCY = 8;
const ERROR_TYPE = /^com\.amazon(aws\.dynamodb\.v20120810|\.coral\.service|\.coral\.validate)#[A-Za-z]+$/;

const AUTH = {
  authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
  'x-amz-date': '20261206T030000Z',
};
const CORPUS: Array<[string, unknown]> = [
  ['GetItem', { TableName: 'table', Key: { pk: { S: 'a' }, sk: { B: 'AQL/' } }, ConsistentRead: true }],
  ['PutItem', { TableName: 'table', Item: { pk: { S: 'a' }, n: { N: '1.5' }, l: { L: [{ BS: ['AA=='] }, { M: { x: { NULL: true } } }] } },
    ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeNames: { '#a': 'a' } }],
  ['Query', { TableName: 'table', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } }, Limit: 10 }],
  ['BatchWriteItem', { RequestItems: { table: [{ PutRequest: { Item: { pk: { S: 'a' } } } }, { DeleteRequest: { Key: { pk: { S: 'b' } } } }] } }],
  ['TransactWriteItems', { TransactItems: [{ Update: { TableName: 'table', Key: { pk: { S: 'a' } }, UpdateExpression: 'SET a = :a' } }] }],
  ['CreateTable', { TableName: 'table', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }],
  ['ListTables', { Limit: 3 }],
];

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.nextBelow(items.length)]!;
}

function randomJson(prng: Prng, depth = 0): unknown {
  switch (prng.nextBelow(depth > 3 ? 6 : 8)) {
    case 0: return 'x'.repeat(prng.nextBelow(5));
    case 1: return prng.nextBelow(2 ** 31) - 2 ** 30;
    case 2: return prng.nextBelow(1000) / 7;
    case 3: return prng.nextBelow(2) === 0;
    case 4: return null;
    case 5: return '=+/' + 'A'.repeat(prng.nextBelow(6));
    case 6: return Array.from({ length: prng.nextBelow(3) }, () => randomJson(prng, depth + 1));
    default: return Object.fromEntries(Array.from({ length: prng.nextBelow(3) }, (_, i) => [pick(prng, ['S', 'N', 'B', 'L', 'M', 'TableName', 'Key']) + (i ? i : ''), randomJson(prng, depth + 1)]));
  }
}

/** Replaces one node of the JSON tree, chosen at random, with a random value. */
function swapType(prng: Prng, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || prng.nextBelow(4) === 0) return randomJson(prng);
  if (Array.isArray(value)) {
    if (value.length === 0) return randomJson(prng);
    const copy = [...value];
    const i = prng.nextBelow(copy.length);
    copy[i] = swapType(prng, copy[i]);
    return copy;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return randomJson(prng);
  const i = prng.nextBelow(entries.length);
  entries[i] = [entries[i]![0], swapType(prng, entries[i]![1])];
  return Object.fromEntries(entries);
}

function nested(depth: number): string {
  return '{"TableName":"table","Item":{"a":' + '{"L":['.repeat(depth) + '{"S":"x"}' + ']}'.repeat(depth) + '}}';
}

function mutate(prng: Prng): RawRequest {
  const [operation, body] = pick(prng, CORPUS);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}`, ...AUTH,
  };
  let text: string | Buffer = JSON.stringify(body);
  let method = 'POST';
  switch (prng.nextBelow(14)) {
    case 0: case 1: case 2: text = JSON.stringify(swapType(prng, body)); break;
    case 3: text = text.slice(0, prng.nextBelow(text.length)); break;
    case 4: {
      const bytes = Buffer.from(text);
      const at = prng.nextBelow(bytes.length);
      text = Buffer.concat([bytes.subarray(0, at), Buffer.from([pick(prng, [0xff, 0xc0, 0xed, 0x80])]), bytes.subarray(at)]);
      break;
    }
    case 5: text = nested(pick(prng, [10, 40, 300, 20_000])); headers['x-amz-target'] = 'DynamoDB_20120810.PutItem'; break;
    case 6: text = pick(prng, ['['.repeat(200_000), '{"a":'.repeat(100_000), '[]', '"x"', '1', 'null', '']); break;
    case 7: text = JSON.stringify({ TableName: 'x'.repeat(pick(prng, [1000, 2_000_000])), Key: { k: { S: 'y'.repeat(100_000) } } }); break;
    case 8: delete headers[pick(prng, ['content-type', 'x-amz-target', 'authorization', 'x-amz-date'])]; break;
    case 9: headers['x-amz-target'] = pick(prng, ['DynamoDB_20120810.', 'DynamoDB_20120810.Nope', '..', 'DynamoDB_20111205.GetItem', '\u00e9']); break;
    case 10: headers['content-type'] = pick(prng, ['text/plain', 'application/x-amz-json-1.1', '', 'application/json; charset=utf-8']); break;
    case 11: method = pick(prng, ['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']); if (prng.nextBelow(2)) headers['origin'] = 'http://x'; break;
    case 12: text = Buffer.from(prng.fill(new Uint8Array(prng.nextBelow(4096)))); break;
    default: headers['authorization'] = pick(prng, ['AWS4-', 'AWS4', 'Bearer x', 'AWS4-HMAC-SHA256 Credential=a', '']); break;
  }
  return { method, headers, body: text };
}

function send(server: DynamoDbServer, request: RawRequest, agent: http.Agent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Framed explicitly: node:http sends a GET or DELETE body without Content-Length otherwise.
    const headers = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = http.request(`${server.url}/`, { method: request.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers[name] = value;
        resolve({ statusCode: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: the server hangs`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Whether the answer is one DynamoDB gives; returns what is wrong, or undefined. */
function problemWith(request: RawRequest, response: RawResponse): string | undefined {
  const { statusCode, headers, body } = response;
  if (statusCode === 413) return undefined;
  if (!/^[0-9A-Z]{52}$/.test(headers['x-amzn-requestid'] ?? '')) return 'no request id';
  if (statusCode === 404) return body.toString() === '<UnknownOperationException/>\n' ? undefined : 'bad 404 body';
  if (statusCode === 200) {
    if (request.method === 'OPTIONS') return body.length === 0 ? undefined : 'preflight with a body';
    if (request.method === 'GET') return body.toString() === 'healthy: dynamodb.us-east-1.amazonaws.com ' ? undefined : 'bad health';
  }
  if (headers['x-amz-crc32'] !== String(crc32(body))) return 'wrong x-amz-crc32';
  if (headers['content-length'] !== String(body.length)) return 'wrong content-length';
  let parsed: { __type?: string };
  try {
    parsed = JSON.parse(body.toString());
  } catch {
    return 'body is not JSON';
  }
  if (statusCode === 200) return parsed.__type === undefined ? undefined : 'a 200 with an error type';
  if (statusCode !== 400) return `status ${statusCode}`;
  return ERROR_TYPE.test(parsed.__type ?? '') ? undefined : `bad __type ${parsed.__type}`;
}

t.test(`random and mutated requests (seed ${SEED})`, async (t) => {
  const dispatcher = new ScriptedDispatcher();
  const server = await serve({ dispatcher, port: 0, env: {} });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(async () => { agent.destroy(); await server.close(); });
  const prng = new Prng(SEED);
  const requests = Array.from({ length: REQUEST_COUNT }, () => mutate(prng));
  requests.push({ method: 'POST', headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem', ...AUTH }, body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20) });
  const deadline = Date.now() + TIME_BUDGET_MS;
  const problems: string[] = [];
  let dispatchedAnswers = 0;
  let sent = 0;
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length && Date.now() < deadline) {
      const request = requests[next++]!;
      sent++;
      const response = await send(server, request, agent);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      const problem = problemWith(request, response);
      if (problem !== undefined) problems.push(`${problem}: ${request.method} ${JSON.stringify(request.headers)} -> ${response.statusCode} ${response.body.toString().slice(0, 200)}`);
      if (response.statusCode === 200 && request.method === 'POST') dispatchedAnswers++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  t.same(problems, [], `every answer is DynamoDB's (seed ${SEED})`);
  t.ok(sent >= 100, `${sent} requests sent`);
  t.comment(`answers by status: ${JSON.stringify([...statuses].sort())}`);
  for (const status of [200, 400, 404, 413]) t.ok(statuses.has(status), `the requests drew ${status} answers`);
  t.equal(dispatcher.calls.length, dispatchedAnswers, 'only accepted requests reached the dispatcher');
  const healthy = await send(server, { method: 'GET' }, agent);
  t.equal(healthy.statusCode, 200, 'the server is still up');
});

t.test('malformed HTTP is answered and the server stays up', async (t) => {
  const server = await serve({ dispatcher: new ScriptedDispatcher(), port: 0, env: {} });
  t.teardown(() => server.close());
  const rawExchange = (bytes: string) => new Promise<string>((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('the server hangs')));
    socket.on('data', (chunk) => { answer += chunk.toString('latin1'); });
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.end(bytes);
  });
  t.match(await rawExchange('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 /);
  t.match(await rawExchange(`POST / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  t.match(await rawExchange('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 400 /);
  const agent = new http.Agent();
  const health = await send(server, { method: 'GET' }, agent);
  t.equal(health.statusCode, 200);
});

t.test('concurrent requests on a closing server', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  dispatcher.answer = async () => { await new Promise((resolve) => setTimeout(resolve, 5)); return {}; };
  const server = await serve({ dispatcher, port: 0, env: {}, closeTimeoutMs: 2000 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  t.teardown(() => agent.destroy());
  const prng = new Prng(SEED + 1);
  const outcomes = Array.from({ length: 64 }, (_, i) => {
    const request = i % 2 === 0
      ? { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables', ...AUTH }, body: '{}' }
      : mutate(prng);
    return send(server, request, agent).then((response) => ({ request, response }), (error: NodeJS.ErrnoException) => ({ request, error }));
  });
  // Close once requests are in flight (at least one dispatched), not after a fixed delay: on a loaded machine
  // 10 ms could pass before any connection was accepted, and then nothing was answered before the close.
  for (let waitedMs = 0; dispatcher.calls.length === 0 && waitedMs < 5000; waitedMs += 1) await new Promise((resolve) => setTimeout(resolve, 1));
  const closed = server.close();
  const timer = new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 20_000).unref());
  const settled = await Promise.race([Promise.all(outcomes), timer]);
  t.not(settled, 'hang', 'every request settles');
  t.not(await Promise.race([closed.then(() => 'closed'), timer]), 'hang', 'close() resolves');
  if (settled === 'hang') return;
  let answered = 0;
  for (const outcome of settled) {
    if ('response' in outcome) {
      answered++;
      t.equal(problemWith(outcome.request, outcome.response), undefined);
    } else {
      t.match(outcome.error.code ?? outcome.error.message, /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up/, 'refused, not hung');
    }
  }
  t.ok(answered > 0, `${answered} of 64 answered before the close`);
});
