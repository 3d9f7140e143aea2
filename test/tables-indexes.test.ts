/**
 * Secondary indexes against real storage nodes (issue 13 §1, §2, §6): GSIs
 * applied asynchronously from the change log (visible lag under gsiLagMs,
 * then caught up), projections, sparse and non-unique index keys, Query and
 * Scan of an index with paging; a GSI added by UpdateTable and backfilled
 * while writes continue; the index equal to a full recomputation after a
 * node crash mid-load; LSIs maintained in the item's own write (strongly
 * consistent), the item collection limit and ReturnItemCollectionMetrics.
 *
 * "Equal to a full recomputation": every index entry is what the table's
 * items, read through a consistent Scan once writes stopped, project into
 * the index, and nothing else.
 */
import t, { type Test } from 'tap';
import { Database, type AttributeMap } from '../lib/index.js';
import { eventually, tempDir } from './helpers/temp-store.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';

type Projection = { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };

async function open(t: Test, options: Partial<Parameters<typeof Database.open>[0]> = {}): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), nodes: 4, durability: 'none', ...options });
  t.teardown(() => db.close());
  return db;
}

function table(name: string, globals: Array<{ name: string; pk: string; sk?: string; projection: Projection }>, definitions: Array<[string, 'S' | 'N']>) {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }, { AttributeName: 'sk', AttributeType: 'N' as const }, ...definitions.map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }))],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'sk', KeyType: 'RANGE' as const }],
    BillingMode: 'PAY_PER_REQUEST' as const,
    GlobalSecondaryIndexes: globals.map((index) => ({
      IndexName: index.name,
      KeySchema: [{ AttributeName: index.pk, KeyType: 'HASH' as const }, ...(index.sk === undefined ? [] : [{ AttributeName: index.sk, KeyType: 'RANGE' as const }])],
      Projection: index.projection,
    })),
  };
}

/** Every page of a Query or Scan. */
async function readAll(read: (start: AttributeMap | undefined) => Promise<{ Items?: AttributeMap[]; LastEvaluatedKey?: AttributeMap }>): Promise<AttributeMap[]> {
  const items: AttributeMap[] = [];
  let start: AttributeMap | undefined;
  do {
    const page = await read(start);
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** What the table's items project into an index: the recomputation the index must equal. */
function recompute(items: AttributeMap[], pk: string, sk: string | undefined, projection: Projection): string[] {
  const kept = (item: AttributeMap): AttributeMap => {
    if (projection.ProjectionType === 'ALL') return item;
    const names = new Set(['pk', 'sk', pk, ...(sk === undefined ? [] : [sk]), ...(projection.NonKeyAttributes ?? [])]);
    return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)));
  };
  return items.filter((item) => item[pk] !== undefined && (sk === undefined || item[sk] !== undefined)).map((item) => canonical(kept(item))).sort();
}

function canonical(item: AttributeMap): string {
  return JSON.stringify(Object.keys(item).sort().map((name) => [name, item[name]]));
}

async function indexContents(db: Database, tableName: string, indexName: string): Promise<string[]> {
  const items = await readAll((start) => db.scan({ TableName: tableName, IndexName: indexName, Limit: 97, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
  return items.map(canonical).sort();
}

async function tableContents(db: Database, tableName: string): Promise<AttributeMap[]> {
  return readAll((start) => db.scan({ TableName: tableName, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
}

t.test('a GSI: projections, sparse and non-unique keys, Query and Scan with paging, updates and deletes', async (t) => {
  const db = await open(t);
  await db.createTable(table('orders', [
    { name: 'byStatus', pk: 'status', sk: 'total', projection: { ProjectionType: 'KEYS_ONLY' } },
    { name: 'byCustomer', pk: 'customer', projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['note'] } },
    { name: 'all', pk: 'customer', sk: 'total', projection: { ProjectionType: 'ALL' } },
  ], [['status', 'S'], ['total', 'N'], ['customer', 'S']]));
  for (let i = 0; i < 30; i++) {
    const item: AttributeMap = { pk: { S: `o${i % 7}` }, sk: { N: String(i) }, customer: { S: `c${i % 3}` }, total: { N: String(i % 5) }, note: { S: `n${i}` }, extra: { S: 'x' } };
    if (i % 4 !== 0) item['status'] = { S: i % 2 === 0 ? 'OPEN' : 'SHIPPED' }; // every 4th item is not in byStatus (sparse)
    await db.putItem({ TableName: 'orders', Item: item });
  }
  await db.indexes.settle();

  const openItems = await readAll((start) => db.query({
    TableName: 'orders', IndexName: 'byStatus', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'OPEN' } }, Limit: 4,
    ...(start === undefined ? {} : { ExclusiveStartKey: start }),
  }));
  const expectedOpen = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 4 !== 0 && i % 2 === 0);
  t.same(openItems.map((item) => Number((item['sk'] as { N: string }).N)).sort((a, b) => a - b), expectedOpen, 'every OPEN item once across pages (non-unique index keys)');
  t.same(Object.keys(openItems[0]!).sort(), ['pk', 'sk', 'status', 'total'], 'KEYS_ONLY keeps the table and index keys');
  const totals = openItems.map((item) => Number((item['total'] as { N: string }).N));
  t.same(totals, [...totals].sort((a, b) => a - b), 'in index sort key order');

  const page = await db.query({ TableName: 'orders', IndexName: 'byStatus', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'OPEN' } }, Limit: 2 });
  t.same(Object.keys(page.LastEvaluatedKey ?? {}).sort(), ['pk', 'sk', 'status', 'total'], 'LastEvaluatedKey holds the table and index keys');

  const c1 = await db.query({ TableName: 'orders', IndexName: 'byCustomer', KeyConditionExpression: 'customer = :c', ExpressionAttributeValues: { ':c': { S: 'c1' } } });
  t.equal(c1.Count, 10);
  t.same(Object.keys(c1.Items![0]!).sort(), ['customer', 'note', 'pk', 'sk'], 'INCLUDE adds NonKeyAttributes');
  const filtered = await db.query({ TableName: 'orders', IndexName: 'all', KeyConditionExpression: 'customer = :c AND #t >= :t', FilterExpression: 'note = :n', ExpressionAttributeNames: { '#t': 'total' }, ExpressionAttributeValues: { ':c': { S: 'c1' }, ':t': { N: '3' }, ':n': { S: 'n4' } } });
  t.same(filtered.Items, [{ pk: { S: 'o4' }, sk: { N: '4' }, customer: { S: 'c1' }, total: { N: '4' }, note: { S: 'n4' }, extra: { S: 'x' } }], 'key condition, filter, ALL projection');

  const consistent = await dynamoDbRejection(db.query({ TableName: 'orders', IndexName: 'byStatus', ConsistentRead: true, KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'OPEN' } } }));
  t.equal(consistent.message, 'Consistent reads are not supported on global secondary indexes');
  const allAttributes = await dynamoDbRejection(db.query({ TableName: 'orders', IndexName: 'byStatus', Select: 'ALL_ATTRIBUTES', KeyConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'OPEN' } } }));
  t.equal(allAttributes.message, 'One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index byStatus because its projection type is not ALL');

  // Move an item to another index key, drop one out of the sparse index, delete one.
  await db.updateItem({ TableName: 'orders', Key: { pk: { S: 'o2' }, sk: { N: '2' } }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': { S: 'SHIPPED' } } });
  await db.updateItem({ TableName: 'orders', Key: { pk: { S: 'o6' }, sk: { N: '6' } }, UpdateExpression: 'REMOVE #s', ExpressionAttributeNames: { '#s': 'status' } });
  await db.deleteItem({ TableName: 'orders', Key: { pk: { S: 'o3' }, sk: { N: '10' } } });
  await db.indexes.settle();
  const items = await tableContents(db, 'orders');
  t.same(await indexContents(db, 'orders', 'byStatus'), recompute(items, 'status', 'total', { ProjectionType: 'KEYS_ONLY' }), 'byStatus equals its recomputation');
  t.same(await indexContents(db, 'orders', 'byCustomer'), recompute(items, 'customer', undefined, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['note'] }), 'byCustomer equals its recomputation');
  t.same(await indexContents(db, 'orders', 'all'), recompute(items, 'customer', 'total', { ProjectionType: 'ALL' }), 'all equals its recomputation');
  const described = (await db.describeTable({ TableName: 'orders' })).Table.GlobalSecondaryIndexes!.find((index) => index.IndexName === 'byStatus')!;
  t.equal(described.IndexStatus, 'ACTIVE');
  t.equal(described.ItemCount, recompute(items, 'status', 'total', { ProjectionType: 'KEYS_ONLY' }).length, 'ItemCount counts the entries');
  t.ok(described.IndexSizeBytes > 0);
  t.equal(described.IndexArn, `${(await db.describeTable({ TableName: 'orders' })).Table.TableArn}/index/byStatus`);
});

t.test('gsiLagMs: a GSI visibly lags, shows its pending changes, then catches up', async (t) => {
  const lagMs = 3000;
  const db = await open(t, { gsiLagMs: lagMs });
  await db.createTable(table('events', [{ name: 'byKind', pk: 'kind', projection: { ProjectionType: 'ALL' } }], [['kind', 'S']]));
  const writtenAt = Date.now();
  for (let i = 0; i < 5; i++) await db.putItem({ TableName: 'events', Item: { pk: { S: `e${i}` }, sk: { N: '1' }, kind: { S: 'click' } } });
  const query = () => db.query({ TableName: 'events', IndexName: 'byKind', KeyConditionExpression: 'kind = :k', ExpressionAttributeValues: { ':k': { S: 'click' } } });
  const early = await query();
  const lag = db.stats().indexes.lag['events/byKind']!;
  // The applier never applies a change before its commit time plus gsiLagMs: this holds whatever the machine's speed.
  if (Date.now() < writtenAt + lagMs) {
    t.equal(early.Count, 0, 'the base write is acknowledged; the index does not have it yet');
    t.ok(lag.pendingChanges >= 1, `db.stats() shows pending changes (${lag.pendingChanges})`);
    t.equal(lag.lagMs, lagMs);
  } else t.comment('the machine took longer than gsiLagMs to get here: the lag is not observable in this run');
  t.same((await db.getItem({ TableName: 'events', Key: { pk: { S: 'e0' }, sk: { N: '1' } } })).Item?.['kind'], { S: 'click' }, 'the table has it');
  t.ok(await eventually(async () => (await query()).Count === 5, 30_000), 'the index catches up');
  t.ok(await eventually(() => db.stats().indexes.lag['events/byKind']!.pendingChanges === 0, 10_000), 'and nothing is pending');
  db.indexes.setGsiLag('events', 'byKind', 0);
  await db.putItem({ TableName: 'events', Item: { pk: { S: 'e9' }, sk: { N: '1' }, kind: { S: 'click' } } });
  t.ok(await eventually(async () => (await query()).Count === 6, 10_000), 'a per-index override of 0 applies at once');
});

t.test('UpdateTable adds a GSI to a live table: backfilled while writes continue, then equal to its recomputation', async (t) => {
  const db = await open(t);
  await db.createTable({ ...table('users', [], []), GlobalSecondaryIndexes: undefined });
  const items = Number(process.env['RINGTABLE_BACKFILL_ITEMS'] ?? 2000);
  const batch = 25;
  for (let i = 0; i < items; i += batch) {
    await db.batchWriteItem({ RequestItems: { users: Array.from({ length: Math.min(batch, items - i) }, (_, j) => ({ PutRequest: { Item: { pk: { S: `u${i + j}` }, sk: { N: '0' }, city: { S: `city${(i + j) % 13}` }, age: { N: String((i + j) % 90) } } } })) } });
  }
  let writing = true;
  let writes = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const id = (i * 7919) % items;
      if (i % 10 === 9) await db.deleteItem({ TableName: 'users', Key: { pk: { S: `u${id}` }, sk: { N: '0' } } });
      else await db.putItem({ TableName: 'users', Item: { pk: { S: `u${id}` }, sk: { N: '0' }, city: { S: `city${i % 17}` }, age: { N: String(i % 90) } } });
      writes++;
    }
  })();
  const created = await db.updateTable({
    TableName: 'users',
    AttributeDefinitions: [{ AttributeName: 'city', AttributeType: 'S' }],
    GlobalSecondaryIndexUpdates: [{ Create: { IndexName: 'byCity', KeySchema: [{ AttributeName: 'city', KeyType: 'HASH' }, { AttributeName: 'pk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['age'] } } }],
  });
  const creating = created.TableDescription.GlobalSecondaryIndexes!.find((index) => index.IndexName === 'byCity') as { IndexStatus: string; Backfilling?: boolean };
  t.equal(creating.IndexStatus, 'CREATING');
  t.equal(creating.Backfilling, true);
  const duringBackfill = await dynamoDbRejection(db.query({ TableName: 'users', IndexName: 'byCity', KeyConditionExpression: 'city = :c', ExpressionAttributeValues: { ':c': { S: 'city1' } } }));
  t.equal(duringBackfill.message, 'Cannot read from backfilling global secondary index: byCity');
  const active = await eventually(async () => (await db.describeTable({ TableName: 'users' })).Table.GlobalSecondaryIndexes?.[0]?.IndexStatus === 'ACTIVE', 300_000, 100);
  t.ok(active, 'the index becomes ACTIVE');
  writing = false;
  await writer;
  t.ok(writes > 0, `${writes} writes ran during the backfill`);
  await db.indexes.settle();
  const base = await tableContents(db, 'users');
  t.same(await indexContents(db, 'users', 'byCity'), recompute(base, 'city', 'pk', { ProjectionType: 'INCLUDE', NonKeyAttributes: ['age'] }), `the index equals its recomputation over ${base.length} items`);

  const deleted = await db.updateTable({ TableName: 'users', GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'byCity' } }] });
  t.equal(deleted.TableDescription.GlobalSecondaryIndexes?.[0]?.IndexStatus, 'DELETING');
  await db.indexes.idle();
  t.equal((await db.describeTable({ TableName: 'users' })).Table.GlobalSecondaryIndexes, undefined, 'a deleted index is gone');
  const gone = await dynamoDbRejection(db.scan({ TableName: 'users', IndexName: 'byCity' }));
  t.equal(gone.message, 'The table does not have the specified index: byCity');
});

t.test('a node crash mid-load: the index still equals its recomputation once the system is quiet', async (t) => {
  const db = await open(t);
  await db.createTable(table('accounts', [{ name: 'byOwner', pk: 'owner', sk: 'balance', projection: { ProjectionType: 'ALL' } }], [['owner', 'S'], ['balance', 'N']]));
  const keys = 300;
  let failed = 0;
  const worker = async (seed: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const id = (seed * 31 + i * 17) % keys;
      try {
        await db.putItem({ TableName: 'accounts', Item: { pk: { S: `a${id}` }, sk: { N: '0' }, owner: { S: `o${(seed + i) % 11}` }, balance: { N: String(i) } } });
      } catch {
        failed++; // a write the crash failed: the table may or may not have it, and the index must follow the table either way
      }
    }
  };
  const load = Promise.all([1, 2, 3, 4].map((seed) => worker(seed, 250)));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const victim = db.store.nodes()[1]!.id;
  await db.store.crashNode(victim);
  await load;
  await db.store.startNode(victim);
  await db.indexes.settle();
  // GSI reads are eventual (any replica): the restarted node catches up by anti-entropy, as the system quiesces.
  await db.store.repair();
  // Repair may bring back a failed write's change record (committed on one replica): the applier takes it too.
  await db.indexes.settle();
  const base = await tableContents(db, 'accounts');
  t.ok(base.length > 0);
  t.same(await indexContents(db, 'accounts', 'byOwner'), recompute(base, 'owner', 'balance', { ProjectionType: 'ALL' }), `the index equals its recomputation (${failed} writes failed during the crash)`);
});

t.test('an LSI: written with the item, strongly consistent, fetches unprojected attributes; the item collection limit', async (t) => {
  const db = await open(t, { itemCollectionBytesMax: 2000 });
  await db.createTable({
    TableName: 'threads',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'at', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST',
    LocalSecondaryIndexes: [{ IndexName: 'byTime', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
  });
  for (let i = 0; i < 5; i++) await db.putItem({ TableName: 'threads', Item: { pk: { S: 't1' }, sk: { N: String(i) }, at: { N: String(100 - i) }, body: { S: `b${i}` } } });
  const byTime = await db.query({ TableName: 'threads', IndexName: 'byTime', ConsistentRead: true, KeyConditionExpression: 'pk = :p AND #at < :t', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':p': { S: 't1' }, ':t': { N: '99' } } });
  t.same(byTime.Items?.map((item) => item['sk']), [{ N: '4' }, { N: '3' }, { N: '2' }], 'a consistent LSI query sees every write at once, in LSI order');
  t.same(Object.keys(byTime.Items![0]!).sort(), ['at', 'pk', 'sk'], 'KEYS_ONLY');
  const fetched = await db.query({ TableName: 'threads', IndexName: 'byTime', Select: 'ALL_ATTRIBUTES', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 't1' } }, Limit: 1 });
  t.same(fetched.Items, [{ pk: { S: 't1' }, sk: { N: '4' }, at: { N: '96' }, body: { S: 'b4' } }], 'ALL_ATTRIBUTES fetches the item from the table');
  await db.updateItem({ TableName: 'threads', Key: { pk: { S: 't1' }, sk: { N: '4' } }, UpdateExpression: 'SET #at = :t', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':t': { N: '1' } } });
  const moved = await db.query({ TableName: 'threads', IndexName: 'byTime', ConsistentRead: true, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 't1' } } });
  t.same(moved.Items?.map((item) => item['at']), [{ N: '1' }, { N: '97' }, { N: '98' }, { N: '99' }, { N: '100' }], 'an updated LSI key moves its entry');

  const metrics = await db.putItem({ TableName: 'threads', Item: { pk: { S: 't1' }, sk: { N: '9' }, at: { N: '5' } }, ReturnItemCollectionMetrics: 'SIZE' });
  t.same(metrics.ItemCollectionMetrics, { ItemCollectionKey: { pk: { S: 't1' } }, SizeEstimateRangeGB: [0, 1] }, 'ReturnItemCollectionMetrics SIZE');
  const big = { S: 'x'.repeat(600) };
  let refused;
  for (let i = 10; i < 20 && refused === undefined; i++) {
    refused = await db.putItem({ TableName: 'threads', Item: { pk: { S: 't1' }, sk: { N: String(i) }, at: { N: String(i) }, body: big } }).then(() => undefined, (error: Error) => error);
  }
  t.equal(refused?.name, 'ItemCollectionSizeLimitExceededException', 'growing a full collection is refused');
  t.equal(refused?.message, 'Collection size exceeded.');
  await db.putItem({ TableName: 'threads', Item: { pk: { S: 't2' }, sk: { N: '1' }, at: { N: '1' }, body: big } });
  t.pass('another collection is not affected');
  await db.deleteItem({ TableName: 'threads', Key: { pk: { S: 't1' }, sk: { N: '10' } } });
  await db.putItem({ TableName: 'threads', Item: { pk: { S: 't1' }, sk: { N: '0' }, at: { N: '100' } } });
  t.pass('writes that shrink a full collection pass');
  const described = (await db.describeTable({ TableName: 'threads' })).Table.LocalSecondaryIndexes![0]!;
  t.ok(described.ItemCount > 0, `the LSI's ItemCount (${described.ItemCount})`);
});

t.test('UpdateTable: billing mode, throughput and stream settings stored and described; its checks', async (t) => {
  const db = await open(t);
  await db.createTable({ ...table('settings', [], []), GlobalSecondaryIndexes: undefined });
  const provisioned = await db.updateTable({ TableName: 'settings', BillingMode: 'PROVISIONED', ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 3 } });
  t.same(provisioned.TableDescription.BillingModeSummary, { BillingMode: 'PROVISIONED' });
  t.equal(provisioned.TableDescription.ProvisionedThroughput.ReadCapacityUnits, 7);
  const stream = await db.updateTable({ TableName: 'settings', StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  t.same((stream.TableDescription as { StreamSpecification?: unknown }).StreamSpecification, { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
  t.match((stream.TableDescription as { LatestStreamArn?: string }).LatestStreamArn, /table\/settings\/stream\//);
  t.equal((await dynamoDbRejection(db.updateTable({ TableName: 'settings' }))).message, 'At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
  t.equal((await dynamoDbRejection(db.updateTable({ TableName: 'settings', BillingMode: 'PROVISIONED' }))).message, 'One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED');
  const two = await dynamoDbRejection(db.updateTable({ TableName: 'settings', GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'abc' } }, { Delete: { IndexName: 'def' } }] }));
  t.equal(two.name, 'LimitExceededException');
  const reopened = db.describeTable({ TableName: 'settings' });
  t.equal((await reopened).Table.ProvisionedThroughput.WriteCapacityUnits, 3, 'kept in the catalog');
});
