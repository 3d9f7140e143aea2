/**
 * AWS Signature Version 4 on DynamoDB requests: first whether an
 * Authorization header (or presigned query) is present and complete, which
 * DynamoDB checks on every request; then, when the server holds credentials,
 * the signature itself (AWS General Reference: "Create a signed AWS API
 * request": canonical request, string to sign, HMAC-SHA256 key chain).
 *
 * DynamoDB's messages and the order of its checks are from
 * architect/dynalite index.js (its comments record DynamoDB's answers, in
 * the order DynamoDB checks them) and test/connection.js (recorded against
 * DynamoDB). Time is passed in, so the module stays pure.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { DynamoDbError } from '../tables/dynamodb-error.js';
import type { SigningCredentials, WireRequest } from './wire-message.js';

export const SIGNING_ALGORITHM = 'AWS4-HMAC-SHA256';
export const SIGNING_SERVICE = 'dynamodb';
/** How far a request's date may be from the server's clock (AWS: 15 minutes). */
export const CLOCK_SKEW_MS_MAX = 15 * 60 * 1000;

/** What a signature is made of, from the Authorization header or the presigned query. */
interface SignatureParts {
  algorithm: string;
  credential: string;
  signedHeaders: string;
  signature: string;
  /** x-amz-date (or X-Amz-Date in the query), else the Date header. */
  date: string;
  dateFromHeader: 'x-amz-date' | 'date' | 'query';
}

function header(request: WireRequest, name: string): string | undefined {
  return request.headers[name];
}

const LEADING_WORD = /^\s*(\S*)/;
/** Most requests have no query: one shared, never-modified empty one saves parsing "". */
const NO_QUERY: Readonly<URLSearchParams> = new URLSearchParams();

/** The three Authorization parameters DynamoDB requires; '' for one that is absent or empty. */
interface AuthorizationParams {
  credential: string;
  signedHeaders: string;
  signature: string;
}

/**
 * The Authorization header's `Name=value` pieces after the algorithm, split at
 * every comma and space as architect/dynalite index.js does (`split(/,| /)`,
 * the first piece dropped; a later piece of the same name wins), by hand and
 * keeping only the three names DynamoDB requires: a regular expression split,
 * and then a Map of every piece, cost more than the rest of the presence checks.
 */
function authorizationParams(authorization: string): AuthorizationParams {
  const params: AuthorizationParams = { credential: '', signedHeaders: '', signature: '' };
  const length = authorization.length;
  // The next comma and the next space at or after `start`, found by indexOf (the header is ~200 characters
  // and has six separators) and looked for again only once passed.
  let comma = -1;
  let space = -1;
  let start = 0;
  let first = true;
  while (start <= length) {
    if (comma < start) comma = indexOrEnd(authorization, ',', start);
    if (space < start) space = indexOrEnd(authorization, ' ', start);
    const end = comma < space ? comma : space;
    const pieceStart = start;
    start = end + 1;
    if (first) {
      first = false;
      continue;
    }
    if (pieceStart === end) continue;
    const equals = authorization.indexOf('=', pieceStart);
    const nameEnd = equals < 0 || equals > end ? end : equals;
    const value = nameEnd === end ? '' : authorization.slice(nameEnd + 1, end);
    switch (authorization.slice(pieceStart, nameEnd).trim()) {
      case 'Credential': params.credential = value; break;
      case 'SignedHeaders': params.signedHeaders = value; break;
      case 'Signature': params.signature = value; break;
    }
  }
  return params;
}

/** Where `separator` next occurs at or after `from`; the text's length when it does not. */
function indexOrEnd(text: string, separator: string, from: number): number {
  const at = text.indexOf(separator, from);
  return at < 0 ? text.length : at;
}

/** Whether a request carries no signature at all: no Authorization header and no presigned query. */
export function isUnsigned(request: WireRequest): boolean {
  if (header(request, 'authorization')) return false;
  return request.query === '' || !new URLSearchParams(request.query).has('X-Amz-Algorithm');
}

/**
 * DynamoDB's checks that a signature is present and complete, made on every
 * request whether or not the server verifies signatures.
 */
export function readSignature(request: WireRequest): SignatureParts | DynamoDbError {
  const authorization = header(request, 'authorization') || undefined; // an empty header is no header (dynalite index.js)
  const query = request.query === '' ? NO_QUERY : new URLSearchParams(request.query);
  const presigned = query.has('X-Amz-Algorithm');
  if (authorization !== undefined && presigned) {
    return new DynamoDbError('InvalidSignatureException',
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  // The first word of the header, as trim().split(/\s/)[0] gives it without splitting the whole header.
  const algorithm = authorization === undefined ? undefined : LEADING_WORD.exec(authorization)![1]!;
  if ((authorization === undefined && !presigned) || (algorithm !== undefined && !algorithm.startsWith('AWS4-'))) {
    return new DynamoDbError('MissingAuthenticationTokenException', 'Request is missing Authentication Token');
  }
  let message = '';
  if (authorization !== undefined) {
    const params = authorizationParams(authorization);
    if (params.credential === '') message += "Authorization header requires 'Credential' parameter. ";
    if (params.signature === '') message += "Authorization header requires 'Signature' parameter. ";
    if (params.signedHeaders === '') message += "Authorization header requires 'SignedHeaders' parameter. ";
    const amzDate = header(request, 'x-amz-date');
    const date = header(request, 'date');
    if (!amzDate && !date) message += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    if (message !== '') return new DynamoDbError('IncompleteSignatureException', message + 'Authorization=' + authorization);
    return {
      algorithm: algorithm!,
      credential: params.credential,
      signedHeaders: params.signedHeaders,
      signature: params.signature,
      date: amzDate ? amzDate : date!,
      dateFromHeader: amzDate ? 'x-amz-date' : 'date',
    };
  }
  for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date']) {
    if (!query.get(name)) message += `AWS query-string parameters must include '${name}'. `;
  }
  if (message !== '') return new DynamoDbError('IncompleteSignatureException', message + 'Re-examine the query-string parameters.');
  return {
    algorithm: query.get('X-Amz-Algorithm')!,
    credential: query.get('X-Amz-Credential')!,
    signedHeaders: query.get('X-Amz-SignedHeaders')!,
    signature: query.get('X-Amz-Signature')!,
    date: query.get('X-Amz-Date')!,
    dateFromHeader: 'query',
  };
}

/** ISO 8601 basic format, as SigV4 dates are written: 20130609T095204Z. */
export function basicDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseBasicDate(date: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (m === null) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    const key = safeDecode(equals < 0 ? piece : piece.slice(0, equals));
    const value = equals < 0 ? '' : safeDecode(piece.slice(equals + 1));
    if (key === 'X-Amz-Signature') continue;
    pairs.push([encodeRfc3986(key), encodeRfc3986(value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalPath(path: string): string {
  return path.split('/').map((segment) => encodeRfc3986(safeDecode(segment))).join('/');
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** The canonical request and string to sign for these signature parts (AWS SigV4). */
export function stringsToSign(request: WireRequest, parts: { signedHeaders: string; amzDate: string; scope: string }): {
  canonicalRequest: string;
  stringToSign: string;
} {
  const names = parts.signedHeaders.split(';');
  const canonicalHeaders = names
    .map((name) => `${name}:${(header(request, name.toLowerCase()) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    request.method, canonicalPath(request.path), canonicalQuery(request.query), canonicalHeaders,
    parts.signedHeaders, sha256Hex(request.body),
  ].join('\n');
  const stringToSign = [SIGNING_ALGORITHM, parts.amzDate, parts.scope, sha256Hex(canonicalRequest)].join('\n');
  return { canonicalRequest, stringToSign };
}

/** Signing keys change once a day per region: a few are kept, so a request costs one HMAC, not five. */
const SIGNING_KEYS_MAX = 16;
const signingKeys = new Map<string, Buffer>();

export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = [secretAccessKey, date, region, service].join('\n');
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  const key = hmac(hmac(hmac(hmac('AWS4' + secretAccessKey, date), region), service), 'aws4_request');
  if (signingKeys.size >= SIGNING_KEYS_MAX) signingKeys.delete(signingKeys.keys().next().value!);
  signingKeys.set(cacheKey, key);
  return key;
}

function credentialScopeErrors(pieces: string[], amzDate: string): string {
  const [, scopeDate, region, service, terminator] = pieces as [string, string, string, string, string];
  const errors: string[] = [];
  if (!/^[a-z0-9-]+$/i.test(region)) errors.push(`Credential should be scoped to a valid region, not '${region}'.`);
  if (service !== SIGNING_SERVICE) errors.push(`Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`);
  if (terminator !== 'aws4_request') {
    errors.push(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    errors.push('Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
      `'${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  }
  return errors.join(' ');
}

/**
 * Verifies a request's signature against the server's credentials, in
 * DynamoDB's order of checks. Returns the error to answer, or undefined.
 */
export function verifySignature(
  request: WireRequest,
  parts: SignatureParts,
  credentials: SigningCredentials,
  nowMs: number,
): DynamoDbError | undefined {
  let dateMs = parseBasicDate(parts.date);
  if (dateMs === undefined && parts.dateFromHeader === 'date') {
    const parsed = Date.parse(parts.date);
    if (!Number.isNaN(parsed)) dateMs = parsed;
  }
  if (dateMs === undefined) {
    return new DynamoDbError('IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${parts.date}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  const amzDate = basicDate(dateMs);
  if (dateMs < nowMs - CLOCK_SKEW_MS_MAX) {
    return new DynamoDbError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ` +
      `${basicDate(nowMs - CLOCK_SKEW_MS_MAX)} (${basicDate(nowMs)} - 15 min.)`);
  }
  if (dateMs > nowMs + CLOCK_SKEW_MS_MAX) {
    return new DynamoDbError('InvalidSignatureException', `Signature not yet current: ${amzDate} is still later than ` +
      `${basicDate(nowMs + CLOCK_SKEW_MS_MAX)} (${basicDate(nowMs)} + 15 min.)`);
  }
  if (!parts.signedHeaders.toLowerCase().split(';').includes('host')) {
    return new DynamoDbError('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (parts.algorithm !== SIGNING_ALGORITHM) {
    return new DynamoDbError('IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${parts.algorithm}' (only ${SIGNING_ALGORITHM} for now). `);
  }
  const pieces = parts.credential.replace(/\/+$/, '').split('/');
  if (pieces.length !== 5) {
    return new DynamoDbError('IncompleteSignatureException', 'Credential must have exactly 5 slash-delimited elements, ' +
      `e.g. keyid/date/region/service/term, got '${parts.credential}'`);
  }
  const scopeErrors = credentialScopeErrors(pieces, amzDate);
  if (scopeErrors !== '') return new DynamoDbError('InvalidSignatureException', scopeErrors);
  if (pieces[0] !== credentials.accessKeyId) {
    return new DynamoDbError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const scope = pieces.slice(1).join('/');
  const { canonicalRequest, stringToSign } = stringsToSign(request, { signedHeaders: parts.signedHeaders, amzDate, scope });
  const expected = createHmac('sha256', signingKey(credentials.secretAccessKey, pieces[1]!, pieces[2]!, pieces[3]!))
    .update(stringToSign).digest('hex');
  const given = Buffer.from(parts.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
    return new DynamoDbError('InvalidSignatureException', 'The request signature we calculated does not match the ' +
      'signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation ' +
      `for details.\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\n` +
      `The String-to-Sign should have been\n'${stringToSign}'\n`);
  }
  const token = header(request, 'x-amz-security-token') ?? new URLSearchParams(request.query).get('X-Amz-Security-Token') ?? undefined;
  if (token !== undefined && token !== credentials.sessionToken) {
    return new DynamoDbError('UnrecognizedClientException', 'The security token included in the request is invalid');
  }
  return undefined;
}
