/**
 * A put or delete as the coordinator sends it (operations.ts PutRequest):
 * the caller's key, value and options checked against the store's bounds,
 * the value encoded, and the new version's timestamp taken last; and its
 * answer, the context the next write passes back.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { Op, RequestFlag } from '../transport/wire.js';
import type { CausalContext } from '../version/dotted-version-vector.js';
import { decodeContext, encodeContext, joinOfBytes } from '../version/object-codec.js';
import type { PutRequest } from './operations.js';
import type { PutOptions } from './store-types.js';
import { type Key, encodeValue, keyByteLength, ownKey } from './value-codec.js';

/** Longest time to live (about 142,000 years): now + ttlMs stays a safe integer, which nodes require of an expiry. */
const TTL_MS_MAX = 2 ** 52;

export function putRequest(
  key: Key,
  value: unknown,
  options: PutOptions | undefined,
  flags: number,
  bounds: { keyBytesMax: number; valueBytesMax: number },
  clock: { nowMs(): number },
): PutRequest {
  keyByteLength(key, bounds.keyBytesMax);
  const valueBytes = flags & RequestFlag.TOMBSTONE ? new Uint8Array(0) : encodeValue(value, bounds.valueBytesMax);
  const ttlMs = ttlMsOf(options);
  const context = contextOf(options);
  const timestampMs = clock.nowMs();
  return {
    op: Op.PUT,
    key: ownKey(key),
    flags: flags | (context === undefined ? RequestFlag.BLIND : 0),
    context,
    value: valueBytes,
    timestampMs,
    expiresAtMs: expiresAtMsOf(timestampMs, ttlMs),
  };
}

/** A put's options checked to be an object (or absent), and their time to live checked: put's and putMany's checks, in this order. */
export function ttlMsOf(options: PutOptions | undefined): number | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'options must be an object');
  }
  const ttlMs = options?.ttlMs;
  if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > TTL_MS_MAX)) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `ttlMs must be a positive number up to ${TTL_MS_MAX}, got ${String(ttlMs)}`);
  }
  return ttlMs;
}

/** The causal context a put passes back, decoded (ttlMsOf checked `options` first). */
export function contextOf(options: PutOptions | undefined): CausalContext | undefined {
  return options?.context === undefined ? undefined : decodeContext(options.context);
}

export function expiresAtMsOf(timestampMs: number, ttlMs: number | undefined): number {
  return ttlMs === undefined ? 0 : Math.ceil(timestampMs + ttlMs);
}

/** A put's answer: the context of the coordinating node's object (Dynamo §4.4: a write returns what the next one passes back). */
export function contextOfObject(objectBytes: Uint8Array | undefined): string {
  return encodeContext(joinOfBytes(objectBytes!));
}
