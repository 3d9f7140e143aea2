/**
 * LSI entries after a failed write came back (issue 13: "no index entry
 * lost or left stale after the system quiesces"; an LSI is strongly
 * consistent). A write whose leader crashed before W acknowledged it may
 * have committed on one replica with its LSI entries; the next leader never
 * saw it and writes a newer version from the older image; anti-entropy
 * brings the failed write's entry keys back, and each key keeps its highest
 * version.
 *
 * On the in-memory engine such a state is placed exactly: the failed
 * write's own entry writes (base-write.ts's, without its item, which loses
 * to the newer version) are applied before the newer write, which is the
 * order of their versions, so every key ends as the real engine's merge
 * leaves it. Then the pure check (local-entry-check.ts) and the clean-up;
 * last, the whole story on real nodes: a write that reaches only its leader
 * (the followers' requests dropped) fails for want of W, the leader
 * crashes, the next leader writes from the older image, the old leader
 * comes back and anti-entropy runs.
 */
import t, { type Test } from 'tap';
import { Buffer } from 'node:buffer';
import { Database } from '../lib/tables/database.js';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { readCatalog } from '../lib/tables/catalog-file.js';
import { encodeItemKey, prefixEnd } from '../lib/tables/key-encoding.js';
import { alsoWritesOf } from '../lib/tables/indexes/base-write.js';
import { encodeIndexKey } from '../lib/tables/indexes/index-key.js';
import { currentEntryItem, entryRepair } from '../lib/tables/indexes/local-entry-check.js';
import type { IndexSchema, PrimaryKeySchema } from '../lib/tables/table-schema.js';
import type { TableEngine } from '../lib/tables/table-engine.js';
import { tempDir } from './helpers/temp-store.js';
import { openOnMemory } from './helpers/memory-database.js';

const TABLE_KEYS: PrimaryKeySchema = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } };
const BY_TIME: IndexSchema = { indexName: 'byTime', partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'at', type: 'N' }, projectionType: 'INCLUDE', nonKeyAttributes: ['title'] };

t.test('currentEntryItem and entryRepair: an entry stands for its item only while the item has its index sort value', async (t) => {
  const item = { pk: { S: 'p' }, sk: { N: '1' }, at: { N: '10' }, title: { S: 'a' }, body: { S: 'b' } };
  const entry = { pk: { S: 'p' }, sk: { N: '1' }, at: { N: '10' }, title: { S: 'a' } };
  t.same(currentEntryItem(TABLE_KEYS, BY_TIME, entry, item), entry, 'current: the item\'s projection');
  t.equal(currentEntryItem(TABLE_KEYS, BY_TIME, entry, undefined), undefined, 'the item is gone');
  t.equal(currentEntryItem(TABLE_KEYS, BY_TIME, entry, { ...item, at: { N: '20' } }), undefined, 'the item has another sort value');
  t.equal(currentEntryItem(TABLE_KEYS, BY_TIME, entry, { ...item, at: { S: '10' } }), undefined, 'the item left the index (another type)');
  const { at: _dropped, ...withoutAt } = item;
  t.equal(currentEntryItem(TABLE_KEYS, BY_TIME, entry, withoutAt), undefined, 'the item left the index (no sort value)');
  t.same(currentEntryItem(TABLE_KEYS, BY_TIME, { ...entry, title: { S: 'x' } }, item), entry, 'same key, other attributes: read as the item holds them');
  t.same(entryRepair(TABLE_KEYS, BY_TIME, entry, item), { kind: 'none' });
  t.same(entryRepair(TABLE_KEYS, BY_TIME, entry, { ...item, at: { N: '20' } }), { kind: 'delete' });
  t.same(entryRepair(TABLE_KEYS, BY_TIME, { ...entry, title: { S: 'x' } }, item), { kind: 'rewrite', item: entry });
});


const TABLE = {
  TableName: 'threads',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'at', AttributeType: 'N' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  BillingMode: 'PAY_PER_REQUEST',
  LocalSecondaryIndexes: [{ IndexName: 'byTime', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title'] } }],
} as const;

async function setUp(t: Test) {
  const { db, engine, dir } = openOnMemory(t);
  await db.createTable(structuredClone(TABLE) as never);
  const record = () => readCatalog(dir).tables['threads']!;
  const baseKey = { partition: { S: 't1' }, sort: { N: '1' } };
  /** A write of t1/1 from `old` to `next` that committed on one replica only: its LSI entry writes, without its item. */
  const failedWrite = async (old: AttributeMap, next: AttributeMap) => {
    const partitionPart = encodeItemKey(record().id, baseKey.partition, baseKey.sort).partitionPart;
    const writes = alsoWritesOf({ record: record(), partitionPart, baseKey, oldItem: old, newItem: next, nowMs: Date.now(), streamNowMs: Date.now(), ringPartitions: engine.tokenRanges().length });
    t.ok(writes.length > 0, 'the failed write changed the LSI');
    for (const write of writes) await engine.writeOrdered(write.value === undefined ? { key: write.key } : { key: write.key, value: write.value });
  };
  const entryKey = (at: string) => encodeIndexKey(record().indexes!.spaces['byTime']!.entrySpace, { partition: { S: 't1' }, sort: { N: at } }, baseKey).key;
  const query = async (options: Record<string, unknown> = {}) => db.query({
    TableName: 'threads', IndexName: 'byTime', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 't1' } }, ReturnConsumedCapacity: 'INDEXES', ...options,
  } as never);
  const ats = (items: AttributeMap[] | undefined) => (items ?? []).map((item) => `${(item['sk'] as { N: string }).N}@${(item['at'] as { N: string }).N}`);
  const itemKey = () => encodeItemKey(record().id, baseKey.partition, baseKey.sort).key;
  return { db, engine, failedWrite, entryKey, itemKey, query, ats };
}

const item = (at: string, extra: AttributeMap = {}): AttributeMap => ({ pk: { S: 't1' }, sk: { N: '1' }, at: { N: at }, title: { S: `title-${at}` }, ...extra });

t.test('a failed write\'s entry under another sort value: never read, then deleted', async (t) => {
  const { db, engine, failedWrite, entryKey, query, ats } = await setUp(t);
  await db.putItem({ TableName: 'threads', Item: { pk: { S: 't1' }, sk: { N: '2' }, at: { N: '25' } } });
  const a = item('10');
  await db.putItem({ TableName: 'threads', Item: a });
  // Its entry alone is over 4 KB: read, it would double the query's read units.
  await failedWrite(a, item('20', { title: { S: 'x'.repeat(5000) } }));
  t.ok(await engine.getOrdered(entryKey('20')), 'the failed write\'s entry is in the engine');
  // The next leader never saw it: its write reads A and moves the entry from 10 to 30.
  await db.putItem({ TableName: 'threads', Item: item('30') });

  const consistent = await query({ ConsistentRead: true });
  t.same(ats(consistent.Items), ['2@25', '1@30'], 'a consistent query returns each item once, under the sort value it has');
  t.equal(consistent.ScannedCount, 2, 'the stale entry is not evaluated');
  t.same(consistent.Items![1], { pk: { S: 't1' }, sk: { N: '1' }, at: { N: '30' }, title: { S: 'title-30' } }, 'the projection');
  t.same(consistent.ConsumedCapacity?.LocalSecondaryIndexes, { byTime: { CapacityUnits: 1 } }, 'charged for the current entries only');
  t.same(ats((await query()).Items), ['2@25', '1@30'], 'an eventual query too');
  t.same(ats((await query({ ConsistentRead: true, KeyConditionExpression: 'pk = :p AND #at = :t', ExpressionAttributeNames: { '#at': 'at' }, ExpressionAttributeValues: { ':p': { S: 't1' }, ':t': { N: '20' } } })).Items), [], 'the stale sort value selects nothing');
  const fetched = await query({ ConsistentRead: true, Select: 'ALL_ATTRIBUTES' });
  t.same(ats(fetched.Items), ['2@25', '1@30'], 'a query that fetches the table\'s items');
  const paged = [];
  let start: AttributeMap | undefined;
  do {
    const page = await query({ ConsistentRead: true, Limit: 1, ...(start === undefined ? {} : { ExclusiveStartKey: start }) });
    paged.push(...ats(page.Items));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  t.same(paged, ['2@25', '1@30'], 'pages of one item');
  const scanned = await db.scan({ TableName: 'threads', IndexName: 'byTime', ConsistentRead: true });
  t.same(ats(scanned.Items).sort(), ['1@30', '2@25'], 'a scan of the index');

  await db.indexes.cleanup.idle();
  t.equal(await engine.getOrdered(entryKey('20')), undefined, 'the clean-up deleted the stale entry');
  t.ok(await engine.getOrdered(entryKey('30')), 'and kept the current one');
  t.same(db.indexes.cleanup.counts(), { deleted: 1, rewritten: 0 });
});

t.test('a failed write\'s removal of an entry the newer write leaves unchanged: the entry is not lost', async (t) => {
  const { db, engine, failedWrite, entryKey, query, ats } = await setUp(t);
  const a = item('10');
  await db.putItem({ TableName: 'threads', Item: a });
  await failedWrite(a, item('20'));
  t.equal(await engine.getOrdered(entryKey('10')), undefined, 'the failed write removed A\'s entry');
  // The next leader writes from A, keeping the sort value and the projected attributes.
  await db.putItem({ TableName: 'threads', Item: item('10', { body: { S: 'changed' } }) });
  t.same(ats((await query({ ConsistentRead: true })).Items), ['1@10'], 'the item is in the index under its sort value, once');
  t.ok(await engine.getOrdered(entryKey('10')), 'the newer write wrote its entry again');
});

t.test('a failed write\'s entry at the same sort value with other attributes: read as the item holds them', async (t) => {
  const { db, failedWrite, query } = await setUp(t);
  const a = item('10');
  await db.putItem({ TableName: 'threads', Item: a });
  await failedWrite(a, item('10', { title: { S: 'failed' } }));
  await db.putItem({ TableName: 'threads', Item: item('10', { body: { S: 'changed' } }) });
  const read = await query({ ConsistentRead: true });
  t.same(read.Items, [{ pk: { S: 't1' }, sk: { N: '1' }, at: { N: '10' }, title: { S: 'title-10' } }]);
});

t.test('the clean-up leaves an entry a write pointed its item back at', async (t) => {
  const { db, engine, failedWrite, entryKey, query, ats } = await setUp(t);
  const a = item('10');
  await db.putItem({ TableName: 'threads', Item: a });
  await failedWrite(a, item('20'));
  await db.putItem({ TableName: 'threads', Item: item('30') });
  let release = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  let writes = 0;
  // The clean-up's delete waits until the item was written back to 20; its compare-and-set must then fail.
  engine.writeDelay = async () => { if (writes++ === 0) await held; };
  t.same(ats((await query({ ConsistentRead: true })).Items), ['1@30']);
  await new Promise((resolve) => setImmediate(resolve));
  engine.writeDelay = async () => {};
  await db.putItem({ TableName: 'threads', Item: item('20') });
  release();
  await db.indexes.cleanup.idle();
  t.ok(await engine.getOrdered(entryKey('20')), 'the entry the item has again stays');
  t.same(ats((await query({ ConsistentRead: true })).Items), ['1@20']);
  t.same(db.indexes.cleanup.counts(), { deleted: 0, rewritten: 0 });
});

t.test('an eventual query whose items come from a replica that lags its entries: the leader\'s item decides', async (t) => {
  const { db, engine, itemKey, query, ats } = await setUp(t);
  await db.putItem({ TableName: 'threads', Item: item('10') });
  const older = await engine.getOrdered(itemKey());
  await db.putItem({ TableName: 'threads', Item: item('30') });
  // An eventual read of the item answers from a replica that has not seen the move to 30 yet.
  const getOrdered = engine.getOrdered.bind(engine);
  let staleAnswers = 0;
  const engineContract: TableEngine = engine;
  engineContract.getOrdered = async (key: Uint8Array, options?: { consistent?: boolean }) => {
    if (options?.consistent !== true && Buffer.compare(key, itemKey()) === 0) {
      staleAnswers++;
      return older;
    }
    return getOrdered(key);
  };
  t.same(ats((await query()).Items), ['1@30'], 'the item is in the page, as the leader holds it');
  t.ok(staleAnswers > 0, 'the lagging replica was asked');
  await db.indexes.cleanup.idle();
  t.same(db.indexes.cleanup.counts(), { deleted: 0, rewritten: 0 }, 'nothing reported stale');
});

t.test('real nodes: a write whose replicas never answered, its leader crashed, the next leader\'s write, then anti-entropy', async (t) => {
  const dir = tempDir(t);
  const db = await Database.open({ path: dir, nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none', timeoutMs: 1500 });
  t.teardown(() => db.close());
  await db.createTable(structuredClone(TABLE) as never);
  await db.putItem({ TableName: 'threads', Item: item('10') });
  const record = readCatalog(dir).tables['threads']!;
  const replicas = db.store.preferenceList(encodeItemKey(record.id, { S: 't1' }, { N: '1' }).key);
  const [leader, ...followers] = replicas;
  // X reaches the leader only: it commits there with its LSI entry (sort value 20) and fails for want of W.
  for (const follower of followers) db.store.faults.drop(follower, 1);
  const failed = await db.putItem({ TableName: 'threads', Item: item('20') }).then(() => undefined, (error: Error) => error);
  t.ok(failed, `the write failed (${failed?.message})`);
  await db.store.crashNode(leader!);
  db.store.faults.clear();
  // The next leader never saw X: Y is written from A.
  await db.putItem({ TableName: 'threads', Item: item('30') });
  await db.store.startNode(leader!);
  await db.store.repair();
  const query = async () => db.query({ TableName: 'threads', IndexName: 'byTime', ConsistentRead: true, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 't1' } } });
  t.same((await db.getItem({ TableName: 'threads', Key: { pk: { S: 't1' }, sk: { N: '1' } }, ConsistentRead: true })).Item, item('30'), 'the table converged on Y');
  t.same((await query()).Items?.map((entry) => entry['at']), [{ N: '30' }], 'the LSI holds Y\'s entry only');
  await db.indexes.cleanup.idle();
  await db.store.repair();
  const entries = await db.store.range({ start: encodeItemKey(record.indexes!.spaces['byTime']!.entrySpace, { S: 't1' }).partitionPrefix, end: prefixEnd(encodeItemKey(record.indexes!.spaces['byTime']!.entrySpace, { S: 't1' }).partitionPrefix)!, consistent: true });
  t.equal(entries.entries.length, 1, 'the stale entry was deleted from the engine');
});
