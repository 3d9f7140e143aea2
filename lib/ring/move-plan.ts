/**
 * What a membership change moves (Dynamo §4.9, strategy 3 of §6.2): comparing
 * every partition's preference list before and after, the partitions whose
 * replica set changes, which nodes gain each (they must receive its keys) and
 * which lose it (they may drop its keys once the gainers hold them). Only
 * those partitions move; the rest of the ring is untouched.
 *
 * Pure: rings in, plan out.
 */
import type { Ring } from './ring.js';
import { preferenceList } from './preference-list.js';

export interface PartitionMove {
  partition: number;
  /** Replicas before, primary first. */
  before: number[];
  /** Replicas after, primary first. */
  after: number[];
  /** In `after`, not in `before`: they receive the partition's keys. */
  gainers: number[];
  /** In `before`, not in `after`: they hand the partition's keys over and drop them. */
  losers: number[];
}

export interface MovePlan {
  partitionCount: number;
  moves: PartitionMove[];
  /** Partitions whose primary changes: the fraction of keys whose owner moves, about 1/(nodes+1) for an add. */
  primariesMoved: number;
}

export function planMove(before: Ring, after: Ring, n: number): MovePlan {
  if (before.partitionCount !== after.partitionCount) throw new Error('a membership change keeps the partition count (strategy 3)');
  const moves: PartitionMove[] = [];
  let primariesMoved = 0;
  for (let p = 0; p < before.partitionCount; p++) {
    const was = preferenceList(before, p, n);
    const will = preferenceList(after, p, n);
    if (was[0] !== will[0]) primariesMoved++;
    const gainers = will.filter((node) => !was.includes(node));
    const losers = was.filter((node) => !will.includes(node));
    if (gainers.length > 0 || losers.length > 0) moves.push({ partition: p, before: was, after: will, gainers, losers });
  }
  return { partitionCount: before.partitionCount, moves, primariesMoved };
}

/** Partitions in which `node` is a replica before the change and that move, grouped for scanning that node. */
export function partitionsToScan(plan: MovePlan, node: number, role: 'source' | 'loser' | 'gainer'): number[] {
  const holds = (move: PartitionMove) => (role === 'source' ? move.before : role === 'loser' ? move.losers : move.gainers).includes(node);
  return plan.moves.filter(holds).map((move) => move.partition);
}
