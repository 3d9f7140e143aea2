/**
 * Cluster health for the timeline: nodes down and hints waiting. The store
 * does not report either yet (they come with the failures work); until it
 * does, both read as 0. When StoreStats gains `nodesDown` / `hintsPending`
 * numbers, they are picked up here without further change.
 */
import type { Store, StoreStats } from '../../lib/index.js';
import type { Health } from './op-driver.js';

type FutureStats = StoreStats & { nodesDown?: unknown; hintsPending?: unknown };

export function healthOf(store: Store): Health {
  const stats = store.stats() as FutureStats;
  return {
    nodesDown: typeof stats.nodesDown === 'number' ? stats.nodesDown : 0,
    hintsPending: typeof stats.hintsPending === 'number' ? stats.hintsPending : 0,
  };
}
