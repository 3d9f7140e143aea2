/**
 * Cluster health for the timeline: nodes down and hints waiting for handoff,
 * from `store.nodes()`.
 */
import type { Store } from '../../lib/index.js';
import type { Health } from './op-driver.js';

export function healthOf(store: Store): Health {
  let nodesDown = 0;
  let hintsPending = 0;
  for (const node of store.nodes()) {
    if (node.status === 'down') nodesDown++;
    hintsPending += node.hintsPending;
  }
  return { nodesDown, hintsPending };
}
