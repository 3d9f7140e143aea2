/**
 * DynamoDB's Number type: a decimal of at most 38 significant digits, with
 * positive magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125
 * and the same negative range (DynamoDB Developer Guide: Data types). It is
 * exact: stored normalised, compared and added without rounding (decimal.js,
 * never floats). Arithmetic whose exact result does not fit fails; DynamoDB
 * words even a precision loss as an overflow (ScyllaDB Alternator's
 * test_number.py, checked against DynamoDB).
 *
 * Canonical form, as DynamoDB returns numbers: plain notation, no exponent,
 * no leading or trailing zeros, no '+', zero as "0" ("0009.990e2" -> "999").
 */
import { Decimal as DecimalJs } from 'decimal.js';
import { validationError } from './dynamodb-error.js';

/** A private Decimal constructor, so that no other user of decimal.js can change our settings. */
const Decimal = DecimalJs.clone({
  // Exact sums of two 38-digit numbers with exponents 256 apart need about 300
  // digits; 400 keeps every intermediate exact before the 38-digit check.
  precision: 400,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -9e15,
  toExpPos: 9e15,
  minE: -9e15,
  maxE: 9e15,
});
type Decimal = InstanceType<typeof Decimal>;

export const NUMBER_DIGITS_MAX = 38;
/** Exponent of the largest magnitude's leading digit (9.99...E+125). */
export const NUMBER_EXPONENT_MAX = 125;
/** Exponent of the smallest non-zero magnitude (1E-130). */
export const NUMBER_EXPONENT_MIN = -130;

/** Java BigDecimal's literal syntax, which DynamoDB accepts: "+3", ".123", "5.", "1e+5". No spaces, no NaN or Infinity. */
const NUMBER_SYNTAX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** The same syntax, split: sign, integer digits, fraction digits, exponent. */
const NUMBER_PARTS = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Nonzero plain notation as canonical() prints it: no sign but '-', no leading zero, no trailing fractional zero. */
const CANONICAL_PLAIN = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$/;

const MESSAGE_NOT_NUMERIC = 'The parameter cannot be converted to a numeric value';
const MESSAGE_DIGITS = 'Attempting to store more than 38 significant digits in a Number';
const MESSAGE_OVERFLOW = 'Number overflow. Attempting to store a number with magnitude larger than supported range';
const MESSAGE_UNDERFLOW = 'Number underflow. Attempting to store a number with magnitude smaller than supported range';

/**
 * Validates a number as a client sent it and returns its canonical form.
 * Checks in dynalite's order (validations/index.js `checkNum`, recorded
 * against DynamoDB): syntax, then overflow, then underflow, then
 * significant digits.
 *
 * Digits and magnitude are read from the text itself, before decimal.js
 * sees it: an exponent such as 1e2147483648 would otherwise become Infinity
 * (accepted), 1e-99999999999999999 would become 0 (accepted), and a
 * plain-notation expansion of a huge exponent would exhaust memory.
 */
export function parseNumber(text: string): string {
  const match = typeof text === 'string' ? NUMBER_PARTS.exec(text) : null;
  if (match === null || !NUMBER_SYNTAX.test(text)) {
    // An empty number gets the message without the ": " suffix.
    throw validationError(text === '' || typeof text !== 'string' ? MESSAGE_NOT_NUMERIC : `${MESSAGE_NOT_NUMERIC}: ${text}`);
  }
  const integerDigits = match[2] ?? '';
  const allDigits = integerDigits + (match[3] ?? '');
  const leadingZeros = allDigits.length - allDigits.replace(/^0+/, '').length;
  if (leadingZeros === allDigits.length) return '0'; // zero in any notation, 0e1000 included
  // Number() of a very long exponent is +-Infinity, which still compares correctly below.
  const exponentLiteral = match[4] === undefined ? 0 : Number(match[4]);
  // Exponent of the leading significant digit (1 -> 0, 0.05 -> -2, 11e125 -> 126).
  const leadingExponent = integerDigits.length - leadingZeros - 1 + exponentLiteral;
  if (leadingExponent > NUMBER_EXPONENT_MAX) throw validationError(MESSAGE_OVERFLOW);
  if (leadingExponent < NUMBER_EXPONENT_MIN) throw validationError(MESSAGE_UNDERFLOW);
  const significant = allDigits.slice(leadingZeros).replace(/0+$/, '');
  if (significant.length > NUMBER_DIGITS_MAX) throw validationError(MESSAGE_DIGITS);
  // A nonzero number already in canonical plain notation is its own canonical form: no Decimal per key and item number.
  if (CANONICAL_PLAIN.test(text)) return text;
  return canonical(new Decimal(text));
}

/** Numeric order of two canonical (or at least valid) numbers: -1, 0 or 1. */
export function compareNumbers(a: string, b: string): -1 | 0 | 1 {
  return new Decimal(a).comparedTo(new Decimal(b)) as -1 | 0 | 1;
}

/** a + b, exact, or DynamoDB's overflow ValidationException. */
export function addNumbers(a: string, b: string): string {
  return checkedResult(new Decimal(a).plus(new Decimal(b)));
}

/** a - b, exact, or DynamoDB's overflow ValidationException. */
export function subtractNumbers(a: string, b: string): string {
  return checkedResult(new Decimal(a).minus(new Decimal(b)));
}

/**
 * The parts of a canonical number, for the order-preserving key encoding and
 * the size formula: value = (negative ? -1 : 1) * 0.d1d2d3... * 10^exponent,
 * where `digits` has no leading or trailing zero. Zero has digits "".
 */
export interface NumberParts {
  negative: boolean;
  /** Exponent of the form 0.d1d2... x 10^exponent (so 1 has exponent 1, 0.5 has 0). */
  exponent: number;
  digits: string;
}

/** Plain notation without an exponent: what parseNumber returns, and what most key values are. */
const PLAIN_NUMBER = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

export function numberParts(text: string): NumberParts {
  // Plain notation is read off the string: a Decimal per key encoded and per
  // number sized showed in profiles of GetItem and Query (bench/tables.bench.ts).
  const plain = PLAIN_NUMBER.exec(text);
  if (plain !== null) {
    const integerDigits = plain[2]!;
    const allDigits = integerDigits + (plain[3] ?? '');
    let leadingZeros = 0;
    while (leadingZeros < allDigits.length && allDigits.charCodeAt(leadingZeros) === 48) leadingZeros += 1;
    if (leadingZeros === allDigits.length) return { negative: false, exponent: 0, digits: '' };
    let end = allDigits.length;
    while (allDigits.charCodeAt(end - 1) === 48) end -= 1;
    return { negative: plain[1] === '-', exponent: integerDigits.length - leadingZeros, digits: allDigits.slice(leadingZeros, end) };
  }
  return numberPartsOfDecimal(text);
}

/** numberParts through decimal.js: any notation it reads (exported for the property test of the plain-notation path). */
export function numberPartsOfDecimal(text: string): NumberParts {
  const value = new Decimal(text);
  if (value.isZero()) return { negative: false, exponent: 0, digits: '' };
  // decimal.js: value.e is the exponent of the leading digit (1 -> 0, 0.5 -> -1).
  const digits = value.abs().toFixed().replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return { negative: value.isNegative(), exponent: value.e + 1, digits };
}

function significantDigits(value: Decimal): number {
  if (value.isZero()) return 0;
  return value.abs().toFixed().replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
}

function checkRange(value: Decimal, overflowMessage: string): void {
  if (value.isZero()) return;
  if (value.e > NUMBER_EXPONENT_MAX) throw validationError(overflowMessage);
  if (value.e < NUMBER_EXPONENT_MIN) throw validationError(MESSAGE_UNDERFLOW);
}

function checkedResult(value: Decimal): string {
  // DynamoDB reports any result it cannot store exactly as an overflow.
  if (significantDigits(value) > NUMBER_DIGITS_MAX) throw validationError(MESSAGE_OVERFLOW);
  if (!value.isZero() && value.e < NUMBER_EXPONENT_MIN) throw validationError(MESSAGE_OVERFLOW);
  checkRange(value, MESSAGE_OVERFLOW);
  return canonical(value);
}

function canonical(value: Decimal): string {
  if (value.isZero()) return '0';
  return value.toFixed();
}
