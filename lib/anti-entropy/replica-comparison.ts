/**
 * The decisions of one anti-entropy compare, as plain functions over the
 * scan results (partition-scan.ts): which node replicates which partition,
 * which leaves differ between a partition's replicas, how to batch the key
 * listings, and which keys (and replicas) differ. The orchestrator
 * (anti-entropy.ts) only runs the scans and feeds these.
 *
 * Pure.
 */
import assert from 'node:assert/strict';
import { ErrorCode, RingtableError } from '../errors.js';
import type { Ring } from '../ring/ring.js';
import { preferenceList } from '../ring/preference-list.js';
import { DIGEST_WORDS, MerkleTree, diff } from './merkle-tree.js';
import type { LeafDigestResult, LeafKeysResult } from './partition-scan.js';
import { staleReplicas } from './stale-replicas.js';

export interface ComparisonPlan {
  partitionBits: number;
  leafBits: number;
  /** Per partition: its first n preference-list nodes that are among those compared, in list order. */
  replicasByPartition: number[][];
  /** Per compared node: the partitions it replicates, ascending (what its scan digests). */
  partitionsByNode: Map<number, Int32Array>;
}

/** Dynamo §4.3: a partition's replicas are the first n nodes of its preference list; only `nodeIds` are compared. */
export function planComparison(ring: Ring, n: number, nodeIds: readonly number[], leafBits: number): ComparisonPlan {
  const ringNodes = new Set(ring.nodeIds());
  const compared = new Set<number>();
  for (const nodeId of nodeIds) {
    if (!ringNodes.has(nodeId)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ${nodeId} is not in the ring`);
    if (compared.has(nodeId)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ${nodeId} is listed twice`);
    compared.add(nodeId);
  }
  const replicasByPartition: number[][] = [];
  const partitionLists = new Map<number, number[]>([...compared].map((nodeId) => [nodeId, []]));
  for (let partition = 0; partition < ring.partitionCount; partition++) {
    const replicas = preferenceList(ring, partition, n).filter((nodeId) => compared.has(nodeId));
    replicasByPartition.push(replicas);
    for (const nodeId of replicas) partitionLists.get(nodeId)!.push(partition);
  }
  const partitionsByNode = new Map([...partitionLists].map(([nodeId, partitions]) => [nodeId, Int32Array.from(partitions)]));
  return { partitionBits: ring.partitionBits, leafBits, replicasByPartition, partitionsByNode };
}

export interface TreeComparison {
  /** Partitions with at least two replicas among the compared nodes. */
  partitionsCompared: number;
  partitionsDiffering: number;
  /** Global leaf ids (partition << leafBits | leaf) where some replica differs, ascending. */
  leavesDiffering: number[];
  /** Tree nodes compared over all replica pairs: the exchange cost. */
  treeNodesCompared: number;
  /** Live keys digested into compared partitions, summed over replicas (one per copy). */
  keysCompared: number;
}

/**
 * For every partition with two or more replicas, diff each replica's tree
 * against the first's. A leaf where any two replicas differ differs from
 * the first replica's in at least one of them, so the union is complete.
 */
export function compareTrees(plan: ComparisonPlan, scans: ReadonlyMap<number, LeafDigestResult>): TreeComparison {
  const leafCount = 2 ** plan.leafBits;
  const leaves = new NodeLeaves(plan, scans);
  const result: TreeComparison = { partitionsCompared: 0, partitionsDiffering: 0, leavesDiffering: [], treeNodesCompared: 0, keysCompared: 0 };
  plan.replicasByPartition.forEach((replicas, partition) => {
    if (replicas.length < 2) return;
    result.partitionsCompared++;
    const trees = replicas.map((nodeId) => {
      result.keysCompared += leaves.keysIn(nodeId, partition);
      return MerkleTree.fromLeaves(plan.leafBits, leaves.digestsOf(nodeId, partition));
    });
    const differing = new Set<number>();
    for (let i = 1; i < trees.length; i++) {
      const treeDiff = diff(trees[0]!, trees[i]!);
      result.treeNodesCompared += treeDiff.nodesCompared;
      for (const leaf of treeDiff.leaves) differing.add(leaf);
    }
    if (differing.size === 0) return;
    result.partitionsDiffering++;
    for (const leaf of [...differing].sort((a, b) => a - b)) result.leavesDiffering.push(partition * leafCount + leaf);
  });
  return result;
}

/**
 * Split differing leaves into listing passes so that no node lists more
 * than `keysMax` keys in one pass, by the counts its tree scan found (a
 * single larger leaf gets a pass of its own; the listing's own bound
 * catches growth since the scan). One scan per involved node per pass.
 */
export function batchLeaves(plan: ComparisonPlan, scans: ReadonlyMap<number, LeafDigestResult>, leavesDiffering: readonly number[], keysMax: number): number[][] {
  const leaves = new NodeLeaves(plan, scans);
  const batches: number[][] = [];
  let batch: number[] = [];
  let keysByNode = new Map<number, number>();
  for (const globalLeaf of leavesDiffering) {
    const replicas = plan.replicasByPartition[globalLeaf >>> plan.leafBits]!;
    const counts = replicas.map((nodeId) => leaves.keysInLeaf(nodeId, globalLeaf));
    const overflows = replicas.some((nodeId, i) => (keysByNode.get(nodeId) ?? 0) + counts[i]! > keysMax);
    if (overflows && batch.length > 0) {
      batches.push(batch);
      batch = [];
      keysByNode = new Map();
    }
    batch.push(globalLeaf);
    replicas.forEach((nodeId, i) => keysByNode.set(nodeId, (keysByNode.get(nodeId) ?? 0) + counts[i]!));
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Per node, the leaves of `batch` it must list: those of partitions it replicates. */
export function listingRequests(plan: ComparisonPlan, batch: readonly number[]): Map<number, Uint32Array> {
  const byNode = new Map<number, number[]>();
  for (const globalLeaf of batch) {
    for (const nodeId of plan.replicasByPartition[globalLeaf >>> plan.leafBits]!) {
      let list = byNode.get(nodeId);
      if (list === undefined) byNode.set(nodeId, (list = []));
      list.push(globalLeaf);
    }
  }
  return new Map([...byNode].map(([nodeId, list]) => [nodeId, Uint32Array.from(list)]));
}

export interface DifferingKey {
  key: Uint8Array;
  partition: number;
  /** Replicas (among those compared) whose version is not the merge of all, or that hold none. */
  replicas: number[];
}

export interface KeyComparison {
  differing: DifferingKey[];
  /** Key copies listed by all nodes in this pass. */
  keysListed: number;
  /** Leaves left uncompared because some replica's listing hit its bound. */
  leavesIncomplete: number;
}

/**
 * Compare, key by key, the listings of one batch of differing leaves: a key
 * differs when some replica lacks it or holds other causal content, and its
 * replicas to repair are those that do not hold the merge (stale-replicas.ts).
 * Leaves that some replica could not list completely are skipped: a partial
 * list would look like missing keys.
 */
export function compareKeys(plan: ComparisonPlan, batch: readonly number[], listings: ReadonlyMap<number, LeafKeysResult>): KeyComparison {
  const incomplete = new Set<number>();
  for (const listing of listings.values()) for (const leaf of listing.incompleteLeaves) incomplete.add(leaf);
  const byKey = new Map<string, { key: Uint8Array; globalLeaf: number; versions: (Uint8Array | undefined)[] }>();
  let keysListed = 0;
  for (const [nodeId, listing] of listings) {
    keysListed += listing.keyCount;
    for (let i = 0; i < listing.keyCount; i++) {
      const globalLeaf = listing.leafIds[i]!;
      if (incomplete.has(globalLeaf)) continue;
      const replicas = plan.replicasByPartition[globalLeaf >>> plan.leafBits]!;
      const position = replicas.indexOf(nodeId);
      assert(position >= 0, `node ${nodeId} listed a leaf of a partition it does not replicate`);
      const key = listing.keyBytes.subarray(i === 0 ? 0 : listing.keyEnds[i - 1]!, listing.keyEnds[i]!);
      const version = listing.versionBytes.subarray(i === 0 ? 0 : listing.versionEnds[i - 1]!, listing.versionEnds[i]!);
      // latin1 maps bytes to code units one to one: an exact Map key for binary keys.
      const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
      let entry = byKey.get(id);
      if (entry === undefined) byKey.set(id, (entry = { key, globalLeaf, versions: new Array(replicas.length).fill(undefined) }));
      entry.versions[position] = version;
    }
  }
  const differing: DifferingKey[] = [];
  for (const entry of byKey.values()) {
    const stale = staleReplicas(entry.versions);
    if (stale.length === 0) continue;
    const partition = entry.globalLeaf >>> plan.leafBits;
    const replicas = plan.replicasByPartition[partition]!;
    differing.push({ key: Uint8Array.prototype.slice.call(entry.key), partition, replicas: stale.map((i) => replicas[i]!) });
  }
  const inBatch = new Set(batch);
  let leavesIncomplete = 0;
  for (const leaf of incomplete) if (inBatch.has(leaf)) leavesIncomplete++;
  return { differing, keysListed, leavesIncomplete };
}

/** Where a node's scan keeps a partition's leaves: its partitions are ascending, so binary search. */
class NodeLeaves {
  readonly #plan: ComparisonPlan;
  readonly #scans: ReadonlyMap<number, LeafDigestResult>;
  readonly #leafCount: number;

  constructor(plan: ComparisonPlan, scans: ReadonlyMap<number, LeafDigestResult>) {
    this.#plan = plan;
    this.#scans = scans;
    this.#leafCount = 2 ** plan.leafBits;
  }

  digestsOf(nodeId: number, partition: number): Uint32Array {
    const at = this.#slot(nodeId, partition) * this.#leafCount * DIGEST_WORDS;
    return this.#scan(nodeId).digests.subarray(at, at + this.#leafCount * DIGEST_WORDS);
  }

  keysIn(nodeId: number, partition: number): number {
    const at = this.#slot(nodeId, partition) * this.#leafCount;
    const counts = this.#scan(nodeId).keyCounts;
    let total = 0;
    for (let i = at; i < at + this.#leafCount; i++) total += counts[i]!;
    return total;
  }

  keysInLeaf(nodeId: number, globalLeaf: number): number {
    const slot = this.#slot(nodeId, globalLeaf >>> this.#plan.leafBits);
    return this.#scan(nodeId).keyCounts[slot * this.#leafCount + (globalLeaf & (this.#leafCount - 1))]!;
  }

  #scan(nodeId: number): LeafDigestResult {
    const scan = this.#scans.get(nodeId);
    assert(scan !== undefined, `no scan of node ${nodeId}`);
    return scan;
  }

  #slot(nodeId: number, partition: number): number {
    const partitions = this.#plan.partitionsByNode.get(nodeId)!;
    let low = 0;
    let high = partitions.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = partitions[middle]!;
      if (value === partition) return middle;
      if (value < partition) low = middle + 1;
      else high = middle - 1;
    }
    assert.fail(`node ${nodeId} does not replicate partition ${partition}`);
  }
}
