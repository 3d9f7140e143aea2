/**
 * Secondary indexes in ConsumedCapacity and in the capacity model, and a
 * Scan page charged to every logical partition it read.
 *
 * - ReturnConsumedCapacity INDEXES (API reference: ConsumedCapacity): a write
 *   reports the table's part and each index whose entry it wrote (one unit
 *   per KB of the projected entry, two when the index key changes), the
 *   total in CapacityUnits; the shape the AWS CLI reference records for a
 *   table with an LSI is { TableName, CapacityUnits, Table: { CapacityUnits },
 *   LocalSecondaryIndexes: { name: { CapacityUnits } } }. A Query or Scan of
 *   an index reports the index's part and a Table part of 0 (dynalite
 *   db/index.js queryTable).
 * - A GSI read consumes the GSI's capacity; LSI writes consume the table's.
 * - A Scan page's units go to the partitions holding the items it read
 *   (scan-charge.ts), and add up to what ReturnConsumedCapacity reports.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { Database, type AttributeMap } from '../lib/index.js';
import { queryCapacity } from '../lib/tables/capacity-units.js';
import { CapacityModel } from '../lib/tables/capacity/capacity-model.js';
import { HASH_SPACE } from '../lib/tables/capacity/logical-partitions.js';
import { scanUnitsByPartition } from '../lib/tables/capacity/scan-charge.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import type { CapacitySnapshot, ResourceSnapshot } from '../lib/tables/capacity/capacity-snapshot.js';
import type { CatalogState } from '../lib/tables/table-catalog.js';
import { tempDir } from './helpers/temp-store.js';

// ---------------------------------------------------------------- pure

t.test('scanUnitsByPartition: each partition the blocks its items complete; the total is the page\'s', async (t) => {
  const kb = 1024;
  const spread = scanUnitsByPartition([
    { partitionId: 0, bytes: 3 * kb }, { partitionId: 0, bytes: 3 * kb }, // 6 KB: blocks 1 and 2
    { partitionId: 1, bytes: 5 * kb }, // 11 KB: block 3
    { partitionId: 2, bytes: 100 }, // 11.1 KB: still block 3
  ], 0, 'strong');
  t.same([...spread], [[0, 2], [1, 1]]);
  t.same([...scanUnitsByPartition([], 7, 'eventual')], [[7, 0.5]], 'an empty page: the minimum unit, where the page began');
  fc.assert(fc.property(
    fc.array(fc.record({ partitionId: fc.integer({ min: 0, max: 5 }), bytes: fc.integer({ min: 1, max: 400 * 1024 }) }), { maxLength: 40 }),
    fc.constantFrom('eventual' as const, 'strong' as const),
    (items, consistency) => {
      const units = [...scanUnitsByPartition(items, 0, consistency).values()];
      const sum = units.reduce((a, b) => a + b, 0);
      return sum === queryCapacity(items.map((i) => i.bytes), consistency) && units.every((u) => u > 0);
    },
  ));
});

t.test('a read charged over several partitions is admitted together or not at all, and lends once', async (t) => {
  const model = new CapacityModel({ mode: 'enforce', capacityScale: 0.01 });
  // 9,000 RCU × 0.01 = 90 RCU/s: four partitions (90/30 + 0.01/10 rounds up to 4), shares of 22.5.
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 9000, writeCapacityUnits: 1 } }, 0);
  const at = (i: number) => ({ partitionKeyHash: Math.floor((HASH_SPACE * i) / 4) + 1 });
  t.equal(model.describe('T', 0).partitions.length, 4);
  t.ok(model.charge({ table: 'T', ...at(0), readUnits: 20, readParts: [{ ...at(1), readUnits: 20 }], nowMs: 0 }).admitted, 'within both shares');
  t.same(model.describe('T', 0).partitions.map((p) => p.readBurstBalanceUnits), [2.5, 2.5, 22.5, 22.5], 'each partition paid its own part');
  t.ok(model.charge({ table: 'T', ...at(2), readUnits: 20, readParts: [{ ...at(3), readUnits: 20 }], nowMs: 0 }).admitted);
  // The table's unused throughput this second: 90 - 80 = 10. Two parts of 6 beyond their shares need 12 of it.
  const refused = model.charge({ table: 'T', ...at(0), readUnits: 6, readParts: [{ ...at(1), readUnits: 6 }], nowMs: 0 });
  t.equal(refused.admitted, false, 'what one part borrows is not lent again to the other');
  t.ok(model.charge({ table: 'T', ...at(0), readUnits: 6, nowMs: 0 }).admitted, 'the refused read took nothing: one part of 6 is lent');
  t.throws(() => model.charge({ table: 'T', ...at(0), readUnits: 1, readParts: [{ partitionKeyHash: 2, readUnits: 1 }], nowMs: 0 }), 'two parts on one partition are refused as a caller\'s mistake');
});

// ---------------------------------------------------------------- real storage nodes

class TestClock {
  nowMs = 1_700_000_000_000;
  readonly now = (): number => this.nowMs;
}

async function open(t: Test): Promise<{ db: Database; clock: TestClock }> {
  const clock = new TestClock();
  const db = await Database.open({ path: tempDir(t), nodes: 2, durability: 'none', capacity: 'observe', capacityScale: 0.01, capacityClock: clock.now });
  t.teardown(() => db.close());
  return { db, clock };
}

function resourceOf(snapshot: CapacitySnapshot, name: string, index?: string): ResourceSnapshot {
  const found = snapshot.resources.find((r) => r.table === name && r.index === index);
  if (found === undefined) throw new Error(`no metrics for ${name}/${index ?? ''}`);
  return found;
}

const INDEXED = {
  TableName: 'indexed',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const }, { AttributeName: 'sk', AttributeType: 'S' as const },
    { AttributeName: 'l', AttributeType: 'S' as const }, { AttributeName: 'g', AttributeType: 'S' as const },
  ],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'sk', KeyType: 'RANGE' as const }],
  ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 3000 },
  LocalSecondaryIndexes: [{ IndexName: 'byLocal', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'l', KeyType: 'RANGE' as const }], Projection: { ProjectionType: 'ALL' as const } }],
  GlobalSecondaryIndexes: [{ IndexName: 'byGlobal', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' as const }], Projection: { ProjectionType: 'KEYS_ONLY' as const }, ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 3000 } }],
};

t.test('ReturnConsumedCapacity INDEXES: writes name the table\'s part and each index written', async (t) => {
  const { db } = await open(t);
  await db.createTable(INDEXED);
  const item = (sk: string, extra: AttributeMap): AttributeMap => ({ pk: { S: 'p' }, sk: { S: sk }, ...extra });

  const put = await db.putItem({ TableName: 'indexed', Item: item('1', { l: { S: 'x' }, g: { S: 'red' } }), ReturnConsumedCapacity: 'INDEXES' });
  t.same(put.ConsumedCapacity, {
    TableName: 'indexed', CapacityUnits: 3, Table: { CapacityUnits: 1 },
    LocalSecondaryIndexes: { byLocal: { CapacityUnits: 1 } }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 1 } },
  }, 'a new item in both indexes: 1 + 1 + 1');
  const total = await db.putItem({ TableName: 'indexed', Item: item('2', { l: { S: 'x' }, g: { S: 'red' } }), ReturnConsumedCapacity: 'TOTAL' });
  t.same(total.ConsumedCapacity, { TableName: 'indexed', CapacityUnits: 3 }, 'TOTAL: the sum');

  const moved = await db.updateItem({ TableName: 'indexed', Key: { pk: { S: 'p' }, sk: { S: '1' } }, UpdateExpression: 'SET g = :g', ExpressionAttributeValues: { ':g': { S: 'blue' } }, ReturnConsumedCapacity: 'INDEXES' });
  t.same(moved.ConsumedCapacity, {
    TableName: 'indexed', CapacityUnits: 4, Table: { CapacityUnits: 1 },
    LocalSecondaryIndexes: { byLocal: { CapacityUnits: 1 } }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 2 } },
  }, 'the GSI key changed: a delete and a put (2); the LSI entry (ALL) changed with the item (1)');

  const sparse = await db.putItem({ TableName: 'indexed', Item: item('3', { other: { S: 'v' } }), ReturnConsumedCapacity: 'INDEXES' });
  t.same(sparse.ConsumedCapacity, { TableName: 'indexed', CapacityUnits: 1, Table: { CapacityUnits: 1 } }, 'an item in no index: the table alone');

  const removed = await db.deleteItem({ TableName: 'indexed', Key: { pk: { S: 'p' }, sk: { S: '2' } }, ReturnConsumedCapacity: 'INDEXES' });
  t.same(removed.ConsumedCapacity, {
    TableName: 'indexed', CapacityUnits: 3, Table: { CapacityUnits: 1 },
    LocalSecondaryIndexes: { byLocal: { CapacityUnits: 1 } }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 1 } },
  }, 'a delete removes both entries');

  const batch = await db.batchWriteItem({
    RequestItems: { indexed: [{ PutRequest: { Item: item('4', { l: { S: 'y' }, g: { S: 'red' } }) } }, { PutRequest: { Item: item('5', { g: { S: 'red' } }) } }] },
    ReturnConsumedCapacity: 'INDEXES',
  });
  t.same(batch.ConsumedCapacity, [{
    TableName: 'indexed', CapacityUnits: 5, Table: { CapacityUnits: 2 },
    LocalSecondaryIndexes: { byLocal: { CapacityUnits: 1 } }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 2 } },
  }], 'BatchWriteItem: per table, the indexes\' parts summed');
});

t.test('ReturnConsumedCapacity INDEXES on an index Query or Scan: the index\'s part; a GSI read consumes the GSI\'s capacity', async (t) => {
  const { db, clock } = await open(t);
  await db.createTable(INDEXED);
  for (let i = 0; i < 3; i++) await db.putItem({ TableName: 'indexed', Item: { pk: { S: 'p' }, sk: { S: String(i) }, l: { S: `l${i}` }, g: { S: 'red' } } });
  // The GSI is applied behind the table: wait until its entries are there.
  for (let tries = 0; tries < 200 && (await db.query({ TableName: 'indexed', IndexName: 'byGlobal', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': { S: 'red' } } })).Count !== 3; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  clock.nowMs += 1000;
  const global = await db.query({ TableName: 'indexed', IndexName: 'byGlobal', KeyConditionExpression: 'g = :g', ExpressionAttributeValues: { ':g': { S: 'red' } }, ReturnConsumedCapacity: 'INDEXES' });
  t.equal(global.Count, 3);
  t.same(global.ConsumedCapacity, { TableName: 'indexed', CapacityUnits: 0.5, Table: { CapacityUnits: 0 }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 0.5 } } }, 'a GSI read is eventual: 0.5');
  const local = await db.query({ TableName: 'indexed', IndexName: 'byLocal', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, ConsistentRead: true, ReturnConsumedCapacity: 'INDEXES' });
  t.same(local.ConsumedCapacity, { TableName: 'indexed', CapacityUnits: 1, Table: { CapacityUnits: 0 }, LocalSecondaryIndexes: { byLocal: { CapacityUnits: 1 } } }, 'an LSI that projects ALL fetches nothing from the table');
  const scan = await db.scan({ TableName: 'indexed', IndexName: 'byGlobal', ReturnConsumedCapacity: 'TOTAL' });
  t.same(scan.ConsumedCapacity, { TableName: 'indexed', CapacityUnits: 0.5 });

  const snapshot = db.capacityMetrics();
  const lastSecond = (resource: ResourceSnapshot): number => resource.consumedReadUnits.at(-1) ?? 0;
  t.equal(lastSecond(resourceOf(snapshot, 'indexed', 'byGlobal')), 1, 'the GSI\'s Query and Scan (0.5 each) on the GSI');
  t.equal(lastSecond(resourceOf(snapshot, 'indexed')), 1, 'the LSI\'s Query on the table, whose throughput LSIs share');
});

t.test('a Scan page charges each logical partition the units of the items read from it', async (t) => {
  const { db, clock } = await open(t);
  // 9,000 RCU × 0.01 (and 1 WCU): four partitions.
  await db.createTable({ TableName: 'wide', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], ProvisionedThroughput: { ReadCapacityUnits: 9000, WriteCapacityUnits: 1 } });
  const partitions = resourceOf(db.capacityMetrics(), 'wide').partitions;
  t.equal(partitions.length, 4);
  const id = (db as unknown as { catalog: CatalogState }).catalog.tables['wide']!.id;
  const placed = partitions.map((): string[] => []);
  for (let i = 0; placed.some((keys) => keys.length < 3); i++) {
    const pk = `k${i}`;
    const hash = splitPartitionedKey(encodeItemKey(id, { S: pk }).key).token;
    const at = partitions.findIndex((p) => p.start.hash <= hash && hash < p.end.hash);
    if (placed[at]!.length < 3) placed[at]!.push(pk);
  }
  // Three items of about 3 KB in each partition: 9 KB, two or three 4 KB blocks each.
  for (const pk of placed.flat()) await db.putItem({ TableName: 'wide', Item: { pk: { S: pk }, pad: { S: 'x'.repeat(3000) } } });
  clock.nowMs += 1000;
  const page = await db.scan({ TableName: 'wide', ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' });
  t.equal(page.Count, 12, 'one page read every item');
  const charged = resourceOf(db.capacityMetrics(), 'wide').partitions.map((p) => p.consumedReadUnits.at(-1) ?? 0);
  t.equal(charged.reduce((a, b) => a + b, 0), page.ConsumedCapacity!.CapacityUnits, 'the partitions\' parts add up to the page\'s ConsumedCapacity');
  t.ok(charged.every((units) => units >= 2 && units <= 3), `each partition charged for its own 9 KB, not the first for all (${charged.join(', ')})`);
});

t.test('a Scan of a GSI charges each of the GSI\'s logical partitions the units of the entries read from it', async (t) => {
  const { db } = await open(t);
  await db.createTable({
    TableName: 'spread',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'g', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 3000 },
    // 9,000 RCU × 0.01: four GSI partitions.
    GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, ProvisionedThroughput: { ReadCapacityUnits: 9000, WriteCapacityUnits: 1 } }],
  });
  t.equal(resourceOf(db.capacityMetrics(), 'spread', 'byG').partitions.length, 4);
  for (let i = 0; i < 24; i++) await db.putItem({ TableName: 'spread', Item: { pk: { S: `p${i}` }, g: { S: `g${i}` }, pad: { S: 'x'.repeat(3000) } } });
  for (let tries = 0; tries < 400 && (await db.scan({ TableName: 'spread', IndexName: 'byG', Select: 'COUNT' })).Count !== 24; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const before = resourceOf(db.capacityMetrics(), 'spread', 'byG').partitions.map((p) => p.consumedReadUnits.reduce((a, b) => a + b, 0));
  const page = await db.scan({ TableName: 'spread', IndexName: 'byG', ReturnConsumedCapacity: 'INDEXES' });
  t.equal(page.Count, 24);
  const after = resourceOf(db.capacityMetrics(), 'spread', 'byG').partitions.map((p) => p.consumedReadUnits.reduce((a, b) => a + b, 0));
  const charged = after.map((units, i) => units - before[i]!);
  t.equal(charged.reduce((a, b) => a + b, 0), page.ConsumedCapacity!.GlobalSecondaryIndexes!['byG']!.CapacityUnits, 'the GSI partitions\' parts add up to the index\'s part');
  t.ok(charged.filter((units) => units > 0).length > 1, `more than one GSI partition charged (${charged.join(', ')})`);
});

t.test('UpdateTable\'s throughput reaches the capacity model: the table\'s and a GSI\'s', async (t) => {
  const { db } = await open(t);
  await db.createTable(INDEXED);
  const rates = () => {
    const snapshot = db.capacityMetrics();
    return [resourceOf(snapshot, 'indexed').writeUnitsPerSecond, resourceOf(snapshot, 'indexed', 'byGlobal').writeUnitsPerSecond];
  };
  t.same(rates(), [30, 30], '3,000 WCU each, × 0.01');
  await db.updateTable({ TableName: 'indexed', ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 500 } });
  t.same(rates(), [5, 30], 'the table\'s new 500 WCU');
  await db.updateTable({ TableName: 'indexed', GlobalSecondaryIndexUpdates: [{ Update: { IndexName: 'byGlobal', ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 100 } } }] });
  t.same(rates(), [5, 1], 'the GSI\'s new 100 WCU');
});

t.test('ReturnConsumedCapacity INDEXES on TransactWriteItems: the indexes\' parts, doubled as the table\'s', async (t) => {
  const { db } = await open(t);
  await db.createTable(INDEXED);
  const output = await db.transactWriteItems({
    TransactItems: [
      { Put: { TableName: 'indexed', Item: { pk: { S: 'p' }, sk: { S: '1' }, l: { S: 'x' }, g: { S: 'red' } } } },
      { Put: { TableName: 'indexed', Item: { pk: { S: 'p' }, sk: { S: '2' }, g: { S: 'red' } } } },
    ],
    ReturnConsumedCapacity: 'INDEXES',
  });
  t.same(output.ConsumedCapacity, [{
    TableName: 'indexed', CapacityUnits: 10, WriteCapacityUnits: 10, Table: { CapacityUnits: 4 },
    LocalSecondaryIndexes: { byLocal: { CapacityUnits: 2 } }, GlobalSecondaryIndexes: { byGlobal: { CapacityUnits: 4 } },
  }], 'two items (2 + 2), one LSI entry (2), two GSI entries (2 + 2)');
});
