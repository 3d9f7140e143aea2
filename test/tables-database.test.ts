/**
 * The Database against real storage nodes (Database.open on a temporary
 * directory): every operation, paging across 1 MB, parallel Scan segments
 * covering a table exactly once, 100 concurrent attribute_not_exists puts
 * with exactly one winner, data surviving close/reopen. It needs the
 * engine's leader-ordered API (DESIGN.md §5: getOrdered, writeOrdered,
 * range, tokenRanges, dropSpace); the same scenarios run on an in-memory
 * engine of that contract in tables-database-memory.test.ts.
 */
import t, { type Test } from 'tap';
import { Database, DynamoDbError, type AttributeMap } from '../lib/index.js';
import { tempDir } from './helpers/temp-store.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';

const TABLE = {
  TableName: 'items',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'N' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

async function open(t: Test, path: string): Promise<Database> {
  const db = await Database.open({ path, nodes: 4, durability: 'none' });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await db.close();
  });
  const close = db.close.bind(db);
  db.close = async () => {
    closed = true;
    await close();
  };
  return db;
}

const rejection = dynamoDbRejection;

const skOf = (item: AttributeMap): string => (item['sk'] as { N: string }).N;

t.test('every operation against real nodes', async (t) => {
  const db = await open(t, tempDir(t));
  t.equal((await db.createTable(TABLE)).TableDescription.TableStatus, 'CREATING');
  t.equal((await db.describeTable({ TableName: 'items' })).Table.TableStatus, 'ACTIVE');
  t.same(await db.listTables({}), { TableNames: ['items'] });

  const key = { pk: { S: 'a' }, sk: { N: '1' } };
  t.same(await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'one' } }, ReturnValues: 'ALL_OLD' }), {});
  t.same(await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'two' } }, ReturnValues: 'ALL_OLD' }), { Attributes: { ...key, v: { S: 'one' } } });
  t.same(await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true }), { Item: { ...key, v: { S: 'two' } } });
  t.same(await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true, ProjectionExpression: 'v' }), { Item: { v: { S: 'two' } } });
  for (const [returnValues, expected] of [
    ['NONE', undefined],
    ['UPDATED_OLD', { v: { S: 'NONE' } }], // the value the NONE update above wrote
    ['ALL_OLD', { ...key, v: { S: 'UPDATED_OLD' } }],
    ['UPDATED_NEW', { v: { S: 'UPDATED_NEW' } }],
    ['ALL_NEW', { ...key, v: { S: 'ALL_NEW' } }],
  ] as const) {
    const output = await db.updateItem({ TableName: 'items', Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': { S: returnValues } }, ReturnValues: returnValues });
    t.same(output.Attributes, expected, `UpdateItem ReturnValues ${returnValues}`);
  }
  const failed = await rejection(db.updateItem({ TableName: 'items', Key: key, UpdateExpression: 'SET v = :v', ConditionExpression: 'v = :w', ExpressionAttributeValues: { ':v': { S: 'x' }, ':w': { S: 'nope' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
  t.same([failed.name, failed.message, failed.item], ['ConditionalCheckFailedException', 'The conditional request failed', { ...key, v: { S: 'ALL_NEW' } }]);
  t.same(await db.deleteItem({ TableName: 'items', Key: key, ReturnValues: 'ALL_OLD' }), { Attributes: { ...key, v: { S: 'ALL_NEW' } } });
  t.same(await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true }), {});
  await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'again' } } });
  t.same(await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'over' } }, ReturnValues: 'NONE' }), {}, 'PutItem ReturnValues NONE over an item');
  t.same(await db.deleteItem({ TableName: 'items', Key: key, ReturnValues: 'NONE' }), {}, 'DeleteItem ReturnValues NONE of an item');
  t.same(await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true }), {});

  const puts = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { pk: { S: 'q' }, sk: { N: String(i) }, even: { BOOL: i % 2 === 0 } } } }));
  t.same(await db.batchWriteItem({ RequestItems: { items: puts } }), { UnprocessedItems: {} });
  const got = await db.batchGetItem({ RequestItems: { items: { Keys: [{ pk: { S: 'q' }, sk: { N: '3' } }, { pk: { S: 'q' }, sk: { N: '99' } }], ConsistentRead: true } } });
  t.same(got.Responses['items']!.map(skOf), ['3']);
  const query = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p AND sk >= :s', FilterExpression: 'even = :t', ExpressionAttributeValues: { ':p': { S: 'q' }, ':s': { N: '20' }, ':t': { BOOL: true } }, ConsistentRead: true });
  t.same([query.Items!.map(skOf), query.ScannedCount], [['20', '22', '24'], 5]);
  const scan = await db.scan({ TableName: 'items', ConsistentRead: true, Select: 'COUNT' });
  t.same([scan.Count, scan.Items], [25, undefined]);

  await db.deleteTable({ TableName: 'items' });
  const missing = await rejection(db.describeTable({ TableName: 'items' }));
  t.equal(missing.message, 'Requested resource not found: Table: items not found');
  await db.createTable(TABLE);
  t.equal((await db.scan({ TableName: 'items', ConsistentRead: true })).Count, 0, 'a table of the same name starts empty');
});

t.test('paging across 1 MB and parallel scan segments', async (t) => {
  const db = await open(t, tempDir(t));
  await db.createTable(TABLE);
  const payload = 'x'.repeat(60 * 1024);
  for (let i = 0; i < 40; i += 1) await db.putItem({ TableName: 'items', Item: { pk: { S: 'big' }, sk: { N: String(i) }, payload: { S: payload } } });
  for (let i = 0; i < 160; i += 1) await db.putItem({ TableName: 'items', Item: { pk: { S: `p${i % 23}` }, sk: { N: String(i) } } });

  const pages: string[][] = [];
  let start: AttributeMap | undefined;
  do {
    const page = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'big' } }, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) });
    pages.push(page.Items!.map(skOf));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  t.ok(pages.length >= 3, 'several 1 MB pages');
  t.same(pages.flat(), Array.from({ length: 40 }, (_, i) => String(i)));

  for (const total of [1, 4, 9]) {
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: total }, async (_, segment) => {
        let from: AttributeMap | undefined;
        do {
          const page = await db.scan({ TableName: 'items', Segment: segment, TotalSegments: total, Limit: 17, ConsistentRead: true, ...(from ? { ExclusiveStartKey: from } : {}) });
          seen.push(...page.Items!.map((item) => `${(item['pk'] as { S: string }).S}/${skOf(item)}`));
          from = page.LastEvaluatedKey;
        } while (from !== undefined);
      }),
    );
    t.equal(seen.length, 200, `${total} segments see 200 items`);
    t.equal(new Set(seen).size, 200, `${total} segments see each item once`);
  }
});

t.test('100 concurrent attribute_not_exists puts of one key: exactly one winner', async (t) => {
  const db = await open(t, tempDir(t));
  await db.createTable(TABLE);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 100 }, (_, i) => db.putItem({ TableName: 'items', Item: { pk: { S: 'race' }, sk: { N: '0' }, writer: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' })),
  );
  const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
  t.equal(winners.length, 1);
  t.ok(outcomes.every((outcome) => outcome.status === 'fulfilled' || (outcome.reason instanceof DynamoDbError && outcome.reason.name === 'ConditionalCheckFailedException')));
  const stored = await db.getItem({ TableName: 'items', Key: { pk: { S: 'race' }, sk: { N: '0' } }, ConsistentRead: true });
  t.same(stored.Item!['writer'], { N: String(winners[0]) });
});

t.test('tables and items survive close and reopen', async (t) => {
  const path = tempDir(t);
  const first = await open(t, path);
  await first.createTable(TABLE);
  await first.putItem({ TableName: 'items', Item: { pk: { S: 'keep' }, sk: { N: '1' }, v: { B: Uint8Array.of(0, 1, 255) } } });
  await first.close();
  const second = await open(t, path);
  t.same((await second.listTables({})).TableNames, ['items']);
  const item = await second.getItem({ TableName: 'items', Key: { pk: { S: 'keep' }, sk: { N: '1' } }, ConsistentRead: true });
  t.same(Uint8Array.from((item.Item!['v'] as { B: Uint8Array }).B), Uint8Array.of(0, 1, 255));
  t.equal((await second.describeTable({ TableName: 'items' })).Table.ItemCount, 1);
});
