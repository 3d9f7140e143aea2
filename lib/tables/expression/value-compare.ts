/**
 * Equality, order and size of AttributeValues as DynamoDB's expressions see
 * them. S orders by UTF-8 bytes (the order of code points), not by JavaScript's
 * UTF-16 code units; N numerically and exactly; B as unsigned bytes
 * (DG: Expressions.OperatorsAndFunctions#Comparators; the reference §2). Values
 * of different types are never equal and never ordered: a comparison between
 * them is false, not an error (reference §6 "Comparisons").
 */
import { typeOf, type AttributeValue } from '../attribute-value.js';
import { compareNumbers } from '../number.js';

/** Order of two strings by their UTF-8 bytes, which is the order of their code points. */
export function compareStrings(a: string, b: string): -1 | 0 | 1 {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    // Below a surrogate, code units order as code points; a surrogate (a code
    // point above U+FFFF) sorts after every BMP code point, including U+E000..U+FFFF.
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Unsigned bytewise order. */
export function compareBinaries(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (a[index] !== b[index]) return a[index]! < b[index]! ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Order of two scalars of one orderable type (S, N or B), or undefined when
 * they are not both of one such type: then <, <=, >, >= and BETWEEN are false.
 */
export function compareScalars(a: AttributeValue, b: AttributeValue): -1 | 0 | 1 | undefined {
  if ('S' in a && 'S' in b) return compareStrings(a.S, b.S);
  if ('N' in a && 'N' in b) return compareNumbers(a.N, b.N);
  if ('B' in a && 'B' in b) return compareBinaries(a.B, b.B);
  return undefined;
}

/** DynamoDB's equality: same type and same value; sets ignore order, numbers compare numerically. */
export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if ('S' in a) return 'S' in b && a.S === b.S;
  if ('N' in a) return 'N' in b && compareNumbers(a.N, b.N) === 0;
  if ('B' in a) return 'B' in b && compareBinaries(a.B, b.B) === 0;
  if ('BOOL' in a) return 'BOOL' in b && a.BOOL === b.BOOL;
  if ('NULL' in a) return 'NULL' in b;
  if ('SS' in a) return 'SS' in b && sameMembers(a.SS, b.SS, (x, y) => x === y);
  if ('NS' in a) return 'NS' in b && sameMembers(a.NS, b.NS, (x, y) => compareNumbers(x, y) === 0);
  if ('BS' in a) return 'BS' in b && sameMembers(a.BS, b.BS, (x, y) => compareBinaries(x, y) === 0);
  if ('L' in a) return 'L' in b && a.L.length === b.L.length && a.L.every((value, index) => valuesEqual(value, b.L[index]!));
  if ('M' in a) {
    if (!('M' in b)) return false;
    const keys = Object.keys(a.M);
    if (keys.length !== Object.keys(b.M).length) return false;
    return keys.every((key) => Object.hasOwn(b.M, key) && valuesEqual(a.M[key]!, b.M[key]!));
  }
  return false;
}

/** Sets have no duplicates (validated on input), so equal sizes and inclusion mean equality. */
function sameMembers<T>(a: readonly T[], b: readonly T[], equal: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => equal(x, y)));
}

/** Whether a set value (SS, NS or BS) holds `member` of its element type. */
export function setHas(set: AttributeValue, member: AttributeValue): boolean {
  if ('SS' in set) return 'S' in member && set.SS.includes(member.S);
  if ('NS' in set) return 'N' in member && set.NS.some((n) => compareNumbers(n, member.N) === 0);
  if ('BS' in set) return 'B' in member && set.BS.some((b) => compareBinaries(b, member.B) === 0);
  return false;
}

/**
 * size(): the length of an S in UTF-16 code units (checked against DynamoDB:
 * size of "é𝄞" is 3, ExtendDB pull request 67), of a B in bytes, the
 * element count of a set or L and the entry count of an M (Alternator
 * test_condition_expression.py `test_update_condition_size`). N, BOOL and
 * NULL have no size: undefined, and the comparison using it is false.
 */
export function sizeOf(value: AttributeValue): number | undefined {
  switch (typeOf(value)) {
    case 'S':
      return (value as { S: string }).S.length;
    case 'B':
      return (value as { B: Uint8Array }).B.length;
    case 'SS':
      return (value as { SS: string[] }).SS.length;
    case 'NS':
      return (value as { NS: string[] }).NS.length;
    case 'BS':
      return (value as { BS: Uint8Array[] }).BS.length;
    case 'L':
      return (value as { L: AttributeValue[] }).L.length;
    case 'M':
      return Object.keys((value as { M: Record<string, AttributeValue> }).M).length;
    default:
      return undefined;
  }
}
