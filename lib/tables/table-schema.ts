/**
 * A table's schema: CreateTable's validation, exactly as DynamoDB checks it,
 * and the primary key of a Key or an Item checked against the schema.
 *
 * The check order and messages are those of dynalite's
 * validations/createTable.js and validations/index.js (`checkValidations`),
 * whose test/createTable.js is recorded against DynamoDB:
 * 1. TableName present, then 3..255 characters (each a message of its own);
 * 2. Coral's constraint checks, collected in field order (AttributeDefinitions,
 *    TableName, BillingMode, ProvisionedThroughput, KeySchema,
 *    LocalSecondaryIndexes, GlobalSecondaryIndexes), at most 10, as
 *    "N validation error(s) detected: Value ... at 'path' failed to satisfy
 *    constraint: ...; ...";
 * 3. billing mode and throughput, the table key schema, then each LSI, then
 *    each GSI, then the index counts.
 * Where the two differ, the live DynamoDB answers recorded by a conformance
 * suite (see the report) win: an empty key value in a Key has the same
 * "are not valid" message as in an Item, and a BatchWriteItem PutRequest
 * whose key has the wrong type is "The provided key element does not match
 * the schema", not a type mismatch.
 */
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import { typeOf } from './attribute-value.js';
import { validationError } from './dynamodb-error.js';
import type { KeyAttributeType, KeyValue } from './key-encoding.js';

export type KeyType = 'HASH' | 'RANGE';
export type ProjectionType = 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

export interface AttributeDefinition {
  AttributeName: string;
  AttributeType: KeyAttributeType;
}
export interface KeySchemaElement {
  AttributeName: string;
  KeyType: KeyType;
}
export interface Projection {
  ProjectionType?: ProjectionType;
  NonKeyAttributes?: string[];
}
export interface ProvisionedThroughput {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
}
export interface LocalSecondaryIndex {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: Projection;
}
export interface GlobalSecondaryIndex extends LocalSecondaryIndex {
  ProvisionedThroughput?: ProvisionedThroughput;
}
export interface CreateTableInput {
  TableName: string;
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  BillingMode?: BillingMode;
  ProvisionedThroughput?: ProvisionedThroughput;
  LocalSecondaryIndexes?: LocalSecondaryIndex[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
}

export interface KeyAttribute {
  name: string;
  type: KeyAttributeType;
}

/** The primary key of a table or an index. */
export interface PrimaryKeySchema {
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
}

export interface IndexSchema extends PrimaryKeySchema {
  indexName: string;
  projectionType: ProjectionType;
  nonKeyAttributes: string[];
}

export interface TableSchema extends PrimaryKeySchema {
  tableName: string;
  billingMode: BillingMode;
  /** As given; absent for PAY_PER_REQUEST. */
  provisionedThroughput?: ProvisionedThroughput;
  localSecondaryIndexes: IndexSchema[];
  globalSecondaryIndexes: IndexSchema[];
}

export const TABLE_NAME_LENGTH_MIN = 3;
export const TABLE_NAME_LENGTH_MAX = 255;
export const LOCAL_SECONDARY_INDEXES_MAX = 5;
export const GLOBAL_SECONDARY_INDEXES_MAX = 20;
/** Non-key attributes projected over all of a table's indexes (DG:ServiceQuotas). */
export const PROJECTED_ATTRIBUTES_MAX = 100;
/** Largest ReadCapacityUnits / WriteCapacityUnits CreateTable accepts (dynalite validations/createTable.js). */
export const CAPACITY_UNITS_MAX = 1_000_000_000_000;
export const PARTITION_KEY_BYTES_MAX = 2048;
export const SORT_KEY_BYTES_MAX = 1024;
const CONSTRAINT_ERRORS_MAX = 10;
const NAME_PATTERN = '[a-zA-Z0-9_.-]+';
const NAME_REGEX = /^[a-zA-Z0-9_.-]+$/;

const PREFIX = 'One or more parameter values were invalid: ';

// ---------------------------------------------------------------------------
// CreateTable

/** Validates a CreateTable request; returns the table's schema or throws DynamoDB's ValidationException. */
export function validateCreateTable(input: unknown): TableSchema {
  const data = (input ?? {}) as Record<string, unknown>;
  checkTableName(data['TableName']);
  checkConstraints(data);
  const request = data as unknown as CreateTableInput;
  // Index names are unique over LSIs and GSIs together (dynalite shares one set).
  const indexNames = new Set<string>();
  const message =
    checkBillingMode(request) ??
    checkTableKeySchema(request) ??
    checkLocalIndexes(request, indexNames) ??
    checkGlobalIndexes(request, indexNames) ??
    checkDefinitionsUsed(request);
  if (message !== undefined) throw validationError(message);
  return tableSchemaOf(request);
}

function checkTableName(name: unknown): void {
  if (name === undefined || name === null) throw validationError("The parameter 'TableName' is required but was not present in the request");
  if (typeof name === 'string' && (name.length < TABLE_NAME_LENGTH_MIN || name.length > TABLE_NAME_LENGTH_MAX)) {
    throw validationError(`TableName must be at least ${TABLE_NAME_LENGTH_MIN} characters long and at most ${TABLE_NAME_LENGTH_MAX} characters long`);
  }
}

/** Coral's per-field constraint errors (dynalite validations/index.js `checkValidations`, `validate`). */
class ConstraintErrors {
  readonly errors: string[] = [];

  check(ok: boolean, value: unknown, path: string, constraint: string): void {
    if (ok || this.errors.length >= CONSTRAINT_ERRORS_MAX) return;
    const shown = value === null || value === undefined ? 'null' : `'${valueString(value)}'`;
    this.errors.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  notNull(value: unknown, path: string): boolean {
    this.check(value !== null && value !== undefined, value, path, 'Member must not be null');
    return value !== null && value !== undefined;
  }

  throwIfAny(): void {
    const count = this.errors.length;
    if (count > 0) throw validationError(`${count} validation error${count > 1 ? 's' : ''} detected: ${this.errors.join('; ')}`);
  }
}

function valueString(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(valueString).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function checkConstraints(data: Record<string, unknown>): void {
  const errors = new ConstraintErrors();
  const definitions = data['AttributeDefinitions'];
  if (errors.notNull(definitions, 'attributeDefinitions') && Array.isArray(definitions)) {
    definitions.forEach((definition: Record<string, unknown> | null, i) => {
      const path = `attributeDefinitions.${i + 1}.member`;
      errors.notNull(definition?.['AttributeName'], `${path}.attributeName`);
      const type = definition?.['AttributeType'];
      if (errors.notNull(type, `${path}.attributeType`)) errors.check(['B', 'N', 'S'].includes(type as string), type, `${path}.attributeType`, 'Member must satisfy enum value set: [B, N, S]');
    });
  }
  const tableName = data['TableName'];
  errors.check(NAME_REGEX.test(String(tableName)), tableName, 'tableName', `Member must satisfy regular expression pattern: ${NAME_PATTERN}`);
  const billingMode = data['BillingMode'];
  if (billingMode !== undefined && billingMode !== null) {
    errors.check(billingMode === 'PROVISIONED' || billingMode === 'PAY_PER_REQUEST', billingMode, 'billingMode', 'Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]');
  }
  checkThroughputConstraints(errors, data['ProvisionedThroughput'], 'provisionedThroughput');
  const keySchema = data['KeySchema'];
  if (errors.notNull(keySchema, 'keySchema')) checkKeySchemaConstraints(errors, keySchema, 'keySchema', true);
  checkIndexConstraints(errors, data['LocalSecondaryIndexes'], 'localSecondaryIndexes', false);
  checkIndexConstraints(errors, data['GlobalSecondaryIndexes'], 'globalSecondaryIndexes', true);
  errors.throwIfAny();
}

function checkThroughputConstraints(errors: ConstraintErrors, throughput: unknown, path: string): void {
  if (throughput === undefined || throughput === null) return;
  const units = throughput as Record<string, unknown>;
  // Write before Read: DynamoDB's field order (dynalite test/createTable.js).
  for (const [field, name] of [['WriteCapacityUnits', 'writeCapacityUnits'], ['ReadCapacityUnits', 'readCapacityUnits']] as const) {
    const value = units[field];
    if (errors.notNull(value, `${path}.${name}`)) errors.check((value as number) >= 1, value, `${path}.${name}`, 'Member must have value greater than or equal to 1');
  }
}

function checkKeySchemaConstraints(errors: ConstraintErrors, keySchema: unknown, path: string, enumKeyType: boolean): void {
  if (!Array.isArray(keySchema)) return;
  errors.check(keySchema.length >= 1, keySchema, path, 'Member must have length greater than or equal to 1');
  errors.check(keySchema.length <= 2, keySchema, path, 'Member must have length less than or equal to 2');
  keySchema.forEach((element: Record<string, unknown> | null, i) => {
    const memberPath = `${path}.${i + 1}.member`;
    errors.notNull(element?.['AttributeName'], `${memberPath}.attributeName`);
    const keyType = element?.['KeyType'];
    // Only the table's KeySchema checks the enum here; an index's is checked later as "Invalid KeySchema".
    if (errors.notNull(keyType, `${memberPath}.keyType`) && enumKeyType) {
      errors.check(keyType === 'HASH' || keyType === 'RANGE', keyType, `${memberPath}.keyType`, 'Member must satisfy enum value set: [HASH, RANGE]');
    }
  });
}

function checkIndexConstraints(errors: ConstraintErrors, indexes: unknown, path: string, global: boolean): void {
  if (!Array.isArray(indexes)) return;
  indexes.forEach((index: Record<string, unknown> | null, i) => {
    const memberPath = `${path}.${i + 1}.member`;
    const name = index?.['IndexName'];
    if (errors.notNull(name, `${memberPath}.indexName`)) {
      const text = String(name);
      errors.check(NAME_REGEX.test(text), name, `${memberPath}.indexName`, `Member must satisfy regular expression pattern: ${NAME_PATTERN}`);
      errors.check(text.length >= 3, name, `${memberPath}.indexName`, 'Member must have length greater than or equal to 3');
      errors.check(text.length <= 255, name, `${memberPath}.indexName`, 'Member must have length less than or equal to 255');
    }
    const keySchema = index?.['KeySchema'];
    if (errors.notNull(keySchema, `${memberPath}.keySchema`)) checkKeySchemaConstraints(errors, keySchema, `${memberPath}.keySchema`, false);
    const projection = index?.['Projection'] as Record<string, unknown> | undefined;
    if (errors.notNull(projection, `${memberPath}.projection`)) {
      const type = projection!['ProjectionType'];
      if (type !== undefined && type !== null) {
        errors.check(['ALL', 'INCLUDE', 'KEYS_ONLY'].includes(type as string), type, `${memberPath}.projection.projectionType`, 'Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]');
      }
      const nonKey = projection!['NonKeyAttributes'];
      if (Array.isArray(nonKey)) errors.check(nonKey.length >= 1, nonKey, `${memberPath}.projection.nonKeyAttributes`, 'Member must have length greater than or equal to 1');
    }
    if (global) checkThroughputConstraints(errors, index?.['ProvisionedThroughput'], `${memberPath}.provisionedThroughput`);
  });
}

function checkBillingMode(request: CreateTableInput): string | undefined {
  const throughput = request.ProvisionedThroughput;
  if (request.BillingMode === 'PAY_PER_REQUEST') {
    if (throughput !== undefined && throughput !== null) {
      return `${PREFIX}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST`;
    }
    return undefined;
  }
  if (throughput === undefined || throughput === null || !throughput.ReadCapacityUnits || !throughput.WriteCapacityUnits) {
    return `${PREFIX}ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED`;
  }
  if (throughput.ReadCapacityUnits > CAPACITY_UNITS_MAX) return `Given value ${throughput.ReadCapacityUnits} for ReadCapacityUnits is out of bounds`;
  if (throughput.WriteCapacityUnits > CAPACITY_UNITS_MAX) return `Given value ${throughput.WriteCapacityUnits} for WriteCapacityUnits is out of bounds`;
  return undefined;
}

function checkTableKeySchema(request: CreateTableInput): string | undefined {
  const definitions = request.AttributeDefinitions.map((definition) => definition.AttributeName);
  // Live DynamoDB text from a message catalogue (see the report); its place in the order is ours.
  const duplicated = definitions.find((name, i) => definitions.indexOf(name) !== i);
  if (duplicated !== undefined) return `Attribute Name is duplicated: ${duplicated}`;
  const keys = request.KeySchema.map((element) => element.AttributeName);
  if (keys.length > definitions.length) return 'Invalid KeySchema: Some index key attribute have no definition';
  if (keys.some((key) => !definitions.includes(key))) return undefinedKeysMessage(keys, definitions);
  return checkKeyElements(request.KeySchema) ?? (noIndexes(request) && keys.length !== definitions.length
    ? `${PREFIX}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions`
    : undefined);
}

function noIndexes(request: CreateTableInput): boolean {
  return (request.LocalSecondaryIndexes ?? null) === null && (request.GlobalSecondaryIndexes ?? null) === null;
}

function undefinedKeysMessage(keys: string[], definitions: string[]): string {
  return `${PREFIX}Some index key attributes are not defined in AttributeDefinitions. Keys: [${keys.join(', ')}], AttributeDefinitions: [${definitions.join(', ')}]`;
}

/** Same name, first not HASH, second not RANGE: the checks tables and indexes share. */
function checkKeyElements(keySchema: KeySchemaElement[]): string | undefined {
  if (keySchema[1] !== undefined && keySchema[0]!.AttributeName === keySchema[1].AttributeName) {
    return 'Both the Hash Key and the Range Key element in the KeySchema have the same name';
  }
  if (keySchema[0]!.KeyType !== 'HASH') return 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type';
  if (keySchema[1] !== undefined && keySchema[1].KeyType !== 'RANGE') return 'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type';
  return undefined;
}

function checkIndexCommon(request: CreateTableInput, index: LocalSecondaryIndex, seen: Set<string>, local: boolean): string | undefined {
  const definitions = request.AttributeDefinitions.map((definition) => definition.AttributeName);
  const keys = index.KeySchema.map((element) => element.AttributeName);
  if (keys.some((key) => !definitions.includes(key))) return undefinedKeysMessage(keys, definitions);
  const elements = checkKeyElements(index.KeySchema);
  if (elements !== undefined) return elements;
  if (local) {
    if (index.KeySchema.length !== 2) return `${PREFIX}Index KeySchema does not have a range key for index: ${index.IndexName}`;
    const indexHash = index.KeySchema[0]!.AttributeName;
    const tableHash = request.KeySchema[0]!.AttributeName;
    if (indexHash !== tableHash) {
      return `${PREFIX}Index KeySchema does not have the same leading hash key as table KeySchema for index: ${index.IndexName}. index hash key: ${indexHash}, table hash key: ${tableHash}`;
    }
  }
  const projectionType = index.Projection.ProjectionType;
  if (projectionType === undefined || projectionType === null) return `${PREFIX}Unknown ProjectionType: null`;
  const nonKeyAttributes = index.Projection.NonKeyAttributes ?? null;
  if (nonKeyAttributes !== null && projectionType !== 'INCLUDE') return `${PREFIX}ProjectionType is ${projectionType}, but NonKeyAttributes is specified`;
  // The next three are live DynamoDB texts from a message catalogue (see the report); their place in the order is ours.
  if (nonKeyAttributes === null && projectionType === 'INCLUDE') return `${PREFIX}ProjectionType is INCLUDE, but NonKeyAttributes is not specified`;
  const duplicate = nonKeyAttributes?.find((name, i) => nonKeyAttributes.indexOf(name) !== i);
  if (duplicate !== undefined) return `${PREFIX}Duplicate element in NonKeyAttributes: ${duplicate}`;
  if (!local) {
    const throughput = (index as GlobalSecondaryIndex).ProvisionedThroughput;
    if (request.BillingMode === 'PAY_PER_REQUEST' && throughput) {
      return `${PREFIX}ProvisionedThroughput should not be specified for index: ${index.IndexName} when BillingMode is PAY_PER_REQUEST`;
    }
    if (request.BillingMode !== 'PAY_PER_REQUEST' && !throughput) return `${PREFIX}ProvisionedThroughput is not specified for index: ${index.IndexName}`;
  }
  if (seen.has(index.IndexName)) return `${PREFIX}Duplicate index name: ${index.IndexName}`;
  seen.add(index.IndexName);
  return undefined;
}

function checkLocalIndexes(request: CreateTableInput, indexNames: Set<string>): string | undefined {
  const indexes = request.LocalSecondaryIndexes;
  if (indexes === undefined || indexes === null) return undefined;
  if (indexes.length === 0) return `${PREFIX}List of LocalSecondaryIndexes is empty`;
  if (request.KeySchema.length !== 2) return `${PREFIX}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex`;
  for (const index of indexes) {
    const message = checkIndexCommon(request, index, indexNames, true);
    if (message !== undefined) return message;
  }
  if (indexes.length > LOCAL_SECONDARY_INDEXES_MAX) return `${PREFIX}Number of LocalSecondaryIndexes exceeds per-table limit of ${LOCAL_SECONDARY_INDEXES_MAX}`;
  return undefined;
}

function checkGlobalIndexes(request: CreateTableInput, indexNames: Set<string>): string | undefined {
  const indexes = request.GlobalSecondaryIndexes;
  if (indexes === undefined || indexes === null) return undefined;
  if (indexes.length === 0) return `${PREFIX}List of GlobalSecondaryIndexes is empty`;
  for (const index of indexes) {
    const message = checkIndexCommon(request, index, indexNames, false);
    if (message !== undefined) return message;
  }
  if (indexes.length > GLOBAL_SECONDARY_INDEXES_MAX) return `${PREFIX}GlobalSecondaryIndex count exceeds the per-table limit of ${GLOBAL_SECONDARY_INDEXES_MAX}`;
  return undefined;
}

/**
 * With indexes, every definition must be a key of the table or an index
 * (live message quoted in aws-cloudformation/cfn-lint#1037 and moto's
 * tests); without indexes the count check above covers it. Then the
 * projected non-key attributes over all indexes.
 */
function checkDefinitionsUsed(request: CreateTableInput): string | undefined {
  if (noIndexes(request)) return undefined;
  const used: string[] = [];
  const indexes: LocalSecondaryIndex[] = [...(request.LocalSecondaryIndexes ?? []), ...(request.GlobalSecondaryIndexes ?? [])];
  for (const element of [...request.KeySchema, ...indexes.flatMap((index) => index.KeySchema)]) {
    if (!used.includes(element.AttributeName)) used.push(element.AttributeName);
  }
  const definitions = request.AttributeDefinitions.map((definition) => definition.AttributeName);
  if (definitions.some((name) => !used.includes(name))) {
    return `${PREFIX}Some AttributeDefinitions are not used. AttributeDefinitions: [${definitions.join(', ')}], keys used: [${used.join(', ')}]`;
  }
  const projected = new Set(indexes.flatMap((index) => index.Projection.NonKeyAttributes ?? []));
  if (projected.size > PROJECTED_ATTRIBUTES_MAX) return `${PREFIX}Number of projected attributes in all indexes exceeds limit of ${PROJECTED_ATTRIBUTES_MAX}`;
  return undefined;
}

function tableSchemaOf(request: CreateTableInput): TableSchema {
  const types = new Map(request.AttributeDefinitions.map((definition) => [definition.AttributeName, definition.AttributeType]));
  const keyOf = (keySchema: KeySchemaElement[]): PrimaryKeySchema => {
    const [hash, range] = keySchema;
    const partitionKey = { name: hash!.AttributeName, type: types.get(hash!.AttributeName)! };
    return range === undefined ? { partitionKey } : { partitionKey, sortKey: { name: range.AttributeName, type: types.get(range.AttributeName)! } };
  };
  const indexOf = (index: LocalSecondaryIndex): IndexSchema => ({
    indexName: index.IndexName,
    ...keyOf(index.KeySchema),
    projectionType: index.Projection.ProjectionType!,
    nonKeyAttributes: index.Projection.NonKeyAttributes ?? [],
  });
  const billingMode = request.BillingMode ?? 'PROVISIONED';
  const schema: TableSchema = {
    tableName: request.TableName,
    ...keyOf(request.KeySchema),
    billingMode,
    localSecondaryIndexes: (request.LocalSecondaryIndexes ?? []).map(indexOf),
    globalSecondaryIndexes: (request.GlobalSecondaryIndexes ?? []).map(indexOf),
  };
  if (request.ProvisionedThroughput) {
    schema.provisionedThroughput = { ReadCapacityUnits: request.ProvisionedThroughput.ReadCapacityUnits, WriteCapacityUnits: request.ProvisionedThroughput.WriteCapacityUnits };
  }
  return schema;
}

// ---------------------------------------------------------------------------
// Keys against a schema. Values are assumed already validated
// (attribute-validation.ts): these checks are about the schema only.

export interface PrimaryKeyValues {
  partition: KeyValue;
  sort?: KeyValue;
}

const MESSAGE_SCHEMA_MISMATCH = 'The provided key element does not match the schema';

/** How an Item's key of the wrong type is reported: PutItem's "Type mismatch", or BatchWriteItem's schema mismatch. */
export type ItemKeyMismatch = 'typeMismatch' | 'schemaMismatch';

/**
 * The Key parameter (GetItem, UpdateItem, DeleteItem, BatchGetItem,
 * DeleteRequest): exactly the key attributes, each of its type, non-empty
 * and within its size limit (dynalite db/index.js `validateKey`,
 * `validateKeyPiece`, `checkKeySize`).
 */
export function extractKey(key: AttributeMap, schema: PrimaryKeySchema): PrimaryKeyValues {
  const expected = schema.sortKey === undefined ? 1 : 2;
  if (Object.keys(key).length !== expected) throw validationError(MESSAGE_SCHEMA_MISMATCH);
  const partition = keyPiece(key[schema.partitionKey.name], schema.partitionKey, true, () => MESSAGE_SCHEMA_MISMATCH, () => MESSAGE_SCHEMA_MISMATCH);
  if (schema.sortKey === undefined) return { partition };
  const sort = keyPiece(key[schema.sortKey.name], schema.sortKey, false, () => MESSAGE_SCHEMA_MISMATCH, () => MESSAGE_SCHEMA_MISMATCH);
  return { partition, sort };
}

/** An Item's key attributes (PutItem, PutRequest, a put in a transaction); other attributes are the item's own. */
export function extractItemKey(item: AttributeMap, schema: PrimaryKeySchema, mismatch: ItemKeyMismatch = 'typeMismatch'): PrimaryKeyValues {
  const missing = (name: string) => () => `${PREFIX}Missing the key ${name} in the item`;
  const wrongType = (attribute: KeyAttribute) => (actual: AttributeValue) =>
    mismatch === 'schemaMismatch' ? MESSAGE_SCHEMA_MISMATCH : `${PREFIX}Type mismatch for key ${attribute.name} expected: ${attribute.type} actual: ${typeOf(actual)}`;
  const partition = keyPiece(item[schema.partitionKey.name], schema.partitionKey, true, missing(schema.partitionKey.name), wrongType(schema.partitionKey));
  if (schema.sortKey === undefined) return { partition };
  const sort = keyPiece(item[schema.sortKey.name], schema.sortKey, false, missing(schema.sortKey.name), wrongType(schema.sortKey));
  return { partition, sort };
}

/**
 * An item's values for index key attributes must have the index's key
 * types (dynalite db/index.js `validateItem`); an item without them is
 * simply not in the index.
 */
export function checkIndexKeyTypes(item: AttributeMap, schema: TableSchema): void {
  for (const index of [...schema.localSecondaryIndexes, ...schema.globalSecondaryIndexes]) {
    for (const attribute of [index.partitionKey, index.sortKey]) {
      if (attribute === undefined) continue;
      const value = item[attribute.name];
      if (value === undefined) continue;
      const actual = typeOf(value);
      if (actual !== attribute.type) {
        throw validationError(`${PREFIX}Type mismatch for Index Key ${attribute.name} Expected: ${attribute.type} Actual: ${actual} IndexName: ${index.indexName}`);
      }
    }
  }
}

/** UTF-8 bytes of S, raw bytes of B; an N key is never refused for its size (dynalite db/index.js `checkKeySize`). */
export function keyValueBytes(value: KeyValue): number {
  if ('S' in value) return Buffer.byteLength(value.S, 'utf8');
  if ('B' in value) return value.B.byteLength;
  return 0;
}

function keyPiece(
  value: AttributeValue | undefined,
  attribute: KeyAttribute,
  partition: boolean,
  missingMessage: () => string,
  wrongTypeMessage: (actual: AttributeValue) => string,
): KeyValue {
  if (value === undefined) throw validationError(missingMessage());
  if (!(attribute.type in value)) throw validationError(wrongTypeMessage(value));
  const keyValue = value as KeyValue;
  if (('S' in keyValue && keyValue.S.length === 0) || ('B' in keyValue && keyValue.B.byteLength === 0)) {
    const kind = 'S' in keyValue ? 'string' : 'binary';
    throw validationError(`One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${kind} value. Key: ${attribute.name}`);
  }
  const bytes = keyValueBytes(keyValue);
  if (partition && bytes > PARTITION_KEY_BYTES_MAX) {
    // "limit of2048" (no space) is DynamoDB's text.
    throw validationError(`${PREFIX}Size of hashkey has exceeded the maximum size limit of${PARTITION_KEY_BYTES_MAX} bytes`);
  }
  if (!partition && bytes > SORT_KEY_BYTES_MAX) {
    throw validationError(`${PREFIX}Aggregated size of all range keys has exceeded the size limit of ${SORT_KEY_BYTES_MAX} bytes`);
  }
  return keyValue;
}
