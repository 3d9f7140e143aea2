/**
 * The public Store: opening and closing, the storage node threads (start,
 * crash, stop, watch), the ring and membership files, and stats(). What
 * happens to a request between its admission and its quorum is the
 * coordinator's (coordinator.ts), which the Store holds privately and runs
 * on the Node host (node-host.ts: real clocks, timers and node links).
 */
import { ErrorCode, RingtableError } from '../errors.js';
import { type ResolvedOptions, type StoreOptions, resolveOptions } from '../config/options.js';
import { hashKey32 } from '../ring/hash.js';
import { watchNodes } from './node-watch.js';
import { Faults } from './faults.js';
import { AntiEntropyRepairs, type RepairResult, repairHostOf } from './anti-entropy-repair.js';
import type { NodeLink } from '../transport/node-link.js';
import { RequestFlag } from '../transport/wire.js';
import type { GetResult } from './get-result.js';
import { type Key, keyByteLength } from './value-codec.js';
import { ClientRequests } from './client-requests.js';
import { contextOfObject } from './put-request.js';
import { loadStoreFiles, makeStoreDirectory, readDroppedSpaces, withStoredPlacement } from './store-files.js';
import { Coordinator } from './coordinator.js';
import { writerEpochOf } from '../version/writer-version.js';
import { randomInt } from 'node:crypto';
import { OrderedKeys } from './ordered-keys.js';
import { lockStoreDirectory } from './store-lock.js';
import { NodeThreads } from './node-threads.js';
import { NodeHost, startLinks } from './node-host.js';
import { Ring } from '../ring/ring.js';
import type { Attachments } from './attachments.js';
import { attachStore, ownerAttachments } from './store-attach.js';
import { type Attachment, refuseAttached } from './attachment.js';
import type { AttachOptions, StoreHandle } from './store-handle.js';
import { Membership } from './membership.js';
import { partitionInfos } from './partition-report.js';
import type { DeleteOptions, GetOptions, NodeInfo, PartitionInfo, PutManyEntry, PutOptions, StoreStats } from './store-types.js';
import type { GetOrderedOptions, OrderedValue, OrderedVersion, OrderedWrite, RangePage, RangeRequest, TokenRange } from './ordered-types.js';

export type { DeleteOptions, GetOptions, NodeInfo, NodeStats, NodeStatus, PartitionInfo, PutManyEntry, PutOptions, StoreStats } from './store-types.js';
export type { MembershipChange } from './membership-change.js';
export type { AttachOptions, StoreHandle } from './store-handle.js';
export type { GetOrderedOptions, OrderedValue, OrderedVersion, OrderedWrite, RangeEntry, RangePage, RangeRequest, TokenRange } from './ordered-types.js';

const CLOSE_POLL_MS = 5;

export class Store {
  readonly options: ResolvedOptions;
  /** The clocks, timers and node links the coordinator runs on. */
  private readonly host: NodeHost;
  private readonly coordinator: Coordinator;
  private readonly ordered: OrderedKeys;
  /** Starting, crashing, stopping and restarting node threads (node-threads.ts). */
  private readonly threads: NodeThreads;
  /** Fault injection for tests and benchmarks: drop, delay, duplicate requests to a node, or pause it. Seeded. */
  readonly faults: Faults;
  private failureTimer: unknown;
  /** Adding and removing nodes (membership.ts). */
  private readonly membership: Membership;
  private readonly repairs: AntiEntropyRepairs;
  private antiEntropyTimer: unknown;
  private state: 'open' | 'closing' | 'closed' = 'open';
  /** close() in progress or done: every caller awaits the same one. */
  private closing: Promise<void> | undefined;
  /** The owner's side of the stores attached to it (store.handle()), once one was asked for. */
  private attachments: Attachments | undefined;
  /** An attached store's side (Store.attach): it follows the owner, and does only reads and writes. */
  private readonly attachment: Attachment | undefined;
  /** Reads and writes from the caller to the coordinator (client-requests.ts). */
  private readonly requests: ClientRequests;

  private constructor(options: ResolvedOptions, ring: Ring, links: NodeLink[], retired: readonly number[], private readonly unlock: () => void, attachment?: Attachment) {
    this.options = options;
    this.host = new NodeHost(links, options);
    this.coordinator = new Coordinator({ ...options, writerEpoch: writerEpochOf(randomInt(2 ** 48 - 1)) }, ring, this.host);
    this.coordinator.orderedW = options.w;
    this.ordered = new OrderedKeys(options, this.coordinator, this.host);
    for (const space of readDroppedSpaces(options.path)) this.coordinator.dropSpaceLocally(space);
    for (const id of retired) this.host.retired.add(id);
    this.repairs = new AntiEntropyRepairs({ path: options.path, threadsMax: options.antiEntropyThreads, threadNice: options.nodeThreadNice }, repairHostOf(this.coordinator, this.host, () => this.state === 'open'));
    this.threads = new NodeThreads(options, this.host, this.repairs, () => this.state === 'open');
    this.faults = new Faults((nodeId) => this.threads.linkOf(nodeId), () => this.coordinator.ring.nodeIds(), 0);
    this.membership = new Membership(options, this.coordinator, this.host, {
      lifecycles: this.threads.lifecycles,
      startLink: (nodeId) => this.threads.start(nodeId),
      startNode: (nodeId) => this.startNode(nodeId),
      linkOf: (nodeId) => this.threads.linkOf(nodeId),
    });
    // The failure detector and the handoff pacer, on one timer. An attached store hands nothing off and sweeps nothing: its owner does.
    const tick = attachment === undefined ? () => this.coordinator.tickHandoffs(this.host.monotonicMs()) : () => {};
    this.failureTimer = watchNodes(this.host, options.failureTimeoutMs, () => this.coordinator.ring.nodeIds(), (id, reason) => this.host.markDown(id, reason), tick);
    this.attachment = attachment;
    if (attachment !== undefined) this.coordinator.sweepsElsewhere((key, replicas, objectBytes) => attachment.forwardPurge(key, replicas, objectBytes));
    this.requests = new ClientRequests(options, this.coordinator, attachment, () => this.assertOpen());
    if (attachment !== undefined) return;
    // Every node just started on its data: it may hold keys of ranges it no longer replicates (ownership-handoff.ts).
    for (const id of ring.nodeIds()) this.coordinator.oweSweep(id);
    const canRepair = () => this.state === 'open' && this.coordinator.membershipChange === undefined;
    if (options.antiEntropyIntervalMs > 0) this.antiEntropyTimer = this.repairs.schedule(this.host, options.antiEntropyIntervalMs, canRepair);
  }

  static async open(options: StoreOptions): Promise<Store> {
    resolveOptions(options); // what was given, checked before the path is used
    const resolved = resolveOptions(withStoredPlacement(options));
    makeStoreDirectory(resolved.path);
    const unlock = lockStoreDirectory(resolved.path);
    let store: Store;
    try {
      const { ring, retired } = loadStoreFiles(resolved, options.nodes !== undefined);
      store = new Store(resolved, ring, await startLinks(resolved, ring.nodeIds()), retired, unlock);
    } catch (error) {
      unlock();
      throw error;
    }
    // A node down when a space was dropped drops it now (and one that was up finds nothing).
    await Promise.all(store.coordinator.ring.nodeIds().map((nodeId) => store.ordered.dropSpacesOn(nodeId)));
    return store;
  }

  /**
   * Attach to a store open in another thread of this process, from its
   * `handle()`: a Store over the same node threads, coordinating in this
   * thread on rings of its own (README, "Many coordinators"). It reads and
   * writes (get, put, delete, has, getMany, putMany); node lifecycle,
   * membership, repair and leader-ordered operations stay the owner's
   * (ERR_INVALID_STATE here). It follows the owner's ring and node changes;
   * once the owner closes, its calls fail with ERR_CLOSED. At most
   * ATTACHED_MAX (15) at once (ERR_OVERLOADED beyond).
   */
  static attach(handle: StoreHandle, options?: AttachOptions): Promise<Store> {
    return attachStore(handle, options, ({ options, ring, links, retired, attachment }) => {
      const store = new Store(options, ring, links, retired, () => {}, attachment);
      return { store, host: store.host, coordinator: store.coordinator, close: () => void store.close() };
    });
  }

  /**
   * A structured-cloneable handle (SharedArrayBuffers and plain data) for
   * Store.attach in a worker thread or a piscina task of this process. An
   * attached store hands out its owner's.
   */
  handle(): StoreHandle {
    this.assertOpen();
    if (this.attachment !== undefined) return this.attachment.handle;
    this.attachments ??= ownerAttachments(this.options, this.coordinator, this.host);
    return this.attachments.handle();
  }

  // ---- public API -------------------------------------------------------

  // put and get are not async functions: an async wrapper around the
  // operation's own promise cost one more promise and three microtask turns
  // per call (YCSB-B main-thread profile). A synchronous throw (a closed
  // store, a bad key) still rejects, as from an async function.
  put(key: Key, value: unknown, options?: PutOptions): Promise<string> {
    try {
      return this.requests.write(key, value, options, 0).then(contextOfObject);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async delete(key: Key, options?: DeleteOptions): Promise<void> {
    await this.requests.write(key, null, options, RequestFlag.TOMBSTONE);
  }

  get(key: Key, options?: GetOptions): Promise<GetResult | undefined> {
    try {
      return this.requests.read(key, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async has(key: Key, options?: GetOptions): Promise<boolean> {
    return (await this.requests.read(key, options)) !== undefined;
  }

  /**
   * Every entry is validated before any is sent; resolves when every put met
   * its W. W is an entry's own `w` if it has one, else the call's `w`, else
   * the store's (an entry's TTL or context leaves the call's `w` in force).
   */
  putMany(entries: readonly PutManyEntry[], options?: { w?: number }): Promise<void> {
    return this.requests.putMany(entries, options);
  }

  /** Results in the order of `keys`; undefined where a key has no live value. */
  getMany(callerKeys: readonly Key[], options?: GetOptions): Promise<(GetResult | undefined)[]> {
    return this.requests.getMany(callerKeys, options);
  }

  // ---- leader-ordered keys, ranges and spaces (lib/tables/DESIGN.md §5; ordered-keys.ts) ----

  /** Read one leader-ordered key: from its partition's leader (consistent) or any up replica (may be stale). */
  getOrdered(key: Key, options?: GetOrderedOptions): Promise<OrderedValue | undefined> {
    this.assertOpen();
    refuseAttached(this.attachment, 'getOrdered');
    return this.ordered.get(key, options);
  }

  /**
   * Write through the key's partition leader, which orders it after every
   * write it acknowledged (last writer wins by that order, never siblings)
   * and checks `expect` inside its write transaction. Resolves after W
   * replicas (the leader among them) made it durable; ERR_CONFLICT (details.current)
   * when `expect` does not hold, so of concurrent compare-and-sets exactly one wins.
   */
  writeOrdered(write: OrderedWrite): Promise<{ version: OrderedVersion }> {
    this.assertOpen();
    refuseAttached(this.attachment, 'writeOrdered');
    return this.ordered.write(write);
  }

  /** One replica's live leader-ordered keys in [start, end), within one ring partition: Query's and Scan's one range read. */
  range(request: RangeRequest): Promise<RangePage> {
    this.assertOpen();
    refuseAttached(this.attachment, 'range');
    return this.ordered.range(request);
  }

  /** The ring's partitions as token ranges: Scan walks them, Segment/TotalSegments split them. */
  tokenRanges(): TokenRange[] {
    this.assertOpen();
    return this.ordered.tokenRanges();
  }

  /**
   * Delete every key of `space` on every node, without a tombstone per key
   * (spaces are never reused); persisted first, so a node down now drops it
   * when it starts, and anti-entropy, handoff, range moves and a leader's
   * catch-up ignore the space from now on.
   */
  dropSpace(space: number): Promise<void> {
    this.assertOpen();
    refuseAttached(this.attachment, 'dropSpace');
    return this.ordered.dropSpace(space);
  }

  /** Node ids holding `key`, primary first (Dynamo §4.3). */
  preferenceList(key: Key): number[] {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    return Array.from(this.coordinator.preferenceListOf(key));
  }

  /** The ring partition (virtual node, Dynamo §6.2 strategy 3) that holds `key`. */
  partitionOf(key: Key): number {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    return this.coordinator.ring.partitionOf(hashKey32(key));
  }

  /** The primary node of every ring partition, indexed by partition number. */
  partitionOwners(): number[] {
    this.assertOpen();
    return Array.from({ length: this.coordinator.ring.partitionCount }, (_, partition) => this.coordinator.ring.ownerOf(partition));
  }

  /** Every ring partition's preference list and current leader (partition-report.ts): the inspector draws them. */
  partitions(): PartitionInfo[] {
    this.assertOpen();
    return partitionInfos(this.coordinator.ring, this.options.n, this.coordinator.leaders);
  }

  stats(): StoreStats {
    this.assertOpen();
    return {
      nodes: this.threads.stats(),
      membership: { nodes: this.coordinator.ring.nodeIds().length, lastChange: this.membership.lastChange },
      antiEntropy: { ...this.repairs.counters },
      ...this.coordinator.stats(),
      nodesMarkedDown: this.host.nodesMarkedDown,
      readsInPlace: this.host.directReads?.served ?? 0,
    };
  }

  // ---- node lifecycle (Dynamo §4.6-4.8) -------------------------------------

  /** Every node of the store with its status, key count and hints. */
  nodes(): NodeInfo[] {
    this.assertOpen();
    return this.membership.nodeInfos();
  }

  /**
   * Terminate a node's worker abruptly: nothing beyond what LMDB already
   * committed survives, and requests waiting on it fail at once. Its keys'
   * requests go to the other replicas and to stand-ins (sloppy quorum) until
   * `startNode` brings it back on its data.
   */
  crashNode(nodeId: number): void {
    this.assertOpen();
    refuseAttached(this.attachment, 'crashNode');
    this.threads.crash(nodeId);
    this.attachments?.changed();
  }

  /** Stop a node gracefully: it finishes its commits and closes LMDB; requests move to the others meanwhile. */
  async stopNode(nodeId: number): Promise<void> {
    this.assertOpen();
    refuseAttached(this.attachment, 'stopNode');
    await this.threads.stop(nodeId);
    this.attachments?.changed();
  }

  /**
   * Restart a stopped or crashed node on its existing LMDB data. Resolves
   * once it serves; hints held for it are then handed back in the background
   * (watch `nodes()[i].hintsPending`).
   */
  async startNode(nodeId: number): Promise<void> {
    this.assertOpen();
    refuseAttached(this.attachment, 'startNode');
    await this.threads.restart(nodeId);
    await this.ordered.dropSpacesOn(nodeId); // a space dropped while it was down goes first, so nothing of it is handed on
    this.coordinator.nodeStarted(nodeId); // hints for it go back; its keys of ranges that moved meanwhile go to their replicas
    this.attachments?.changed(); // attached stores take rings to the new thread
  }

  // ---- membership (Dynamo §4.9; membership.ts) -----------------------------

  /**
   * Add a storage node: it starts (status 'joining'), receives the ranges it
   * will replicate, streamed from their current replicas while traffic goes
   * on (writes to moving ranges reach it too), then the ring switches to
   * include it and the nodes that lost ranges drop them. Resolves with its id
   * once it serves. Node ids are never reused.
   */
  addNode(): Promise<number> {
    this.assertOpen();
    refuseAttached(this.attachment, 'addNode');
    // Attached stores hold their requests through the change, then reload the ring (attachments.ts).
    return this.attachments === undefined ? this.membership.addNode() : this.attachments.duringChange(() => this.membership.addNode());
  }

  /**
   * Remove a node (started first if it is down): its ranges move to the nodes
   * that take them over (streamed from every up replica, the leaving node
   * included), the ring switches, then the node stops. Its directory is kept, renamed
   * `node-<id>.removed`, never reopened. Refused while the node holds hints
   * it cannot hand off, or when fewer than N nodes would remain.
   */
  removeNode(nodeId: number): Promise<void> {
    this.assertOpen();
    refuseAttached(this.attachment, 'removeNode');
    return this.attachments === undefined ? this.membership.removeNode(nodeId) : this.attachments.duringChange(() => this.membership.removeNode(nodeId));
  }

  // ---- anti-entropy (Dynamo §4.7) ---------------------------------------------

  /**
   * One full anti-entropy pass: Merkle trees of every partition are built on
   * each up node's data by a piscina pool reading the LMDB environments
   * read-only, off the nodes' request path; replicas' trees are compared,
   * descending only where hashes differ, and only the keys of differing
   * leaves are listed. Each differing key is read from all its up replicas,
   * merged (DVVSet sync), and written back to every replica that lacked the
   * merge. Runs one at a time; a call during a pass waits for that pass.
   */
  async repair(): Promise<RepairResult> {
    this.assertOpen();
    refuseAttached(this.attachment, 'repair');
    return this.repairs.repair();
  }

  /**
   * Waits for in-flight operations, stops the nodes and closes LMDB, then
   * releases the directory. Later calls fail with ERR_CLOSED; a second
   * close() resolves when the first has finished.
   */
  close(): Promise<void> {
    return (this.closing ??= this.closeOnce());
  }

  private async closeOnce(): Promise<void> {
    this.state = 'closing';
    this.attachments?.close(); // attached stores fail their calls with ERR_CLOSED from now on
    this.coordinator.beginClose();
    this.host.clearRepeat(this.failureTimer);
    if (this.antiEntropyTimer !== undefined) this.host.clearRepeat(this.antiEntropyTimer);
    await this.repairs.settled();
    // Every operation ends by its deadline; repairs and purges get as long.
    const giveUpMs = this.host.monotonicMs() + this.options.timeoutMs;
    while (this.coordinator.activeCount > 0 || (this.coordinator.background > 0 && this.host.monotonicMs() < giveUpMs)) {
      await this.host.sleep(CLOSE_POLL_MS);
    }
    this.coordinator.close();
    await this.host.directReads?.close(); // before the nodes: the last to close an environment is its node
    await this.threads.stopAll();
    await this.repairs.close();
    this.attachment?.close();
    this.state = 'closed';
    this.unlock();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new RingtableError(ErrorCode.CLOSED, 'the store is closed');
  }
}
