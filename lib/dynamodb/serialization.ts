/**
 * Reads a request body into an operation's input the way DynamoDB's request
 * deserialiser does, before any validation: each member must have the JSON
 * type its shape declares (./shapes.ts), or the request is a
 * SerializationException whose message is DynamoDB's. Members are read in
 * the body's order and the first bad one answers; members the shape does not
 * know are ignored; a JSON null is an absent member. B and BS values are
 * decoded from base64 here, so the dispatcher sees Uint8Array.
 *
 * DynamoDB's messages differ by where the value sits: a structure member
 * ("field") or a list element or map value ("value"). They were recorded
 * against DynamoDB in architect/dynalite test/helpers.js `assertType`
 * (String, Boolean, Integer, Long, Blob, List, ParameterizedList, Map,
 * ParameterizedMap, ValueStruct, FieldStruct) and are quoted below as is.
 */
import { DynamoDbError } from '../tables/dynamodb-error.js';
import { decodeBase64 } from './base64.js';
import { OPERATION_INPUTS, STRUCTURES, type OperationName } from './shapes.js';

type Shape =
  | { kind: 'String' | 'Boolean' | 'Integer' | 'Long' | 'Blob' }
  | { kind: 'List'; member: Shape }
  | { kind: 'Map'; value: Shape }
  | { kind: 'Structure'; name: string; members: Map<string, Shape> };

type Position = 'field' | 'value';

const JAVA_PACKAGE = 'com.amazonaws.dynamodb.v20120810.';
const OBJECT_NOT_EXPECTED = 'Start of structure or map found where not expected';
const UNEXPECTED_FIELD_TYPE = 'Unexpected field type';
const UNEXPECTED_VALUE_TYPE = 'Unexpected value type in payload';
/** DynamoDB's answer to a scalar where a list or map sits inside another collection (ParameterizedList/Map). */
const PARAMETERIZED_CAST =
  'class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class java.lang.Class ' +
  '(sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class are in module java.base of ' +
  "loader 'bootstrap')";
/**
 * How deep a request may nest (AttributeValue L and M inside each other).
 * DynamoDB allows 32 levels in an item (Developer Guide: ServiceQuotas,
 * "Nested attribute depth"); the tables layer answers that limit with its
 * own message. This bound only keeps the reader's recursion finite.
 */
export const NESTING_DEPTH_MAX = 256;
const NESTING_MESSAGE =
  'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';

const shapeCache = new Map<string, Shape>();

function shapeOf(type: string): Shape {
  const cached = shapeCache.get(type);
  if (cached !== undefined) return cached;
  let shape: Shape;
  const generic = /^(List|Map)<(.+)>$/.exec(type);
  if (generic !== null) {
    shape = generic[1] === 'List' ? { kind: 'List', member: shapeOf(generic[2]!) } : { kind: 'Map', value: shapeOf(generic[2]!) };
  } else if (type === 'String' || type === 'Boolean' || type === 'Integer' || type === 'Long' || type === 'Blob') {
    shape = { kind: type };
  } else {
    const members = STRUCTURES[type];
    if (members === undefined) throw new Error(`shapes.ts: unknown type ${type}`);
    const structure: Shape = { kind: 'Structure', name: type, members: new Map() };
    shapeCache.set(type, structure); // before the members: AttributeValue contains itself
    for (const [member, memberType] of Object.entries(members)) structure.members.set(member, shapeOf(memberType));
    return structure;
  }
  shapeCache.set(type, shape);
  return shape;
}

/** The Java type DynamoDB names in "Unrecognized collection type" messages. */
function javaName(shape: Shape): string {
  switch (shape.kind) {
    case 'String': return 'java.lang.String';
    case 'Boolean': return 'java.lang.Boolean';
    case 'Integer': return 'java.lang.Integer';
    case 'Long': return 'java.lang.Long';
    case 'Blob': return 'java.nio.ByteBuffer';
    case 'List': return `java.util.List<${javaName(shape.member)}>`;
    case 'Map': return `java.util.Map<java.lang.String, ${javaName(shape.value)}>`;
    case 'Structure': return JAVA_PACKAGE + shape.name;
  }
}

function serializationError(message: string): DynamoDbError {
  return new DynamoDbError('SerializationException', message);
}

/** The parser token DynamoDB names when a scalar has the wrong type. */
function tokenName(value: boolean | number | string): string {
  if (typeof value === 'boolean') return value ? 'TRUE_VALUE' : 'FALSE_VALUE';
  if (typeof value === 'string') return 'STRING_VALUE';
  // JSON.parse keeps no trace of "1.0", so an integral decimal reads as NUMBER_VALUE.
  return Number.isInteger(value) ? 'NUMBER_VALUE' : 'DECIMAL_VALUE';
}

function readScalar(value: unknown, kind: 'String' | 'Boolean' | 'Integer' | 'Long' | 'Blob'): unknown {
  if (Array.isArray(value)) {
    throw serializationError(`Unrecognized collection type class ${javaName({ kind })}`);
  }
  if (typeof value === 'object') throw serializationError(OBJECT_NOT_EXPECTED);
  const scalar = value as boolean | number | string;
  switch (kind) {
    case 'String':
      if (typeof scalar === 'string') return scalar;
      throw serializationError(`${tokenName(scalar)} cannot be converted to String`);
    case 'Boolean':
      if (typeof scalar === 'boolean') return scalar;
      if (typeof scalar === 'string') throw serializationError('Unexpected token received from parser');
      throw serializationError(`${tokenName(scalar)} cannot be converted to Boolean`);
    case 'Integer':
    case 'Long':
      if (typeof scalar === 'number') return Math.trunc(scalar);
      throw serializationError(`${tokenName(scalar)} cannot be converted to ${kind}`);
    case 'Blob': {
      if (typeof scalar !== 'string') throw serializationError('only base-64-encoded strings are convertible to bytes');
      const bytes = decodeBase64(scalar);
      if (typeof bytes === 'string') throw serializationError(bytes);
      return bytes;
    }
  }
}

function readValue(value: unknown, shape: Shape, position: Position, depth: number): unknown {
  if (value === null) return null;
  if (depth > NESTING_DEPTH_MAX) throw new DynamoDbError('ValidationException', NESTING_MESSAGE);
  switch (shape.kind) {
    case 'List': {
      if (Array.isArray(value)) return value.map((element) => readValue(element, shape.member, 'value', depth + 1));
      if (typeof value === 'object') throw serializationError(OBJECT_NOT_EXPECTED);
      throw serializationError(position === 'field' ? UNEXPECTED_FIELD_TYPE : PARAMETERIZED_CAST);
    }
    case 'Map': {
      if (Array.isArray(value)) throw serializationError(`Unrecognized collection type ${javaName(shape)}`);
      if (typeof value !== 'object') throw serializationError(position === 'field' ? UNEXPECTED_FIELD_TYPE : PARAMETERIZED_CAST);
      const map: Record<string, unknown> = {};
      for (const key in value) {
        const element = readValue((value as Record<string, unknown>)[key], shape.value, 'value', depth + 1);
        // defineProperty only for "__proto__", which must stay an ordinary member; it is slow for every key.
        if (key === '__proto__') Object.defineProperty(map, key, { value: element, enumerable: true, writable: true, configurable: true });
        else map[key] = element;
      }
      return map;
    }
    case 'Structure': {
      if (Array.isArray(value)) throw serializationError(`Unrecognized collection type class ${JAVA_PACKAGE}${shape.name}`);
      if (typeof value !== 'object') throw serializationError(position === 'field' ? UNEXPECTED_FIELD_TYPE : UNEXPECTED_VALUE_TYPE);
      return readStructure(value as Record<string, unknown>, shape, depth);
    }
    default:
      return readScalar(value, shape.kind);
  }
}

function readStructure(value: Record<string, unknown>, shape: Shape & { kind: 'Structure' }, depth: number): Record<string, unknown> {
  const structure: Record<string, unknown> = {};
  for (const member in value) {
    const memberValue = value[member];
    const memberShape = shape.members.get(member);
    if (memberShape === undefined || memberValue === null) continue;
    structure[member] = readValue(memberValue, memberShape, 'field', depth + 1);
  }
  return structure;
}

/**
 * The operation's input from the parsed body, type-checked and with binaries
 * decoded; throws DynamoDbError('SerializationException', DynamoDB's text).
 */
export function readRequest(operation: OperationName, body: unknown): Record<string, unknown> {
  const shape = shapeOf(OPERATION_INPUTS[operation]);
  if (body === null) return {};
  return readValue(body, shape, 'value', 0) as Record<string, unknown>;
}
