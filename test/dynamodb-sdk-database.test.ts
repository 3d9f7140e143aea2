/**
 * The real AWS SDK v3, DynamoDBClient and DynamoDBDocumentClient, against a
 * real Database (storage-node threads, LMDB) on both transports, with one
 * suite: in process through `db.requestHandler`, and over HTTP through
 * serve(). Every operation the Database serves, each as user code meets it:
 * paginators, every ReturnValues, conditions, the SDK's exception classes
 * with $metadata and DynamoDB's exact messages, tags and DescribeEndpoints.
 * (test/dynamodb-sdk.test.ts checks the protocol layer alone with a scripted
 * dispatcher; this one checks what the Database answers through it.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  BatchGetItemCommand, BatchWriteItemCommand, ConditionalCheckFailedException, CreateTableCommand, DeleteItemCommand,
  DeleteTableCommand, DescribeEndpointsCommand, DescribeTableCommand, DynamoDBClient, DynamoDBServiceException,
  GetItemCommand, ListTablesCommand, ListTagsOfResourceCommand, PutItemCommand, ResourceInUseException,
  QueryCommand, ResourceNotFoundException, ScanCommand, TagResourceCommand, UntagResourceCommand, UpdateItemCommand, paginateListTables,
  paginateQuery, paginateScan, type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand,
  paginateQuery as paginateDocumentQuery, paginateScan as paginateDocumentScan,
} from '@aws-sdk/lib-dynamodb';
import { Database, serve, type DynamoDbServer } from '../lib/index.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
const CREDENTIALS = { accessKeyId: 'AKIDRINGTABLE', secretAccessKey: 'ringtable-secret' };
const REQUEST_ID = /^[0-9A-Z]{52}$/;

interface Transport {
  readonly name: string;
  readonly database: Database;
  /** The Address DescribeEndpoints should answer: the host the SDK sent the request to. */
  readonly host: string;
  client(): DynamoDBClient;
}

async function openTransport(t: Test, name: 'in-process' | 'http'): Promise<Transport> {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-sdk-db-'));
  const database = await Database.open({ path, nodes: 3, durability: 'none', antiEntropyIntervalMs: 0 });
  let server: DynamoDbServer | undefined;
  if (name === 'http') server = await serve({ database, port: 0, env: {} });
  const clients: DynamoDBClient[] = [];
  t.teardown(async () => {
    for (const client of clients) client.destroy();
    await server?.close();
    await database.close();
    rmSync(path, { recursive: true, force: true });
  });
  return {
    name, database,
    host: server === undefined ? 'dynamodb.us-east-1.amazonaws.com' : new URL(server.url).host,
    client() {
      const client = new DynamoDBClient({
        region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1,
        ...(server === undefined ? { requestHandler: database.requestHandler } : { endpoint: server.url }),
      });
      clients.push(client);
      return client;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<DynamoDBServiceException> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof DynamoDBServiceException)) throw new Error(`expected a DynamoDB exception, got ${String(error)}`);
  return error;
}

function checkMetadata(t: Test, error: DynamoDBServiceException, name: string, message: string): void {
  t.equal(error.name, name, `${name}: name`);
  t.equal(error.message, message, `${name}: message`);
  t.equal(error.$fault, 'client');
  t.equal(error.$metadata.httpStatusCode, 400);
  t.match(error.$metadata.requestId, REQUEST_ID);
}

const ORDERS = {
  TableName: 'orders', BillingMode: 'PAY_PER_REQUEST' as const,
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }, { AttributeName: 'sk', KeyType: 'RANGE' as const }],
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }, { AttributeName: 'sk', AttributeType: 'N' as const }],
};
const USERS = {
  TableName: 'users', BillingMode: 'PAY_PER_REQUEST' as const,
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
};

async function suite(t: Test, transport: Transport): Promise<void> {
  const client = transport.client();
  const doc = DynamoDBDocumentClient.from(client);

  t.test('CreateTable, DescribeTable, and CreateTable of an existing name', async (t) => {
    const created = await client.send(new CreateTableCommand(ORDERS));
    t.equal(created.TableDescription!.TableStatus, 'CREATING', 'CreateTable answers CREATING, as DynamoDB does');
    await client.send(new CreateTableCommand({ ...USERS, Tags: [{ Key: 'team', Value: 'identity' }] }));
    const described = await client.send(new DescribeTableCommand({ TableName: 'orders' }));
    t.equal(described.Table!.TableStatus, 'ACTIVE');
    t.same(described.Table!.KeySchema, ORDERS.KeySchema);
    t.ok(described.Table!.CreationDateTime instanceof Date);
    t.match(described.Table!.TableArn, /^arn:aws:dynamodb:ddblocal:000000000000:table\/orders$/);
    t.equal(described.$metadata.httpStatusCode, 200);
    const again = await rejection(client.send(new CreateTableCommand(ORDERS)));
    t.ok(again instanceof ResourceInUseException);
    checkMetadata(t, again, 'ResourceInUseException', 'Table already exists: orders');
  });

  t.test('ListTables pages with Limit, and paginateListTables follows them', async (t) => {
    for (const name of ['list-a', 'list-b', 'list-c']) await client.send(new CreateTableCommand({ ...USERS, TableName: name }));
    const first = await client.send(new ListTablesCommand({ Limit: 2 }));
    t.same(first.TableNames, ['list-a', 'list-b']);
    t.equal(first.LastEvaluatedTableName, 'list-b');
    const names: string[] = [];
    for await (const page of paginateListTables({ client, pageSize: 2 }, {})) names.push(...(page.TableNames ?? []));
    t.same(names, ['list-a', 'list-b', 'list-c', 'orders', 'users']);
    const tooMany = await rejection(client.send(new ListTablesCommand({ Limit: 101 })));
    checkMetadata(t, tooMany, 'ValidationException',
      "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100");
  });

  t.test('DeleteTable, then the table is gone', async (t) => {
    const deleted = await client.send(new DeleteTableCommand({ TableName: 'list-c' }));
    t.equal(deleted.TableDescription!.TableStatus, 'DELETING');
    const missing = await rejection(client.send(new DescribeTableCommand({ TableName: 'list-c' })));
    t.ok(missing instanceof ResourceNotFoundException);
    checkMetadata(t, missing, 'ResourceNotFoundException', 'Requested resource not found: Table: list-c not found');
    const listed = await client.send(new ListTablesCommand({}));
    t.notOk(listed.TableNames!.includes('list-c'));
  });

  t.test('PutItem: conditions and ReturnValues', async (t) => {
    const item = { pk: { S: 'c1' }, sk: { N: '1' }, total: { N: '12.50' }, tags: { SS: ['a', 'b'] }, raw: { B: new Uint8Array([0, 255]) } };
    const put = await client.send(new PutItemCommand({ TableName: 'orders', Item: item, ConditionExpression: 'attribute_not_exists(pk)', ReturnValues: 'ALL_OLD' }));
    t.equal(put.Attributes, undefined, 'a new item has no old attributes');
    const second = await rejection(client.send(new PutItemCommand({ TableName: 'orders', Item: item, ConditionExpression: 'attribute_not_exists(pk)' })));
    t.ok(second instanceof ConditionalCheckFailedException);
    checkMetadata(t, second, 'ConditionalCheckFailedException', 'The conditional request failed');
    t.equal((second as ConditionalCheckFailedException).Item, undefined, 'no Item without ReturnValuesOnConditionCheckFailure');
    const withOld = await rejection(client.send(new PutItemCommand({
      TableName: 'orders', Item: item, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }))) as ConditionalCheckFailedException;
    t.same(withOld.Item, { ...item, total: { N: '12.5' } }, 'the current item, in AttributeValue form');
    const replaced = await client.send(new PutItemCommand({ TableName: 'orders', Item: { ...item, total: { N: '20' } }, ReturnValues: 'ALL_OLD' }));
    t.same(replaced.Attributes, { ...item, total: { N: '12.5' } });
    const none = await client.send(new PutItemCommand({ TableName: 'orders', Item: { ...item, total: { N: '21' } }, ReturnValues: 'NONE' }));
    t.equal(none.Attributes, undefined);
    const badReturn = await rejection(client.send(new PutItemCommand({ TableName: 'orders', Item: item, ReturnValues: 'ALL_NEW' })));
    checkMetadata(t, badReturn, 'ValidationException', 'ReturnValues can only be ALL_OLD or NONE');
  });

  t.test('GetItem: projection, consistency, missing items and tables, key mismatch', async (t) => {
    const got = await client.send(new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'c1' }, sk: { N: '1' } }, ConsistentRead: true, ProjectionExpression: '#t, #r', ExpressionAttributeNames: { '#t': 'total', '#r': 'raw' } }));
    t.same(got.Item, { total: { N: '21' }, raw: { B: new Uint8Array([0, 255]) } });
    t.ok(got.Item!['raw']!.B instanceof Uint8Array);
    const absent = await client.send(new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'nobody' }, sk: { N: '1' } } }));
    t.equal(absent.Item, undefined);
    const noTable = await rejection(client.send(new GetItemCommand({ TableName: 'nothing-here', Key: { pk: { S: 'x' } } })));
    checkMetadata(t, noTable, 'ResourceNotFoundException', 'Requested resource not found');
    const mismatch = await rejection(client.send(new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'c1' } } })));
    checkMetadata(t, mismatch, 'ValidationException', 'The provided key element does not match the schema');
  });

  t.test('UpdateItem: every ReturnValues', async (t) => {
    const Key = { pk: { S: 'u1' }, sk: { N: '1' } };
    const update = (ReturnValues: 'NONE' | 'ALL_OLD' | 'UPDATED_OLD' | 'ALL_NEW' | 'UPDATED_NEW', n: string) => client.send(new UpdateItemCommand({
      TableName: 'orders', Key, UpdateExpression: 'SET #n = :n, #f = :f', ExpressionAttributeNames: { '#n': 'n', '#f': 'fixed' }, ExpressionAttributeValues: { ':n': { N: n }, ':f': { S: 'same' } }, ReturnValues,
    }));
    t.equal((await update('NONE', '1')).Attributes, undefined, 'NONE');
    t.same((await update('ALL_OLD', '2')).Attributes, { ...Key, n: { N: '1' }, fixed: { S: 'same' } }, 'ALL_OLD');
    t.same((await update('UPDATED_OLD', '3')).Attributes, { n: { N: '2' }, fixed: { S: 'same' } }, 'UPDATED_OLD');
    t.same((await update('ALL_NEW', '4')).Attributes, { ...Key, n: { N: '4' }, fixed: { S: 'same' } }, 'ALL_NEW');
    t.same((await update('UPDATED_NEW', '5')).Attributes, { n: { N: '5' }, fixed: { S: 'same' } }, 'UPDATED_NEW');
    const failed = await rejection(client.send(new UpdateItemCommand({
      TableName: 'orders', Key, UpdateExpression: 'ADD #n :one', ConditionExpression: '#n > :big', ExpressionAttributeNames: { '#n': 'n' },
      ExpressionAttributeValues: { ':one': { N: '1' }, ':big': { N: '100' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }))) as ConditionalCheckFailedException;
    t.ok(failed instanceof ConditionalCheckFailedException);
    t.same(failed.Item, { ...Key, n: { N: '5' }, fixed: { S: 'same' } });
    const keyUpdate = await rejection(client.send(new UpdateItemCommand({
      TableName: 'orders', Key, UpdateExpression: 'SET pk = :p', ExpressionAttributeValues: { ':p': { S: 'x' } },
    })));
    checkMetadata(t, keyUpdate, 'ValidationException', 'One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key');
  });

  t.test('DeleteItem: conditions and ReturnValues', async (t) => {
    const Key = { pk: { S: 'd1' }, sk: { N: '1' } };
    await client.send(new PutItemCommand({ TableName: 'orders', Item: { ...Key, state: { S: 'open' } } }));
    const refused = await rejection(client.send(new DeleteItemCommand({
      TableName: 'orders', Key, ConditionExpression: '#s = :closed', ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':closed': { S: 'closed' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }))) as ConditionalCheckFailedException;
    t.same(refused.Item, { ...Key, state: { S: 'open' } });
    const deleted = await client.send(new DeleteItemCommand({ TableName: 'orders', Key, ReturnValues: 'ALL_OLD' }));
    t.same(deleted.Attributes, { ...Key, state: { S: 'open' } });
    const again = await client.send(new DeleteItemCommand({ TableName: 'orders', Key, ReturnValues: 'ALL_OLD' }));
    t.equal(again.Attributes, undefined, 'deleting an absent item is no error');
    const badReturn = await rejection(client.send(new DeleteItemCommand({ TableName: 'orders', Key, ReturnValues: 'UPDATED_NEW' })));
    checkMetadata(t, badReturn, 'ValidationException', 'ReturnValues can only be ALL_OLD or NONE');
  });

  t.test('BatchWriteItem and BatchGetItem', async (t) => {
    const items = Array.from({ length: 12 }, (_, i) => ({ pk: { S: 'q' }, sk: { N: String(i) }, odd: { BOOL: i % 2 === 1 } }));
    const written = await client.send(new BatchWriteItemCommand({ RequestItems: {
      orders: [...items.map((Item) => ({ PutRequest: { Item } })), { DeleteRequest: { Key: { pk: { S: 'c1' }, sk: { N: '1' } } } }],
    } }));
    t.same(written.UnprocessedItems, {});
    const got = await client.send(new BatchGetItemCommand({ RequestItems: {
      orders: { Keys: [{ pk: { S: 'q' }, sk: { N: '3' } }, { pk: { S: 'q' }, sk: { N: '99' } }, { pk: { S: 'c1' }, sk: { N: '1' } }], ConsistentRead: true },
    } }));
    t.same(got.Responses!['orders'], [items[3]], 'only the stored item; the deleted and absent ones are left out');
    t.same(got.UnprocessedKeys, {});
    const duplicates = await rejection(client.send(new BatchGetItemCommand({ RequestItems: {
      orders: { Keys: [{ pk: { S: 'q' }, sk: { N: '3' } }, { pk: { S: 'q' }, sk: { N: '3' } }] },
    } })));
    checkMetadata(t, duplicates, 'ValidationException', 'Provided list of item keys contains duplicates');
  });

  t.test('Query with paginateQuery, forwards and backwards, with a filter', async (t) => {
    const values = async (input: Record<string, unknown>, pageSize: number): Promise<{ sks: number[]; pages: number }> => {
      const sks: number[] = [];
      let pages = 0;
      for await (const page of paginateQuery({ client, pageSize }, { TableName: 'orders', KeyConditionExpression: 'pk = :q', ExpressionAttributeValues: { ':q': { S: 'q' } }, ...input })) {
        pages += 1;
        for (const item of page.Items ?? []) sks.push(Number(item['sk']!.N));
      }
      return { sks, pages };
    };
    const forward = await values({ ConsistentRead: true }, 5);
    t.same(forward.sks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    t.ok(forward.pages >= 3, 'more than one page');
    const backward = await values({ ScanIndexForward: false, ConsistentRead: true }, 4);
    t.same(backward.sks, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const odd = await values({ FilterExpression: 'odd = :t', ExpressionAttributeValues: { ':q': { S: 'q' }, ':t': { BOOL: true } }, ConsistentRead: true }, 3);
    t.same(odd.sks, [1, 3, 5, 7, 9, 11]);
    const keyFilter = await rejection(client.send(new QueryCommand({ TableName: 'orders', KeyConditionExpression: 'pk = :q', FilterExpression: 'sk > :n', ExpressionAttributeValues: { ':q': { S: 'q' }, ':n': { N: '1' } } })));
    checkMetadata(t, keyFilter, 'ValidationException', 'Filter Expression can only contain non-primary key attributes: Primary key attribute: sk');
  });

  t.test('Scan with segments through paginateScan', async (t) => {
    const seen: string[] = [];
    const totalSegments = 3;
    for (let segment = 0; segment < totalSegments; segment++) {
      for await (const page of paginateScan({ client, pageSize: 4 }, { TableName: 'orders', Segment: segment, TotalSegments: totalSegments, ConsistentRead: true })) {
        for (const item of page.Items ?? []) seen.push(`${item['pk']!.S}/${item['sk']!.N}`);
      }
    }
    const expected = ['q/0', 'q/1', 'q/10', 'q/11', 'q/2', 'q/3', 'q/4', 'q/5', 'q/6', 'q/7', 'q/8', 'q/9', 'u1/1'];
    t.same([...seen].sort(), expected, 'the segments together hold every item once');
    const badSegment = await rejection(client.send(new ScanCommand({ TableName: 'orders', Segment: 3, TotalSegments: 3 })));
    checkMetadata(t, badSegment, 'ValidationException', 'The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3');
  });

  t.test('DynamoDBDocumentClient: every item operation and both paginators', async (t) => {
    await doc.send(new PutCommand({ TableName: 'users', Item: { id: 'ada', name: 'Ada', langs: new Set(['en', 'fr']), meta: { born: 1815, tags: ['math', null] }, big: 12345678901234567890n } }));
    const got = await doc.send(new GetCommand({ TableName: 'users', Key: { id: 'ada' }, ConsistentRead: true }));
    t.same(got.Item, { id: 'ada', name: 'Ada', langs: new Set(['en', 'fr']), meta: { born: 1815, tags: ['math', null] }, big: 12345678901234567890n });
    const updated = await doc.send(new UpdateCommand({ TableName: 'users', Key: { id: 'ada' }, UpdateExpression: 'ADD visits :one SET #n = :n', ExpressionAttributeNames: { '#n': 'name' }, ExpressionAttributeValues: { ':one': 1, ':n': 'Ada L.' }, ReturnValues: 'UPDATED_NEW' }));
    t.same(updated.Attributes, { visits: 1, name: 'Ada L.' });
    await doc.send(new BatchWriteCommand({ RequestItems: { users: ['bob', 'cy', 'dee', 'eve'].map((id) => ({ PutRequest: { Item: { id, n: id.length } } })) } }));
    // Consistent: an eventually consistent read just after a write may miss it, in DynamoDB as here (a replica the write has not reached yet).
    const batch = await doc.send(new BatchGetCommand({ RequestItems: { users: { Keys: [{ id: 'bob' }, { id: 'cy' }], ProjectionExpression: 'id, n', ConsistentRead: true } } }));
    t.same(batch.Responses!['users']!.map((item) => item['id']).sort(), ['bob', 'cy']);
    t.same(batch.Responses!['users']!.find((item) => item['id'] === 'cy'), { id: 'cy', n: 2 });
    const scanned: string[] = [];
    for await (const page of paginateDocumentScan({ client: doc, pageSize: 2 }, { TableName: 'users', ConsistentRead: true })) for (const item of page.Items ?? []) scanned.push(item['id'] as string);
    t.same(scanned.sort(), ['ada', 'bob', 'cy', 'dee', 'eve']);
    const queried: unknown[] = [];
    for await (const page of paginateDocumentQuery({ client: doc, pageSize: 1 }, { TableName: 'users', KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': 'bob' }, ConsistentRead: true })) queried.push(...(page.Items ?? []));
    t.same(queried, [{ id: 'bob', n: 3 }]);
    const refused = await rejection(doc.send(new DeleteCommand({ TableName: 'users', Key: { id: 'bob' }, ConditionExpression: 'n = :four', ExpressionAttributeValues: { ':four': 4 }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })));
    t.ok(refused instanceof ConditionalCheckFailedException);
    checkMetadata(t, refused, 'ConditionalCheckFailedException', 'The conditional request failed');
    t.same((refused as ConditionalCheckFailedException).Item, { id: { S: 'bob' }, n: { N: '3' } }, 'lib-dynamodb leaves an error Item marshalled');
    const deleted = await doc.send(new DeleteCommand({ TableName: 'users', Key: { id: 'bob' }, ReturnValues: 'ALL_OLD' }));
    t.same(deleted.Attributes, { id: 'bob', n: 3 });
  });

  t.test('Tags: CreateTable, TagResource, UntagResource, ListTagsOfResource', async (t) => {
    const usersArn = (await client.send(new DescribeTableCommand({ TableName: 'users' }))).Table!.TableArn!;
    const ordersArn = (await client.send(new DescribeTableCommand({ TableName: 'orders' }))).Table!.TableArn!;
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: usersArn }))).Tags, [{ Key: 'team', Value: 'identity' }], 'tags given to CreateTable');
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: ordersArn }))).Tags, []);
    const tagged = await client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: [{ Key: 'env', Value: 'test' }, { Key: 'owner', Value: '' }] }));
    t.equal(tagged.$metadata.httpStatusCode, 200);
    await client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: ordersArn }))).Tags, [{ Key: 'env', Value: 'prod' }, { Key: 'owner', Value: '' }], 'a key set again takes the new value');
    await client.send(new UntagResourceCommand({ ResourceArn: ordersArn, TagKeys: ['owner', 'never-set'] }));
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: ordersArn }))).Tags, [{ Key: 'env', Value: 'prod' }]);

    const missingArn = ordersArn.replace(/orders$/, 'nothing');
    checkMetadata(t, await rejection(client.send(new TagResourceCommand({ ResourceArn: missingArn, Tags: [{ Key: 'a', Value: 'b' }] }))),
      'ResourceNotFoundException', `Requested resource not found: ResourcArn: ${missingArn} not found`);
    checkMetadata(t, await rejection(client.send(new UntagResourceCommand({ ResourceArn: missingArn, TagKeys: ['a'] }))),
      'ResourceNotFoundException', 'Requested resource not found');
    checkMetadata(t, await rejection(client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: [] }))),
      'ValidationException', 'Atleast one Tag needs to be provided as Input.');
    checkMetadata(t, await rejection(client.send(new UntagResourceCommand({ ResourceArn: ordersArn, TagKeys: [] }))),
      'ValidationException', 'Atleast one Tag Key needs to be provided as Input.');
    checkMetadata(t, await rejection(client.send(new ListTagsOfResourceCommand({ ResourceArn: 'a:b:c:d:e:f/g' }))),
      'ValidationException', 'Invalid TableArn: Invalid ResourceArn provided as input a:b:c:d:e:f/g');
    checkMetadata(t, await rejection(client.send(new ListTagsOfResourceCommand({ ResourceArn: `${ordersArn}/index/gsi` }))),
      'ValidationException', `Invalid TableArn: Invalid ResourceArn provided as input ${ordersArn}/index/gsi`);
    const denied = await rejection(client.send(new TagResourceCommand({ ResourceArn: 'abcd', Tags: [{ Key: 'a', Value: 'b' }] })));
    t.equal(denied.name, 'AccessDeniedException');
    t.match(denied.message, /^User: arn:aws:iam::\d+:.+ is not authorized to perform: dynamodb:TagResource on resource: abcd$/);
    const longKey = 'k'.repeat(129);
    checkMetadata(t, await rejection(client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: [{ Key: longKey, Value: 'v' }] }))),
      'ValidationException', `1 validation error detected: Value '${longKey}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128`);
    const badChars = await rejection(client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: [{ Key: 'hi!', Value: 'v' }] })));
    t.equal(badChars.name, 'ValidationException');
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const tooMany = await rejection(client.send(new TagResourceCommand({ ResourceArn: ordersArn, Tags: fifty })));
    t.equal(tooMany.name, 'ValidationException', 'env and 50 more exceed 50 tags');
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: ordersArn }))).Tags, [{ Key: 'env', Value: 'prod' }], 'a refused TagResource changes nothing');

    const hundred = Array.from({ length: 100 }, (_, i) => ({ Key: String(i), Value: String(i) }));
    const refusedCreate = await rejection(client.send(new CreateTableCommand({ ...USERS, TableName: 'over-tagged', Tags: hundred })));
    t.equal(refusedCreate.name, 'ValidationException');
    t.equal((await rejection(client.send(new DescribeTableCommand({ TableName: 'over-tagged' })))).name, 'ResourceNotFoundException', 'a refused CreateTable creates nothing');
    await client.send(new CreateTableCommand({ ...USERS, TableName: 'tagged-once', Tags: [{ Key: 'a', Value: 'b' }] }));
    await client.send(new DeleteTableCommand({ TableName: 'tagged-once' }));
    await client.send(new CreateTableCommand({ ...USERS, TableName: 'tagged-once' }));
    const recreatedArn = (await client.send(new DescribeTableCommand({ TableName: 'tagged-once' }))).Table!.TableArn!;
    t.same((await client.send(new ListTagsOfResourceCommand({ ResourceArn: recreatedArn }))).Tags, [], 'tags go with the deleted table');
  });

  t.test('DescribeEndpoints answers the host the request came to', async (t) => {
    const endpoints = await client.send(new DescribeEndpointsCommand({}));
    t.same(endpoints.Endpoints, [{ Address: transport.host, CachePeriodInMinutes: 1440 }]);
  });

  t.test('tags survive a reopen of the catalog', async (t) => {
    // The catalog is the file the Database persists; its tags are in it after every change.
    const { readCatalog } = await import('../lib/tables/catalog-file.js');
    const path = (transport.database as unknown as { directory: string }).directory;
    t.same(readCatalog(path).tables['orders']!.tags, [{ Key: 'env', Value: 'prod' }]);
  });

}

for (const name of ['in-process', 'http'] as const) {
  t.test(name, async (t) => {
    const transport = await openTransport(t, name);
    await suite(t, transport);
  });
}

t.test('db.requestHandler is one handler per Database, and answers as the Database does', async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-sdk-db-'));
  const database = await Database.open({ path, nodes: 1, durability: 'none', antiEntropyIntervalMs: 0 });
  t.teardown(async () => { await database.close(); rmSync(path, { recursive: true, force: true }); });
  t.equal(database.requestHandler, database.requestHandler, 'built once');
  const client = new DynamoDBClient({ region: 'local', credentials: CREDENTIALS, requestHandler: database.requestHandler });
  t.teardown(() => client.destroy());
  await client.send(new CreateTableCommand(USERS));
  await client.send(new PutItemCommand({ TableName: 'users', Item: { id: { S: 'x' }, v: { N: '1' } } }));
  const typed = await database.getItem({ TableName: 'users', Key: { id: { S: 'x' } }, ConsistentRead: true });
  t.same(typed.Item, { id: { S: 'x' }, v: { N: '1' } }, 'what the SDK wrote, the typed API reads');
  const item: Record<string, AttributeValue> | undefined = (await client.send(new GetItemCommand({ TableName: 'users', Key: { id: { S: 'x' } } }))).Item;
  t.same(item, typed.Item);
});
