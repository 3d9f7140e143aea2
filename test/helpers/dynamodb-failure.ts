/**
 * What a DynamoDB-layer call threw, as `{ name, message }`, so table-driven
 * tests compare DynamoDB's exception name and exact text in one assertion.
 * Anything other than a DynamoDbError is a bug in the code under test and is
 * rethrown; not throwing at all fails the test.
 */
import { DynamoDbError } from '../../lib/tables/dynamodb-error.js';

export function dynamoDbFailure(run: () => unknown): { name: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof DynamoDbError) return { name: error.name, message: error.message };
    throw error;
  }
  throw new Error('expected a DynamoDbError');
}

/** The DynamoDbError an async DynamoDB-layer call rejects with; anything else is rethrown, resolving fails the test. */
export async function dynamoDbRejection(promise: Promise<unknown>): Promise<DynamoDbError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DynamoDbError) return error;
    throw error;
  }
  throw new Error('expected a DynamoDbError');
}
