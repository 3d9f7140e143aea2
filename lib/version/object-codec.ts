/**
 * The one home of a version's stored and wire form, and of the opaque
 * context string users hold between a read and a write.
 *
 * Object, as msgpack (plain arrays, no records, so the bytes depend only on
 * the object and stay compact):
 *
 *   [[actor, counter, timestampMs, [[value(bin), timestampMs, expiresAtMs, tombstone 1|0], ...]], ...]
 *
 * entries sorted by actor, siblings newest first (see dotted-version-vector.ts).
 * Values are the user's already-encoded bytes, written as bin and never
 * re-encoded.
 *
 * Context, as base64url of msgpack [[actor, counter], ...] sorted by actor.
 * It comes back from users, so anything malformed is their mistake
 * (ERR_INVALID_CONTEXT); a malformed stored object is ours (AssertionError).
 */
import assert from 'node:assert';
import { Packr } from 'msgpackr';
import { ErrorCode, RingtableError } from '../errors.js';
import { assertWellFormed, type CausalContext, type ClockEntry, type Sibling, type VersionedObject } from './dotted-version-vector.js';

// useRecords: false keeps msgpackr's record extension out, so the format is
// plain msgpack that any decoder reads and that does not depend on state
// shared between calls. copyBuffers: false is the default, spelled out
// because decodeObject relies on it (see there).
const packr = new Packr({ useRecords: false, copyBuffers: false, moreTypes: false });

const ENTRY_FIELDS = 4;
const SIBLING_FIELDS = 4;

/**
 * A bound on what we parse from a user (TIGER_STYLE: a limit on everything):
 * far above a real context, whose size `truncate` bounds in entries.
 */
export const CONTEXT_CHARS_MAX = 65_536;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeObject(obj: VersionedObject): Uint8Array {
  assertWellFormed(obj);
  const entries: unknown[] = new Array(obj.entries.length);
  for (let i = 0; i < obj.entries.length; i++) {
    const entry = obj.entries[i]!;
    const siblings: unknown[] = new Array(entry.siblings.length);
    for (let k = 0; k < entry.siblings.length; k++) {
      const sibling = entry.siblings[k]!;
      siblings[k] = [sibling.value, sibling.timestampMs, sibling.expiresAtMs, sibling.tombstone ? 1 : 0];
    }
    entries[i] = [entry.actor, entry.counter, entry.timestampMs, siblings];
  }
  return packr.pack(entries);
}

/**
 * Throws an AssertionError if `bytes` is not an object encodeObject wrote:
 * stored versions are ours, so corruption is a bug or a broken disk, not a
 * user's mistake.
 *
 * The returned values are views into `bytes`, not copies, because this runs
 * on every read and a copy per sibling would double the allocation. The
 * caller must own `bytes` for as long as the object lives: copy first any
 * buffer that is reused afterwards (lmdb's getBinaryFast, a transport's
 * receive ring).
 */
export function decodeObject(bytes: Uint8Array): VersionedObject {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (error) {
    assert.fail(`stored version is not valid msgpack: ${(error as Error).message}`);
  }
  assert(Array.isArray(raw), 'stored version must be an array of entries');
  const entries: ClockEntry[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) entries[i] = decodeEntry(raw[i]);
  const obj: VersionedObject = { entries };
  assertWellFormed(obj);
  return obj;
}

function decodeEntry(raw: unknown): ClockEntry {
  assert(Array.isArray(raw) && raw.length === ENTRY_FIELDS, 'stored entry must be [actor, counter, timestampMs, siblings]');
  const rawSiblings: unknown = raw[3];
  assert(Array.isArray(rawSiblings), 'stored entry siblings must be an array');
  const siblings: Sibling[] = new Array(rawSiblings.length);
  for (let k = 0; k < rawSiblings.length; k++) siblings[k] = decodeSibling(rawSiblings[k]);
  return { actor: raw[0], counter: raw[1], timestampMs: raw[2], siblings };
}

function decodeSibling(raw: unknown): Sibling {
  assert(Array.isArray(raw) && raw.length === SIBLING_FIELDS, 'stored sibling must be [value, timestampMs, expiresAtMs, tombstone]');
  const tombstone: unknown = raw[3];
  assert(tombstone === 0 || tombstone === 1, 'stored sibling tombstone must be 0 or 1');
  // Number fields and the value's type are checked by assertWellFormed.
  return { value: raw[0], timestampMs: raw[1], expiresAtMs: raw[2], tombstone: tombstone === 1 };
}

/** Opaque to users: they hand it back unchanged on their next write. */
export function encodeContext(ctx: CausalContext): string {
  assert(isValidContext(ctx), 'context must be sorted, distinct, non-negative integer pairs');
  return packr.pack(ctx).toString('base64url');
}

/** Anything that encodeContext did not produce throws ERR_INVALID_CONTEXT. */
export function decodeContext(text: string): CausalContext {
  if (typeof text !== 'string' || text.length > CONTEXT_CHARS_MAX || !BASE64URL.test(text) || text.length % 4 === 1) {
    throw invalidContext('context is not a base64url string of a valid length');
  }
  let raw: unknown;
  try {
    raw = packr.unpack(Buffer.from(text, 'base64url'));
  } catch (error) {
    throw invalidContext('context is not valid msgpack', error);
  }
  if (!isValidContext(raw)) throw invalidContext('context is not a sorted list of [actor, counter] pairs');
  return raw;
}

function isValidContext(raw: unknown): raw is CausalContext {
  if (!Array.isArray(raw)) return false;
  let actorPrevious = -1;
  for (const pair of raw) {
    if (!Array.isArray(pair) || pair.length !== 2) return false;
    const [actor, counter] = pair as unknown[];
    if (!isNonNegativeInteger(actor) || !isNonNegativeInteger(counter)) return false;
    if (actor <= actorPrevious) return false;
    actorPrevious = actor;
  }
  return true;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function invalidContext(message: string, cause?: unknown): RingtableError {
  return new RingtableError(ErrorCode.INVALID_CONTEXT, message, undefined, { cause });
}
