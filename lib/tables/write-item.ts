/**
 * PutItem, UpdateItem and DeleteItem as pure cores. `prepare*` validates a
 * request in DynamoDB's order against the table's schema and returns a plan;
 * the plan's `decide(current)` takes the item as it is now (undefined when
 * absent) and returns what to write and what to answer, or the
 * ConditionalCheckFailedException. The shell reads, decides, and writes with
 * compare-and-set, deciding again on a conflict (DESIGN.md §3).
 *
 * Validation order (dyn:validations/putItem.js, updateItem.js, deleteItem.js
 * and dyn:actions/*.js, whose tests are recorded against DynamoDB):
 * Coral's constraints (field order of each validations file); the mixing of
 * expression and legacy parameters; the Item's or Key's AttributeValues;
 * PutItem's "ReturnValues can only be ALL_OLD or NONE" (DeleteItem too:
 * ExtendDB's tests recorded against us-east-1) and item size; Expected; the
 * expressions; then the table (ResourceNotFoundException) and the key
 * against its schema; UpdateItem's key-attribute and size checks come with
 * the evaluation.
 *
 * ReturnValues (API: PutItem, UpdateItem, DeleteItem; reference §7): ALL_OLD
 * is the whole old item; UPDATED_OLD/UPDATED_NEW the updated paths before
 * and after; ALL_NEW the whole new item; nothing is returned when there is
 * nothing (a put of a new item with ALL_OLD has no Attributes).
 * ReturnValuesOnConditionCheckFailure ALL_OLD puts the current item in the
 * exception's Item.
 */
import type { AttributeMap } from './attribute-value.js';
import {
  consumedCapacity,
  writeItemCapacity,
  type ConsumedCapacity,
} from './capacity-units.js';
import { DynamoDbError, validationError } from './dynamodb-error.js';
import type { ResolvedPath } from './expression/ast.js';
import { evaluateCondition } from './expression/condition-evaluator.js';
import { checkExpressionParameters, updateFromAttributeUpdates, type AttributeValueUpdate } from './expression/legacy-parameters.js';
import { projectItem } from './expression/projection.js';
import { applyUpdate } from './expression/update-evaluator.js';
import { checkItemSize, itemSize } from './item-size.js';
import {
  capacityMode,
  expectedCondition,
  requestExpressions,
  validatedExpressionValues,
  validatedItem,
  validatedKey,
  type BoundCondition,
  type Request,
} from './item-request.js';
import {
  checkConstraints,
  CONDITIONAL_OPERATOR,
  RETURN_CONSUMED_CAPACITY,
  RETURN_ITEM_COLLECTION_METRICS,
  RETURN_VALUES,
  RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
  TABLE_NAME,
} from './request-constraints.js';
import type { TableRecord } from './table-catalog.js';
import type { ItemCollectionMetrics } from './indexes/item-collection.js';
import { checkIndexKeyTypes, extractItemKey, extractKey, type PrimaryKeyValues, type TableSchema } from './table-schema.js';

export const CONDITIONAL_REQUEST_FAILED = 'The conditional request failed';
const PREFIX = 'One or more parameter values were invalid: ';

export type ReturnValue = 'NONE' | 'ALL_OLD' | 'UPDATED_OLD' | 'ALL_NEW' | 'UPDATED_NEW';

export interface WriteItemOutput {
  Attributes?: AttributeMap;
  ConsumedCapacity?: ConsumedCapacity;
  /** ReturnItemCollectionMetrics SIZE on a table with LSIs (indexes/item-collection.ts). */
  ItemCollectionMetrics?: ItemCollectionMetrics;
}

export type WriteDecision =
  /** Write `item` (undefined: delete) and answer `output`. */
  | { readonly kind: 'write'; readonly item: AttributeMap | undefined; readonly oldBytes: number | undefined; readonly newBytes: number | undefined; readonly output: WriteItemOutput }
  /** Nothing to change (a delete of a missing item): answer `output`. */
  | { readonly kind: 'none'; readonly output: WriteItemOutput }
  | { readonly kind: 'conditionFailed'; readonly error: DynamoDbError };

export interface WritePlan {
  readonly tableName: string;
  readonly key: PrimaryKeyValues;
  decide(current: AttributeMap | undefined): WriteDecision;
}

/** The shared constraint fields of the three writes, in dyn:validations' order for each. */
const PUT_RULES = [RETURN_CONSUMED_CAPACITY, TABLE_NAME, { field: 'Item', notNull: true }, CONDITIONAL_OPERATOR, RETURN_VALUES, RETURN_ITEM_COLLECTION_METRICS, RETURN_VALUES_ON_CONDITION_CHECK_FAILURE];
// Live order for UpdateItem (same conformance suite): ReturnConsumedCapacity, tableName, ReturnValues, conditionalOperator, key.
const UPDATE_RULES = [RETURN_CONSUMED_CAPACITY, TABLE_NAME, RETURN_ITEM_COLLECTION_METRICS, RETURN_VALUES, CONDITIONAL_OPERATOR, { field: 'Key', notNull: true }, RETURN_VALUES_ON_CONDITION_CHECK_FAILURE];
const DELETE_RULES = UPDATE_RULES;

function checkOldOrNone(request: Request): void {
  const returnValues = request['ReturnValues'];
  if (returnValues !== undefined && returnValues !== null && returnValues !== 'ALL_OLD' && returnValues !== 'NONE') {
    throw validationError('ReturnValues can only be ALL_OLD or NONE');
  }
}

function conditionHolds(condition: BoundCondition | undefined, current: AttributeMap | undefined): boolean {
  return condition === undefined || evaluateCondition(condition.condition, current, condition.attributes);
}

function conditionFailed(request: Request, current: AttributeMap | undefined): WriteDecision {
  const item = request['ReturnValuesOnConditionCheckFailure'] === 'ALL_OLD' && current !== undefined ? structuredClone(current) : undefined;
  return { kind: 'conditionFailed', error: new DynamoDbError('ConditionalCheckFailedException', CONDITIONAL_REQUEST_FAILED, item === undefined ? {} : { item }) };
}

function withCapacity(output: WriteItemOutput, request: Request, tableName: string, units: number): WriteItemOutput {
  const capacity = consumedCapacity(capacityMode(request), tableName, { table: units });
  if (capacity !== undefined) output.ConsumedCapacity = capacity;
  return output;
}

function nonEmpty(attributes: AttributeMap | undefined): AttributeMap | undefined {
  return attributes === undefined || Object.keys(attributes).length === 0 ? undefined : attributes;
}

// ---------------------------------------------------------------------------- PutItem

export function preparePutItem(request: Request, table: (name: string) => TableRecord): WritePlan {
  checkConstraints(request, PUT_RULES);
  checkExpressionParameters('PutItem', request);
  const item = validatedItem(request['Item']);
  checkOldOrNone(request);
  checkItemSize(item, 'put');
  const expected = expectedCondition(request);
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));
  const record = table(request['TableName'] as string);
  const key = extractItemKey(item, record.schema);
  checkIndexKeyTypes(item, record.schema);
  const condition = prepared.condition === undefined ? expected : { condition: prepared.condition, attributes: prepared.attributes };
  const tableName = record.schema.tableName;
  return {
    tableName,
    key,
    decide(current) {
      const newBytes = itemSize(item);
      if (!conditionHolds(condition, current)) return conditionFailed(request, current);
      const oldBytes = current === undefined ? undefined : itemSize(current);
      const output: WriteItemOutput = {};
      if (request['ReturnValues'] === 'ALL_OLD' && current !== undefined) output.Attributes = structuredClone(current);
      return { kind: 'write', item, oldBytes, newBytes, output: withCapacity(output, request, tableName, writeItemCapacity(oldBytes, newBytes)) };
    },
  };
}

// ---------------------------------------------------------------------------- DeleteItem

export function prepareDeleteItem(request: Request, table: (name: string) => TableRecord): WritePlan {
  checkConstraints(request, DELETE_RULES);
  checkExpressionParameters('DeleteItem', request);
  const keyMap = validatedKey(request['Key']);
  checkOldOrNone(request);
  const expected = expectedCondition(request);
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));
  const record = table(request['TableName'] as string);
  const key = extractKey(keyMap, record.schema);
  const condition = prepared.condition === undefined ? expected : { condition: prepared.condition, attributes: prepared.attributes };
  const tableName = record.schema.tableName;
  return {
    tableName,
    key,
    decide(current) {
      if (!conditionHolds(condition, current)) return conditionFailed(request, current);
      const oldBytes = current === undefined ? undefined : itemSize(current);
      const output: WriteItemOutput = {};
      if (request['ReturnValues'] === 'ALL_OLD' && current !== undefined) output.Attributes = structuredClone(current);
      withCapacity(output, request, tableName, writeItemCapacity(oldBytes, undefined));
      if (current === undefined) return { kind: 'none', output };
      return { kind: 'write', item: undefined, oldBytes, newBytes: undefined, output };
    },
  };
}

// ---------------------------------------------------------------------------- UpdateItem

/**
 * Key attributes cannot be updated (dyn:db/index.js `validateUpdates`,
 * `validateKeyPaths`; reference §17 #22, #23): a nested path under a key
 * attribute, then a key attribute itself.
 */
export function checkKeyAttributesNotUpdated(paths: readonly ResolvedPath[], schema: TableSchema): void {
  const keys = [schema.partitionKey.name, ...(schema.sortKey === undefined ? [] : [schema.sortKey.name])];
  for (const path of paths) {
    const name = path[0] as string;
    if (!keys.includes(name)) continue;
    if (path.length > 1) throw validationError(`Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: ${name}`);
    throw validationError(`${PREFIX}Cannot update attribute ${name}. This attribute is part of the key`);
  }
}

/** What UPDATED_OLD / UPDATED_NEW return: the updated paths of the old or new item. */
export function updatedAttributes(item: AttributeMap | undefined, paths: readonly ResolvedPath[]): AttributeMap | undefined {
  return item === undefined ? undefined : nonEmpty(projectItem(item, paths));
}

export function returnedAttributes(returnValues: unknown, oldItem: AttributeMap | undefined, newItem: AttributeMap, paths: readonly ResolvedPath[]): AttributeMap | undefined {
  switch (returnValues) {
    case 'ALL_OLD':
      return oldItem === undefined ? undefined : structuredClone(oldItem);
    case 'UPDATED_OLD':
      return updatedAttributes(oldItem, paths);
    case 'ALL_NEW':
      return structuredClone(newItem);
    case 'UPDATED_NEW':
      return updatedAttributes(newItem, paths);
    default:
      return undefined;
  }
}

export function prepareUpdateItem(request: Request, table: (name: string) => TableRecord): WritePlan {
  checkConstraints(request, UPDATE_RULES);
  checkExpressionParameters('UpdateItem', request);
  const keyMap = validatedKey(request['Key']);
  const attributeUpdates = validatedAttributeUpdates(request['AttributeUpdates']);
  const expected = expectedCondition(request);
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));
  const record = table(request['TableName'] as string);
  const schema = record.schema;
  const key = extractKey(keyMap, schema);
  const update = prepared.update !== undefined
    ? { actions: prepared.update.actions, attributes: prepared.attributes, paths: prepared.update.paths }
    : attributeUpdates === undefined ? undefined : updateFromAttributeUpdates(attributeUpdates);
  if (update !== undefined) checkKeyAttributesNotUpdated(update.paths, schema);
  const condition = prepared.condition === undefined ? expected : { condition: prepared.condition, attributes: prepared.attributes };
  const tableName = schema.tableName;
  return {
    tableName,
    key,
    decide(current) {
      if (!conditionHolds(condition, current)) return conditionFailed(request, current);
      const applied = update === undefined ? { item: structuredClone(current ?? {}), paths: [] as ResolvedPath[] } : applyUpdate(update.actions, current, update.attributes);
      const newItem: AttributeMap = { ...applied.item, ...structuredClone(keyMap) };
      checkIndexKeyTypes(newItem, schema);
      const newBytes = checkItemSize(newItem, 'update');
      const oldBytes = current === undefined ? undefined : itemSize(current);
      const output: WriteItemOutput = {};
      const attributes = returnedAttributes(request['ReturnValues'], current, newItem, applied.paths);
      if (attributes !== undefined) output.Attributes = attributes;
      return { kind: 'write', item: newItem, oldBytes, newBytes, output: withCapacity(output, request, tableName, writeItemCapacity(oldBytes, newBytes)) };
    },
  };
}

/** AttributeUpdates' values validated (dyn:validations/updateItem.js; the per-action checks are legacy-parameters.ts's). */
function validatedAttributeUpdates(updates: unknown): Record<string, AttributeValueUpdate> | undefined {
  if (updates === undefined || updates === null) return undefined;
  const out: Record<string, AttributeValueUpdate> = {};
  for (const [name, update] of Object.entries(updates as Record<string, AttributeValueUpdate>)) {
    const value = update.Value === undefined || update.Value === null ? undefined : validatedItem({ v: update.Value })['v'];
    out[name] = value === undefined ? { Action: update.Action } : { Action: update.Action, Value: value };
  }
  return out;
}
