/**
 * DynamoDB's JSON 1.0 protocol, socket-free: one request in, DynamoDB's exact
 * response out (status, headers, body), whatever carries the bytes (the
 * in-process SDK handler or the HTTP server). The order of the checks is
 * DynamoDB's, as architect/dynalite index.js reproduces it and its
 * test/connection.js records it against DynamoDB: body size, CORS, the GET
 * health answer, method and content type, JSON syntax, the target, the
 * signature, then the request's types, then the operation itself.
 *
 * Time, the request id and the dispatcher are passed in.
 */
import { DynamoDbError } from '../tables/dynamodb-error.js';
import { crc32 } from './crc32.js';
import type { DynamoDbDispatcher } from './dispatcher.js';
import { errorBody, errorStatus } from './error-body.js';
import { encodeJsonBody } from './json-body.js';
import { readRequest } from './serialization.js';
import { isUnsigned, readSignature, verifySignature } from './signature-v4.js';
import { operationOf } from './target.js';
import type { SigningCredentials, WireRequest, WireResponse } from './wire-message.js';

/** DynamoDB's request size limit: 16 MB (dynalite index.js MAX_REQUEST_BYTES; larger bodies get 413). */
export const REQUEST_BYTES_MAX = 16 * 1024 * 1024;
/** What DynamoDB answers to GET / (dynalite test/connection.js 'should return 200 if a GET'). */
export const HEALTH_BODY = 'healthy: dynamodb.us-east-1.amazonaws.com ';
/** DynamoDB's answer to a non-POST request or an unknown content type (dynalite test/connection.js `assert404`). */
export const NOT_FOUND_BODY = '<UnknownOperationException/>\n';
const JSON_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/x-amz-json-1.0']);
/** Seconds a browser may cache a CORS preflight answer (dynalite index.js, as DynamoDB answers). */
const CORS_MAX_AGE_S = 172800;
/**
 * Operations whose success DynamoDB answers with an empty body, not "{}"
 * (scylladb test/alternator/test_manual_requests.py
 * `test_tags_return_empty_body`, which runs against DynamoDB too).
 */
const EMPTY_BODY_OPERATIONS: ReadonlySet<string> = new Set(['TagResource', 'UntagResource']);
/**
 * The Developer Guide's description of InternalServerError (Programming.Errors, "Internal Server Error (HTTP
 * 500)"); the wire text itself is not recorded anywhere. It says nothing of ringtable's internals.
 */
export const INTERNAL_ERROR_MESSAGE = 'DynamoDB could not process your request.';

export interface ProtocolContext {
  dispatcher: DynamoDbDispatcher;
  /** 52 upper-case letters and digits, as DynamoDB's x-amzn-RequestId. */
  requestId: string;
  nowMs: number;
  /** When set, every request's SigV4 signature is verified against these. */
  credentials?: SigningCredentials | undefined;
  /**
   * Serve requests that carry no signature at all, as a client that opted
   * out of signing sends them (the SDK's smithy.api#noAuth scheme), instead
   * of DynamoDB's MissingAuthenticationTokenException. A signature that is
   * present is still checked. Only without credentials: the in-process
   * handler's option, where nothing crosses a trust boundary.
   */
  unsignedAccepted?: boolean | undefined;
  /** Called with a failure that was answered as InternalServerError, for logging. */
  onInternalError?: ((error: unknown) => void) | undefined;
}

/**
 * The Date header changes once a second: the last one is kept, since
 * formatting it on every request was a visible part of the protocol's time.
 */
let dateSecond = Number.NaN;
let dateText = '';

export function httpDate(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== dateSecond) {
    dateText = new Date(second * 1000).toUTCString();
    dateSecond = second;
  }
  return dateText;
}

function textBody(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function respond(statusCode: number, headers: Record<string, string>, body: Uint8Array, withCrc = true): WireResponse {
  if (withCrc) headers['x-amz-crc32'] = String(crc32(body));
  headers['Content-Length'] = String(body.byteLength);
  return { statusCode, headers, body };
}

function jsonResponse(statusCode: number, headers: Record<string, string>, contentType: string, value: unknown): WireResponse {
  headers['Content-Type'] = contentType;
  return respond(statusCode, headers, encodeJsonBody(value));
}

function errorResponse(error: DynamoDbError, headers: Record<string, string>, contentType: string): WireResponse {
  const extra: Record<string, unknown> = {};
  if (error.item !== undefined) extra['Item'] = error.item;
  if (error.cancellationReasons !== undefined) extra['CancellationReasons'] = error.cancellationReasons;
  // ThrottlingReasons on ProvisionedThroughputExceededException, throttlingReasons (lower case) on
  // ThrottlingException: the members of @aws-sdk/client-dynamodb 3.1178.0's model (API reference: ThrottlingReason).
  if (error.throttlingReasons !== undefined) extra[error.name === 'ThrottlingException' ? 'throttlingReasons' : 'ThrottlingReasons'] = error.throttlingReasons;
  return jsonResponse(errorStatus(error.name), headers, contentType, errorBody(error.name, error.message, extra));
}

/** fatal: a body that is not UTF-8 is not JSON, as for DynamoDB's parser. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(body: Uint8Array): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(utf8.decode(body)) };
  } catch {
    return undefined;
  }
}

/** The CORS answer to a preflight (OPTIONS with Origin): DynamoDB echoes what was asked. */
function preflight(request: WireRequest, headers: Record<string, string>): WireResponse {
  const askedHeaders = request.headers['access-control-request-headers'];
  const askedMethod = request.headers['access-control-request-method'];
  if (askedHeaders) headers['Access-Control-Allow-Headers'] = askedHeaders;
  if (askedMethod) headers['Access-Control-Allow-Methods'] = askedMethod;
  headers['Access-Control-Max-Age'] = String(CORS_MAX_AGE_S);
  return respond(200, headers, new Uint8Array(0), false);
}

export async function answerRequest(request: WireRequest, context: ProtocolContext): Promise<WireResponse> {
  if (request.body.byteLength > REQUEST_BYTES_MAX) return respond(413, {}, new Uint8Array(0), false);
  // The Date header lets the SDK correct a skewed clock after a "Signature expired" answer, as with DynamoDB.
  const headers: Record<string, string> = { 'x-amzn-RequestId': context.requestId, Date: httpDate(context.nowMs) };
  if (request.headers['origin']) {
    headers['Access-Control-Allow-Origin'] = '*';
    if (request.method === 'OPTIONS') return preflight(request, headers);
  }
  if (request.method === 'GET') return respond(200, headers, textBody(HEALTH_BODY));
  const rawType = request.headers['content-type'] ?? '';
  // What the SDKs send is taken as is; anything else is cut at its parameters.
  const contentType = JSON_CONTENT_TYPES.has(rawType) ? rawType : rawType.split(';')[0]!.trim();
  const hasBody = request.body.byteLength > 0;
  if (request.method !== 'POST' || (hasBody && !JSON_CONTENT_TYPES.has(contentType))) {
    return respond(404, headers, textBody(NOT_FOUND_BODY));
  }
  const responseType = contentType === 'application/x-amz-json-1.0' ? contentType : 'application/json';
  const fail = (error: DynamoDbError): WireResponse => errorResponse(error, headers, responseType);

  let json: unknown = undefined;
  if (hasBody) {
    const parsed = parseJson(request.body);
    if (parsed === undefined) return fail(new DynamoDbError('SerializationException', ''));
    json = parsed.value;
  }
  const operation = operationOf(request.headers['x-amz-target']);
  if (operation === undefined) return fail(new DynamoDbError('UnknownOperationException', ''));
  const unsigned = context.unsignedAccepted === true && context.credentials === undefined && isUnsigned(request);
  const signature = unsigned ? undefined : readSignature(request);
  if (signature instanceof DynamoDbError) return fail(signature);
  if (context.credentials !== undefined && signature !== undefined) {
    const invalid = verifySignature(request, signature, context.credentials, context.nowMs);
    if (invalid !== undefined) return fail(invalid);
  }
  // DynamoDB checks for a body only after the signature (dynalite index.js: "out of sync").
  if (!hasBody) return fail(new DynamoDbError('SerializationException', ''));

  try {
    const input = readRequest(operation, json);
    const output = await context.dispatcher.dispatch(operation, input, { host: request.headers['host'] });
    if (EMPTY_BODY_OPERATIONS.has(operation)) {
      headers['Content-Type'] = responseType;
      return respond(200, headers, new Uint8Array(0));
    }
    return jsonResponse(200, headers, responseType, output);
  } catch (error) {
    return failure(error, fail, context);
  }
}

/** A thrown error as DynamoDB's answer; anything but a well-formed DynamoDbError is an InternalServerError. */
function failure(error: unknown, fail: (error: DynamoDbError) => WireResponse, context: ProtocolContext): WireResponse {
  if (error instanceof DynamoDbError) {
    try {
      return fail(error);
    } catch (unserialisable) {
      error = unserialisable; // details the wire cannot carry, such as a bigint in its Item
    }
  }
  context.onInternalError?.(error);
  return fail(new DynamoDbError('InternalServerError', INTERNAL_ERROR_MESSAGE));
}
