/**
 * Where a replica of a key is written or read: a node's own data, or a node
 * standing in for a down owner (sloppy quorum, Dynamo §4.6). A target is one
 * integer so that the quorum state machines, which only tell replicas apart,
 * work unchanged: the low 16 bits are the node, the high bits are the wire's
 * hintOwner field (0: own data, k: stand-in for node k-1).
 *
 * Pure: no threads, clocks or storage.
 */
import assert from 'node:assert/strict';
import { NODE_ID_LIMIT } from '../bounds.js';
import type { Ring } from './ring.js';
import { type PreferenceListTable, preferenceListWithFallbacks } from './preference-list.js';

/** Node ids are below this bound (they also travel in the wire's u16 hintOwner field as id + 1): lib/bounds.ts. */
export { NODE_ID_LIMIT };
const NODE_BITS = 16;
const NODE_MASK = (1 << NODE_BITS) - 1;
assert.ok(NODE_ID_LIMIT <= NODE_MASK, 'a node id fits the low bits of a target');

export function hintedTarget(node: number, owner: number): number {
  if (!(Number.isInteger(node) && node >= 0 && node < NODE_ID_LIMIT)) assert.fail(`node id ${node} out of range`);
  if (!(Number.isInteger(owner) && owner >= 0 && owner < NODE_ID_LIMIT && owner !== node)) assert.fail(`hint owner ${owner} out of range`);
  return node | ((owner + 1) << NODE_BITS);
}

export function nodeOfTarget(target: number): number {
  return target & NODE_MASK;
}

/** The wire's hintOwner field: 0 for own data, owner + 1 for a hint. */
export function hintFieldOfTarget(target: number): number {
  return target >>> NODE_BITS;
}

export function isHinted(target: number): boolean {
  return target >>> NODE_BITS !== 0;
}

/**
 * The targets of a key's request when some of its N owners are down: the up
 * owners in preference order, then one stand-in per down owner (the next up
 * nodes clockwise, Dynamo §4.6, that `mayStandIn`), each carrying the owner
 * it stands in for. Always N targets: when fewer than N nodes are up, the
 * down owners without a stand-in stay in the list (requests to them fail at
 * once).
 *
 * `mayStandIn`: a node leaving the ring takes no hints. Its own hints were
 * handed off before its removal began, and it stops once its ranges moved:
 * a hint it took meanwhile went with it, and the down owner never got that
 * write (simulation 'sloppy-membership' seed 66045: a W=3 put acknowledged
 * with such a hint, then an R=1 read of the owner missed it).
 */
export function sloppyTargets(ring: Ring, partition: number, n: number, isUp: (node: number) => boolean, mayStandIn: (node: number) => boolean = isUp): Int32Array {
  const { primaries, fallbacks } = preferenceListWithFallbacks(ring, partition, n, isUp, mayStandIn);
  const targets: number[] = [];
  for (const node of primaries) if (isUp(node)) targets.push(node);
  let next = 0;
  for (const owner of primaries) {
    if (isUp(owner)) continue;
    // No stand-in left: keep the down owner, so the quorum still counts N
    // replicas and fails (ERR_QUORUM) if too few of them can answer.
    targets.push(next < fallbacks.length ? hintedTarget(fallbacks[next++]!, owner) : owner);
  }
  return Int32Array.from(targets);
}

/**
 * Targets for every request: the precomputed preference list while all its
 * nodes are up (the common case, no allocation), sloppy targets otherwise.
 */
export function targetsFor(table: PreferenceListTable, hash32: number, isUp: (node: number) => boolean, sloppy: boolean, mayStandIn: (node: number) => boolean = isUp): Int32Array {
  const list = table.forHash(hash32);
  let allUp = true;
  for (let i = 0; i < list.length; i++) {
    if (!isUp(list[i]!)) {
      allUp = false;
      break;
    }
  }
  if (allUp || !sloppy) return list;
  return sloppyTargets(table.ring, table.ring.partitionOf(hash32), table.n, isUp, mayStandIn);
}
