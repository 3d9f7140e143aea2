/**
 * What handoff, repair and the fault schedule act on: the nodes, the
 * coordinator, the clock and the trace of one run.
 */
import type { EventQueue } from './event-queue.js';
import type { History } from './history.js';
import type { Coordinator } from '../../lib/store/coordinator.js';
import type { SimHost } from './sim-host.js';
import type { SimNetwork } from './sim-network.js';
import type { SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

export interface World {
  readonly queue: EventQueue;
  readonly network: SimNetwork;
  /** The real coordinator (lib/store/coordinator.ts), on the simulation's host. */
  readonly coordinator: Coordinator;
  readonly host: SimHost;
  /** Every node that exists, in the ring or leaving it. */
  readonly nodes: Map<number, SimNode>;
  readonly history: History;
  readonly trace: Trace;
  readonly n: number;
  /** Retry period of background transfers (handoff, repair). */
  readonly retryMs: number;
}
