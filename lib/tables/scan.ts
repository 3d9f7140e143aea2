/**
 * Scan as a pure core: validation in DynamoDB's order, and the split of the
 * table's token space among parallel segments.
 *
 * Order (dyn:validations/scan.js `custom`, dyn:actions/scan.js; reference
 * §5, §17): Coral's constraints; the expression/legacy mixing;
 * AttributesToGet duplicates; ScanFilter's conditions; ExclusiveStartKey's
 * values; Segment and TotalSegments ("The TotalSegments parameter is
 * required but was not present in the request when Segment parameter is
 * present", "The Segment parameter is required but was not present in the
 * request when parameter TotalSegments is present", "The Segment parameter
 * is zero-based and must be less than parameter TotalSegments: Segment: S
 * is not less than TotalSegments: T"); the expressions; then the table, the
 * index, the start key against the schema and against the segment, Select.
 *
 * A regional split (recorded against live DynamoDB by a conformance suite
 * found with the search tool, September 2026): a few regions moved Scan's
 * parameter checks to a new validation framework ("Value at 'Limit'" without
 * the value, no "Segment: S is not less than TotalSegments: T" suffix, the
 * short "The provided starting key is invalid", Select's message in Coral's
 * envelope); 29 of the 33 regions that answered keep the older wording
 * dynalite records, which is what this reproduces.
 *
 * Segments: segment s of T owns the tokens [floor(s·2^32/T),
 * floor((s+1)·2^32/T)); the intervals of 0..T-1 tile [0, 2^32) exactly, so
 * parallel segments see every item exactly once whatever the ring looks like
 * (DynamoDB: "segments ... scan the table ... exactly once"; dynalite splits
 * on its hash prefix the same way). A segment reads each ring partition's
 * part of its interval as one range (the engine reads within one ring
 * partition at a time, DESIGN.md §2).
 */
import type { AttributeMap } from './attribute-value.js';
import { DynamoDbError, validationError } from './dynamodb-error.js';
import { evaluateCondition } from './expression/condition-evaluator.js';
import { checkExpressionParameters } from './expression/legacy-parameters.js';
import {
  capacityMode,
  checkAttributesToGet,
  requestExpressions,
  requestProjection,
  validatedExpressionValues,
  type Request,
} from './item-request.js';
import { encodeItemKey, type KeyValue } from './key-encoding.js';
import { checkIndex, legacyFilter, validatedStartKey } from './query.js';
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
import type { TokenRange } from './table-engine.js';
import { TOKEN_SPACE } from './table-engine.js';
import { extractKey } from './table-schema.js';
import { tokenBound, splitPartitionedKey } from '../ring/partitioned-key.js';
import { indexScanOf, indexStartAfter } from './indexes/index-scan.js';
import type { IndexRead } from './indexes/index-query.js';

export const TOTAL_SEGMENTS_MAX = 1_000_000;

const SCAN_RULES = [
  LIMIT,
  RETURN_CONSUMED_CAPACITY,
  ATTRIBUTES_TO_GET,
  { field: 'Segment', min: 0, max: TOTAL_SEGMENTS_MAX - 1 },
  SELECT,
  CONDITIONAL_OPERATOR,
  { field: 'TotalSegments', min: 1, max: TOTAL_SEGMENTS_MAX },
  TABLE_NAME,
  INDEX_NAME,
];

/** The tokens [start, end) segment `segment` of `total` owns; exact (BigInt) so the intervals tile 2^32. */
export function segmentTokens(segment: number, total: number): { tokenStart: number; tokenEnd: number } {
  const bound = (s: number): number => Number((BigInt(s) * BigInt(TOKEN_SPACE)) / BigInt(total));
  return { tokenStart: bound(segment), tokenEnd: bound(segment + 1) };
}

/** The segment that owns `token`. */
export function segmentOfToken(token: number, total: number): number {
  return Number(((BigInt(token) + 1n) * BigInt(total) - 1n) / BigInt(TOKEN_SPACE));
}

/** A segment's token interval cut along the ring's partitions, ascending: the engine ranges a segment reads. */
export function segmentRanges(space: number, ringRanges: readonly TokenRange[], segment: { tokenStart: number; tokenEnd: number }): Array<{ start: Uint8Array; end: Uint8Array }> {
  // Above every key of the space and still in it (same space, the last token): a key's part
  // length is at most 1013 (key-encoding.ts), so its bytes 9..10 are below 0xFF 0xFF.
  const spaceEnd = Uint8Array.from([...tokenBound(space, TOKEN_SPACE - 1), 0xff, 0xff]);
  const ranges: Array<{ tokenStart: number; tokenEnd: number }> = [];
  for (const ring of [...ringRanges].sort((a, b) => a.tokenStart - b.tokenStart)) {
    const tokenStart = Math.max(ring.tokenStart, segment.tokenStart);
    const tokenEnd = Math.min(ring.tokenEnd, segment.tokenEnd);
    if (tokenStart < tokenEnd) ranges.push({ tokenStart, tokenEnd });
  }
  return ranges.map(({ tokenStart, tokenEnd }) => ({
    start: tokenBound(space, tokenStart),
    end: tokenEnd >= TOKEN_SPACE ? spaceEnd : tokenBound(space, tokenEnd),
  }));
}

export interface ScanPlan {
  readonly answer: PageAnswer;
  readonly limit: number | undefined;
  readonly bytesMax: number;
  readonly consistent: boolean;
  readonly tableId: number;
  readonly segment: { tokenStart: number; tokenEnd: number };
  /** The engine key of ExclusiveStartKey: the scan resumes just after it. */
  readonly startAfter: Uint8Array | undefined;
  /** A scan of a secondary index: `tableId` is then the index's entry space. */
  readonly index?: IndexRead;
}

function checkSegments(request: Request): { segment: number; total: number } {
  const segment = request['Segment'] as number | undefined;
  const total = request['TotalSegments'] as number | undefined;
  // dynalite tests `data.Segment` for truth, so Segment 0 alone passes; DynamoDB requires both (API: Scan).
  if (segment !== undefined && segment !== null && (total === undefined || total === null)) {
    throw validationError('The TotalSegments parameter is required but was not present in the request when Segment parameter is present');
  }
  if (total !== undefined && total !== null) {
    if (segment === undefined || segment === null) {
      throw validationError('The Segment parameter is required but was not present in the request when parameter TotalSegments is present');
    }
    if (segment >= total) {
      throw validationError(`The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: ${segment} is not less than TotalSegments: ${total}`);
    }
    return { segment, total };
  }
  return { segment: 0, total: 1 };
}

export function prepareScan(request: Request, table: (name: string) => TableRecord): ScanPlan {
  checkConstraints(request, SCAN_RULES);
  checkExpressionParameters('Scan', request);
  checkAttributesToGet(request['AttributesToGet']);
  const scanFilter = legacyFilter(request['ScanFilter'], request['ConditionalOperator']);
  const startKey = validatedStartKey(request);
  const { segment, total } = checkSegments(request);
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));

  const record = table(request['TableName'] as string);
  const schema = record.schema;
  const consistent = request['ConsistentRead'] === true;
  const indexName = request['IndexName'] as string | undefined;
  const index = checkIndex(schema, indexName, consistent, record.indexes);
  const tokens = segmentTokens(segment, total);
  let startAfter: Uint8Array | undefined;
  if (startKey !== undefined && index !== undefined) {
    startAfter = indexStartAfter(record, index, startKey);
    const { token } = splitPartitionedKey(startAfter);
    if (token < tokens.tokenStart || token >= tokens.tokenEnd) {
      throw validationError(`The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: ${total} Segment: ${segment}`);
    }
  } else if (startKey !== undefined) {
    let key;
    try {
      key = extractKey(startKey, schema);
    } catch (error) {
      if (error instanceof DynamoDbError) throw validationError(`The provided starting key is invalid: ${error.message}`);
      throw error;
    }
    startAfter = encodeItemKey(record.id, key.partition, key.sort as KeyValue | undefined).key;
    const { token } = splitPartitionedKey(startAfter);
    if (token < tokens.tokenStart || token >= tokens.tokenEnd) {
      throw validationError(`The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: ${total} Segment: ${segment}`);
    }
  }
  const filter = prepared.filter !== undefined ? { condition: prepared.filter, attributes: prepared.attributes } : scanFilter;
  const projection = requestProjection(request, prepared);
  const select: Select = selectOf(
    request['Select'] as Select | undefined,
    request['ProjectionExpression'] !== undefined ? 'ProjectionExpression' : request['AttributesToGet'] !== undefined ? 'AttributesToGet' : undefined,
    indexName,
    'Scan',
  );
  const indexRead = index === undefined ? undefined : indexScanOf(record, index, select, projection);
  return {
    answer: {
      tableName: schema.tableName,
      keyNames: indexRead?.keyNames ?? [schema.partitionKey.name, ...(schema.sortKey === undefined ? [] : [schema.sortKey.name])],
      filter: filter === undefined ? undefined : (item: AttributeMap) => evaluateCondition(filter.condition, item, filter.attributes),
      projection,
      select,
      consistent,
      capacityMode: capacityMode(request),
    },
    limit: request['Limit'] as number | undefined,
    bytesMax: PAGE_BYTES_MAX,
    consistent,
    tableId: indexRead?.index.space ?? record.id,
    segment: tokens,
    startAfter,
    ...(indexRead === undefined ? {} : { index: indexRead.index }),
  };
}
