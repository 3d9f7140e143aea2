/**
 * The legacy parameters: the rules for mixing them with expressions, their
 * validation messages (dyn:validations/index.js, validations/updateItem.js),
 * and their translation to the expressions' parsed forms, evaluated by the
 * same evaluators.
 */
import t from 'tap';
import type { AttributeMap, AttributeValue } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { evaluateCondition } from '../lib/tables/expression/condition-evaluator.js';
import {
  checkExpressionParameters,
  conditionFromExpected,
  conditionFromFilter,
  keyConditionFromKeyConditions,
  projectionFromAttributesToGet,
  updateFromAttributeUpdates,
  type ExpressionOperation,
  type TranslatedCondition,
} from '../lib/tables/expression/legacy-parameters.js';
import { projectItem } from '../lib/tables/expression/projection.js';
import { applyUpdate } from '../lib/tables/expression/update-evaluator.js';

const N = (N: string): AttributeValue => ({ N });
const S = (S: string): AttributeValue => ({ S });

function messageOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof DynamoDbError) || error.name !== 'ValidationException') throw error;
    return error.message;
  }
}

t.test('mixing expressions and legacy parameters (dyn validateExpressionParams; ref §17 #24-#26)', async (t) => {
  const cases: Array<[ExpressionOperation, Record<string, unknown>, string | undefined]> = [
    ['PutItem', { Expected: {}, ConditionExpression: 'a = :v' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}'],
    ['GetItem', { AttributesToGet: ['a'], ProjectionExpression: 'a' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}'],
    ['UpdateItem', { AttributeUpdates: {}, Expected: {}, UpdateExpression: 'SET a = :v', ConditionExpression: 'b = :v' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates, Expected} Expression parameters: {UpdateExpression, ConditionExpression}'],
    ['Query', { KeyConditions: {}, FilterExpression: 'a = :v' }, undefined],
    ['Query', { KeyConditionExpression: 'p=:p', FilterExpression: 'x=:x', AttributesToGet: ['y'] }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression, KeyConditionExpression}'], // Alternator test_filter_expression_and_attributes_to_get (quoted)
    ['Query', { KeyConditions: {}, KeyConditionExpression: 'a = :v' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}'],
    ['Query', { QueryFilter: {}, ConditionalOperator: 'OR', KeyConditionExpression: 'a = :v' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter, ConditionalOperator} Expression parameters: {KeyConditionExpression}'],
    ['Scan', { ScanFilter: {}, ProjectionExpression: 'a' }, 'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {ScanFilter} Expression parameters: {ProjectionExpression}'],
    ['PutItem', { ExpressionAttributeNames: { '#a': 'a' } }, 'ExpressionAttributeNames can only be specified when using expressions'],
    ['PutItem', { ExpressionAttributeValues: { ':a': N('1') } }, 'ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null'],
    ['UpdateItem', { ExpressionAttributeValues: { ':a': N('1') } }, 'ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null'],
    ['GetItem', { ExpressionAttributeValues: { ':a': N('1') } }, undefined],
    ['Scan', { ProjectionExpression: 'a', ExpressionAttributeValues: { ':a': N('1') } }, 'ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null'],
    ['Scan', { ProjectionExpression: 'a', ExpressionAttributeNames: { '#a': 'a' } }, undefined],
    ['PutItem', { Expected: {} }, undefined],
  ];
  for (const [operation, request, message] of cases) t.equal(messageOf(() => checkExpressionParameters(operation, request)), message, `${operation} ${Object.keys(request).join(' ')}`);
});

t.test('legacy condition messages (dyn validateConditions, validateAttributeConditions)', async (t) => {
  const invalid = 'One or more parameter values were invalid: ';
  const filters: Array<[Parameters<typeof conditionFromFilter>[0], string]> = [
    [{ a: { ComparisonOperator: 'EQ' } }, `${invalid}Invalid number of argument(s) for the EQ ComparisonOperator`],
    [{ a: { ComparisonOperator: 'NULL', AttributeValueList: [N('1')] } }, `${invalid}Invalid number of argument(s) for the NULL ComparisonOperator`],
    [{ a: { ComparisonOperator: 'BETWEEN', AttributeValueList: [N('1')] } }, `${invalid}Invalid number of argument(s) for the BETWEEN ComparisonOperator`],
    [{ a: { ComparisonOperator: 'IN', AttributeValueList: [] } }, `${invalid}Invalid number of argument(s) for the IN ComparisonOperator`],
    [{ a: { ComparisonOperator: 'IN', AttributeValueList: [N('1'), S('1')] } }, `${invalid}AttributeValues inside AttributeValueList must be of same type`],
    [{ a: { ComparisonOperator: 'LT', AttributeValueList: [{ SS: ['x'] }] } }, `${invalid}ComparisonOperator LT is not valid for SS AttributeValue type`],
    [{ a: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [N('1')] } }, `${invalid}ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type`],
    [{ a: { ComparisonOperator: 'BETWEEN', AttributeValueList: [N('5'), N('1')] } }, 'The BETWEEN condition was provided a range where the lower bound is greater than the upper bound'],
  ];
  for (const [filter, message] of filters) t.equal(messageOf(() => conditionFromFilter(filter)), message, JSON.stringify(filter));
  const expected: Array<[Parameters<typeof conditionFromExpected>[0], string]> = [
    [{ a: { Value: N('1'), AttributeValueList: [N('1')] } }, `${invalid}Value and AttributeValueList cannot be used together for Attribute: a`],
    [{ a: { ComparisonOperator: 'EQ', Exists: true, Value: N('1') } }, `${invalid}Exists and ComparisonOperator cannot be used together for Attribute: a`],
    [{ a: { ComparisonOperator: 'EQ' } }, `${invalid}Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a`],
    [{ a: { AttributeValueList: [N('1')] } }, `${invalid}AttributeValueList can only be used with a ComparisonOperator for Attribute: a`],
    [{ a: {} }, `${invalid}Value must be provided when Exists is null for Attribute: a`],
    [{ a: { Exists: true } }, `${invalid}Value must be provided when Exists is true for Attribute: a`],
    [{ a: { Exists: false, Value: N('1') } }, `${invalid}Value cannot be used when Exists is false for Attribute: a`],
  ];
  for (const [entry, message] of expected) t.equal(messageOf(() => conditionFromExpected(entry)), message, JSON.stringify(entry));
});

function holds(translated: TranslatedCondition, item: AttributeMap | undefined): boolean {
  return evaluateCondition(translated.condition!, item, translated.attributes);
}

t.test('legacy conditions evaluate like their expressions', async (t) => {
  const item = { a: N('5'), s: S('hello'), ss: { SS: ['x', 'y'] }, 'odd name': N('1') };
  const cases: Array<[Parameters<typeof conditionFromFilter>[0], boolean]> = [
    [{ a: { ComparisonOperator: 'EQ', AttributeValueList: [N('5.0')] } }, true],
    [{ a: { ComparisonOperator: 'NE', AttributeValueList: [N('5')] } }, false],
    [{ q: { ComparisonOperator: 'NE', AttributeValueList: [N('5')] } }, true],
    [{ a: { ComparisonOperator: 'GT', AttributeValueList: [N('4')] } }, true],
    [{ a: { ComparisonOperator: 'LE', AttributeValueList: [N('4')] } }, false],
    [{ a: { ComparisonOperator: 'NOT_NULL' } }, true],
    [{ q: { ComparisonOperator: 'NULL' } }, true],
    [{ s: { ComparisonOperator: 'CONTAINS', AttributeValueList: [S('ell')] } }, true],
    [{ ss: { ComparisonOperator: 'NOT_CONTAINS', AttributeValueList: [S('z')] } }, true],
    [{ q: { ComparisonOperator: 'NOT_CONTAINS', AttributeValueList: [S('z')] } }, false],
    [{ s: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [S('he')] } }, true],
    [{ a: { ComparisonOperator: 'IN', AttributeValueList: [N('1'), N('5')] } }, true],
    [{ a: { ComparisonOperator: 'BETWEEN', AttributeValueList: [N('5'), N('6')] } }, true],
    [{ 'odd name': { ComparisonOperator: 'EQ', AttributeValueList: [N('1')] } }, true],
    [{ a: { ComparisonOperator: 'EQ', AttributeValueList: [N('5')] }, s: { ComparisonOperator: 'EQ', AttributeValueList: [S('no')] } }, false],
  ];
  for (const [filter, expected] of cases) t.equal(holds(conditionFromFilter(filter), item), expected, JSON.stringify(filter));
  const either = { a: { ComparisonOperator: 'EQ', AttributeValueList: [N('5')] }, s: { ComparisonOperator: 'EQ', AttributeValueList: [S('no')] } } as const;
  t.ok(holds(conditionFromFilter(either, 'OR'), item), 'ConditionalOperator OR');
  t.ok(holds(conditionFromExpected({ a: { Value: N('5') } }), item), 'Value alone is EQ');
  t.ok(holds(conditionFromExpected({ q: { Exists: false } }), item), 'Exists false');
  t.notOk(holds(conditionFromExpected({ a: { Exists: false } }), item));
  t.ok(holds(conditionFromExpected({ a: { ComparisonOperator: 'GT', Value: N('1') } }), item), 'ComparisonOperator with Value');
  t.ok(holds(conditionFromExpected({ q: { Exists: false } }), undefined), 'no item');
});

t.test('KeyConditions', async (t) => {
  const schema = { partitionKey: { name: 'pk', type: 'S' as const }, sortKey: { name: 'sk', type: 'N' as const } };
  t.same(keyConditionFromKeyConditions({ pk: { ComparisonOperator: 'EQ', AttributeValueList: [S('x')] }, sk: { ComparisonOperator: 'BETWEEN', AttributeValueList: [N('1'), N('2')] } }, schema), {
    partitionKey: { name: 'pk', value: S('x') },
    sortKey: { name: 'sk', operator: 'BETWEEN', values: [N('1'), N('2')] },
  });
  t.equal(messageOf(() => keyConditionFromKeyConditions({ sk: { ComparisonOperator: 'EQ', AttributeValueList: [N('1')] } }, schema)), 'Query condition missed key schema element: pk');
  t.equal(messageOf(() => keyConditionFromKeyConditions({ pk: { ComparisonOperator: 'GT', AttributeValueList: [S('x')] } }, schema)), 'Query key condition not supported');
  t.equal(messageOf(() => keyConditionFromKeyConditions({ pk: { ComparisonOperator: 'NE', AttributeValueList: [S('x')] } }, schema)), 'Attempted conditional constraint is not an indexable operation');
});

t.test('AttributesToGet and AttributeUpdates', async (t) => {
  t.same(projectItem({ a: N('1'), 'b.c': N('2'), d: N('3') }, projectionFromAttributesToGet(['a', 'b.c'])), { a: N('1'), 'b.c': N('2') }, 'names are literal');
  const invalid = 'One or more parameter values were invalid: ';
  t.equal(messageOf(() => updateFromAttributeUpdates({ a: { Action: 'PUT' } })), `${invalid}Only DELETE action is allowed when no attribute value is specified`);
  t.equal(messageOf(() => updateFromAttributeUpdates({ a: { Action: 'DELETE', Value: N('1') } })), `${invalid}DELETE action with value is not supported for the type N`);
  t.equal(messageOf(() => updateFromAttributeUpdates({ a: { Action: 'ADD', Value: S('x') } })), `${invalid}ADD action is not supported for the type S`);
  const translated = updateFromAttributeUpdates({
    put: { Value: S('new') },
    gone: { Action: 'DELETE' },
    count: { Action: 'ADD', Value: N('2') },
    tags: { Action: 'DELETE', Value: { SS: ['x'] } },
    list: { Action: 'ADD', Value: { L: [N('3')] } },
  });
  const before = { put: S('old'), gone: N('1'), count: N('1.5'), tags: { SS: ['x', 'y'] }, list: { L: [N('1')] } };
  t.same(applyUpdate(translated.actions, before, translated.attributes).item, {
    put: S('new'),
    count: N('3.5'),
    tags: { SS: ['y'] },
    list: { L: [N('1'), N('3')] },
  });
  t.same(translated.paths, [['put'], ['gone'], ['count'], ['tags'], ['list']]);
});
