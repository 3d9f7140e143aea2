/**
 * The request shapes of TransactWriteItems and TransactGetItems, as the API
 * reference names them (binary values as Uint8Array). Requests are checked at
 * run time anyway (transact-write-items.ts, transact-get-items.ts).
 */
import type { AttributeMap } from '../attribute-value.js';
import type { ReturnConsumedCapacity } from '../capacity-units.js';

interface ActionParameters {
  TableName: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: AttributeMap;
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE';
}

export interface TransactWriteItem {
  Put?: ActionParameters & { Item: AttributeMap };
  Update?: ActionParameters & { Key: AttributeMap; UpdateExpression: string };
  Delete?: ActionParameters & { Key: AttributeMap };
  ConditionCheck?: ActionParameters & { Key: AttributeMap; ConditionExpression: string };
}

export interface TransactWriteItemsInput {
  TransactItems: TransactWriteItem[];
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: 'SIZE' | 'NONE';
  ClientRequestToken?: string;
}

export interface TransactGetItem {
  Get: { TableName: string; Key: AttributeMap; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> };
}

export interface TransactGetItemsInput {
  TransactItems: TransactGetItem[];
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}
