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
 *   the key's replicas when it is swept).
 * Pure: what the nodes report and whether ranges move are passed in.
 */
import { isHinted, nodeOfTarget } from '../ring/replica-target.js';

/** A settled delete or read: schedule a purge of its tombstone? */
export function shouldSchedulePurge(tombstoneOnEveryReplicaAsked: boolean, replicas: ArrayLike<number>, n: number): boolean {
  if (!tombstoneOnEveryReplicaAsked || replicas.length !== n) return false;
  for (let i = 0; i < replicas.length; i++) if (isHinted(replicas[i]!)) return false;
  return true;
}

/**
 * A purge is due: send it now? Hints held for a removed node count too: they
 * are handed to the keys' current replicas (hinted-handoff.ts), these among
 * them (found by the simulation, seed 1139 of 'sloppy-membership'); so do
 * hints for any node of the ring, which go to the current replicas once
 * their owner no longer replicates the key (issue 9).
 */
export function shouldSendPurge(
  replicas: readonly number[],
  hintsOwedTo: (node: number) => number,
  rangesMoving: boolean,
  retired: Iterable<number>,
  others: Iterable<number> = [],
  ownershipHandoffPending = false,
): boolean {
  if (rangesMoving || ownershipHandoffPending) return false;
  if (replicas.some((replica) => hintsOwedTo(nodeOfTarget(replica)) > 0)) return false;
  for (const node of retired) if (hintsOwedTo(node) > 0) return false;
  for (const node of others) if (hintsOwedTo(node) > 0) return false;
  return true;
}
