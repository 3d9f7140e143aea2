/**
 * The coordinator's world in Node (coordinator-host.ts): the real clocks,
 * real timers, the end of the event-loop turn, and the links to the storage
 * node threads. The only place in lib/store/ that reads a clock or sets a
 * timer; the simulation has its own (test/simulation/sim-host.ts).
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { type ResolvedOptions, objectBytesMaxOf } from '../config/options.js';
import { HINTS_FOR_BASE, NODE_IDS_MAX, NodeStat } from '../node/replica.js';
import { nodeOfTarget } from '../ring/sloppy-quorum.js';
import { type AttachedRings, type NodeLink, type NodeLinkOptions, type PendingReply, PostMessageNodeLink, SabNodeLink } from '../transport/node-link.js';
import type { RequestRecord, WireKey } from '../transport/wire.js';
import { DirectReads } from './direct-reads.js';
import type { AttachmentTimers, CoordinatorHost, TimerHandle } from './coordinator-host.js';

const WORKER_URL = new URL('../../workers/storage-node.js', import.meta.url);

export class NodeHost implements CoordinatorHost {
  /** By node id; undefined for ids not (or no longer) in the store. */
  readonly links: (NodeLink | undefined)[];
  /** Why a node is down, by id; undefined while it is up. */
  readonly downReasons: (string | undefined)[] = [];
  /** Removed nodes (this session) that stand-ins may still hold hints for. */
  readonly retired = new Set<number>();
  /** Times a node was marked down (stats().nodesMarkedDown). */
  nodesMarkedDown = 0;

  /** Reads served in the calling thread (readPath 'direct'), or undefined. */
  readonly directReads: DirectReads | undefined;

  /** With `readPath: 'direct'`, reads of up replicas are served from their LMDB environments in this thread (direct-reads.ts). */
  constructor(links: (NodeLink | undefined)[], options?: Pick<ResolvedOptions, 'readPath' | 'path' | 'durability'>) {
    this.links = links;
    this.directReads = options?.readPath === 'direct' ? new DirectReads(options.path, options.durability, (run) => void setImmediate(run)) : undefined;
  }

  readInPlace(target: number, key: WireKey, reply: PendingReply, tag: number, batch?: boolean): boolean {
    const link = this.readableLinkOf(nodeOfTarget(target));
    if (link === undefined || this.directReads === undefined) return false;
    return this.directReads.read(link, target, key, reply, tag, batch);
  }

  inPlaceTurnLeft(reads = 1, batch = false): boolean {
    return this.directReads?.hasTurnLeft(reads, batch) ?? false;
  }

  /** After this macrotask's I/O: the turn in which the reads-in-place bound has been reset (direct-reads.ts). */
  nextTurn(run: () => void): void {
    setImmediate(run);
  }

  private readonly readableLinkOf = (nodeId: number): NodeLink | undefined => (this.downReasons[nodeId] === undefined ? this.links[nodeId] : undefined);

  /** Requests stop waiting for the node: they fail now and their quorums move on. */
  markDown(nodeId: number, reason: string): void {
    if (this.downReasons[nodeId] !== undefined) return;
    this.downReasons[nodeId] = reason;
    this.nodesMarkedDown++;
    this.directReads?.release(nodeId);
    this.links[nodeId]?.abandonPending(new Error(`storage node ${nodeId} is down: ${reason}`));
  }

  wallClockMs(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  setTimer(delayMs: number, run: () => void): TimerHandle {
    const timer = setTimeout(run, delayMs);
    timer.unref();
    return timer;
  }

  clearTimer(timer: TimerHandle): void {
    clearTimeout(timer as NodeJS.Timeout);
  }

  /** Every `intervalMs` until cleared with clearTimer; never keeps the process alive. */
  repeat(intervalMs: number, run: () => void): TimerHandle {
    const timer = setInterval(run, intervalMs);
    timer.unref();
    return timer;
  }

  clearRepeat(timer: TimerHandle): void {
    clearInterval(timer as NodeJS.Timeout);
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  scheduleFlush(flush: () => void): void {
    queueMicrotask(flush);
  }

  /** `target` is a node, or a node standing in for another (ring/sloppy-quorum.ts). */
  readonly send = (target: number, request: RequestRecord, reply: PendingReply, tag: number): void => {
    const nodeId = nodeOfTarget(target);
    const link = this.links[nodeId];
    const down = link === undefined ? `node ${nodeId} is not in the store` : this.downReasons[nodeId];
    if (down !== undefined) {
      // Requests never wait on a node marked down.
      reply.onNodeFailure(target, new Error(`storage node ${nodeId} is down: ${down}`), tag);
      return;
    }
    link!.send(request, reply, tag, target);
  };

  isDown(nodeId: number): boolean {
    return this.links[nodeId] === undefined || this.downReasons[nodeId] !== undefined;
  }

  /** Up: its worker runs, answers, and nobody stopped it; requests go only to up nodes. */
  isUp(nodeId: number): boolean {
    const link = this.links[nodeId];
    return link !== undefined && link.failed === undefined && this.downReasons[nodeId] === undefined;
  }

  knownTermOf(nodeId: number): number {
    return this.links[nodeId]?.stats[NodeStat.TERM_MAX] ?? 0;
  }

  hintsHeld(holder: number, owner: number): number {
    return owner < NODE_IDS_MAX ? (this.links[holder]?.stats[HINTS_FOR_BASE + owner] ?? 0) : 0;
  }

  /** Hints the store's nodes report holding for `owner` (a crashed holder's last report counts). */
  hintsOwedTo(owner: number): number {
    if (owner >= NODE_IDS_MAX) return 0;
    let owed = 0;
    for (const link of this.links) if (link !== undefined) owed += link.stats[HINTS_FOR_BASE + owner]!;
    return owed;
  }

  retiredIds(): Iterable<number> {
    return this.retired;
  }
}

/** An attached store's timers (attachment.ts): real ones that keep the thread alive while they wait. */
export const attachmentTimers: AttachmentTimers = {
  setTimer: (delayMs, run) => setTimeout(run, delayMs),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
  nextTurn: (run) => void setImmediate(run),
};

export function createLink(options: ResolvedOptions, nodeId: number): NodeLink {
  const linkOptions = linkOptionsOf(options, nodeId);
  return options.transport === 'post-message' ? new PostMessageNodeLink(linkOptions) : new SabNodeLink(linkOptions);
}

/** An attached store's link to a node the owner's thread started, over the rings the owner handed it (attachment.ts). */
export function attachedLink(options: ResolvedOptions, rings: AttachedRings & { nodeId: number }): NodeLink {
  return new SabNodeLink(linkOptionsOf(options, rings.nodeId), rings);
}

function linkOptionsOf(options: ResolvedOptions, nodeId: number): NodeLinkOptions {
  return {
    nodeId,
    path: options.path,
    durability: options.durability,
    conflicts: options.conflicts,
    clockEntriesMax: options.clockEntriesMax,
    objectBytesMax: objectBytesMaxOf(options),
    messageBytesMax: objectBytesMaxOf(options) + options.keyBytesMax + 4096,
    sweepIntervalMs: options.sweepIntervalMs,
    nodeThreadNice: options.nodeThreadNice,
    transport: options.transport,
    ringBytes: options.ringBytes,
    workerUrl: WORKER_URL,
  };
}

/** The threads of a store that opens: all serving, or none left running. */
export async function startLinks(options: ResolvedOptions, nodeIds: readonly number[]): Promise<NodeLink[]> {
  const links: NodeLink[] = [];
  for (const nodeId of nodeIds) links[nodeId] = createLink(options, nodeId);
  try {
    await Promise.all(links.map((link) => link.whenReady()));
    const failed = links.find((link) => link !== undefined && link.failed !== undefined);
    if (failed) throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${failed.nodeId} failed to start: ${failed.failed!.message}`, undefined, { cause: failed.failed });
  } catch (error) {
    await Promise.allSettled(links.map((link) => link.stop()));
    throw error;
  }
  return links;
}
