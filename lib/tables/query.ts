/**
 * Query as a pure core: `prepareQuery` validates the request in DynamoDB's
 * order and returns the plan of its one range read within the partition;
 * read-page.ts assembles the page from what the range returns.
 *
 * Order (dyn:validations/query.js `custom`, dyn:actions/query.js; reference
 * §4, §17): Coral's constraints; the expression/legacy mixing; QueryFilter's
 * conditions; AttributesToGet duplicates; ExclusiveStartKey's values ("The
 * provided starting key is invalid: <message>"); "Either the KeyConditions
 * or KeyConditionExpression parameter must be specified in the request.";
 * the expressions; then the table, the index, the start key's shape, the key
 * condition against the key schema, the start key against the condition,
 * the filter's key attributes, and Select's rules.
 *
 * The read: the partition's key prefix, narrowed by the sort-key condition
 * to the bounds key-encoding.ts gives (whole tie groups), forward or
 * reversed; every item's full sort value is then compared with the
 * condition and with ExclusiveStartKey, so truncated keys never leak.
 */
import { Buffer } from 'node:buffer';
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import { validateAttributeMap, validateAttributeValue } from './attribute-validation.js';
import { DynamoDbError, validationError } from './dynamodb-error.js';
import { evaluateCondition } from './expression/condition-evaluator.js';
import { conditionAttributeNames } from './expression/expressions.js';
import { keyConditionFor, type KeyCondition, type SortKeyCondition } from './expression/key-condition.js';
import {
  checkExpressionParameters,
  checkLegacyConditions,
  conditionFromFilter,
  keyConditionFromKeyConditions,
  type ConditionalOperator,
  type LegacyCondition,
} from './expression/legacy-parameters.js';
import {
  capacityMode,
  checkAttributesToGet,
  requestExpressions,
  requestProjection,
  validatedExpressionValues,
  type BoundCondition,
  type Request,
} from './item-request.js';
import { compareKeyValues, encodeKeyValue, encodePartitionPart, prefixEnd, sortPrefixRange, sortValueRange, type KeyRange, type KeyValue } from './key-encoding.js';
import { PAGE_BYTES_MAX, selectOf, type PageAnswer, type Select } from './read-page.js';
import {
  ATTRIBUTES_TO_GET,
  checkConstraints,
  CONDITIONAL_OPERATOR,
  INDEX_NAME,
  LIMIT,
  RETURN_CONSUMED_CAPACITY,
  SELECT,
  TABLE_NAME,
} from './request-constraints.js';
import type { TableRecord } from './table-catalog.js';
import { extractKey, type IndexSchema, type PrimaryKeySchema, type TableSchema } from './table-schema.js';
import type { TableIndexes } from './indexes/index-catalog.js';
import { checkIndexStartKey, indexReadOf, type IndexRead } from './indexes/index-query.js';

const QUERY_RULES = [LIMIT, RETURN_CONSUMED_CAPACITY, ATTRIBUTES_TO_GET, SELECT, CONDITIONAL_OPERATOR, TABLE_NAME, INDEX_NAME];

export interface QueryPlan {
  readonly answer: PageAnswer;
  readonly limit: number | undefined;
  readonly bytesMax: number;
  readonly reverse: boolean;
  readonly consistent: boolean;
  /** The engine range to read: within one partition, already narrowed to ExclusiveStartKey. */
  readonly range: { start: Uint8Array; end: Uint8Array };
  /** Whether an item read from the range belongs to the page (full-value checks of the key condition and the start key). */
  readonly accepts: (item: AttributeMap) => boolean;
  readonly compareInGroup: (a: AttributeMap, b: AttributeMap) => number;
  readonly schema: PrimaryKeySchema;
  /** Bytes of the partition prefix: a key whose sort part is shorter than a truncated one needs no decoding. */
  readonly partitionPrefixBytes: number;
  /** A query of a secondary index (indexes/index-query.ts): read by the index shell. */
  readonly index?: IndexRead;
  /** The tie group of an entry key, where the default (item keys) does not apply. */
  readonly tieGroupOf?: (key: Uint8Array) => string | undefined;
}

/**
 * The index a Query or Scan names: not in the table → "The table does not
 * have the specified index: I"; a GSI with ConsistentRead → "Consistent reads
 * are not supported on global secondary indexes" (dyn:actions/query.js); a GSI
 * still backfilling → "Cannot read from backfilling global secondary index: I"
 * (DynamoDB's text as quoted by users' reports, found with the search tool).
 */
export function checkIndex(schema: TableSchema, indexName: string | undefined, consistent: boolean, indexes?: TableIndexes): IndexSchema | undefined {
  if (indexName === undefined) return undefined;
  const local = schema.localSecondaryIndexes.find((index) => index.indexName === indexName);
  const global = schema.globalSecondaryIndexes.find((index) => index.indexName === indexName);
  if (local === undefined && global === undefined) throw validationError(`The table does not have the specified index: ${indexName}`);
  if (global !== undefined && consistent) throw validationError('Consistent reads are not supported on global secondary indexes');
  const spaces = indexes?.spaces[indexName];
  if (spaces === undefined) throw new DynamoDbError('ValidationException', `The table does not have the specified index: ${indexName}`);
  if (global !== undefined && spaces.backfilling === true) throw validationError(`Cannot read from backfilling global secondary index: ${indexName}`);
  return local ?? global;
}

export function validatedStartKey(request: Request): AttributeMap | undefined {
  const start = request['ExclusiveStartKey'];
  if (start === undefined || start === null) return undefined;
  return validateAttributeMap(start, { parameter: 'ExclusiveStartKey' });
}

/** QueryFilter / ScanFilter with their AttributeValueList values validated. */
export function legacyFilter(filter: unknown, conditionalOperator: unknown): BoundCondition | undefined {
  if (filter === undefined || filter === null) return undefined;
  const validated: Record<string, LegacyCondition> = {};
  for (const [name, entry] of Object.entries(filter as Record<string, LegacyCondition>)) {
    validated[name] = {
      ComparisonOperator: entry.ComparisonOperator,
      AttributeValueList: entry.AttributeValueList?.map((value) => validateAttributeValue(value, { parameter: 'AttributeValueList' })),
    };
  }
  const translated = conditionFromFilter(validated, conditionalOperator as ConditionalOperator | undefined);
  return translated.condition === undefined ? undefined : { condition: translated.condition, attributes: translated.attributes };
}

export function sortValueOf(item: AttributeMap, schema: PrimaryKeySchema): KeyValue | undefined {
  return schema.sortKey === undefined ? undefined : (item[schema.sortKey.name] as KeyValue | undefined);
}

function bytesOf(value: { S: string } | { B: Uint8Array }): Buffer {
  return 'S' in value ? Buffer.from(value.S, 'utf8') : Buffer.from(value.B);
}

/** The sort-key condition on a full value (DynamoDB's order: key-encoding.ts `compareKeyValues`). */
export function sortConditionHolds(condition: SortKeyCondition | undefined, value: KeyValue | undefined): boolean {
  return sortConditionTest(condition)(value);
}

/**
 * `sortConditionHolds` for one condition and many values: the condition's
 * operands are encoded once, not once per item a Query reads.
 */
function sortConditionTest(condition: SortKeyCondition | undefined): (value: KeyValue | undefined) => boolean {
  if (condition === undefined) return () => true;
  const [first, second] = condition.values as KeyValue[];
  if (condition.operator === 'BEGINS_WITH') {
    const prefix = 'N' in first! ? undefined : bytesOf(first as { S: string } | { B: Uint8Array });
    return (value) => {
      if (value === undefined || prefix === undefined || 'N' in value) return false;
      const bytes = bytesOf(value);
      return bytes.length >= prefix.length && bytes.subarray(0, prefix.length).equals(prefix);
    };
  }
  const firstBytes = encodeKeyValue(first!);
  const secondBytes = second === undefined ? undefined : encodeKeyValue(second);
  const operator = condition.operator;
  return (value) => {
    if (value === undefined) return false;
    const bytes = encodeKeyValue(value);
    const order = Buffer.compare(bytes, firstBytes);
    switch (operator) {
      case 'EQ':
        return order === 0;
      case 'LT':
        return order < 0;
      case 'LE':
        return order <= 0;
      case 'GT':
        return order > 0;
      case 'GE':
        return order >= 0;
      case 'BETWEEN':
        return order >= 0 && Buffer.compare(bytes, secondBytes!) <= 0;
    }
  };
}

/** The engine range of the sort-key condition within a partition prefix (whole tie groups; the caller checks full values). */
export function sortConditionRange(partitionPrefix: Uint8Array, condition: SortKeyCondition | undefined): { start: Uint8Array; end: Uint8Array } {
  const partitionEnd = prefixEnd(partitionPrefix)!;
  const whole = { start: partitionPrefix, end: partitionEnd };
  if (condition === undefined) return whole;
  const [first, second] = condition.values as KeyValue[];
  const of = (value: KeyValue): KeyRange => sortValueRange(partitionPrefix, value);
  const end = (range: KeyRange): Uint8Array => range.end ?? partitionEnd;
  switch (condition.operator) {
    case 'EQ':
      return { start: of(first!).start, end: end(of(first!)) };
    case 'LT':
    case 'LE':
      return { start: partitionPrefix, end: end(of(first!)) };
    case 'GT':
    case 'GE':
      return { start: of(first!).start, end: partitionEnd };
    case 'BETWEEN': {
      // A lower bound above the upper bound is refused at validation; equal bounds are one value.
      return { start: of(first!).start, end: end(of(second!)) };
    }
    case 'BEGINS_WITH': {
      const range = sortPrefixRange(partitionPrefix, first as { S: string } | { B: Uint8Array });
      return { start: range.start, end: range.end ?? partitionEnd };
    }
  }
}

export function maxBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.compare(a, b) >= 0 ? a : b;
}

export function minBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Buffer.compare(a, b) <= 0 ? a : b;
}

export function valuesEqual(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return compareKeyValues(a as KeyValue, b as KeyValue) === 0 && Object.keys(a)[0] === Object.keys(b)[0];
}

/**
 * ExclusiveStartKey against the table and the key condition
 * (dyn:actions/query.js, in its order).
 */
function checkStartKey(startKey: AttributeMap, schema: TableSchema, keyCondition: KeyCondition): void {
  const names = [schema.partitionKey.name, ...(schema.sortKey === undefined ? [] : [schema.sortKey.name])];
  if (Object.keys(startKey).length !== names.length || names.some((name) => !Object.hasOwn(startKey, name))) {
    throw validationError('The provided starting key is invalid');
  }
  try {
    extractKey(startKey, schema);
  } catch (error) {
    if (error instanceof DynamoDbError) throw validationError(`The provided starting key is invalid: ${error.message}`);
    throw error;
  }
  const samePartition = valuesEqual(startKey[schema.partitionKey.name], keyCondition.partitionKey.value);
  if (keyCondition.sortKey === undefined) {
    if (!samePartition) throw validationError('The provided starting key is outside query boundaries based on provided conditions');
    return;
  }
  if (!sortConditionHolds(keyCondition.sortKey, startKey[schema.sortKey!.name] as KeyValue)) {
    throw validationError('The provided starting key does not match the range key predicate');
  }
  if (!samePartition) throw validationError('The query can return at most one row and cannot be restarted');
}

export function prepareQuery(request: Request, table: (name: string) => TableRecord): QueryPlan {
  checkConstraints(request, QUERY_RULES);
  checkExpressionParameters('Query', request);
  const queryFilter = legacyFilter(request['QueryFilter'], request['ConditionalOperator']);
  checkAttributesToGet(request['AttributesToGet']);
  const startKey = validatedStartKey(request);
  if ((request['KeyConditions'] ?? null) === null && (request['KeyConditionExpression'] ?? null) === null) {
    throw validationError('Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.');
  }
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));
  const legacyKeyConditions = request['KeyConditionExpression'] === undefined ? validatedKeyConditions(request['KeyConditions']) : undefined;
  if (legacyKeyConditions !== undefined) {
    // Operand counts and types before the table is looked up (dyn:validations/query.js `validateConditions`).
    checkLegacyConditions(legacyKeyConditions);
    const count = Object.keys(legacyKeyConditions).length;
    if (count !== 1 && count !== 2) throw validationError('Conditions can be of length 1 or 2 only');
  }

  const record = table(request['TableName'] as string);
  const schema = record.schema;
  const consistent = request['ConsistentRead'] === true;
  const indexName = request['IndexName'] as string | undefined;
  const index = checkIndex(schema, indexName, consistent, record.indexes);
  // An index query's key condition, start key and filter are about the index's key schema (dyn:actions/query.js).
  const keySchema: PrimaryKeySchema = index ?? schema;
  const keyCondition = legacyKeyConditions !== undefined
    ? keyConditionFromKeyConditions(legacyKeyConditions, keySchema)
    : keyConditionFor(prepared.keyCondition!, prepared.attributes, keySchema);
  if (startKey !== undefined) {
    if (index === undefined) checkStartKey(startKey, schema, keyCondition);
    else checkIndexStartKey(startKey, schema, index, keyCondition);
  }

  const filter = prepared.filter !== undefined ? { condition: prepared.filter, attributes: prepared.attributes } : queryFilter;
  if (filter !== undefined) checkFilterKeys(filter, keySchema, prepared.filter !== undefined ? 'Filter Expression' : 'QueryFilter');
  const projection = requestProjection(request, prepared);
  const select: Select = selectOf(
    request['Select'] as Select | undefined,
    request['ProjectionExpression'] !== undefined ? 'ProjectionExpression' : request['AttributesToGet'] !== undefined ? 'AttributesToGet' : undefined,
    indexName,
    'Query',
  );

  const reverse = request['ScanIndexForward'] === false;
  const indexRead = index === undefined ? undefined : indexReadOf(record, index, select, projection, keyCondition, startKey, reverse);
  return {
    answer: {
      tableName: schema.tableName,
      keyNames: indexRead?.keyNames ?? [schema.partitionKey.name, ...(schema.sortKey === undefined ? [] : [schema.sortKey.name])],
      filter: filter === undefined ? undefined : (item) => evaluateCondition(filter.condition, item, filter.attributes),
      projection,
      select,
      consistent,
      capacityMode: capacityMode(request),
    },
    limit: request['Limit'] as number | undefined,
    bytesMax: PAGE_BYTES_MAX,
    consistent,
    ...(indexRead?.read ?? partitionRead(record.id, schema, keyCondition, startKey, reverse)),
    ...(indexRead === undefined ? {} : { index: indexRead.index }),
  };
}

/** The one range read of a Query and the full-value checks of what it returns. */
function partitionRead(
  tableId: number,
  schema: TableSchema,
  keyCondition: KeyCondition,
  startKey: AttributeMap | undefined,
  reverse: boolean,
): Pick<QueryPlan, 'range' | 'accepts' | 'compareInGroup' | 'reverse' | 'schema' | 'partitionPrefixBytes'> {
  const partition = encodePartitionPart(tableId, keyCondition.partitionKey.value as KeyValue);
  let range = sortConditionRange(partition.partitionPrefix, keyCondition.sortKey);
  const startSort = startKey === undefined ? undefined : sortValueOf(startKey, schema);
  if (startSort !== undefined) {
    // Resume at the start key's whole tie group; `accepts` drops what the previous page returned.
    const at = sortValueRange(partition.partitionPrefix, startSort);
    range = reverse ? { start: range.start, end: minBytes(range.end, at.end ?? range.end) } : { start: maxBytes(range.start, at.start), end: range.end };
  }
  const direction = reverse ? -1 : 1;
  // The constants of the checks encoded once per Query, not once per item read.
  const partitionValue = keyCondition.partitionKey.value as KeyValue;
  const partitionType = Object.keys(partitionValue)[0];
  const partitionBytes = encodeKeyValue(partitionValue);
  const sortHolds = sortConditionTest(keyCondition.sortKey);
  const startBytes = startSort === undefined ? undefined : encodeKeyValue(startSort);
  const accepts = (item: AttributeMap): boolean => {
    const partition = item[schema.partitionKey.name];
    if (partition === undefined || Object.keys(partition)[0] !== partitionType) return false;
    // Equal strings are equal bytes; anything else is compared as DynamoDB compares it, by its encoding.
    const samePartition = 'S' in partition && 'S' in partitionValue && partition.S === partitionValue.S;
    if (!samePartition && !Buffer.from(encodeKeyValue(partition as KeyValue)).equals(partitionBytes)) return false;
    const sort = sortValueOf(item, schema);
    if (!sortHolds(sort)) return false;
    if (startKey === undefined) return true;
    // A table without a sort key has one item per partition: the start key was it.
    if (sort === undefined || startBytes === undefined) return false;
    return Math.sign(Buffer.compare(encodeKeyValue(sort), startBytes)) * direction > 0;
  };
  return {
    range,
    accepts,
    compareInGroup: (a, b) => compareKeyValues(sortValueOf(a, schema)!, sortValueOf(b, schema)!) * direction,
    reverse,
    schema,
    partitionPrefixBytes: partition.partitionPrefix.byteLength,
  };
}

function validatedKeyConditions(conditions: unknown): Record<string, LegacyCondition> | undefined {
  if (conditions === undefined || conditions === null) return undefined;
  const validated: Record<string, LegacyCondition> = {};
  for (const [name, entry] of Object.entries(conditions as Record<string, LegacyCondition>)) {
    validated[name] = {
      ComparisonOperator: entry.ComparisonOperator,
      AttributeValueList: entry.AttributeValueList?.map((value) => validateAttributeValue(value, { parameter: 'AttributeValueList' })),
    };
  }
  return validated;
}

/** "Filter Expression can only contain non-primary key attributes: Primary key attribute: K" (dyn:actions/query.js; reference §4). */
function checkFilterKeys(filter: BoundCondition, schema: PrimaryKeySchema, parameter: 'Filter Expression' | 'QueryFilter'): void {
  const names = conditionAttributeNames(filter.condition, filter.attributes);
  for (const key of [schema.partitionKey, schema.sortKey]) {
    if (key !== undefined && names.includes(key.name)) {
      throw validationError(`${parameter} can only contain non-primary key attributes: Primary key attribute: ${key.name}`);
    }
  }
}
