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
 *   N (no change ran in between);
 * - and only once no node outside the key's preference list can still hold
 *   an older copy (nodesToSweepBeforePurge): every such node of the ring has
 *   completed a clean ownership sweep on the current ring that began at least
 *   tombstoneGraceMs after the last membership change ended. As Cassandra
 *   purges only after repair covered every replica (gc_grace), and Riak's
 *   ownership handoff: a stranded copy the sweep finds is merged into the
 *   replicas while they still hold the tombstone, which supersedes it. Found
 *   by the simulation, seed 19787 of 'sloppy-membership': a failed removal's
 *   late copy of k0 landed on a node after that node's sweep had dropped it;
 *   the tombstone was purged from all N and the next sweep brought k0 back.
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

/** What the stranded-copy half of the rule is judged on when a due purge is about to be sent. */
export interface StrandedCopyState {
  /** Every node of the current ring. */
  nodes: Iterable<number>;
  /** The key's preference list now: these hold the tombstone, a sweep of them does not look at the key. */
  currentReplicas: ArrayLike<number>;
  /**
   * When the node's latest clean ownership sweep on the current ring began
   * (every key it found outside its ranges was merged into all N and dropped,
   * or it found none), or undefined if it has none.
   */
  sweptCleanSinceMs: (node: number) => number | undefined;
  /** When the last membership change ended (failed or not); -Infinity if none ran. */
  changeEndedMs: number;
  /** tombstoneGraceMs: how long a copy a change sent may still be in flight after it ended. */
  graceMs: number;
}

/**
 * The nodes that must still be swept before the tombstone may go: those
 * outside the key's preference list without a clean sweep that began
 * `graceMs` after the last membership change ended. Copies land outside a
 * key's replicas only through a membership change (range moves and their late
 * or repeated messages, a failed change's copies to the nodes that were to
 * gain, a node down through a change), so a node swept clean since then holds
 * none (hints live apart and are judged by shouldSendPurge). A node that is
 * down keeps its record: nothing reaches its disk while it is down.
 */
export function nodesToSweepBeforePurge(state: StrandedCopyState): number[] {
  const sweptFromMs = state.changeEndedMs + state.graceMs;
  const unswept: number[] = [];
  for (const node of state.nodes) {
    let replica = false;
    for (let i = 0; i < state.currentReplicas.length; i++) if (nodeOfTarget(state.currentReplicas[i]!) === node) replica = true;
    if (replica) continue;
    const sinceMs = state.sweptCleanSinceMs(node);
    if (sinceMs === undefined || sinceMs < sweptFromMs) unswept.push(node);
  }
  return unswept;
}

