/**
 * Validation of AttributeValues as a client sends them, with DynamoDB's
 * exact messages, returning a normalised copy (numbers canonical).
 *
 * Rules (../shared/dynamodb-reference.md §1; dynalite validations/index.js
 * `validateAttributeValue` and its tests test/putItem.js, test/getItem.js,
 * test/updateItem.js, all recorded against DynamoDB):
 * - exactly one member set: members DynamoDB does not know, and members that
 *   are null or undefined, are ignored (dynalite's checkTypes drops them), so
 *   `{}` and `{ a: '' }` are "empty";
 * - members are checked in the order the client wrote them, each one fully
 *   (an M or L recursively) before "more than one datatypes" is reported, so
 *   `{ S: 'a', N: 'b' }` is a number error (dynalite test/putItem.js);
 * - NULL must be true; sets are non-empty with unique elements (NS elements
 *   compared after canonicalisation: "1" and "1.0" are duplicates);
 * - empty S and B are allowed here: a key attribute's emptiness is the key
 *   check's business (table-schema.ts), as DynamoDB allows empty strings
 *   and binaries in non-key attributes since 2020;
 * - nesting: the attribute itself is level 1, and a value at level 33 is
 *   refused (deepest accepted: 31 wraps around a scalar; recorded against
 *   live DynamoDB in eu-west-2 and us-east-1 by a conformance suite found
 *   with the search tool, see the report). The check runs as values are
 *   reached, in document order.
 *
 * Where a message carries "One or more parameter values were invalid: " is a
 * property of each message, the same for an Item and a Key (dynalite's
 * tests); what differs between request parameters is the wrapping, which
 * the `AttributeValueSource` parameter selects:
 * - Item, Key, AttributeValueList: the message as is;
 * - ExpressionAttributeValues: "ExpressionAttributeValues contains invalid
 *   value: <message> for key <placeholder>" (dynalite test/updateItem.js);
 * - ExclusiveStartKey: "The provided starting key is invalid: <message>"
 *   (dynalite test/query.js).
 * The nesting message is never wrapped so. UpdateItem and PutItem put it in
 * Coral's envelope ("1 validation error detected: ..."), BatchWriteItem and
 * transactions give it bare (same conformance suite); `nesting` selects.
 * Known gap: past about 62 levels DynamoDB switches to a second check
 * (PutItem drops the envelope, an UpdateItem value is named by its key); not
 * reproduced, the boundary is not known exactly.
 */
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import { DynamoDbError, validationError } from './dynamodb-error.js';
import { parseNumber } from './number.js';

/** DynamoDB's nesting limit (DG:ServiceQuotas#limits-attributes-nested-depth); the attribute itself is level 1. */
export const NESTING_LEVELS_MAX = 32;

export type AttributeValueSource =
  | { parameter: 'Item' | 'Key' | 'AttributeValueList'; nesting?: NestingMessageForm }
  | { parameter: 'ExpressionAttributeValues'; placeholder: string; nesting?: NestingMessageForm }
  | { parameter: 'ExclusiveStartKey'; nesting?: NestingMessageForm };

/** 'enveloped' for PutItem and UpdateItem (the default), 'bare' for BatchWriteItem and transactions. */
export type NestingMessageForm = 'enveloped' | 'bare';

const PREFIX = 'One or more parameter values were invalid: ';
const MESSAGE_EMPTY = 'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes';
const MESSAGE_MANY = 'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';
const MESSAGE_NULL = `${PREFIX}Null attribute value types must have the value of true`;
// "An string set  may not be empty" has two spaces in DynamoDB's text.
const MESSAGE_EMPTY_SS = `${PREFIX}An string set  may not be empty`;
const MESSAGE_EMPTY_NS = `${PREFIX}An number set  may not be empty`;
const MESSAGE_EMPTY_BS = `${PREFIX}Binary sets should not be empty`;
const MESSAGE_DUPLICATE_NS = 'Input collection contains duplicates';
const MESSAGE_NESTING = 'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';

const MEMBERS: ReadonlySet<string> = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

/** Validates one value (at level 1) and returns its normalised copy. */
export function validateAttributeValue(value: unknown, source: AttributeValueSource): AttributeValue {
  return withSource(source, () => checkValue(value, 1, source.nesting ?? 'enveloped'));
}

/** Validates an item, a key or any attribute map: each value is at level 1. */
export function validateAttributeMap(map: unknown, source: AttributeValueSource): AttributeMap {
  return withSource(source, () => checkMap(map, 1, source.nesting ?? 'enveloped'));
}

/** The wrapping of a message for the request parameter it came from. */
export function wrapAttributeValueMessage(message: string, source: AttributeValueSource): string {
  switch (source.parameter) {
    case 'ExpressionAttributeValues':
      return `ExpressionAttributeValues contains invalid value: ${message} for key ${source.placeholder}`;
    case 'ExclusiveStartKey':
      return `The provided starting key is invalid: ${message}`;
    default:
      return message;
  }
}

/** Thrown inside the walk; `withSource` turns it into the wrapped ValidationException. */
class ValueProblem {
  constructor(readonly message: string) {}
}

/** Nesting is reported without the parameter's wrapping. */
class NestingProblem {
  constructor(readonly message: string) {}
}

function withSource<T>(source: AttributeValueSource, run: () => T): T {
  try {
    return run();
  } catch (problem) {
    if (problem instanceof ValueProblem) throw validationError(wrapAttributeValueMessage(problem.message, source));
    if (problem instanceof NestingProblem) throw validationError(problem.message);
    throw problem;
  }
}

function checkMap(map: unknown, level: number, nesting: NestingMessageForm): AttributeMap {
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw serializationError(map, 'Map');
  const copy: AttributeMap = {};
  // Object.keys, not entries: the same order without a pair array per attribute (every item and key passes here).
  const names = Object.keys(map);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = (map as Record<string, unknown>)[name];
    // A null value in a map is dropped by DynamoDB's deserialiser, as dynalite's checkTypes does.
    if (value === null || value === undefined) continue;
    copy[name] = checkValue(value, level, nesting);
  }
  return copy;
}

function checkValue(value: unknown, level: number, nesting: NestingMessageForm): AttributeValue {
  if (level > NESTING_LEVELS_MAX) {
    throw new NestingProblem(nesting === 'enveloped' ? `1 validation error detected: ${MESSAGE_NESTING}` : MESSAGE_NESTING);
  }
  // A null list element reaches here as an AttributeValue with nothing set.
  if (value === null || value === undefined) throw new ValueProblem(MESSAGE_EMPTY);
  if (typeof value !== 'object' || Array.isArray(value)) throw serializationError(value, 'Structure');
  let result: AttributeValue | undefined;
  let count = 0;
  const members = Object.keys(value);
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    const content = (value as Record<string, unknown>)[member];
    if (!MEMBERS.has(member) || content === null || content === undefined) continue;
    count += 1;
    result = checkMember(member, content, level, nesting);
  }
  if (count === 0 || result === undefined) throw new ValueProblem(MESSAGE_EMPTY);
  if (count > 1) throw new ValueProblem(MESSAGE_MANY);
  return result;
}

function checkMember(member: string, content: unknown, level: number, nesting: NestingMessageForm): AttributeValue {
  switch (member) {
    case 'S':
      return { S: expectString(content) };
    case 'N':
      return { N: checkNumber(expectString(content)) };
    case 'B':
      return { B: expectBinary(content).slice() };
    case 'BOOL':
      return { BOOL: expectBoolean(content) };
    case 'NULL':
      if (!expectBoolean(content)) throw new ValueProblem(MESSAGE_NULL);
      return { NULL: true };
    case 'M':
      return { M: checkMap(content, level + 1, nesting) };
    case 'L':
      return { L: expectList(content).map((element) => checkValue(element, level + 1, nesting)) };
    case 'SS':
      return { SS: checkStringSet(expectList(content).map(expectString)) };
    case 'NS':
      return { NS: checkNumberSet(expectList(content).map(expectString)) };
    default:
      return { BS: checkBinarySet(expectList(content).map(expectBinary)) };
  }
}

function checkNumber(text: string): string {
  try {
    return parseNumber(text);
  } catch (error) {
    if (error instanceof DynamoDbError) throw new ValueProblem(error.message);
    throw error;
  }
}

function checkStringSet(elements: string[]): string[] {
  if (elements.length === 0) throw new ValueProblem(MESSAGE_EMPTY_SS);
  if (new Set(elements).size !== elements.length) {
    throw new ValueProblem(`${PREFIX}Input collection [${elements.join(', ')}] contains duplicates.`);
  }
  return elements.slice();
}

function checkNumberSet(elements: string[]): string[] {
  if (elements.length === 0) throw new ValueProblem(MESSAGE_EMPTY_NS);
  // Every element is checked before duplicates, so a bad number wins (dynalite test/putItem.js).
  const canonical = elements.map(checkNumber);
  if (new Set(canonical).size !== canonical.length) throw new ValueProblem(MESSAGE_DUPLICATE_NS);
  return canonical;
}

function checkBinarySet(elements: Uint8Array[]): Uint8Array[] {
  if (elements.length === 0) throw new ValueProblem(MESSAGE_EMPTY_BS);
  const encoded = elements.map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'));
  if (new Set(encoded).size !== encoded.length) {
    // "]of type BS": DynamoDB's text has no space there.
    throw new ValueProblem(`${PREFIX}Input collection [${encoded.join(', ')}]of type BS contains duplicates.`);
  }
  return elements.map((bytes) => bytes.slice());
}

function expectString(content: unknown): string {
  if (typeof content !== 'string') throw serializationError(content, 'String');
  return content;
}

function expectBoolean(content: unknown): boolean {
  if (typeof content !== 'boolean') throw serializationError(content, 'Boolean');
  return content;
}

function expectBinary(content: unknown): Uint8Array {
  if (!(content instanceof Uint8Array)) throw serializationError(content, 'Blob');
  return content;
}

function expectList(content: unknown): unknown[] {
  if (!Array.isArray(content)) throw serializationError(content, 'List');
  return content;
}

/**
 * A value of the wrong JSON type is DynamoDB's SerializationException, worded
 * as its Java deserialiser words it (dynalite validations/index.js `checkTypes`).
 */
function serializationError(content: unknown, expected: 'String' | 'Boolean' | 'Blob' | 'List' | 'Map' | 'Structure'): DynamoDbError {
  let message: string;
  if (Array.isArray(content)) message = 'Start of list found where not expected';
  else if (expected === 'List') message = 'Expected list or null';
  else if (expected === 'Map') message = 'Expected map or null';
  else if (expected === 'Structure' && typeof content !== 'object') message = 'Expected null';
  else if (content !== null && typeof content === 'object') message = 'Start of structure or map found where not expected.';
  else {
    const javaClass = typeof content === 'boolean' ? 'java.lang.Boolean' : typeof content === 'number' ? javaNumberClass(content) : 'java.lang.String';
    message = `class ${javaClass} can not be converted to ${expected === 'Blob' ? 'a' : 'an'} ${expected}`;
  }
  return new DynamoDbError('SerializationException', message);
}

function javaNumberClass(value: number): string {
  if (value % 1 !== 0) return 'java.lang.Double';
  if (value >= -32768 && value <= 32767) return 'java.lang.Short';
  if (value >= -2147483648 && value <= 2147483647) return 'java.lang.Integer';
  return 'java.lang.Long';
}
