/**
 * Transactions, GSI back-pressure and failed conditional writes in the
 * capacity model, against real storage nodes, on a clock the test controls
 * (nothing asserts on timing). capacityScale 0.01: a partition's 1,000 WCU
 * are 10 per second, a GSI's provisioned 500 WCU are 5.
 *
 * - A transactional write costs double (reference §3): 5 single-item
 *   transactions of a small item use one partition's 10 WCU; the 6th is
 *   cancelled (TransactionCanceledException, reason ProvisionedThroughputExceeded
 *   on a provisioned table, ThrottlingError on an on-demand one), nothing applied.
 * - TransactGetItems reads cost double.
 * - A write that changes a GSI charges the index's write capacity; an index
 *   without it throttles the base write (IndexWriteProvisionedThroughputExceeded,
 *   with the index ARN), a write the index does not see is not held back.
 * - A write whose condition fails consumes write units.
 */
import t, { type Test } from 'tap';
import { Database, DynamoDbError, type AttributeMap } from '../lib/index.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import { PROVISIONED_TABLE_MESSAGE, ON_DEMAND_TABLE_MESSAGE } from '../lib/tables/capacity/capacity-model.js';
import type { CapacitySnapshot, ResourceSnapshot } from '../lib/tables/capacity/capacity-snapshot.js';
import type { CatalogState } from '../lib/tables/table-catalog.js';
import { tempDir } from './helpers/temp-store.js';

const SCALE = 0.01;

class TestClock {
  nowMs = 1_700_000_000_000;
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

async function openDatabase(t: Test, capacity: 'observe' | 'enforce', clock: TestClock): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), nodes: 2, durability: 'none', capacity, capacityScale: SCALE, capacityClock: clock.now });
  t.teardown(() => db.close());
  return db;
}

type Billing = { WriteCapacityUnits: number; ReadCapacityUnits: number } | 'PAY_PER_REQUEST';

function table(name: string, billing: Billing, gsi?: Billing) {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }, ...(gsi === undefined ? [] : [{ AttributeName: 'color', AttributeType: 'S' as const }])],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
    ...(billing === 'PAY_PER_REQUEST' ? { BillingMode: 'PAY_PER_REQUEST' as const } : { ProvisionedThroughput: billing }),
    ...(gsi === undefined
      ? {}
      : {
          GlobalSecondaryIndexes: [{
            IndexName: 'byColor',
            KeySchema: [{ AttributeName: 'color', KeyType: 'HASH' as const }],
            Projection: { ProjectionType: 'KEYS_ONLY' as const },
            ...(gsi === 'PAY_PER_REQUEST' ? {} : { ProvisionedThroughput: gsi }),
          }],
        }),
  };
}

function resourceOf(snapshot: CapacitySnapshot, name: string, index?: string): ResourceSnapshot {
  const found = snapshot.resources.find((r) => r.table === name && r.index === index);
  if (found === undefined) throw new Error(`no metrics for ${name}`);
  return found;
}

/** The partition-key hash the model places a key by: the token of its engine key. */
function hashOf(db: Database, name: string, pk: string): number {
  const id = (db as unknown as { catalog: CatalogState }).catalog.tables[name]!.id;
  return splitPartitionedKey(encodeItemKey(id, { S: pk }).key).token;
}

/** `count` distinct keys inside each partition of the table's current layout. */
function keysPerPartition(db: Database, name: string, count: number, prefix: string): string[][] {
  const partitions = resourceOf(db.capacityMetrics(), name).partitions;
  const buckets = partitions.map((): string[] => []);
  for (let i = 0; buckets.some((b) => b.length < count); i++) {
    const pk = `${prefix}-${i}`;
    const hash = hashOf(db, name, pk);
    const at = partitions.findIndex((p) => p.start.hash <= hash && hash < p.end.hash);
    if (buckets[at]!.length < count) buckets[at]!.push(pk);
  }
  return buckets;
}

function lastSecondUnits(resource: ResourceSnapshot, kind: 'consumedWriteUnits' | 'consumedReadUnits'): number {
  return resource.partitions.reduce((sum, p) => sum + (p[kind].at(-1) ?? 0), 0);
}

type Canceled = DynamoDbError & { cancellationReasons?: Array<{ Code: string; Message?: string }> };

async function transactPut(db: Database, name: string, items: AttributeMap[]): Promise<Canceled | undefined> {
  return db.transactWriteItems({ TransactItems: items.map((Item) => ({ Put: { TableName: name, Item } })) }).then(() => undefined, (error: unknown) => {
    if (error instanceof DynamoDbError && error.name === 'TransactionCanceledException') return error as Canceled;
    throw error;
  });
}

for (const [billing, code, message] of [
  [{ ReadCapacityUnits: 3000, WriteCapacityUnits: 3900 }, 'ProvisionedThroughputExceeded', PROVISIONED_TABLE_MESSAGE],
  ['PAY_PER_REQUEST', 'ThrottlingError', ON_DEMAND_TABLE_MESSAGE],
] as const) {
  t.test(`enforce (${billing === 'PAY_PER_REQUEST' ? 'on-demand' : 'provisioned'}): transactional writes cost double; a throttled transaction is cancelled with ${code}, nothing applied`, async (t) => {
    const clock = new TestClock();
    const db = await openDatabase(t, 'enforce', clock);
    await db.createTable(table('hot', billing));
    const [first, second] = keysPerPartition(db, 'hot', 1, 'k');
    const hot = first![0]!;
    const cold = second![0]!;
    clock.advance(1000);
    const outcomes: Array<Canceled | undefined> = [];
    for (let i = 0; i < 6; i++) outcomes.push(await transactPut(db, 'hot', [{ pk: { S: hot }, n: { N: String(i) } }]));
    t.same(outcomes.slice(0, 5), [undefined, undefined, undefined, undefined, undefined], 'five transactions of 2 WCU each fit the partition\'s 10');
    t.same(outcomes[5]?.cancellationReasons, [{ Code: code, Message: message }], 'the sixth is cancelled with the throttle\'s reason');
    t.same((await db.getItem({ TableName: 'hot', Key: { pk: { S: hot } } })).Item, { pk: { S: hot }, n: { N: '4' } }, 'the cancelled one applied nothing');
    t.equal(lastSecondUnits(resourceOf(db.capacityMetrics(), 'hot'), 'consumedWriteUnits'), 10, 'the model saw 5 × 2 WCU');

    const mixed = await transactPut(db, 'hot', [{ pk: { S: cold }, n: { N: '1' } }, { pk: { S: hot }, n: { N: '9' } }]);
    t.same(mixed?.cancellationReasons?.map((r) => r.Code), ['None', code], 'one reason per action, None for the admitted one');
    t.equal((await db.getItem({ TableName: 'hot', Key: { pk: { S: cold } } })).Item, undefined, 'the admitted action was not applied either');
  });
}

t.test('TransactGetItems reads cost double', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'observe', clock);
  await db.createTable(table('reads', { ReadCapacityUnits: 3000, WriteCapacityUnits: 1000 }));
  await db.putItem({ TableName: 'reads', Item: { pk: { S: 'a' } } });
  clock.advance(1000);
  await db.transactGetItems({ TransactItems: [{ Get: { TableName: 'reads', Key: { pk: { S: 'a' } } } }, { Get: { TableName: 'reads', Key: { pk: { S: 'missing' } } } }] });
  t.equal(lastSecondUnits(resourceOf(db.capacityMetrics(), 'reads'), 'consumedReadUnits'), 4, 'two items, 2 RCU each (a missing item costs as a small one)');
});

t.test('GSI back-pressure: an index without write capacity throttles the base table\'s writes to it', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'enforce', clock);
  await db.createTable(table('orders', { ReadCapacityUnits: 3000, WriteCapacityUnits: 3900 }, { ReadCapacityUnits: 1, WriteCapacityUnits: 500 }));
  const arn = (await db.describeTable({ TableName: 'orders' })).Table.TableArn;
  const keys = keysPerPartition(db, 'orders', 5, 'o').flat();
  /** Puts every key once at one instant; the throttles. */
  const putAll = async (item: (pk: string) => AttributeMap): Promise<DynamoDbError[]> => {
    const throttles: DynamoDbError[] = [];
    for (const pk of keys) {
      await db.putItem({ TableName: 'orders', Item: item(pk) }).catch((error: unknown) => {
        if (!(error instanceof DynamoDbError) || error.name !== 'ProvisionedThroughputExceededException') throw error;
        throttles.push(error);
      });
    }
    return throttles;
  };
  clock.advance(1000);
  t.same(await putAll((pk) => ({ pk: { S: pk } })), [], 'writes the index does not see: the table\'s capacity admits them all');
  clock.advance(1000);
  const throttles = await putAll((pk) => ({ pk: { S: pk }, color: { S: 'red' } }));
  t.ok(throttles.length > 0 && throttles.length < keys.length, `the same writes, each adding an index entry, are held back by the index's 5 WCU (${throttles.length} of ${keys.length} throttled)`);
  t.ok(throttles.every((error) => error.throttlingReasons?.length === 1 && /^IndexWrite/.test(error.throttlingReasons[0]!.reason) && error.throttlingReasons[0]!.resource === `${arn}/index/byColor`), 'each throttle names the index and an IndexWrite reason');
  clock.advance(1000);
  const stored = await Promise.all(keys.map(async (pk) => (await db.getItem({ TableName: 'orders', Key: { pk: { S: pk } } })).Item?.['color'] !== undefined));
  t.equal(stored.filter(Boolean).length, keys.length - throttles.length, 'a throttled write was not applied');
  clock.advance(1000);
  const admitted: Array<Canceled | undefined> = [];
  for (let i = 0; i < 10; i++) admitted.push(await transactPut(db, 'orders', [{ pk: { S: `tx-${i}` }, color: { S: 'red' } }]));
  t.ok(admitted.some((outcome) => outcome?.cancellationReasons?.[0]?.Code === 'ProvisionedThroughputExceeded'), 'transactions writing to the index are cancelled by its throttle');
  t.ok(resourceOf(db.capacityMetrics(), 'orders', 'byColor').throttledTotal >= throttles.length, 'the throttles are counted on the index');
});

t.test('a write whose condition fails consumes write units', async (t) => {
  const clock = new TestClock();
  const db = await openDatabase(t, 'observe', clock);
  await db.createTable(table('cond', { ReadCapacityUnits: 3000, WriteCapacityUnits: 1000 }));
  await db.putItem({ TableName: 'cond', Item: { pk: { S: 'a' }, pad: { S: 'x'.repeat(2500) } } });
  clock.advance(1000);
  const failed = (input: Parameters<Database['putItem']>[0]) => db.putItem(input).then(() => false, (error: unknown) => error instanceof DynamoDbError && error.name === 'ConditionalCheckFailedException');
  t.ok(await failed({ TableName: 'cond', Item: { pk: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
  t.equal(lastSecondUnits(resourceOf(db.capacityMetrics(), 'cond'), 'consumedWriteUnits'), 3, 'an existing item of 2.5 KB: 3 WCU');
  clock.advance(1000);
  t.ok(await failed({ TableName: 'cond', Item: { pk: { S: 'b' } }, ConditionExpression: 'attribute_exists(pk)' }));
  t.equal(lastSecondUnits(resourceOf(db.capacityMetrics(), 'cond'), 'consumedWriteUnits'), 1, 'no item: 1 WCU');
});
