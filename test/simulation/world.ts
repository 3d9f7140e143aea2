/**
 * What handoff, repair and the fault schedule act on: the nodes, the
 * coordinator, the clock and the trace of one run.
 */
import type { EventQueue } from './event-queue.js';
import type { History } from './history.js';
import type { SimCoordinator } from './sim-coordinator.js';
import type { SimNetwork } from './sim-network.js';
import type { SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

export interface World {
  readonly queue: EventQueue;
  readonly network: SimNetwork;
  readonly coordinator: SimCoordinator;
  /** Every node that exists, in the ring or leaving it. */
  readonly nodes: Map<number, SimNode>;
  readonly history: History;
  readonly trace: Trace;
  readonly n: number;
  /** Retry period of background transfers (handoff, repair). */
  readonly retryMs: number;
}
