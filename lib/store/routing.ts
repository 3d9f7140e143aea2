/**
 * Where a coordinator sends a key's requests, given which nodes are up: the
 * store's routing decisions as pure functions, so the store and the
 * deterministic simulation (test/simulation/) route the same way.
 *
 * Targets are nodes, or nodes standing in for down owners
 * (ring/sloppy-quorum.ts). No I/O, clocks or randomness: a rotation counter
 * is passed in.
 */
import type { PreferenceListTable } from '../ring/preference-list.js';
import { isHinted, nodeOfTarget, targetsFor } from '../ring/sloppy-quorum.js';
import type { ReadFanout } from '../config/options.js';

export type IsUp = (node: number) => boolean;

/**
 * The targets with a live coordinator first: any of the key's replicas can
 * coordinate a write (Dynamo §4.5), so a failed primary does not fail what
 * the others can acknowledge. The list is returned as is when its head is up.
 */
export function coordinatorFirst(list: Int32Array, isUp: IsUp): Int32Array {
  if (list.length === 0 || isUp(nodeOfTarget(list[0]!))) return list;
  let live = 1;
  while (live < list.length && !isUp(nodeOfTarget(list[live]!))) live++;
  if (live === list.length) return list;
  const reordered = new Int32Array(list.length);
  reordered[0] = list[live]!;
  for (let i = 0, j = 1; i < list.length; i++) if (i !== live) reordered[j++] = list[i]!;
  return reordered;
}

/**
 * A read's targets: while R of the key's own replicas are up, only those (a
 * stand-in that holds no hint would answer "not found" and could make up R
 * with a stale replica); otherwise the sloppy targets, stand-ins included.
 * Stand-ins are those that `mayStandIn`, as a write's: a read's repair of a
 * stand-in lands as a hint, and a node being removed must take none
 * (sloppy-quorum.ts sloppyTargets; the simulation's 'sloppy-membership' seed
 * 271 repaired the leaving node as a stand-in, which stopped with the hint).
 */
export function readTargets(table: PreferenceListTable, hash32: number, r: number, sloppy: boolean, isUp: IsUp, mayStandIn: IsUp = isUp): Int32Array {
  const list = table.forHash(hash32);
  let up = 0;
  for (const node of list) if (isUp(node)) up++;
  if (up === list.length || !sloppy) return list;
  if (up >= r) return list.filter((node) => isUp(node));
  return targetsFor(table, hash32, isUp, true, mayStandIn);
}

/**
 * Which of the targets a get asks: all of them ('all', Dynamo §4.5, or when
 * R covers them), else R starting at `rotation` so hot keys spread over
 * replicas, live ones first; down ones only if too few are live (they fail at once).
 */
export function readReplicas(list: Int32Array, r: number, fanout: ReadFanout, rotation: number, isUp: IsUp): ArrayLike<number> {
  const n = list.length;
  if (fanout === 'all' || r >= n) return list;
  const start = rotation % n;
  const replicas: number[] = [];
  for (let i = 0; i < n && replicas.length < r; i++) {
    const target = list[(start + i) % n]!;
    if (isUp(nodeOfTarget(target))) replicas.push(target);
  }
  for (let i = 0; i < n && replicas.length < r; i++) {
    const target = list[(start + i) % n]!;
    if (!replicas.includes(target)) replicas.push(target);
  }
  return replicas;
}

/** A node's recent load (replica-load.ts): requests its thread was handed lately. */
export type LoadOf = (node: number) => number;

/**
 * readReplicas, choosing by load: the R live targets whose nodes were handed
 * the fewest requests lately, ties in rotation order; down ones only if too
 * few are live. A hot key's writes reach all N of its nodes whatever the
 * router does, so its nodes' threads are the busiest under skew: reads, of
 * hot and cold keys alike, pick among their N replicas the ones that are
 * not, which evens the node threads' work out without giving up R (the read
 * still waits for R answers of the key's own replicas). The "power of d
 * choices" of Mitzenmacher (2001) with d = N; Cassandra's dynamic snitch and
 * C3 (Suresh et al., NSDI 2015) rank replicas by observed load the same way.
 */
export function leastLoadedReplicas(list: Int32Array, r: number, fanout: ReadFanout, rotation: number, isUp: IsUp, loadOf: LoadOf): ArrayLike<number> {
  const n = list.length;
  if (fanout === 'all' || r >= n) return list;
  const start = rotation % n;
  // Exactly r long (r < n distinct targets): allocated once at its size, not grown (a get's main allocation after the key, measured).
  const replicas = new Array<number>(r);
  let count = 0;
  while (count < r) {
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const target = list[(start + i) % n]!;
      const node = nodeOfTarget(target);
      if (!isUp(node) || chosen(replicas, count, target)) continue;
      const load = loadOf(node);
      if (load < bestLoad) {
        best = target;
        bestLoad = load;
      }
    }
    if (best === -1) break;
    replicas[count++] = best;
  }
  for (let i = 0; i < n && count < r; i++) {
    const target = list[(start + i) % n]!;
    if (!chosen(replicas, count, target)) replicas[count++] = target;
  }
  if (count < r) replicas.length = count;
  return replicas;
}

function chosen(replicas: readonly number[], count: number, target: number): boolean {
  for (let i = 0; i < count; i++) if (replicas[i] === target) return true;
  return false;
}

/**
 * An R = 1 read in place (readPath 'direct'): the first live target of the
 * list, or -1. Always the same copy of a key while its nodes are up: no node
 * thread is asked, so nothing is spread by rotating, and one copy of each
 * key read stays warm in the CPU caches and TLB instead of N.
 */
export function firstLiveTarget(list: Int32Array, isUp: IsUp): number {
  for (let i = 0; i < list.length; i++) if (isUp(nodeOfTarget(list[i]!))) return list[i]!;
  return -1;
}

/** R = 1 reads of a batch: one live target, rotating; the rotation's own if none is live. */
export function singleReadTarget(list: Int32Array, rotation: number, isUp: IsUp): number {
  const start = rotation % list.length;
  for (let i = 0; i < list.length; i++) {
    const target = list[(start + i) % list.length]!;
    if (isUp(nodeOfTarget(target))) return target;
  }
  return list[start]!;
}

/** A tombstone held by a stand-in is not yet on its owner: never purge it then. */
export function anyHinted(targets: ArrayLike<number>): boolean {
  for (let i = 0; i < targets.length; i++) if (isHinted(targets[i]!)) return true;
  return false;
}

export function someDown(targets: ArrayLike<number>, isUp: IsUp): boolean {
  for (let i = 0; i < targets.length; i++) if (!isUp(nodeOfTarget(targets[i]!))) return true;
  return false;
}
