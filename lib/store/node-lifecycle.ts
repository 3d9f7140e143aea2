/**
 * The node threads a Store started, and the lifecycle change each node has
 * under way (startNode, stopNode, removeNode). One change per node at a
 * time: two startNode calls each started a thread on the node's environment,
 * and the one overwritten kept running outside the store's control (the
 * process never exited after close()).
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { NodeLink } from '../transport/node-link.js';

export type LifecycleChange = 'starting' | 'stopping' | 'leaving';

export class NodeLifecycles {
  /** Every node thread the store started: close() stops each, whatever became of it. */
  private readonly threads = new Set<NodeLink>();
  private readonly running = new Map<number, LifecycleChange>();
  /** Node threads being started (startNode, addNode): close() waits for them. */
  private readonly starting = new Set<NodeLink>();

  started(link: NodeLink): void {
    this.threads.add(link);
  }

  get startingCount(): number {
    return this.starting.size;
  }

  /** Start a node thread and wait until it serves; if the store closed meanwhile, stop it (ERR_CLOSED): it must not outlive the store. */
  async start(createLink: () => NodeLink, isOpen: () => boolean): Promise<NodeLink> {
    const link = createLink();
    this.started(link);
    this.starting.add(link);
    try {
      await link.whenReady();
    } finally {
      this.starting.delete(link);
    }
    if (!isOpen()) {
      await link.stop();
      throw new RingtableError(ErrorCode.CLOSED, 'the store closed while a node was starting');
    }
    return link;
  }

  assertIdle(nodeId: number): void {
    const running = this.running.get(nodeId);
    if (running !== undefined) throw new RingtableError(ErrorCode.INVALID_STATE, `node ${nodeId} is ${running}: wait for that to finish`);
  }

  /** Run `change` as the node's one lifecycle change (ERR_INVALID_STATE if another runs). Stopping twice is harmless. */
  async run<T>(nodeId: number, change: LifecycleChange, body: () => Promise<T>): Promise<T> {
    if (change !== 'stopping' || this.running.get(nodeId) !== 'stopping') this.assertIdle(nodeId);
    this.running.set(nodeId, change);
    try {
      return await body();
    } finally {
      if (this.running.get(nodeId) === change) this.running.delete(nodeId);
    }
  }

  /** At close: stop every thread no longer among `links` (replaced, or dropped by a failed change): none may outlive the store. */
  async stopStrays(links: readonly (NodeLink | undefined)[]): Promise<void> {
    await Promise.all([...this.threads].filter((link) => !links.includes(link)).map((link) => link.stop().catch(() => {})));
  }
}
