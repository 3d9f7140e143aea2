/**
 * DynamoDB's wire API over HTTP on node:http: `POST /` with DynamoDB's JSON
 * 1.0 protocol (lib/dynamodb/protocol.ts), keep-alive, the 413 answer for
 * bodies over DynamoDB's limit, and a graceful close.
 *
 * Security: it binds 127.0.0.1 by default. Any other address exposes the
 * database beyond this machine, so it then needs credentials (options, or
 * RINGTABLE_ACCESS_KEY_ID and RINGTABLE_SECRET_ACCESS_KEY) and verifies
 * every request's SigV4 signature; without them it refuses to start.
 */
import * as http from 'node:http';
import { ErrorCode, RingtableError } from '../errors.js';
import type { DynamoDbDispatcher } from '../dynamodb/dispatcher.js';
import { errorBody } from '../dynamodb/error-body.js';
import { encodeJsonBody } from '../dynamodb/json-body.js';
import { answerRequest, INTERNAL_ERROR_MESSAGE, REQUEST_BYTES_MAX } from '../dynamodb/protocol.js';
import { newRequestId } from '../dynamodb/request-id.js';
import type { SigningCredentials, WireRequest, WireResponse } from '../dynamodb/wire-message.js';
import { listen } from './listen.js';

/** DynamoDB Local's port, so that tools configured for it find ringtable. */
export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const ACCESS_KEY_ID_ENV = 'RINGTABLE_ACCESS_KEY_ID';
export const SECRET_ACCESS_KEY_ENV = 'RINGTABLE_SECRET_ACCESS_KEY';

export interface ServeOptions {
  /** What executes operations: a Database, or any DynamoDbDispatcher. */
  database?: DynamoDbDispatcher;
  dispatcher?: DynamoDbDispatcher;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Verify every request's signature against these. Required off loopback. */
  credentials?: SigningCredentials;
  /** Where RINGTABLE_ACCESS_KEY_ID and RINGTABLE_SECRET_ACCESS_KEY are read; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Bound on the request bytes held in memory at once across all connections
   * (each body may be up to DynamoDB's 16 MB). Past it, requests are answered
   * 503 ServiceUnavailable, which the SDK retries after a backoff.
   */
  bufferedBytesMax?: number;
  /** Bound on open connections (node:http maxConnections). */
  connectionsMax?: number;
  /** How long close() waits for requests in flight before it cuts connections. */
  closeTimeoutMs?: number;
  /** A request that has not arrived whole by then is cut (node:http requestTimeout). */
  requestTimeoutMs?: number;
  clockMs?: () => number;
  onInternalError?: (error: unknown) => void;
  /** Routes served next to DynamoDB's endpoint: the inspector (inspector.ts), on loopback only. */
  inspector?: MountedRoutes;
}

/** Routes mounted beside `POST /` (the inspector's /inspector/); every other request is DynamoDB's. */
export interface MountedRoutes {
  handles(req: http.IncomingMessage): boolean;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Ends long-lived responses (event streams), so that the server's close does not wait for them. */
  close(): void;
}

export interface DynamoDbServer {
  /** http://host:port, for the SDK's `endpoint`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Whether signatures are verified. */
  readonly verifiesSignatures: boolean;
  /** Stops accepting, answers what is in flight, then resolves. */
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

/** The credentials to verify with, from the options or the environment; throws when only half are given. */
export function resolveCredentials(options: ServeOptions): SigningCredentials | undefined {
  if (options.credentials !== undefined) {
    if (!options.credentials.accessKeyId || !options.credentials.secretAccessKey) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'serve: credentials need both accessKeyId and secretAccessKey');
    }
    return options.credentials;
  }
  const env = options.env ?? process.env;
  const accessKeyId = env[ACCESS_KEY_ID_ENV];
  const secretAccessKey = env[SECRET_ACCESS_KEY_ENV];
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS,
      `serve: set both ${ACCESS_KEY_ID_ENV} and ${SECRET_ACCESS_KEY_ENV}, or neither`);
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * node:http's headers as the protocol reads them: lower-case names, string
 * values. node:http already joins repeated headers into one string except a
 * few (set-cookie) it keeps as arrays, so the object is used as it is unless
 * one of those came.
 */
function wireHeaders(headers: http.IncomingHttpHeaders): Readonly<Record<string, string | undefined>> {
  for (const name in headers) {
    if (Array.isArray(headers[name])) return flatHeaders(headers);
  }
  return headers as Readonly<Record<string, string | undefined>>;
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return flat;
}

export const DEFAULT_BUFFERED_BYTES_MAX = 16 * REQUEST_BYTES_MAX;
export const DEFAULT_CONNECTIONS_MAX = 1024;
/** DynamoDB's 503 and its description (Developer Guide: Programming.Errors, "Service Unavailable (HTTP 503)"). */
const SERVICE_UNAVAILABLE_MESSAGE = 'DynamoDB is currently unavailable. (This should be a temporary state.)';

function jsonErrorResponse(statusCode: number, name: string, message: string): WireResponse {
  const body = encodeJsonBody(errorBody(name, message));
  return {
    statusCode,
    headers: { 'x-amzn-RequestId': newRequestId(), 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': String(body.byteLength) },
    body,
  };
}

function internalErrorResponse(): WireResponse {
  return jsonErrorResponse(500, 'InternalServerError', INTERNAL_ERROR_MESSAGE);
}

/** A request read whole, waiting for its turn's batch to be answered (HttpEndpoint.arrive). */
interface ArrivedRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Uint8Array;
  release(): void;
}

/** The most requests answered together in one turn; a batch this large is answered as it arrives. */
export const ARRIVED_PER_TURN_MAX = 256;

/** A request's 'error' (a client gone mid-body) needs a listener, but nothing to do: one shared, not one per request. */
const ignoreError = (): void => {};

/** The node:http request listener: reads bodies within their bounds and answers through the protocol core. */
class HttpEndpoint {
  /** Request bytes held by all connections now; bounded by bufferedBytesMax. */
  private bufferedBytes = 0;
  /** Requests read whole in this turn of the event loop, not yet answered (arrive()). */
  private arrived: ArrivedRequest[] = [];
  private answerScheduled = false;
  closing = false;

  constructor(
    private readonly dispatcher: DynamoDbDispatcher,
    private readonly credentials: SigningCredentials | undefined,
    private readonly bufferedBytesMax: number,
    private readonly clockMs: () => number,
    private readonly onInternalError: ((error: unknown) => void) | undefined,
    private readonly mounted: MountedRoutes | undefined,
  ) {}

  readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (this.mounted !== undefined && this.mounted.handles(req)) return this.mounted.handle(req, res);
    req.on('error', ignoreError); // a client gone mid-body; node:http closes its socket
    if (Number(req.headers['content-length']) > REQUEST_BYTES_MAX) {
      req.resume();
      this.tooLarge(res);
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let rejected = false;
    const release = (): void => {
      this.bufferedBytes -= bytes;
      bytes = 0;
      chunks.length = 0;
    };
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      const refusal = this.refusal(bytes + chunk.length, chunk.length);
      if (refusal !== undefined) {
        rejected = true;
        release();
        refusal(res);
        return;
      }
      bytes += chunk.length;
      this.bufferedBytes += chunk.length;
      chunks.push(chunk);
    });
    req.on('close', () => { if (!rejected) release(); });
    req.on('end', () => {
      // Most bodies arrive in one chunk: it is used as is, not copied.
      if (!rejected) this.arrive({ req, res, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes), release });
    });
  };

  /**
   * Requests whose bodies arrived in this turn of the event loop wait for its
   * check phase (setImmediate) and are then answered together, in arrival
   * order. node:http ends each body in its own callback, after which the
   * engine publishes that request's messages to the storage-node threads
   * (one publish, and a wake of a sleeping thread, per node per microtask
   * checkpoint: transport/node-link.ts); answered together, the requests of
   * one turn share one publish per node. A turn's batch is bounded: past
   * ARRIVED_PER_TURN_MAX the batch is answered at once.
   */
  private arrive(request: ArrivedRequest): void {
    this.arrived.push(request);
    if (this.arrived.length >= ARRIVED_PER_TURN_MAX) return this.answerArrived();
    if (this.answerScheduled) return;
    this.answerScheduled = true;
    setImmediate(this.answerArrived);
  }

  private readonly answerArrived = (): void => {
    this.answerScheduled = false;
    const arrived = this.arrived;
    if (arrived.length === 0) return;
    this.arrived = [];
    for (const { req, res, body, release } of arrived) void this.answer(req, res, body).finally(release);
  };

  /** Why a body that has grown to `requestBytes` cannot be read further, as the answer to give. */
  private refusal(requestBytes: number, chunkBytes: number): ((res: http.ServerResponse) => void) | undefined {
    if (requestBytes > REQUEST_BYTES_MAX) return (res) => this.tooLarge(res);
    if (this.bufferedBytes + chunkBytes > this.bufferedBytesMax) {
      return (res) => this.send(res, jsonErrorResponse(503, 'ServiceUnavailable', SERVICE_UNAVAILABLE_MESSAGE), true);
    }
    return undefined;
  }

  private tooLarge(res: http.ServerResponse): void {
    // DynamoDB answers 413 with an empty chunked body (dynalite test/connection.js
    // 'should return 413 if request too large'); the rest of the upload is not read.
    if (res.headersSent || res.destroyed) return;
    res.writeHead(413, { 'Transfer-Encoding': 'chunked', Connection: 'close' });
    res.end();
  }

  private send(res: http.ServerResponse, answer: WireResponse, closeConnection = false): void {
    if (res.headersSent || res.destroyed) return;
    // The answer's headers are this request's own: marked in place, not copied.
    if (this.closing || closeConnection) answer.headers['Connection'] = 'close';
    res.writeHead(answer.statusCode, answer.headers);
    res.end(answer.body);
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, body: Uint8Array): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const wire: WireRequest = {
      method: req.method ?? 'GET',
      path: queryAt < 0 ? url : url.slice(0, queryAt),
      query: queryAt < 0 ? '' : url.slice(queryAt + 1),
      headers: wireHeaders(req.headers),
      body,
    };
    let response: WireResponse;
    try {
      response = await answerRequest(wire, {
        dispatcher: this.dispatcher, requestId: newRequestId(), nowMs: this.clockMs(), credentials: this.credentials,
        onInternalError: this.onInternalError,
      });
    } catch (error) {
      this.onInternalError?.(error);
      response = internalErrorResponse();
    }
    this.send(res, response);
  }
}

function checkedOptions(options: ServeOptions): { dispatcher: DynamoDbDispatcher; host: string; credentials: SigningCredentials | undefined } {
  const dispatcher = options.database ?? options.dispatcher;
  if (dispatcher === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'serve: give a database (or a dispatcher)');
  const host = options.host ?? DEFAULT_HOST;
  const credentials = resolveCredentials(options);
  if (!isLoopback(host) && credentials === undefined) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS,
      `serve: refusing to bind ${host} without credentials: any machine that reaches it could read and write the ` +
      `database. Give --access-key-id and --secret-access-key (or set ${ACCESS_KEY_ID_ENV} and ` +
      `${SECRET_ACCESS_KEY_ENV}) so that every request's signature is verified, or bind 127.0.0.1.`);
  }
  if (options.inspector !== undefined && !isLoopback(host)) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `serve: refusing to serve the inspector on ${host}: it has no authentication; bind 127.0.0.1`);
  }
  return { dispatcher, host, credentials };
}

/** Closes gracefully: stop accepting, let requests in flight finish, cut what is left after the timeout. */
function closeServer(server: http.Server, endpoint: HttpEndpoint, closeTimeoutMs: number): Promise<void> {
  endpoint.closing = true;
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), closeTimeoutMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function serve(options: ServeOptions): Promise<DynamoDbServer> {
  const { dispatcher, host, credentials } = checkedOptions(options);
  const endpoint = new HttpEndpoint(dispatcher, credentials, options.bufferedBytesMax ?? DEFAULT_BUFFERED_BYTES_MAX,
    options.clockMs ?? Date.now, options.onInternalError, options.inspector);
  const server = http.createServer({ requestTimeout: options.requestTimeoutMs ?? 120_000 }, endpoint.onRequest);
  server.maxConnections = options.connectionsMax ?? DEFAULT_CONNECTIONS_MAX;
  const address = await listen(server, options.port ?? DEFAULT_PORT, host);
  let closed: Promise<void> | undefined;
  return {
    url: address.origin,
    host: address.address,
    port: address.port,
    verifiesSignatures: credentials !== undefined,
    close() {
      options.inspector?.close();
      closed ??= closeServer(server, endpoint, options.closeTimeoutMs ?? 5000);
      return closed;
    },
  };
}
