/**
 * How DynamoDB tells a client it was throttled: the exception
 * (ProvisionedThroughputExceededException for provisioned tables and
 * indexes, ThrottlingException for on-demand ones: DynamoDB Developer Guide
 * Programming.Errors; API reference: ThrottlingReason), its message, word
 * for word, and the ThrottlingReasons list, each reason being
 * ResourceType (Table | Index) + OperationType (Read | Write) + LimitType
 * (ProvisionedThroughputExceeded | AccountLimitExceeded |
 * KeyRangeThroughputExceeded | MaxOnDemandThroughputExceeded) with the
 * throttled table's or index's ARN (API reference: ThrottlingReason; DG
 * troubleshooting-throttling-diagnostics lists the 16 combinations).
 */
import { DynamoDbError } from '../dynamodb-error.js';
import type { PartitionLimitType } from './adaptive-capacity.js';
import type { Operation } from './logical-partitions.js';
import type { OnDemandLimitType } from './on-demand.js';

/**
 * DynamoDB's messages, word for word.
 * Provisioned table: API reference TransactWriteItems / TransactionCanceledException
 * (CancellationReasons, "ProvisionedThroughputExceeded"), as real responses carry it
 * (AWS SDK for Java and Lambda logs quoting the service, e.g. in GitHub issues).
 */
export const PROVISIONED_TABLE_MESSAGE = 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.';
/**
 * Provisioned GSI: the same API reference lists it ending in "API."; real responses
 * quoted by botocore users (ProvisionedThroughputExceededException on PutItem and
 * BatchWriteItem, in two unrelated write-ups) end without the period, and DynamoDB
 * wins over its documentation.
 */
export const PROVISIONED_INDEX_MESSAGE = 'The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API';
/**
 * On-demand table: API reference (CancellationReasons, "ThrottlingError") adds a period
 * after the URL; ThrottlingException bodies quoted from the service (aws-appsync-community
 * #336, cowinapi/developer.cowin #151, praetorian-inc/chariot-ui #684) have none.
 */
export const ON_DEMAND_TABLE_MESSAGE = 'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';
/** On-demand GSI: API reference (CancellationReasons, "ThrottlingError"). */
export const ON_DEMAND_INDEX_MESSAGE = 'Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is automatically scaling your index so please try again shortly.';

export interface ThrottlingReason {
  reason: string;
  resource: string;
}

export interface Throttle {
  name: 'ProvisionedThroughputExceededException' | 'ThrottlingException';
  message: string;
  throttlingReasons: ThrottlingReason[];
  /**
   * The member that carries the list on the wire: ThrottlingReasons on
   * ProvisionedThroughputExceededException, throttlingReasons (lower case)
   * on ThrottlingException (@aws-sdk/client-dynamodb 3.1178.0, models/errors.d.ts).
   */
  throttlingReasonsMember: 'ThrottlingReasons' | 'throttlingReasons';
  /** The CancellationReason Code a transaction reports for it (API reference: TransactWriteItems). */
  cancellationCode: 'ProvisionedThroughputExceeded' | 'ThrottlingError';
}


export type LimitType = PartitionLimitType | OnDemandLimitType;

/** ResourceType + OperationType + LimitType, e.g. TableWriteKeyRangeThroughputExceeded. */
export function throttlingReasonOf(resourceType: 'Table' | 'Index', operation: Operation, limit: LimitType): string {
  return `${resourceType}${operation === 'read' ? 'Read' : 'Write'}${limit}`;
}

/** The exception for a throttle of a provisioned or on-demand table (or one of its indexes). */
export function throttleFor(billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST', onIndex: boolean, throttlingReasons: ThrottlingReason[]): Throttle {
  if (billingMode === 'PROVISIONED') {
    return {
      name: 'ProvisionedThroughputExceededException',
      message: onIndex ? PROVISIONED_INDEX_MESSAGE : PROVISIONED_TABLE_MESSAGE,
      throttlingReasons,
      throttlingReasonsMember: 'ThrottlingReasons',
      cancellationCode: 'ProvisionedThroughputExceeded',
    };
  }
  return {
    name: 'ThrottlingException',
    message: onIndex ? ON_DEMAND_INDEX_MESSAGE : ON_DEMAND_TABLE_MESSAGE,
    throttlingReasons,
    throttlingReasonsMember: 'throttlingReasons',
    cancellationCode: 'ThrottlingError',
  };
}

/** The DynamoDbError for a throttle, for the tables layer to throw. */
export function throttleError(throttle: Throttle): DynamoDbError {
  return new DynamoDbError(throttle.name, throttle.message, { throttlingReasons: throttle.throttlingReasons });
}
