/**
 * Fixed, SigV4-signed DynamoDB requests for the HTTP benchmarks: the bytes a
 * real SDK would send (headers, body, Authorization), signed once with
 * ringtable's own signer pieces (lib/dynamodb/signature-v4.ts), so a load
 * generator can replay them unchanged. The date is the time of signing: a
 * server that verifies signatures accepts them for 15 minutes.
 */
import { createHash, createHmac } from 'node:crypto';
import { basicDate, signingKey, stringsToSign, SIGNING_ALGORITHM, SIGNING_SERVICE } from '../../lib/dynamodb/signature-v4.js';

export const BENCH_CREDENTIALS = { accessKeyId: 'AKIDRINGTABLEBENCH', secretAccessKey: 'ringtable-bench-secret' };
export const BENCH_REGION = 'us-east-1';

export interface SignedRequest {
  operation: string;
  headers: Record<string, string>;
  body: string;
}

export function signedRequest(host: string, operation: string, input: unknown, nowMs: number): SignedRequest {
  const body = JSON.stringify(input);
  const amzDate = basicDate(nowMs);
  const headers: Record<string, string> = {
    host,
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': `DynamoDB_20120810.${operation}`,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
  };
  const signedHeaders = Object.keys(headers).sort().join(';');
  const scope = `${amzDate.slice(0, 8)}/${BENCH_REGION}/${SIGNING_SERVICE}/aws4_request`;
  const { stringToSign } = stringsToSign({ method: 'POST', path: '/', query: '', headers, body: Buffer.from(body) }, { signedHeaders, amzDate, scope });
  const key = signingKey(BENCH_CREDENTIALS.secretAccessKey, amzDate.slice(0, 8), BENCH_REGION, SIGNING_SERVICE);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers['authorization'] = `${SIGNING_ALGORITHM} Credential=${BENCH_CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { operation, headers, body };
}

/** Sends one signed request with fetch and returns its parsed answer; throws on a non-200 status. */
export async function send(url: string, operation: string, input: unknown): Promise<Record<string, unknown>> {
  const request = signedRequest(new URL(url).host, operation, input, Date.now());
  const { host: _host, ...headers } = request.headers;
  const response = await fetch(url, { method: 'POST', headers, body: request.body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${operation}: HTTP ${response.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}
