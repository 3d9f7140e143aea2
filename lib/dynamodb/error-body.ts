/**
 * DynamoDB's error bodies: `{"__type": "<namespace>#<Name>", "message": ...}`
 * with HTTP 400 for client errors and 500 for InternalServerError (DynamoDB
 * Developer Guide: Programming.Errors; /work/shared/dynamodb-reference.md §16).
 * The namespace tells who raised it: the coral framework's request checks
 * (service#), its constraint validator (validate#), or DynamoDB itself.
 * The member is `Message` for the errors whose service-model shape spells it
 * so, and for the framework's SerializationException and AccessDeniedException
 * (architect/dynalite test/helpers.js `assertSerialization`,
 * `assertAccessDenied`); `message` everywhere else.
 */
import type { DynamoDbErrorName } from '../tables/dynamodb-error.js';

const SERVICE_NAMESPACE = 'com.amazon.coral.service#';
const VALIDATE_NAMESPACE = 'com.amazon.coral.validate#';
const DYNAMODB_NAMESPACE = 'com.amazonaws.dynamodb.v20120810#';

const CORAL_SERVICE_ERRORS: ReadonlySet<string> = new Set([
  'SerializationException',
  'UnknownOperationException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'UnrecognizedClientException',
  'AccessDeniedException',
]);

const CAPITALISED_MESSAGE: ReadonlySet<string> = new Set([
  'TransactionCanceledException',
  'TransactionInProgressException',
  'IdempotentParameterMismatchException',
  'InvalidEndpointException',
  'SerializationException',
  'AccessDeniedException',
]);

export function errorType(name: DynamoDbErrorName | string): string {
  if (name === 'ValidationException') return VALIDATE_NAMESPACE + name;
  if (CORAL_SERVICE_ERRORS.has(name)) return SERVICE_NAMESPACE + name;
  return DYNAMODB_NAMESPACE + name;
}

export function errorStatus(name: DynamoDbErrorName | string): number {
  return name === 'InternalServerError' ? 500 : 400;
}

/** The JSON body of an error; an empty message is left out, as DynamoDB leaves it out of UnknownOperationException. */
export function errorBody(name: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { __type: errorType(name) };
  if (message !== '') body[CAPITALISED_MESSAGE.has(name) ? 'Message' : 'message'] = message;
  return Object.assign(body, extra);
}
