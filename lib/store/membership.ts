/**
 * The Store's membership calls (Dynamo §4.9): adding and removing storage
 * nodes around the membership sequence of membership-change.ts: the node
 * ids and membership.json, the joining and leaving nodes that nodes()
 * reports, the thread of a node that joins or leaves, and what a removed
 * node leaves behind (its hints retired, its directory renamed).
 */
import { existsSync, renameSync } from 'node:fs';
import { ErrorCode, RingtableError } from '../errors.js';
import { NODES_MAX, type ResolvedOptions } from '../config/options.js';
import type { Ring } from '../ring/ring.js';
import { NodeStat } from '../node/replica.js';
import { nodeDirectory } from '../storage/lmdb-storage.js';
import type { NodeLink } from '../transport/node-link.js';
import type { Coordinator } from './coordinator.js';
import type { NodeHost } from './node-host.js';
import type { NodeLifecycles } from './node-lifecycle.js';
import { type MembershipChange, changeMembership, drainLeavingHints, moveTo } from './membership-change.js';
import { nextNodeId, writeMembership, writeRing } from './store-files.js';
import { nodeInfoOf } from './node-reports.js';
import type { NodeInfo } from './store-types.js';

const HINTS_DRAIN_WAIT_MS = 10_000;

/** What membership needs of the Store's node threads. */
export interface MembershipNodes {
  readonly lifecycles: NodeLifecycles;
  /** Start a node thread on its directory; resolves once it serves (or failed: link.failed). */
  startLink(nodeId: number): Promise<NodeLink>;
  /** Store.startNode: restart a down node on its data. */
  startNode(nodeId: number): Promise<void>;
  /** The node's link, or ERR_INVALID_OPTIONS for an id that is not a node of the store. */
  linkOf(nodeId: number): NodeLink;
}

export class Membership {
  /** Nodes started but not yet in the ring (joining), or in it and leaving. */
  readonly joining = new Set<number>();
  readonly leaving = new Set<number>();
  /** The last membership change's report (stats().membership.lastChange). */
  lastChange: MembershipChange | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly coordinator: Coordinator,
    private readonly host: NodeHost,
    private readonly nodes: MembershipNodes,
  ) {}

  /** Store.nodes(): the ring's nodes and the joining ones, each with its status (node-reports.ts). */
  nodeInfos(): NodeInfo[] {
    const ringIds = this.coordinator.ring.nodeIds();
    const ids = [...ringIds, ...[...this.joining].filter((id) => !ringIds.includes(id))];
    return ids.map((id) => nodeInfoOf(id, ids, this.host, this.joining.has(id) ? 'joining' : this.leaving.has(id) ? 'leaving' : 'up'));
  }

  /** Store.addNode: start a node, stream it the ranges it gains, switch the ring. */
  async addNode(): Promise<number> {
    if (this.coordinator.ring.nodeIds().length >= NODES_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `a store has at most ${NODES_MAX} nodes`);
    return changeMembership(this.coordinator, async () => {
      const nodeId = this.nextNodeId();
      writeMembership(this.options.path, { nextNodeId: nodeId + 1, retired: [...this.host.retired] });
      const link = await this.nodes.startLink(nodeId);
      this.host.links[nodeId] = link;
      this.joining.add(nodeId);
      try {
        if (link.failed !== undefined) throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${nodeId} failed to start: ${link.failed.message}`, undefined, { cause: link.failed });
        await this.moveTo(this.coordinator.ring.withNodeAdded(nodeId), 'add', nodeId);
      } catch (error) {
        // Past the ring switch the node has joined (membership-change.ts): it stays, whatever failed after.
        if (!this.coordinator.ring.nodeIds().includes(nodeId)) {
          this.host.links[nodeId] = undefined;
          await link.stop();
        }
        throw error;
      } finally {
        this.joining.delete(nodeId);
      }
      return nodeId;
    });
  }

  /** Store.removeNode: start it if down, stream its ranges to their gainers, switch the ring, stop it. */
  async removeNode(nodeId: number): Promise<void> {
    this.nodes.linkOf(nodeId);
    if (this.coordinator.ring.nodeIds().length - 1 < this.options.n) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `removing node ${nodeId} would leave fewer than N = ${this.options.n} nodes`);
    }
    // A down node may hold data nobody else has (W < N, or down through earlier changes): it starts and hands it over (issue 9).
    if (!this.host.isUp(nodeId)) await this.nodes.startNode(nodeId);
    const link = this.nodes.linkOf(nodeId);
    await this.nodes.lifecycles.run(nodeId, 'leaving', () => this.removeMember(nodeId, link));
  }

  private async removeMember(nodeId: number, link: NodeLink): Promise<void> {
    await changeMembership(this.coordinator, async () => {
      let failure: unknown;
      this.leaving.add(nodeId);
      try {
        // Its hints belong to others: hand them off first (owners must be up), those of writes still on their way too.
        const handedOff = await drainLeavingHints(this.coordinator, this.host, () => link.stats[NodeStat.HINTS] ?? 0, HINTS_DRAIN_WAIT_MS);
        // Hints stay when their owner is down, or up and refusing them (hinted-handoff.ts: counted in stats().hintsRefused).
        if (!handedOff) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ${nodeId} still holds ${link.stats[NodeStat.HINTS]} hints after ${HINTS_DRAIN_WAIT_MS} ms: their owners are down (start them first) or refused them (stats().hintsRefused)`);
        await this.moveTo(this.coordinator.ring.withNodeRemoved(nodeId), 'remove', nodeId);
      } catch (error) {
        // Before the ring switch nothing changed; past it the node has left (membership-change.ts): finish its removal.
        if (this.coordinator.ring.nodeIds().includes(nodeId)) throw error;
        failure = error;
      } finally {
        this.leaving.delete(nodeId);
      }
      this.host.markDown(nodeId, 'removed');
      // Hints held for it (while it was down) now go to the keys' new replicas.
      this.host.retired.add(nodeId);
      this.coordinator.ownership.forget(nodeId);
      writeMembership(this.options.path, { nextNodeId: this.nextNodeId(), retired: [...this.host.retired] });
      await link.stop();
      this.host.links[nodeId] = undefined;
      this.host.downReasons[nodeId] = undefined;
      const directory = nodeDirectory(this.options.path, nodeId);
      if (existsSync(directory)) renameSync(directory, `${directory}.removed`);
      if (failure !== undefined) throw failure;
    }, nodeId);
  }

  private async moveTo(next: Ring, kind: 'add' | 'remove', nodeId: number): Promise<void> {
    const reachable = (node: number) => this.host.isUp(node) || this.joining.has(node);
    this.lastChange = await moveTo(this.coordinator, this.host, next, kind, nodeId, reachable, (ring) => writeRing(this.options.path, ring));
  }

  nextNodeId(): number {
    return nextNodeId(this.options.path, this.coordinator.ring.nodeIds(), this.host.links.length);
  }
}
