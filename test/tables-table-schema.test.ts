/**
 * CreateTable validation and key extraction (lib/tables/table-schema.ts).
 * Cases and messages from dynalite's test/createTable.js and
 * test/putItem.js (recorded against DynamoDB), and live DynamoDB answers of
 * a conformance suite where they differ (empty key values, BatchWriteItem's
 * key type mismatch).
 */
import t from 'tap';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import {
  checkIndexKeyTypes,
  extractItemKey,
  extractKey,
  validateCreateTable,
  type CreateTableInput,
  type PrimaryKeySchema,
} from '../lib/tables/table-schema.js';

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof DynamoDbError && error.name === 'ValidationException') return error.message;
    throw error;
  }
  throw new Error('expected a ValidationException');
}

const PREFIX = 'One or more parameter values were invalid: ';
const PT = { ReadCapacityUnits: 1, WriteCapacityUnits: 1 };
const AB = [
  { AttributeName: 'a', AttributeType: 'S' },
  { AttributeName: 'b', AttributeType: 'S' },
];
const HASH_RANGE = [
  { KeyType: 'HASH', AttributeName: 'a' },
  { KeyType: 'RANGE', AttributeName: 'b' },
];
const lsi = (name: string, extra: Record<string, unknown> = {}) => ({ IndexName: name, KeySchema: HASH_RANGE, Projection: { ProjectionType: 'ALL' }, ...extra });

function coral(errors: string[]): string {
  return `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`;
}

t.test('TableName: required, then 3..255 characters', async (t) => {
  t.equal(failure(() => validateCreateTable({})), "The parameter 'TableName' is required but was not present in the request");
  for (const name of ['', 'a;', 'a'.repeat(256)]) {
    t.equal(failure(() => validateCreateTable({ TableName: name })), 'TableName must be at least 3 characters long and at most 255 characters long');
  }
});

t.test("Coral's constraint errors, in field order, at most 10", async (t) => {
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc;' })),
    coral([
      "Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null",
      "Value 'abc;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      "Value null at 'keySchema' failed to satisfy constraint: Member must not be null",
    ]),
  );
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc', AttributeDefinitions: [] })),
    coral(["Value null at 'keySchema' failed to satisfy constraint: Member must not be null"]),
  );
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc', AttributeDefinitions: [], ProvisionedThroughput: {}, BillingMode: 'PAY_PER_REQUEST' })),
    coral([
      "Value null at 'provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: Member must not be null",
      "Value null at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must not be null",
      "Value null at 'keySchema' failed to satisfy constraint: Member must not be null",
    ]),
  );
  t.equal(
    failure(() =>
      validateCreateTable({ TableName: 'abc', AttributeDefinitions: [], KeySchema: [], ProvisionedThroughput: { ReadCapacityUnits: -1, WriteCapacityUnits: -1 }, BillingMode: 'A' }),
    ),
    coral([
      "Value 'A' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
      "Value '-1' at 'provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
      "Value '-1' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
      "Value '[]' at 'keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ]),
  );
  const keyElements = failure(() =>
    validateCreateTable({
      TableName: 'abc',
      AttributeDefinitions: [],
      KeySchema: [{ KeyType: 'HASH' }, { AttributeName: 'a' }, { KeyType: 'Woop', AttributeName: 'a' }],
      ProvisionedThroughput: { ReadCapacityUnits: 1000000000001, WriteCapacityUnits: 1000000000001 },
    }),
  );
  t.match(keyElements, /^4 validation errors detected: Value '\[.+\]' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2; /);
  t.ok(keyElements.endsWith([
    "Value null at 'keySchema.1.member.attributeName' failed to satisfy constraint: Member must not be null",
    "Value null at 'keySchema.2.member.keyType' failed to satisfy constraint: Member must not be null",
    "Value 'Woop' at 'keySchema.3.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]",
  ].join('; ')));
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc', AttributeDefinitions: [{ AttributeName: 'b', AttributeType: 'SS' }], KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }], ProvisionedThroughput: PT })),
    "1 validation error detected: Value 'SS' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
  );
  const many = failure(() =>
    validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: HASH_RANGE, LocalSecondaryIndexes: [{}, {}, {}, {}, {}, {}, {}, {}, {}], ProvisionedThroughput: PT }),
  );
  t.match(many, /^10 validation errors detected: /);
  t.ok(many.includes("Value null at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must not be null"));
  t.ok(many.endsWith("Value null at 'localSecondaryIndexes.4.member.indexName' failed to satisfy constraint: Member must not be null"));
  const name = 'a'.repeat(256);
  t.equal(
    failure(() =>
      validateCreateTable({
        TableName: 'abc',
        AttributeDefinitions: AB,
        KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }],
        GlobalSecondaryIndexes: [
          { IndexName: 'h;', KeySchema: [], Projection: {}, ProvisionedThroughput: { ReadCapacityUnits: 0, WriteCapacityUnits: 0 } },
          { IndexName: name, KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }], Projection: { NonKeyAttributes: [], ProjectionType: 'abc' } },
        ],
        ProvisionedThroughput: PT,
      }),
    ),
    coral([
      "Value 'h;' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      "Value 'h;' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3",
      "Value '[]' at 'globalSecondaryIndexes.1.member.keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1",
      "Value '0' at 'globalSecondaryIndexes.1.member.provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
      "Value '0' at 'globalSecondaryIndexes.1.member.provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
      `Value '${name}' at 'globalSecondaryIndexes.2.member.indexName' failed to satisfy constraint: Member must have length less than or equal to 255`,
      "Value 'abc' at 'globalSecondaryIndexes.2.member.projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]",
      "Value '[]' at 'globalSecondaryIndexes.2.member.projection.nonKeyAttributes' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ]),
  );
});

t.test('billing mode and throughput', async (t) => {
  const base = { TableName: 'abc', AttributeDefinitions: [], KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }] };
  t.equal(failure(() => validateCreateTable(base)), `${PREFIX}ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED`);
  t.equal(
    failure(() => validateCreateTable({ ...base, ProvisionedThroughput: PT, BillingMode: 'PAY_PER_REQUEST' })),
    `${PREFIX}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST`,
  );
  t.equal(failure(() => validateCreateTable({ ...base, ProvisionedThroughput: { ReadCapacityUnits: 1000000000001, WriteCapacityUnits: 1000000000001 } })), 'Given value 1000000000001 for ReadCapacityUnits is out of bounds');
  t.equal(failure(() => validateCreateTable({ ...base, ProvisionedThroughput: { ReadCapacityUnits: 1000000000000, WriteCapacityUnits: 1000000000001 } })), 'Given value 1000000000001 for WriteCapacityUnits is out of bounds');
  t.equal(failure(() => validateCreateTable({ ...base, BillingMode: 'PAY_PER_REQUEST' })), 'Invalid KeySchema: Some index key attribute have no definition');
});

t.test('table key schema', async (t) => {
  const make = (definitions: unknown[], keySchema: unknown[]) => () => validateCreateTable({ TableName: 'abc', AttributeDefinitions: definitions, KeySchema: keySchema, ProvisionedThroughput: PT });
  const hashA = { KeyType: 'HASH', AttributeName: 'a' };
  const b = [{ AttributeName: 'b', AttributeType: 'S' }];
  t.equal(failure(make([], [hashA, hashA])), 'Invalid KeySchema: Some index key attribute have no definition');
  t.equal(failure(make(b, [hashA, hashA])), 'Invalid KeySchema: Some index key attribute have no definition');
  t.equal(failure(make(b, [hashA])), `${PREFIX}Some index key attributes are not defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]`);
  t.equal(failure(make(b, [hashA, { KeyType: 'RANGE', AttributeName: 'b' }])), 'Invalid KeySchema: Some index key attribute have no definition');
  t.equal(failure(make([{ AttributeName: 'a', AttributeType: 'S' }], [hashA, hashA])), 'Invalid KeySchema: Some index key attribute have no definition');
  t.equal(failure(make(AB, [hashA, hashA])), 'Both the Hash Key and the Range Key element in the KeySchema have the same name');
  t.equal(failure(make(AB, [hashA, { KeyType: 'HASH', AttributeName: 'b' }])), 'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  t.equal(failure(make(AB, [{ KeyType: 'RANGE', AttributeName: 'a' }, { KeyType: 'HASH', AttributeName: 'b' }])), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  t.equal(failure(make(AB, [{ KeyType: 'RANGE', AttributeName: 'a' }, { KeyType: 'RANGE', AttributeName: 'b' }])), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  const mismatch = `${PREFIX}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions`;
  t.equal(failure(make([...AB, { AttributeName: 'c', AttributeType: 'S' }], HASH_RANGE)), mismatch);
  t.equal(failure(make(AB, [hashA])), mismatch);
});

t.test('local secondary indexes', async (t) => {
  const make = (indexes: unknown[], keySchema: unknown[] = HASH_RANGE) => () =>
    validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: keySchema, LocalSecondaryIndexes: indexes, ProvisionedThroughput: PT });
  t.equal(failure(make([], [{ KeyType: 'HASH', AttributeName: 'a' }])), `${PREFIX}List of LocalSecondaryIndexes is empty`);
  t.equal(
    failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'c', KeyType: 'RANGE' }], Projection: {} }], [{ KeyType: 'HASH', AttributeName: 'a' }])),
    `${PREFIX}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex`,
  );
  t.equal(
    failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'c', KeyType: 'RANGE' }, { AttributeName: 'd', KeyType: 'RANGE' }], Projection: {} }])),
    `${PREFIX}Some index key attributes are not defined in AttributeDefinitions. Keys: [c, d], AttributeDefinitions: [a, b]`,
  );
  t.equal(failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'a', KeyType: 'RANGE' }], Projection: {} }])), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  t.equal(
    failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }, { AttributeName: 'a', KeyType: 'RANGE' }], Projection: {} }])),
    'Both the Hash Key and the Range Key element in the KeySchema have the same name',
  );
  t.equal(
    failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }, { AttributeName: 'b', KeyType: 'HASH' }], Projection: {} }])),
    'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type',
  );
  t.equal(failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }], Projection: {} }])), `${PREFIX}Index KeySchema does not have a range key for index: abc`);
  t.equal(
    failure(make([{ IndexName: 'abc', KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }, { AttributeName: 'a', KeyType: 'RANGE' }], Projection: {} }])),
    `${PREFIX}Index KeySchema does not have the same leading hash key as table KeySchema for index: abc. index hash key: b, table hash key: a`,
  );
  t.equal(failure(make([{ IndexName: 'abc', KeySchema: HASH_RANGE, Projection: {} }])), `${PREFIX}Unknown ProjectionType: null`);
  t.equal(failure(make([{ IndexName: 'abc', KeySchema: HASH_RANGE, Projection: { NonKeyAttributes: ['a'] } }])), `${PREFIX}Unknown ProjectionType: null`);
  for (const type of ['ALL', 'KEYS_ONLY']) {
    t.equal(failure(make([{ IndexName: 'abc', KeySchema: HASH_RANGE, Projection: { ProjectionType: type, NonKeyAttributes: ['a'] } }])), `${PREFIX}ProjectionType is ${type}, but NonKeyAttributes is specified`);
  }
  t.equal(failure(make([lsi('abc'), lsi('abc')])), `${PREFIX}Duplicate index name: abc`);
  t.equal(failure(make(['abc', 'abd', 'abe', 'abf', 'abg', 'abh'].map((name) => lsi(name)))), `${PREFIX}Number of LocalSecondaryIndexes exceeds per-table limit of 5`);
  t.equal(validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: HASH_RANGE, LocalSecondaryIndexes: ['abc', 'abd', 'abe', 'abf', 'abg'].map((name) => lsi(name)), ProvisionedThroughput: PT }).localSecondaryIndexes.length, 5);
});

t.test('global secondary indexes', async (t) => {
  const gsi = (name: string, extra: Record<string, unknown> = {}) => ({ IndexName: name, KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' }, ProvisionedThroughput: PT, ...extra });
  const make = (indexes: unknown[], extra: Record<string, unknown> = {}) => () =>
    validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }], GlobalSecondaryIndexes: indexes, ProvisionedThroughput: PT, ...extra });
  t.equal(failure(make([])), `${PREFIX}List of GlobalSecondaryIndexes is empty`);
  t.equal(failure(make([gsi('abc', { KeySchema: [{ AttributeName: 'c', KeyType: 'HASH' }] })])), `${PREFIX}Some index key attributes are not defined in AttributeDefinitions. Keys: [c], AttributeDefinitions: [a, b]`);
  t.equal(failure(make([gsi('abc'), gsi('abc')])), `${PREFIX}Duplicate index name: abc`);
  t.equal(
    failure(make([gsi('abc')], { BillingMode: 'PAY_PER_REQUEST', ProvisionedThroughput: undefined })),
    `${PREFIX}ProvisionedThroughput should not be specified for index: abc when BillingMode is PAY_PER_REQUEST`,
  );
  t.equal(failure(make([gsi('abc', { ProvisionedThroughput: undefined })])), `${PREFIX}ProvisionedThroughput is not specified for index: abc`);
  t.equal(failure(make([gsi('abc', { Projection: { ProjectionType: 'INCLUDE' } })])), `${PREFIX}ProjectionType is INCLUDE, but NonKeyAttributes is not specified`);
  t.equal(failure(make([gsi('abc', { Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['x', 'y', 'x'] } })])), `${PREFIX}Duplicate element in NonKeyAttributes: x`);
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc', AttributeDefinitions: [AB[0], AB[0]], KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }, { KeyType: 'RANGE', AttributeName: 'b' }], ProvisionedThroughput: PT })),
    'Attribute Name is duplicated: a',
  );
  const twentyOne = Array.from({ length: 21 }, (_, i) => gsi(`index${i}`));
  t.equal(failure(make(twentyOne)), `${PREFIX}GlobalSecondaryIndex count exceeds the per-table limit of 20`);
  t.equal(validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }], GlobalSecondaryIndexes: twentyOne.slice(1), ProvisionedThroughput: PT }).globalSecondaryIndexes.length, 20);
  // A name shared by an LSI and a GSI is a duplicate too.
  t.equal(
    failure(() => validateCreateTable({ TableName: 'abc', AttributeDefinitions: AB, KeySchema: HASH_RANGE, LocalSecondaryIndexes: [lsi('same')], GlobalSecondaryIndexes: [gsi('same')], ProvisionedThroughput: PT })),
    `${PREFIX}Duplicate index name: same`,
  );
  t.equal(
    failure(() =>
      validateCreateTable({
        TableName: 'abc',
        AttributeDefinitions: [...AB, { AttributeName: 'c', AttributeType: 'N' }],
        KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }],
        GlobalSecondaryIndexes: [gsi('gsi')],
        ProvisionedThroughput: PT,
      }),
    ),
    `${PREFIX}Some AttributeDefinitions are not used. AttributeDefinitions: [a, b, c], keys used: [a, b]`,
  );
});

t.test('a valid table gives its schema', async (t) => {
  const input: CreateTableInput = {
    TableName: 'Music.v2_x-y',
    AttributeDefinitions: [
      { AttributeName: 'artist', AttributeType: 'S' },
      { AttributeName: 'year', AttributeType: 'N' },
      { AttributeName: 'album', AttributeType: 'B' },
    ],
    KeySchema: [
      { AttributeName: 'artist', KeyType: 'HASH' },
      { AttributeName: 'year', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
    LocalSecondaryIndexes: [{ IndexName: 'byAlbum', KeySchema: [{ AttributeName: 'artist', KeyType: 'HASH' }, { AttributeName: 'album', KeyType: 'RANGE' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['genre'] } }],
    GlobalSecondaryIndexes: [{ IndexName: 'byYear', KeySchema: [{ AttributeName: 'year', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
  };
  t.same(validateCreateTable(input), {
    tableName: 'Music.v2_x-y',
    partitionKey: { name: 'artist', type: 'S' },
    sortKey: { name: 'year', type: 'N' },
    billingMode: 'PAY_PER_REQUEST',
    localSecondaryIndexes: [{ indexName: 'byAlbum', partitionKey: { name: 'artist', type: 'S' }, sortKey: { name: 'album', type: 'B' }, projectionType: 'INCLUDE', nonKeyAttributes: ['genre'] }],
    globalSecondaryIndexes: [{ indexName: 'byYear', partitionKey: { name: 'year', type: 'N' }, projectionType: 'ALL', nonKeyAttributes: [] }],
  });
  const provisioned = validateCreateTable({ TableName: 'abc', AttributeDefinitions: [AB[0]], KeySchema: [{ KeyType: 'HASH', AttributeName: 'a' }], ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 7 } });
  t.same([provisioned.billingMode, provisioned.provisionedThroughput, provisioned.sortKey], ['PROVISIONED', { ReadCapacityUnits: 5, WriteCapacityUnits: 7 }, undefined]);
});

// ---- keys against a schema ----

const HASH_ONLY: PrimaryKeySchema = { partitionKey: { name: 'a', type: 'S' } };
const COMPOSITE: PrimaryKeySchema = { partitionKey: { name: 'a', type: 'S' }, sortKey: { name: 'b', type: 'B' } };
const MISMATCH = 'The provided key element does not match the schema';

t.test('Key: exactly the key attributes of the right types', async (t) => {
  t.same(extractKey({ a: { S: 'x' } }, HASH_ONLY), { partition: { S: 'x' } });
  t.same(extractKey({ a: { S: 'x' }, b: { B: Uint8Array.of(1) } }, COMPOSITE), { partition: { S: 'x' }, sort: { B: Uint8Array.of(1) } });
  for (const key of [{}, { b: { S: 'x' } }, { a: { N: '1' } }, { a: { S: 'x' }, c: { S: 'y' } }, { a: { L: [] } }]) {
    t.equal(failure(() => extractKey(key as never, HASH_ONLY)), MISMATCH, JSON.stringify(key));
  }
  t.equal(failure(() => extractKey({ a: { S: 'x' } }, COMPOSITE)), MISMATCH);
  t.equal(failure(() => extractKey({ a: { S: 'x' }, b: { S: 'y' } }, COMPOSITE)), MISMATCH);
  t.equal(failure(() => extractKey({ a: { S: '' } }, HASH_ONLY)), 'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: a');
  t.equal(failure(() => extractKey({ a: { S: 'x' }, b: { B: new Uint8Array(0) } }, COMPOSITE)), 'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: b');
});

t.test('Item: missing key, type mismatch (or schema mismatch for BatchWriteItem), empty values', async (t) => {
  t.same(extractItemKey({ a: { S: 'x' }, other: { N: '1' } }, HASH_ONLY), { partition: { S: 'x' } });
  t.equal(failure(() => extractItemKey({}, HASH_ONLY)), `${PREFIX}Missing the key a in the item`);
  t.equal(failure(() => extractItemKey({ b: { S: 'a' } }, HASH_ONLY)), `${PREFIX}Missing the key a in the item`);
  t.equal(failure(() => extractItemKey({ a: { S: 'a' } }, COMPOSITE)), `${PREFIX}Missing the key b in the item`);
  for (const value of [{ B: Uint8Array.of(1) }, { N: '1' }, { BOOL: true }, { NULL: true }, { SS: ['a'] }, { NS: ['1'] }, { BS: [Uint8Array.of(1)] }, { M: {} }, { L: [] }]) {
    const type = Object.keys(value)[0];
    t.equal(failure(() => extractItemKey({ a: value } as never, HASH_ONLY)), `${PREFIX}Type mismatch for key a expected: S actual: ${type}`);
    t.equal(failure(() => extractItemKey({ a: value } as never, HASH_ONLY, 'schemaMismatch')), MISMATCH);
  }
  t.equal(failure(() => extractItemKey({ a: { S: '' } }, HASH_ONLY)), 'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: a');
  t.equal(failure(() => extractItemKey({ a: { S: 'a' }, b: { B: new Uint8Array(0) } }, COMPOSITE)), 'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: b');
});

t.test('key sizes: partition key 2048 bytes, sort key 1024 bytes, in UTF-8; N never refused', async (t) => {
  const hashTooLong = `${PREFIX}Size of hashkey has exceeded the maximum size limit of2048 bytes`;
  const rangeTooLong = `${PREFIX}Aggregated size of all range keys has exceeded the size limit of 1024 bytes`;
  const stringSort: PrimaryKeySchema = { partitionKey: { name: 'a', type: 'S' }, sortKey: { name: 'b', type: 'S' } };
  t.same(extractItemKey({ a: { S: 'x'.repeat(2048) }, b: { S: 'y'.repeat(1024) } }, stringSort).partition, { S: 'x'.repeat(2048) });
  t.equal(failure(() => extractItemKey({ a: { S: 'x'.repeat(2049) }, b: { S: 'y' } }, stringSort)), hashTooLong);
  t.equal(failure(() => extractItemKey({ a: { S: 'x' }, b: { S: 'y'.repeat(1025) } }, stringSort)), rangeTooLong);
  t.equal(failure(() => extractKey({ a: { S: 'é'.repeat(1025) }, b: { S: 'y' } }, stringSort)), hashTooLong, '1025 characters, 2050 bytes');
  t.equal(failure(() => extractKey({ a: { S: 'x' }, b: { S: '😀'.repeat(257) } }, stringSort)), rangeTooLong, '257 characters, 1028 bytes');
  extractKey({ a: { S: '😀'.repeat(512) }, b: { S: '😀'.repeat(256) } }, stringSort);
  t.equal(failure(() => extractKey({ a: { S: 'x' }, b: { B: new Uint8Array(1025) } }, COMPOSITE)), rangeTooLong);
  extractKey({ a: { S: 'x' }, b: { B: new Uint8Array(1024) } }, COMPOSITE);
  const numberKey: PrimaryKeySchema = { partitionKey: { name: 'n', type: 'N' } };
  t.same(extractKey({ n: { N: '9'.repeat(38) } }, numberKey), { partition: { N: '9'.repeat(38) } });
});

t.test('index key types', async (t) => {
  const schema = validateCreateTable({
    TableName: 'abc',
    AttributeDefinitions: [...AB, { AttributeName: 'c', AttributeType: 'N' }],
    KeySchema: HASH_RANGE,
    LocalSecondaryIndexes: [{ IndexName: 'byC', KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }, { AttributeName: 'c', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
    ProvisionedThroughput: PT,
  });
  checkIndexKeyTypes({ a: { S: 'a' }, b: { S: 'b' } }, schema);
  checkIndexKeyTypes({ a: { S: 'a' }, b: { S: 'b' }, c: { N: '1' } }, schema);
  t.equal(failure(() => checkIndexKeyTypes({ a: { S: 'a' }, b: { S: 'b' }, c: { S: '1' } }, schema)), `${PREFIX}Type mismatch for Index Key c Expected: N Actual: S IndexName: byC`);
});
