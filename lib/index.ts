/**
 * ringtable's public surface. Everything not exported here is internal.
 */
export { Store } from './store/store.js';
export type { PutOptions, DeleteOptions, GetOptions, PutManyEntry, StoreStats, NodeStats, NodeInfo, NodeStatus, PartitionInfo, MembershipChange } from './store/store.js';
export type { StoreHandle, AttachOptions } from './store/store.js';
export type { GetOrderedOptions, OrderedValue, OrderedVersion, OrderedWrite, RangeEntry, RangePage, RangeRequest, TokenRange } from './store/store.js';
export type { RepairResult } from './store/anti-entropy-repair.js';
export type { Faults, DelayFault } from './store/faults.js';
export { GetResult } from './store/get-result.js';
export type { Key } from './store/value-codec.js';
export { RingtableError, ErrorCode } from './errors.js';
export type { QuorumDetails, ConflictDetails } from './errors.js';
export type { StoreOptions, ReplicationOptions, ConflictMode, ReadFanout, Resolver } from './config/options.js';
export type { ReadPath } from './config/options.js';
export type { Durability } from './storage/storage-engine.js';
export { partitionedKey, partitionPrefix } from './ring/hash.js';
export { spacePrefix, tokenBound, splitPartitionedKey } from './ring/partitioned-key.js';
export type { DynamoDbDispatcher } from './dynamodb/dispatcher.js';
export { createRequestHandler } from './dynamodb/request-handler.js';
export type { InProcessRequestHandler, RequestHandlerOptions } from './dynamodb/request-handler.js';
export type { SigningCredentials } from './dynamodb/wire-message.js';
export { serve } from './server/serve.js';
export type { ServeOptions, DynamoDbServer } from './server/serve.js';
export { inspector } from './server/inspector.js';
export type { InspectorOptions, InspectorServer, StandaloneInspectorOptions } from './server/inspector.js';
export type { InspectorSnapshot, RingSnapshot, NodeSnapshot, RingPartitionSnapshot, TableSnapshot, IndexLag } from './server/inspector-snapshot.js';
// Through lib/server, then lib/dynamodb: they add db.inspector() and db.requestHandler to the Database (ARCHITECTURE.md, "db.requestHandler").
export { Database } from './server/database-inspector.js';
export type { DatabaseOptions } from './tables/database.js';
export { DynamoDbError } from './tables/dynamodb-error.js';
export type { DynamoDbErrorName } from './tables/dynamodb-error.js';
export type { AttributeValue, AttributeMap } from './tables/attribute-value.js';
export type {
  CreateTableInput,
  DescribeTableInput,
  DeleteTableInput,
  ListTablesInput,
  PutItemInput,
  GetItemInput,
  UpdateItemInput,
  DeleteItemInput,
  QueryInput,
  ScanInput,
  BatchGetItemInput,
  BatchWriteItemInput,
  KeysAndAttributes,
  WriteRequest,
} from './tables/operation-shapes.js';
export type { WriteItemOutput as PutItemOutput, WriteItemOutput as UpdateItemOutput, WriteItemOutput as DeleteItemOutput, ReturnValue } from './tables/write-item.js';
export type { GetItemOutput } from './tables/get-item.js';
export type { ReadOutput as QueryOutput, ReadOutput as ScanOutput, Select } from './tables/read-page.js';
export type { BatchGetItemOutput } from './tables/batch-get-item.js';
export type { BatchWriteItemOutput } from './tables/batch-write-item.js';
export type { ListTablesOutput, TableStatus } from './tables/table-catalog.js';
export type { TableDescription } from './tables/table-description.js';
export type { ConsumedCapacity, ReturnConsumedCapacity } from './tables/capacity-units.js';
export type { TransactWriteItemsInput, TransactWriteItem, TransactGetItemsInput, TransactGetItem } from './tables/transactions/transaction-shapes.js';
export type { TransactWriteItemsOutput } from './tables/transactions/transact-write-items.js';
export type { TransactGetItemsOutput } from './tables/transactions/transact-get-items.js';
export type { CapacitySetting, CapacitySnapshot, ResourceSnapshot, PartitionSnapshot, SequencedEvent } from './tables/capacity/capacity-snapshot.js';
export type { CapacityUpdatesOptions } from './tables/table-capacity.js';
