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
 * then replicates it here); a node restored from a backup or that lost its
 * disk is in the same place for every key. Reusing such an actor would mint
 * again dots that other replicas hold for older values (Riak's KV679 once
 * more, through the replica path): two replicas then hold equal clocks with
 * different values, which no merge can tell apart. So a node reuses only
 * actors of at least its `epochMin`, which it raises past every epoch it has
 * used at every start, and whenever a REPLICATE or a client's context names
 * one of its actors that the key's local clock does not show
 * (`namesForgottenActor`): by induction, an actor of this node that it may
 * reuse and that a key's local clock shows is there with every dot it minted.
 * A later write to any key then opens a fresh actor there: one more clock
 * entry, bounded by truncation, which never drops an entry holding a value.
 *
 * Pure: encoding and the choice of actor; the node keeps its epochs. actor = epoch * ACTOR_NODE_RANGE + nodeId, a safe integer.
 */
import assert from 'node:assert/strict';
import type { VersionedObject } from './dotted-version-vector.js';

/** Node ids are below this; epochs fill the rest of a safe integer (2^43 of them). */
export const ACTOR_NODE_RANGE = 1024;
export const EPOCH_MAX = Math.floor(Number.MAX_SAFE_INTEGER / ACTOR_NODE_RANGE);
/** Added to the stored epoch at every start: more than a lost flush window can have used. */
export const EPOCH_RESTART_MARGIN = 2 ** 20;

export function actorOf(nodeId: number, epoch: number): number {
  if (!(Number.isInteger(nodeId) && nodeId >= 0 && nodeId < ACTOR_NODE_RANGE)) assert.fail(`node id ${nodeId} out of range`);
  if (!(Number.isInteger(epoch) && epoch >= 0 && epoch <= EPOCH_MAX)) assert.fail(`epoch ${epoch} out of range`);
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
 * `nodeId` on the key's clock whose epoch is at least `epochMin`, or -1 when
 * there is none and the node must take a fresh epoch (the key is new here,
 * purged, expired or truncated, or came back after it was).
 */
export function actorToReuse(local: VersionedObject | undefined, nodeId: number, epochMin: number): number {
  let newest = -1;
  if (local === undefined) return newest;
  for (const entry of local.entries) {
    if (nodeOfActor(entry.actor) === nodeId && entry.actor > newest && epochOfActor(entry.actor) >= epochMin) newest = entry.actor;
  }
  return newest;
}

/** An actor of `nodeId` of an epoch it may still reuse: one a key without it in its local clock has forgotten (namesForgottenActor). */
export function isReusableOwnActor(actor: number, nodeId: number, epochMin: number): boolean {
  return nodeOfActor(actor) === nodeId && epochOfActor(actor) >= epochMin;
}

/**
 * Whether `actors` (a clock or a context that reached this node) name an
 * actor of `nodeId`, still reusable (epoch at least `epochMin`), that the
 * key's local clock does not show. This node minted every dot of that actor
 * and kept them in the key's clock, so it forgot them (the key was purged,
 * expired, handed off or truncated here, or the store lost commits), and
 * its counter here may be behind: the node must raise `epochMin`.
 */
export function namesForgottenActor(local: VersionedObject | undefined, actors: Iterable<number>, nodeId: number, epochMin: number): boolean {
  for (const actor of actors) {
    if (!isReusableOwnActor(actor, nodeId, epochMin)) continue;
    if (local === undefined || !local.entries.some((entry) => entry.actor === actor)) return true;
  }
  return false;
}
