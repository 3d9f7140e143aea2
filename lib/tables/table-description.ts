/**
 * DynamoDB's TableDescription of a catalog record (API: TableDescription,
 * CreateTable, DescribeTable, DeleteTable): the request's key schema,
 * definitions and indexes echoed, with the status, creation time, counts,
 * ARNs and throughput DynamoDB adds (member set as dyn:actions/createTable.js
 * builds it, which its recorded tests compare with DynamoDB's answers).
 * Defaults for the ARN's region and account are DynamoDB Local's
 * ("ddblocal", "000000000000").
 */
import type { KeySchemaElement, AttributeDefinition, Projection } from './table-schema.js';
import type { TableRecord, TableStatus } from './table-catalog.js';

export const DEFAULT_REGION = 'ddblocal';
export const DEFAULT_ACCOUNT_ID = '000000000000';

export interface ArnContext {
  readonly region: string;
  readonly accountId: string;
}

export interface ProvisionedThroughputDescription {
  NumberOfDecreasesToday: number;
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
}

export interface LocalSecondaryIndexDescription {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: Projection;
  IndexSizeBytes: number;
  ItemCount: number;
  IndexArn: string;
}

export interface GlobalSecondaryIndexDescription extends LocalSecondaryIndexDescription {
  IndexStatus: TableStatus;
  ProvisionedThroughput: ProvisionedThroughputDescription;
}

export interface TableDescription {
  AttributeDefinitions: AttributeDefinition[];
  TableName: string;
  KeySchema: KeySchemaElement[];
  TableStatus: TableStatus;
  CreationDateTime: Date;
  ProvisionedThroughput: ProvisionedThroughputDescription;
  TableSizeBytes: number;
  ItemCount: number;
  TableArn: string;
  TableId: string;
  BillingModeSummary?: { BillingMode: 'PROVISIONED' | 'PAY_PER_REQUEST'; LastUpdateToPayPerRequestDateTime?: Date };
  LocalSecondaryIndexes?: LocalSecondaryIndexDescription[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndexDescription[];
  DeletionProtectionEnabled: boolean;
}

export function tableArn(context: ArnContext, tableName: string): string {
  return `arn:aws:dynamodb:${context.region}:${context.accountId}:table/${tableName}`;
}

/** PAY_PER_REQUEST tables report zero units (API: ProvisionedThroughputDescription). */
function throughputOf(units: { ReadCapacityUnits: number; WriteCapacityUnits: number } | undefined): ProvisionedThroughputDescription {
  return { NumberOfDecreasesToday: 0, ReadCapacityUnits: units?.ReadCapacityUnits ?? 0, WriteCapacityUnits: units?.WriteCapacityUnits ?? 0 };
}

export function describeTable(record: TableRecord, context: ArnContext, status: TableStatus = record.status): TableDescription {
  const request = record.request;
  const arn = tableArn(context, request.TableName);
  const description: TableDescription = {
    AttributeDefinitions: structuredClone(request.AttributeDefinitions),
    TableName: request.TableName,
    KeySchema: structuredClone(request.KeySchema),
    TableStatus: status,
    CreationDateTime: new Date(record.creationDateTimeMs),
    ProvisionedThroughput: throughputOf(request.ProvisionedThroughput),
    TableSizeBytes: record.sizeBytes,
    ItemCount: record.itemCount,
    TableArn: arn,
    TableId: record.tableUuid,
    DeletionProtectionEnabled: false,
  };
  // Only when the request chose a billing mode (unverified against DynamoDB for an explicit PROVISIONED).
  if (request.BillingMode === 'PAY_PER_REQUEST') {
    description.BillingModeSummary = { BillingMode: 'PAY_PER_REQUEST', LastUpdateToPayPerRequestDateTime: new Date(record.creationDateTimeMs) };
  } else if (request.BillingMode === 'PROVISIONED') {
    description.BillingModeSummary = { BillingMode: 'PROVISIONED' };
  }
  if (request.LocalSecondaryIndexes) {
    description.LocalSecondaryIndexes = request.LocalSecondaryIndexes.map((index) => ({
      IndexName: index.IndexName,
      KeySchema: structuredClone(index.KeySchema),
      Projection: structuredClone(index.Projection),
      IndexSizeBytes: 0,
      ItemCount: 0,
      IndexArn: `${arn}/index/${index.IndexName}`,
    }));
  }
  if (request.GlobalSecondaryIndexes) {
    description.GlobalSecondaryIndexes = request.GlobalSecondaryIndexes.map((index) => ({
      IndexName: index.IndexName,
      KeySchema: structuredClone(index.KeySchema),
      Projection: structuredClone(index.Projection),
      IndexStatus: status === 'ACTIVE' ? 'ACTIVE' : status,
      ProvisionedThroughput: throughputOf(index.ProvisionedThroughput),
      IndexSizeBytes: 0,
      ItemCount: 0,
      IndexArn: `${arn}/index/${index.IndexName}`,
    }));
  }
  return description;
}
