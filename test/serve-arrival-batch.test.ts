/**
 * serve() answers the requests whose bodies arrived in one turn of the event
 * loop together (lib/server/serve.ts, HttpEndpoint.arrive). Whatever the
 * batches, every request gets its own answer, more requests than one batch
 * holds are all answered, and a client gone before its batch is answered
 * does not take other answers with it.
 */
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { ARRIVED_PER_TURN_MAX, serve } from '../lib/server/serve.js';
import { ScriptedDispatcher, rawHttp } from './helpers/dynamodb-transports.js';

const AMZ_DATE = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const GET_ITEM = {
  'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', 'x-amz-date': AMZ_DATE,
  authorization: `AWS4-HMAC-SHA256 Credential=AKID/${AMZ_DATE.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
};
const body = (key: string): string => JSON.stringify({ TableName: 'table', Key: { k: { S: key } } });

/** Sends `bodies` as pipelined requests in one write on one socket and reads the answers' bodies, in order. */
function pipelined(url: string, bodies: readonly string[]): Promise<Array<{ statusCode: number; body: string }>> {
  const { hostname, port } = new URL(url);
  const request = bodies.map((text) => `POST / HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
    Object.entries(GET_ITEM).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`).join('');
  return new Promise((resolve, reject) => {
    const answers: Array<{ statusCode: number; body: string }> = [];
    let received = Buffer.alloc(0);
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd < 0) break;
        const head = received.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
        if (received.length < headEnd + 4 + length) break;
        answers.push({ statusCode: Number(head.split(' ')[1]), body: received.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8') });
        received = received.subarray(headEnd + 4 + length);
      }
      if (answers.length === bodies.length) {
        socket.end();
        resolve(answers);
      }
    });
  });
}

t.test('pipelined requests, which end in one turn and are answered as one batch (more than one batch holds): each gets its own answer', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  dispatcher.answer = (_operation, input) => ({ Item: input['Key'] as Record<string, unknown> });
  const server = await serve({ dispatcher, port: 0, env: {} });
  t.teardown(() => server.close());
  const keys = Array.from({ length: ARRIVED_PER_TURN_MAX + 44 }, (_, i) => `key-${i}`);
  const answers = await pipelined(server.url, keys.map(body));
  t.equal(dispatcher.calls.length, keys.length, 'every request reached the dispatcher once');
  t.same(answers.map((answer) => answer.statusCode), keys.map(() => 200));
  t.same(answers.map((answer) => (JSON.parse(answer.body) as { Item: { k: { S: string } } }).Item.k.S), keys,
    'each answer is its own request\'s, in order');
});

t.test('more concurrent requests than one batch holds: each is answered, with its own answer', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  dispatcher.answer = (_operation, input) => ({ Item: input['Key'] as Record<string, unknown> });
  const server = await serve({ dispatcher, port: 0, env: {} });
  t.teardown(() => server.close());
  const count = 2 * ARRIVED_PER_TURN_MAX + 9;
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  t.teardown(() => agent.destroy());
  const keys = Array.from({ length: count }, (_, i) => `key-${i}`);
  const answers = await Promise.all(keys.map((key) => rawHttp(server, { headers: GET_ITEM, body: body(key) }, agent)));
  t.equal(dispatcher.calls.length, count, 'every request reached the dispatcher once');
  let own = 0;
  for (const [i, answer] of answers.entries()) {
    t.equal(answer.statusCode, 200);
    t.equal(answer.headers['x-amz-crc32'], String(crc32(answer.body)));
    const item = (JSON.parse(answer.body.toString()) as { Item: { k: { S: string } } }).Item;
    if (item.k.S === keys[i]) own++;
  }
  t.equal(own, count, 'each answer is its own request\'s');
});

t.test('a client gone before its batch is answered: the others are answered, and the server serves on', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  // The first request holds its answer, so the later ones queue behind nothing but their own batch.
  dispatcher.answer = async (_operation, input) => {
    const key = (input['Key'] as { k: { S: string } }).k.S;
    if (key === 'held') await held;
    return { Item: input['Key'] as Record<string, unknown> };
  };
  const server = await serve({ dispatcher, port: 0, env: {} });
  t.teardown(() => server.close());
  const heldAnswer = rawHttp(server, { headers: GET_ITEM, body: body('held') });
  const gone = new Promise<void>((resolve) => {
    const req = http.request(`${server.url}/`, { method: 'POST', headers: GET_ITEM, agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(body('gone'), () => req.destroy());
  });
  const others = Array.from({ length: 20 }, (_, i) => rawHttp(server, { headers: GET_ITEM, body: body(`other-${i}`) }));
  await gone;
  for (const [i, answer] of (await Promise.all(others)).entries()) {
    t.equal(answer.statusCode, 200);
    t.equal((JSON.parse(answer.body.toString()) as { Item: { k: { S: string } } }).Item.k.S, `other-${i}`);
  }
  release();
  t.equal((await heldAnswer).statusCode, 200, 'the held request is answered once released');
  const after = await rawHttp(server, { headers: GET_ITEM, body: body('after') });
  t.equal(after.statusCode, 200);
});
