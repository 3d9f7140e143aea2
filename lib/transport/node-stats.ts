/**
 * The storage node's counters in the SharedArrayBuffer it shares with the
 * coordinator (NodeLink.stats): one Float64 slot each, in NodeStat's order,
 * then one slot per possible node id for the hints held for it. The node
 * writes them (node/replica.ts), the coordinator reads them (store.stats(),
 * the failure detector, hinted handoff) and writes PAUSED and CRASHED.
 */
import { NODE_IDS_MAX } from '../bounds.js';

/** Counters shared with the coordinator for `store.stats()` (order fixed by NodeStat). */
export const NodeStat = {
  GETS: 0,
  PUTS: 1,
  REPLICATES: 2,
  PURGES: 3,
  KEYS: 4,
  BYTES: 5,
  ERRORS: 6,
  COMMITS: 7,
  EXPIRED: 8,
  /** Hints this node holds for other nodes (sloppy quorum). */
  HINTS: 9,
  /** Date.now() of the node loop's last turn: the coordinator's failure detector reads it. */
  HEARTBEAT_MS: 10,
  /** Written by the coordinator (fault injection): 1 = stop draining requests and heartbeating. */
  PAUSED: 11,
  /**
   * Written by the coordinator (store.crashNode): 1 = stop at once, at the
   * next point outside LMDB's write lock, dropping uncommitted writes.
   */
  CRASHED: 12,
  /**
   * The greatest leader term this node knows of any partition (persisted in
   * its meta, and every newer one it takes): the coordinator opens its terms
   * above it (partition-leaders.ts learnTerm), so a reopened store's first
   * elections are not refused as stale, each, and run again.
   */
  TERM_MAX: 13,
  COUNT: 14,
} as const;

/** Node ids a store may ever use (ids are never reused: see Store.addNode): lib/bounds.ts. */
export { NODE_IDS_MAX };
/** Hints held for node `owner` are at stats[HINTS_FOR_BASE + owner]. */
export const HINTS_FOR_BASE = NodeStat.COUNT;
export const NODE_STAT_SLOTS = HINTS_FOR_BASE + NODE_IDS_MAX;
