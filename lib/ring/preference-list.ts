/**
 * Preference lists (Dynamo §4.3): the N nodes responsible for a key are the
 * first N distinct physical nodes met walking clockwise from the key's
 * partition, the partition's owner (the coordinator) first. Partitions owned
 * by a node already in the list are skipped, so a node with several nearby
 * partitions still counts once and the list always holds N different
 * machines.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../errors.js';
import type { Ring } from './ring.js';

/** The n distinct owners clockwise from `partition`, primary first. */
export function preferenceList(ring: Ring, partition: number, n: number): number[] {
  validateN(ring, n);
  return walkClockwise(ring, partition, n).nodeIds;
}

/**
 * Every partition's preference list, computed once per ring so the request
 * path does no walking and no allocation: lists live in one flat
 * Int32Array(Q × n), and each partition's view is made once, on first use,
 * and reused after (Q views made up front would cost memory for partitions
 * a process may never touch).
 */
export class PreferenceListTable {
  readonly n: number;
  readonly ring: Ring;
  readonly #flat: Int32Array;
  readonly #views: (Int32Array | undefined)[];

  constructor(ring: Ring, n: number) {
    validateN(ring, n);
    this.n = n;
    this.ring = ring;
    this.#flat = new Int32Array(ring.partitionCount * n);
    this.#views = new Array<Int32Array | undefined>(ring.partitionCount);
    for (let p = 0; p < ring.partitionCount; p++) {
      this.#flat.set(walkClockwise(ring, p, n).nodeIds, p * n);
    }
  }

  /** Read-only by contract: the view aliases the shared table. */
  forPartition(partition: number): Int32Array {
    assert(Number.isInteger(partition) && partition >= 0 && partition < this.ring.partitionCount, 'partition out of range');
    const view = this.#views[partition];
    if (view !== undefined) return view;
    const made = this.#flat.subarray(partition * this.n, (partition + 1) * this.n);
    this.#views[partition] = made;
    return made;
  }

  forHash(hash32: number): Int32Array {
    return this.forPartition(this.ring.partitionOf(hash32));
  }
}

/**
 * The preference list with stand-ins for down nodes, for sloppy quorum
 * (Dynamo §4.6): `primaries` are the n distinct owners, up or not;
 * `fallbacks[i]` stands in for the i-th down primary (in primary order) and
 * is the next up node clockwise past the primaries that is not already
 * listed. The caller pairs them to address hints (hinted handoff). If fewer
 * up nodes remain than primaries are down, `fallbacks` is shorter.
 */
export function preferenceListWithFallbacks(
  ring: Ring,
  partition: number,
  n: number,
  isUp: (nodeId: number) => boolean,
  /** Which up nodes may stand in (take hints): not one leaving the ring (sloppy-quorum.ts). */
  mayStandIn: (nodeId: number) => boolean = isUp,
): { primaries: number[]; fallbacks: number[] } {
  validateN(ring, n);
  const walk = walkClockwise(ring, partition, n);
  const primaries = walk.nodeIds;
  const wanted = primaries.filter((nodeId) => !isUp(nodeId)).length;
  const listed = new Set(primaries);
  const fallbacks: number[] = [];
  // Continue from just past the last partition the primaries used; one full
  // turn of the ring from `partition` is the bound.
  for (let step = walk.stepsUsed; step < ring.partitionCount && fallbacks.length < wanted; step++) {
    const owner = ring.ownerOf((partition + step) % ring.partitionCount);
    if (listed.has(owner)) continue;
    listed.add(owner); // a down node is skipped once, not re-examined
    if (isUp(owner) && mayStandIn(owner)) fallbacks.push(owner);
  }
  return { primaries, fallbacks };
}

function validateN(ring: Ring, n: number): void {
  const nodeCount = ring.nodeIds().length;
  if (!Number.isInteger(n) || n < 1 || n > nodeCount) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `n must be an integer in [1, ${nodeCount}] (the number of nodes), got ${n}`);
  }
}

/** First `n` distinct owners from `partition` on, and how many partitions that took. */
function walkClockwise(ring: Ring, partition: number, n: number): { nodeIds: number[]; stepsUsed: number } {
  assert(Number.isInteger(partition) && partition >= 0 && partition < ring.partitionCount, 'partition out of range');
  const nodeIds: number[] = [];
  let step = 0;
  // Every node owns at least one partition, so one turn finds n <= S nodes.
  for (; step < ring.partitionCount && nodeIds.length < n; step++) {
    const owner = ring.ownerOf((partition + step) % ring.partitionCount);
    if (!nodeIds.includes(owner)) nodeIds.push(owner);
  }
  assert.equal(nodeIds.length, n, 'walked the whole ring without finding n nodes');
  return { nodeIds, stepsUsed: step };
}
