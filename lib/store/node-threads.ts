/**
 * The Store's storage node threads on the Node host (Dynamo §4.6-4.8: a node
 * fails, stops, comes back on its data): starting one with no anti-entropy
 * task holding its environment, crashing, stopping and restarting one, the
 * link of a node id, the counters of a node's earlier threads (so stats()
 * only grow), and stopping them all at close. One lifecycle change per node
 * at a time (node-lifecycle.ts).
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { ResolvedOptions } from '../config/options.js';
import { NodeStat } from '../node/replica.js';
import type { NodeLink } from '../transport/node-link.js';
import type { AntiEntropyRepairs } from './anti-entropy-repair.js';
import { NodeLifecycles } from './node-lifecycle.js';
import { type NodeHost, createLink } from './node-host.js';
import { carryCounters, nodeStatsOf } from './node-reports.js';
import type { NodeStats } from './store-types.js';

const CLOSE_POLL_MS = 5;

export class NodeThreads {
  /** Every thread started, and one lifecycle change per node at a time. */
  readonly lifecycles = new NodeLifecycles();
  /** Counters of a node's earlier threads (before restarts), so stats() only grow. */
  private readonly carried: (Float64Array | undefined)[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly host: NodeHost,
    private readonly repairs: AntiEntropyRepairs,
    private readonly isOpen: () => boolean,
  ) {
    for (const link of host.links) if (link !== undefined) this.lifecycles.started(link);
  }

  /** Start a node thread, with no anti-entropy task holding its environment (AntiEntropyRepairs.withEnvsReleased). */
  start(nodeId: number): Promise<NodeLink> {
    return this.repairs.withEnvsReleased(() => this.lifecycles.start(() => createLink(this.options, nodeId), this.isOpen));
  }

  /** The node's link, or ERR_INVALID_OPTIONS for an id that is not a node of the store. */
  linkOf(nodeId: number): NodeLink {
    if (!Number.isInteger(nodeId)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `a node id is an integer, got ${typeof nodeId === 'string' ? `the string '${nodeId}'` : String(nodeId)}`);
    const link = this.host.links[nodeId];
    if (link === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `no node ${String(nodeId)} in this store`);
    return link;
  }

  crash(nodeId: number): void {
    const link = this.linkOf(nodeId);
    this.host.markDown(nodeId, 'crashed');
    link.crash();
  }

  async stop(nodeId: number): Promise<void> {
    const link = this.linkOf(nodeId);
    await this.lifecycles.run(nodeId, 'stopping', async () => {
      this.host.markDown(nodeId, 'stopped');
      await link.stop();
    });
  }

  /** A new thread for a down node, on its data; resolves once it serves and is routable again. */
  async restart(nodeId: number): Promise<void> {
    const old = this.linkOf(nodeId);
    this.lifecycles.assertIdle(nodeId);
    if (this.host.isUp(nodeId)) throw new RingtableError(ErrorCode.INVALID_STATE, `node ${nodeId} is already up`);
    const link = await this.lifecycles.run(nodeId, 'starting', async () => {
      await old.stop(); // a paused or stale node's thread goes first: one LMDB writer per environment
      return this.start(nodeId);
    });
    if (link.failed !== undefined) {
      throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${nodeId} failed to start: ${link.failed.message}`, undefined, { cause: link.failed });
    }
    carryCounters((this.carried[nodeId] ??= new Float64Array(NodeStat.COUNT)), old);
    this.host.links[nodeId] = link;
    this.host.downReasons[nodeId] = undefined;
  }

  /** stats().nodes: every node's counters, those of its earlier threads included. */
  stats(): NodeStats[] {
    return this.host.links.flatMap((link) => (link === undefined ? [] : [nodeStatsOf(link, this.carried[link.nodeId])]));
  }

  /** At close, once no request is left: every thread stops, those still starting and those replaced too. */
  async stopAll(): Promise<void> {
    await Promise.all(this.host.links.map((link) => link?.stop()));
    // A node start in flight stops its own thread once ready (NodeLifecycles.start); wait for that.
    while (this.lifecycles.startingCount > 0) await this.host.sleep(CLOSE_POLL_MS);
    await this.lifecycles.stopStrays(this.host.links);
  }
}
