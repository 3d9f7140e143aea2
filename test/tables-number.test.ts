/**
 * DynamoDB's Number type (lib/tables/number.ts). Cases come from
 * ../shared/dynamodb-reference.md §1, dynalite's test/putItem.js and
 * ScyllaDB Alternator's test/alternator/test_number.py (both recorded
 * against DynamoDB).
 */
import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';
import { addNumbers, compareNumbers, numberParts, numberPartsOfDecimal, parseNumber, subtractNumbers } from '../lib/tables/number.js';

const NOT_NUMERIC = 'The parameter cannot be converted to a numeric value';
const OVERFLOW = 'Number overflow. Attempting to store a number with magnitude larger than supported range';
const UNDERFLOW = 'Number underflow. Attempting to store a number with magnitude smaller than supported range';
const DIGITS = 'Attempting to store more than 38 significant digits in a Number';

const rejection = dynamoDbFailure;

t.test('accepts Java BigDecimal syntax and returns plain canonical notation', async (t) => {
  // Alternator test_invalid_numbers' accepted list, and dynalite's "really long numbers".
  const cases: Array<[string, string]> = [
    ['3', '3'],
    ['-7.1234', '-7.1234'],
    ['-17e5', '-1700000'],
    ['-17.4E37', '-174' + '0'.repeat(36)],
    ['+3', '3'],
    ['.123', '0.123'],
    ['0001.23', '1.23'],
    ['1e+5', '100000'],
    ['0e1000', '0'],
    ['-0', '0'],
    ['-0.000e-5', '0'],
    ['5.', '5'],
    ['0009.990e2', '999'],
    ['1.50', '1.5'],
    ['0009.' + '9'.repeat(37) + '0000e125', '9'.repeat(38) + '0'.repeat(88)],
    ['0001.000e-130', '0.' + '0'.repeat(129) + '1'],
    ['-00001.' + '2345678901'.repeat(3) + '2345670000', '-1.' + '2345678901'.repeat(3) + '234567'],
  ];
  for (const [input, canonical] of cases) t.equal(parseNumber(input), canonical, input);
});

t.test('rejects what is not a number, with the text after the colon', async (t) => {
  for (const input of ['NaN', 'Infinity', '-Infinity', '-NaN', 'dog', '-dog', ' 1', '1 ', '1e', 'e5', '.', '+', '1..0', '1.2.3', '0x10', '1_000']) {
    t.same(rejection(() => parseNumber(input)), { name: 'ValidationException', message: `${NOT_NUMERIC}: ${input}` }, input);
  }
  t.same(rejection(() => parseNumber('')), { name: 'ValidationException', message: NOT_NUMERIC }, 'empty: no suffix');
});

t.test('range: 1E-130 to 9.99..E+125 on both sides of zero', async (t) => {
  const accepted = ['1e125', '9.9999999999999999999999999999999999999e125', '1e-130', '1e10', '1e100', '1e-100', '9.99999999e125'];
  for (const text of accepted) {
    t.equal(new Decimal(parseNumber(text)).eq(new Decimal(text)), true, text);
    t.equal(new Decimal(parseNumber('-' + text)).eq(new Decimal('-' + text)), true, '-' + text);
  }
  for (const text of ['1e126', '-1e126', '11e125', '-11e125', '10e125', '1e2147483648', '1e99999999999999999999']) {
    t.same(rejection(() => parseNumber(text)), { name: 'ValidationException', message: OVERFLOW }, text);
  }
  for (const text of ['1e-131', '-1e-131', '0.9e-130', '-0.9e-130', '1e-2147483649', '1e-99999999999999999999']) {
    t.same(rejection(() => parseNumber(text)), { name: 'ValidationException', message: UNDERFLOW }, text);
  }
});

t.test('38 significant digits, not counting leading or trailing zeros', async (t) => {
  t.equal(parseNumber('3.1415926535897932384626433832795028841'), '3.1415926535897932384626433832795028841');
  t.equal(parseNumber('31415926535897932384626433832795028841e30'), '31415926535897932384626433832795028841' + '0'.repeat(30));
  t.equal(parseNumber('000' + '1'.repeat(38) + '000'), '1'.repeat(38) + '000');
  for (const text of [
    '123456789012345678901234567890123456789',
    '-1.23456789012345678901234567890123456789',
    '3.14159265358979323846264338327950288419',
    '314159265358979323846264338327950288419e30',
  ]) {
    t.same(rejection(() => parseNumber(text)), { name: 'ValidationException', message: DIGITS }, text);
  }
});

t.test('range is checked before digits (dynalite checkNum order)', async (t) => {
  t.equal(rejection(() => parseNumber('1'.repeat(39) + 'e200')).message, OVERFLOW);
  t.equal(rejection(() => parseNumber('0.' + '1'.repeat(39) + 'e-140')).message, UNDERFLOW);
});

t.test('compareNumbers is numeric order', async (t) => {
  t.equal(compareNumbers('2', '10'), -1);
  t.equal(compareNumbers('-2', '-10'), 1);
  t.equal(compareNumbers('0.5', '0.50'), 0);
  t.equal(compareNumbers('-0.0000001', '0'), -1);
  t.equal(compareNumbers(parseNumber('1e-130'), '0'), 1);
  t.equal(compareNumbers(parseNumber('9.9999999999999999999999999999999999999e125'), parseNumber('9.9999999999999999999999999999999999998e125')), 1);
});

t.test('exact add and subtract', async (t) => {
  t.equal(addNumbers('1', '10000000000000000000000'), '10000000000000000000001');
  t.equal(subtractNumbers('10000000000000000000000', '1'), '9999999999999999999999');
  t.equal(addNumbers('0.1', '0.2'), '0.3');
  t.equal(addNumbers('-5', '5'), '0');
  t.equal(subtractNumbers('1e-130', '1e-130'), '0');
  t.equal(addNumbers(parseNumber('1e125'), parseNumber('-1e125')), '0');
  t.equal(addNumbers('1' + '0'.repeat(37), '1'), '1' + '0'.repeat(36) + '1', '38 digits fit');
});

t.test('arithmetic that does not fit is the overflow error, even for lost precision', async (t) => {
  // Alternator test_update_expression_plus_overflow and _imprecise.
  const cases: Array<[() => string, string]> = [
    [() => addNumbers(parseNumber('9e125'), parseNumber('9e125')), '9e125 + 9e125'],
    [() => subtractNumbers(parseNumber('9e125'), parseNumber('-9e125')), '9e125 - -9e125'],
    [() => addNumbers(parseNumber('1e50'), '1'), '1e50 + 1'],
    [() => subtractNumbers(parseNumber('1e50'), '1'), '1e50 - 1'],
    [() => addNumbers(parseNumber('1e125'), parseNumber('1e-130')), 'widest spread'],
  ];
  for (const [run, label] of cases) t.same(rejection(run), { name: 'ValidationException', message: OVERFLOW }, label);
});

t.test('numberParts describes the canonical value', async (t) => {
  t.same(numberParts('0'), { negative: false, exponent: 0, digits: '' });
  t.same(numberParts('1'), { negative: false, exponent: 1, digits: '1' });
  t.same(numberParts('-0.05'), { negative: true, exponent: -1, digits: '5' });
  t.same(numberParts('12300'), { negative: false, exponent: 5, digits: '123' });
  t.same(numberParts(parseNumber('1e125')), { negative: false, exponent: 126, digits: '1' });
  t.same(numberParts(parseNumber('1e-130')), { negative: false, exponent: -129, digits: '1' });
  t.same(numberParts('0001.2300'), { negative: false, exponent: 1, digits: '123' }, 'plain notation with padding zeros');
  t.same(numberParts('-0.000'), { negative: false, exponent: 0, digits: '' }, 'negative zero is zero');
});


/** Arbitrary valid DynamoDB numbers: up to 38 digits, leading exponent -130..125. */
const arbitraryNumberText = fc
  .record({
    negative: fc.boolean(),
    digits: fc.stringMatching(/^[1-9][0-9]{0,37}$/),
    leadingExponent: fc.integer({ min: -130, max: 125 }),
  })
  .map(({ negative, digits, leadingExponent }) => `${negative ? '-' : ''}${digits[0]}.${digits.slice(1)}e${leadingExponent}`);

t.test('property: parse is idempotent, exact and agrees with decimal.js order', async (t) => {
  fc.assert(
    fc.property(arbitraryNumberText, arbitraryNumberText, (a, b) => {
      const ca = parseNumber(a);
      const cb = parseNumber(b);
      if (parseNumber(ca) !== ca) return false;
      if (!new Decimal(ca).eq(new Decimal(a))) return false;
      if (/e/i.test(ca)) return false;
      return compareNumbers(ca, cb) === new Decimal(a).comparedTo(new Decimal(b));
    }),
    { numRuns: 500 },
  );
  t.pass('500 runs');
});

t.test('property: numberParts read off plain notation equals decimal.js', async (t) => {
  const plain = fc
    .record({ negative: fc.boolean(), integer: fc.stringMatching(/^[0-9]{1,40}$/), fraction: fc.option(fc.stringMatching(/^[0-9]{1,40}$/), { nil: undefined }) })
    .map(({ negative, integer, fraction }) => `${negative ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}`);
  fc.assert(fc.property(plain, (text) => assert.deepStrictEqual(numberParts(text), numberPartsOfDecimal(text), text)), { numRuns: 2000 });
  fc.assert(fc.property(arbitraryNumberText, (text) => assert.deepStrictEqual(numberParts(parseNumber(text)), numberPartsOfDecimal(text), text)), { numRuns: 1000 });
  t.pass('3000 numbers: the same parts both ways');
});

t.test('parseNumber returns what decimal.js canonicalises to, for plain and exponent notation alike (its fast path included)', async (t) => {
  const digits = fc.stringMatching(/^[0-9]{1,20}$/);
  const text = fc.tuple(fc.constantFrom('', '-', '+'), digits, fc.option(fc.stringMatching(/^[0-9]{0,18}$/)), fc.option(fc.integer({ min: -60, max: 60 })))
    .map(([sign, integer, fraction, exponent]) => `${sign}${integer}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `e${exponent}`}`);
  fc.assert(fc.property(text, (input) => {
    const value = new Decimal(input);
    assert.equal(parseNumber(input), value.isZero() ? '0' : value.toFixed());
  }), { numRuns: 3000 });
  t.pass('3000 numbers');
});
