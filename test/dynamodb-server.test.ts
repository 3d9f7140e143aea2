/**
 * serve(): what only the HTTP transport does. The health answer, 413 for
 * bodies over DynamoDB's limit, keep-alive, the refusal to bind beyond
 * loopback without credentials, credentials from the environment, and a
 * graceful close that still answers requests in flight.
 */
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { isLoopback, serve, ACCESS_KEY_ID_ENV, SECRET_ACCESS_KEY_ENV } from '../lib/server/serve.js';
import { ScriptedDispatcher, rawHttp } from './helpers/dynamodb-transports.js';

const AUTH = {
  authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
  'x-amz-date': '20261206T030000Z',
};
const GET_ITEM = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', ...AUTH };
const GET_BODY = JSON.stringify({ TableName: 'table', Key: { k: { S: 'a' } } });

t.test('GET / answers as DynamoDB does', async (t) => {
  const server = await serve({ dispatcher: new ScriptedDispatcher(), port: 0, env: {} });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(server.verifiesSignatures, false);
  const health = await rawHttp(server, { method: 'GET' });
  t.equal(health.statusCode, 200);
  t.equal(health.body.toString(), 'healthy: dynamodb.us-east-1.amazonaws.com ');
  t.equal(health.headers['x-amz-crc32'], '3128867991');
  t.equal(health.headers['content-length'], '42');
  t.match(health.headers['x-amzn-requestid'], /^[0-9A-Z]{52}$/);
});

t.test('413 for a body over 16 MB, declared or streamed; the server stays up', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  const server = await serve({ dispatcher, port: 0, env: {} });
  t.teardown(() => server.close());
  const declared = await rawHttp(server, { headers: GET_ITEM, body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x61) }).catch((e: Error) => e);
  t.ok(!(declared instanceof Error), 'the client reads the answer');
  if (!(declared instanceof Error)) {
    t.equal(declared.statusCode, 413);
    t.equal(declared.headers['transfer-encoding'], 'chunked');
  }
  // Streamed in chunks without a Content-Length: the limit holds all the same.
  const streamed = await new Promise<number>((resolve, reject) => {
    let answered = false;
    const req = http.request(`${server.url}/`, { method: 'POST', headers: GET_ITEM, agent: false }, (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server stops reading after its answer; a write error after that is expected.
    req.on('error', (error) => { if (!answered) reject(error); });
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < 17) {
        sent++;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
  t.equal(streamed, 413);
  const after = await rawHttp(server, { headers: GET_ITEM, body: GET_BODY });
  t.equal(after.statusCode, 200, 'the server answers after a rejected upload');
  t.equal(dispatcher.calls.length, 1, 'only the good request was dispatched');
});

t.test('keep-alive: one connection serves many requests', async (t) => {
  const server = await serve({ dispatcher: new ScriptedDispatcher(), port: 0, env: {} });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(async () => { agent.destroy(); await server.close(); });
  const sockets = new Set<net.Socket>();
  agent.on('free', (socket: net.Socket) => sockets.add(socket));
  for (let i = 0; i < 5; i++) {
    const answer = await rawHttp(server, { headers: GET_ITEM, body: GET_BODY }, agent);
    t.equal(answer.statusCode, 200);
    t.equal(answer.headers['x-amz-crc32'], String(crc32(answer.body)));
  }
  t.equal(sockets.size, 1, 'the same socket was reused');
});

t.test('binding beyond loopback needs credentials', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
    await t.rejects(serve({ dispatcher: new ScriptedDispatcher(), port: 0, host, env: {} }), {
      name: 'RingtableError', code: ErrorCode.INVALID_OPTIONS, message: /refusing to bind .* without credentials/,
    }, host);
  }
  await t.rejects(serve({ dispatcher: new ScriptedDispatcher(), port: 0, env: { [ACCESS_KEY_ID_ENV]: 'AKID' } }), RingtableError,
    'half the credentials is an error');
  await t.rejects(serve({ port: 0, env: {} }), { code: ErrorCode.INVALID_OPTIONS }, 'no database');
  t.ok(isLoopback('127.0.0.1') && isLoopback('127.1.2.3') && isLoopback('localhost') && isLoopback('::1'));
  t.notOk(isLoopback('0.0.0.0') || isLoopback('::') || isLoopback('10.0.0.1') || isLoopback('127.0.0.1.example.com'));
});

t.test('credentials from the environment turn on signature verification', async (t) => {
  const server = await serve({ dispatcher: new ScriptedDispatcher(), port: 0,
    env: { [ACCESS_KEY_ID_ENV]: 'AKIDENV', [SECRET_ACCESS_KEY_ENV]: 'env-secret' } });
  t.teardown(() => server.close());
  t.equal(server.verifiesSignatures, true);
  const answer = await rawHttp(server, { headers: GET_ITEM, body: GET_BODY });
  t.equal(answer.statusCode, 400);
  t.equal(JSON.parse(answer.body.toString()).__type, 'com.amazon.coral.service#UnrecognizedClientException');
});

t.test('close() answers requests in flight, then stops', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => { arrived = resolve; });
  dispatcher.answer = async () => { arrived(); await released; return { Item: { k: { S: 'a' } } }; };
  const server = await serve({ dispatcher, port: 0, env: {} });
  const inFlight = rawHttp(server, { headers: GET_ITEM, body: GET_BODY });
  await arrival;
  const closed = server.close();
  t.equal(server.close(), closed, 'close() is idempotent');
  release();
  const answer = await inFlight;
  t.equal(answer.statusCode, 200);
  t.equal(answer.headers['connection'], 'close');
  t.same(JSON.parse(answer.body.toString()), { Item: { k: { S: 'a' } } });
  await closed;
  await t.rejects(rawHttp(server, { headers: GET_ITEM, body: GET_BODY }), { code: 'ECONNREFUSED' });
});

t.test('a bound on request bytes held at once: 503 ServiceUnavailable past it, then recovery', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  const server = await serve({ dispatcher, port: 0, env: {}, bufferedBytesMax: 4096 });
  t.teardown(() => server.close());
  const big = JSON.stringify({ TableName: 'table', Key: { k: { S: 'x'.repeat(8000) } } });
  const busy = await rawHttp(server, { headers: GET_ITEM, body: big });
  t.equal(busy.statusCode, 503);
  t.same(JSON.parse(busy.body.toString()), {
    __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable', message: 'DynamoDB is currently unavailable. (This should be a temporary state.)' });
  t.equal(dispatcher.calls.length, 0);
  for (let i = 0; i < 3; i++) {
    const answer = await rawHttp(server, { headers: GET_ITEM, body: GET_BODY });
    t.equal(answer.statusCode, 200, 'the budget is released after each request');
  }
});

t.test('IPv6 loopback: bound without credentials, URL in brackets', async (t) => {
  const server = await serve({ dispatcher: new ScriptedDispatcher(), port: 0, host: '::1', env: {} });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/\[::1\]:\d+$/);
  const health = await rawHttp(server, { method: 'GET' });
  t.equal(health.statusCode, 200);
});
