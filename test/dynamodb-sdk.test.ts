/**
 * The real AWS SDK v3 (DynamoDBClient, DynamoDBDocumentClient) against both
 * transports, in-process and HTTP, through one scripted dispatcher: proves
 * the protocol layer end to end without the tables layer.
 */
import t, { type Test } from 'tap';
import {
  BatchGetItemCommand, BatchWriteItemCommand, ConditionalCheckFailedException, CreateTableCommand, DeleteItemCommand,
  DeleteTableCommand, DescribeEndpointsCommand, DescribeLimitsCommand, DescribeTableCommand, DescribeTimeToLiveCommand,
  DynamoDBServiceException, GetItemCommand, ListTablesCommand, ListTagsOfResourceCommand, PutItemCommand, QueryCommand,
  ScanCommand, TagResourceCommand, TransactGetItemsCommand, TransactWriteItemsCommand, TransactionCanceledException,
  UntagResourceCommand, UpdateItemCommand, UpdateTableCommand, UpdateTimeToLiveCommand, paginateQuery,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { crc32 } from '../lib/dynamodb/crc32.js';
import { ScriptedDispatcher, TEST_CREDENTIALS, TRANSPORTS, type Transport } from './helpers/dynamodb-transports.js';

const bytes = new Uint8Array([0, 1, 127, 128, 254, 255]);
const otherBytes = new Uint8Array([7]);
const TableName = 'wire-test';
const ResourceArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/wire-test';
const key = { pk: { S: 'a' }, sk: { B: bytes } };

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyCommand = new (input: any) => any;

/** Every operation of issues 11 and 13, with an input that exercises its shape. */
const OPERATIONS: Array<[string, AnyCommand, Record<string, unknown>]> = [
  ['CreateTable', CreateTableCommand, {
    TableName, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'B' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{ IndexName: 'g', KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' },
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 2 } }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 6 }, Tags: [{ Key: 'team', Value: 'wire' }],
  }],
  ['DeleteTable', DeleteTableCommand, { TableName }],
  ['DescribeTable', DescribeTableCommand, { TableName }],
  ['ListTables', ListTablesCommand, { ExclusiveStartTableName: 'a', Limit: 5 }],
  ['UpdateTable', UpdateTableCommand, { TableName, BillingMode: 'PAY_PER_REQUEST', DeletionProtectionEnabled: true }],
  ['PutItem', PutItemCommand, {
    TableName, ConditionExpression: 'attribute_not_exists(pk)', ReturnValues: 'ALL_OLD',
    Item: { ...key, set: { BS: [bytes, otherBytes] }, m: { M: { l: { L: [{ B: bytes }, { N: '1.50' }, { NULL: true }, { BOOL: false }] } } } },
  }],
  ['GetItem', GetItemCommand, { TableName, Key: key, ConsistentRead: true, ProjectionExpression: '#a', ExpressionAttributeNames: { '#a': 'a' } }],
  ['UpdateItem', UpdateItemCommand, {
    TableName, Key: key, UpdateExpression: 'SET #a = :v', ExpressionAttributeNames: { '#a': 'a' },
    ExpressionAttributeValues: { ':v': { B: otherBytes } }, ReturnValues: 'UPDATED_NEW',
  }],
  ['DeleteItem', DeleteItemCommand, { TableName, Key: key, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }],
  ['Query', QueryCommand, {
    TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } }, ExclusiveStartKey: key,
    Limit: 10, ScanIndexForward: false, Select: 'ALL_ATTRIBUTES', ReturnConsumedCapacity: 'TOTAL',
  }],
  ['Scan', ScanCommand, { TableName, Segment: 1, TotalSegments: 4, FilterExpression: 'x = :x', ExpressionAttributeValues: { ':x': { BS: [bytes] } } }],
  ['BatchGetItem', BatchGetItemCommand, { RequestItems: { [TableName]: { Keys: [key], ConsistentRead: true } } }],
  ['BatchWriteItem', BatchWriteItemCommand, { RequestItems: { [TableName]: [{ PutRequest: { Item: key } }, { DeleteRequest: { Key: key } }] } }],
  ['TransactWriteItems', TransactWriteItemsCommand, {
    TransactItems: [{ Put: { TableName, Item: key } }, { ConditionCheck: { TableName, Key: key, ConditionExpression: 'attribute_exists(pk)' } },
      { Update: { TableName, Key: key, UpdateExpression: 'REMOVE a' } }, { Delete: { TableName, Key: key } }],
    ClientRequestToken: 'token-1',
  }],
  ['TransactGetItems', TransactGetItemsCommand, { TransactItems: [{ Get: { TableName, Key: key } }] }],
  ['UpdateTimeToLive', UpdateTimeToLiveCommand, { TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' } }],
  ['DescribeTimeToLive', DescribeTimeToLiveCommand, { TableName }],
  ['DescribeEndpoints', DescribeEndpointsCommand, {}],
  ['ListTagsOfResource', ListTagsOfResourceCommand, { ResourceArn }],
  ['TagResource', TagResourceCommand, { ResourceArn, Tags: [{ Key: 'a', Value: 'b' }] }],
  ['UntagResource', UntagResourceCommand, { ResourceArn, TagKeys: ['a'] }],
  ['DescribeLimits', DescribeLimitsCommand, {}],
];

const REQUEST_ID = /^[0-9A-Z]{52}$/;

async function suite(t: Test, transport: Transport, dispatcher: ScriptedDispatcher): Promise<void> {
  const client = transport.client();

  t.test('every operation arrives type-checked, with B decoded', async (t) => {
    for (const [operation, Command, input] of OPERATIONS) {
      dispatcher.answer = () => ({});
      await client.send(new Command(input));
      const call = dispatcher.last();
      t.equal(call.operation, operation, operation);
      t.same(call.input, input, `${operation} input`);
    }
    const put = dispatcher.calls.find((c) => c.operation === 'PutItem')!.input as any;
    t.ok(put.Item.sk.B instanceof Uint8Array, 'B is a Uint8Array');
    t.ok(put.Item.set.BS[1] instanceof Uint8Array, 'BS members are Uint8Arrays');
    t.same([...put.Item.m.M.l.L[0].B], [...bytes], 'nested B decoded');
  });

  t.test('responses reach user code, B as Uint8Array and timestamps as Date', async (t) => {
    dispatcher.answer = (operation) => {
      switch (operation) {
        case 'GetItem': return { Item: { ...key, bs: { BS: [otherBytes] } } };
        case 'DescribeTable': return { Table: { TableName, TableStatus: 'ACTIVE', CreationDateTime: 1_700_000_000.5, ItemCount: 3 } };
        case 'BatchGetItem': return { Responses: { [TableName]: [key] }, UnprocessedKeys: { [TableName]: { Keys: [key] } } };
        case 'ListTables': return { TableNames: ['a', 'b'], LastEvaluatedTableName: 'b' };
        case 'DescribeLimits': return { AccountMaxReadCapacityUnits: 80000, AccountMaxWriteCapacityUnits: 80000,
          TableMaxReadCapacityUnits: 40000, TableMaxWriteCapacityUnits: 40000 };
        case 'DescribeEndpoints': return { Endpoints: [{ Address: 'localhost:8000', CachePeriodInMinutes: 1440 }] };
        case 'TransactGetItems': return { Responses: [{ Item: key }, {}] };
        default: return {};
      }
    };
    const got = await client.send(new GetItemCommand({ TableName, Key: key }));
    t.same(got.Item, { ...key, bs: { BS: [otherBytes] } });
    t.ok(got.Item!['sk']!.B instanceof Uint8Array);
    t.equal(got.$metadata.httpStatusCode, 200);
    t.match(got.$metadata.requestId, REQUEST_ID);
    const described = await client.send(new DescribeTableCommand({ TableName }));
    t.ok(described.Table!.CreationDateTime instanceof Date);
    t.equal(described.Table!.CreationDateTime!.getTime(), 1_700_000_000_500);
    t.equal(described.Table!.ItemCount, 3);
    const batch = await client.send(new BatchGetItemCommand({ RequestItems: { [TableName]: { Keys: [key] } } }));
    t.same(batch.Responses![TableName], [key]);
    t.same(batch.UnprocessedKeys![TableName]!.Keys, [key]);
    t.same((await client.send(new ListTablesCommand({}))).TableNames, ['a', 'b']);
    t.equal((await client.send(new DescribeLimitsCommand({}))).TableMaxReadCapacityUnits, 40000);
    t.equal((await client.send(new DescribeEndpointsCommand({}))).Endpoints![0]!.CachePeriodInMinutes, 1440);
    t.same((await client.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName, Key: key } }] }))).Responses,
      [{ Item: key }, {}]);
  });

  t.test('DocumentClient marshals and unmarshals unchanged', async (t) => {
    const doc = DynamoDBDocumentClient.from(client);
    dispatcher.answer = () => ({});
    await doc.send(new PutCommand({ TableName, Item: { pk: 'a', tags: new Set(['x', 'y']), nothing: null, list: [1, { deep: true }], big: 12345678901234567890n } }));
    t.same(dispatcher.last().input, { TableName, Item: {
      pk: { S: 'a' }, tags: { SS: ['x', 'y'] }, nothing: { NULL: true },
      list: { L: [{ N: '1' }, { M: { deep: { BOOL: true } } }] }, big: { N: '12345678901234567890' },
    } });
    dispatcher.answer = () => ({ Item: { pk: { S: 'a' }, n: { N: '1.50' }, b: { B: bytes }, ss: { SS: ['p'] } } });
    const got = await doc.send(new GetCommand({ TableName, Key: { pk: 'a' } }));
    t.same(dispatcher.last().input, { TableName, Key: { pk: { S: 'a' } } });
    t.equal(got.Item!['pk'], 'a');
    t.equal(got.Item!['n'], 1.5);
    t.same([...(got.Item!['b'] as Uint8Array)], [...bytes]);
    t.same(got.Item!['ss'], new Set(['p']));
  });

  t.test('paginateQuery follows LastEvaluatedKey', async (t) => {
    const pages = [
      { Items: [{ pk: { S: 'a' }, sk: { B: new Uint8Array([1]) } }], LastEvaluatedKey: { pk: { S: 'a' }, sk: { B: new Uint8Array([1]) } } },
      { Items: [{ pk: { S: 'a' }, sk: { B: new Uint8Array([2]) } }], LastEvaluatedKey: { pk: { S: 'a' }, sk: { B: new Uint8Array([2]) } } },
      { Items: [{ pk: { S: 'a' }, sk: { B: new Uint8Array([3]) } }] },
    ];
    const starts: unknown[] = [];
    dispatcher.answer = (_operation, input) => {
      starts.push(input['ExclusiveStartKey']);
      const start = input['ExclusiveStartKey'] as { sk: { B: Uint8Array } } | undefined;
      const page = start === undefined ? 0 : start.sk.B[0]!;
      return { ...pages[page]!, Count: 1, ScannedCount: 1 };
    };
    const seen: number[] = [];
    for await (const page of paginateQuery({ client }, { TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } } })) {
      for (const item of page.Items ?? []) seen.push((item['sk']!.B as Uint8Array)[0]!);
    }
    t.same(seen, [1, 2, 3]);
    t.same(starts, [undefined, { pk: { S: 'a' }, sk: { B: new Uint8Array([1]) } }, { pk: { S: 'a' }, sk: { B: new Uint8Array([2]) } }]);
  });

  t.test('DynamoDB errors become the SDK error classes', async (t) => {
    dispatcher.answer = () => { throw new DynamoDbError('ConditionalCheckFailedException', 'The conditional request failed', { item: key }); };
    const conditional = await client.send(new PutItemCommand({ TableName, Item: key })).catch((e: unknown) => e) as ConditionalCheckFailedException;
    t.ok(conditional instanceof ConditionalCheckFailedException);
    t.ok(conditional instanceof DynamoDBServiceException);
    t.equal(conditional.message, 'The conditional request failed');
    t.equal(conditional.$fault, 'client');
    t.equal(conditional.$metadata.httpStatusCode, 400);
    t.match(conditional.$metadata.requestId, REQUEST_ID);
    t.same(conditional.Item, key);

    const reasons = [{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: key }, { Code: 'None' }];
    const cancelled = 'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]';
    dispatcher.answer = () => { throw new DynamoDbError('TransactionCanceledException', cancelled, { cancellationReasons: reasons }); };
    const canceled = await client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName, Item: key } }] }))
      .catch((e: unknown) => e) as TransactionCanceledException;
    t.ok(canceled instanceof TransactionCanceledException);
    t.equal(canceled.message, cancelled);
    t.same(canceled.CancellationReasons, reasons);

    dispatcher.answer = () => { throw new DynamoDbError('ValidationException', 'The provided key element does not match the schema'); };
    const validation = await client.send(new GetItemCommand({ TableName, Key: key })).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(validation.name, 'ValidationException');
    t.equal(validation.message, 'The provided key element does not match the schema');

    dispatcher.answer = () => { throw new DynamoDbError('ResourceNotFoundException', 'Requested resource not found'); };
    const missing = await client.send(new DescribeTableCommand({ TableName })).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(missing.name, 'ResourceNotFoundException');

    dispatcher.answer = () => { throw new Error('secret internals: /var/lib/ringtable/table-42'); };
    const internal = await client.send(new GetItemCommand({ TableName, Key: key })).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(internal.name, 'InternalServerError');
    t.equal(internal.$metadata.httpStatusCode, 500);
    t.notMatch(internal.message, /secret|ringtable/);
    t.equal(internal.$fault, 'server');
  });

  t.test('SerializationException for a body of the wrong types', async (t) => {
    const broken = transport.client();
    // Rewrites the body before signing: what a buggy client would send.
    broken.middlewareStack.add((next) => async (args: any) => {
      args.request.body = JSON.stringify({ TableName: 123, Key: { pk: { S: 'a' } } });
      args.request.headers['content-length'] = String(Buffer.byteLength(args.request.body));
      return next(args);
    }, { step: 'build', name: 'breakBody' });
    const calls = dispatcher.calls.length;
    const error = await broken.send(new GetItemCommand({ TableName, Key: key })).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(error.name, 'SerializationException');
    t.equal(error.message, 'NUMBER_VALUE cannot be converted to String');
    t.equal(error.$metadata.httpStatusCode, 400);
    t.equal(dispatcher.calls.length, calls, 'a rejected request never reaches the dispatcher');

    const raw = await signedRaw(transport, 'GetItem', '{"TableName":"t","Key":{"k":{"B":"abc"}}}');
    t.equal(raw.statusCode, 400);
    t.same(JSON.parse(raw.body.toString()), {
      __type: 'com.amazon.coral.service#SerializationException', Message: 'Base64 encoded length is expected a multiple of 4 bytes but found: 3',
    });
  });

  t.test('UnknownOperationException for an unknown target', async (t) => {
    const raw = await signedRaw(transport, 'ListTable', '{}');
    t.equal(raw.statusCode, 400);
    t.equal(raw.body.toString(), '{"__type":"com.amazon.coral.service#UnknownOperationException"}');
    t.equal(raw.headers['x-amz-crc32'], '1368724161', "dynalite's recorded CRC of this body");
  });

  t.test('signatures: verified against the server credentials', async (t) => {
    dispatcher.answer = () => ({ TableNames: [] });
    const wrongSecret = transport.client({ credentials: { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const invalid = await wrongSecret.send(new ListTablesCommand({})).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(invalid.name, 'InvalidSignatureException');
    t.match(invalid.message, /^The request signature we calculated does not match the signature you provided\. /);
    t.equal(invalid.$metadata.httpStatusCode, 400);

    const unknownKey = transport.client({ credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: TEST_CREDENTIALS.secretAccessKey } });
    const unrecognized = await unknownKey.send(new ListTablesCommand({})).catch((e: unknown) => e) as DynamoDBServiceException;
    t.equal(unrecognized.name, 'UnrecognizedClientException');
    t.equal(unrecognized.message, 'The security token included in the request is invalid.');

    // A client clock an hour slow: DynamoDB answers "Signature expired" with its Date, and the SDK corrects and retries.
    const slow = transport.client({ systemClockOffset: -3_600_000, maxAttempts: 3 });
    const listed = await slow.send(new ListTablesCommand({}));
    t.equal(listed.$metadata.attempts, 2, 'one expired attempt, then one corrected by the Date header');

    const missing = await transport.raw({ headers: {
      'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' }, body: '{}' });
    t.equal(missing.statusCode, 400);
    t.same(JSON.parse(missing.body.toString()), {
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' });
  });

  t.test('CRC32 and request ids on every answer', async (t) => {
    dispatcher.answer = () => ({ Item: key });
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const raw = await signedRaw(transport, 'GetItem', JSON.stringify({ TableName, Key: { pk: { S: 'a' } } }));
      t.equal(raw.statusCode, 200);
      t.equal(raw.headers['x-amz-crc32'], String(crc32(raw.body)));
      t.equal(raw.headers['content-length'], String(raw.body.length));
      t.equal(raw.headers['content-type'], 'application/x-amz-json-1.0');
      t.match(raw.headers['x-amzn-requestid'], REQUEST_ID);
      ids.add(raw.headers['x-amzn-requestid']!);
      t.same(JSON.parse(raw.body.toString()), { Item: { pk: { S: 'a' }, sk: { B: Buffer.from(bytes).toString('base64') } } });
    }
    t.equal(ids.size, 5, 'request ids differ');
  });
}

/** A raw request signed by the SDK's own signer, via a client whose handler captures instead of sending. */
async function signedRaw(transport: Transport, operation: string, body: string) {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('./helpers/sha256.js');
  const signer = new SignatureV4({ credentials: TEST_CREDENTIALS, region: 'us-east-1', service: 'dynamodb', sha256: Sha256 as any });
  const signed = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: 'localhost', path: '/', query: {},
    headers: { host: 'localhost', 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` },
    body,
  } as any);
  return transport.raw({ headers: (signed as any).headers as Record<string, string>, body });
}

for (const { name, open } of TRANSPORTS) {
  t.test(name, async (t) => {
    const dispatcher = new ScriptedDispatcher();
    const transport = await open(dispatcher, TEST_CREDENTIALS);
    t.teardown(() => transport.close());
    await suite(t, transport, dispatcher);
  });
}
