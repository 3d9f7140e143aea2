/**
 * The one error type of the tables layer. `name` is DynamoDB's exception name
 * and `message` DynamoDB's message text, so the endpoint can put an error on
 * the wire unchanged (DynamoDB API reference: Common Errors, and each
 * operation's Errors section). Users' tests assert on both, so neither is
 * ever reworded here: take the text from the reference (../shared or
 * DynamoDB's documentation), not from memory.
 */
import type { AttributeMap } from './attribute-value.js';

/** DynamoDB's exception names that the tables layer raises. */
export type DynamoDbErrorName =
  | 'ValidationException'
  | 'SerializationException'
  | 'ConditionalCheckFailedException'
  | 'ResourceNotFoundException'
  | 'ResourceInUseException'
  | 'LimitExceededException'
  | 'ItemCollectionSizeLimitExceededException'
  | 'TransactionCanceledException'
  | 'TransactionConflictException'
  | 'TransactionInProgressException'
  | 'IdempotentParameterMismatchException'
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'RequestLimitExceeded'
  | 'InternalServerError'
  | 'UnknownOperationException'
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException'
  | 'AccessDeniedException'
  // DynamoDB Streams (Streams API reference: Errors).
  | 'ExpiredIteratorException'
  | 'TrimmedDataAccessException';

export interface DynamoDbErrorDetails {
  /** ConditionalCheckFailedException with ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  item?: AttributeMap;
  /** TransactionCanceledException: one reason per action, in action order. */
  cancellationReasons?: Array<{ Code: string; Message?: string; Item?: AttributeMap }>;
  /**
   * ProvisionedThroughputExceededException, ThrottlingException and
   * RequestLimitExceeded: why and where (API reference: ThrottlingReason).
   */
  throttlingReasons?: Array<{ reason: string; resource: string }>;
}

export class DynamoDbError extends Error {
  override readonly name: DynamoDbErrorName;
  readonly item: AttributeMap | undefined;
  readonly cancellationReasons: DynamoDbErrorDetails['cancellationReasons'];
  readonly throttlingReasons: DynamoDbErrorDetails['throttlingReasons'];

  constructor(name: DynamoDbErrorName, message: string, details: DynamoDbErrorDetails = {}) {
    super(message);
    this.name = name;
    this.item = details.item;
    this.cancellationReasons = details.cancellationReasons;
    this.throttlingReasons = details.throttlingReasons;
  }
}

/** The commonest one: DynamoDB answers most bad input with a ValidationException. */
export function validationError(message: string): DynamoDbError {
  return new DynamoDbError('ValidationException', message);
}
