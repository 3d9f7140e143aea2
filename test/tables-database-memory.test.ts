/**
 * The Database shell over an in-memory implementation of the engine
 * contract (test/helpers/memory-table-engine.ts): every operation end to
 * end, compare-and-set contention, paging, tie groups of truncated sort keys,
 * segments, and the catalog surviving close/reopen. The same scenarios
 * against real storage nodes are test/tables-database.test.ts.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../lib/tables/database.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { SORT_BODY_BYTES_MAX } from '../lib/tables/key-encoding.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { CATALOG_FILE_NAME } from '../lib/tables/catalog-file.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringtable-tables-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rejection = dynamoDbRejection;

const COMPOSITE = {
  TableName: 'orders',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
} as const;

async function openDatabase(t: Test, engine = new MemoryTableEngine()): Promise<{ db: Database; engine: MemoryTableEngine; dir: string }> {
  const dir = tempDir(t);
  const db = Database.openOnEngine(engine, { path: dir, region: 'eu-west-2', accountId: '123456789012' });
  return { db, engine, dir };
}

t.test('tables: create, describe, list, delete, and the messages of missing tables', async (t) => {
  const { db, engine } = await openDatabase(t);
  const created = await db.createTable(structuredClone(COMPOSITE) as never);
  t.equal(created.TableDescription.TableStatus, 'CREATING');
  t.equal(created.TableDescription.TableArn, 'arn:aws:dynamodb:eu-west-2:123456789012:table/orders');
  t.same(created.TableDescription.ProvisionedThroughput, { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 });
  t.equal(created.TableDescription.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
  const described = await db.describeTable({ TableName: 'orders' });
  t.equal(described.Table.TableStatus, 'ACTIVE');
  t.equal(described.Table.TableId, created.TableDescription.TableId);
  t.ok(described.Table.CreationDateTime instanceof Date);
  const again = await rejection(db.createTable(structuredClone(COMPOSITE) as never));
  t.same([again.name, again.message], ['ResourceInUseException', 'Table already exists: orders']);

  await db.createTable({ ...structuredClone(COMPOSITE), TableName: 'alpha' } as never);
  await db.createTable({ ...structuredClone(COMPOSITE), TableName: 'zeta' } as never);
  t.same(await db.listTables({}), { TableNames: ['alpha', 'orders', 'zeta'] });
  t.same(await db.listTables({ Limit: 2 }), { TableNames: ['alpha', 'orders'], LastEvaluatedTableName: 'orders' });
  t.same(await db.listTables({ ExclusiveStartTableName: 'orders' }), { TableNames: ['zeta'] });
  const badLimit = await rejection(db.listTables({ Limit: 101 }));
  t.equal(badLimit.message, "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100");

  await db.putItem({ TableName: 'orders', Item: { pk: { S: 'a' }, sk: { N: '1' } } });
  t.equal(engine.keys().length, 1);
  const deleted = await db.deleteTable({ TableName: 'orders' });
  t.equal(deleted.TableDescription.TableStatus, 'DELETING');
  t.equal(engine.keys().length, 0, 'DeleteTable drops the space');
  const describeMissing = await rejection(db.describeTable({ TableName: 'orders' }));
  t.same([describeMissing.name, describeMissing.message], ['ResourceNotFoundException', 'Requested resource not found: Table: orders not found']);
  const getMissing = await rejection(db.getItem({ TableName: 'orders', Key: { pk: { S: 'a' }, sk: { N: '1' } } }));
  t.same([getMissing.name, getMissing.message], ['ResourceNotFoundException', 'Requested resource not found']);
  const deleteMissing = await rejection(db.deleteTable({ TableName: 'orders' }));
  t.equal(deleteMissing.message, 'Requested resource not found: Table: orders not found');

  // A new table of the same name is a new space: the old items never come back.
  await db.createTable(structuredClone(COMPOSITE) as never);
  const fresh = await db.describeTable({ TableName: 'orders' });
  t.not(fresh.Table.TableId, created.TableDescription.TableId);
  t.same(await db.getItem({ TableName: 'orders', Key: { pk: { S: 'a' }, sk: { N: '1' } } }), {});
});

t.test('items: put, get, update, delete with every ReturnValues choice', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  const key = { pk: { S: 'p' }, sk: { N: '1' } };
  t.same(await db.putItem({ TableName: 'orders', Item: { ...key, a: { S: 'one' } }, ReturnValues: 'ALL_OLD' }), {}, 'ALL_OLD of a new item: nothing');
  t.same(await db.putItem({ TableName: 'orders', Item: { ...key, a: { S: 'two' } }, ReturnValues: 'ALL_OLD' }), { Attributes: { ...key, a: { S: 'one' } } });
  const notAllowed = await rejection(db.putItem({ TableName: 'orders', Item: key, ReturnValues: 'ALL_NEW' as never }));
  t.equal(notAllowed.message, 'ReturnValues can only be ALL_OLD or NONE');

  t.same(await db.getItem({ TableName: 'orders', Key: key, ProjectionExpression: 'a' }), { Item: { a: { S: 'two' } } });
  t.same(await db.getItem({ TableName: 'orders', Key: key, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }), {
    Item: { ...key, a: { S: 'two' } },
    ConsumedCapacity: { TableName: 'orders', CapacityUnits: 1 },
  });

  const update = (ReturnValues: string, expression = 'SET a = :v, b = :w') =>
    db.updateItem({ TableName: 'orders', Key: key, UpdateExpression: expression, ExpressionAttributeValues: { ':v': { S: ReturnValues }, ':w': { N: '5' } }, ReturnValues: ReturnValues as never });
  t.same(await update('NONE'), {});
  t.same(await update('UPDATED_OLD'), { Attributes: { a: { S: 'NONE' }, b: { N: '5' } } });
  t.same(await update('ALL_OLD'), { Attributes: { ...key, a: { S: 'UPDATED_OLD' }, b: { N: '5' } } });
  t.same(await update('UPDATED_NEW'), { Attributes: { a: { S: 'UPDATED_NEW' }, b: { N: '5' } } });
  t.same(await update('ALL_NEW'), { Attributes: { ...key, a: { S: 'ALL_NEW' }, b: { N: '5' } } });
  t.same(await db.updateItem({ TableName: 'orders', Key: key, UpdateExpression: 'ADD b :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValues: 'UPDATED_NEW' }), { Attributes: { b: { N: '6' } } });

  const keyUpdate = await rejection(db.updateItem({ TableName: 'orders', Key: key, UpdateExpression: 'SET sk = :v', ExpressionAttributeValues: { ':v': { N: '2' } } }));
  t.equal(keyUpdate.message, 'One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key');

  // An update of a missing item creates it with its key.
  const other = { pk: { S: 'p' }, sk: { N: '2' } };
  t.same(await db.updateItem({ TableName: 'orders', Key: other, UpdateExpression: 'SET c = :c', ExpressionAttributeValues: { ':c': { BOOL: true } }, ReturnValues: 'ALL_NEW' }), { Attributes: { c: { BOOL: true }, ...other } });
  // Legacy AttributeUpdates.
  t.same(await db.updateItem({ TableName: 'orders', Key: other, AttributeUpdates: { d: { Action: 'PUT', Value: { S: 'x' } } }, ReturnValues: 'UPDATED_NEW' }), { Attributes: { d: { S: 'x' } } });

  t.same(await db.deleteItem({ TableName: 'orders', Key: other, ReturnValues: 'ALL_OLD' }), { Attributes: { c: { BOOL: true }, ...other, d: { S: 'x' } } });
  t.same(await db.deleteItem({ TableName: 'orders', Key: other, ReturnValues: 'ALL_OLD' }), {}, 'a delete of a missing item returns nothing');
  t.same(await db.getItem({ TableName: 'orders', Key: other }), {});
});

t.test('conditional writes: failures, ReturnValuesOnConditionCheckFailure, Expected', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  const item = { pk: { S: 'c' }, sk: { N: '0' }, n: { N: '1' } };
  await db.putItem({ TableName: 'orders', Item: item, ConditionExpression: 'attribute_not_exists(pk)' });
  const failed = await rejection(db.putItem({ TableName: 'orders', Item: item, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
  t.same([failed.name, failed.message, failed.item], ['ConditionalCheckFailedException', 'The conditional request failed', item]);
  const withoutItem = await rejection(db.deleteItem({ TableName: 'orders', Key: { pk: item.pk, sk: item.sk }, ConditionExpression: 'n = :two', ExpressionAttributeValues: { ':two': { N: '2' } } }));
  t.equal(withoutItem.item, undefined);
  const legacy = await rejection(db.updateItem({ TableName: 'orders', Key: { pk: item.pk, sk: item.sk }, Expected: { n: { Value: { N: '7' } } }, AttributeUpdates: { n: { Action: 'ADD', Value: { N: '1' } } } }));
  t.equal(legacy.name, 'ConditionalCheckFailedException');
  t.same(await db.updateItem({ TableName: 'orders', Key: { pk: item.pk, sk: item.sk }, Expected: { n: { Value: { N: '1' } } }, AttributeUpdates: { n: { Action: 'ADD', Value: { N: '1' } } }, ReturnValues: 'UPDATED_NEW' }), { Attributes: { n: { N: '2' } } });
  const mixed = await rejection(db.putItem({ TableName: 'orders', Item: item, ConditionExpression: 'attribute_exists(pk)', Expected: { n: { Exists: false } } }));
  t.equal(mixed.message, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}');
});

t.test('100 concurrent attribute_not_exists puts of one key: exactly one wins', async (t) => {
  const engine = new MemoryTableEngine();
  // Let every writer read before any writes, so they all race on the compare-and-set.
  engine.writeDelay = () => new Promise((resolve) => setImmediate(resolve));
  const { db } = await openDatabase(t, engine);
  await db.createTable(structuredClone(COMPOSITE) as never);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 100 }, (_, i) => db.putItem({ TableName: 'orders', Item: { pk: { S: 'race' }, sk: { N: '1' }, writer: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' })),
  );
  const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  const losers = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  t.equal(winners.length, 1);
  t.ok(losers.every((loser) => loser.reason instanceof DynamoDbError && loser.reason.name === 'ConditionalCheckFailedException'));
  const stored = await db.getItem({ TableName: 'orders', Key: { pk: { S: 'race' }, sk: { N: '1' } }, ConsistentRead: true });
  t.equal(outcomes.findIndex((outcome) => outcome.status === 'fulfilled'), Number((stored.Item!['writer'] as { N: string }).N));
});

t.test('query: key conditions, direction, Limit before the filter, Select, paging', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  for (let i = 0; i < 30; i += 1) {
    await db.putItem({ TableName: 'orders', Item: { pk: { S: 'q' }, sk: { N: String(i - 10) }, even: { BOOL: i % 2 === 0 } } });
  }
  await db.putItem({ TableName: 'orders', Item: { pk: { S: 'other' }, sk: { N: '0' } } });
  const base = { TableName: 'orders', KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b', ExpressionAttributeValues: { ':p': { S: 'q' }, ':a': { N: '-3' }, ':b': { N: '4.5' } } };
  const all = await db.query(base);
  t.same(all.Items!.map((item) => (item['sk'] as { N: string }).N), ['-3', '-2', '-1', '0', '1', '2', '3', '4']);
  t.equal(all.LastEvaluatedKey, undefined);
  const backwards = await db.query({ ...base, ScanIndexForward: false, Limit: 3 });
  t.same(backwards.Items!.map((item) => (item['sk'] as { N: string }).N), ['4', '3', '2']);
  t.same(backwards.LastEvaluatedKey, { pk: { S: 'q' }, sk: { N: '2' } });
  const resumed = await db.query({ ...base, ScanIndexForward: false, Limit: 3, ExclusiveStartKey: backwards.LastEvaluatedKey! });
  t.same(resumed.Items!.map((item) => (item['sk'] as { N: string }).N), ['1', '0', '-1']);

  const filtered = await db.query({ ...base, Limit: 4, FilterExpression: 'even = :t', ExpressionAttributeValues: { ...base.ExpressionAttributeValues, ':t': { BOOL: true } } });
  t.same([filtered.Count, filtered.ScannedCount], [2, 4], 'Limit counts items before the filter');
  const count = await db.query({ ...base, Select: 'COUNT' });
  t.same([count.Items, count.Count], [undefined, 8]);
  const countWithProjection = await rejection(db.query({ ...base, Select: 'COUNT', ProjectionExpression: 'sk' }));
  t.equal(countWithProjection.message, '1 validation error detected: Cannot specify the ProjectionExpression when choosing to get only the Count');
  const filterOnKey = await rejection(db.query({ ...base, FilterExpression: 'sk > :a' }));
  t.equal(filterOnKey.message, 'Filter Expression can only contain non-primary key attributes: Primary key attribute: sk');
  const outside = await rejection(db.query({ ...base, ExclusiveStartKey: { pk: { S: 'q' }, sk: { N: '100' } } }));
  t.equal(outside.message, 'The provided starting key does not match the range key predicate');
  const legacy = await db.query({ TableName: 'orders', KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'q' }] }, sk: { ComparisonOperator: 'GE', AttributeValueList: [{ N: '18' }] } } });
  t.same(legacy.Items!.map((item) => (item['sk'] as { N: string }).N), ['18', '19']);

  // Walk every page with Limit 7: every item once, in order.
  const seen: string[] = [];
  let start: AttributeMap | undefined;
  do {
    const page = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'q' } }, Limit: 7, ...(start ? { ExclusiveStartKey: start } : {}) });
    seen.push(...page.Items!.map((item) => (item['sk'] as { N: string }).N));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  t.same(seen, Array.from({ length: 30 }, (_, i) => String(i - 10)));
});

t.test('query pages stop at 1 MB of items read', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  const payload = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 25; i += 1) await db.putItem({ TableName: 'orders', Item: { pk: { S: 'big' }, sk: { N: String(i) }, payload: { S: payload } } });
  const first = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'big' } }, ReturnConsumedCapacity: 'TOTAL' });
  // Each item is a bit over 100 KB: the eleventh reaches 1 MB.
  t.equal(first.Count, 11);
  t.same(first.LastEvaluatedKey, { pk: { S: 'big' }, sk: { N: '10' } });
  t.ok(first.ConsumedCapacity!.CapacityUnits > 130 && first.ConsumedCapacity!.CapacityUnits < 140, 'eventual reads of ~1.1 MB summed then rounded');
  const second = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'big' } }, ExclusiveStartKey: first.LastEvaluatedKey! });
  const third = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'big' } }, ExclusiveStartKey: second.LastEvaluatedKey! });
  t.same([second.Count, third.Count, third.LastEvaluatedKey], [11, 3, undefined]);
});

t.test('query of truncated sort keys: tie groups come back in DynamoDB order across pages', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable({ ...structuredClone(COMPOSITE), AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }] } as never);
  const stem = 'a'.repeat(SORT_BODY_BYTES_MAX);
  const suffixes = ['m', 'b', 'z', 'c', 'y', 'a', 'k', 'd'];
  for (const suffix of suffixes) await db.putItem({ TableName: 'orders', Item: { pk: { S: 'tie' }, sk: { S: stem + suffix } } });
  await db.putItem({ TableName: 'orders', Item: { pk: { S: 'tie' }, sk: { S: 'b' } } });
  const expected = ['a', ...[...suffixes].sort().map((suffix) => stem + suffix), 'b'].filter((value) => value !== 'a');
  const walk = async (forward: boolean, limit: number): Promise<string[]> => {
    const values: string[] = [];
    let start: AttributeMap | undefined;
    do {
      const page = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'tie' } }, ScanIndexForward: forward, Limit: limit, ...(start ? { ExclusiveStartKey: start } : {}) });
      values.push(...page.Items!.map((item) => (item['sk'] as { S: string }).S));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return values;
  };
  t.same(await walk(true, 3), expected);
  t.same(await walk(false, 2), [...expected].reverse());
  const ranged = await db.query({ TableName: 'orders', KeyConditionExpression: 'pk = :p AND sk > :v', ExpressionAttributeValues: { ':p': { S: 'tie' }, ':v': { S: stem + 'k' } } });
  t.same(ranged.Items!.map((item) => (item['sk'] as { S: string }).S), [stem + 'm', stem + 'y', stem + 'z', 'b']);
});

t.test('scan: filter, paging, and parallel segments see every item exactly once', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  for (let i = 0; i < 200; i += 1) await db.putItem({ TableName: 'orders', Item: { pk: { S: `p${i % 37}` }, sk: { N: String(i) } } });
  const keyText = (item: AttributeMap) => `${(item['pk'] as { S: string }).S}/${(item['sk'] as { N: string }).N}`;
  for (const total of [1, 3, 7]) {
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: total }, async (_, segment) => {
        let start: AttributeMap | undefined;
        do {
          const page = await db.scan({ TableName: 'orders', Segment: segment, TotalSegments: total, Limit: 9, ...(start ? { ExclusiveStartKey: start } : {}) });
          seen.push(...page.Items!.map(keyText));
          start = page.LastEvaluatedKey;
        } while (start !== undefined);
      }),
    );
    t.equal(seen.length, 200, `${total} segments: 200 items`);
    t.equal(new Set(seen).size, 200, `${total} segments: each once`);
  }
  const filtered = await db.scan({ TableName: 'orders', FilterExpression: 'sk < :n', ExpressionAttributeValues: { ':n': { N: '10' } } });
  t.same([filtered.Count, filtered.ScannedCount], [10, 200]);
  const wrongSegment = await db.scan({ TableName: 'orders', Segment: 0, TotalSegments: 2, Limit: 1 });
  const misuse = await rejection(db.scan({ TableName: 'orders', Segment: 1, TotalSegments: 2, ExclusiveStartKey: wrongSegment.LastEvaluatedKey! }));
  t.equal(misuse.message, 'The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 1');
});

t.test('batches: BatchGetItem and BatchWriteItem', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable(structuredClone(COMPOSITE) as never);
  const puts = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { pk: { S: 'b' }, sk: { N: String(i) } } } }));
  t.same(await db.batchWriteItem({ RequestItems: { orders: puts }, ReturnConsumedCapacity: 'TOTAL' }), { UnprocessedItems: {}, ConsumedCapacity: [{ TableName: 'orders', CapacityUnits: 25 }] });
  const tooMany = await rejection(db.batchWriteItem({ RequestItems: { orders: [...puts, { DeleteRequest: { Key: { pk: { S: 'b' }, sk: { N: '99' } } } }] } }));
  t.match(tooMany.message, /^1 validation error detected: Value '.*' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: \[Member must have length less than or equal to 25, Member must have length greater than or equal to 1\]$/);
  const duplicate = await rejection(db.batchWriteItem({ RequestItems: { orders: [puts[0]!, { DeleteRequest: { Key: { pk: { S: 'b' }, sk: { N: '0' } } } }] } }));
  t.equal(duplicate.message, 'Provided list of item keys contains duplicates');
  const got = await db.batchGetItem({ RequestItems: { orders: { Keys: [{ pk: { S: 'b' }, sk: { N: '3' } }, { pk: { S: 'b' }, sk: { N: '300' } }], ProjectionExpression: 'sk' } } });
  t.same(got, { Responses: { orders: [{ sk: { N: '3' } }] }, UnprocessedKeys: {} });
  const duplicateKeys = await rejection(db.batchGetItem({ RequestItems: { orders: { Keys: [{ pk: { S: 'b' }, sk: { N: '3' } }, { pk: { S: 'b' }, sk: { N: '3.0' } }] } } }));
  t.equal(duplicateKeys.message, 'Provided list of item keys contains duplicates');
  const deletes = Array.from({ length: 25 }, (_, i) => ({ DeleteRequest: { Key: { pk: { S: 'b' }, sk: { N: String(i) } } } }));
  await db.batchWriteItem({ RequestItems: { orders: deletes } });
  t.same((await db.scan({ TableName: 'orders' })).Count, 0);
});

t.test('the catalog and item counts survive close and reopen', async (t) => {
  const engine = new MemoryTableEngine();
  const { db, dir } = await openDatabase(t, engine);
  await db.createTable(structuredClone(COMPOSITE) as never);
  await db.putItem({ TableName: 'orders', Item: { pk: { S: 'k' }, sk: { N: '1' }, v: { S: 'abc' } } });
  // The catalog is written whole to a temporary file and renamed over the old one.
  t.ok(existsSync(join(dir, CATALOG_FILE_NAME)));
  t.notOk(existsSync(join(dir, `${CATALOG_FILE_NAME}.tmp`)));
  await db.close();
  t.ok(engine.closed);
  t.equal(JSON.parse(readFileSync(join(dir, CATALOG_FILE_NAME), 'utf8')).tables[0].itemCount, 1, 'counts are saved on close');
  const reopened = Database.openOnEngine(engine, { path: dir });
  const described = await reopened.describeTable({ TableName: 'orders' });
  // pk + 'k' (3) + sk + N 1 (2 + 2: one byte and one digit pair) + v + 'abc' (4) = 11 bytes (item-size.ts).
  t.same([described.Table.ItemCount, described.Table.TableSizeBytes, described.Table.TableStatus], [1, 11, 'ACTIVE']);
  t.equal(described.Table.TableArn, 'arn:aws:dynamodb:ddblocal:000000000000:table/orders', "DynamoDB Local's defaults");
  t.same(await reopened.getItem({ TableName: 'orders', Key: { pk: { S: 'k' }, sk: { N: '1' } } }), { Item: { pk: { S: 'k' }, sk: { N: '1' }, v: { S: 'abc' } } });
});

t.test('a table without a sort key: one item per partition', async (t) => {
  const { db } = await openDatabase(t);
  await db.createTable({ TableName: 'users', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'B' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } } as never);
  const described = await db.describeTable({ TableName: 'users' });
  t.same([described.Table.ProvisionedThroughput, described.Table.BillingModeSummary], [{ NumberOfDecreasesToday: 0, ReadCapacityUnits: 5, WriteCapacityUnits: 5 }, undefined]);
  const id = { B: Uint8Array.of(0, 0, 1) };
  await db.putItem({ TableName: 'users', Item: { id, name: { S: 'x' } } });
  await db.putItem({ TableName: 'users', Item: { id: { B: Uint8Array.of(0, 0) }, name: { S: 'y' } } });
  const page = await db.query({ TableName: 'users', KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': id }, Limit: 1 });
  t.same([page.Count, page.LastEvaluatedKey], [1, { id }]);
  const next = await db.query({ TableName: 'users', KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': id }, ExclusiveStartKey: page.LastEvaluatedKey! });
  t.same([next.Count, next.LastEvaluatedKey], [0, undefined]);
});

t.test('dispatch: operations by DynamoDB name', async (t) => {
  const { db } = await openDatabase(t);
  await db.dispatch('CreateTable', structuredClone(COMPOSITE) as never);
  t.same(await db.dispatch('ListTables', {}), { TableNames: ['orders'] });
  const unknown = await rejection(db.dispatch('CreateBackup', { TableName: 'orders' }));
  t.equal(unknown.name, 'UnknownOperationException');
});
