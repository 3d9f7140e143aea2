/**
 * A Query of a secondary index as a pure core: the part of query.ts's plan
 * that differs from a table query (dyn:actions/query.js; reference §4, §10):
 *
 * - ExclusiveStartKey holds the table's key attributes and the index's
 *   ("The provided starting key is invalid" when any is missing or extra),
 *   and so does LastEvaluatedKey (reference §10 "Pagination").
 * - The range is the index partition's entries (index-key.ts: index key ‖
 *   base-key digest), narrowed by the sort-key condition and the start key;
 *   entries with equal index sort values come in digest order, and a page
 *   resumes after the start key's (sort value, digest).
 * - Select ALL_ATTRIBUTES on a GSI whose projection is not ALL is refused
 *   ("One or more parameter values were invalid: Select type ALL_ATTRIBUTES
 *   is not supported for global secondary index I because its projection
 *   type is not ALL"); on an LSI it, or a projection naming attributes the
 *   index does not keep, fetches the item from the table (DG: LSI
 *   "attribute projections").
 */
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../attribute-value.js';
import { DynamoDbError, validationError } from '../dynamodb-error.js';
import type { ResolvedPath } from '../expression/ast.js';
import type { KeyCondition } from '../expression/key-condition.js';
import { compareKeyValues, encodePartitionPart, isTruncatedSortKey, SORT_PART_BYTES_MAX, type KeyValue } from '../key-encoding.js';
import { maxBytes, minBytes, sortConditionHolds, sortValueOf, valuesEqual, type QueryPlan } from '../query.js';
import type { Select } from '../read-page.js';
import type { TableRecord } from '../table-catalog.js';
import { extractKey, type IndexSchema, type PrimaryKeySchema, type TableSchema } from '../table-schema.js';
import { baseKeyOf, projectedAttributes } from './index-entry.js';
import { BASE_DIGEST_BYTES, baseKeyDigest, indexConditionRange, indexValueRange } from './index-key.js';

export interface IndexRead {
  readonly name: string;
  readonly global: boolean;
  /** The index's entry space. */
  readonly space: number;
  /** Each entry's item is read from the table (an LSI asked for attributes it does not project). */
  readonly fetchBase: boolean;
  readonly table: PrimaryKeySchema;
}

type IndexRangeRead = Pick<QueryPlan, 'range' | 'accepts' | 'compareInGroup' | 'reverse' | 'schema' | 'partitionPrefixBytes' | 'tieGroupOf'>;

export function keyNamesOf(table: PrimaryKeySchema, index: PrimaryKeySchema): string[] {
  const names: string[] = [];
  for (const key of [table.partitionKey, table.sortKey, index.partitionKey, index.sortKey]) {
    if (key !== undefined && !names.includes(key.name)) names.push(key.name);
  }
  return names;
}

/** ExclusiveStartKey of an index query (dyn:actions/query.js, in its order). */
export function checkIndexStartKey(startKey: AttributeMap, table: TableSchema, index: IndexSchema, keyCondition: KeyCondition): void {
  const names = keyNamesOf(table, index);
  if (Object.keys(startKey).length !== names.length || names.some((name) => !Object.hasOwn(startKey, name))) throw validationError('The provided starting key is invalid');
  const indexPart: AttributeMap = {};
  for (const key of [index.partitionKey, index.sortKey]) if (key !== undefined) indexPart[key.name] = startKey[key.name]!;
  extractKey(indexPart, index);
  const tablePart: AttributeMap = {};
  for (const key of [table.partitionKey, table.sortKey]) if (key !== undefined) tablePart[key.name] = startKey[key.name]!;
  try {
    extractKey(tablePart, table);
  } catch (error) {
    if (error instanceof DynamoDbError) throw validationError(`The provided starting key is invalid: ${error.message}`);
    throw error;
  }
  const samePartition = valuesEqual(startKey[index.partitionKey.name], keyCondition.partitionKey.value);
  if (keyCondition.sortKey === undefined || index.sortKey === undefined) {
    if (!samePartition) throw validationError('The provided starting key is outside query boundaries based on provided conditions');
    return;
  }
  if (!sortConditionHolds(keyCondition.sortKey, startKey[index.sortKey.name] as KeyValue)) throw validationError('The provided starting key does not match the range key predicate');
  if (!samePartition) throw validationError('The query can return at most one row and cannot be restarted');
}

/** Whether an LSI read must fetch the table's item: it asks for attributes the index does not keep. */
export function needsBaseItem(table: PrimaryKeySchema, index: IndexSchema, select: Select, projection: readonly ResolvedPath[] | undefined): boolean {
  const kept = projectedAttributes(table, index);
  if (kept === 'ALL') return false;
  if (select === 'ALL_ATTRIBUTES') return true;
  return select === 'SPECIFIC_ATTRIBUTES' && projection !== undefined && projection.some((path) => !kept.has(String(path[0])));
}

export function indexReadOf(
  record: TableRecord,
  index: IndexSchema,
  select: Select,
  projection: readonly ResolvedPath[] | undefined,
  keyCondition: KeyCondition,
  startKey: AttributeMap | undefined,
  reverse: boolean,
): { keyNames: string[]; index: IndexRead; read: IndexRangeRead } {
  const table = record.schema;
  const global = table.globalSecondaryIndexes.includes(index);
  if (global && select === 'ALL_ATTRIBUTES' && index.projectionType !== 'ALL') {
    throw validationError(`One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${index.indexName} because its projection type is not ALL`);
  }
  const space = record.indexes!.spaces[index.indexName]!.entrySpace;
  return {
    keyNames: keyNamesOf(table, index),
    index: { name: index.indexName, global, space, fetchBase: !global && needsBaseItem(table, index, select, projection), table },
    read: indexRangeRead(space, table, index, keyCondition, startKey, reverse),
  };
}

/** Position of an entry in the index partition: (sort value, base-key digest). */
function compareEntries(table: PrimaryKeySchema, index: PrimaryKeySchema, a: AttributeMap, b: AttributeMap): number {
  const sortA = sortValueOf(a, index);
  const sortB = sortValueOf(b, index);
  const bySort = sortA === undefined || sortB === undefined ? 0 : compareKeyValues(sortA, sortB);
  return bySort !== 0 ? bySort : Math.sign(Buffer.compare(baseKeyDigest(baseKeyOf(table, a)), baseKeyDigest(baseKeyOf(table, b))));
}

function indexRangeRead(space: number, table: PrimaryKeySchema, index: PrimaryKeySchema, keyCondition: KeyCondition, startKey: AttributeMap | undefined, reverse: boolean): IndexRangeRead {
  const partition = encodePartitionPart(space, keyCondition.partitionKey.value as KeyValue);
  const prefix = partition.partitionPrefix;
  let range = indexConditionRange(prefix, keyCondition.sortKey);
  const startSort = startKey === undefined ? undefined : sortValueOf(startKey, index);
  if (startKey !== undefined) {
    // Resume at the start entry's sort value (its whole tie group); `accepts` drops what came before.
    const at = startSort === undefined ? { start: prefix, end: range.end } : indexValueRange(prefix, startSort);
    range = reverse ? { start: range.start, end: minBytes(range.end, at.end) } : { start: maxBytes(range.start, at.start), end: range.end };
  }
  const direction = reverse ? -1 : 1;
  const partitionValue = keyCondition.partitionKey.value;
  const accepts = (item: AttributeMap): boolean => {
    if (!valuesEqual(item[index.partitionKey.name], partitionValue)) return false;
    if (!sortConditionHolds(keyCondition.sortKey, sortValueOf(item, index))) return false;
    return startKey === undefined || compareEntries(table, index, item, startKey) * direction > 0;
  };
  const sortType = index.sortKey?.type;
  const tieGroupOf = (key: Uint8Array): string | undefined => {
    const itemKey = key.subarray(0, key.byteLength - BASE_DIGEST_BYTES);
    if (sortType === undefined || itemKey.byteLength - prefix.byteLength < SORT_PART_BYTES_MAX - 1 || !isTruncatedSortKey(itemKey, index.partitionKey.type, sortType)) return undefined;
    return Buffer.from(itemKey.subarray(0, itemKey.byteLength - BASE_DIGEST_BYTES)).toString('latin1');
  };
  return {
    range,
    accepts,
    compareInGroup: (a, b) => compareEntries(table, index, a, b) * direction,
    reverse,
    schema: index,
    partitionPrefixBytes: prefix.byteLength,
    tieGroupOf,
  };
}
