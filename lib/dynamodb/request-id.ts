/**
 * DynamoDB's request ids: 52 characters from A-Z and 0-9 (dynalite
 * test/connection.js checks /^[0-9A-Z]{52}$/ against DynamoDB). The SDK
 * reports it as `$metadata.requestId`. The bytes are passed in; the caller
 * draws them from node:crypto.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const REQUEST_ID_LENGTH = 52;

export function requestIdFrom(bytes: Uint8Array): string {
  if (bytes.length < REQUEST_ID_LENGTH) throw new RangeError(`requestIdFrom: needs ${REQUEST_ID_LENGTH} bytes`);
  let id = '';
  // 256 is not a multiple of 36: the slight bias does not matter for an id.
  for (let i = 0; i < REQUEST_ID_LENGTH; i++) id += ALPHABET[bytes[i]! % ALPHABET.length];
  return id;
}

export function newRequestId(): string {
  return requestIdFrom(randomBytes(REQUEST_ID_LENGTH));
}
