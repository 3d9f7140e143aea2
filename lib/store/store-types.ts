/**
 * The Store's public types: the options of its calls and what stats() and
 * nodes() report.
 */
import type { RepairResult } from './anti-entropy-repair.js';
import type { HotKeyCacheCounters } from './hot-key-cache.js';
import type { MembershipChange } from './membership-change.js';
import type { Key } from './value-codec.js';

export interface PutOptions {
  /** Context from a get: the put supersedes exactly the versions it saw. Without one, the put overwrites (blind write). */
  context?: string;
  /** Time to live: after it the item is never returned and is swept in the background. */
  ttlMs?: number;
  /** Acknowledgements to wait for (default: the store's W). */
  w?: number;
}

export interface DeleteOptions {
  context?: string;
  w?: number;
}

export interface GetOptions {
  /** Answers to wait for (default: the store's R). */
  r?: number;
  /** Choose R so that R + W > N: the read sees every write acknowledged with the store's W. */
  consistent?: boolean;
}

export type PutManyEntry = readonly [key: Key, value: unknown, options?: PutOptions];

export interface NodeStats {
  id: number;
  /** Requests served: gets + puts + replicates + purges. */
  ops: number;
  gets: number;
  puts: number;
  replicates: number;
  purges: number;
  keys: number;
  bytes: number;
  /** Requests sent to the node and not yet answered, including those waiting for ring space. */
  queueDepth: number;
  errors: number;
  commits: number;
  expired: number;
}

export type NodeStatus = 'up' | 'down' | 'joining' | 'leaving';

/** One storage node as `store.nodes()` reports it. */
export interface NodeInfo {
  id: number;
  status: NodeStatus;
  /** Keys in the node's own data (refreshed by the node every 250 ms). */
  keys: number;
  /** Hints other nodes hold for this one, waiting for handoff. */
  hintsPending: number;
  /** Hints this node holds for others. */
  hintsHeld: number;
  /** Why the node is down, when it is. */
  reason?: string;
}

/** One ring partition as `store.partitions()` reports it. */
export interface PartitionInfo {
  partition: number;
  /** Its preference list in the current ring, primary first (Dynamo §4.3). */
  replicas: number[];
  /** Its leader for leader-ordered keys, once a request elected one: the node, its term, and whether it caught up. */
  leader: { node: number; term: number; ready: boolean } | undefined;
}

export interface StoreStats {
  nodes: NodeStats[];
  antiEntropy: { passes: number; keysRepaired: number; lastPass: RepairResult | undefined };
  membership: { nodes: number; lastChange: MembershipChange | undefined };
  /** Hints handed back to their owners, and handoff steps that failed (retried later). */
  hintsDelivered: number;
  handoffErrors: number;
  /**
   * Of those failures, hints an owner refused to merge (ERR_SIBLINGS_FULL: a
   * put with the key's context resolves it): each is kept on its stand-in and
   * sent again every 5 s (hinted-handoff.ts REFUSED_RETRY_MS), not at every tick.
   */
  hintsRefused: number;
  /** Times a node was marked down: worker exit, crash, stop, or a stale heartbeat. */
  nodesMarkedDown: number;
  /** Stale or missing replicas updated after a get (Dynamo §5). */
  readRepairs: number;
  /** Repairs not sent because background work was at its bound. */
  readRepairsSkipped: number;
  /** Repairs not sent because a put or delete of the key from this coordinator was still on its way to that replica (writes-in-flight.ts). */
  readRepairsCovered: number;
  /** Replica reads a get served in the calling thread from the replica's LMDB environment (readPath 'direct'), not by message. */
  readsInPlace: number;
  /** Gets that found more than one live concurrent version. */
  siblingsSeen: number;
  /** Write envelopes sent (puts issued together, and putMany, pack the copies bound for one node into one), and the writes they carried. */
  writeEnvelopes: number;
  writeEnvelopeItems: number;
  tombstonesPurged: number;
  /**
   * Ownership handoff (Riak's; every node is swept at each start for keys it
   * holds outside its ranges, and tombstone purges wait for it): nodes owed a
   * sweep or being swept, sweeps that ended clean, and keys handed to their
   * replicas and dropped.
   */
  ownershipSweepsPending: number;
  ownershipSweepsDone: number;
  ownershipKeysHandedOver: number;
  timeouts: number;
  overloaded: number;
  /** Operations whose callers wait (bounded by pendingMax). */
  pending: number;
  /** Encoded bytes of writes not yet settled on every replica (bounded by pendingBytesMax). */
  pendingBytes: number;
  /** Replications, repairs and purges still in flight after their callers were answered. */
  background: number;
  /**
   * Leader-ordered keys whose last write failed after it may have reached its
   * leader, not yet known to be on W replicas: a consistent read of one, or a
   * background pass every max(1 s, timeoutMs), commits it first (DESIGN.md,
   * commit before serving).
   */
  orderedKeysInDoubt: number;
  /** Leader terms opened (one per partition and change of its leader, DESIGN.md §3) and the election rounds that caught them up: a round takes many partitions at once (partition-leaders.ts ELECTION_BATCH_MAX). */
  leaderTerms: number;
  leaderElectionRounds: number;
  /** The hot-key cache's counters and size, when the store has one (StoreOptions.hotKeyCache). */
  hotKeyCache?: HotKeyCacheStats;
}

/** The cache's counters (hot-key-cache.ts) and its size. */
export interface HotKeyCacheStats extends HotKeyCacheCounters {
  entries: number;
}
