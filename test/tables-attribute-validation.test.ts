/**
 * AttributeValue validation (lib/tables/attribute-validation.ts). Expected
 * messages are those of dynalite's test/putItem.js, test/getItem.js and
 * test/updateItem.js (recorded against DynamoDB) and, for nesting, of a
 * conformance suite recorded against live DynamoDB.
 */
import t from 'tap';
import type { AttributeValue } from '../lib/tables/attribute-value.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';
import {
  NESTING_LEVELS_MAX,
  validateAttributeMap,
  validateAttributeValue,
  type AttributeValueSource,
} from '../lib/tables/attribute-validation.js';

const ITEM: AttributeValueSource = { parameter: 'Item' };
const KEY: AttributeValueSource = { parameter: 'Key' };
const EAV: AttributeValueSource = { parameter: 'ExpressionAttributeValues', placeholder: ':b' };
const PREFIX = 'One or more parameter values were invalid: ';
const EMPTY = 'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes';
const MANY = 'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';
const NESTING = 'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';

const failure = dynamoDbFailure;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

t.test('an empty value: nothing set, or only members DynamoDB does not know', async (t) => {
  const cases: unknown[] = [{}, { a: '' }, { S: undefined }, { M: { a: {} } }, { L: [{}] }, { L: [{ a: {} }] }, { L: [null] }];
  for (const value of cases) {
    t.same(failure(() => validateAttributeMap({ a: value }, ITEM)), { name: 'ValidationException', message: EMPTY }, JSON.stringify(value));
    t.same(failure(() => validateAttributeMap({ a: value }, KEY)), { name: 'ValidationException', message: EMPTY });
    t.equal(failure(() => validateAttributeValue(value, EAV)).message, `ExpressionAttributeValues contains invalid value: ${EMPTY} for key :b`);
  }
});

t.test('invalid values carry the prefix inside their own message, the same for Item and Key', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ NULL: false }, 'Null attribute value types must have the value of true'],
    [{ SS: [] }, 'An string set  may not be empty'],
    [{ NS: [] }, 'An number set  may not be empty'],
    [{ BS: [] }, 'Binary sets should not be empty'],
    [{ SS: ['a', 'a'] }, 'Input collection [a, a] contains duplicates.'],
    [{ BS: [bytes('b'), bytes('b')] }, 'Input collection [Yg==, Yg==]of type BS contains duplicates.'],
  ];
  for (const [value, message] of cases) {
    t.equal(failure(() => validateAttributeMap({ a: value }, ITEM)).message, PREFIX + message, message);
    t.equal(failure(() => validateAttributeMap({ a: value }, KEY)).message, PREFIX + message);
    t.equal(
      failure(() => validateAttributeValue(value, EAV)).message,
      `ExpressionAttributeValues contains invalid value: ${PREFIX}${message} for key :b`,
    );
    t.equal(failure(() => validateAttributeValue(value, { parameter: 'ExclusiveStartKey' })).message, `The provided starting key is invalid: ${PREFIX}${message}`);
  }
});

t.test('number problems have no prefix, and each member is checked before the count of members', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ S: 'a', N: '' }, 'The parameter cannot be converted to a numeric value'],
    [{ S: 'a', N: 'b' }, 'The parameter cannot be converted to a numeric value: b'],
    [{ NS: ['1', ''] }, 'The parameter cannot be converted to a numeric value'],
    [{ NS: ['1', 'b'] }, 'The parameter cannot be converted to a numeric value: b'],
    [{ NS: ['1', '1'] }, 'Input collection contains duplicates'],
    [{ NS: ['1', '1.0'] }, 'Input collection contains duplicates'],
    [{ NS: ['1', '1', 'x'] }, 'The parameter cannot be converted to a numeric value: x'],
    [{ N: '123456789012345678901234567890123456789' }, 'Attempting to store more than 38 significant digits in a Number'],
    [{ N: '-1e126' }, 'Number overflow. Attempting to store a number with magnitude larger than supported range'],
    [{ N: '1e-131' }, 'Number underflow. Attempting to store a number with magnitude smaller than supported range'],
    [{ S: 'a', M: { x: {} } }, EMPTY],
  ];
  for (const [value, message] of cases) {
    t.equal(failure(() => validateAttributeMap({ a: value }, ITEM)).message, message, JSON.stringify(value));
    t.equal(failure(() => validateAttributeValue(value, EAV)).message, `ExpressionAttributeValues contains invalid value: ${message} for key :b`);
  }
  t.equal(failure(() => validateAttributeMap({ a: { S: 'a', N: '1' } }, ITEM)).message, MANY);
  t.equal(failure(() => validateAttributeMap({ a: { BOOL: true, NULL: true } }, ITEM)).message, MANY);
});

t.test('problems deep inside maps and lists are found', async (t) => {
  t.equal(failure(() => validateAttributeMap({ a: { M: { b: { L: [{ N: '1' }, { SS: [] }] } } } }, ITEM)).message, PREFIX + 'An string set  may not be empty');
  t.equal(failure(() => validateAttributeMap({ a: { L: [{ L: [{ NULL: false }] }] } }, ITEM)).message, PREFIX + 'Null attribute value types must have the value of true');
});

t.test('valid values come back normalised, and the input is not changed', async (t) => {
  const input = {
    s: { S: '' },
    b: { B: new Uint8Array(0) },
    n: { N: '0009.990e2' },
    ns: { NS: ['+1', '1.5', '-0.0'] },
    ss: { SS: ['', 'a'] },
    bs: { BS: [new Uint8Array(0), bytes('a')] },
    bool: { BOOL: false },
    nul: { NULL: true },
    m: { M: { inner: { N: '1e2' }, list: { L: [{ N: '.5' }, { M: {} }, { L: [] }] } } },
    skipped: null,
  };
  const before = JSON.stringify(input);
  const result = validateAttributeMap(input, ITEM);
  t.same(result, {
    s: { S: '' },
    b: { B: new Uint8Array(0) },
    n: { N: '999' },
    ns: { NS: ['1', '1.5', '0'] },
    ss: { SS: ['', 'a'] },
    bs: { BS: [new Uint8Array(0), bytes('a')] },
    bool: { BOOL: false },
    nul: { NULL: true },
    m: { M: { inner: { N: '100' }, list: { L: [{ N: '0.5' }, { M: {} }, { L: [] }] } } },
  });
  t.equal(JSON.stringify(input), before, 'input untouched');
  t.not((result.b as { B: Uint8Array }).B, input.b.B, 'binary copied');
  t.same(validateAttributeValue({ N: '-00.10', ignored: 'x' }, EAV), { N: '-0.1' });
});

t.test('wrong JSON types are a SerializationException', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ S: 5 }, 'class java.lang.Short can not be converted to an String'],
    [{ N: 123 }, 'class java.lang.Short can not be converted to an String'],
    [{ S: true }, 'class java.lang.Boolean can not be converted to an String'],
    [{ S: ['a'] }, 'Start of list found where not expected'],
    [{ S: { a: 1 } }, 'Start of structure or map found where not expected.'],
    [{ BOOL: 'yes' }, 'class java.lang.String can not be converted to an Boolean'],
    [{ B: 'YQ==' }, 'class java.lang.String can not be converted to a Blob'],
    [{ L: 'a' }, 'Expected list or null'],
    [{ M: [] }, 'Start of list found where not expected'],
    [{ M: 'a' }, 'Expected map or null'],
    ['a', 'Expected null'],
  ];
  for (const [value, message] of cases) {
    t.same(failure(() => validateAttributeMap({ a: value }, ITEM)), { name: 'SerializationException', message }, JSON.stringify(value));
  }
});

function deepMap(wraps: number): AttributeValue {
  let value: AttributeValue = { S: 'leaf' };
  for (let i = 0; i < wraps; i += 1) value = { M: { n: value } };
  return value;
}

function deepList(wraps: number): AttributeValue {
  let value: AttributeValue = { S: 'leaf' };
  for (let i = 0; i < wraps; i += 1) value = { L: [value] };
  return value;
}

t.test('nesting: 31 wraps accepted, 32 refused, enveloped or bare, never wrapped by parameter', async (t) => {
  t.equal(NESTING_LEVELS_MAX, 32);
  for (const deep of [deepMap, deepList]) {
    t.same(validateAttributeMap({ data: deep(31) }, ITEM), { data: deep(31) }, `${deep.name}(31)`);
    t.equal(failure(() => validateAttributeMap({ data: deep(32) }, ITEM)).message, `1 validation error detected: ${NESTING}`);
    t.equal(failure(() => validateAttributeMap({ data: deep(32) }, { parameter: 'Item', nesting: 'bare' })).message, NESTING);
    t.equal(failure(() => validateAttributeValue(deep(32), EAV)).message, `1 validation error detected: ${NESTING}`);
    t.same(validateAttributeValue(deep(31), EAV), deep(31));
  }
  // Document order: a bad value met before the limit is reported instead.
  const early: AttributeValue = { M: { a: { NULL: false } as unknown as AttributeValue, b: deepMap(40) } };
  t.equal(failure(() => validateAttributeMap({ x: early }, ITEM)).message, PREFIX + 'Null attribute value types must have the value of true');
});
