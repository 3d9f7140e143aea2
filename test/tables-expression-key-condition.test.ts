/**
 * KeyConditionExpression: the shape checks (dyn validations/index.js
 * `checkExpr`), the schema checks (moto's test_dynamodb.py, recorded against
 * DynamoDB) and the structured result the Query operation uses.
 */
import t from 'tap';
import type { AttributeValue } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { prepareExpressions } from '../lib/tables/expression/expressions.js';
import { keyConditionFor, type KeyCondition, type KeySchema } from '../lib/tables/expression/key-condition.js';

const N = (N: string): AttributeValue => ({ N });
const S = (S: string): AttributeValue => ({ S });

const schema: KeySchema = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } };
const stringSort: KeySchema = { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } };
const hashOnly: KeySchema = { partitionKey: { name: 'pk', type: 'S' } };

const values = { ':p': S('x'), ':n': N('5'), ':m': N('9'), ':s': S('ab') };

function keyCondition(expression: string, keySchema: KeySchema = schema, names?: Record<string, string>): KeyCondition | string {
  try {
    const used = Object.fromEntries(Object.entries(values).filter(([ref]) => expression.includes(ref)));
    const prepared = prepareExpressions({
      KeyConditionExpression: expression,
      ExpressionAttributeValues: Object.keys(used).length > 0 ? used : undefined,
      ExpressionAttributeNames: names,
    });
    return keyConditionFor(prepared.keyCondition!, prepared.attributes, keySchema);
  } catch (error) {
    if (!(error instanceof DynamoDbError) || error.name !== 'ValidationException') throw error;
    return error.message;
  }
}

t.test('key conditions: the result', async (t) => {
  const cases: Array<[string, KeySchema, KeyCondition]> = [
    ['pk = :p', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: undefined }],
    [':p = pk', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: undefined }],
    ['pk = :p AND sk = :n', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'EQ', values: [N('5')] } }],
    ['pk = :p AND sk < :n', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'LT', values: [N('5')] } }],
    ['pk = :p AND sk <= :n', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'LE', values: [N('5')] } }],
    ['pk = :p AND sk > :n', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'GT', values: [N('5')] } }],
    ['pk = :p AND sk >= :n', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'GE', values: [N('5')] } }],
    ['sk > :n AND pk = :p', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'GT', values: [N('5')] } }],
    [':n < sk AND :p = pk', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'GT', values: [N('5')] } }],
    [':n >= sk AND pk = :p', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'LE', values: [N('5')] } }],
    ['pk = :p AND sk BETWEEN :n AND :m', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'BETWEEN', values: [N('5'), N('9')] } }],
    ['pk = :p AND begins_with(sk, :s)', stringSort, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'BEGINS_WITH', values: [S('ab')] } }],
    ['(pk = :p) AND (sk = :s)', stringSort, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'EQ', values: [S('ab')] } }],
    ['pk = :p', hashOnly, { partitionKey: { name: 'pk', value: S('x') }, sortKey: undefined }],
    ['((sk = :n) AND (pk = :p))', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'EQ', values: [N('5')] } }],
    ['pk = :p AnD sk BeTwEeN :n aNd :m', schema, { partitionKey: { name: 'pk', value: S('x') }, sortKey: { name: 'sk', operator: 'BETWEEN', values: [N('5'), N('9')] } }],
  ];
  for (const [expression, keySchema, expected] of cases) t.same(keyCondition(expression, keySchema), expected, expression);
  t.same(keyCondition('#k = :p', schema, { '#k': 'pk' }), { partitionKey: { name: 'pk', value: S('x') }, sortKey: undefined }, 'a #name for the key');
});

t.test('key conditions: DynamoDB messages', async (t) => {
  const cases: Array<[string, KeySchema, string, string]> = [
    ['pk = :p OR sk = :n', schema, 'Invalid operator used in KeyConditionExpression: OR', 'dyn checkExpr; ref §17 #54'],
    ['NOT pk = :p', schema, 'Invalid operator used in KeyConditionExpression: NOT', 'dyn checkExpr'],
    ['pk IN (:p)', schema, 'Invalid operator used in KeyConditionExpression: IN', 'dyn checkExpr'],
    ['pk <> :p', schema, 'Invalid operator used in KeyConditionExpression: <>', 'dyn checkExpr'],
    ['pk = :p AND attribute_exists(sk)', schema, 'Invalid operator used in KeyConditionExpression: attribute_exists', 'dyn checkExpr'],
    ['pk = :p AND contains(sk, :n)', schema, 'Invalid operator used in KeyConditionExpression: contains', 'dyn checkExpr'],
    ['pk = :p AND size(sk) = :n', schema, 'KeyConditionExpressions cannot contain nested operations', 'dyn checkExpr'],
    ['pk = :p AND :n BETWEEN sk AND :m', schema, 'Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand', 'dyn checkExpr'],
    ['pk = :p AND begins_with(:s, sk)', stringSort, 'Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand', 'dyn checkExpr'],
    ['pk = sk', schema, 'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition', 'dyn checkExpr'],
    ['pk.x = :p', schema, 'KeyConditionExpressions cannot have conditions on nested attributes', 'dyn checkExpr'],
    [':p = :s', schema, 'Invalid condition in KeyConditionExpression: No key attribute specified', 'dyn checkExpr'],
    ['pk = :p AND pk = :s', schema, 'KeyConditionExpressions must only contain one condition per key', 'dyn checkExpr'],
    ['sk = :n', schema, 'Query condition missed key schema element: pk', 'ref §17 #52; moto'],
    ['pk = :p AND wrongName = :n', schema, 'Query condition missed key schema element: sk', 'moto test_query_gsi_with_wrong_key_attribute_names_throws_exception'],
    ['wrongName = :p AND sk = :n', schema, 'Query condition missed key schema element: pk', 'moto (same test)'],
    ['pk = :p AND wrongName = :n', hashOnly, 'Query condition missed key schema element: pk', 'no sort key to miss'],
    ['pk > :p', schema, 'Query key condition not supported', 'ref §17 #53; moto'],
    ['begins_with(pk, :p)', schema, 'Query key condition not supported', 'the partition key takes = only (API: Query)'],
    ['pk = :p AND begins_with(sk, :n)', schema, 'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N', 'operand check (ref §17 #38)'],
    ['pk = :n', schema, 'One or more parameter values were invalid: Condition parameter type does not match schema type', 'dynalite actions/query.js (unconfirmed wording)'],
    ['pk = :p AND begins_with(sk, :s)', schema, 'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N', 'begins_with on an N sort key (API: Query)'],
    ['((sk = :n) AND ((pk = :p)))', schema, 'Invalid KeyConditionExpression: The expression has redundant parentheses;', 'Alternator test_key_condition_expression_parser (DynamoDB refuses a second pair)'],
    ['pk', schema, 'Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "pk"', 'Alternator test_key_condition_expression_bad_value'],
    ['pk = :p AND sk != :n', schema, 'Invalid KeyConditionExpression: Syntax error; token: "!", near: "sk !="', 'Alternator test_key_condition_expression_syntax'],
    ['pk = :p AND dog(sk, :n)', schema, 'Invalid KeyConditionExpression: Invalid function name; function: dog', 'Alternator test_key_condition_expression_unknown'],
    ['pk = :p AND BEGINS_WITH(sk, :n)', schema, 'Invalid KeyConditionExpression: Invalid function name; function: BEGINS_WITH', 'Alternator test_key_condition_expression_str_begins_case'],
    ['pk = :p AND sk = :s', schema, 'One or more parameter values were invalid: Condition parameter type does not match schema type', 'Alternator test_key_condition_expression_wrong_type ("type")'],
  ];
  for (const [expression, keySchema, message, source] of cases) t.equal(keyCondition(expression, keySchema), message, `${expression} (${source})`);
});
