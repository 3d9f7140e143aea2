/**
 * DynamoDB Streams on real storage nodes (issue 13 §5, §6): every change
 * appears exactly once, in per-item order, with the right eventName and the
 * images its view type keeps; db.stream and the AWS SDK's
 * DynamoDBStreamsClient (in process and over serve) read the same records;
 * LATEST sees only later writes; a consumer reading across a leader crash
 * sees every acknowledged change exactly once in per-item order; TTL
 * deletions carry the service's userIdentity; disabling and enabling makes a
 * new stream; retention trims.
 */
import t, { type Test } from 'tap';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { Database } from '../lib/index.js';
import { createRequestHandler } from '../lib/dynamodb/request-handler.js';
import { serve } from '../lib/server/serve.js';
import { eventually, tempDir } from './helpers/temp-store.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';
import { TEST_CREDENTIALS, TEST_REGION } from './helpers/dynamodb-transports.js';

type Output = Awaited<ReturnType<Database['getRecords']>>['Records'][number];

async function open(t: Test, options: Partial<Parameters<typeof Database.open>[0]> = {}): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), nodes: 4, vnodes: 4, durability: 'none', ...options });
  t.teardown(() => db.close());
  return db;
}

async function streamTable(db: Database, name: string, view: 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' = 'NEW_AND_OLD_IMAGES'): Promise<string> {
  await db.createTable({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  const updated = await db.updateTable({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: view } });
  return (updated.TableDescription as unknown as { LatestStreamArn: string }).LatestStreamArn;
}

/** Reads db.stream until `count` records arrived (or the time is up), then stops the loop. */
async function take(db: Database, table: string, count: number, options: Parameters<Database['stream']>[1] = {}, timeoutMs = 20_000): Promise<Output[]> {
  const records: Output[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const record of db.stream(table, { pollIntervalMs: 10, ...options })) {
    records.push(record);
    if (records.length >= count || Date.now() > deadline) break;
  }
  return records;
}

function pkOf(record: Output): string {
  return (record.dynamodb.Keys['pk'] as { S: string }).S;
}

function numberOf(value: unknown): string | undefined {
  return (value as { N?: string } | undefined)?.N;
}

function byItem(records: Output[]): Map<string, Output[]> {
  const map = new Map<string, Output[]>();
  for (const record of records) {
    const key = pkOf(record);
    map.set(key, [...(map.get(key) ?? []), record]);
  }
  return map;
}

t.test('every change once, in per-item order, with eventName and both images', async (t) => {
  const db = await open(t);
  await streamTable(db, 'orders');
  const items = 40;
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: items }, (_, i) => db.putItem({ TableName: 'orders', Item: { pk: { S: `o${i}` }, n: { N: String(round) } } })));
  }
  await Promise.all(Array.from({ length: items / 2 }, (_, i) => db.deleteItem({ TableName: 'orders', Key: { pk: { S: `o${i}` } } })));
  const records = await take(db, 'orders', items * 3 + items / 2);
  t.equal(records.length, items * 3 + items / 2, 'every change');
  t.equal(new Set(records.map((r) => r.eventID)).size, records.length, 'each once');
  for (const [key, changes] of byItem(records)) {
    const index = Number(key.slice(1));
    const expected = ['INSERT', 'MODIFY', 'MODIFY', ...(index < items / 2 ? ['REMOVE'] : [])];
    t.same(changes.map((c) => c.eventName), expected, `${key}: its changes in order`);
    t.same(changes.map((c) => numberOf(c.dynamodb.NewImage?.['n'])), ['0', '1', '2', ...(index < items / 2 ? [undefined] : [])], `${key}: new images`);
    t.same(changes.map((c) => numberOf(c.dynamodb.OldImage?.['n'])), [undefined, '0', '1', ...(index < items / 2 ? ['2'] : [])], `${key}: old images`);
    const sequence = changes.map((c) => BigInt(c.dynamodb.SequenceNumber));
    t.ok(sequence.every((s, i) => i === 0 || s > sequence[i - 1]!), `${key}: sequence numbers grow`);
  }
});

t.test('view types keep what they name', async (t) => {
  const db = await open(t);
  for (const view of ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE'] as const) {
    const table = `v_${view}`;
    await streamTable(db, table, view);
    await db.putItem({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } });
    await db.putItem({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '2' } } });
    const [insert, modify] = await take(db, table, 2);
    t.equal(modify!.dynamodb.StreamViewType, view);
    t.same(modify!.dynamodb.Keys, { pk: { S: 'a' } });
    t.same(modify!.dynamodb.NewImage, view === 'NEW_IMAGE' ? { pk: { S: 'a' }, n: { N: '2' } } : undefined, `${view}: NewImage`);
    t.same(modify!.dynamodb.OldImage, view === 'OLD_IMAGE' ? { pk: { S: 'a' }, n: { N: '1' } } : undefined, `${view}: OldImage`);
    t.equal(insert!.dynamodb.OldImage, undefined);
  }
});

async function sdkAll(client: DynamoDBStreamsClient, arn: string, type: 'TRIM_HORIZON' | 'LATEST' = 'TRIM_HORIZON'): Promise<{ iterators: string[] }> {
  const shards: string[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(new DescribeStreamCommand({ StreamArn: arn, Limit: 7, ...(start === undefined ? {} : { ExclusiveStartShardId: start }) }));
    shards.push(...page.StreamDescription!.Shards!.map((s) => s.ShardId!));
    start = page.StreamDescription!.LastEvaluatedShardId;
  } while (start !== undefined);
  const iterators: string[] = [];
  for (const shard of shards) iterators.push((await client.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard, ShardIteratorType: type }))).ShardIterator!);
  return { iterators };
}

async function sdkRead(client: DynamoDBStreamsClient, iterators: string[]): Promise<{ records: _Record[]; next: string[] }> {
  const records: _Record[] = [];
  const next: string[] = [];
  for (let iterator of iterators) {
    for (;;) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 5 }));
      records.push(...(page.Records ?? []));
      if (page.NextShardIterator === undefined) break;
      iterator = page.NextShardIterator;
      if ((page.Records ?? []).length === 0) break;
    }
    next.push(iterator);
  }
  return { records, next };
}

for (const transport of ['in-process', 'http'] as const) {
  t.test(`the AWS SDK's DynamoDBStreamsClient, unchanged (${transport}); LATEST sees only later writes`, async (t) => {
    const db = await open(t);
    const arn = await streamTable(db, 'sdk');
    let client: DynamoDBStreamsClient;
    const config = { region: TEST_REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 };
    if (transport === 'in-process') client = new DynamoDBStreamsClient({ ...config, requestHandler: createRequestHandler({ dispatcher: db, credentials: TEST_CREDENTIALS }) });
    else {
      const server = await serve({ dispatcher: db, port: 0, host: '127.0.0.1', credentials: TEST_CREDENTIALS, env: {} });
      t.teardown(() => server.close());
      client = new DynamoDBStreamsClient({ ...config, endpoint: server.url });
    }
    t.teardown(() => client.destroy());
    const listed = await client.send(new ListStreamsCommand({ TableName: 'sdk' }));
    t.same(listed.Streams?.map((s) => s.StreamArn), [arn]);
    const description = (await client.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription!;
    t.equal(description.StreamStatus, 'ENABLED');
    t.equal(description.Shards!.length, Math.min(100, db.store.tokenRanges().length), 'one shard per ring partition (the first page)');
    const ids = description.Shards!.map((s) => s.ShardId!);
    t.same(ids, [...ids].sort(), 'shards in lexical order');
    for (let i = 0; i < 20; i++) await db.putItem({ TableName: 'sdk', Item: { pk: { S: `k${i}` }, b: { B: new Uint8Array([i, 255]) } } });
    const latest = await sdkAll(client, arn, 'LATEST');
    const horizon = await sdkAll(client, arn);
    const early = await sdkRead(client, horizon.iterators);
    t.equal(early.records.length, 20);
    const fromDb = await take(db, 'sdk', 20);
    t.same(early.records.map((r) => r.dynamodb!.SequenceNumber).sort(), fromDb.map((r) => r.dynamodb.SequenceNumber).sort(), 'GetRecords and db.stream read the same records');
    t.same(early.records.find((r) => r.dynamodb!.Keys!['pk']!.S === 'k3')!.dynamodb!.NewImage!['b']!.B, new Uint8Array([3, 255]), 'binary attributes survive the wire');
    t.ok(early.records.every((r) => r.eventName === 'INSERT' && r.eventSource === 'aws:dynamodb' && r.dynamodb!.ApproximateCreationDateTime instanceof Date));
    for (let i = 0; i < 5; i++) await db.putItem({ TableName: 'sdk', Item: { pk: { S: `late${i}` } } });
    const late = await sdkRead(client, latest.iterators);
    t.same(late.records.map((r) => r.dynamodb!.Keys!['pk']!.S).sort(), ['late0', 'late1', 'late2', 'late3', 'late4'], 'LATEST: only the writes after it');
    const tail = await sdkRead(client, early.next);
    t.equal(tail.records.length, 5, 'NextShardIterator continues where the reader stopped');
    const unknown = await dynamoDbRejection(db.describeStream({ StreamArn: `${arn.slice(0, -3)}999` }));
    t.equal(unknown.name, 'ResourceNotFoundException');
    const badIterator = await dynamoDbRejection(db.getRecords({ ShardIterator: 'nonsense' }));
    t.equal(badIterator.name, 'ValidationException');
  });
}

t.test('TTL deletions are service deletions in the stream', async (t) => {
  const db = await open(t, { timeToLive: { sweepIntervalMs: 50, changeCooldownMs: 0 } });
  await streamTable(db, 'sessions');
  await db.updateTimeToLive({ TableName: 'sessions', TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' } });
  await db.putItem({ TableName: 'sessions', Item: { pk: { S: 'old' }, expires: { N: String(Math.floor(Date.now() / 1000) - 10) } } });
  await db.putItem({ TableName: 'sessions', Item: { pk: { S: 'user' } } });
  await db.deleteItem({ TableName: 'sessions', Key: { pk: { S: 'user' } } });
  const records = await take(db, 'sessions', 4);
  const removes = records.filter((r) => r.eventName === 'REMOVE');
  t.equal(removes.length, 2);
  t.same(removes.find((r) => pkOf(r) === 'old')!.userIdentity, { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' }, 'the TTL deletion');
  t.equal(removes.find((r) => pkOf(r) === 'user')!.userIdentity, undefined, "the user's deletion");
});

t.test('disable then enable: the old stream stays listed, DISABLED and readable; the new one has a new label', async (t) => {
  const db = await open(t);
  const first = await streamTable(db, 'events');
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'a' } } });
  await db.updateTable({ TableName: 'events', StreamSpecification: { StreamEnabled: false } });
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'b' } } });
  const again = await db.updateTable({ TableName: 'events', StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } });
  const second = (again.TableDescription as unknown as { LatestStreamArn: string }).LatestStreamArn;
  t.not(second, first, 'a new stream');
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'c' } } });
  const listed = await db.listStreams({ TableName: 'events' });
  t.same(listed.Streams.map((s) => s.StreamArn), [first, second]);
  const paged = await db.listStreams({ Limit: 1 });
  t.equal(paged.LastEvaluatedStreamArn, first);
  t.same((await db.listStreams({ ExclusiveStartStreamArn: first })).Streams.map((s) => s.StreamArn), [second]);
  const old = (await db.describeStream({ StreamArn: first })).StreamDescription as { StreamStatus: string; Shards: Array<{ ShardId: string; SequenceNumberRange: { EndingSequenceNumber?: string } }> };
  t.equal(old.StreamStatus, 'DISABLED');
  t.ok(old.Shards.every((s) => s.SequenceNumberRange.EndingSequenceNumber !== undefined), 'closed shards have an end');
  const keys: string[] = [];
  let ended = 0;
  for (const shard of old.Shards) {
    let iterator: string | undefined = (await db.getShardIterator({ StreamArn: first, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
    while (iterator !== undefined) {
      const page = await db.getRecords({ ShardIterator: iterator });
      keys.push(...page.Records.map((r) => pkOf(r)));
      iterator = page.NextShardIterator;
    }
    ended++;
  }
  t.equal(ended, old.Shards.length, 'every closed shard ends');
  t.same(keys, ['a'], 'the old stream: only what it recorded');
  t.same((await take(db, 'events', 1)).map((r) => pkOf(r)), ['c'], 'the new stream: only what came after it');
});

t.test('retention: old records are trimmed; AT_SEQUENCE_NUMBER below the trim horizon is TrimmedDataAccessException', async (t) => {
  const db = await open(t, { streamRetentionMs: 200 });
  const arn = await streamTable(db, 'short');
  await db.putItem({ TableName: 'short', Item: { pk: { S: 'early' } } });
  const [early] = await take(db, 'short', 1);
  const shards = ((await db.describeStream({ StreamArn: arn })).StreamDescription as { Shards: Array<{ ShardId: string }> }).Shards;
  const shardOf = async (): Promise<string> => {
    for (const shard of shards) {
      const iterator = (await db.getShardIterator({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })).ShardIterator;
      if ((await db.getRecords({ ShardIterator: iterator })).Records.length > 0) return shard.ShardId;
    }
    return '';
  };
  const shard = await shardOf();
  t.ok(shard !== '');
  const trimmed = await eventually(async () => {
    const failure = await db.getShardIterator({ StreamArn: arn, ShardId: shard, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: early!.dynamodb.SequenceNumber }).then(() => undefined, (error: Error) => error);
    return failure?.name === 'TrimmedDataAccessException';
  }, 10_000, 50);
  t.ok(trimmed, 'the record aged out');
  await db.putItem({ TableName: 'short', Item: { pk: { S: 'late' } } });
  const after = await take(db, 'short', 1);
  t.same(after.map((r) => pkOf(r)), ['late'], 'TRIM_HORIZON starts after what was trimmed');
});

t.test('a consumer across a leader crash sees every acknowledged change exactly once, in per-item order', async (t) => {
  const db = await open(t);
  await streamTable(db, 'ledger');
  const keys = 60;
  const acknowledged = new Map<string, number[]>();
  const worker = async (seed: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const key = `k${(seed * 13 + i) % keys}`;
      const value = seed * 100_000 + i;
      try {
        await db.putItem({ TableName: 'ledger', Item: { pk: { S: key }, v: { N: String(value) } } });
        acknowledged.set(key, [...(acknowledged.get(key) ?? []), value]);
      } catch {
        // Failed under the crash: the stream may or may not have it.
      }
    }
  };
  const seen: Output[] = [];
  let stop = false;
  const consumer = (async () => {
    for await (const record of db.stream('ledger', { pollIntervalMs: 5 })) {
      seen.push(record);
      if (stop) break;
    }
  })();
  // One writer per key group, so each key's acknowledged writes have one order.
  const load = Promise.all([0, 1, 2, 3].map((seed) => worker(seed, 150)));
  await new Promise((resolve) => setTimeout(resolve, 150));
  const victim = db.store.nodes()[0]!.id;
  await db.store.crashNode(victim);
  await load;
  await db.store.startNode(victim);
  await db.putItem({ TableName: 'ledger', Item: { pk: { S: 'done' } } });
  t.ok(await eventually(() => seen.some((r) => pkOf(r) === 'done'), 20_000), 'the consumer reached the end');
  stop = true;
  await db.putItem({ TableName: 'ledger', Item: { pk: { S: 'stop' } } });
  await consumer;
  const values = byItem(seen);
  let checked = 0;
  for (const [key, expected] of acknowledged) {
    const got = (values.get(key) ?? []).map((r) => Number(numberOf(r.dynamodb.NewImage!['v'])));
    for (const value of expected) t.equal(got.filter((v) => v === value).length, 1, `${key}=${value} once`);
    const positions = expected.map((value) => got.indexOf(value));
    t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]!), `${key}: acknowledged changes in order`);
    checked += expected.length;
  }
  t.ok(checked > 100, `${checked} acknowledged changes checked`);
});

t.test("CreateTable's StreamSpecification starts the table's first stream", async (t) => {
  const db = await open(t);
  const created = await db.createTable({
    TableName: 'events',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  } as Parameters<Database['createTable']>[0]);
  t.equal(created.TableDescription.TableName, 'events');
  const described = (await db.describeTable({ TableName: 'events' })).Table as unknown as { LatestStreamArn?: string; StreamSpecification?: unknown };
  t.match(described.LatestStreamArn, /^arn:aws:dynamodb:.*:table\/events\/stream\//, 'DescribeTable names the stream');
  t.same(described.StreamSpecification, { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'e1' }, v: { N: '1' } } });
  const records = await take(db, 'events', 1, { from: 'trim-horizon' });
  t.equal(records.length, 1);
  t.equal(records[0]?.eventName, 'INSERT');
  t.same(records[0]?.dynamodb.NewImage, { pk: { S: 'e1' }, v: { N: '1' } });
  t.equal(records[0]?.dynamodb.OldImage, undefined, 'NEW_IMAGE keeps no old image');
  const refused = await dynamoDbRejection(db.createTable({
    TableName: 'events2',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true },
  } as Parameters<Database['createTable']>[0]));
  t.equal(refused.name, 'ValidationException', 'enabling without a view type is refused');
  t.equal((await db.listTables({})).TableNames.includes('events2'), false, 'and creates nothing');
});
