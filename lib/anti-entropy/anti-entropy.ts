/**
 * Anti-entropy (Dynamo §4.7): find the keys whose replicas disagree, by
 * comparing one Merkle tree per ring partition and replica, then listing
 * keys only in the leaves whose digests differ. The engine of
 * `store.repair()`, which pushes the merged versions through read repair.
 *
 * Built off the storage nodes' request path: the scans run on a piscina pool
 * (the design fixes piscina for stateless background work such as
 * anti-entropy hashing, never for requests), each task reading one node's
 * LMDB environment directly and read-only (workers/anti-entropy-task.ts), so
 * a compare costs the nodes no ring slots and works whether a node's thread
 * is running or not (a crashed node's data can still be compared).
 *
 * A compare: (1) one `leafDigests` task per node, in parallel, digests the
 * partitions the node replicates; (2) per partition, each replica's tree is
 * diffed against the first replica's (replica-comparison.ts); (3) one
 * `leafKeys` task per involved node lists the keys of the differing leaves,
 * in passes bounded by `keysListedMax`; (4) per key, the replicas whose
 * version is not the merge are reported. Snapshots are per node and per
 * scan: keys written during a compare may show up as differing (and are then
 * repaired to what they already are, at the cost of a read).
 *
 * Memory: per compared node, its replicated partitions × 2^leafBits leaves ×
 * 12 bytes (two digest words, one count) are held until the compare ends:
 * for the default ring (1024 partitions, 4 nodes, n = 3: 768 partitions per
 * node) and leafBits 8, 2.3 MiB per node. The trade-off: more leaves make
 * the trees bigger and each scan's leaf array larger (× 2 per bit), and make
 * an exchange descend deeper (2 · leafBits nodes compared per difference),
 * but list fewer keys per differing leaf (partition keys / 2^leafBits).
 * With 8 bits a partition of 1,000 keys lists ~4 keys per difference, one of
 * 100,000 keys ~400; both are cheap next to the scan itself, which reads
 * every key once per pass whatever leafBits is. Listings are bounded by
 * `keysListedMax` keys and `listingBytesMax` bytes per node and pass, the
 * result by `differingMax` keys (then `truncated`: repair and compare again).
 */
import assert from 'node:assert/strict';
import { Piscina } from 'piscina';
import { NICE_MAX } from '../bounds.js';
import { ErrorCode, RingtableError } from '../errors.js';
import type { Ring } from '../ring/ring.js';
import { LEAF_BITS_MAX } from './merkle-tree.js';
import { integer } from '../option-checks.js';
import type { LeafDigestRequest, LeafDigestResult, LeafKeysRequest, LeafKeysResult } from './partition-scan.js';
import { type ComparisonPlan, type DifferingKey, batchLeaves, compareKeys, compareTrees, listingRequests, planComparison } from './replica-comparison.js';

const TASK_URL = new URL('../../workers/anti-entropy-task.js', import.meta.url);

export const LEAF_BITS_DEFAULT = 8;
/** Bound on one node's leaf arrays: 2^22 leaves × 12 bytes = 48 MiB. */
export const LEAVES_PER_NODE_MAX = 2 ** 22;
const KEYS_LISTED_MAX_DEFAULT = 262_144;
const LISTING_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const DIFFERING_MAX_DEFAULT = 100_000;
/** Tasks waiting for a pool thread: a compare submits at most one per node at a time (NODES_MAX is 64). */
const TASKS_QUEUED_MAX = 1024;
/** Threads outlive a compare's first pass for its listing pass, then go: nothing idles between repairs. */
const THREAD_IDLE_MS = 5_000;

export interface AntiEntropyOptions {
  /** The store's directory: nodes' environments are `<path>/node-<id>`. */
  path: string;
  /** Pool threads; scans are CPU-bound, so at most the cores left to spare. */
  threadsMax: number;
  /** Leaves per partition tree: 2^leafBits. Default 8. */
  leafBits?: number;
  /** Keys one node lists in one pass. Default 262,144. */
  keysListedMax?: number;
  /** Bytes (keys and versions) one node lists in one pass. Default 64 MiB. */
  listingBytesMax?: number;
  /** Differing keys one compare returns at most. Default 100,000. */
  differingMax?: number;
  /**
   * How much lower than the thread that creates the pool its threads run
   * (Linux nice increment, 0-19; other systems ignore it): the scans are
   * background work and should yield to the coordinator as the node threads
   * do (node/thread-priority.ts). The Store passes its nodeThreadNice. Default 0.
   */
  threadNice?: number;
}

/** What each pool thread is started with (piscina's workerData), read by workers/anti-entropy-task.ts. */
export interface AntiEntropyThreadData {
  threadNice: number;
}

export interface CompareInput {
  ring: Ring;
  /** Replicas per key (the store's N). */
  n: number;
  /** Nodes to compare (those up); others are left out of every partition's replicas. */
  nodeIds: readonly number[];
  /** The instant at which expiry is judged, the same for every replica. Default Date.now(). */
  nowMs?: number;
}

export interface CompareResult {
  /** Live key copies digested into compared partitions, summed over replicas (N per key when all agree). */
  keysCompared: number;
  /** Partitions with at least two replicas among the compared nodes. */
  partitionsCompared: number;
  partitionsDiffering: number;
  /** (partition, leaf) pairs where some replica's digest differs. */
  leavesDiffering: number;
  /** Tree nodes compared: the exchange cost of the trees. */
  treeNodesCompared: number;
  /** Key copies listed from differing leaves. */
  keysListed: number;
  /** Keys held by a node outside the partitions it replicates (hinted or leftover data): ignored. */
  keysOutsideReplicas: number;
  /** Key copies whose every value had expired at nowMs: treated as absent. */
  keysExpired: number;
  /** Compared nodes with no environment on disk: they hold nothing. */
  nodesMissing: number[];
  /** Keys whose replicas differ, by partition then key bytes. */
  differing: DifferingKey[];
  /** Not every difference was listed (differingMax, or listing bounds): repair these and compare again. */
  truncated: boolean;
  /** Wall time of the tree scans (all nodes, in parallel) and of the tree comparison and key listings after them. */
  scanMs: number;
  listMs: number;
}

export class AntiEntropy {
  readonly #pool: Piscina;
  readonly #path: string;
  readonly #leafBits: number;
  readonly #keysListedMax: number;
  readonly #listingBytesMax: number;
  readonly #differingMax: number;
  /** Tasks submitted and not yet settled: each may hold a node's environment open. */
  #tasksRunning = 0;
  #tasksSettled: (() => void) | undefined;
  /** Set while `withEnvsReleased` runs: no task starts until it resolves. */
  #gate: Promise<void> | undefined;
  #closed = false;

  private constructor(options: Required<AntiEntropyOptions>) {
    this.#path = options.path;
    this.#leafBits = options.leafBits;
    this.#keysListedMax = options.keysListedMax;
    this.#listingBytesMax = options.listingBytesMax;
    this.#differingMax = options.differingMax;
    // Each thread lowers its own priority when it starts (the task file's top
    // level). Not piscina's niceIncrement: it calls nice(2) through the
    // optional native @napi-rs/nice, which is no dependency of ringtable
    // (without it piscina silently does nothing) and which elsewhere than
    // Linux lowers the whole process, not the thread.
    const workerData: AntiEntropyThreadData = { threadNice: options.threadNice };
    this.#pool = new Piscina({ filename: TASK_URL.href, minThreads: 0, maxThreads: options.threadsMax, maxQueue: TASKS_QUEUED_MAX, idleTimeout: THREAD_IDLE_MS, workerData });
  }

  static create(options: AntiEntropyOptions): AntiEntropy {
    if (options === null || typeof options !== 'object' || typeof options.path !== 'string' || options.path.length === 0) {
      throw invalid('path must be a non-empty string');
    }
    return new AntiEntropy({
      path: options.path,
      threadsMax: integer('threadsMax', options.threadsMax, 1, 1, 64),
      leafBits: integer('leafBits', options.leafBits, LEAF_BITS_DEFAULT, 0, LEAF_BITS_MAX),
      keysListedMax: integer('keysListedMax', options.keysListedMax, KEYS_LISTED_MAX_DEFAULT, 1, 2 ** 26),
      listingBytesMax: integer('listingBytesMax', options.listingBytesMax, LISTING_BYTES_MAX_DEFAULT, 4096, 2 ** 30),
      differingMax: integer('differingMax', options.differingMax, DIFFERING_MAX_DEFAULT, 1, 2 ** 26),
      threadNice: integer('threadNice', options.threadNice, 0, 0, NICE_MAX),
    });
  }

  async compare(input: CompareInput): Promise<CompareResult> {
    if (this.#closed) throw new RingtableError(ErrorCode.CLOSED, 'anti-entropy is closed');
    const { ring, n } = input;
    const nowMs = input.nowMs ?? Date.now();
    if (ring.partitionBits + this.#leafBits > 32) throw invalid(`leafBits ${this.#leafBits} with ${ring.partitionBits} partition bits exceeds the 32-bit key hash`);
    const plan = planComparison(ring, n, input.nodeIds, this.#leafBits);
    for (const [nodeId, partitions] of plan.partitionsByNode) {
      if (partitions.length * 2 ** this.#leafBits > LEAVES_PER_NODE_MAX) {
        throw invalid(`node ${nodeId}: ${partitions.length} partitions × 2^${this.#leafBits} leaves exceeds ${LEAVES_PER_NODE_MAX}; lower leafBits`);
      }
    }
    const startedMs = performance.now();
    const scans = new Map<number, LeafDigestResult>();
    await Promise.all(
      [...plan.partitionsByNode].map(async ([nodeId, partitions]) => {
        const request: LeafDigestRequest = { path: this.#path, nodeId, partitionBits: ring.partitionBits, leafBits: this.#leafBits, partitions, nowMs };
        scans.set(nodeId, await this.#run<LeafDigestResult>('leafDigests', request));
      }),
    );
    const scannedMs = performance.now();
    const trees = compareTrees(plan, scans);
    const result: CompareResult = {
      keysCompared: trees.keysCompared,
      partitionsCompared: trees.partitionsCompared,
      partitionsDiffering: trees.partitionsDiffering,
      leavesDiffering: trees.leavesDiffering.length,
      treeNodesCompared: trees.treeNodesCompared,
      keysListed: 0,
      keysOutsideReplicas: sum([...scans.values()].map((scan) => scan.keysOutside)),
      keysExpired: sum([...scans.values()].map((scan) => scan.keysExpired)),
      nodesMissing: [...scans.values()].filter((scan) => scan.nodeMissing).map((scan) => scan.nodeId).sort((a, b) => a - b),
      differing: [],
      truncated: false,
      scanMs: scannedMs - startedMs,
      listMs: 0,
    };
    await this.#listDifferingKeys(plan, scans, trees.leavesDiffering, nowMs, result);
    if (result.differing.length > this.#differingMax) {
      result.differing.length = this.#differingMax;
      result.truncated = true;
    }
    result.differing.sort((a, b) => a.partition - b.partition || Buffer.compare(a.key, b.key));
    result.listMs = performance.now() - scannedMs;
    return result;
  }

  /** Listing passes over the differing leaves (bounded per node and pass), until differingMax. */
  async #listDifferingKeys(plan: ComparisonPlan, scans: Map<number, LeafDigestResult>, leavesDiffering: number[], nowMs: number, result: CompareResult): Promise<void> {
    for (const batch of batchLeaves(plan, scans, leavesDiffering, this.#keysListedMax)) {
      if (result.differing.length >= this.#differingMax) {
        result.truncated = true;
        return;
      }
      const listings = new Map<number, LeafKeysResult>();
      await Promise.all(
        [...listingRequests(plan, batch)].map(async ([nodeId, leaves]) => {
          const request: LeafKeysRequest = {
            path: this.#path,
            nodeId,
            partitionBits: plan.partitionBits,
            leafBits: this.#leafBits,
            leaves,
            nowMs,
            keysMax: this.#keysListedMax,
            bytesMax: this.#listingBytesMax,
          };
          listings.set(nodeId, await this.#run<LeafKeysResult>('leafKeys', request, [leaves.buffer as ArrayBuffer]));
        }),
      );
      const keys = compareKeys(plan, batch, listings);
      result.keysListed += keys.keysListed;
      if (keys.leavesIncomplete > 0) result.truncated = true;
      for (const key of keys.differing) result.differing.push(key);
    }
  }

  /**
   * Run `start` while no task holds a node's environment, holding back new
   * tasks until it settles. A storage node must be started this way while
   * anti-entropy may run: lmdb-js shares one environment per file within a
   * process and the first opener's flags win, so a node opened while a task
   * holds its environment read-only would get a read-only environment and
   * fail to open (see workers/anti-entropy-task.ts).
   */
  async withEnvsReleased<T>(start: () => Promise<T>): Promise<T> {
    while (this.#gate !== undefined) await this.#gate;
    let open!: () => void;
    this.#gate = new Promise<void>((resolve) => (open = resolve));
    try {
      while (this.#tasksRunning > 0) await new Promise<void>((resolve) => (this.#tasksSettled = resolve));
      return await start();
    } finally {
      this.#gate = undefined;
      open();
    }
  }

  /** Waits for running tasks (their environments are then closed) and stops the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  async #run<T>(name: 'leafDigests' | 'leafKeys', request: LeafDigestRequest | LeafKeysRequest, transferList?: ArrayBuffer[]): Promise<T> {
    while (this.#gate !== undefined) await this.#gate;
    this.#tasksRunning++;
    try {
      return (await this.#pool.run(request, { name, transferList })) as T;
    } finally {
      this.#tasksRunning--;
      assert(this.#tasksRunning >= 0);
      if (this.#tasksRunning === 0) this.#tasksSettled?.();
    }
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function invalid(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, message);
}

