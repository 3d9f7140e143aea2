/**
 * DescribeTable's index and UpdateTable members (API: TableDescription,
 * GlobalSecondaryIndexDescription, LocalSecondaryIndexDescription,
 * StreamSpecification), purely: each GSI's IndexStatus and Backfilling
 * (only while CREATING, DG: GSI.OnlineOps), every index's approximate
 * ItemCount and IndexSizeBytes, the billing mode and throughput UpdateTable
 * set, and the stream's specification, label and ARN.
 */
import type { TableRecord } from '../table-catalog.js';
import type { TableDescription } from '../table-description.js';
import type { IndexCounts, StreamSpecification } from './index-catalog.js';

export interface DescribedIndexes {
  StreamSpecification?: StreamSpecification;
  LatestStreamLabel?: string;
  LatestStreamArn?: string;
}

export function describeIndexes(description: TableDescription, record: TableRecord, countsOf: (indexName: string) => IndexCounts | undefined): TableDescription & DescribedIndexes {
  const indexes = record.indexes;
  const described: TableDescription & DescribedIndexes = { ...description };
  if (indexes === undefined) return described;
  const counted = <T extends { IndexName: string; ItemCount: number; IndexSizeBytes: number }>(index: T): T => {
    const counts = countsOf(index.IndexName);
    return { ...index, ItemCount: counts?.itemCount ?? 0, IndexSizeBytes: counts?.sizeBytes ?? 0 };
  };
  if (described.LocalSecondaryIndexes !== undefined) described.LocalSecondaryIndexes = described.LocalSecondaryIndexes.map(counted);
  if (described.GlobalSecondaryIndexes !== undefined) {
    described.GlobalSecondaryIndexes = described.GlobalSecondaryIndexes.map((index) => {
      const spaces = indexes.spaces[index.IndexName];
      const status = described.TableStatus === 'ACTIVE' ? spaces?.status ?? 'ACTIVE' : index.IndexStatus;
      const next: typeof index & { Backfilling?: boolean } = { ...counted(index), IndexStatus: status };
      if (status === 'CREATING') next.Backfilling = spaces?.backfilling === true;
      const throughput = indexes.indexThroughput?.[index.IndexName];
      if (throughput !== undefined) next.ProvisionedThroughput = { ...next.ProvisionedThroughput, ...throughput };
      if (indexes.billingMode === 'PAY_PER_REQUEST') next.ProvisionedThroughput = { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 };
      return next;
    });
  }
  if (indexes.provisionedThroughput !== undefined) described.ProvisionedThroughput = { ...described.ProvisionedThroughput, ...indexes.provisionedThroughput };
  if (indexes.billingMode === 'PAY_PER_REQUEST') {
    described.BillingModeSummary = { BillingMode: 'PAY_PER_REQUEST', LastUpdateToPayPerRequestDateTime: new Date(indexes.lastUpdateToPayPerRequestMs ?? record.creationDateTimeMs) };
    described.ProvisionedThroughput = { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 };
  } else if (indexes.billingMode === 'PROVISIONED') described.BillingModeSummary = { BillingMode: 'PROVISIONED' };
  const stream = indexes.stream;
  if (stream !== undefined && stream.specification.StreamEnabled) {
    described.StreamSpecification = { ...stream.specification };
    described.LatestStreamLabel = stream.label;
    described.LatestStreamArn = `${description.TableArn}/stream/${stream.label}`;
  }
  return described;
}
