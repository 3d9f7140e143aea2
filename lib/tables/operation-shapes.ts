/**
 * The request shapes of the operations the Database serves, as DynamoDB's
 * API reference names them (PutItemInput, QueryInput, ...), binary values as
 * Uint8Array. The response shapes live beside their cores (write-item.ts
 * WriteItemOutput, get-item.ts, read-page.ts ReadOutput, batch-*.ts,
 * table-catalog.ts ListTablesOutput, table-description.ts). Requests are
 * checked at run time anyway: DynamoDB's validation, not these types,
 * decides what is accepted.
 */
import type { AttributeMap, AttributeValue } from './attribute-value.js';
import type { ReturnConsumedCapacity } from './capacity-units.js';
import type {
  AttributeValueUpdate,
  ConditionalOperator,
  ExpectedAttributeValue,
  LegacyCondition,
} from './expression/legacy-parameters.js';
import type { Select } from './read-page.js';
import type { ReturnValue } from './write-item.js';

export type { CreateTableInput } from './table-schema.js';

interface ExpressionParameters {
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: AttributeMap;
}

interface WriteParameters extends ExpressionParameters {
  TableName: string;
  ConditionExpression?: string;
  Expected?: Record<string, ExpectedAttributeValue>;
  ConditionalOperator?: ConditionalOperator;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: 'SIZE' | 'NONE';
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE';
}

export interface PutItemInput extends WriteParameters {
  Item: AttributeMap;
  ReturnValues?: 'NONE' | 'ALL_OLD';
}

export interface DeleteItemInput extends WriteParameters {
  Key: AttributeMap;
  ReturnValues?: 'NONE' | 'ALL_OLD';
}

export interface UpdateItemInput extends WriteParameters {
  Key: AttributeMap;
  UpdateExpression?: string;
  AttributeUpdates?: Record<string, AttributeValueUpdate>;
  ReturnValues?: ReturnValue;
}

export interface GetItemInput {
  TableName: string;
  Key: AttributeMap;
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  AttributesToGet?: string[];
  ExpressionAttributeNames?: Record<string, string>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

interface ReadParameters extends ExpressionParameters {
  TableName: string;
  IndexName?: string;
  Select?: Select;
  Limit?: number;
  ConsistentRead?: boolean;
  ExclusiveStartKey?: AttributeMap;
  FilterExpression?: string;
  ProjectionExpression?: string;
  AttributesToGet?: string[];
  ConditionalOperator?: ConditionalOperator;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export interface QueryInput extends ReadParameters {
  KeyConditionExpression?: string;
  KeyConditions?: Record<string, LegacyCondition>;
  QueryFilter?: Record<string, LegacyCondition>;
  ScanIndexForward?: boolean;
}

export interface ScanInput extends ReadParameters {
  ScanFilter?: Record<string, LegacyCondition>;
  Segment?: number;
  TotalSegments?: number;
}

export interface KeysAndAttributes {
  Keys: AttributeMap[];
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  AttributesToGet?: string[];
  ExpressionAttributeNames?: Record<string, string>;
}

export interface BatchGetItemInput {
  RequestItems: Record<string, KeysAndAttributes>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export interface WriteRequest {
  PutRequest?: { Item: AttributeMap };
  DeleteRequest?: { Key: AttributeMap };
}

export interface BatchWriteItemInput {
  RequestItems: Record<string, WriteRequest[]>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: 'SIZE' | 'NONE';
}

export interface DescribeTableInput {
  TableName: string;
}

export type DeleteTableInput = DescribeTableInput;

export interface ListTablesInput {
  ExclusiveStartTableName?: string;
  Limit?: number;
}

export type { AttributeMap, AttributeValue };
