/**
 * Stream retention with an injected clock (no waiting 24 hours), over the
 * in-memory engine contract: records older than the retention (24 hours by
 * default) are deleted from storage, not only hidden; a deleted table's
 * stream stays listed, DISABLED and readable for 24 hours, then goes with its
 * records ("If you have DynamoDB Streams enabled on the table, then the
 * corresponding stream on that table goes into the DISABLED state, and the
 * stream is automatically deleted after 24 hours", API reference:
 * DeleteTable); so does a live table's disabled stream (DG: Streams, "The data
 * in the stream will continue to be readable for 24 hours").
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../lib/tables/database.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';
import { openOnMemory } from './helpers/memory-database.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringtable-retention-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Setup {
  db: Database;
  engine: MemoryTableEngine;
  dir: string;
  clock: { nowMs: number };
}

// The clock starts far from the wall clock: every instant a stream is judged by must come from it.
function open(t: Test, engine = new MemoryTableEngine(), dir = tempDir(t), clock = { nowMs: Date.UTC(2031, 0, 1) }): Setup {
  const { db } = openOnMemory(t, { streamClock: () => clock.nowMs }, engine, dir);
  return { db, engine, dir, clock };
}

async function createStreamTable(db: Database, name: string): Promise<string> {
  await db.createTable({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  } as never);
  const streams = (await db.listStreams({ TableName: name })).Streams;
  return streams[streams.length - 1]!.StreamArn;
}

/** Keys stored in `space` (the engine's own keys: what the trim must really delete). */
function keysIn(engine: MemoryTableEngine, space: number): number {
  return engine.keys().filter((key) => splitPartitionedKey(key).space === space).length;
}

/** Every record of every shard, from TRIM_HORIZON to each shard's end. */
async function readAll(db: Database, arn: string): Promise<{ keys: string[]; open: number }> {
  const shards = ((await db.describeStream({ StreamArn: arn })).StreamDescription as { Shards: Array<{ ShardId: string }> }).Shards;
  const keys: string[] = [];
  let open = 0;
  for (const shard of shards) {
    const iterator = (await db.getShardIterator({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
    const page = await db.getRecords({ ShardIterator: iterator });
    for (const record of page.Records) keys.push((record.dynamodb.Keys!['pk'] as { S: string }).S);
    if (page.NextShardIterator !== undefined) open += 1;
  }
  return { keys: keys.sort(), open };
}

/** The engine space of a table's stream records: every space but the table's own (no indexes here). */
function streamSpaces(engine: MemoryTableEngine, tableSpaces: readonly number[]): number[] {
  return [...new Set(engine.keys().map((key) => splitPartitionedKey(key).space))].filter((space) => !tableSpaces.includes(space));
}

t.test('records older than the retention are deleted from storage, younger ones kept', async (t) => {
  const { db, engine, clock } = open(t);
  const arn = await createStreamTable(db, 'events');
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'a' } } });
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'b' } } });
  const [space] = streamSpaces(engine, [1]);
  t.ok(space !== undefined, 'the stream has its own space');
  t.equal(keysIn(engine, space!), 2, 'two records stored');
  const first = (await readAll(db, arn)).keys;
  t.same(first, ['a', 'b']);

  clock.nowMs += DAY_MS - 60_000;
  t.equal(await db.trimStreams(), 0, 'a day less a minute later: nothing is old enough');
  t.equal(keysIn(engine, space!), 2);

  clock.nowMs += 120_000;
  t.equal(await db.trimStreams(), 2, 'past the 24 hours: both records trimmed');
  t.equal(keysIn(engine, space!), 0, 'and gone from storage, not only hidden');
  t.same((await readAll(db, arn)).keys, [], 'TRIM_HORIZON starts after them');
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'c' } } });
  t.same((await readAll(db, arn)).keys, ['c'], 'a new record after the trim is read');
});

t.test('DeleteTable: the stream stays listed, DISABLED and readable for 24 hours, then goes with its records', async (t) => {
  const engine = new MemoryTableEngine();
  const dir = tempDir(t);
  const clock = { nowMs: Date.UTC(2031, 0, 1) };
  const { db } = open(t, engine, dir, clock);
  const arn = await createStreamTable(db, 'orders');
  await db.putItem({ TableName: 'orders', Item: { pk: { S: 'o1' } } });
  const [space] = streamSpaces(engine, [1]);
  await db.deleteTable({ TableName: 'orders' });
  t.equal(keysIn(engine, 1), 0, "the table's items are dropped at once");
  t.equal(keysIn(engine, space!), 1, "its stream's records are not");

  const listed = await db.listStreams({});
  t.same(listed.Streams.map((stream) => stream.StreamArn), [arn], 'ListStreams still lists it');
  t.same(Object.keys(listed.Streams[0]!).sort(), ['StreamArn', 'StreamLabel', 'TableName']);
  const description = (await db.describeStream({ StreamArn: arn })).StreamDescription as Record<string, unknown> & { Shards: Array<{ SequenceNumberRange: Record<string, string> }> };
  t.equal(description['StreamStatus'], 'DISABLED');
  t.equal(description['TableName'], 'orders');
  t.same(description['KeySchema'], [{ AttributeName: 'pk', KeyType: 'HASH' }]);
  t.ok(description.Shards.every((shard) => shard.SequenceNumberRange['EndingSequenceNumber'] !== undefined), 'every shard is closed');
  const read = await readAll(db, arn);
  t.same(read.keys, ['o1'], 'its records are readable');
  t.equal(read.open, 0, 'no shard gives a next iterator at its end');

  // A table of the same name gets a stream of its own; the deleted one's is listed first.
  clock.nowMs += 1_000; // a stream's label is its enabling instant, to the millisecond
  const second = await createStreamTable(db, 'orders');
  t.not(second, arn);
  t.same((await db.listStreams({ TableName: 'orders' })).Streams.map((stream) => stream.StreamArn), [arn, second]);

  // The catalog keeps it: a database opened again on the same engine and directory still serves it.
  await db.close();
  const again = open(t, engine, dir, clock).db;
  t.equal(((await again.describeStream({ StreamArn: arn })).StreamDescription as Record<string, unknown>)['StreamStatus'], 'DISABLED', 'kept across a restart');

  clock.nowMs += DAY_MS - 60_000;
  await again.trimStreams();
  t.same((await readAll(again, arn)).keys, ['o1'], 'still readable just before 24 hours');

  clock.nowMs += 120_000;
  await again.trimStreams();
  t.same((await again.listStreams({})).Streams.map((stream) => stream.StreamArn), [second], '24 hours after the deletion it is no longer listed');
  const gone = await dynamoDbRejection(again.describeStream({ StreamArn: arn }));
  t.equal(gone.name, 'ResourceNotFoundException');
  t.equal(gone.message, `Requested resource not found: Stream: ${arn} not found`);
  t.equal(keysIn(engine, space!), 0, 'its records are gone from storage');
});

t.test("a live table's disabled stream is dropped 24 hours after it was disabled", async (t) => {
  const { db, engine, clock } = open(t);
  const old = await createStreamTable(db, 'events');
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'a' } } });
  const [space] = streamSpaces(engine, [1]);
  await db.updateTable({ TableName: 'events', StreamSpecification: { StreamEnabled: false } });
  await db.updateTable({ TableName: 'events', StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } });
  const current = (await db.listStreams({ TableName: 'events' })).Streams.map((stream) => stream.StreamArn);
  t.equal(current.length, 2, 'the disabled stream and the new one');
  t.equal(current[0], old);
  clock.nowMs += DAY_MS + 60_000;
  await db.trimStreams();
  t.same((await db.listStreams({ TableName: 'events' })).Streams.map((stream) => stream.StreamArn), [current[1]], 'only the enabled stream is left');
  t.equal(keysIn(engine, space!), 0, "the disabled stream's space is dropped");
  t.equal((await dynamoDbRejection(db.describeStream({ StreamArn: old }))).name, 'ResourceNotFoundException');
});
