/**
 * DynamoDB's item size: what the 400 KB limit and the capacity units count
 * (DynamoDB Developer Guide: Item sizes and formats, DG:CapacityUnitCalculations;
 * ../shared/dynamodb-reference.md §1).
 *
 * - An item is the sum over its attributes of the UTF-8 bytes of the name plus
 *   the size of the value.
 * - S: UTF-8 bytes. B: raw bytes. BOOL, NULL: 1.
 * - N: DynamoDB stores a number as base-100 digit pairs plus an exponent byte,
 *   so its size is 1 + the number of digit pairs, pairs aligned on the
 *   decimal point, + 1 for a negative number (its terminator); zero is 1.
 *   Equivalently (dynalite db/index.js `valSize`, whose boundary cases in
 *   test/putItem.js are recorded against DynamoDB): with n significant digits
 *   and the leading digit at 10^e, 1 + ceil(n/2), + 1 when n and e are both
 *   even, + 1 when negative.
 * - M: 3 + for each entry 1 + UTF-8 bytes of its name + its value's size.
 *   L: 3 + for each element 1 + its size. Sets: the sum of their elements'
 *   sizes, with no per-element overhead.
 * dynalite counts S and names in UTF-16 code units; this counts UTF-8 bytes,
 * as DynamoDB does.
 */
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import { validationError } from './dynamodb-error.js';
import { numberParts } from './number.js';

/** 400 KB (DG:ServiceQuotas#limits-items-size; dynalite db/index.js MAX_SIZE = 409600). */
export const ITEM_SIZE_BYTES_MAX = 409_600;

/** Which write the limit is checked for: the message differs (dynalite validations/putItem.js, actions/updateItem.js). */
export type ItemWriteKind = 'put' | 'update';

const MESSAGE_PUT = 'Item size has exceeded the maximum allowed size';
const MESSAGE_UPDATE = 'Item size to update has exceeded the maximum allowed size';

export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Size of a canonical (or at least valid) number. */
export function numberSize(text: string): number {
  const { negative, exponent, digits } = numberParts(text);
  if (digits.length === 0) return 1;
  // numberParts' exponent is that of 0.d1d2..., so the leading digit sits at 10^(exponent - 1).
  const leadingExponentEven = (exponent - 1) % 2 === 0;
  const pairs = Math.ceil(digits.length / 2) + (digits.length % 2 === 0 && leadingExponentEven ? 1 : 0);
  return 1 + pairs + (negative ? 1 : 0);
}

export function attributeValueSize(value: AttributeValue): number {
  if ('S' in value) return utf8ByteLength(value.S);
  if ('N' in value) return numberSize(value.N);
  if ('B' in value) return value.B.byteLength;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('SS' in value) return value.SS.reduce((sum, element) => sum + utf8ByteLength(element), 0);
  if ('NS' in value) return value.NS.reduce((sum, element) => sum + numberSize(element), 0);
  if ('BS' in value) return value.BS.reduce((sum, element) => sum + element.byteLength, 0);
  if ('L' in value) return value.L.reduce((sum, element) => sum + 1 + attributeValueSize(element), 3);
  let size = 3;
  for (const [name, element] of Object.entries(value.M)) size += 1 + utf8ByteLength(name) + attributeValueSize(element);
  return size;
}

/** The size DynamoDB gives an item (or a key, or any attribute map). */
export function itemSize(item: AttributeMap): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8ByteLength(name) + attributeValueSize(value);
  return size;
}

/** Throws DynamoDB's ValidationException when the item is over 400 KB; returns its size otherwise. */
export function checkItemSize(item: AttributeMap, kind: ItemWriteKind, bytesMax: number = ITEM_SIZE_BYTES_MAX): number {
  const size = itemSize(item);
  if (size > bytesMax) throw validationError(kind === 'put' ? MESSAGE_PUT : MESSAGE_UPDATE);
  return size;
}
