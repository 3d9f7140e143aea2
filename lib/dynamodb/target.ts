/**
 * `X-Amz-Target: DynamoDB_20120810.<Operation>` names the operation of a
 * JSON 1.0 request (DynamoDB Developer Guide: Programming.LowLevelAPI). A
 * target that is missing, has another shape, another API version or an
 * operation ringtable does not serve is an UnknownOperationException
 * (architect/dynalite index.js; test/connection.js 'should return
 * UnknownOperationException if incorrect target', recorded against DynamoDB).
 */
import { OPERATION_INPUTS, STREAMS_OPERATIONS, type OperationName } from './shapes.js';

export const API_VERSION = 'DynamoDB_20120810';
/** DynamoDB Streams' operations travel under their own prefix (the DynamoDBStreamsClient sends it). */
export const STREAMS_API_VERSION = 'DynamoDBStreams_20120810';

export function operationOf(target: string | undefined): OperationName | undefined {
  if (target === undefined) return undefined;
  const parts = target.split('.');
  if (parts.length !== 2) return undefined;
  const operation = parts[1]!;
  if (!Object.hasOwn(OPERATION_INPUTS, operation)) return undefined;
  const expected = STREAMS_OPERATIONS.has(operation as OperationName) ? STREAMS_API_VERSION : API_VERSION;
  return parts[0] === expected ? (operation as OperationName) : undefined;
}
