/**
 * The two ways ringtable speaks DynamoDB's wire protocol, behind one
 * interface so that one test file runs against both: the in-process SDK
 * request handler and serve() over HTTP on 127.0.0.1. Each also sends raw
 * requests, for what the SDK would never send.
 */
import * as http from 'node:http';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { DynamoDbDispatcher } from '../../lib/dynamodb/dispatcher.js';
import { createRequestHandler, type InProcessRequestHandler } from '../../lib/dynamodb/request-handler.js';
import type { SigningCredentials } from '../../lib/dynamodb/wire-message.js';
import { serve, type DynamoDbServer } from '../../lib/server/serve.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

export const TEST_CREDENTIALS: SigningCredentials = { accessKeyId: 'AKIDRINGTABLETEST', secretAccessKey: 'ringtable-test-secret' };
export const TEST_REGION = 'us-east-1';

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface RawResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Transport {
  readonly name: 'in-process' | 'http';
  client(config?: Partial<DynamoDBClientConfig>): DynamoDBClient;
  raw(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

/** Records what reached it and answers with what the test sets. */
export class ScriptedDispatcher implements DynamoDbDispatcher {
  readonly calls: Array<{ operation: string; input: Record<string, unknown> }> = [];
  answer: (operation: string, input: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown> =
    () => ({});

  async dispatch(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.calls.push({ operation, input });
    return this.answer(operation, input);
  }

  last(): { operation: string; input: Record<string, unknown> } {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error('the dispatcher was not called');
    return call;
  }
}

function clientConfig(extra: Partial<DynamoDBClientConfig>): DynamoDBClientConfig {
  return { region: TEST_REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1, ...extra };
}

export function inProcessTransport(dispatcher: DynamoDbDispatcher, credentials?: SigningCredentials): Transport {
  const handler: InProcessRequestHandler = createRequestHandler({ dispatcher, credentials });
  const clients: DynamoDBClient[] = [];
  return {
    name: 'in-process',
    client(config = {}) {
      const client = new DynamoDBClient(clientConfig({ requestHandler: handler, ...config }));
      clients.push(client);
      return client;
    },
    async raw(request) {
      const { response } = await handler.handle({
        method: request.method ?? 'POST',
        path: request.path ?? '/',
        query: {},
        headers: { host: 'localhost', ...lowerCase(request.headers ?? {}) },
        body: request.body,
      });
      return { statusCode: response.statusCode, headers: response.headers, body: Buffer.from(response.body) };
    },
    async close() {
      for (const client of clients) client.destroy();
    },
  };
}

function lowerCase(headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return lower;
}

export function rawHttp(server: DynamoDbServer, request: RawRequest, agent?: http.Agent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${request.path ?? '/'}`, {
      method: request.method ?? 'POST', headers: request.headers ?? {}, agent: agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers[name] = value;
        resolve({ statusCode: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

export async function httpTransport(dispatcher: DynamoDbDispatcher, credentials?: SigningCredentials): Promise<Transport> {
  const server = await serve({ dispatcher, port: 0, host: '127.0.0.1', credentials, env: {} });
  const clients: DynamoDBClient[] = [];
  return {
    name: 'http',
    client(config = {}) {
      const client = new DynamoDBClient(clientConfig({ endpoint: server.url, ...config }));
      clients.push(client);
      return client;
    },
    raw: (request) => rawHttp(server, request),
    async close() {
      for (const client of clients) client.destroy();
      await server.close();
    },
  };
}

export const TRANSPORTS = [
  { name: 'in-process', open: async (d: DynamoDbDispatcher, c?: SigningCredentials) => inProcessTransport(d, c) },
  { name: 'http', open: httpTransport },
] as const;
