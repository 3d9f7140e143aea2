/**
 * What `stats().nodes` and `nodes()` report of one storage node, read from
 * the counters its thread publishes (node/replica.ts NodeStat) and, for
 * counters that count events, those of its earlier threads (restarts).
 */
import { HINTS_FOR_BASE, NODE_IDS_MAX, NodeStat } from '../node/replica.js';
import type { NodeLink } from '../transport/node-link.js';
import type { NodeHost } from './node-host.js';
import type { NodeInfo, NodeStats, NodeStatus } from './store-types.js';

/** Node counters that count events (not levels): carried over a node's restarts. */
const CUMULATIVE_STATS = [NodeStat.GETS, NodeStat.PUTS, NodeStat.REPLICATES, NodeStat.PURGES, NodeStat.ERRORS, NodeStat.COMMITS, NodeStat.EXPIRED];

/** Add the event counters of a node's thread that ends (a restart) to those carried over. */
export function carryCounters(carried: Float64Array, old: NodeLink): void {
  for (const counter of CUMULATIVE_STATS) carried[counter] = carried[counter]! + old.stats[counter]!;
}

export function nodeStatsOf(link: NodeLink, carried: Float64Array | undefined): NodeStats {
  const s = link.stats;
  const total = (counter: number) => s[counter]! + (carried?.[counter] ?? 0);
  const gets = total(NodeStat.GETS);
  const puts = total(NodeStat.PUTS);
  const replicates = total(NodeStat.REPLICATES);
  const purges = total(NodeStat.PURGES);
  return {
    id: link.nodeId,
    ops: gets + puts + replicates + purges,
    gets,
    puts,
    replicates,
    purges,
    keys: s[NodeStat.KEYS]!,
    bytes: s[NodeStat.BYTES]!,
    queueDepth: link.inFlight,
    errors: total(NodeStat.ERRORS),
    commits: total(NodeStat.COMMITS),
    expired: total(NodeStat.EXPIRED),
  };
}

/** Node `id` among `ids` (the store's nodes); `status` is what it is when it is not down. */
export function nodeInfoOf(id: number, ids: readonly number[], host: NodeHost, status: NodeStatus): NodeInfo {
  const link = host.links[id];
  let hintsPending = 0;
  if (id < NODE_IDS_MAX) for (const holder of ids) if (holder !== id) hintsPending += host.links[holder]?.stats[HINTS_FOR_BASE + id] ?? 0;
  const reason = host.downReasons[id] ?? link?.failed?.message;
  const info: NodeInfo = {
    id,
    status: reason !== undefined ? 'down' : status,
    keys: link?.stats[NodeStat.KEYS] ?? 0,
    hintsPending,
    hintsHeld: link?.stats[NodeStat.HINTS] ?? 0,
  };
  if (reason !== undefined) info.reason = reason;
  return info;
}
