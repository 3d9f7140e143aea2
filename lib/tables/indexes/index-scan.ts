/**
 * A Scan of a secondary index, purely: what differs from a table scan
 * (dyn:actions/scan.js; reference §5, §10). The segments split the index's
 * entry space by token as they split a table's; ExclusiveStartKey and
 * LastEvaluatedKey hold the table's and the index's key attributes, and the
 * scan resumes after the entry they name.
 */
import type { AttributeMap } from '../attribute-value.js';
import { DynamoDbError, validationError } from '../dynamodb-error.js';
import type { ResolvedPath } from '../expression/ast.js';
import type { Select } from '../read-page.js';
import type { TableRecord } from '../table-catalog.js';
import { extractKey, type IndexSchema } from '../table-schema.js';
import { encodeIndexKey } from './index-key.js';
import { keyNamesOf, needsBaseItem, type IndexRead } from './index-query.js';

/** The entry key ExclusiveStartKey names: the scan resumes just after it. */
export function indexStartAfter(record: TableRecord, index: IndexSchema, startKey: AttributeMap): Uint8Array {
  const table = record.schema;
  const names = keyNamesOf(table, index);
  if (Object.keys(startKey).length !== names.length || names.some((name) => !Object.hasOwn(startKey, name))) throw validationError('The provided starting key is invalid');
  const pick = (keys: Array<{ name: string } | undefined>): AttributeMap => {
    const picked: AttributeMap = {};
    for (const key of keys) if (key !== undefined) picked[key.name] = startKey[key.name]!;
    return picked;
  };
  try {
    const indexKey = extractKey(pick([index.partitionKey, index.sortKey]), index);
    const baseKey = extractKey(pick([table.partitionKey, table.sortKey]), table);
    return encodeIndexKey(record.indexes!.spaces[index.indexName]!.entrySpace, indexKey, baseKey).key;
  } catch (error) {
    if (error instanceof DynamoDbError) throw validationError(`The provided starting key is invalid: ${error.message}`);
    throw error;
  }
}

export function indexScanOf(record: TableRecord, index: IndexSchema, select: Select, projection: readonly ResolvedPath[] | undefined): { keyNames: string[]; index: IndexRead } {
  const table = record.schema;
  const global = table.globalSecondaryIndexes.includes(index);
  if (global && select === 'ALL_ATTRIBUTES' && index.projectionType !== 'ALL') {
    throw validationError(`One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${index.indexName} because its projection type is not ALL`);
  }
  const space = record.indexes!.spaces[index.indexName]!.entrySpace;
  return { keyNames: keyNamesOf(table, index), index: { name: index.indexName, global, space, fetchBase: !global && needsBaseItem(table, index, select, projection), table } };
}
