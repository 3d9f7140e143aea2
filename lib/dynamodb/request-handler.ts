/**
 * An AWS SDK for JavaScript v3 request handler that answers in process:
 * `new DynamoDBClient({ region, credentials, requestHandler })`. The SDK
 * serialises, signs and retries as usual; instead of opening a socket, the
 * handler runs DynamoDB's protocol (./protocol.ts) against the dispatcher and
 * returns DynamoDB's exact HTTP response, so DocumentClient, paginators and
 * error classes work unchanged.
 *
 * The contract (/work/shared/aws-sdk-in-process.md §1, measured on SDK
 * 3.1178.0): any object with `handle(request, options?) => Promise<{ response }>`
 * (@smithy/types RequestHandler); the response body must be bytes, never a
 * string. ringtable imports nothing from the SDK: the user's SDK is used.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { DynamoDbDispatcher } from './dispatcher.js';
import { answerRequest } from './protocol.js';
import { newRequestId } from './request-id.js';
import type { SigningCredentials, WireRequest } from './wire-message.js';

/** The parts of the SDK's HttpRequest (@smithy/protocol-http) the handler reads. */
export interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | Array<string | null> | null> | undefined;
  headers: Record<string, string>;
  body?: unknown;
}

export interface SdkHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface InProcessRequestHandler {
  readonly metadata: { handlerProtocol: string };
  handle(request: SdkHttpRequest, options?: { abortSignal?: { aborted: boolean } }): Promise<{ response: SdkHttpResponse }>;
  updateHttpClientConfig(key: string, value: unknown): void;
  httpHandlerConfigs(): Record<string, unknown>;
  destroy(): void;
}

export interface RequestHandlerOptions {
  dispatcher: DynamoDbDispatcher;
  /** When set, every request's SigV4 signature is verified against these. */
  credentials?: SigningCredentials | undefined;
  /**
   * Answer requests that carry no signature (a client configured with the
   * SDK's smithy.api#noAuth scheme, which skips the SDK's signing work)
   * instead of answering MissingAuthenticationTokenException as DynamoDB
   * does. Off by default, so that db.requestHandler answers as DynamoDB;
   * not with credentials.
   */
  acceptUnsigned?: boolean;
  /** The clock signatures are checked against; Date.now by default. */
  clockMs?: () => number;
  onInternalError?: (error: unknown) => void;
}

/**
 * The request body as bytes. SDK 3.x sent a string, newer releases a
 * Uint8Array subclass whose string methods log a deprecation warning (and
 * Buffer.from(body) calls them), so the bytes are viewed, not copied.
 */
export function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('ringtable request handler: the request body is neither a string nor a Uint8Array');
}

function queryString(query: SdkHttpRequest['query']): string {
  if (query === undefined || query === null) return '';
  // The SDK sends DynamoDB's POSTs with an empty query object: skip URLSearchParams for them.
  let empty = true;
  for (const _ in query) {
    empty = false;
    break;
  }
  if (empty) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const v of value) params.append(key, v ?? '');
    else params.append(key, value ?? '');
  }
  return params.toString();
}

function hasUpperCase(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) return true;
  }
  return false;
}

/**
 * Header names in lower case; the SDK's already are, so most calls return
 * the object itself (the protocol only reads it). Names are checked without
 * allocating a lower-case copy of each.
 */
function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  let lower: Record<string, string> | undefined;
  for (const name in headers) {
    if (lower === undefined && !hasUpperCase(name)) continue;
    if (lower === undefined) {
      lower = {};
      for (const earlier in headers) {
        if (earlier === name) break;
        lower[earlier] = headers[earlier]!;
      }
    }
    lower[name.toLowerCase()] = headers[name]!;
  }
  return lower ?? headers;
}

/** The protocol's answer headers, spelled as DynamoDB spells them, as the SDK's handlers give them: lower case. */
const SDK_HEADER_NAMES: ReadonlyMap<string, string> = new Map(
  ['x-amzn-RequestId', 'Date', 'Content-Type', 'Content-Length', 'x-amz-crc32', 'Access-Control-Allow-Origin']
    .map((name) => [name, name.toLowerCase()]),
);

function sdkResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const name in headers) lower[SDK_HEADER_NAMES.get(name) ?? name.toLowerCase()] = headers[name]!;
  return lower;
}

export function createRequestHandler(options: RequestHandlerOptions): InProcessRequestHandler {
  if (options.acceptUnsigned === true && options.credentials !== undefined) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'createRequestHandler: acceptUnsigned and credentials exclude each other: with credentials every request must be signed');
  }
  const clockMs = options.clockMs ?? Date.now;
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request, handleOptions) {
      if (handleOptions?.abortSignal?.aborted) {
        const abort = new Error('Request aborted');
        abort.name = 'AbortError';
        throw abort;
      }
      const headers = lowerCaseHeaders(request.headers);
      const wire: WireRequest = {
        method: request.method, path: request.path, query: queryString(request.query), headers, body: bodyBytes(request.body),
      };
      const answer = await answerRequest(wire, {
        dispatcher: options.dispatcher, requestId: newRequestId(), nowMs: clockMs(),
        credentials: options.credentials, unsignedAccepted: options.acceptUnsigned, onInternalError: options.onInternalError,
      });
      return { response: { statusCode: answer.statusCode, headers: sdkResponseHeaders(answer.headers), body: answer.body } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
