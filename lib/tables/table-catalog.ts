/**
 * The table catalog, purely: which tables exist, their engine space (a table
 * id that is never reused, so DeleteTable can drop a space and a new table
 * of the same name never sees old data), their status, and what DescribeTable
 * and ListTables answer. Time and the table's UUID are passed in; the
 * shell (catalog-file.ts, database.ts) persists and sequences.
 *
 * Messages:
 * - ResourceNotFoundException "Requested resource not found" for data
 *   operations on a table that is missing, CREATING or DELETING, and
 *   "Requested resource not found: Table: X not found" for DescribeTable and
 *   DeleteTable (dyn:db/index.js `getTable`, test/describeTable.js,
 *   test/getItem.js; reference §14). DynamoDB Local's "Cannot do operations
 *   on a non-existent table" is not DynamoDB's text.
 * - ResourceInUseException "Attempt to change a resource which is still in
 *   use: Table is being created: X" (dyn:actions/deleteTable.js) and
 *   "Table already exists: X" for CreateTable of an existing name (reference
 *   §14; user code that compares DynamoDB's answer to CreateTable with
 *   exactly this text, found with the search tool; dynalite answers with an
 *   empty message, reference §18).
 */
import { DynamoDbError } from './dynamodb-error.js';
import { validateCreateTable, type CreateTableInput, type TableSchema } from './table-schema.js';
import { checkConstraints, constraintMessages, throwConstraintErrors } from './request-constraints.js';
import { TABLE_ID_MAX } from './key-encoding.js';
import type { TableIndexes } from './indexes/index-catalog.js';
import type { RetiredStream } from './streams/retired-stream.js';

export type TableStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface TableRecord {
  /** The engine space of the table's items; never reused. */
  readonly id: number;
  /** DynamoDB's TableId (a UUID). */
  readonly tableUuid: string;
  /** The CreateTable request as validated (echoed by DescribeTable). */
  readonly request: CreateTableInput;
  readonly schema: TableSchema;
  readonly status: TableStatus;
  readonly creationDateTimeMs: number;
  /** Kept by the writes this process made (DynamoDB updates these about every six hours: approximate by design). */
  readonly itemCount: number;
  readonly sizeBytes: number;
  /** UpdateTimeToLive's setting (time-to-live.ts); absent until the first one. */
  readonly timeToLive?: { readonly attributeName: string; readonly enabled: boolean; readonly changedAtMs: number };
  /** TagResource's and CreateTable's tags (resource-tags.ts); absent when none were ever set. */
  readonly tags?: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
  /** Engine spaces and states of the table's secondary indexes and change logs (indexes/index-catalog.ts). */
  readonly indexes?: TableIndexes;
}

export interface CatalogState {
  /** By table name. */
  readonly tables: Readonly<Record<string, TableRecord>>;
  /** The next table id; ids only grow. */
  readonly nextId: number;
  /** Streams of deleted tables, DISABLED and readable until the retention after the deletion (streams/retired-stream.ts). */
  readonly retiredStreams?: readonly RetiredStream[];
}

export const EMPTY_CATALOG: CatalogState = { tables: {}, nextId: 1 };

export const NOT_FOUND_MESSAGE = 'Requested resource not found';
export const LIST_TABLES_LIMIT_MAX = 100;

export function notFoundForTable(name: string): DynamoDbError {
  return new DynamoDbError('ResourceNotFoundException', `${NOT_FOUND_MESSAGE}: Table: ${name} not found`);
}

/** A data operation's table: ACTIVE, else "Requested resource not found" (no name). */
export function activeTable(state: CatalogState, name: string): TableRecord {
  const record = Object.hasOwn(state.tables, name) ? state.tables[name] : undefined;
  if (record === undefined || record.status !== 'ACTIVE') throw new DynamoDbError('ResourceNotFoundException', NOT_FOUND_MESSAGE);
  return record;
}

/** Any state (DescribeTable, DeleteTable), else "Requested resource not found: Table: X not found". */
export function anyTable(state: CatalogState, name: string): TableRecord {
  const record = Object.hasOwn(state.tables, name) ? state.tables[name] : undefined;
  if (record === undefined) throw notFoundForTable(name);
  return record;
}

export interface CreateTableDecision {
  readonly state: CatalogState;
  readonly record: TableRecord;
}

/** CreateTable: validated by table-schema.ts; the record starts CREATING and the shell activates it once persisted. */
export function createTable(state: CatalogState, input: unknown, context: { nowMs: number; tableUuid: string }): CreateTableDecision {
  const schema = validateCreateTable(input);
  const request = input as CreateTableInput;
  if (Object.hasOwn(state.tables, schema.tableName)) {
    throw new DynamoDbError('ResourceInUseException', `Table already exists: ${schema.tableName}`);
  }
  if (state.nextId > TABLE_ID_MAX) throw new DynamoDbError('LimitExceededException', 'Table ids are exhausted');
  const record: TableRecord = {
    id: state.nextId,
    tableUuid: context.tableUuid,
    request: echoedRequest(request),
    schema,
    status: 'CREATING',
    creationDateTimeMs: context.nowMs,
    itemCount: 0,
    sizeBytes: 0,
  };
  return { state: { ...state, tables: { ...state.tables, [schema.tableName]: record }, nextId: state.nextId + 1 }, record };
}

/** Only DynamoDB's members of the request, so DescribeTable echoes nothing else. */
function echoedRequest(request: CreateTableInput): CreateTableInput {
  const echoed: CreateTableInput = {
    TableName: request.TableName,
    AttributeDefinitions: request.AttributeDefinitions.map(({ AttributeName, AttributeType }) => ({ AttributeName, AttributeType })),
    KeySchema: request.KeySchema.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
  };
  if (request.BillingMode !== undefined && request.BillingMode !== null) echoed.BillingMode = request.BillingMode;
  if (request.ProvisionedThroughput) echoed.ProvisionedThroughput = { ...request.ProvisionedThroughput };
  if (request.LocalSecondaryIndexes) echoed.LocalSecondaryIndexes = structuredClone(request.LocalSecondaryIndexes);
  if (request.GlobalSecondaryIndexes) echoed.GlobalSecondaryIndexes = structuredClone(request.GlobalSecondaryIndexes);
  return echoed;
}

export function withStatus(state: CatalogState, name: string, status: TableStatus): CatalogState {
  const record = anyTable(state, name);
  return { ...state, tables: { ...state.tables, [name]: { ...record, status } } };
}

export function withoutTable(state: CatalogState, name: string): CatalogState {
  const tables = { ...state.tables };
  delete tables[name];
  return { ...state, tables };
}

/** A write's effect on the table's approximate ItemCount and TableSizeBytes. */
export function withItemChange(state: CatalogState, name: string, oldItemBytes: number | undefined, newItemBytes: number | undefined): CatalogState {
  const record = Object.hasOwn(state.tables, name) ? state.tables[name] : undefined;
  if (record === undefined) return state;
  const itemCount = record.itemCount + (newItemBytes !== undefined ? 1 : 0) - (oldItemBytes !== undefined ? 1 : 0);
  const sizeBytes = record.sizeBytes + (newItemBytes ?? 0) - (oldItemBytes ?? 0);
  return { ...state, tables: { ...state.tables, [name]: { ...record, itemCount, sizeBytes } } };
}

/** DeleteTable's check: the table exists and is not being created (dyn:actions/deleteTable.js). */
export function checkDeleteTable(state: CatalogState, input: Readonly<Record<string, unknown>>): TableRecord {
  checkTableNameRequest(input);
  const name = input['TableName'] as string;
  const record = anyTable(state, name);
  if (record.status === 'CREATING') {
    throw new DynamoDbError('ResourceInUseException', `Attempt to change a resource which is still in use: Table is being created: ${name}`);
  }
  return record;
}

/** DescribeTable's and DeleteTable's one parameter (dyn:validations/describeTable.js: TableName notNull, pattern, 3..255). */
export function checkTableNameRequest(input: Readonly<Record<string, unknown>>): void {
  checkConstraints(input, [{ field: 'TableName', notNull: true, name: true }]);
}

export interface ListTablesOutput {
  TableNames: string[];
  LastEvaluatedTableName?: string;
}

/**
 * ListTables: names in ascending order after ExclusiveStartTableName, at
 * most Limit (1..100, default 100), with LastEvaluatedTableName when the
 * page is full and more names follow (API: ListTables; constraints from
 * dyn:validations/listTables.js).
 */
export function listTables(state: CatalogState, input: Readonly<Record<string, unknown>>): ListTablesOutput {
  throwConstraintErrors([
    ...constraintMessages(input['Limit'], { field: 'Limit', min: 1, max: LIST_TABLES_LIMIT_MAX }),
    ...constraintMessages(input['ExclusiveStartTableName'], { field: 'ExclusiveStartTableName', name: true }),
  ]);
  const limit = (input['Limit'] as number | undefined) ?? LIST_TABLES_LIMIT_MAX;
  const start = input['ExclusiveStartTableName'] as string | undefined;
  // Code-unit order of table names ([a-zA-Z0-9_.-], ASCII) is their byte order.
  const names = Object.keys(state.tables).sort().filter((name) => start === undefined || name > start);
  const page = names.slice(0, limit);
  const output: ListTablesOutput = { TableNames: page };
  if (names.length > limit) output.LastEvaluatedTableName = page[page.length - 1]!;
  return output;
}
