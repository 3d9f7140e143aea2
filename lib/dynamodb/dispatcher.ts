/**
 * The seam between DynamoDB's wire protocol (this folder, lib/server) and
 * whatever executes operations (the tables layer's Database). The protocol
 * layer hands over a request it has already type-checked against DynamoDB's
 * request shapes (./shapes.ts), with binary values (B, BS) decoded to
 * Uint8Array; the dispatcher answers with DynamoDB's response shape for that
 * operation, binary values again as Uint8Array, or rejects with a
 * DynamoDbError (lib/tables/dynamodb-error.ts) whose name and message go on
 * the wire unchanged. Any other rejection is answered as InternalServerError.
 */
export interface DynamoDbDispatcher {
  dispatch(operation: string, input: Record<string, unknown>, context?: DispatchContext): Promise<Record<string, unknown>>;
}

/** What the protocol layer knows of a request beyond its input. */
export interface DispatchContext {
  /** The request's Host header (DescribeEndpoints answers it). */
  host?: string | undefined;
}
