/**
 * The inspector's server side without a browser: the routes mounted beside
 * DynamoDB's endpoint by serve() (which still answers the SDK), the page's
 * files and nothing else, the loopback and JSON-only guards, the event
 * stream's snapshot, a close that does not wait for open streams; the
 * snapshot's ring figures against the Store; and the consistent/eventual
 * comparison on an engine whose eventual reads lag (stale, with both
 * replicas and versions).
 */
import * as http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Database, ErrorCode, inspector, serve } from '../lib/index.js';
import { inspectorRoutes, pageDirectoryOf, STREAMS_MAX } from '../lib/server/inspector.js';
import { ringSnapshot, sourcesOf, type InspectorSnapshot } from '../lib/server/inspector-snapshot.js';
import { compareReads } from '../lib/server/inspector-actions.js';
import type { OrderedValue, OrderedWrite } from '../lib/tables/table-engine.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { eventually } from './helpers/temp-store.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
const TABLE = 'orders';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request (node:http keeps the path as written, `..` included). */
function request(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The first snapshot of the event stream, and the stream's end (when the server closes it). */
function firstSnapshot(url: string): Promise<{ snapshot: InspectorSnapshot; ended: Promise<void> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    http.get({ hostname, port, path: '/inspector/events' }, (res) => {
      const ended = new Promise<void>((done) => res.on('close', done));
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const found = /event: snapshot\ndata: (.*)\n\n/.exec(text);
        if (found !== null && text !== '') {
          text = '';
          resolve({ snapshot: JSON.parse(found[1]!) as InspectorSnapshot, ended });
        }
      });
    }).on('error', reject);
  });
}

async function openDatabase(t: Test): Promise<Database> {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-inspector-server-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const db = await Database.open({ path, nodes: 3, antiEntropyIntervalMs: 0 });
  t.teardown(() => db.close());
  await db.createTable({
    TableName: TABLE,
    KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  await db.putItem({ TableName: TABLE, Item: { customer: { S: 'alice' }, total: { N: '3' } } });
  return db;
}

t.test('serve() mounts the inspector beside DynamoDB\'s endpoint', async (t) => {
  const db = await openDatabase(t);
  const server = await serve({ database: db, port: 0, inspector: inspectorRoutes(sourcesOf(db)) });
  let closed = false;
  t.teardown(() => (closed ? undefined : server.close()));

  const client = new DynamoDBClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  t.teardown(() => client.destroy());
  t.same((await client.send(new ListTablesCommand({}))).TableNames, [TABLE], 'DynamoDB\'s POST / still answers the SDK');

  const redirect = await request(server.url, { path: '/inspector' });
  t.equal(redirect.status, 301, '/inspector redirects');
  t.equal(redirect.headers.location, '/inspector/', 'to /inspector/');
  const page = await request(server.url, { path: '/inspector/' });
  t.equal(page.status, 200, 'the page');
  t.match(page.headers['content-type'], /^text\/html/, 'as HTML');
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/, 'under a CSP that allows only this server');
  t.match(page.body, /<script type="module" src="inspector.js">/, 'loading its module');
  const script = await request(server.url, { path: '/inspector/inspector.js' });
  t.equal(script.status, 200, 'its module');
  t.match(script.headers['content-type'], /^text\/javascript/, 'as JavaScript');
  t.equal((await request(server.url, { path: '/inspector/../package.json' })).status, 404, 'no path outside the page\'s files');
  t.equal((await request(server.url, { path: '/inspector/%2e%2e%2fpackage.json' })).status, 404, 'encoded either');
  t.equal((await request(server.url, { path: '/inspector/missing.js' })).status, 404, 'no file that is not there');
  t.equal((await request(server.url, { path: '/inspector/', headers: { host: 'rebound.example.com' } })).status, 403, 'a non-loopback Host gets 403 (DNS rebinding)');

  const read = (body: string, contentType = 'application/json') =>
    request(server.url, { method: 'POST', path: '/inspector/api/read', headers: { 'content-type': contentType }, body });
  t.equal((await read('{}', 'text/plain')).status, 415, 'actions take JSON only (a cross-site form cannot send it)');
  t.equal((await read(JSON.stringify({ table: TABLE, partitionKey: 'x'.repeat(70 * 1024) }))).status, 413, 'an action\'s body is bounded');
  t.equal((await read('not json')).status, 400, 'a body that is not JSON is 400');
  const missing = await read(JSON.stringify({ table: 'missing_table', partitionKey: 'a' }));
  t.equal(missing.status, 400, 'a DynamoDB error is 400');
  t.equal(JSON.parse(missing.body).error.name, 'ResourceNotFoundException', 'with DynamoDB\'s exception name');
  const answer = await read(JSON.stringify({ table: TABLE, partitionKey: 'alice' }));
  t.equal(answer.status, 200, 'a read');
  const both = JSON.parse(answer.body);
  t.same(both.consistent.item, { customer: { S: 'alice' }, total: { N: '3' } }, 'the consistent answer');
  t.same(both.eventual.item, both.consistent.item, 'the eventual answer');
  t.type(both.consistent.replica, 'number', 'with the replica that answered');
  t.equal(both.stale, both.consistent.version !== both.eventual.version, 'stale exactly when the versions differ');
  t.equal((await request(server.url, { method: 'POST', path: '/inspector/api/write', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 404, 'no action that writes');

  const { snapshot, ended } = await firstSnapshot(server.url);
  t.equal(snapshot.ring.nodes.length, 3, 'the event stream\'s snapshot has the nodes');
  t.same(snapshot.tables.map((table) => table.name), [TABLE], 'and the tables');
  t.equal(snapshot.capacity, null, 'capacity null: the model is off');
  t.equal(snapshot.indexLag, null, 'index lag null: no indexes');
  await server.close();
  closed = true;
  await ended;
  t.pass('close() ends the open event stream and resolves');
});

t.test('the inspector binds loopback only', async (t) => {
  const db = await openDatabase(t);
  const refused = await serve({ database: db, port: 0, host: '0.0.0.0', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, inspector: inspectorRoutes(sourcesOf(db)) })
    .then(() => undefined, (error: unknown) => error);
  t.match(refused, { code: ErrorCode.INVALID_OPTIONS, message: /refusing to serve the inspector on 0\.0\.0\.0/ }, 'serve() refuses it off loopback');
  const alone = await inspector({ database: db, port: 0, host: '0.0.0.0' }).then(() => undefined, (error: unknown) => error);
  t.match(alone, { code: ErrorCode.INVALID_OPTIONS }, 'so does inspector()');
  const own = await db.inspector({ port: 0 });
  t.match(own.url, /^http:\/\/127\.0\.0\.1:\d+\/inspector\/$/, 'db.inspector() serves on 127.0.0.1');
  t.equal((await request(own.url, { path: '/inspector/' })).status, 200, 'the page');
  await own.close();
});

t.test(`at most ${STREAMS_MAX} pages stream at once`, async (t) => {
  const db = await openDatabase(t);
  const server = await inspector({ database: db, port: 0 });
  t.teardown(() => server.close());
  const { hostname, port } = new URL(server.url);
  const streams: http.IncomingMessage[] = [];
  for (let i = 0; i < STREAMS_MAX; i++) {
    streams.push(await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ hostname, port, path: '/inspector/events' }, resolve).on('error', reject)));
  }
  t.same(streams.map((res) => res.statusCode), streams.map(() => 200), `${STREAMS_MAX} streams open`);
  for (const res of streams) res.resume();
  t.equal((await request(server.url, { path: '/inspector/events' })).status, 503, 'one more is refused');
  streams.pop()!.destroy();
  const opensStream = (): Promise<boolean> => new Promise((resolve) => {
    http.get({ hostname, port, path: '/inspector/events' }, (res) => {
      resolve(res.statusCode === 200);
      res.destroy();
    }).on('error', () => resolve(false));
  });
  t.ok(await eventually(opensStream, 10_000, 50), 'a page that went away frees its place');
  await server.close();
  t.pass('close() ends every stream');
});

t.test('the ring snapshot agrees with the Store', async (t) => {
  const db = await openDatabase(t);
  const ring = ringSnapshot(db);
  const partitions = db.store.partitions();
  t.equal(ring.partitionCount, partitions.length, 'every partition');
  t.equal(ring.nodes.reduce((sum, n) => sum + n.partitionsPrimary, 0), partitions.length, 'each partition has one primary');
  t.equal(ring.nodes.reduce((sum, n) => sum + n.partitionsReplica, 0), partitions.length * db.store.options.n, 'and N replicas');
  t.same(ring.partitions.map((p) => p.replicas[0]), db.store.partitionOwners(), 'primaries are the ring\'s owners');
  const led = partitions.filter((p) => p.leader !== undefined);
  t.ok(led.length > 0, 'the put elected a leader');
  for (const p of led) t.equal(p.leader!.node, p.replicas.find((node) => db.store.nodes().find((n) => n.id === node)?.status === 'up'), `partition ${p.partition}: the leader is its first up replica`);
  t.equal(ring.nodes.reduce((sum, n) => sum + n.partitionsLed, 0), led.length, 'leaders counted per node');
});

/** While `lagging` is on, a written key's eventual reads keep answering its value from before ("replica 1"); consistent ones answer the current from replica 0. */
class LaggingEngine extends MemoryTableEngine {
  lagging = false;
  private readonly frozen = new Map<string, OrderedValue | undefined>();

  override async writeOrdered(write: OrderedWrite): Promise<{ version: string }> {
    const key = write.key as Uint8Array; // the tables layer writes byte keys
    const id = Buffer.from(key).toString('hex');
    if (this.lagging && !this.frozen.has(id)) this.frozen.set(id, await super.getOrdered(key));
    return super.writeOrdered(write);
  }

  override async getOrdered(key: Uint8Array, options?: { consistent?: boolean }): Promise<OrderedValue | undefined> {
    const id = Buffer.from(key).toString('hex');
    if (options?.consistent !== true && this.frozen.has(id)) {
      const old = this.frozen.get(id);
      return old === undefined ? undefined : { ...old, replica: 1 };
    }
    return super.getOrdered(key);
  }
}

t.test('the read comparison calls a lagging eventual read stale', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-inspector-lag-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const engine = new LaggingEngine();
  const db = Database.openOnEngine(engine, { path });
  await db.createTable({ TableName: TABLE, KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' });
  await db.putItem({ TableName: TABLE, Item: { customer: { S: 'alice' }, total: { N: '1' } } });
  const same = await compareReads(db, { table: TABLE, partitionKey: 'alice' });
  t.equal(same.stale, false, 'in step: not stale');
  t.equal(same.consistent.version, same.eventual.version, 'one version');

  // The eventual replica stops at the first version; the leader takes a second.
  engine.lagging = true;
  await db.putItem({ TableName: TABLE, Item: { customer: { S: 'alice' }, total: { N: '2' } } });
  const stale = await compareReads(db, { table: TABLE, partitionKey: 'alice' });
  t.equal(stale.stale, true, 'lagging: stale');
  t.same(stale.consistent.item?.['total'], { N: '2' }, 'the consistent read has the new item');
  t.same(stale.eventual.item?.['total'], { N: '1' }, 'the eventual read the old one');
  t.equal(stale.consistent.replica, 0, 'from the leader');
  t.equal(stale.eventual.replica, 1, 'and from the lagging replica');
  t.not(stale.consistent.version, stale.eventual.version, 'two versions');
  await db.close();
});

t.test('a build compiled outside the repository (tsc --outDir DIR) finds the page beside its source, by its source map', async (t) => {
  // What tsc --outDir DIR writes beside DIR/lib/server/inspector.js: a map whose source is this tree's inspector.ts.
  const outDir = mkdtempSync(join(tmpdir(), 'ringtable-out-dir-'));
  t.teardown(() => rmSync(outDir, { recursive: true, force: true }));
  const compiled = join(outDir, 'lib', 'server', 'inspector.js');
  const source = fileURLToPath(new URL('../../lib/server/inspector.ts', import.meta.url));
  const page = fileURLToPath(new URL('../../lib/server/inspector-page/', import.meta.url));
  mkdirSync(join(outDir, 'lib', 'server'), { recursive: true });
  t.throws(() => pageDirectoryOf(pathToFileURL(compiled).href), { code: ErrorCode.INVALID_STATE }, 'without a source map, nowhere to look');
  writeFileSync(`${compiled}.map`, JSON.stringify({ version: 3, file: 'inspector.js', sourceRoot: '', sources: [relative(join(outDir, 'lib', 'server'), source)], names: [], mappings: '' }));
  t.equal(pageDirectoryOf(pathToFileURL(compiled).href), page, "the page of the tree it was compiled from, nothing copied");
});
