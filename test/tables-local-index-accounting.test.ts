/**
 * What an LSI costs, counted exactly (issue 13 §2):
 * - an item collection's size counts each item and its LSI entries as the
 *   item projects them, so a stale entry a failed write left behind
 *   (local-entry-check.ts) never counts toward ItemCollectionSizeLimitExceededException,
 *   before or after the clean-up deletes it;
 * - the clean-up's counts are in db.stats();
 * - an LSI Scan page charges each of the table's logical partitions what it
 *   read from it (its entries, and the items it fetched), not the segment's
 *   first partition all of it.
 */
import t, { type Test } from 'tap';
import { Database } from '../lib/tables/database.js';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { readCatalog } from '../lib/tables/catalog-file.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { collectionBytesOf } from '../lib/tables/indexes/item-collection.js';
import { encodeIndexKey } from '../lib/tables/indexes/index-key.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import type { CapacitySnapshot, ResourceSnapshot } from '../lib/tables/capacity/capacity-snapshot.js';
import type { CatalogState } from '../lib/tables/table-catalog.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { tempDir } from './helpers/temp-store.js';

const TABLE = {
  TableName: 'threads',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'at', AttributeType: 'N' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  BillingMode: 'PAY_PER_REQUEST',
  LocalSecondaryIndexes: [{ IndexName: 'byTime', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
} as const;

const item = (sk: number, at: number, pad = 100): AttributeMap => ({ pk: { S: 't1' }, sk: { N: String(sk) }, at: { N: String(at) }, pad: { S: 'x'.repeat(pad) } });

async function setUp(t: Test, bytesMax: number) {
  const engine = new MemoryTableEngine();
  const dir = tempDir(t);
  const db = Database.openOnEngine(engine, { path: dir, itemCollectionBytesMax: bytesMax });
  t.teardown(() => db.close());
  await db.createTable(structuredClone(TABLE) as never);
  const record = readCatalog(dir).tables['threads']!;
  /** A stale entry of item t1/`sk` under sort value `at` (a failed write's, come back through anti-entropy). */
  const plantStale = async (sk: number, at: number, pad: number) => {
    const key = encodeIndexKey(record.indexes!.spaces['byTime']!.entrySpace, { partition: { S: 't1' }, sort: { N: String(at) } }, { partition: { S: 't1' }, sort: { N: String(sk) } }).key;
    await engine.writeOrdered({ key, value: { item: item(sk, at, pad), baseVersion: 0 } });
  };
  return { db, record, plantStale };
}

t.test('a stale LSI entry counts nothing toward its item collection, before and after the clean-up', async (t) => {
  const schema = (await setUp(t, 1)).record.schema;
  const one = collectionBytesOf(schema, item(1, 10));
  // Room for three such items, not four.
  const { db, plantStale } = await setUp(t, 3 * one + one / 2);
  await db.putItem({ TableName: 'threads', Item: item(1, 10) });
  await db.putItem({ TableName: 'threads', Item: item(2, 20) });
  // A stale entry of item 1 under another sort value, as large as the bound.
  await plantStale(1, 99, 3 * one);
  const put = await db.putItem({ TableName: 'threads', Item: item(3, 30), ReturnItemCollectionMetrics: 'SIZE' });
  t.same(put.ItemCollectionMetrics, { ItemCollectionKey: { pk: { S: 't1' } }, SizeEstimateRangeGB: [0, 1] }, 'the third item fits: the stale entry is not counted');
  await t.rejects(db.putItem({ TableName: 'threads', Item: item(4, 40) }), { name: 'ItemCollectionSizeLimitExceededException', message: 'Collection size exceeded.' }, 'the fourth does not: the items and their entries are');
  await db.putItem({ TableName: 'threads', Item: item(1, 11) });
  t.pass('a write that does not grow the collection passes');
  // A query meets the stale entry, and the clean-up deletes it: the count the stats show, the collection the same.
  const found = await db.query({ TableName: 'threads', IndexName: 'byTime', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 't1' } }, ConsistentRead: true });
  t.same(found.Items?.map((it) => it['at']), [{ N: '11' }, { N: '20' }, { N: '30' }]);
  await db.indexes.cleanup.idle();
  t.same(db.stats().indexes.localCleanup, { deleted: 1, rewritten: 0 }, 'db.stats() shows the clean-up\'s counts');
  await t.rejects(db.putItem({ TableName: 'threads', Item: item(4, 40) }), { name: 'ItemCollectionSizeLimitExceededException' }, 'still three items\' worth');
  await db.deleteItem({ TableName: 'threads', Key: { pk: { S: 't1' }, sk: { N: '2' } } });
  await db.putItem({ TableName: 'threads', Item: item(4, 40) });
  t.pass('room again after a delete');
});

function resourceOf(snapshot: CapacitySnapshot, name: string): ResourceSnapshot {
  const found = snapshot.resources.find((r) => r.table === name && r.index === undefined);
  if (found === undefined) throw new Error(`no metrics for ${name}`);
  return found;
}

t.test('an LSI Scan page charges each of the table\'s logical partitions what it read there', async (t) => {
  const clock = { nowMs: 1_700_000_000_000 };
  const db = await Database.open({ path: tempDir(t), nodes: 2, durability: 'none', capacity: 'observe', capacityScale: 0.01, capacityClock: () => clock.nowMs });
  t.teardown(() => db.close());
  // 9,000 RCU × 0.01 (and 1 WCU; the capacity observed, not enforced): four partitions.
  await db.createTable({
    TableName: 'wide',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'at', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    ProvisionedThroughput: { ReadCapacityUnits: 9000, WriteCapacityUnits: 1 },
    LocalSecondaryIndexes: [{ IndexName: 'byTime', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
  });
  const partitions = resourceOf(db.capacityMetrics(), 'wide').partitions;
  t.equal(partitions.length, 4);
  const id = (db as unknown as { catalog: CatalogState }).catalog.tables['wide']!.id;
  const placed = partitions.map((): string[] => []);
  for (let i = 0; placed.some((keys) => keys.length < 1); i++) {
    const pk = `k${i}`;
    const hash = splitPartitionedKey(encodeItemKey(id, { S: pk }).key).token;
    const at = partitions.findIndex((p) => p.start.hash <= hash && hash < p.end.hash);
    if (placed[at]!.length < 1) placed[at]!.push(pk);
  }
  // Three items of about 3 KB per partition key, one partition key in each partition.
  for (const pk of placed.flat()) for (let sk = 0; sk < 3; sk++) await db.putItem({ TableName: 'wide', Item: { pk: { S: pk }, sk: { N: String(sk) }, at: { N: String(sk) }, pad: { S: 'x'.repeat(3000) } } });
  for (const select of ['ALL_PROJECTED_ATTRIBUTES', 'ALL_ATTRIBUTES'] as const) {
    clock.nowMs += 60_000;
    const before = resourceOf(db.capacityMetrics(), 'wide').partitions.map((p) => p.consumedReadUnits.reduce((a, b) => a + b, 0));
    const page = await db.scan({ TableName: 'wide', IndexName: 'byTime', Select: select, ConsistentRead: true, ReturnConsumedCapacity: 'INDEXES' });
    t.equal(page.Count, 12, `${select}: one page read every entry`);
    const after = resourceOf(db.capacityMetrics(), 'wide').partitions.map((p) => p.consumedReadUnits.reduce((a, b) => a + b, 0));
    const charged = after.map((units, i) => units - before[i]!);
    t.equal(charged.reduce((a, b) => a + b, 0), page.ConsumedCapacity!.CapacityUnits, `${select}: the partitions' parts add up to the page's ConsumedCapacity (${JSON.stringify(page.ConsumedCapacity)})`);
    if (select === 'ALL_ATTRIBUTES') t.ok(charged.every((units) => units >= 2), `${select}: each partition charged for the items fetched from it (${charged.join(', ')})`);
    else t.ok(charged.filter((units) => units > 0).length >= 1, `${select}: the entries' units (${charged.join(', ')})`);
  }
});
