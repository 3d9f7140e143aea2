/**
 * Versions of leader-ordered keys (lib/tables/DESIGN.md §3): the partition
 * leader orders every write of its term, and a replica keeps the greater
 * version, so replicas converge on the leader's order with no siblings.
 *
 * A leader-ordered value is stored as a DVVSet (dotted-version-vector.ts)
 * with one entry, of the reserved actor ORDERED_ACTOR, whose counter is the
 * version and whose one sibling is the value. DVVSet sync of two such objects
 * keeps the higher counter and drops the other value, so every mechanism
 * that merges objects (replication, read repair, hinted handoff,
 * anti-entropy, range moves, the purge and drop-if-covered rules) converges
 * on the greatest version unchanged, without knowing about leaders.
 *
 * The version is term * TERM_SPAN + sequence: the leader's term (which grows
 * on every leader change, and which nodes fence on) in the high part and its
 * per-term sequence in the low part, so versions grow across leader changes
 * and restarts (a restarted node leads again only under a new term). Within
 * a key the leader also takes at least the stored version + 1.
 *
 * Pure: no clocks, no randomness.
 */
import assert from 'node:assert/strict';
import type { Sibling, VersionedObject } from './dotted-version-vector.js';
import { ACTOR_NODE_RANGE } from './actor.js';

/**
 * Epoch 0 of the highest node id: no node ever mints with epoch 0 (a node's
 * epochs start past EPOCH_RESTART_MARGIN), so this actor never names a node's write.
 */
export const ORDERED_ACTOR = ACTOR_NODE_RANGE - 1;
/** Writes one leader may order per partition in one term; at the bound it asks for a new term. */
export const TERM_SPAN = 2 ** 24;
/** Terms that fit a safe integer version. */
export const TERM_MAX = Math.floor(Number.MAX_SAFE_INTEGER / TERM_SPAN) - 1;

export interface OrderedEntry {
  version: number;
  sibling: Sibling;
}

/** The one ordered entry of `object`, or undefined if it is not a leader-ordered object. */
export function orderedEntryOf(object: VersionedObject): OrderedEntry | undefined {
  if (object.entries.length !== 1) return undefined;
  const entry = object.entries[0]!;
  if (entry.actor !== ORDERED_ACTOR || entry.siblings.length !== 1) return undefined;
  return { version: entry.counter, sibling: entry.siblings[0]! };
}

export function orderedObject(version: number, sibling: Sibling): VersionedObject {
  assert.ok(Number.isSafeInteger(version) && version >= 1, 'an ordered version is a positive safe integer');
  return { entries: [{ actor: ORDERED_ACTOR, counter: version, timestampMs: sibling.timestampMs, siblings: [sibling] }] };
}

/** A value that counts as present: not a delete, not expired at `nowMs`. */
export function isLive(sibling: Sibling, nowMs: number): boolean {
  return !sibling.tombstone && !(sibling.expiresAtMs > 0 && sibling.expiresAtMs <= nowMs);
}

/** The leader's next version for a key whose stored version is `current` (0: none). */
export function nextVersion(current: number, term: number, sequence: number): number {
  assert.ok(Number.isSafeInteger(term) && term >= 1 && term <= TERM_MAX, 'term out of range');
  assert.ok(Number.isInteger(sequence) && sequence >= 1 && sequence < TERM_SPAN, 'sequence out of range');
  return Math.max(current + 1, term * TERM_SPAN + sequence);
}

/** The term a version was ordered in. */
export function termOfVersion(version: number): number {
  return Math.floor(version / TERM_SPAN);
}

/** Opaque to users (compare for equality only); decimal, so the simulation's checkers can order them. */
export function versionText(version: number): string {
  return version.toString(10);
}

/** The version a text names, or undefined if ringtable did not make it. */
export function parseVersion(text: string): number | undefined {
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const version = Number(text);
  return Number.isSafeInteger(version) ? version : undefined;
}
