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
 * Pure: encoding only. actor = epoch * ACTOR_NODE_RANGE + nodeId, a safe integer.
 */
import assert from 'node:assert/strict';

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
