/**
 * DynamoDB's item size (lib/tables/item-size.ts). The boundary cases are
 * dynalite's test/putItem.js "item is too big" / "just small enough" pairs,
 * recorded against DynamoDB, rebuilt here with exact lengths.
 */
import t from 'tap';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';
import { ITEM_SIZE_BYTES_MAX, attributeValueSize, checkItemSize, itemSize, numberSize } from '../lib/tables/item-size.js';

const failure = dynamoDbFailure;

const PUT_MESSAGE = 'Item size has exceeded the maximum allowed size';
const UPDATE_MESSAGE = 'Item size to update has exceeded the maximum allowed size';
const KEY = 'k1234567'; // dynalite's random key string, fixed here

t.test('400 KB exactly fits; one byte more is refused, with the put or the update message', async (t) => {
  t.equal(ITEM_SIZE_BYTES_MAX, 409_600);
  // {a: S key, b: S filler}: 1 + 8 + 1 + filler bytes.
  const fits: AttributeMap = { a: { S: KEY }, b: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 2) } };
  const over: AttributeMap = { a: { S: KEY }, b: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 1) } };
  t.equal(checkItemSize(fits, 'put'), ITEM_SIZE_BYTES_MAX);
  t.same(failure(() => checkItemSize(over, 'put')), { name: 'ValidationException', message: PUT_MESSAGE });
  t.same(failure(() => checkItemSize(over, 'update')), { name: 'ValidationException', message: UPDATE_MESSAGE });
  // A longer name counts byte for byte.
  const longName = 'b'.repeat(27);
  t.equal(itemSize({ a: { S: KEY }, [longName]: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 28) } }), ITEM_SIZE_BYTES_MAX);
  t.equal(itemSize({ a: { S: KEY }, bb: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 8) }, ccc: { S: 'cc' } }), ITEM_SIZE_BYTES_MAX);
});

t.test("number sizes: dynalite's boundary cases", async (t) => {
  // Each pair is (number, size) as the "too big with ... number attribute" tests imply.
  const cases: Array<[string, number]> = [
    ['1'.repeat(38) + '0'.repeat(88), 20],
    ['1' + '0'.repeat(125), 2],
    ['11' + '0'.repeat(124), 2],
    ['11111' + '0'.repeat(121), 4],
    ['111111' + '0'.repeat(120), 4],
    ['1111111' + '0'.repeat(119), 5],
  ];
  for (const [text, size] of cases) t.equal(numberSize(text), size, `${text.length} chars`);
  const filler = ITEM_SIZE_BYTES_MAX - KEY.length - 14; // names a, b, c, d (4) and two 5-byte numbers
  const seven = '1111111' + '0'.repeat(119);
  t.equal(itemSize({ a: { S: KEY }, b: { S: 'a'.repeat(filler) }, c: { N: seven }, d: { N: seven } }), ITEM_SIZE_BYTES_MAX);
  const big = '1'.repeat(38) + '0'.repeat(88);
  t.same(failure(() => checkItemSize({ a: { S: KEY }, b: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 22) }, c: { N: big } }, 'put')).message, PUT_MESSAGE);
  t.equal(checkItemSize({ a: { S: KEY }, b: { S: 'a'.repeat(ITEM_SIZE_BYTES_MAX - KEY.length - 23) }, c: { N: big } }, 'put'), ITEM_SIZE_BYTES_MAX);
});

t.test('number sizes follow base-100 pairs aligned on the decimal point', async (t) => {
  const cases: Array<[string, number]> = [
    ['0', 1],
    ['1', 2],
    ['9', 2],
    ['10', 2], // one pair "10"
    ['12', 2],
    ['123', 3], // "01" "23"
    ['1234', 3],
    ['12345', 4], // "01" "23" "45"
    ['0.1', 2],
    ['0.12', 2],
    ['0.123', 3],
    ['1.5', 3], // "01" . "50"
    ['-1', 3],
    ['-12345', 5],
    ['100', 2],
    ['1000', 2],
  ];
  for (const [text, size] of cases) t.equal(numberSize(text), size, text);
});

t.test('UTF-8 bytes, not UTF-16 code units (where dynalite differs)', async (t) => {
  t.equal(attributeValueSize({ S: 'é' }), 2);
  t.equal(attributeValueSize({ S: '€' }), 3);
  t.equal(attributeValueSize({ S: '😀' }), 4);
  t.equal(itemSize({ 'é': { S: 'x' } }), 3);
  t.equal(attributeValueSize({ SS: ['😀', 'a', ''] }), 5);
});

t.test('scalar, set, list and map sizes', async (t) => {
  t.equal(attributeValueSize({ B: new Uint8Array(10) }), 10);
  t.equal(attributeValueSize({ B: new Uint8Array(0) }), 0);
  t.equal(attributeValueSize({ BOOL: false }), 1);
  t.equal(attributeValueSize({ NULL: true }), 1);
  t.equal(attributeValueSize({ NS: ['1', '-1', '12345'] }), 2 + 3 + 4);
  t.equal(attributeValueSize({ BS: [new Uint8Array(3), new Uint8Array(4)] }), 7);
  t.equal(attributeValueSize({ L: [] }), 3);
  t.equal(attributeValueSize({ M: {} }), 3);
  t.equal(attributeValueSize({ L: [{ S: 'xy' }] }), 3 + 1 + 2);
  t.equal(attributeValueSize({ M: { ab: { S: 'xyz' } } }), 3 + 1 + 2 + 3);
  t.equal(attributeValueSize({ M: { a: { L: [{ N: '1' }, { M: {} }] } } }), 3 + (1 + 1 + (3 + (1 + 2) + (1 + 3))));
  t.equal(itemSize({ id: { S: 'abc' }, n: { N: '12345' }, flag: { BOOL: true }, l: { L: [{ S: 'xy' }] } }), 5 + 5 + 5 + 7);
  t.equal(itemSize({}), 0);
});
