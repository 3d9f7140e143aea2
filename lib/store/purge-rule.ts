/**
 * When a tombstone may be purged (Dynamo keeps deletes as versions; they must
 * outlive every stale replica, or a stale copy brings the value back). The
 * rule, in one place, documented in the README:
 * - at settle time, a purge is scheduled once every replica of the key's
 *   preference list is known to hold the tombstone: all N acknowledged the
 *   delete, or a read of all N found that same tombstone everywhere; none of
 *   them a stand-in (a hint is not yet on its owner);
 * - when it is due (tombstoneGraceMs later, tombstone-purges.ts), it is sent
 *   only while no hint is owed to those replicas (a hint may hold an older
 *   version: found by the simulation, seed 1838 of 'sloppy'), nor to any
 *   other node or a removed node (a hint whose owner no longer replicates its
 *   key goes to the key's current replicas), no membership change is moving
 *   ranges (a stream may carry an older version), and no node is owed an
 *   ownership handoff (ownership-handoff.ts: a node that was down through a
 *   change may hold an older version outside its ranges, which it hands to
 *   the key's replicas when it is swept), and the replicas are still the key's
 *   N (no change ran in between).
 * Pure: what the nodes report and whether ranges move are passed in.
 */
import { isHinted, nodeOfTarget } from '../ring/sloppy-quorum.js';

/** A settled delete or read: schedule a purge of its tombstone? */
export function shouldSchedulePurge(tombstoneOnEveryReplicaAsked: boolean, replicas: ArrayLike<number>, n: number): boolean {
  if (!tombstoneOnEveryReplicaAsked || replicas.length !== n) return false;
  for (let i = 0; i < replicas.length; i++) if (isHinted(replicas[i]!)) return false;
  return true;
}

function sameNodes(targets: readonly number[], nodes: ArrayLike<number>): boolean {
  if (targets.length !== nodes.length) return false;
  for (const target of targets) {
    let found = false;
    for (let i = 0; i < nodes.length; i++) if (nodes[i] === nodeOfTarget(target)) found = true;
    if (!found) return false;
  }
  return true;
}

/**
 * A purge is due: send it now? Hints held for a removed node count too: they
 * are handed to the keys' current replicas (hinted-handoff.ts), these among
 * them (found by the simulation, seed 1139 of 'sloppy-membership'); so do
 * hints for any node of the ring, which go to the current replicas once
 * their owner no longer replicates the key (issue 9).
 */
/** What a due purge is judged on when it is about to be sent. */
export interface PurgeSendState {
  /** The replicas the purge was decided for. */
  replicas: readonly number[];
  /** The key's preference list now. */
  currentReplicas: ArrayLike<number>;
  hintsOwedTo: (node: number) => number;
  rangesMoving: boolean;
  /** Removed nodes: hints for them go to the keys' current replicas. */
  retired: Iterable<number>;
  /** Every other node of the ring: a hint whose owner no longer replicates its key goes to the key's replicas. */
  others: Iterable<number>;
}

export function shouldSendPurge(state: PurgeSendState): boolean {
  if (state.rangesMoving) return false;
  // Decided under another ring (a membership change ran meanwhile): those replicas may no longer be the key's N
  // (found by the simulation, seed 505675 of 'membership'; its old copy of the coordinator checked this, the store did not).
  if (!sameNodes(state.replicas, state.currentReplicas)) return false;
  if (state.replicas.some((replica) => state.hintsOwedTo(nodeOfTarget(replica)) > 0)) return false;
  for (const node of state.retired) if (state.hintsOwedTo(node) > 0) return false;
  for (const node of state.others) if (state.hintsOwedTo(node) > 0) return false;
  return true;
}
