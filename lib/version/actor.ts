/**
 * Who coordinated a write: an actor is a storage node in one of its epochs.
 *
 * A node takes a fresh epoch whenever it coordinates a write to a key whose
 * local clock does not show this node (the key is new here, or was purged or
 * expired, or truncation dropped the entry). Reusing the old actor would
 * restart its counter at 1 and mint dots that other replicas already hold for
 * an older version, which would then swallow the new write: Riak's KV679, and
 * its fix of a new actor epoch on a local not-found. Epochs are persisted in
 * the same LMDB transaction as the writes that use them, and bumped by a
 * margin at every start in case the last commits were lost to a power cut.
 *
 * A node that no longer holds a key has forgotten how far its actors got on
 * it, and the key can come back with one of those actors at a lower counter:
 * a REPLICATE from a replica that missed the purge, a repair, a handoff, or
 * an entry that a client's stale context planted on another replica (which
 * then replicates it here). Reusing that actor would mint again dots that
 * other replicas hold for older values (Riak's KV679 once more, through the
 * replica path): two replicas then hold equal clocks with different values,
 * and no merge can tell them apart. So a key taken in while absent opens a
 * fresh actor of this node on its clock (`adoptVersion`); from then on the
 * newest actor of this node on a key's clock is always one whose every dot
 * this node minted while holding the key, and `actorToReuse` takes only that.
 *
 * Pure: encoding and the choice of actor; the node passes its epoch counter
 * in as `freshActor`. actor = epoch * ACTOR_NODE_RANGE + nodeId, a safe integer.
 */
import assert from 'node:assert/strict';
import { openActor, type VersionedObject } from './dotted-version-vector.js';

/** Node ids are below this; epochs fill the rest of a safe integer (2^43 of them). */
export const ACTOR_NODE_RANGE = 1024;
export const EPOCH_MAX = Math.floor(Number.MAX_SAFE_INTEGER / ACTOR_NODE_RANGE);
/** Added to the stored epoch at every start: more than a lost flush window can have used. */
export const EPOCH_RESTART_MARGIN = 2 ** 20;

export function actorOf(nodeId: number, epoch: number): number {
  assert.ok(Number.isInteger(nodeId) && nodeId >= 0 && nodeId < ACTOR_NODE_RANGE, `node id ${nodeId} out of range`);
  assert.ok(Number.isInteger(epoch) && epoch >= 0 && epoch <= EPOCH_MAX, `epoch ${epoch} out of range`);
  return epoch * ACTOR_NODE_RANGE + nodeId;
}

export function nodeOfActor(actor: number): number {
  return actor % ACTOR_NODE_RANGE;
}

export function epochOfActor(actor: number): number {
  return Math.floor(actor / ACTOR_NODE_RANGE);
}

/**
 * The actor a coordinated write to this key reuses: the newest actor of
 * `nodeId` on the key's clock, or -1 when there is none and the node must
 * take a fresh epoch (the key is new here, purged, expired or truncated).
 * Newest is safe because epochs only grow and `adoptVersion` opens a fresh
 * one whenever the key came back from elsewhere.
 */
export function actorToReuse(local: VersionedObject | undefined, nodeId: number): number {
  let newest = -1;
  if (local === undefined) return newest;
  for (const entry of local.entries) {
    if (nodeOfActor(entry.actor) === nodeId && entry.actor > newest) newest = entry.actor;
  }
  return newest;
}

/** Whether a clock, as flat [actor, counter, ...] pairs (object-codec clockOf), names an actor of `nodeId`. */
export function clockNamesNode(clock: readonly number[], nodeId: number): boolean {
  for (let i = 0; i < clock.length; i += 2) if (nodeOfActor(clock[i]!) === nodeId) return true;
  return false;
}

/**
 * What node `nodeId` stores for a key it does not hold when `incoming` (a
 * replica's version) arrives: `incoming` itself, unless its clock names an
 * actor of this node, whose counter here can be behind the dots that actor
 * already minted; then a fresh actor of this node is opened on it, so the
 * next coordinated write mints (fresh, 2) and never a dot of the old actor.
 */
export function adoptVersion(incoming: VersionedObject, nodeId: number, freshActor: () => number): VersionedObject {
  if (actorToReuse(incoming, nodeId) < 0) return incoming;
  // The newest entry time, so that truncation drops this entry after the old actor's.
  const timestampMs = incoming.entries.reduce((max, entry) => Math.max(max, entry.timestampMs), 0);
  return openActor(incoming, freshActor(), timestampMs);
}
