/**
 * What the inspector page asks on demand: read one item with ConsistentRead
 * true and false side by side (with the replica that answered each and its
 * version), the items of one partition key in sort order or under a key
 * condition (Query), and a first page of a table (Scan). Every action runs
 * the Database's own operations with ReturnConsumedCapacity TOTAL, so the
 * page shows what each cost, and only reads: the inspector never writes.
 *
 * The page sends key values as text; they are typed here from the table's
 * key schema (S as is, N as the number's text, B as base64), so the page
 * never builds DynamoDB JSON for keys.
 */
import type { Database } from '../tables/database.js';
import type { AttributeMap, AttributeValue } from '../tables/attribute-value.js';
import type { ConsumedCapacity } from '../tables/capacity-units.js';
import { DynamoDbError } from '../tables/dynamodb-error.js';

/** Items a Query or Scan action returns at most (the page shows one page). */
export const ITEMS_SHOWN_MAX = 100;

export interface ReadAnswer {
  item: AttributeMap | null;
  /** The node that answered, and the item's version; null when there is no item (the engine reports neither then). */
  replica: number | null;
  version: string | null;
  consumedCapacity: ConsumedCapacity | null;
}

export interface ReadComparison {
  consistent: ReadAnswer;
  eventual: ReadAnswer;
  /** The eventual read answered another version (or absence) than the consistent one. */
  stale: boolean;
}

export interface ItemsAnswer {
  items: AttributeMap[];
  count: number;
  scannedCount: number;
  lastEvaluatedKey: AttributeMap | null;
  consumedCapacity: ConsumedCapacity | null;
}

export type SortCondition = '=' | '<' | '<=' | '>' | '>=' | 'between' | 'begins_with';
const SORT_CONDITIONS: readonly SortCondition[] = ['=', '<', '<=', '>', '>=', 'between', 'begins_with'];

export interface QueryAction {
  table: string;
  index?: string;
  partitionKey: string;
  sortCondition?: SortCondition;
  sortValue?: string;
  /** The upper bound of `between`. */
  sortValueTo?: string;
  /** Descending sort order (ScanIndexForward false). */
  descending?: boolean;
  limit?: number;
}

/** An action's input or answer that the page got wrong; answered 400 with this message. */
export class InspectorRequestError extends Error {}

function text(input: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    if (required) throw new InspectorRequestError(`${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new InspectorRequestError(`${field} must be text`);
  return value;
}

function typed(type: string, value: string): AttributeValue {
  if (type === 'N') return { N: value };
  if (type === 'B') return { B: new Uint8Array(Buffer.from(value, 'base64')) };
  return { S: value };
}

interface KeyNames {
  partition: { name: string; type: string };
  sort: { name: string; type: string } | undefined;
}

/** The key attributes of a table, or of one of its indexes. */
async function keyNamesOf(database: Database, table: string, index: string | undefined): Promise<KeyNames> {
  const description = (await database.describeTable({ TableName: table })).Table;
  const schema = index === undefined
    ? description.KeySchema
    : [...(description.GlobalSecondaryIndexes ?? []), ...(description.LocalSecondaryIndexes ?? [])].find((i) => i.IndexName === index)?.KeySchema;
  if (schema === undefined) throw new InspectorRequestError(`table ${table} has no index ${index}`);
  const typeOf = (name: string): string => description.AttributeDefinitions.find((d) => d.AttributeName === name)?.AttributeType ?? 'S';
  const hash = schema.find((k) => k.KeyType === 'HASH')!.AttributeName;
  const range = schema.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  return { partition: { name: hash, type: typeOf(hash) }, sort: range === undefined ? undefined : { name: range, type: typeOf(range) } };
}

/** GetItem with ConsistentRead true and false at once, each with its replica and version. */
export async function compareReads(database: Database, input: Record<string, unknown>): Promise<ReadComparison> {
  const table = text(input, 'table', true)!;
  const names = await keyNamesOf(database, table, undefined);
  const key: AttributeMap = { [names.partition.name]: typed(names.partition.type, text(input, 'partitionKey', true)!) };
  if (names.sort !== undefined) key[names.sort.name] = typed(names.sort.type, text(input, 'sortKey', true)!);
  const read = async (consistent: boolean): Promise<ReadAnswer> => {
    const answer = await database.inspectItem({ TableName: table, Key: key, ConsistentRead: consistent, ReturnConsumedCapacity: 'TOTAL' });
    return { item: answer.Item ?? null, replica: answer.replica ?? null, version: answer.version ?? null, consumedCapacity: answer.ConsumedCapacity ?? null };
  };
  // Both at once, so that neither sees a write the other missed only because it ran later.
  const [consistent, eventual] = await Promise.all([read(true), read(false)]);
  return { consistent, eventual, stale: consistent.version !== eventual.version };
}

/** Query: the items of one partition key, in sort order, optionally under a sort key condition. */
export async function queryItems(database: Database, input: Record<string, unknown>): Promise<ItemsAnswer> {
  const table = text(input, 'table', true)!;
  const index = text(input, 'index', false);
  const names = await keyNamesOf(database, table, index);
  const values: AttributeMap = { ':pk': typed(names.partition.type, text(input, 'partitionKey', true)!) };
  const attributeNames: Record<string, string> = { '#pk': names.partition.name };
  let condition = '#pk = :pk';
  const sortCondition = text(input, 'sortCondition', false) as SortCondition | undefined;
  if (sortCondition !== undefined) {
    if (!SORT_CONDITIONS.includes(sortCondition)) throw new InspectorRequestError(`sortCondition must be one of ${SORT_CONDITIONS.join(' ')}`);
    if (names.sort === undefined) throw new InspectorRequestError(`${index ?? table} has no sort key`);
    attributeNames['#sk'] = names.sort.name;
    values[':sk'] = typed(names.sort.type, text(input, 'sortValue', true)!);
    if (sortCondition === 'between') {
      values[':sk2'] = typed(names.sort.type, text(input, 'sortValueTo', true)!);
      condition += ' AND #sk BETWEEN :sk AND :sk2';
    } else if (sortCondition === 'begins_with') {
      condition += ' AND begins_with(#sk, :sk)';
    } else {
      condition += ` AND #sk ${sortCondition} :sk`;
    }
  }
  const output = await database.query({
    TableName: table,
    ...(index === undefined ? {} : { IndexName: index }),
    KeyConditionExpression: condition,
    ExpressionAttributeNames: attributeNames,
    ExpressionAttributeValues: values,
    ScanIndexForward: input['descending'] !== true,
    Limit: limitOf(input),
    ReturnConsumedCapacity: 'TOTAL',
  });
  return itemsAnswer(output);
}

/** Scan: a first page of a table, to find its keys. */
export async function scanItems(database: Database, input: Record<string, unknown>): Promise<ItemsAnswer> {
  const table = text(input, 'table', true)!;
  return itemsAnswer(await database.scan({ TableName: table, Limit: limitOf(input), ReturnConsumedCapacity: 'TOTAL' }));
}

function limitOf(input: Record<string, unknown>): number {
  const limit = input['limit'];
  if (limit === undefined) return 25;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > ITEMS_SHOWN_MAX) {
    throw new InspectorRequestError(`limit must be a whole number from 1 to ${ITEMS_SHOWN_MAX}`);
  }
  return limit;
}

function itemsAnswer(output: { Items?: AttributeMap[]; Count?: number; ScannedCount?: number; LastEvaluatedKey?: AttributeMap; ConsumedCapacity?: ConsumedCapacity }): ItemsAnswer {
  return {
    items: output.Items ?? [],
    count: output.Count ?? 0,
    scannedCount: output.ScannedCount ?? 0,
    lastEvaluatedKey: output.LastEvaluatedKey ?? null,
    consumedCapacity: output.ConsumedCapacity ?? null,
  };
}

/** The answer the page shows for a failed action: DynamoDB's exception name and message, or the page's mistake. */
export function actionError(error: unknown): { status: number; body: { error: { name: string; message: string } } } | undefined {
  if (error instanceof DynamoDbError) return { status: 400, body: { error: { name: error.name, message: error.message } } };
  if (error instanceof InspectorRequestError) return { status: 400, body: { error: { name: 'InspectorRequestError', message: error.message } } };
  return undefined;
}
