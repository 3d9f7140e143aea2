/**
 * GetItem as a pure core: validation in DynamoDB's order
 * (dyn:validations/getItem.js: Coral's constraints, the mixing of
 * ProjectionExpression and AttributesToGet, the Key's AttributeValues,
 * AttributesToGet duplicates, the expressions; then the table and the key
 * against its schema), and the answer for the item as read (API: GetItem:
 * no Item member when there is no item; ConsumedCapacity never reports
 * indexes; a missing item costs what a 0-byte one does).
 */
import type { AttributeMap } from './attribute-value.js';
import { consumedCapacity, getItemCapacity, type ConsumedCapacity } from './capacity-units.js';
import { checkExpressionParameters } from './expression/legacy-parameters.js';
import { projectItem } from './expression/projection.js';
import { itemSize } from './item-size.js';
import {
  capacityMode,
  checkAttributesToGet,
  requestExpressions,
  requestProjection,
  validatedExpressionValues,
  validatedKey,
  type Request,
} from './item-request.js';
import { ATTRIBUTES_TO_GET, checkConstraints, RETURN_CONSUMED_CAPACITY, TABLE_NAME } from './request-constraints.js';
import type { TableRecord } from './table-catalog.js';
import { extractKey, type PrimaryKeyValues } from './table-schema.js';

export interface GetItemOutput {
  Item?: AttributeMap;
  ConsumedCapacity?: ConsumedCapacity;
}

export interface GetItemPlan {
  readonly tableName: string;
  readonly key: PrimaryKeyValues;
  readonly consistent: boolean;
  answer(item: AttributeMap | undefined): GetItemOutput;
}

export function prepareGetItem(request: Request, table: (name: string) => TableRecord): GetItemPlan {
  checkConstraints(request, [RETURN_CONSUMED_CAPACITY, ATTRIBUTES_TO_GET, TABLE_NAME, { field: 'Key', notNull: true }]);
  checkExpressionParameters('GetItem', request);
  const keyMap = validatedKey(request['Key']);
  checkAttributesToGet(request['AttributesToGet']);
  const prepared = requestExpressions(request, validatedExpressionValues(request['ExpressionAttributeValues']));
  const projection = requestProjection(request, prepared);
  const record = table(request['TableName'] as string);
  const key = extractKey(keyMap, record.schema);
  const consistent = request['ConsistentRead'] === true;
  const tableName = record.schema.tableName;
  return {
    tableName,
    key,
    consistent,
    answer(item) {
      const output: GetItemOutput = {};
      // The item is this read's own copy (table-engine.ts): handed out as it is.
      if (item !== undefined) output.Item = projection === undefined ? item : projectItem(item, projection);
      const mode = capacityMode(request);
      // The item's size is only needed for the capacity, and only when it is asked for.
      if (mode === undefined || mode === 'NONE') return output;
      const units = getItemCapacity(item === undefined ? undefined : itemSize(item), consistent ? 'strong' : 'eventual');
      const capacity = consumedCapacity(mode, tableName, { table: units });
      if (capacity !== undefined) output.ConsumedCapacity = capacity;
      return output;
    },
  };
}
