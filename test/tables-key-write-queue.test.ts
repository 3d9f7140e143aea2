/**
 * KeyWriteQueue: writes of one item run one at a time, in call order; other
 * items run alongside; a failed write does not stop the next; the per-item
 * lanes are forgotten once idle; past the bound a write skips the queue.
 * Between Databases (each with its own queue) compare-and-set still decides,
 * and within one, concurrent writers of one item no longer race.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Database } from '../lib/tables/database.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { KEY_WRITERS_MAX, KeyWriteQueue } from '../lib/tables/key-write-queue.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';

const key = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A write the test finishes by hand. */
function gate(): { promise: Promise<void>; open: () => void; fail: (error: Error) => void } {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => { open = resolve; fail = reject; });
  return { promise, open, fail };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('one item: one write at a time, in call order, failures included', async (t) => {
  const queue = new KeyWriteQueue();
  const started: number[] = [];
  const gates = [gate(), gate(), gate()];
  const results = gates.map((g, i) => queue.run(key('a'), async () => { started.push(i); await g.promise; return i; }));
  await turn();
  t.same(started, [0], 'only the first runs');
  gates[0]!.fail(new Error('lost'));
  await t.rejects(results[0]!, /lost/);
  await turn();
  t.same(started, [0, 1], 'the next runs after a failure');
  gates[1]!.open();
  gates[2]!.open();
  t.same(await Promise.all(results.slice(1)), [1, 2]);
  await turn();
  t.equal(queue.size, 0, 'the idle lane is forgotten');
});

t.test('different items run alongside each other', async (t) => {
  const queue = new KeyWriteQueue();
  const started: string[] = [];
  const a = gate();
  const b = gate();
  const ra = queue.run(key('a'), async () => { started.push('a'); await a.promise; });
  const rb = queue.run(key('b'), async () => { started.push('b'); await b.promise; });
  await turn();
  t.same(started.sort(), ['a', 'b']);
  t.equal(queue.size, 2);
  a.open();
  b.open();
  await Promise.all([ra, rb]);
});

t.test('past the bound a write skips the queue', async (t) => {
  const queue = new KeyWriteQueue();
  const first = gate();
  let running = 0;
  let ranEarly = false;
  const queued = Array.from({ length: KEY_WRITERS_MAX }, (_, i) => queue.run(key('hot'), async () => {
    running += 1;
    if (i === 0) await first.promise;
    running -= 1;
  }));
  const extra = queue.run(key('hot'), async () => { ranEarly = running === 1; });
  await extra;
  t.ok(ranEarly, 'the write beyond the bound ran while the first was still running');
  first.open();
  await Promise.all(queued);
  await turn();
  t.equal(queue.size, 0);
});

t.test('a Database: 64 concurrent writes of one item each take one compare-and-set round', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-key-queue-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const engine = new MemoryTableEngine();
  let writes = 0;
  engine.writeDelay = async () => { writes += 1; await turn(); };
  const db = Database.openOnEngine(engine, { path });
  await db.createTable({ TableName: 'hot', BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] });
  await Promise.all(Array.from({ length: 64 }, (_, i) => db.putItem({ TableName: 'hot', Item: { pk: { S: 'k' }, n: { N: String(i) } } })));
  t.equal(writes, 64, 'no write lost a round to another writer of this process');
  const stored = await db.getItem({ TableName: 'hot', Key: { pk: { S: 'k' } }, ConsistentRead: true });
  t.same(stored.Item, { pk: { S: 'k' }, n: { N: '63' } }, 'the last call wins, as calls were queued in order');
});

t.test('two Databases on one engine: compare-and-set still decides between their writers', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-key-queue-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const engine = new MemoryTableEngine();
  // Every writer reads before any writes, so the two Databases' writers race on the compare-and-set.
  engine.writeDelay = () => turn();
  const first = Database.openOnEngine(engine, { path });
  await first.createTable({ TableName: 'race', BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] });
  const second = Database.openOnEngine(engine, { path });
  const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first : second).putItem({
    TableName: 'race', Item: { pk: { S: 'once' }, writer: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)',
  })));
  t.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1, 'exactly one insert wins');
  t.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || (outcome.reason instanceof DynamoDbError && outcome.reason.name === 'ConditionalCheckFailedException')));
});
