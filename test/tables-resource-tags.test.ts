/**
 * Tag operations' checks in DynamoDB's order with DynamoDB's texts (as
 * architect/dynalite test/tagResource.js, untagResource.js and
 * listTagsOfResource.js record them), and the catalog changes, on the pure
 * functions of lib/tables/resource-tags.ts.
 */
import t from 'tap';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { createTable, EMPTY_CATALOG, type CatalogState } from '../lib/tables/table-catalog.js';
import { listTagsOfResource, tagResource, untagResource, withCreationTags, TAGS_PER_TABLE_MAX } from '../lib/tables/resource-tags.js';

const ARN_CONTEXT = { region: 'us-east-1', accountId: '123456789012' };
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';

function catalog(): CatalogState {
  return createTable(EMPTY_CATALOG, {
    TableName: 'orders', BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  }, { nowMs: 0, tableUuid: 'uuid' }).state;
}

function refusal(run: () => unknown): { name: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof DynamoDbError) return { name: error.name, message: error.message };
    throw error;
  }
  throw new Error('expected a DynamoDbError');
}

const denied = (operation: string, resource: string) =>
  ({ name: 'AccessDeniedException', message: `User: arn:aws:iam::123456789012:user/ringtable is not authorized to perform: dynamodb:${operation} on resource: ${resource}` });

t.test('TagResource: the order of the checks', async (t) => {
  const state = catalog();
  const tag = (input: Record<string, unknown>) => refusal(() => tagResource(state, input, ARN_CONTEXT));
  t.same(tag({}), { name: 'ValidationException', message: 'Invalid TableArn' });
  t.same(tag({ ResourceArn: '' }), denied('TagResource', '*'));
  t.same(tag({ ResourceArn: 'abcd' }), denied('TagResource', 'abcd'));
  t.same(tag({ ResourceArn: 'a:b:c:d:e:f' }), denied('TagResource', 'a:b:c:d:e:f'));
  t.same(tag({ ResourceArn: 'a:b:c:d:e/f' }), denied('TagResource', 'a:b:c:d:e/f'));
  t.same(tag({ ResourceArn: 'a:b:c:d:e:f/g' }),
    { name: 'ValidationException', message: "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null" });
  t.same(tag({ ResourceArn: 'a:b:c:d:e:f/g', Tags: [] }),
    { name: 'ValidationException', message: 'Invalid TableArn: Invalid ResourceArn provided as input a:b:c:d:e:f/g' });
  const short = 'arn:aws:dynamodb:us-east-1:123456789012:table/ab';
  t.same(tag({ ResourceArn: short, Tags: [] }), { name: 'ValidationException', message: `Invalid TableArn: Invalid ResourceArn provided as input ${short}` });
  const missing = 'arn:aws:dynamodb:us-east-1:123456789012:table/nothing';
  t.same(tag({ ResourceArn: missing, Tags: [] }), { name: 'ValidationException', message: 'Atleast one Tag needs to be provided as Input.' });
  t.same(tag({ ResourceArn: missing, Tags: [{ Key: 'a', Value: 'b' }] }),
    { name: 'ResourceNotFoundException', message: `Requested resource not found: ResourcArn: ${missing} not found` });
  const otherRegion = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';
  t.same(tag({ ResourceArn: otherRegion, Tags: [{ Key: 'a', Value: 'b' }] }).name, 'ResourceNotFoundException', "another region's table of that name is not this one");
});

t.test('UntagResource and ListTagsOfResource: the order of the checks', async (t) => {
  const state = catalog();
  const untag = (input: Record<string, unknown>) => refusal(() => untagResource(state, input, ARN_CONTEXT));
  t.same(untag({}), { name: 'ValidationException', message: 'Invalid TableArn' });
  t.same(untag({ ResourceArn: '' }), denied('UntagResource', '*'));
  t.same(untag({ ResourceArn: 'a:b:c:d:e:f/g' }),
    { name: 'ValidationException', message: "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null" });
  t.same(untag({ ResourceArn: 'a:b:c:d:e:f/g', TagKeys: [] }),
    { name: 'ValidationException', message: 'Invalid TableArn: Invalid ResourceArn provided as input a:b:c:d:e:f/g' });
  const missing = 'arn:aws:dynamodb:us-east-1:123456789012:table/nothing';
  t.same(untag({ ResourceArn: missing, TagKeys: [] }), { name: 'ValidationException', message: 'Atleast one Tag Key needs to be provided as Input.' });
  t.same(untag({ ResourceArn: missing, TagKeys: ['a'] }), { name: 'ResourceNotFoundException', message: 'Requested resource not found' });

  const list = (input: Record<string, unknown>) => refusal(() => listTagsOfResource(state, input, ARN_CONTEXT));
  t.same(list({}), { name: 'ValidationException', message: 'Invalid TableArn' });
  t.same(list({ ResourceArn: 'a:b:c:d:e/f' }), denied('ListTagsOfResource', 'a:b:c:d:e/f'));
  t.same(list({ ResourceArn: 'a:b:c:d:e:f/g' }), { name: 'ValidationException', message: 'Invalid TableArn: Invalid ResourceArn provided as input a:b:c:d:e:f/g' });
  t.same(list({ ResourceArn: missing }), { name: 'ResourceNotFoundException', message: `Requested resource not found: ResourcArn: ${missing} not found` });
  t.same(listTagsOfResource(state, { ResourceArn: ARN }, ARN_CONTEXT), { Tags: [] });
});

t.test('tags: set, replaced, removed, limits', async (t) => {
  let state = tagResource(catalog(), { ResourceArn: ARN, Tags: [{ Key: 'env', Value: 'test' }, { Key: 'empty', Value: '' }, { Key: 'ünïcödé key', Value: 'a+b-c=d.e_f:g/h' }] }, ARN_CONTEXT);
  state = tagResource(state, { ResourceArn: ARN, Tags: [{ Key: 'env', Value: 'prod' }] }, ARN_CONTEXT);
  t.same(listTagsOfResource(state, { ResourceArn: ARN }, ARN_CONTEXT).Tags,
    [{ Key: 'env', Value: 'prod' }, { Key: 'empty', Value: '' }, { Key: 'ünïcödé key', Value: 'a+b-c=d.e_f:g/h' }]);
  state = untagResource(state, { ResourceArn: ARN, TagKeys: ['empty', 'absent'] }, ARN_CONTEXT);
  t.same(listTagsOfResource(state, { ResourceArn: ARN }, ARN_CONTEXT).Tags, [{ Key: 'env', Value: 'prod' }, { Key: 'ünïcödé key', Value: 'a+b-c=d.e_f:g/h' }]);

  const tagOne = (Key: unknown, Value: unknown) => refusal(() => tagResource(state, { ResourceArn: ARN, Tags: [{ Key, Value }] }, ARN_CONTEXT));
  t.equal(tagOne('k'.repeat(129), 'v').message,
    `1 validation error detected: Value '${'k'.repeat(129)}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128`);
  t.equal(tagOne('k', 'v'.repeat(257)).message,
    `1 validation error detected: Value '${'v'.repeat(257)}' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256`);
  t.equal(tagOne('', 'v').message, "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1");
  t.equal(tagOne('dog', null).message, "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null");
  // 128 and 256 Unicode characters are allowed, however many UTF-16 units they take (scylla test_tag_key_length_128_allowed).
  t.doesNotThrow(() => tagResource(state, { ResourceArn: ARN, Tags: [{ Key: '𝔸'.repeat(128), Value: '𝔸'.repeat(256) }] }, ARN_CONTEXT));
  for (const bad of ['hi!', 'd%g', '"hello"']) {
    t.equal(tagOne(bad, 'dog').name, 'ValidationException', `key ${bad}`);
    t.equal(tagOne('dog', bad).name, 'ValidationException', `value ${bad}`);
  }
  const many = Array.from({ length: TAGS_PER_TABLE_MAX - 1 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
  t.equal(refusal(() => tagResource(state, { ResourceArn: ARN, Tags: many }, ARN_CONTEXT)).name, 'ValidationException', '2 + 49 tags exceed 50');
  t.doesNotThrow(() => tagResource(state, { ResourceArn: ARN, Tags: many.slice(1) }, ARN_CONTEXT), '2 + 48 tags are fine');
});

t.test("CreateTable's Tags: checked as TagResource's, kept on the new table", async (t) => {
  const state = catalog();
  t.same(withCreationTags(state, 'orders', {}), state, 'no Tags, no change');
  const tagged = withCreationTags(state, 'orders', { Tags: [{ Key: 'team', Value: 'a' }, { Key: 'team', Value: 'b' }] });
  t.same(listTagsOfResource(tagged, { ResourceArn: ARN }, ARN_CONTEXT).Tags, [{ Key: 'team', Value: 'b' }]);
  const hundred = Array.from({ length: 100 }, (_, i) => ({ Key: String(i), Value: String(i) }));
  t.equal(refusal(() => withCreationTags(state, 'orders', { Tags: hundred })).name, 'ValidationException', 'scylla test_too_long_tags_from_creation');
});
