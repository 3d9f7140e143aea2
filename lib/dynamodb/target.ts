/**
 * `X-Amz-Target: DynamoDB_20120810.<Operation>` names the operation of a
 * JSON 1.0 request (DynamoDB Developer Guide: Programming.LowLevelAPI). A
 * target that is missing, has another shape, another API version or an
 * operation ringtable does not serve is an UnknownOperationException
 * (architect/dynalite index.js; test/connection.js 'should return
 * UnknownOperationException if incorrect target', recorded against DynamoDB).
 */
import { OPERATION_INPUTS, type OperationName } from './shapes.js';

export const API_VERSION = 'DynamoDB_20120810';

export function operationOf(target: string | undefined): OperationName | undefined {
  if (target === undefined) return undefined;
  const parts = target.split('.');
  if (parts.length !== 2 || parts[0] !== API_VERSION) return undefined;
  const operation = parts[1]!;
  return Object.hasOwn(OPERATION_INPUTS, operation) ? (operation as OperationName) : undefined;
}
