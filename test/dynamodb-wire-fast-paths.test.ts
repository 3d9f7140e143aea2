/**
 * The wire layer's shortcuts answer exactly as the plain code they replace:
 * the hand-split Authorization header against the regular expression split
 * (`split(/,| /)`, architect/dynalite index.js), the once-a-second Date
 * header against `toUTCString()`, and in serve() a body read in several
 * chunks against one chunk, and repeated request headers that node:http
 * keeps as an array.
 */
import * as http from 'node:http';
import fc from 'fast-check';
import t from 'tap';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { httpDate } from '../lib/dynamodb/protocol.js';
import { readSignature } from '../lib/dynamodb/signature-v4.js';
import type { WireRequest } from '../lib/dynamodb/wire-message.js';
import { serve, type DynamoDbServer } from '../lib/server/serve.js';
import { ScriptedDispatcher } from './helpers/dynamodb-transports.js';

/** The Authorization parameters as the regular expression split reads them (the code the hand split replaced). */
function referenceParams(authorization: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const piece of authorization.split(/,| /).slice(1)) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    if (equals < 0) params.set(piece.trim(), '');
    else params.set(piece.slice(0, equals).trim(), piece.slice(equals + 1));
  }
  return params;
}

function wire(authorization: string): WireRequest {
  return { method: 'POST', path: '/', query: '', headers: { authorization, 'x-amz-date': '20261206T080000Z' }, body: new Uint8Array(0) };
}

t.test('the hand-split Authorization header reads as the regular expression split does', async (t) => {
  const piece = fc.string({ unit: fc.constantFrom('A', 'W', 'S', '4', '-', '=', ',', ' ', '\t', '/', ';', 'C', 'r', 'e', 'd', 'n', 't', 'i', 'a', 'l'), maxLength: 12 });
  const names = fc.constantFrom('Credential', 'Signature', 'SignedHeaders', 'Other');
  const header = fc.tuple(
    fc.constantFrom('AWS4-HMAC-SHA256', ' AWS4-HMAC-SHA256', 'AWS4-X', '\tAWS4-HMAC-SHA256'),
    fc.array(fc.tuple(fc.constantFrom(' ', ',', ', ', ',  ', ''), names, fc.constantFrom('=', ' =', ''), piece), { maxLength: 5 }),
  ).map(([algorithm, parts]) => algorithm + parts.map(([sep, name, eq, value]) => `${sep}${name}${eq}${value}`).join(''));
  t.doesNotThrow(() => fc.assert(fc.property(header, (authorization) => {
    const parsed = readSignature(wire(authorization));
    const reference = referenceParams(authorization);
    const complete = ['Credential', 'Signature', 'SignedHeaders'].every((name) => reference.get(name));
    if (!complete) return parsed instanceof DynamoDbError && parsed.name === 'IncompleteSignatureException';
    return !(parsed instanceof DynamoDbError) &&
      parsed.credential === reference.get('Credential') && parsed.signature === reference.get('Signature') &&
      parsed.signedHeaders === reference.get('SignedHeaders') && parsed.algorithm === authorization.trim().split(/\s/)[0];
  }), { numRuns: 2000 }));
});

t.test("the Date header is the request time's toUTCString, one string per second", async (t) => {
  t.doesNotThrow(() => fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 0, max: 2500 }), (ms, laterMs) => {
    return httpDate(ms) === new Date(ms).toUTCString() && httpDate(ms + laterMs) === new Date(ms + laterMs).toUTCString();
  })));
  t.equal(httpDate(1_000_999), httpDate(1_000_000), 'the same second, the same string');
});

function post(server: DynamoDbServer, headers: http.OutgoingHttpHeaders | string[], chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(server.url, { method: 'POST', headers }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(parts).toString() }));
    });
    request.on('error', reject);
    // Each write flushed on its own, so that the server reads the body in several chunks.
    const writeNext = (i: number): void => {
      if (i === chunks.length) return void request.end();
      request.write(chunks[i]!, () => setTimeout(() => writeNext(i + 1), 5));
    };
    writeNext(0);
  });
}

t.test('serve(): a body in several chunks and repeated headers are read as one chunk and single headers are', async (t) => {
  const dispatcher = new ScriptedDispatcher();
  dispatcher.answer = (_operation, input) => ({ Item: { echo: { S: JSON.stringify(input) } } });
  const server = await serve({ dispatcher, port: 0, env: {} });
  t.teardown(() => server.close());
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const headers = {
    'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', 'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=AKID/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`,
  };
  const body = JSON.stringify({ TableName: 'table', Key: { k: { S: 'a'.repeat(3000) } } });
  const whole = await post(server, headers, [body]);
  t.equal(whole.status, 200);
  const pieces = [body.slice(0, 7), body.slice(7, 1500), body.slice(1500)];
  const chunked = await post(server, { ...headers, 'transfer-encoding': 'chunked' }, pieces);
  t.same(chunked, whole, 'the same answer from a body that came in pieces');
  // node:http keeps repeated set-cookie headers as an array; the protocol still reads string headers.
  // Raw header lists get no Host from node:http's client, and node:http's server answers 400 without one.
  const raw = Object.entries(headers).flat().concat(['host', new URL(server.url).host, 'set-cookie', 'a=1', 'set-cookie', 'b=2',
    'content-length', String(Buffer.byteLength(body))]);
  const repeated = await post(server, raw, [body]);
  t.same(repeated, whole, 'the same answer with repeated headers');
  t.equal(dispatcher.calls.length, 3);
});
