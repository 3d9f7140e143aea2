/**
 * The pure operation cores (lib/tables/write-item.ts, get-item.ts, query.ts,
 * scan.ts, batch-*.ts, read-page.ts, table-catalog.ts): validation order and
 * messages, each with its source, ReturnValues per operation, paging math,
 * Limit against the filter, Select's rules, segment splitting, batch limits.
 * Sources: dyn: = architect/dynalite (its tests run against DynamoDB);
 * ExtendDB = an emulator whose tests were recorded against us-east-1.
 */
import t from 'tap';
import fc from 'fast-check';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { prepareBatchGetItem } from '../lib/tables/batch-get-item.js';
import { prepareBatchWriteItem } from '../lib/tables/batch-write-item.js';
import { prepareGetItem } from '../lib/tables/get-item.js';
import { prepareQuery } from '../lib/tables/query.js';
import { PageAssembler, pageOutput, selectOf } from '../lib/tables/read-page.js';
import { prepareScan, segmentOfToken, segmentRanges, segmentTokens } from '../lib/tables/scan.js';
import { activeTable, checkDeleteTable, createTable, EMPTY_CATALOG, listTables, withStatus, type CatalogState } from '../lib/tables/table-catalog.js';
import { prepareDeleteItem, preparePutItem, prepareUpdateItem } from '../lib/tables/write-item.js';
import { TOKEN_SPACE } from '../lib/tables/table-engine.js';
import { tokenBound } from '../lib/ring/partitioned-key.js';

function catalogWith(...requests: unknown[]): CatalogState {
  let state = EMPTY_CATALOG;
  for (const request of requests) {
    const decision = createTable(state, request, { nowMs: 0, tableUuid: 'uuid' });
    state = withStatus(decision.state, decision.record.schema.tableName, 'ACTIVE');
  }
  return state;
}

const TABLE = {
  TableName: 'tbl',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
};
const state = catalogWith(TABLE);
const table = (name: string) => activeTable(state, name);
const key = { pk: { S: 'a' }, sk: { N: '1' } };

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof DynamoDbError) return `${error.name}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

t.test('PutItem: validation order and messages', async (t) => {
  // dyn:validations/putItem.js field order: TableName before Item.
  t.equal(
    message(() => preparePutItem({}, table)),
    "ValidationException: 2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null; Value null at 'item' failed to satisfy constraint: Member must not be null",
  );
  t.equal(
    message(() => preparePutItem({ TableName: 'a;', Item: {} }, table)),
    "ValidationException: 2 validation errors detected: Value 'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
  );
  // The mixing rule comes before the item's values (dyn:validations/putItem.js `custom`).
  t.equal(
    message(() => preparePutItem({ TableName: 'tbl', Item: { a: {} }, Expected: {}, ConditionExpression: 'x = :x' }, table)),
    'ValidationException: Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}',
  );
  t.equal(message(() => preparePutItem({ TableName: 'tbl', Item: { a: {} } }, table)), 'ValidationException: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  // ReturnValues: PutItem and DeleteItem take only ALL_OLD or NONE (dyn:test/putItem.js; ExtendDB for DeleteItem).
  for (const returnValues of ['UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW']) {
    t.equal(message(() => preparePutItem({ TableName: 'tbl', Item: key, ReturnValues: returnValues }, table)), 'ValidationException: ReturnValues can only be ALL_OLD or NONE');
    t.equal(message(() => prepareDeleteItem({ TableName: 'tbl', Key: key, ReturnValues: returnValues }, table)), 'ValidationException: ReturnValues can only be ALL_OLD or NONE');
  }
  t.equal(
    message(() => preparePutItem({ TableName: 'tbl', Item: key, ReturnValues: 'SOME' }, table)),
    "ValidationException: 1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
  );
  t.equal(message(() => preparePutItem({ TableName: 'tbl', Item: { ...key, big: { S: 'x'.repeat(409_600) } } }, table)), 'ValidationException: Item size has exceeded the maximum allowed size');
  // Request validation comes before the table lookup (dyn:test/putItem.js "...if item is empty and table does not exist").
  t.equal(message(() => preparePutItem({ TableName: 'missing', Item: { a: {} } }, table)), 'ValidationException: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  t.equal(message(() => preparePutItem({ TableName: 'missing', Item: key }, table)), 'ResourceNotFoundException: Requested resource not found');
  t.equal(message(() => preparePutItem({ TableName: 'tbl', Item: { pk: { S: 'a' } } }, table)), 'ValidationException: One or more parameter values were invalid: Missing the key sk in the item');
  t.equal(message(() => preparePutItem({ TableName: 'tbl', Item: { pk: { S: 'a' }, sk: { S: '1' } } }, table)), 'ValidationException: One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S');
});

t.test('PutItem decisions: condition, ReturnValues, capacity', async (t) => {
  const plan = preparePutItem({ TableName: 'tbl', Item: { ...key, v: { N: '2' } }, ConditionExpression: 'v < :v', ExpressionAttributeValues: { ':v': { N: '5' } }, ReturnValues: 'ALL_OLD', ReturnConsumedCapacity: 'TOTAL', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }, table);
  const absent = plan.decide(undefined);
  t.equal(absent.kind, 'conditionFailed', 'a comparison with a missing attribute is false');
  t.equal(absent.kind === 'conditionFailed' && absent.error.item, undefined, 'no item to return');
  const old: AttributeMap = { ...key, v: { N: '9' } };
  const failed = plan.decide(old);
  t.same(failed.kind === 'conditionFailed' ? [failed.error.name, failed.error.message, failed.error.item] : [], ['ConditionalCheckFailedException', 'The conditional request failed', old]);
  const ok = plan.decide({ ...key, v: { N: '1' }, w: { S: 'x'.repeat(3000) } });
  t.same(ok.kind === 'write' ? ok.output : undefined, {
    Attributes: { ...key, v: { N: '1' }, w: { S: 'x'.repeat(3000) } },
    // Charged on the larger of old (3 KB) and new item: 3 units (reference §3).
    ConsumedCapacity: { TableName: 'tbl', CapacityUnits: 3 },
  });
});

t.test('UpdateItem: Coral errors in the member order live DynamoDB gives', async (t) => {
  // Recorded against eu-west-2 and us-east-1 (2026) by a conformance suite: ReturnConsumedCapacity, tableName, ReturnValues, key.
  const update = { UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': { S: 'x' } } };
  const emptyName = "Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1";
  const noKey = "Value null at 'key' failed to satisfy constraint: Member must not be null";
  t.equal(message(() => prepareUpdateItem({ TableName: '', ...update }, table)), `ValidationException: 2 validation errors detected: ${emptyName}; ${noKey}`);
  t.equal(
    message(() => prepareUpdateItem({ TableName: '', ...update, ReturnConsumedCapacity: 'INVALID', ReturnValues: 'INVALID' }, table)),
    'ValidationException: 4 validation errors detected: ' +
      "Value 'INVALID' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]; " +
      `${emptyName}; ` +
      "Value 'INVALID' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]; " +
      noKey,
  );
  t.equal(
    message(() => prepareUpdateItem({ TableName: 'absent', AttributeUpdates: { x: { Action: 'PUT', Value: { S: '1' } } }, Expected: { a: { Exists: false }, b: { Exists: false } }, ConditionalOperator: 'XOR' }, table)),
    "ValidationException: 2 validation errors detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]; " + noKey,
  );
});

t.test('UpdateItem: key attributes, nested key paths, size after update, every ReturnValues', async (t) => {
  const update = (extra: Record<string, unknown>) => prepareUpdateItem({ TableName: 'tbl', Key: key, ...extra }, table);
  // dyn:db/index.js validateUpdates / validateKeyPaths (reference §17 #22, #23).
  t.equal(message(() => update({ UpdateExpression: 'SET pk = :v', ExpressionAttributeValues: { ':v': { S: 'b' } } })), 'ValidationException: One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key');
  t.equal(message(() => update({ UpdateExpression: 'REMOVE sk' })), 'ValidationException: One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key');
  t.equal(message(() => update({ AttributeUpdates: { sk: { Action: 'DELETE' } } })), 'ValidationException: One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key');
  t.equal(message(() => update({ UpdateExpression: 'SET pk.x = :v', ExpressionAttributeValues: { ':v': { S: 'b' } } })), "ValidationException: Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk");
  // The size after the update (dyn:actions/updateItem.js; reference §17 #21).
  const grow = update({ UpdateExpression: 'SET big = :v', ExpressionAttributeValues: { ':v': { S: 'x'.repeat(409_590) } } });
  t.equal(message(() => grow.decide({ ...key, other: { S: 'yyyyyyyyyy' } })), 'ValidationException: Item size to update has exceeded the maximum allowed size');

  const old: AttributeMap = { ...key, a: { M: { b: { N: '1' }, c: { N: '2' } } }, d: { S: 'keep' } };
  const outputs: Record<string, unknown> = {};
  for (const returnValues of ['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW']) {
    const plan = update({ UpdateExpression: 'SET a.b = :v, e = :e', ExpressionAttributeValues: { ':v': { N: '10' }, ':e': { BOOL: false } }, ReturnValues: returnValues });
    const decision = plan.decide(old);
    outputs[returnValues] = decision.kind === 'write' ? decision.output.Attributes : decision.kind;
  }
  t.same(outputs, {
    NONE: undefined,
    ALL_OLD: old,
    // Only the updated paths, nested as they are in the item; e did not exist before.
    UPDATED_OLD: { a: { M: { b: { N: '1' } } } },
    ALL_NEW: { ...key, a: { M: { b: { N: '10' }, c: { N: '2' } } }, d: { S: 'keep' }, e: { BOOL: false } },
    UPDATED_NEW: { a: { M: { b: { N: '10' } } }, e: { BOOL: false } },
  });
});

t.test('GetItem: projection, legacy mixing, capacity of a missing item', async (t) => {
  t.equal(
    message(() => prepareGetItem({ TableName: 'tbl', Key: key, AttributesToGet: ['a'], ProjectionExpression: 'a' }, table)),
    'ValidationException: Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}',
  );
  t.equal(message(() => prepareGetItem({ TableName: 'tbl', Key: key, AttributesToGet: ['a', 'a'] }, table)), 'ValidationException: One or more parameter values were invalid: Duplicate value in attribute name: a');
  t.equal(message(() => prepareGetItem({ TableName: 'tbl', Key: { pk: { S: 'a' } } }, table)), 'ValidationException: The provided key element does not match the schema');
  const plan = prepareGetItem({ TableName: 'tbl', Key: key, ReturnConsumedCapacity: 'INDEXES' }, table);
  t.same(plan.answer(undefined), { ConsumedCapacity: { TableName: 'tbl', CapacityUnits: 0.5, Table: { CapacityUnits: 0.5 } } });
});

t.test('Query: validation order and messages', async (t) => {
  const query = (extra: Record<string, unknown>) => prepareQuery({ TableName: 'tbl', ...extra }, table);
  // dyn:validations/query.js.
  t.equal(message(() => query({})), 'ValidationException: Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.');
  t.equal(message(() => query({ Limit: 0, KeyConditionExpression: 'pk = :p' })), "ValidationException: 1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
  const base = { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'a' } } };
  t.equal(message(() => query({ ...base, ExclusiveStartKey: { pk: { S: 'a' } } })), 'ValidationException: The provided starting key is invalid');
  t.equal(message(() => query({ ...base, ExclusiveStartKey: { pk: { S: 'b' }, sk: { N: '1' } } })), 'ValidationException: The provided starting key is outside query boundaries based on provided conditions');
  t.equal(message(() => query({ ...base, ExclusiveStartKey: { pk: { S: 'a' }, sk: { S: '1' } } })), 'ValidationException: The provided starting key is invalid: The provided key element does not match the schema');
  t.equal(message(() => query({ ...base, ExclusiveStartKey: { pk: {}, sk: { N: '1' } } })), 'ValidationException: The provided starting key is invalid: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  t.equal(message(() => query({ KeyConditionExpression: 'sk = :p', ExpressionAttributeValues: { ':p': { N: '1' } } })), 'ValidationException: Query condition missed key schema element: pk');
  t.equal(message(() => query({ ...base, IndexName: 'nope' })), 'ValidationException: The table does not have the specified index: nope');
  // Select (API: Query `Select`; texts recorded by ExtendDB and another emulator's tests).
  t.equal(message(() => query({ ...base, Select: 'SPECIFIC_ATTRIBUTES' })), 'ValidationException: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES');
  t.equal(message(() => query({ ...base, Select: 'ALL_PROJECTED_ATTRIBUTES' })), 'ValidationException: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName');
  t.equal(message(() => query({ ...base, Select: 'ALL_ATTRIBUTES', ProjectionExpression: 'a' })), 'ValidationException: Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES');
  t.equal(message(() => query({ ...base, Select: 'COUNT', AttributesToGet: ['a'], ExpressionAttributeValues: undefined, KeyConditionExpression: undefined, KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'a' }] } } })), 'ValidationException: 1 validation error detected: Cannot specify the AttributesToGet when choosing to get only the Count');
  t.equal(message(() => query({ ...base, Select: 'SPECIFIC_ATTRIBUTES', ProjectionExpression: 'a' })), 'no error');
  t.equal(message(() => query({ ...base, QueryFilter: { a: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'x' }] } } })), 'ValidationException: Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {KeyConditionExpression}');
  // KeyConditions' operand counts are checked before the table is looked up (dyn:validations/query.js).
  t.equal(message(() => prepareQuery({ TableName: 'missing', KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [] } } }, table)), 'ValidationException: One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator');
  t.equal(message(() => query({ KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'a' }] } }, QueryFilter: { sk: { ComparisonOperator: 'GT', AttributeValueList: [{ N: '1' }] } } })), 'ValidationException: QueryFilter can only contain non-primary key attributes: Primary key attribute: sk');
});

t.test('Scan: Segment and TotalSegments', async (t) => {
  const scan = (extra: Record<string, unknown>) => prepareScan({ TableName: 'tbl', ...extra }, table);
  // dyn:validations/scan.js; reference §5.
  t.equal(message(() => scan({ Segment: 1 })), 'ValidationException: The TotalSegments parameter is required but was not present in the request when Segment parameter is present');
  t.equal(message(() => scan({ TotalSegments: 2 })), 'ValidationException: The Segment parameter is required but was not present in the request when parameter TotalSegments is present');
  t.equal(message(() => scan({ Segment: 3, TotalSegments: 3 })), 'ValidationException: The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3');
  t.equal(message(() => scan({ Segment: -1, TotalSegments: 1_000_001 })), "ValidationException: 2 validation errors detected: Value '-1' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0; Value '1000001' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000");
  t.equal(message(() => scan({ Select: 'COUNT', ProjectionExpression: 'a' })), 'ValidationException: Cannot specify the ProjectionExpression when choosing to get only the Count', "Scan's has no Coral prefix (ExtendDB)");
});

t.test('segments tile the token space exactly once', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: TOKEN_SPACE - 1 }), (total, token) => {
      const first = segmentTokens(0, total);
      const last = segmentTokens(total - 1, total);
      if (first.tokenStart !== 0 || last.tokenEnd !== TOKEN_SPACE) return false;
      const owner = segmentOfToken(token, total);
      const interval = segmentTokens(owner, total);
      // The owner's interval holds the token, and its neighbours' intervals meet it exactly.
      if (!(interval.tokenStart <= token && token < interval.tokenEnd)) return false;
      if (owner > 0 && segmentTokens(owner - 1, total).tokenEnd !== interval.tokenStart) return false;
      return owner === total - 1 || segmentTokens(owner + 1, total).tokenStart === interval.tokenEnd;
    }),
    { numRuns: 2000 },
  );
  // Cut along any ring: the ranges of all segments are disjoint and cover the ring's ranges.
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: TOKEN_SPACE - 1 }), { maxLength: 12 }), fc.integer({ min: 1, max: 9 }), (cuts, total) => {
      const bounds = [0, ...cuts.sort((a, b) => a - b), TOKEN_SPACE];
      const ring = bounds.slice(0, -1).map((tokenStart, partition) => ({ partition, tokenStart, tokenEnd: bounds[partition + 1]! }));
      const pieces = Array.from({ length: total }, (_, segment) => segmentRanges(7, ring, segmentTokens(segment, total))).flat();
      const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
      pieces.sort((a, b) => Buffer.compare(a.start, b.start));
      if (hex(pieces[0]!.start) !== hex(tokenBound(7, 0))) return false;
      for (let i = 1; i < pieces.length; i += 1) if (hex(pieces[i - 1]!.end) !== hex(pieces[i]!.start)) return false;
      return Buffer.compare(pieces[pieces.length - 1]!.end, tokenBound(7, TOKEN_SPACE - 1)) > 0;
    }),
    { numRuns: 500 },
  );
  t.pass('2000 + 500 runs');
});

t.test('pages: Limit before the filter, 1 MB, tie groups sorted, LastEvaluatedKey', async (t) => {
  const items = (values: number[]) => values.map((n) => ({ pk: { S: 'p' }, sk: { N: String(n) }, even: { BOOL: n % 2 === 0 } }));
  const compare = (a: AttributeMap, b: AttributeMap) => Number((a['sk'] as { N: string }).N) - Number((b['sk'] as { N: string }).N);
  const answer = { tableName: 'tbl', keyNames: ['pk', 'sk'], filter: (item: AttributeMap) => (item['even'] as { BOOL: boolean }).BOOL, projection: undefined, select: 'ALL_ATTRIBUTES' as const, consistent: false, capacityMode: 'TOTAL' as const };

  const limited = new PageAssembler({ limit: 3, bytesMax: 1 << 20, compareInGroup: compare });
  for (const item of items([1, 2, 3, 4, 5])) limited.offer(item, undefined);
  const output = pageOutput(answer, limited);
  t.same([output.Count, output.ScannedCount, output.LastEvaluatedKey], [1, 3, { pk: { S: 'p' }, sk: { N: '3' } }]);

  // A tie group is held until complete, then evaluated in DynamoDB's order.
  const grouped = new PageAssembler({ limit: undefined, bytesMax: 1 << 20, compareInGroup: compare });
  const [one, two, three, four] = items([1, 2, 3, 4]);
  grouped.offer(three!, 'g');
  grouped.offer(one!, 'g');
  grouped.offer(two!, 'g');
  t.equal(grouped.evaluated.length, 0, 'held');
  grouped.offer(four!, undefined);
  grouped.end();
  t.same(grouped.evaluated, [one, two, three, four]);
  t.equal(grouped.lastEvaluated, undefined, 'the range ended: no LastEvaluatedKey');

  const bytes = new PageAssembler({ limit: undefined, bytesMax: 100, compareInGroup: compare });
  for (const item of items([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])) bytes.offer(item, undefined);
  // Each item is pk(3)+sk(4)+even(5) = 12 bytes: the ninth reaches 100.
  t.equal(bytes.evaluated.length, 9);
  t.ok(bytes.full);

  t.equal(message(() => selectOf('COUNT', 'ProjectionExpression', undefined, 'Query')), 'ValidationException: 1 validation error detected: Cannot specify the ProjectionExpression when choosing to get only the Count');
  t.equal(selectOf(undefined, undefined, undefined, 'Scan'), 'ALL_ATTRIBUTES');
  t.equal(selectOf(undefined, 'AttributesToGet', undefined, 'Scan'), 'SPECIFIC_ATTRIBUTES');
});

t.test('batches: limits, duplicates, whole-batch refusal, unprocessed parts', async (t) => {
  const keys = (count: number, offset = 0) => Array.from({ length: count }, (_, i) => ({ pk: { S: 'a' }, sk: { N: String(i + offset) } }));
  // dyn:validations/batchGetItem.js: 100 per table is Coral's constraint, more over all tables the custom message.
  t.equal(
    message(() => prepareBatchGetItem({ RequestItems: { tbl: { Keys: keys(101) } } }, table)).startsWith(
      "ValidationException: 1 validation error detected: Value '[",
    ),
    true,
  );
  t.match(message(() => prepareBatchGetItem({ RequestItems: { tbl: { Keys: keys(101) } } }, table)), /at 'requestItems\.tbl\.member\.keys' failed to satisfy constraint: Member must have length less than or equal to 100$/);
  const twoTables = catalogWith(TABLE, { ...TABLE, TableName: 'other' });
  t.equal(message(() => prepareBatchGetItem({ RequestItems: { tbl: { Keys: keys(60) }, other: { Keys: keys(41) } } }, (name) => activeTable(twoTables, name))), 'ValidationException: Too many items requested for the BatchGetItem call');
  t.equal(message(() => prepareBatchGetItem({ RequestItems: { tbl: { Keys: [...keys(2), ...keys(1)] } } }, table)), 'ValidationException: Provided list of item keys contains duplicates');
  t.equal(message(() => prepareBatchGetItem({ RequestItems: {} }, table)), "ValidationException: 1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1");
  t.equal(message(() => prepareBatchGetItem({ RequestItems: { missing: { Keys: keys(1) } } }, table)), 'ResourceNotFoundException: Requested resource not found');

  const plan = prepareBatchGetItem({ RequestItems: { tbl: { Keys: keys(3), ConsistentRead: true } }, ReturnConsumedCapacity: 'TOTAL' }, table);
  const answered = plan.answer([{ item: { ...keys(1)[0]! } }, { failed: new Error('quorum') }, { item: undefined }]);
  t.same(answered, {
    Responses: { tbl: [keys(1)[0]] },
    UnprocessedKeys: { tbl: { ConsistentRead: true, Keys: [keys(1, 1)[0]] } },
    ConsumedCapacity: [{ TableName: 'tbl', CapacityUnits: 2 }],
  });
  t.throws(() => plan.answer([{ failed: new Error('a') }, { failed: new Error('b') }, { failed: new Error('c') }]), /a/, 'nothing read: the failure is the answer');

  // API: BatchGetItem's example: 100 items of 300 KB, 52 returned, the rest unprocessed.
  const hundred = prepareBatchGetItem({ RequestItems: { tbl: { Keys: keys(100) } } }, table);
  const bigItem = (i: number): AttributeMap => ({ pk: { S: 'a' }, sk: { N: String(i) }, v: { S: 'x'.repeat(307_200 - 2 - 1 - 2 - 1 - 1 - String(i).length) } });
  t.equal(hundred.answer(keys(100).map((_, i) => ({ item: bigItem(i) }))).Responses['tbl']!.length, 52);
  t.equal(Object.values(hundred.answer(keys(100).map((_, i) => ({ item: bigItem(i) }))).UnprocessedKeys['tbl']!['Keys'] as unknown[]).length, 48);

  const puts = (count: number) => keys(count).map((item) => ({ PutRequest: { Item: item } }));
  t.equal(message(() => prepareBatchWriteItem({ RequestItems: { tbl: [{}] } }, table)), 'ValidationException: Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes');
  t.equal(message(() => prepareBatchWriteItem({ RequestItems: { tbl: [{ PutRequest: { Item: { pk: { S: 'a' }, sk: { S: '1' } } } }] } }, table)), 'ValidationException: The provided key element does not match the schema');
  t.equal(message(() => prepareBatchWriteItem({ RequestItems: { tbl: puts(13), other: puts(13) } }, (name) => activeTable(twoTables, name))), 'ValidationException: Too many items requested for the BatchWriteItem call');
  const writes = prepareBatchWriteItem({ RequestItems: { tbl: puts(2) }, ReturnConsumedCapacity: 'TOTAL' }, table);
  t.same(writes.answer([{ oldBytes: undefined }, { failed: new Error('down') }]), { UnprocessedItems: { tbl: [puts(2)[1]] }, ConsumedCapacity: [{ TableName: 'tbl', CapacityUnits: 1 }] });
});

t.test('catalog: ListTables paging and limits', async (t) => {
  const names = ['abc', 'Abd', 'a.b', 'zzz', 'a-b'];
  const catalog = catalogWith(...names.map((TableName) => ({ ...TABLE, TableName })));
  const sorted = [...names].sort();
  t.same(listTables(catalog, {}).TableNames, sorted);
  t.same(listTables(catalog, { Limit: 5 }), { TableNames: sorted }, 'a full page with nothing after it has no LastEvaluatedTableName');
  t.same(listTables(catalog, { Limit: 2, ExclusiveStartTableName: sorted[1] }), { TableNames: sorted.slice(2, 4), LastEvaluatedTableName: sorted[3] });
  t.equal(message(() => listTables(catalog, { Limit: 0 })), "ValidationException: 1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
  t.equal(catalogWith(TABLE, { ...TABLE, TableName: 'two' }).tables['two']!.id, 2, 'ids only grow');
  // A table being created cannot be deleted, and data operations do not see it (dyn:actions/deleteTable.js, dyn:db/index.js getTable).
  const creating = createTable(EMPTY_CATALOG, TABLE, { nowMs: 0, tableUuid: 'u' }).state;
  t.equal(message(() => checkDeleteTable(creating, { TableName: 'tbl' })), 'ResourceInUseException: Attempt to change a resource which is still in use: Table is being created: tbl');
  t.equal(message(() => activeTable(creating, 'tbl')), 'ResourceNotFoundException: Requested resource not found');
  t.equal(message(() => activeTable(withStatus(state, 'tbl', 'DELETING'), 'tbl')), 'ResourceNotFoundException: Requested resource not found');
  t.equal(message(() => checkDeleteTable(state, { TableName: 'nope' })), 'ResourceNotFoundException: Requested resource not found: Table: nope not found');
});
