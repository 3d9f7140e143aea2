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

/**
 * Every target ringtable serves, whole ("DynamoDB_20120810.GetItem"), to its
 * operation: one lookup per request instead of splitting the header.
 */
const TARGETS: ReadonlyMap<string, OperationName> = new Map(
  (Object.keys(OPERATION_INPUTS) as OperationName[]).map((operation) => [
    `${STREAMS_OPERATIONS.has(operation) ? STREAMS_API_VERSION : API_VERSION}.${operation}`, operation,
  ]),
);

export function operationOf(target: string | undefined): OperationName | undefined {
  return target === undefined ? undefined : TARGETS.get(target);
}
