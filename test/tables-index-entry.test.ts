/**
 * The pure cores of secondary indexes: membership (sparse), projections, a
 * base write's change to an index, where it lands, the version guard; entry
 * key order (a fast-check property: key bytes order entries as (index sort
 * value, base-key digest)); change-log versions; a base write's extra keys;
 * the item collection decisions; UpdateTable's checks.
 */
import t from 'tap';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../lib/index.js';
import { changeTargets, indexChangeOf, indexKeyOf, projectForIndex, supersedes } from '../lib/tables/indexes/index-entry.js';
import { baseKeyDigest, encodeIndexKey, indexConditionRange } from '../lib/tables/indexes/index-key.js';
import { logVersionOf, streamRecord } from '../lib/tables/indexes/change-log.js';
import { alsoWritesOf } from '../lib/tables/indexes/base-write.js';
import { allocateIndexSpaces } from '../lib/tables/indexes/index-catalog.js';
import { checkCollectionGrowth, itemCollectionMetrics } from '../lib/tables/indexes/item-collection.js';
import { checkUpdateTableRequest, decideUpdateTable } from '../lib/tables/indexes/update-table.js';
import { createTable, EMPTY_CATALOG } from '../lib/tables/table-catalog.js';
import { compareKeyValues } from '../lib/tables/key-encoding.js';
import type { IndexSchema, PrimaryKeySchema } from '../lib/tables/table-schema.js';

const TABLE: PrimaryKeySchema = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } };
const index = (projectionType: IndexSchema['projectionType'], nonKeyAttributes: string[] = []): IndexSchema => ({
  indexName: 'byStatus',
  partitionKey: { name: 'status', type: 'S' },
  sortKey: { name: 'at', type: 'N' },
  projectionType,
  nonKeyAttributes,
});
const item = (status: string | undefined, at: string, extra: AttributeMap = {}): AttributeMap => ({
  pk: { S: 'p' },
  sk: { N: '1' },
  ...(status === undefined ? {} : { status: { S: status } }),
  at: { N: at },
  ...extra,
});

t.test('membership: an item is in an index only with every index key attribute of the index type (sparse)', async (t) => {
  t.same(indexKeyOf(index('ALL'), item('OPEN', '5')), { partition: { S: 'OPEN' }, sort: { N: '5' } });
  t.equal(indexKeyOf(index('ALL'), item(undefined, '5')), undefined, 'no partition attribute');
  t.equal(indexKeyOf(index('ALL'), { ...item('OPEN', '5'), at: { S: 'five' } }), undefined, 'a sort attribute of another type');
});

t.test('projections: KEYS_ONLY, INCLUDE, ALL', async (t) => {
  const full = item('OPEN', '5', { note: { S: 'n' }, other: { N: '1' } });
  t.same(projectForIndex(TABLE, index('KEYS_ONLY'), full), { pk: { S: 'p' }, sk: { N: '1' }, status: { S: 'OPEN' }, at: { N: '5' } });
  t.same(projectForIndex(TABLE, index('INCLUDE', ['note', 'missing']), full), { pk: { S: 'p' }, sk: { N: '1' }, status: { S: 'OPEN' }, at: { N: '5' }, note: { S: 'n' } });
  t.same(projectForIndex(TABLE, index('ALL'), full), full);
});

t.test("a base write's change to an index and where it lands", async (t) => {
  const keysOnly = index('KEYS_ONLY');
  t.equal(indexChangeOf(TABLE, keysOnly, undefined, item(undefined, '1')), undefined, 'in the index neither before nor after: no change');
  t.equal(indexChangeOf(TABLE, keysOnly, item('OPEN', '1', { note: { S: 'a' } }), item('OPEN', '1', { note: { S: 'b' } })), undefined, 'an unprojected attribute changed: no change');
  t.ok(indexChangeOf(TABLE, index('ALL'), item('OPEN', '1', { note: { S: 'a' } }), item('OPEN', '1', { note: { S: 'b' } })), 'a projected one changed: a change');
  const moved = changeTargets(TABLE, keysOnly, indexChangeOf(TABLE, keysOnly, item('OPEN', '1'), item('SHIPPED', '1'))!);
  t.same(moved.removeFrom?.indexKey, { partition: { S: 'OPEN' }, sort: { N: '1' } }, 'a moved key removes the old entry');
  t.same(moved.writeTo?.indexKey, { partition: { S: 'SHIPPED' }, sort: { N: '1' } }, 'and writes the new one');
  const left = changeTargets(TABLE, keysOnly, indexChangeOf(TABLE, keysOnly, item('OPEN', '1'), item(undefined, '1'))!);
  t.ok(left.removeFrom !== undefined && left.writeTo === undefined, 'leaving a sparse index removes only');
  const deleted = changeTargets(TABLE, keysOnly, indexChangeOf(TABLE, keysOnly, item('OPEN', '1'), undefined)!);
  t.ok(deleted.removeFrom !== undefined && deleted.writeTo === undefined, 'a deleted item removes only');
  const updated = changeTargets(TABLE, index('ALL'), indexChangeOf(TABLE, index('ALL'), item('OPEN', '1', { n: { N: '1' } }), item('OPEN', '1', { n: { N: '2' } }))!);
  t.ok(updated.removeFrom === undefined && updated.writeTo !== undefined, 'same key: overwrite in place');
});

t.test('the version guard: a change replaces only an entry from an older base version', async (t) => {
  t.ok(supersedes(5, undefined));
  t.ok(supersedes(5, { item: {}, baseVersion: 4 }));
  t.notOk(supersedes(5, { item: {}, baseVersion: 5 }), 'a replay of the same change is a no-op');
  t.notOk(supersedes(5, { item: {}, baseVersion: 9 }), 'an older change never overwrites a newer one');
});

t.test('entry keys order entries by (index sort value, base-key digest), and condition ranges hold exactly their values', async () => {
  const value = fc.oneof(fc.integer({ min: -1000, max: 1000 }).map((n) => ({ N: String(n) })));
  const entry = fc.record({ sort: value, base: fc.string({ minLength: 1, maxLength: 8 }) });
  fc.assert(
    fc.property(entry, entry, (a, b) => {
      const key = (e: typeof a) => encodeIndexKey(7, { partition: { S: 'P' }, sort: e.sort }, { partition: { S: e.base } }).key;
      const bySort = compareKeyValues(a.sort, b.sort);
      const expected = bySort !== 0 ? bySort : Math.sign(Buffer.compare(baseKeyDigest({ partition: { S: a.base } }), baseKeyDigest({ partition: { S: b.base } })));
      return Math.sign(Buffer.compare(key(a), key(b))) === expected;
    }),
    { seed: 13, numRuns: 500 },
  );
  fc.assert(
    fc.property(entry, value, (e, bound) => {
      const key = encodeIndexKey(7, { partition: { S: 'P' }, sort: e.sort }, { partition: { S: e.base } });
      const range = indexConditionRange(key.partitionPrefix, { operator: 'EQ', values: [bound] } as never);
      const inside = Buffer.compare(key.key, range.start) >= 0 && Buffer.compare(key.key, range.end) < 0;
      return inside === (compareKeyValues(e.sort, bound) === 0);
    }),
    { seed: 14, numRuns: 500 },
  );
});

t.test('change-log records: the version a key ends in, and stream images by view type', async (t) => {
  const key = new Uint8Array(20);
  new DataView(key.buffer).setBigUint64(12, 123456789012n);
  t.equal(logVersionOf(key), 123456789012);
  const keys = { pk: { S: 'p' } };
  t.same(streamRecord({ StreamEnabled: true, StreamViewType: 'KEYS_ONLY' }, keys, { a: { N: '1' } }, { a: { N: '2' } }, 5), { e: 'MODIFY', k: keys, t: 5 });
  t.same(streamRecord({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' }, keys, undefined, { a: { N: '2' } }, 5), { e: 'INSERT', k: keys, n: { a: { N: '2' } }, t: 5 });
  t.same(streamRecord({ StreamEnabled: true, StreamViewType: 'OLD_IMAGE' }, keys, { a: { N: '1' } }, undefined, 5), { e: 'REMOVE', k: keys, o: { a: { N: '1' } }, t: 5 });
});

t.test("a base write's extra keys: LSI entries (an unchanged one too), one queue record per GSI, changed or not", async (t) => {
  const created = createTable(EMPTY_CATALOG, {
    TableName: 'things',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'status', AttributeType: 'S' }, { AttributeName: 'at', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST',
    LocalSecondaryIndexes: [{ IndexName: 'byAt', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    GlobalSecondaryIndexes: [
      { IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      { IndexName: 'byAtGlobal', KeySchema: [{ AttributeName: 'at', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
    ],
  }, { nowMs: 0, tableUuid: 'u' });
  const { indexes } = allocateIndexSpaces(['byAt'], ['byStatus', 'byAtGlobal'], created.state.nextId);
  const record = { ...created.record, status: 'ACTIVE' as const, indexes };
  const writes = alsoWritesOf({ record, partitionPart: new Uint8Array([1, 2, 3]), baseKey: { partition: { S: 'p' }, sort: { N: '1' } }, oldItem: item('OPEN', '1'), newItem: item('SHIPPED', '1'), nowMs: 9, streamNowMs: 9, ringPartitions: 16 });
  const spaceOf = (key: Uint8Array) => new DataView(key.buffer, key.byteOffset).getUint32(1);
  // The LSI entry is unchanged and written again (base-write.ts: a failed write's removal of it must not win).
  // Every GSI gets a record, byAtGlobal's unchanged (the applier's locator must reach this version: index-locator.ts).
  t.same(writes.map((write) => [spaceOf(write.key), write.value === undefined]), [[indexes.spaces['byAt']!.entrySpace, false], [indexes.spaces['byStatus']!.queueSpace, false], [indexes.spaces['byAtGlobal']!.queueSpace, false]], 'a queue record per GSI; the unchanged LSI entry rewritten');
  t.equal(writes[1]!.appendVersion, true);
  t.same(writes[2]!.value, { n: { pk: { S: 'p' }, sk: { N: '1' }, at: { N: '1' } }, t: 9 }, "byAtGlobal's record: its entry as it stays");
  const outside = alsoWritesOf({ record, partitionPart: new Uint8Array([1, 2, 3]), baseKey: { partition: { S: 'p' }, sort: { N: '1' } }, oldItem: { pk: { S: 'p' }, sk: { N: '1' } }, newItem: { pk: { S: 'p' }, sk: { N: '1' }, x: { S: 'y' } }, nowMs: 9, streamNowMs: 9, ringPartitions: 16 });
  t.same(outside.map((write) => write.value), [{ k: { pk: { S: 'p' }, sk: { N: '1' } }, t: 9 }, { k: { pk: { S: 'p' }, sk: { N: '1' } }, t: 9 }], 'an item in no index: a key-only record per GSI');
  const moved = alsoWritesOf({ record, partitionPart: new Uint8Array([1, 2, 3]), baseKey: { partition: { S: 'p' }, sort: { N: '1' } }, oldItem: item('OPEN', '1'), newItem: item('OPEN', '2'), nowMs: 9, streamNowMs: 9, ringPartitions: 16 });
  t.same(moved.map((write) => [spaceOf(write.key), write.value === undefined]), [
    [indexes.spaces['byAt']!.entrySpace, true],
    [indexes.spaces['byAt']!.entrySpace, false],
    [indexes.spaces['byStatus']!.queueSpace, false],
    [indexes.spaces['byAtGlobal']!.queueSpace, false],
  ], 'an LSI key moved: its old entry deleted and its new one written, in the same write; both GSIs queued');
});

t.test('item collections: growth past the bound refused, shrinking allowed; metrics', async (t) => {
  t.throws(() => checkCollectionGrowth(900, 100, 200, 950), { name: 'ItemCollectionSizeLimitExceededException', message: 'Collection size exceeded.' });
  t.doesNotThrow(() => checkCollectionGrowth(2000, 300, 200, 950), 'a write that shrinks a collection over the bound passes');
  t.doesNotThrow(() => checkCollectionGrowth(900, 100, 150, 950));
  const schema = { tableName: 't', billingMode: 'PAY_PER_REQUEST' as const, localSecondaryIndexes: [], globalSecondaryIndexes: [], ...TABLE };
  t.same(itemCollectionMetrics(schema, { S: 'p' }, 3 * 1024 ** 3 + 5), { ItemCollectionKey: { pk: { S: 'p' } }, SizeEstimateRangeGB: [3, 4] });
});

t.test("UpdateTable's checks", async (t) => {
  const message = (call: () => unknown) => {
    try {
      call();
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
    return 'passed';
  };
  t.equal(message(() => checkUpdateTableRequest({ TableName: 'abc' })), 'ValidationException: At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
  t.equal(message(() => checkUpdateTableRequest({ TableName: 'abc', GlobalSecondaryIndexUpdates: [{}] })), 'ValidationException: One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null');
  t.equal(message(() => checkUpdateTableRequest({ TableName: 'abc', GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'idx' } }, { Delete: { IndexName: 'idx' } }] })), 'ValidationException: One or more parameter values were invalid: Only one global secondary index update per index is allowed simultaneously. Index: idx');
  t.equal(message(() => checkUpdateTableRequest({ TableName: 'abc', ProvisionedThroughput: { ReadCapacityUnits: 1e13, WriteCapacityUnits: 1 } })), 'ValidationException: Given value 10000000000000 for ReadCapacityUnits is out of bounds');
  const created = createTable(EMPTY_CATALOG, {
    TableName: 'abc',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }, { nowMs: 0, tableUuid: 'u' });
  const record = { ...created.record, status: 'ACTIVE' as const, indexes: { spaces: {} } };
  t.equal(message(() => decideUpdateTable(record, { TableName: 'abc', ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } })), 'ValidationException: One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST');
  const create = (name: string, attribute: string) => ({ Create: { IndexName: name, KeySchema: [{ AttributeName: attribute, KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } } });
  t.equal(message(() => decideUpdateTable(record, { TableName: 'abc', GlobalSecondaryIndexUpdates: [create('one', 'a'), create('two', 'b')] })), 'LimitExceededException: Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table');
  t.match(message(() => decideUpdateTable(record, { TableName: 'abc', GlobalSecondaryIndexUpdates: [create('one', 'a')] })), /Some index key attributes are not defined in AttributeDefinitions/, 'a new index is validated as CreateTable validates one');
  const decided = decideUpdateTable(record, { TableName: 'abc', AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'N' }], GlobalSecondaryIndexUpdates: [create('one', 'a')] });
  t.equal(decided.decision.kind, 'createIndex');
  t.same(decided.decision.kind === 'createIndex' ? decided.decision.schema.globalSecondaryIndexes.map((i) => i.indexName) : [], ['one']);
  t.equal(message(() => decideUpdateTable(record, { TableName: 'abc', GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'nope' } }] })), 'ResourceNotFoundException: Requested resource not found: Index: nope not found');
  // Switching an on-demand table with GSIs to PROVISIONED: each GSI's throughput in the same request (dynalite's updateTable test, recorded against DynamoDB).
  const withIndexes = createTable(EMPTY_CATALOG, {
    TableName: 'abc',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'a', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    GlobalSecondaryIndexes: ['index3', 'index4'].map((IndexName) => ({ IndexName, KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } })),
  }, { nowMs: 0, tableUuid: 'u' });
  const onDemand = { ...withIndexes.record, status: 'ACTIVE' as const, indexes: { spaces: {} } };
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  t.equal(message(() => decideUpdateTable(onDemand, { TableName: 'abc', BillingMode: 'PROVISIONED', ProvisionedThroughput: throughput })), 'ValidationException: One or more parameter values were invalid: ProvisionedThroughput must be specified for index: index3,index4');
  t.equal(message(() => decideUpdateTable(onDemand, { TableName: 'abc', BillingMode: 'PROVISIONED', ProvisionedThroughput: throughput, GlobalSecondaryIndexUpdates: [{ Update: { IndexName: 'index3', ProvisionedThroughput: throughput } }] })), 'ValidationException: One or more parameter values were invalid: ProvisionedThroughput must be specified for index: index4');
  const switched = decideUpdateTable(onDemand, { TableName: 'abc', BillingMode: 'PROVISIONED', ProvisionedThroughput: throughput, GlobalSecondaryIndexUpdates: ['index3', 'index4'].map((IndexName) => ({ Update: { IndexName, ProvisionedThroughput: throughput } })) });
  t.same(Object.keys(switched.settings.indexThroughput).sort(), ['index3', 'index4'], 'with every GSI\'s throughput the switch is accepted');
});
