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

/**
 * Random bytes are drawn for many ids at once (one draw per id cost a third
 * of a request's time) and turned into the alphabet's letters in place, so
 * an id is one latin1 slice of the pool, the same letters requestIdFrom
 * would give for those bytes.
 */
const POOL_IDS = 64;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function refill(): void {
  pool = randomBytes(REQUEST_ID_LENGTH * POOL_IDS);
  for (let i = 0; i < pool.length; i++) pool[i] = ALPHABET.charCodeAt(pool[i]! % ALPHABET.length);
  poolOffset = 0;
}

export function newRequestId(): string {
  if (poolOffset + REQUEST_ID_LENGTH > pool.length) refill();
  const id = pool.toString('latin1', poolOffset, poolOffset + REQUEST_ID_LENGTH);
  poolOffset += REQUEST_ID_LENGTH;
  return id;
}
