/**
 * UpdateTable as a pure core (API: UpdateTable; dyn:validations/updateTable.js
 * and dyn:actions/updateTable.js for the texts they record): create or delete
 * one GSI on a live table, change the billing mode and throughput (stored in
 * the catalog, shown by DescribeTable, consumed by the capacity model), and
 * set the stream specification.
 *
 * Order: Coral's constraints on the parameters present; "At least one of
 * ..." when nothing would change; BillingMode PROVISIONED without
 * throughput; throughput bounds; one update per index; then against the
 * table: throughput on a PAY_PER_REQUEST table; at most one index created or
 * deleted per call ("Subscriber limit exceeded: Only 1 online index can be
 * created or deleted simultaneously per table", LimitExceededException); a
 * new index is validated as CreateTable validates one (table-schema.ts, by
 * validating the table's CreateTable request with the index added).
 */
import { DynamoDbError, validationError } from '../dynamodb-error.js';
import type { Request } from '../item-request.js';
import { checkConstraints } from '../request-constraints.js';
import type { TableRecord } from '../table-catalog.js';
import {
  CAPACITY_UNITS_MAX,
  validateCreateTable,
  type AttributeDefinition,
  type CreateTableInput,
  type GlobalSecondaryIndex,
  type ProvisionedThroughput,
  type TableSchema,
} from '../table-schema.js';
import type { StreamSpecification } from './index-catalog.js';

const PREFIX = 'One or more parameter values were invalid: ';
const STREAM_VIEW_TYPES = ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'];

export type UpdateTableDecision =
  | { kind: 'createIndex'; index: GlobalSecondaryIndex; request: CreateTableInput; schema: TableSchema }
  | { kind: 'deleteIndex'; indexName: string }
  | { kind: 'settings' };

export interface UpdateTableSettings {
  readonly billingMode?: 'PROVISIONED' | 'PAY_PER_REQUEST';
  readonly provisionedThroughput?: ProvisionedThroughput;
  readonly stream?: StreamSpecification;
  readonly indexThroughput: Readonly<Record<string, ProvisionedThroughput>>;
}

interface IndexUpdate {
  Create?: GlobalSecondaryIndex;
  Delete?: { IndexName: string };
  Update?: { IndexName: string; ProvisionedThroughput: ProvisionedThroughput };
}

/** Checks what UpdateTable can check without the table. */
export function checkUpdateTableRequest(request: Request): void {
  checkConstraints(request, [{ field: 'TableName', notNull: true, name: true }]);
  const updates = (request['GlobalSecondaryIndexUpdates'] ?? []) as IndexUpdate[];
  const throughput = request['ProvisionedThroughput'] as ProvisionedThroughput | undefined;
  const stream = request['StreamSpecification'] as StreamSpecification | undefined;
  if (!throughput && !request['BillingMode'] && !stream && updates.length === 0 && !request['SSESpecification']) {
    throw validationError('At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
  }
  const billingMode = request['BillingMode'];
  if (billingMode !== undefined && billingMode !== 'PROVISIONED' && billingMode !== 'PAY_PER_REQUEST') {
    throw validationError(`1 validation error detected: Value '${String(billingMode)}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]`);
  }
  if (billingMode === 'PROVISIONED' && !throughput) throw validationError(`${PREFIX}ProvisionedThroughput must be specified when BillingMode is PROVISIONED`);
  if (throughput) {
    if (throughput.ReadCapacityUnits > CAPACITY_UNITS_MAX) throw validationError(`Given value ${throughput.ReadCapacityUnits} for ReadCapacityUnits is out of bounds`);
    if (throughput.WriteCapacityUnits > CAPACITY_UNITS_MAX) throw validationError(`Given value ${throughput.WriteCapacityUnits} for WriteCapacityUnits is out of bounds`);
  }
  const names = new Set<string>();
  for (const update of updates) {
    if (!update.Update && !update.Create && !update.Delete) {
      throw validationError(`${PREFIX}One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null`);
    }
    const name = update.Update?.IndexName ?? update.Create?.IndexName ?? update.Delete?.IndexName ?? '';
    if (names.has(name)) throw validationError(`${PREFIX}Only one global secondary index update per index is allowed simultaneously. Index: ${name}`);
    names.add(name);
  }
  if (stream !== undefined) checkStreamSpecification(stream);
}

/** A StreamSpecification of CreateTable or UpdateTable: "StreamViewType is required when StreamEnabled is true" (API: StreamSpecification). */
export function checkStreamSpecification(stream: StreamSpecification): void {
  if (typeof stream.StreamEnabled !== 'boolean') throw validationError(`1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy constraint: Member must not be null`);
  if (stream.StreamViewType !== undefined && !STREAM_VIEW_TYPES.includes(stream.StreamViewType)) {
    throw validationError(`1 validation error detected: Value '${String(stream.StreamViewType)}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [${STREAM_VIEW_TYPES.join(', ')}]`);
  }
  if (stream.StreamEnabled && stream.StreamViewType === undefined) throw validationError(`${PREFIX}You must specify a StreamViewType when enabling a stream`);
}

/** What the update does to `record`, checked against it. */
export function decideUpdateTable(record: TableRecord, request: Request): { decision: UpdateTableDecision; settings: UpdateTableSettings } {
  const currentMode = record.indexes?.billingMode ?? record.schema.billingMode;
  const throughput = request['ProvisionedThroughput'] as ProvisionedThroughput | undefined;
  const billingMode = request['BillingMode'] as 'PROVISIONED' | 'PAY_PER_REQUEST' | undefined;
  if (throughput && (billingMode ?? currentMode) === 'PAY_PER_REQUEST') {
    throw validationError(`${PREFIX}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST`);
  }
  const updates = (request['GlobalSecondaryIndexUpdates'] ?? []) as IndexUpdate[];
  const structural = updates.filter((update) => update.Create !== undefined || update.Delete !== undefined);
  if (structural.length > 1) throw new DynamoDbError('LimitExceededException', 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table');
  const indexThroughput: Record<string, ProvisionedThroughput> = { ...(record.indexes?.indexThroughput ?? {}) };
  for (const update of updates) {
    if (update.Update === undefined) continue;
    if (!record.schema.globalSecondaryIndexes.some((index) => index.indexName === update.Update!.IndexName)) {
      throw new DynamoDbError('ResourceNotFoundException', `Requested resource not found: Index: ${update.Update.IndexName} not found`);
    }
    indexThroughput[update.Update.IndexName] = { ...update.Update.ProvisionedThroughput };
  }
  // Switching to PROVISIONED: every GSI needs its own throughput in the same request (dynalite's
  // updateTable tests, recorded against DynamoDB: "ProvisionedThroughput must be specified for index: index3,index4").
  if (billingMode === 'PROVISIONED' && currentMode !== 'PROVISIONED') {
    const given = new Set(updates.filter((update) => update.Update?.ProvisionedThroughput !== undefined).map((update) => update.Update!.IndexName));
    const missing = record.schema.globalSecondaryIndexes.map((index) => index.indexName).filter((name) => !given.has(name));
    if (missing.length > 0) throw validationError(`${PREFIX}ProvisionedThroughput must be specified for index: ${missing.join(',')}`);
  }
  const settings: { billingMode?: 'PROVISIONED' | 'PAY_PER_REQUEST'; provisionedThroughput?: ProvisionedThroughput; stream?: StreamSpecification; indexThroughput: Record<string, ProvisionedThroughput> } = { indexThroughput };
  if (billingMode !== undefined) settings.billingMode = billingMode;
  if (throughput) settings.provisionedThroughput = { ReadCapacityUnits: throughput.ReadCapacityUnits, WriteCapacityUnits: throughput.WriteCapacityUnits };
  const stream = request['StreamSpecification'] as StreamSpecification | undefined;
  if (stream !== undefined) {
    const enabled = record.indexes?.stream?.specification.StreamEnabled === true;
    if (stream.StreamEnabled && enabled) throw validationError(`Table already has an enabled stream: TableName: ${record.schema.tableName}`);
    if (!stream.StreamEnabled && !enabled) throw validationError(`Table already has a disabled stream: TableName: ${record.schema.tableName}`);
    settings.stream = stream.StreamViewType === undefined ? { StreamEnabled: stream.StreamEnabled } : { StreamEnabled: stream.StreamEnabled, StreamViewType: stream.StreamViewType };
  }
  const only = structural[0];
  if (only?.Delete !== undefined) {
    const name = only.Delete.IndexName;
    const spaces = record.indexes?.spaces[name];
    if (!record.schema.globalSecondaryIndexes.some((index) => index.indexName === name) || spaces === undefined) {
      throw new DynamoDbError('ResourceNotFoundException', `Requested resource not found: Index: ${name} not found`);
    }
    if (spaces.status !== 'ACTIVE') throw new DynamoDbError('ResourceInUseException', `Attempt to change a resource which is still in use: Index is being ${spaces.status === 'CREATING' ? 'created' : 'deleted'}: ${name}`);
    return { decision: { kind: 'deleteIndex', indexName: name }, settings };
  }
  if (only?.Create !== undefined) return { decision: createIndexDecision(record, request, only.Create), settings };
  return { decision: { kind: 'settings' }, settings };
}

/** A new GSI, validated as CreateTable would validate it beside the table's other indexes. */
function createIndexDecision(record: TableRecord, request: Request, index: GlobalSecondaryIndex): UpdateTableDecision {
  const base = record.request;
  const given = (request['AttributeDefinitions'] ?? []) as AttributeDefinition[];
  const definitions = [...base.AttributeDefinitions];
  for (const definition of given) {
    const existing = definitions.find((known) => known.AttributeName === definition.AttributeName);
    if (existing !== undefined && existing.AttributeType !== definition.AttributeType) {
      throw validationError(`${PREFIX}Cannot update attribute ${definition.AttributeName}. Its type is already defined as ${existing.AttributeType}`);
    }
    if (existing === undefined) definitions.push({ AttributeName: definition.AttributeName, AttributeType: definition.AttributeType });
  }
  const billingMode = (request['BillingMode'] as string | undefined) ?? record.indexes?.billingMode ?? base.BillingMode;
  const created: GlobalSecondaryIndex = { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
  if (index.ProvisionedThroughput) created.ProvisionedThroughput = index.ProvisionedThroughput;
  const next: CreateTableInput = { ...base, AttributeDefinitions: definitions, GlobalSecondaryIndexes: [...(base.GlobalSecondaryIndexes ?? []), created] };
  if (billingMode === 'PAY_PER_REQUEST') {
    next.BillingMode = 'PAY_PER_REQUEST';
    delete next.ProvisionedThroughput;
  }
  const schema = validateCreateTable(next);
  return { kind: 'createIndex', index: created, request: next, schema };
}
