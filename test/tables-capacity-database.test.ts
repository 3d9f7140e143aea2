/**
 * The capacity model wired into the Database, against real storage nodes,
 * on a clock the test controls (Database.open's capacityClock): time moves
 * only when the test says so, so "N writes in one second" is exact however
 * fast the nodes answer, and nothing here asserts on timing.
 *
 * capacityScale 0.01 makes a partition's 1,000 WCU into 10 and a table's
 * 4,000 WCU into 40 (capacity-model.ts), the same partitions at laptop rates.
 */
import t, { type Test } from 'tap';
import { BatchWriteItemCommand, DynamoDBClient, PutItemCommand, ProvisionedThroughputExceededException, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { Database, DynamoDbError, createRequestHandler, type AttributeMap } from '../lib/index.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import { PROVISIONED_TABLE_MESSAGE, ON_DEMAND_TABLE_MESSAGE } from '../lib/tables/capacity/capacity-model.js';
import type { CapacitySnapshot, ResourceSnapshot } from '../lib/tables/capacity/capacity-snapshot.js';
import { tempDir } from './helpers/temp-store.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';

const SCALE = 0.01;

/** A clock the test moves: starts at a whole second. */
class TestClock {
  nowMs = 1_700_000_000_000;
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

async function openDatabase(t: Test, capacity: 'observe' | 'enforce', clock: TestClock, capacityScale = SCALE): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), nodes: 2, durability: 'none', capacity, capacityScale, capacityClock: clock.now });
  t.teardown(() => db.close());
  return db;
}

function table(name: string, billing: { WriteCapacityUnits: number; ReadCapacityUnits: number } | 'PAY_PER_REQUEST') {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
    ...(billing === 'PAY_PER_REQUEST' ? { BillingMode: 'PAY_PER_REQUEST' as const } : { ProvisionedThroughput: billing }),
  };
}

/** The partition-key hash the model places a key by: the token of its engine key. */
function hashOf(pk: string): number {
  return splitPartitionedKey(encodeItemKey(1, { S: pk }).key).token;
}

function resourceOf(snapshot: CapacitySnapshot, name: string): ResourceSnapshot {
  const found = snapshot.resources.find((r) => r.table === name && r.index === undefined);
  if (found === undefined) throw new Error(`no metrics for ${name}`);
  return found;
}

/** `count` distinct keys inside each partition of the table's current layout (from the metrics API's ranges). */
function keysPerPartition(db: Database, name: string, count: number, prefix: string): string[][] {
  const partitions = resourceOf(db.capacityMetrics(), name).partitions;
  const buckets = partitions.map((): string[] => []);
  for (let i = 0; buckets.some((b) => b.length < count); i++) {
    const pk = `${prefix}-${i}`;
    const hash = hashOf(pk);
    const at = partitions.findIndex((p) => p.start.hash <= hash && hash < p.end.hash);
    if (buckets[at]!.length < count) buckets[at]!.push(pk);
  }
  return buckets;
}

/** Puts each key once, all at the clock's current instant; returns how many were throttled and the throttles. */
async function putAll(db: Database, name: string, keys: readonly string[]): Promise<DynamoDbError[]> {
  const throttles: DynamoDbError[] = [];
  await Promise.all(keys.map(async (pk, i) => {
    try {
      await db.putItem({ TableName: name, Item: { pk: { S: pk }, n: { N: String(i) } } });
    } catch (error) {
      if (!(error instanceof DynamoDbError) || error.name !== 'ProvisionedThroughputExceededException' && error.name !== 'ThrottlingException') throw error;
      throttles.push(error);
    }
  }));
  return throttles;
}

t.test('enforce: writes concentrated on one partition key throttle; the same rate spread over the partitions does not', async (t) => {
  // Why a table above one partition's limit: adaptive capacity lets a hot
  // partition use the table's unused throughput "instantly", up to the
  // partition maximum of 1,000 WCU (DynamoDB Developer Guide:
  // burst-adaptive-capacity; bp-partition-key-design). On a table of one
  // partition (100 WCU) one key and many keys are the same partition, so
  // the key design only matters once the table's throughput exceeds what
  // one partition can serve: 3,900 WCU (and 1 RCU) is 4 partitions
  // (DynamoDB's formula, logical-partitions.ts), and 2,400 WCU of writes
  // throttle on one key (one partition's 1,000 cap) but not spread over
  // four (600 each). Scaled by 0.01: 39 WCU, 4 × 10 at most, 24 writes/s.
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  await db.createTable(table('hot', { ReadCapacityUnits: 1, WriteCapacityUnits: 3900 }));
  await db.createTable(table('spread', { ReadCapacityUnits: 1, WriteCapacityUnits: 3900 }));
  t.equal(resourceOf(db.capacityMetrics(), 'hot').partitions.length, 4, 'DynamoDB\'s formula: ceil(1 / 3,000 + 3,900 / 1,000) = 4 partitions');

  const spreadKeys = keysPerPartition(db, 'spread', 6, 'user').flat();
  t.equal(spreadKeys.length, 24);
  let hotThrottles: DynamoDbError[] = [];
  let spreadThrottles: DynamoDbError[] = [];
  for (let second = 0; second < 5; second++) {
    clock.advance(1000);
    hotThrottles = hotThrottles.concat(await putAll(db, 'hot', new Array<string>(24).fill('STATUS#ACTIVE')));
    spreadThrottles = spreadThrottles.concat(await putAll(db, 'spread', spreadKeys));
  }
  t.equal(spreadThrottles.length, 0, 'spread over 4 partitions: nothing throttled');
  t.equal(hotThrottles.length, 5 * 14, 'one key: 10 of 24 admitted each second (the partition\'s 1,000 WCU, scaled), 14 throttled');
  const throttle = hotThrottles[0]!;
  t.equal(throttle.name, 'ProvisionedThroughputExceededException');
  t.equal(throttle.message, PROVISIONED_TABLE_MESSAGE);
  const arn = (await db.describeTable({ TableName: 'hot' })).Table.TableArn;
  t.same(throttle.throttlingReasons, [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: arn }]);

  const hot = resourceOf(db.capacityMetrics(), 'hot');
  t.equal(hot.throttledTotal, 70);
  t.equal(hot.mostThrottledKeys[0]?.key, 'STATUS#ACTIVE');
  t.equal(hot.mostConsumedKeys[0]?.key, 'STATUS#ACTIVE');
  const hotPartition = hot.partitions.find((p) => p.start.hash <= hashOf('STATUS#ACTIVE') && hashOf('STATUS#ACTIVE') < p.end.hash)!;
  t.equal(hotPartition.throttledWrites.at(-1), 14, 'the last second: 14 throttled writes on the key\'s partition');
  t.equal(hotPartition.consumedWriteUnits.at(-1), 10, '10 WCU consumed there');
  t.equal(hot.partitions.filter((p) => p !== hotPartition).reduce((sum, p) => sum + p.throttledWrites.reduce((a, b) => a + b, 0), 0), 0, 'no other partition throttled');
  t.equal(resourceOf(db.capacityMetrics(), 'spread').throttledTotal, 0);
});

t.test('enforce: a single hot item is never fixed by a split; two hot items in one partition are', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  // On-demand at 0.01: 120 RRU and 40 WRU per second at once, over ceil(120 / 30 + 40 / 10) = 8 partitions of 10 WCU/s.
  await db.createTable(table('single', 'PAY_PER_REQUEST'));
  await db.createTable(table('pair', 'PAY_PER_REQUEST'));
  const [pairKeys] = keysPerPartition(db, 'pair', 2, 'item');
  const pair = [pairKeys![0]!, pairKeys![1]!];
  const lastThrottles = { single: 0, pair: 0 };
  // Split for heat waits for 60 s of sustained heat (split-for-heat.ts); run 75.
  for (let second = 0; second < 75; second++) {
    clock.advance(1000);
    lastThrottles.single = (await putAll(db, 'single', new Array<string>(12).fill('only'))).length;
    lastThrottles.pair = (await putAll(db, 'pair', [...new Array<string>(6).fill(pair[0]!), ...new Array<string>(6).fill(pair[1]!)])).length;
  }
  const snapshot = db.capacityMetrics();
  const singleEvents = snapshot.events.filter((e) => e.table === 'single' && (e.kind === 'split' || e.kind === 'split-refused'));
  t.ok(singleEvents.length > 0, 'split for heat considered the hot partition');
  t.ok(singleEvents.every((e) => e.kind === 'split-refused' && e.reason === 'single-item'), 'and refused: a single item is never split');
  t.equal(resourceOf(snapshot, 'single').splits, 0);
  t.equal(lastThrottles.single, 2, 'still throttled after the refusal: 12 writes/s on one item, 10 admitted');

  const pairSplits = snapshot.events.filter((e) => e.table === 'pair' && e.kind === 'split');
  t.equal(pairSplits.length, 1, 'the partition holding two hot items split');
  t.equal(resourceOf(snapshot, 'pair').partitions.length, 9, 'a ninth partition');
  t.equal(lastThrottles.pair, 0, 'after the split each item has its own partition: nothing throttles');
});

t.test('enforce: on-demand accommodates double its previous peak', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  await db.createTable(table('ondemand', 'PAY_PER_REQUEST'));
  const start = resourceOf(db.capacityMetrics(), 'ondemand');
  t.equal(start.writeUnitsPerSecond, 4000 * SCALE, 'a new on-demand table sustains 4,000 WRU/s at once');
  t.equal(start.onDemand?.writePreviousPeakUnits, 2000 * SCALE, 'as double a previous peak of half that');

  // Sustain the limit for a few seconds, spread over the 8 partitions: a new peak of 40.
  t.equal(start.partitions.length, 8, 'ceil(12,000 / 3,000 + 4,000 / 1,000) = 8 partitions');
  const eighths = keysPerPartition(db, 'ondemand', 5, 'k');
  for (let second = 0; second < 3; second++) {
    clock.advance(1000);
    t.equal((await putAll(db, 'ondemand', eighths.flat())).length, 0, `second ${second}: 40 WRU admitted`);
  }
  const over = await putAll(db, 'ondemand', ['k-extra']);
  t.equal(over.length, 1, 'a 41st write in the same second throttles');
  t.equal(over[0]!.name, 'ThrottlingException');
  t.equal(over[0]!.message, ON_DEMAND_TABLE_MESSAGE);

  // "Instantly accommodates up to double the previous peak"; a peak counts once 30 minutes old (on-demand.ts).
  clock.advance(30 * 60 * 1000 + 1000);
  t.equal((await putAll(db, 'ondemand', ['wake'])).length, 0);
  const later = resourceOf(db.capacityMetrics(), 'ondemand');
  t.equal(later.onDemand?.writePreviousPeakUnits, 40, 'the previous peak is now the 40 WRU sustained');
  t.equal(later.writeUnitsPerSecond, 80, 'and the table accommodates double: 80');
  t.equal(later.partitions.length, 12, 'with partitions for it: ceil(120 / 30 + 80 / 10) = 12');
  clock.advance(1000);
  const twelfths = keysPerPartition(db, 'ondemand', 6, 'm');
  t.equal((await putAll(db, 'ondemand', twelfths.flat())).length, 0, '72 WRU in one second, beyond the first 40: nothing throttled');
});

t.test('observe: nothing is refused, would-be throttles are reported', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'observe', clock);
  await db.createTable(table('watched', { ReadCapacityUnits: 1, WriteCapacityUnits: 3900 }));
  for (let second = 0; second < 3; second++) {
    clock.advance(1000);
    t.equal((await putAll(db, 'watched', new Array<string>(24).fill('STATUS#ACTIVE'))).length, 0, 'every write succeeds');
  }
  const item = await db.getItem({ TableName: 'watched', Key: { pk: { S: 'STATUS#ACTIVE' } }, ConsistentRead: true });
  t.ok(item.Item, 'the writes were made');
  const watched = resourceOf(db.capacityMetrics(), 'watched');
  t.equal(watched.throttledTotal, 3 * 14, 'the throttles an enforced run would have met');
  t.equal(watched.mostThrottledKeys[0]?.key, 'STATUS#ACTIVE');
  t.equal(watched.consumedWriteUnits.at(-1), 10, 'accounted as under enforcement: a would-be throttle consumes nothing');
  t.equal(db.capacityMetrics().mode, 'observe');
});

t.test('enforce: BatchWriteItem returns throttled writes in UnprocessedItems, BatchGetItem throttled keys in UnprocessedKeys', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  // 300 RCU / 300 WCU at 0.01: one partition sharing 3 RCU and 3 WCU per second, one second banked at creation.
  await db.createTable(table('batch', { ReadCapacityUnits: 300, WriteCapacityUnits: 300 }));
  // No time passes: the one second banked at creation is all there is.
  db.capacityMetrics();
  const puts = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { pk: { S: `b${i}` } } as AttributeMap } }));
  const first = await db.batchWriteItem({ RequestItems: { batch: puts } });
  t.equal(first.UnprocessedItems['batch']?.length, 22, '3 WCU admitted, 22 writes unprocessed');
  const again = await dynamoDbRejection(db.batchWriteItem({ RequestItems: { batch: puts.slice(0, 5) } }));
  t.equal(again.name, 'ProvisionedThroughputExceededException', 'nothing could be written: the batch throttles');
  t.same(again.throttlingReasons?.map((r) => r.reason), ['TableWriteProvisionedThroughputExceeded'], 'the table\'s share, not the partition\'s 10 WCU cap');

  const keys = Array.from({ length: 10 }, (_, i) => ({ pk: { S: `b${i}` } }));
  const read = await db.batchGetItem({ RequestItems: { batch: { Keys: keys } } });
  t.equal((read.UnprocessedKeys['batch'] as { Keys: unknown[] } | undefined)?.Keys.length, 4, 'eventual reads cost 0.5: 6 within 3 RCU, 4 keys unprocessed');
  t.ok(read.Responses['batch']!.length <= 6, 'of which the written ones come back');
});

t.test('the SDK sees ProvisionedThroughputExceededException and ThrottlingException with their ThrottlingReasons', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  await db.createTable(table('sdk', { ReadCapacityUnits: 300, WriteCapacityUnits: 300 }));
  await db.createTable(table('sdk-od', 'PAY_PER_REQUEST'));
  const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1, requestHandler: createRequestHandler({ dispatcher: db }) });
  t.teardown(() => client.destroy());
  clock.advance(1000);
  for (let i = 0; i < 3; i++) await client.send(new PutItemCommand({ TableName: 'sdk', Item: { pk: { S: `s${i}` } } }));
  const error = await client.send(new PutItemCommand({ TableName: 'sdk', Item: { pk: { S: 's3' } } })).then(() => undefined, (e: unknown) => e);
  t.ok(error instanceof ProvisionedThroughputExceededException, 'ProvisionedThroughputExceededException');
  const provisioned = error as ProvisionedThroughputExceededException;
  t.equal(provisioned.message, PROVISIONED_TABLE_MESSAGE);
  const arn = (await db.describeTable({ TableName: 'sdk' })).Table.TableArn;
  t.same(provisioned.ThrottlingReasons, [{ reason: 'TableWriteProvisionedThroughputExceeded', resource: arn }]);

  // On-demand: 11 writes to one key in one second pass the partition's 10 WRU.
  const results = await Promise.allSettled(Array.from({ length: 11 }, (_, i) => client.send(new PutItemCommand({ TableName: 'sdk-od', Item: { pk: { S: 'one' }, n: { N: String(i) } } }))));
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.equal(rejected.length, 1);
  t.ok(rejected[0]!.reason instanceof ThrottlingException, 'ThrottlingException');
  const odArn = (await db.describeTable({ TableName: 'sdk-od' })).Table.TableArn;
  t.same((rejected[0]!.reason as ThrottlingException).throttlingReasons, [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: odArn }]);

  // BatchWriteItem through the SDK: the unprocessed writes come back for the caller's retry.
  clock.advance(1000);
  const batch = await client.send(new BatchWriteItemCommand({ RequestItems: { sdk: Array.from({ length: 5 }, (_, i) => ({ PutRequest: { Item: { pk: { S: `w${i}` } } } })) } }));
  t.equal(batch.UnprocessedItems?.['sdk']?.length, 2);
});

t.test('every operation charges what ReturnConsumedCapacity reports, to the partition of its key', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'observe', clock, 1); // unscaled: nothing here comes near a limit
  await db.createTable({
    TableName: 'costs',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  clock.advance(1000);
  const big = 'x'.repeat(5000); // 5 KB: 5 WCU to write, 2 RCU to read strongly
  let writeUnits = 0;
  let readUnits = 0;
  const units = (output: { ConsumedCapacity?: { CapacityUnits: number } | Array<{ CapacityUnits: number }> }): number =>
    [output.ConsumedCapacity ?? []].flat().reduce((sum, c) => sum + c.CapacityUnits, 0);
  for (let sk = 0; sk < 3; sk++) writeUnits += units(await db.putItem({ TableName: 'costs', Item: { pk: { S: 'p' }, sk: { N: String(sk) }, v: { S: big } }, ReturnConsumedCapacity: 'TOTAL' }));
  writeUnits += units(await db.updateItem({ TableName: 'costs', Key: { pk: { S: 'p' }, sk: { N: '0' } }, UpdateExpression: 'SET w = :w', ExpressionAttributeValues: { ':w': { N: '1' } }, ReturnConsumedCapacity: 'TOTAL' }));
  writeUnits += units(await db.deleteItem({ TableName: 'costs', Key: { pk: { S: 'p' }, sk: { N: '9' } }, ReturnConsumedCapacity: 'TOTAL' }));
  writeUnits += units(await db.batchWriteItem({ RequestItems: { costs: [{ PutRequest: { Item: { pk: { S: 'q' }, sk: { N: '1' } } } }, { DeleteRequest: { Key: { pk: { S: 'p' }, sk: { N: '2' } } } }] }, ReturnConsumedCapacity: 'TOTAL' }));
  readUnits += units(await db.getItem({ TableName: 'costs', Key: { pk: { S: 'p' }, sk: { N: '0' } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));
  readUnits += units(await db.getItem({ TableName: 'costs', Key: { pk: { S: 'p' }, sk: { N: '1' } }, ReturnConsumedCapacity: 'TOTAL' }));
  readUnits += units(await db.query({ TableName: 'costs', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, ReturnConsumedCapacity: 'TOTAL' }));
  readUnits += units(await db.scan({ TableName: 'costs', ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }));
  readUnits += units(await db.batchGetItem({ RequestItems: { costs: { Keys: [{ pk: { S: 'p' }, sk: { N: '0' } }, { pk: { S: 'z' }, sk: { N: '0' } }] } }, ReturnConsumedCapacity: 'TOTAL' }));
  t.ok(writeUnits >= 15 && readUnits >= 4, `the operations reported ${writeUnits} WCU and ${readUnits} RCU`);
  const costs = resourceOf(db.capacityMetrics(), 'costs');
  t.equal(costs.consumedWriteUnits.at(-1), writeUnits, `write units charged = reported (${String(costs.consumedWriteUnits.at(-1))} vs ${writeUnits})`);
  t.equal(costs.consumedReadUnits.at(-1), readUnits, 'read units charged = reported');
  const byKey = Object.fromEntries(costs.mostConsumedKeys.map((k) => [k.key, k.count]));
  t.ok(byKey['p']! > byKey['q']!, 'partition key p consumed the most');
  t.equal(byKey['(Scan)'], units(await db.scan({ TableName: 'costs', ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' })), 'a Scan is listed as such');
});

t.test('capacityUpdates streams snapshots with only new events, and ends when the database closes', async (t) => {
  const clock = new TestClock();
  const db = await Database.open({ path: tempDir(t), nodes: 1, durability: 'none', capacity: 'observe', capacityScale: SCALE, capacityClock: clock.now });
  await db.createTable(table('live', 'PAY_PER_REQUEST'));
  const updates = db.capacityUpdates({ intervalMs: 50 });
  const first = await updates.next();
  t.equal(first.done, false);
  t.ok(first.value && resourceOf(first.value, 'live'), 'a table appears before any traffic');
  await db.close();
  const rest: CapacitySnapshot[] = [];
  for await (const snapshot of updates) rest.push(snapshot);
  t.ok(rest.length <= 1, 'the iteration ends once the database closed');

  // Capacity 'off': snapshots say so, and the iteration ends with the database too.
  const off = await Database.open({ path: tempDir(t), nodes: 1, durability: 'none' });
  const offUpdates = off.capacityUpdates({ intervalMs: 50 });
  const offFirst = await offUpdates.next();
  t.equal(offFirst.value?.mode, 'off');
  t.same(offFirst.value?.resources, []);
  await off.close();
  let after = 0;
  for await (const snapshot of offUpdates) after += snapshot === undefined ? 0 : 1;
  t.ok(after <= 1, 'off: the iteration ends once the database closed');
});
