/**
 * The coordinator: the public Store. It hashes keys onto the ring, sends each
 * request to the key's preference list over the nodes' rings, and drives the
 * quorum operations. Everything distributed-systems-shaped it decides by
 * calling the pure core (ring, preference list, quorum, version vectors);
 * what stays here is I/O, time, and bounds.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { ErrorCode, RingtableError } from '../errors.js';
import { NODES_MAX, type ResolvedOptions, type StoreOptions, objectBytesMaxOf, readQuorumFor, resolveOptions, writeQuorumFor } from '../config/options.js';
import { hashKey32 } from '../ring/hash.js';
import type { Ring } from '../ring/ring.js';
import { PreferenceListTable } from '../ring/preference-list.js';
import { HINTS_FOR_BASE, NODE_IDS_MAX, NodeStat } from '../node/replica.js';
import { nodeOfTarget, targetsFor } from '../ring/replica-target.js';
import { HintedHandoff } from './hinted-handoff.js';
import { FailureDetector } from '../node/failure-detector.js';
import { Faults } from './faults.js';
import { planMove, type MovePlan } from '../ring/move-plan.js';
import { type MoveCounters, copyToGainers, handOverAndDrop } from './range-move.js';
import { nodeDirectory } from '../storage/lmdb-storage.js';
import { AntiEntropy } from '../anti-entropy/anti-entropy.js';
import { type RepairResult, repairPass } from './anti-entropy-repair.js';
import { type NodeLink, type NodeLinkOptions, type PendingReply, PostMessageNodeLink, SabNodeLink } from '../transport/node-link.js';
import { Op, RequestFlag, type WireKey } from '../transport/wire.js';
import { EnvelopeBatcher } from '../transport/write-envelope.js';
import { type CausalContext, type VersionedObject, siblingsOf } from '../version/dotted-version-vector.js';
import { decodeContext, decodeObject, encodeObject } from '../version/object-codec.js';
import { encodeContext } from '../version/object-codec.js';
import { join as joinClock } from '../version/dotted-version-vector.js';
import { type Coordinator, type GetCallback, GetOperation, type Operation, PutBatch, type PutCallback, PutOperation, type PutRequest, SingleReadBatch, BackgroundReply } from './operations.js';
import { type GetResult, toGetResult } from './get-result.js';
import { type Key, encodeValue, keyByteLength } from './value-codec.js';
import { TombstonePurges } from './tombstone-purges.js';
import { loadOrCreateRing, readMembership, writeMembership, writeRing } from './store-files.js';
import { anyHinted, coordinatorFirst, readReplicas, readTargets, singleReadTarget, someDown } from './routing.js';

export interface PutOptions {
  /** Context from a get: the put supersedes exactly the versions it saw. Without one, the put overwrites (blind write). */
  context?: string;
  /** Time to live: after it the item is never returned and is swept in the background. */
  ttlMs?: number;
  /** Acknowledgements to wait for (default: the store's W). */
  w?: number;
}

export interface DeleteOptions {
  context?: string;
  w?: number;
}

export interface GetOptions {
  /** Answers to wait for (default: the store's R). */
  r?: number;
  /** Choose R so that R + W > N: the read sees every write acknowledged with the store's W. */
  consistent?: boolean;
}

export type PutManyEntry = readonly [key: Key, value: unknown, options?: PutOptions];

export interface NodeStats {
  id: number;
  /** Requests served: gets + puts + replicates + purges. */
  ops: number;
  gets: number;
  puts: number;
  replicates: number;
  purges: number;
  keys: number;
  bytes: number;
  /** Requests sent to the node and not yet answered, including those waiting for ring space. */
  queueDepth: number;
  errors: number;
  commits: number;
  expired: number;
}

export type NodeStatus = 'up' | 'down' | 'joining' | 'leaving';

/** One storage node as `store.nodes()` reports it. */
export interface NodeInfo {
  id: number;
  status: NodeStatus;
  /** Keys in the node's own data (refreshed by the node every 250 ms). */
  keys: number;
  /** Hints other nodes hold for this one, waiting for handoff. */
  hintsPending: number;
  /** Hints this node holds for others. */
  hintsHeld: number;
  /** Why the node is down, when it is. */
  reason?: string;
}

/** The last addNode/removeNode, as `stats().membership` reports it. */
export interface MembershipChange {
  kind: 'add' | 'remove';
  nodeId: number;
  partitions: number;
  /** Partitions whose replica set changed. */
  partitionsMoved: number;
  /** Partitions whose primary changed over all partitions: about 1/(nodes+1) for an add (Dynamo §6.2 strategy 3). */
  movedFraction: number;
  /** Key copies streamed to gaining nodes (a key counts once per source page it was on). */
  keysCopied: number;
  keysDropped: number;
  durationMs: number;
}

export interface StoreStats {
  nodes: NodeStats[];
  antiEntropy: { passes: number; keysRepaired: number; lastPass: RepairResult | undefined };
  membership: { nodes: number; lastChange: MembershipChange | undefined };
  /** Hints handed back to their owners, and handoff steps that failed (retried later). */
  hintsDelivered: number;
  handoffErrors: number;
  /** Times a node was marked down: worker exit, crash, stop, or a stale heartbeat. */
  nodesMarkedDown: number;
  /** Stale or missing replicas updated after a get (Dynamo §5). */
  readRepairs: number;
  /** Repairs not sent because background work was at its bound. */
  readRepairsSkipped: number;
  /** Gets that found more than one live concurrent version. */
  siblingsSeen: number;
  /** Write envelopes sent (puts issued together, and putMany, pack the copies bound for one node into one), and the writes they carried. */
  writeEnvelopes: number;
  writeEnvelopeItems: number;
  tombstonesPurged: number;
  timeouts: number;
  overloaded: number;
  /** Operations whose callers wait (bounded by pendingMax). */
  pending: number;
  /** Replications, repairs and purges still in flight after their callers were answered. */
  background: number;
}

/** Node counters that count events (not levels): carried over a node's restarts. */
const CUMULATIVE_STATS = [NodeStat.GETS, NodeStat.PUTS, NodeStat.REPLICATES, NodeStat.PURGES, NodeStat.ERRORS, NodeStat.COMMITS, NodeStat.EXPIRED];
const HINTS_DRAIN_WAIT_MS = 10_000;
const WORKER_URL = new URL('../../workers/storage-node.js', import.meta.url);
const BATCH_WINDOW_MAX = 16_384;
/** A write envelope's own key: none (its items carry theirs). */
const NO_KEY = new Uint8Array(0);
const DEADLINE_TICK_MS_MAX = 100;
/** Background work allowed however small pendingMax is: a client that awaits each call is never refused for it. */
const BACKGROUND_PENDING_MIN = 65_536;

export class Store implements Coordinator {
  readonly options: ResolvedOptions;
  /** By node id; undefined for ids not (or no longer) in the store. */
  private readonly links: (NodeLink | undefined)[];
  /** Why a node is down, by id; undefined while it is up. */
  private readonly downReasons: (string | undefined)[] = [];
  /** Node threads being started (startNode, addNode): close() waits for them. */
  private readonly starting = new Set<NodeLink>();
  /** Counters of a node's earlier threads (before restarts), so stats() only grow. */
  private readonly carried: (Float64Array | undefined)[] = [];
  private readonly handoff: HintedHandoff;
  /** Fault injection for tests and benchmarks: drop, delay, duplicate requests to a node, or pause it. Seeded. */
  readonly faults: Faults;
  private failureTimer: NodeJS.Timeout | undefined;
  private ring: Ring;
  private preferenceLists: PreferenceListTable;
  /** While a membership change streams ranges: the ring it moves to, and which partitions change. */
  private transition: { table: PreferenceListTable; changed: Uint8Array } | undefined;
  /** Nodes started but not yet in the ring (joining), or in it and leaving. */
  private readonly joining = new Set<number>();
  private readonly leaving = new Set<number>();
  /** Removed nodes (this session) that stand-ins may still hold hints for. */
  private readonly retired = new Set<number>();
  private membershipChange: Promise<unknown> | undefined;
  /** Created on the first pass: its pool threads exist only while a pass runs (and briefly after). */
  private antiEntropy: AntiEntropy | undefined;
  private repairRunning: Promise<RepairResult> | undefined;
  private antiEntropyTimer: NodeJS.Timeout | undefined;
  private readonly antiEntropyCounters = { passes: 0, keysRepaired: 0, lastPass: undefined as RepairResult | undefined };
  private lastMembershipChange: MembershipChange | undefined;
  private readonly active = new Set<Operation>();
  /** Weight of the active operations whose callers still wait: what pendingMax bounds. */
  private pendingCount = 0;
  /**
   * Weight of operations whose callers have their answer but whose remaining
   * replicas have not (W < N), plus read repairs and purges in flight: bounded
   * by backgroundMax, beyond which new work is refused and repairs skipped.
   */
  private backgroundCount = 0;
  private readonly backgroundMax: number;
  private readonly backgroundReply = new BackgroundReply(() => this.backgroundCount--);
  private readonly purges: TombstonePurges;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readRotation = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /**
   * Write envelopes being filled (sendBatched), sent when full or at the end
   * of the turn; through send, so that a node marked down since its items
   * were packed fails them all at once.
   */
  private readonly envelopes = new EnvelopeBatcher(
    (nodeId, flags, body, envelope) => this.send(nodeId, Op.WRITE_BATCH, flags, NO_KEY, undefined, body, 0, 0, envelope, 0),
    (flush) => queueMicrotask(flush),
  );
  private lastTimestampMs = 0;
  private readonly counters = { readRepairs: 0, readRepairsSkipped: 0, siblingsSeen: 0, timeouts: 0, overloaded: 0, nodesMarkedDown: 0 };

  private constructor(options: ResolvedOptions, ring: Ring, links: NodeLink[]) {
    this.options = options;
    this.links = links;
    this.ring = ring;
    this.preferenceLists = new PreferenceListTable(ring, options.n);
    this.backgroundMax = Math.max(options.pendingMax, BACKGROUND_PENDING_MIN);
    this.purges = new TombstonePurges(options.tombstoneGraceMs, (key, replicas, objectBytes) => this.sendPurge(key, replicas, objectBytes));
    this.handoff = new HintedHandoff(
      {
        send: (target, op, key, value, reply) => this.send(target, op, 0, key, undefined, value, 0, 0, reply, 0),
        isUp: (node) => this.isUp(node),
        hintsHeld: (holder, owner) => (owner < NODE_IDS_MAX ? (this.links[holder]?.stats[HINTS_FOR_BASE + owner] ?? 0) : 0),
        nodeIds: () => this.ring.nodeIds(),
        retiredIds: () => this.retired,
        replicasOf: (key) => this.preferenceLists.forHash(hashKey32(key)),
      },
      options.handoffKeysPerSecond,
    );
    for (const id of readMembership(options.path).retired) this.retired.add(id);
    this.faults = new Faults((nodeId) => this.linkOf(nodeId), () => this.ring.nodeIds(), 0);
    this.watchNodes();
    if (options.antiEntropyIntervalMs > 0) {
      this.antiEntropyTimer = setInterval(() => {
        if (this.state === 'open' && this.repairRunning === undefined && this.membershipChange === undefined) this.repair().catch(() => {});
      }, options.antiEntropyIntervalMs);
      this.antiEntropyTimer.unref();
    }
  }

  static async open(options: StoreOptions): Promise<Store> {
    const resolved = resolveOptions(options);
    mkdirSync(resolved.path, { recursive: true });
    const ring = loadOrCreateRing(resolved, options.nodes !== undefined);
    const links: NodeLink[] = [];
    for (const nodeId of ring.nodeIds()) links[nodeId] = createLink(resolved, nodeId);
    try {
      await Promise.all(links.map((link) => link.whenReady()));
      const failed = links.find((link) => link !== undefined && link.failed !== undefined);
      if (failed) throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${failed.nodeId} failed to start: ${failed.failed!.message}`, undefined, { cause: failed.failed });
    } catch (error) {
      await Promise.allSettled(links.map((link) => link.stop()));
      throw error;
    }
    return new Store(resolved, ring, links);
  }

  // ---- public API -------------------------------------------------------

  async put(key: Key, value: unknown, options?: PutOptions): Promise<string> {
    this.assertOpen();
    const request = this.putRequest(key, value, options, 0);
    const objectBytes = await new Promise<Uint8Array | undefined>((resolve, reject) => {
      this.admit(1);
      this.startPut(request, writeQuorumFor(this.options, options), (error, bytes) => (error ? reject(error) : resolve(bytes)), 0);
    });
    return encodeContext(joinClock(decodeObject(objectBytes!)));
  }

  async delete(key: Key, options?: DeleteOptions): Promise<void> {
    this.assertOpen();
    const request = this.putRequest(key, null, options, RequestFlag.TOMBSTONE);
    await new Promise<void>((resolve, reject) => {
      this.admit(1);
      this.startPut(request, writeQuorumFor(this.options, options), (error) => (error ? reject(error) : resolve()), 0);
    });
  }

  async get(key: Key, options?: GetOptions): Promise<GetResult | undefined> {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    const r = readQuorumFor(this.options, options);
    return new Promise<GetResult | undefined>((resolve, reject) => {
      this.admit(1);
      this.startGet(key, r, (error, result) => (error ? reject(error) : resolve(result)), 0);
    });
  }

  async has(key: Key, options?: GetOptions): Promise<boolean> {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    const r = readQuorumFor(this.options, options);
    const result = await new Promise<GetResult | undefined>((resolve, reject) => {
      this.admit(1);
      this.startGet(key, r, (error, found) => (error ? reject(error) : resolve(found)), 0);
    });
    return result !== undefined;
  }

  /** Every entry is validated before any is sent; resolves when every put met its W. */
  async putMany(entries: readonly PutManyEntry[], options?: { w?: number }): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(entries)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'putMany takes an array of [key, value, options?]');
    const requests = entries.map((entry) => {
      if (!Array.isArray(entry)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'each putMany entry is [key, value, options?]');
      return this.putRequest(entry[0], entry[1], entry[2], 0);
    });
    const ws = entries.map((entry) => writeQuorumFor(this.options, entry[2] ?? options));
    if (requests.length === 0) return;
    if (this.transition !== undefined) {
      // Ranges are moving: each put also reaches its gaining nodes (startPut), which the batch path does not do.
      return this.runBatch(requests.length, (i, done: PutCallback) => this.startPut(requests[i]!, ws[i]!, done, i));
    }
    const windowMax = Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount);
    this.admit(1);
    await new Promise<void>((resolve, reject) => {
      const batch = new PutBatch(this, requests, ws, this.options.n, this.routeWrite, windowMax, this.options.timeoutMs, (error) => {
        this.release(batch);
        if (batch.isSettled) this.settleOperation(batch);
        if (error) reject(error);
        else resolve();
      });
      this.track(batch);
      batch.start();
    });
  }

  private readonly routeWrite = (key: WireKey): Int32Array => coordinatorFirst(this.targetsOf(key), this.isUpBound);

  /**
   * Where a key's requests go: its preference list while those nodes are up;
   * with some down, the up ones plus stand-ins holding hints for the others
   * (sloppy quorum, Dynamo §4.6), or, with `sloppy: false`, the list as it is
   * (requests to down nodes fail at once, so the quorum fails if too few are up).
   */
  private targetsOf(key: WireKey): Int32Array {
    return targetsFor(this.preferenceLists, hashKey32(key), this.isUpBound, this.options.sloppy);
  }

  private readTargetsOf(key: WireKey, r: number): Int32Array {
    return readTargets(this.preferenceLists, hashKey32(key), r, this.options.sloppy, this.isUpBound);
  }

  /** Hints the store's nodes report holding for `owner` (a crashed holder's last report counts). */
  private hintsOwedTo(owner: number): number {
    if (owner >= NODE_IDS_MAX) return 0;
    let owed = 0;
    for (const link of this.links) if (link !== undefined) owed += link.stats[HINTS_FOR_BASE + owner]!;
    return owed;
  }

  /** Up: its worker runs, answers, and nobody stopped it; requests go only to up nodes. */
  private isUp(nodeId: number): boolean {
    const link = this.links[nodeId];
    return link !== undefined && link.failed === undefined && this.downReasons[nodeId] === undefined;
  }

  private readonly isUpBound = (nodeId: number): boolean => this.isUp(nodeId);

  batchSettled(operation: Operation): void {
    this.settleOperation(operation);
  }

  /** Results in the order of `keys`; undefined where a key has no live value. */
  async getMany(keys: readonly Key[], options?: GetOptions): Promise<(GetResult | undefined)[]> {
    this.assertOpen();
    if (!Array.isArray(keys)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'getMany takes an array of keys');
    for (let i = 0; i < keys.length; i++) keyByteLength(keys[i], this.options.keyBytesMax);
    const r = readQuorumFor(this.options, options);
    if (r === 1 && this.options.readFanout === 'quorum') return this.singleReadBatch(keys);
    const results: (GetResult | undefined)[] = new Array(keys.length);
    await this.runBatch(keys.length, (i, done: GetCallback) => this.startGet(keys[i]!, r, done, i), (i, result) => {
      results[i] = result as GetResult | undefined;
    });
    return results;
  }

  private singleReadBatch(keys: readonly WireKey[]): Promise<(GetResult | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const windowMax = Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount);
    this.admit(1);
    return new Promise((resolve, reject) => {
      const batch: SingleReadBatch = new SingleReadBatch(this, keys, this.routeRead, windowMax, this.options.timeoutMs, (error, results) => {
        this.release(batch);
        this.settleOperation(batch);
        if (error) reject(error);
        else resolve(results);
      });
      this.track(batch);
      batch.start();
    });
  }

  /** R = 1: one replica, rotating through the preference list so that hot keys spread. */
  private readonly routeRead = (key: WireKey): number => singleReadTarget(this.readTargetsOf(key, 1), this.readRotation++, this.isUpBound);

  /** Node ids holding `key`, primary first (Dynamo §4.3). */
  preferenceList(key: Key): number[] {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    return Array.from(this.preferenceLists.forHash(hashKey32(key)));
  }

  /** The ring partition (virtual node, Dynamo §6.2 strategy 3) that holds `key`. */
  partitionOf(key: Key): number {
    this.assertOpen();
    keyByteLength(key, this.options.keyBytesMax);
    return this.ring.partitionOf(hashKey32(key));
  }

  /** The primary node of every ring partition, indexed by partition number. */
  partitionOwners(): number[] {
    this.assertOpen();
    return Array.from({ length: this.ring.partitionCount }, (_, partition) => this.ring.ownerOf(partition));
  }

  stats(): StoreStats {
    this.assertOpen();
    const nodes: NodeStats[] = [];
    for (const link of this.links) {
      if (link === undefined) continue;
      const s = link.stats;
      const c = this.carried[link.nodeId];
      const total = (counter: number) => s[counter]! + (c?.[counter] ?? 0);
      const gets = total(NodeStat.GETS);
      const puts = total(NodeStat.PUTS);
      const replicates = total(NodeStat.REPLICATES);
      const purges = total(NodeStat.PURGES);
      nodes.push({
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
      });
    }
    return {
      nodes,
      membership: { nodes: this.ring.nodeIds().length, lastChange: this.lastMembershipChange },
      antiEntropy: { ...this.antiEntropyCounters },
      ...this.counters,
      writeEnvelopes: this.envelopes.envelopesSent,
      writeEnvelopeItems: this.envelopes.itemsSent,
      hintsDelivered: this.handoff.delivered,
      handoffErrors: this.handoff.errors,
      tombstonesPurged: this.purges.purged,
      pending: this.pendingCount,
      background: this.backgroundCount,
    };
  }

  // ---- node lifecycle (Dynamo §4.6-4.8) -------------------------------------

  /** Every node of the store with its status, key count and hints. */
  nodes(): NodeInfo[] {
    this.assertOpen();
    const ids = [...this.ring.nodeIds(), ...[...this.joining].filter((id) => !this.ring.nodeIds().includes(id))];
    return ids.map((id): NodeInfo => {
      const link = this.links[id];
      let hintsPending = 0;
      if (id < NODE_IDS_MAX) for (const holder of ids) if (holder !== id) hintsPending += this.links[holder]?.stats[HINTS_FOR_BASE + id] ?? 0;
      const reason = this.downReasons[id] ?? link?.failed?.message;
      const info: NodeInfo = {
        id,
        status: reason !== undefined ? 'down' : this.joining.has(id) ? 'joining' : this.leaving.has(id) ? 'leaving' : 'up',
        keys: link?.stats[NodeStat.KEYS] ?? 0,
        hintsPending,
        hintsHeld: link?.stats[NodeStat.HINTS] ?? 0,
      };
      if (reason !== undefined) info.reason = reason;
      return info;
    });
  }

  /**
   * Terminate a node's worker abruptly: nothing beyond what LMDB already
   * committed survives, and requests waiting on it fail at once. Its keys'
   * requests go to the other replicas and to stand-ins (sloppy quorum) until
   * `startNode` brings it back on its data.
   */
  crashNode(nodeId: number): void {
    this.assertOpen();
    const link = this.linkOf(nodeId);
    this.markDown(nodeId, 'crashed');
    link.crash();
  }

  /** Stop a node gracefully: it finishes its commits and closes LMDB; requests move to the others meanwhile. */
  async stopNode(nodeId: number): Promise<void> {
    this.assertOpen();
    const link = this.linkOf(nodeId);
    this.markDown(nodeId, 'stopped');
    await link.stop();
  }

  /**
   * Restart a stopped or crashed node on its existing LMDB data. Resolves
   * once it serves; hints held for it are then handed back in the background
   * (watch `nodes()[i].hintsPending`).
   */
  async startNode(nodeId: number): Promise<void> {
    this.assertOpen();
    const old = this.linkOf(nodeId);
    if (this.isUp(nodeId)) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ${nodeId} is already up`);
    await old.stop(); // a paused or stale node's thread goes first: one LMDB writer per environment
    const link = await this.startLink(nodeId);
    if (link.failed !== undefined) {
      throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${nodeId} failed to start: ${link.failed.message}`, undefined, { cause: link.failed });
    }
    const carried = (this.carried[nodeId] ??= new Float64Array(NodeStat.COUNT));
    for (const counter of CUMULATIVE_STATS) carried[counter] = carried[counter]! + old.stats[counter]!;
    this.links[nodeId] = link;
    this.downReasons[nodeId] = undefined;
    this.handoff.tick(performance.now());
  }

  // ---- membership (Dynamo §4.9) ---------------------------------------------

  /**
   * Add a storage node: it starts (status 'joining'), receives the ranges it
   * will replicate, streamed from their current replicas while traffic goes
   * on (writes to moving ranges reach it too), then the ring switches to
   * include it and the nodes that lost ranges drop them. Resolves with its id
   * once it serves. Node ids are never reused.
   */
  async addNode(): Promise<number> {
    this.assertOpen();
    if (this.ring.nodeIds().length >= NODES_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `a store has at most ${NODES_MAX} nodes`);
    return this.changeMembership(async () => {
      const nodeId = this.nextNodeId();
      writeMembership(this.options.path, { nextNodeId: nodeId + 1, retired: [...this.retired] });
      const link = await this.startLink(nodeId);
      this.links[nodeId] = link;
      this.joining.add(nodeId);
      try {
        if (link.failed !== undefined) throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${nodeId} failed to start: ${link.failed.message}`, undefined, { cause: link.failed });
        await this.moveTo(this.ring.withNodeAdded(nodeId), 'add', nodeId);
      } catch (error) {
        this.links[nodeId] = undefined;
        await link.stop();
        throw error;
      } finally {
        this.joining.delete(nodeId);
      }
      return nodeId;
    });
  }

  /**
   * Remove a node: its ranges move to the nodes that take them over (streamed
   * from every up replica, the leaving node included), the ring switches,
   * then the node stops. Its directory is kept, renamed
   * `node-<id>.removed`, never reopened. Refused while the node holds hints
   * it cannot hand off, or when fewer than N nodes would remain.
   */
  async removeNode(nodeId: number): Promise<void> {
    this.assertOpen();
    const link = this.linkOf(nodeId);
    if (this.ring.nodeIds().length - 1 < this.options.n) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `removing node ${nodeId} would leave fewer than N = ${this.options.n} nodes`);
    }
    await this.changeMembership(async () => {
      this.leaving.add(nodeId);
      try {
        // Its hints belong to others: hand them off first (owners must be up).
        const handedOff = await this.waitFor(() => (link.stats[NodeStat.HINTS] ?? 0) === 0, HINTS_DRAIN_WAIT_MS);
        if (!handedOff) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ${nodeId} still holds ${link.stats[NodeStat.HINTS]} hints for down nodes: start them first`);
        await this.moveTo(this.ring.withNodeRemoved(nodeId), 'remove', nodeId);
      } finally {
        this.leaving.delete(nodeId);
      }
      this.markDown(nodeId, 'removed');
      // Hints held for it (while it was down) now go to the keys' new replicas.
      this.retired.add(nodeId);
      writeMembership(this.options.path, { nextNodeId: this.nextNodeId(), retired: [...this.retired] });
      await link.stop();
      this.links[nodeId] = undefined;
      this.downReasons[nodeId] = undefined;
      const directory = nodeDirectory(this.options.path, nodeId);
      if (existsSync(directory)) renameSync(directory, `${directory}.removed`);
    });
  }

  private async changeMembership<T>(change: () => Promise<T>): Promise<T> {
    if (this.membershipChange !== undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'a membership change is already in progress');
    const running = change();
    this.membershipChange = running;
    try {
      return await running;
    } finally {
      this.membershipChange = undefined;
    }
  }

  private nextNodeId(): number {
    const saved = readMembership(this.options.path).nextNodeId;
    const next = Math.max(saved, ...this.ring.nodeIds().map((id) => id + 1), this.links.length);
    if (next >= NODE_IDS_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ids are used up (${NODE_IDS_MAX} over the store's life)`);
    return next;
  }

  /** Stream the changing ranges, switch the ring, then hand over and drop what moved away. */
  private async moveTo(next: Ring, kind: 'add' | 'remove', nodeId: number): Promise<void> {
    const startedMs = performance.now();
    const before = this.ring;
    const plan: MovePlan = planMove(before, next, this.options.n);
    const changed = new Uint8Array(before.partitionCount);
    for (const move of plan.moves) changed[move.partition] = 1;
    const table = new PreferenceListTable(next, this.options.n);
    const counters: MoveCounters = { keysCopied: 0, keysDropped: 0, pages: 0 };
    const host = { send: (target: number, op: number, key: Uint8Array, value: Uint8Array | undefined, reply: PendingReply) => this.send(target, op, 0, key, undefined, value, 0, 0, reply, 0) };
    const reachable = (node: number) => this.isUp(node) || this.joining.has(node);
    this.transition = { table, changed };
    try {
      await copyToGainers(host, before, plan, reachable, counters);
      // The switch: from here requests route by the new ring; it is persisted first, so a restart does too.
      writeRing(this.options.path, next);
      this.ring = next;
      this.preferenceLists = table;
    } finally {
      this.transition = undefined;
    }
    // Requests routed by the old ring may still land on the nodes that lost
    // ranges: let them finish (they end by their deadline) before those drop.
    const routedBefore = [...this.active];
    await this.waitFor(() => routedBefore.every((operation) => !this.active.has(operation)), this.options.timeoutMs);
    await handOverAndDrop(host, before, plan, reachable, counters);
    this.lastMembershipChange = {
      kind,
      nodeId,
      partitions: plan.partitionCount,
      partitionsMoved: plan.moves.length,
      movedFraction: plan.primariesMoved / plan.partitionCount,
      keysCopied: counters.keysCopied,
      keysDropped: counters.keysDropped,
      durationMs: performance.now() - startedMs,
    };
  }

  /** During a range move: the nodes that will replicate the key and are not among its current targets. */
  private gainersOf(key: WireKey, targets: Int32Array): number[] | undefined {
    const transition = this.transition;
    if (transition === undefined) return undefined;
    const hash = hashKey32(key);
    if (transition.changed[this.ring.partitionOf(hash)] === 0) return undefined;
    const gainers: number[] = [];
    for (const node of transition.table.forHash(hash)) {
      let listed = false;
      for (let i = 0; i < targets.length; i++) if (nodeOfTarget(targets[i]!) === node) listed = true;
      if (!listed) gainers.push(node);
    }
    return gainers.length > 0 ? gainers : undefined;
  }

  private replicateToGainers(key: WireKey, gainers: number[], objectBytes: Uint8Array): void {
    for (const node of gainers) {
      this.backgroundCount++;
      this.send(node, Op.REPLICATE, 0, key, undefined, objectBytes, 0, 0, this.backgroundReply, 0);
    }
  }

  private async waitFor(probe: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!probe()) {
      if (performance.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
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
    if (this.repairRunning !== undefined) return this.repairRunning;
    const running = this.repairPass();
    this.repairRunning = running;
    try {
      return await running;
    } finally {
      this.repairRunning = undefined;
    }
  }

  private async repairPass(): Promise<RepairResult> {
    this.antiEntropy ??= AntiEntropy.create({ path: this.options.path, threadsMax: this.options.antiEntropyThreads });
    const result = await repairPass(
      {
        ring: () => this.ring,
        n: this.options.n,
        isUp: (node) => this.isUp(node),
        replicasOf: (key) => this.preferenceLists.forHash(hashKey32(key)),
        send: (target, op, key, value, reply) => this.send(target, op, 0, key, undefined, value, 0, 0, reply, 0),
        open: () => this.state === 'open',
      },
      this.antiEntropy,
    );
    this.antiEntropyCounters.passes++;
    this.antiEntropyCounters.keysRepaired += result.keysRepaired;
    this.antiEntropyCounters.lastPass = result;
    return result;
  }

  /**
   * Start a node thread, with no anti-entropy task holding its environment:
   * lmdb-js shares one environment per path in a process, so a node opening
   * while a pool thread holds it read-only would get it read-only.
   */
  private async startLink(nodeId: number): Promise<NodeLink> {
    const start = async () => {
      const link = createLink(this.options, nodeId);
      this.starting.add(link);
      try {
        await link.whenReady();
      } finally {
        this.starting.delete(link);
      }
      if (this.state !== 'open') {
        // close() ran meanwhile: this thread must not outlive the store.
        await link.stop();
        throw new RingtableError(ErrorCode.CLOSED, 'the store closed while a node was starting');
      }
      return link;
    };
    return this.antiEntropy === undefined ? start() : this.antiEntropy.withEnvsReleased(start);
  }

  private linkOf(nodeId: number): NodeLink {
    const link = Number.isInteger(nodeId) ? this.links[nodeId] : undefined;
    if (link === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `no node ${String(nodeId)} in this store`);
    return link;
  }

  private markDown(nodeId: number, reason: string): void {
    if (this.downReasons[nodeId] !== undefined) return;
    this.downReasons[nodeId] = reason;
    this.counters.nodesMarkedDown++;
    // Requests stop waiting for it: they fail now and their quorums move on.
    this.links[nodeId]?.abandonPending(new Error(`storage node ${nodeId} is down: ${reason}`));
  }

  /**
   * The failure detector and the handoff pacer, on one timer. A node is down
   * when its worker exited, or when its heartbeat (stats[HEARTBEAT_MS], one
   * store per turn of its loop, and at least every 100 ms while idle) has not
   * changed for failureTimeoutMs. So a failure is detected within
   * failureTimeoutMs + one check interval (failureTimeoutMs / 4, at most
   * 100 ms): documented in the README. A
   * node marked down by its heartbeat alone comes back up when the heartbeat
   * resumes; one that exited, crashed or was stopped needs startNode.
   */
  private watchNodes(): void {
    const intervalMs = Math.max(10, Math.min(100, Math.floor(this.options.failureTimeoutMs / 4)));
    const detector = new FailureDetector(this.options.failureTimeoutMs, intervalMs);
    this.failureTimer = setInterval(() => {
      const nowMs = performance.now();
      const judging = detector.beginRound(nowMs);
      for (const id of this.ring.nodeIds()) {
        const link = this.links[id];
        if (link === undefined) continue;
        const reason = this.downReasons[id];
        if (link.failed !== undefined) {
          if (reason === undefined) this.markDown(id, link.failed.message);
          detector.forget(id);
          continue;
        }
        const heartbeat = detector.observe(id, link.stats[NodeStat.HEARTBEAT_MS]!, nowMs);
        if (heartbeat === 'silent' && judging && reason === undefined) this.markDown(id, `no heartbeat for ${this.options.failureTimeoutMs} ms`);
        else if (heartbeat === 'beating' && reason !== undefined && reason.startsWith('no heartbeat')) this.downReasons[id] = undefined;
      }
      this.handoff.tick(performance.now());
    }, intervalMs);
    this.failureTimer.unref();
  }

  /** Waits for in-flight operations, stops the nodes and closes LMDB. Later calls fail with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    clearInterval(this.failureTimer);
    clearInterval(this.antiEntropyTimer);
    await this.repairRunning?.catch(() => {});
    // Every operation ends by its deadline; repairs and purges get as long.
    const giveUpMs = performance.now() + this.options.timeoutMs;
    while (this.active.size > 0 || (this.backgroundCount > 0 && performance.now() < giveUpMs)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.purges.clear();
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    await Promise.all(this.links.map((link) => link?.stop()));
    // A node start in flight stops its own thread once ready (startLink); wait for that.
    while (this.starting.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.antiEntropy?.close();
    this.state = 'closed';
  }

  // ---- the coordinator's machinery -----------------------------------------

  private assertOpen(): void {
    if (this.state !== 'open') throw new RingtableError(ErrorCode.CLOSED, 'the store is closed');
  }

  /** Bounded memory: refuse work beyond pendingMax instead of queueing without limit. */
  private admit(count: number): void {
    if (this.pendingCount + count > this.options.pendingMax || this.backgroundCount >= this.backgroundMax) {
      this.counters.overloaded++;
      throw new RingtableError(ErrorCode.OVERLOADED, `${this.pendingCount} operations pending; pendingMax is ${this.options.pendingMax}`);
    }
  }

  private nowMs(): number {
    // Timestamps order last-writer-wins; never let them run backwards within a process.
    this.lastTimestampMs = Math.max(Date.now(), this.lastTimestampMs);
    return this.lastTimestampMs;
  }

  private putRequest(key: Key, value: unknown, options: PutOptions | undefined, flags: number): PutRequest {
    keyByteLength(key, this.options.keyBytesMax);
    const valueBytes = flags & RequestFlag.TOMBSTONE ? new Uint8Array(0) : encodeValue(value, this.options.valueBytesMax);
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, 'options must be an object');
    }
    const ttlMs = options?.ttlMs;
    if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `ttlMs must be a positive number, got ${String(ttlMs)}`);
    }
    let context: CausalContext | undefined;
    if (options?.context !== undefined) context = decodeContext(options.context);
    const timestampMs = this.nowMs();
    return {
      key,
      flags: flags | (context === undefined ? RequestFlag.BLIND : 0),
      context,
      value: valueBytes,
      timestampMs,
      expiresAtMs: ttlMs === undefined ? 0 : Math.ceil(timestampMs + ttlMs),
    };
  }

  private startPut(request: PutRequest, w: number, callback: PutCallback, tag: number, deadlineMs = performance.now() + this.options.timeoutMs, retried = false): void {
    const replicas = coordinatorFirst(this.targetsOf(request.key), this.isUpBound);
    const gainers = this.gainersOf(request.key, replicas);
    const operation: PutOperation = new PutOperation(this, request, replicas, w, deadlineMs, (error, bytes, t) => {
      this.release(operation);
      // Its coordinator failed before minting the version (Dynamo §4.5: any
      // node of the list can coordinate): once, try the next live one. Like a
      // client's retry, a version the failed node did commit may then show
      // as a sibling of this one.
      if (error !== undefined && operation.coordinatorLost && !retried && performance.now() < deadlineMs && this.state === 'open' && !this.isUp(nodeOfTarget(replicas[0]!))) {
        this.startPut(request, w, callback, tag, deadlineMs, true);
        return;
      }
      if (gainers !== undefined && bytes !== undefined) this.replicateToGainers(request.key, gainers, bytes);
      callback(error, bytes, t);
    }, tag);
    this.track(operation);
    operation.start();
  }

  private startGet(key: WireKey, r: number, callback: GetCallback, tag: number, deadlineMs = performance.now() + this.options.timeoutMs, retried = false): void {
    const list = this.readTargetsOf(key, r);
    const replicas = readReplicas(list, r, this.options.readFanout, this.readRotation++, this.isUpBound);
    const operation: GetOperation = new GetOperation(this, key, replicas, r, deadlineMs, (error, result, t) => {
      this.release(operation);
      // A replica failed under it (not a timeout): reads are idempotent, so
      // ask again once, now that the failed node is routed around.
      if (error?.code === ErrorCode.QUORUM && !retried && this.state === 'open' && performance.now() < deadlineMs && someDown(replicas, this.isUpBound)) {
        this.startGet(key, r, callback, tag, deadlineMs, true);
        return;
      }
      callback(error, result, t);
    }, tag);
    this.track(operation);
    operation.start();
  }

  wallClockMs(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  toResult(object: VersionedObject | undefined): GetResult | undefined {
    const result = toGetResult(object, Date.now(), this.options.resolve);
    if (result !== undefined && result.siblings.length > 1) this.counters.siblingsSeen++;
    return result;
  }

  /**
   * Send a window of a batch at a time: one promise per batch, one completion
   * closure per batch (items carry their index as a tag), bounded in-flight work.
   */
  private runBatch<T>(
    count: number,
    start: (index: number, done: (error: RingtableError | undefined, result: T, tag: number) => void) => void,
    collect?: (index: number, result: T) => void,
  ): Promise<void> {
    if (count === 0) return Promise.resolve();
    this.admit(1);
    const window = Math.max(1, Math.min(BATCH_WINDOW_MAX, this.options.pendingMax - this.pendingCount, count));
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let failed = false;
      const done = (error: RingtableError | undefined, result: T, tag: number) => {
        finished++;
        if (error !== undefined && !failed) {
          failed = true;
          reject(error);
        }
        if (failed) return;
        if (collect !== undefined) collect(tag, result);
        if (finished === count) return resolve();
        if (next < count) start(next++, done);
      };
      while (next < window) start(next++, done);
    });
  }

  /** `target` is a node, or a node standing in for another (ring/replica-target.ts). */
  send(target: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void {
    const nodeId = nodeOfTarget(target);
    const link = this.links[nodeId];
    const down = link === undefined ? `node ${nodeId} is not in the store` : this.downReasons[nodeId];
    if (down !== undefined) {
      // Requests never wait on a node marked down.
      reply.onNodeFailure(target, new Error(`storage node ${nodeId} is down: ${down}`), tag);
      return;
    }
    link!.send(op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag, target);
  }

  /**
   * `send`, packed with other writes to the same node into a write envelope
   * (wire.ts): one message, one slot and one wake for up to
   * ENVELOPE_ITEMS_TARGET copies. For PUT and REPLICATE; an item too large
   * for an envelope goes alone.
   */
  sendBatched(target: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void {
    const nodeId = nodeOfTarget(target);
    // A node down or gone fails the request at once, through send; so does nothing wait in an envelope for it.
    const packable = this.links[nodeId] !== undefined && this.downReasons[nodeId] === undefined;
    if (!packable || !this.envelopes.add(target, op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag)) {
      this.send(target, op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag);
    }
  }

  readSettled(operation: GetOperation): void {
    if (!this.settleOperation(operation)) return;
    const repairs = operation.quorum.repairs();
    if (repairs.length > 0) {
      const merged = encodeObject(repairs[0]!.version);
      for (const repair of repairs) {
        if (this.backgroundCount >= this.backgroundMax) {
          this.counters.readRepairsSkipped++;
          continue;
        }
        this.counters.readRepairs++;
        this.backgroundCount++;
        this.send(repair.node, Op.REPLICATE, 0, operation.key, undefined, merged, 0, 0, this.backgroundReply, 0);
      }
    }
    const merged = operation.quorum.result();
    // The cheap test first: only a tombstone read asks whether all N agree.
    if (merged !== undefined && isAllTombstones(merged) && operation.quorum.replicas.length === this.options.n && !anyHinted(operation.quorum.replicas) && operation.quorum.unanimous()) {
      this.purges.schedule(operation.key, Array.from(operation.quorum.replicas), encodeObject(merged), performance.now());
    }
  }

  writeSettled(operation: PutOperation): void {
    if (!this.settleOperation(operation)) return;
    // Dynamo's tombstones must outlive every stale replica: purge only once all N hold it.
    if (operation.request.flags & RequestFlag.TOMBSTONE && operation.quorum.allAcked && operation.objectBytes !== undefined && operation.quorum.replicas.length === this.options.n && !anyHinted(operation.quorum.replicas)) {
      this.purges.schedule(operation.request.key, Array.from(operation.quorum.replicas), operation.objectBytes, performance.now());
    }
  }

  private sendPurge(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array): void {
    if (this.state !== 'open') return;
    // A hint held anywhere for one of these replicas may be an older version
    // of this key: handed off after the purge, it would bring the deleted
    // value back (found by the simulation, seed 1838 of 'sloppy'). Keep the
    // tombstone until no hint is owed to them; a later read or delete purges it.
    if (replicas.some((replica) => this.hintsOwedTo(nodeOfTarget(replica)) > 0)) return;
    // Ranges in motion: a copy of an older version may still be on its way to the key's next replicas.
    if (this.membershipChange !== undefined) return;
    for (const node of replicas) {
      this.backgroundCount++;
      this.send(node, Op.PURGE, 0, key, undefined, objectBytes, 0, 0, this.backgroundReply, 0);
    }
  }

  private settleOperation(operation: Operation): boolean {
    if (!this.active.delete(operation)) return false;
    if (operation.callerDone) this.backgroundCount -= operation.weight;
    else this.pendingCount -= operation.weight;
    return true;
  }

  /** The caller has its answer: what remains of the operation is background work. */
  private release(operation: Operation): void {
    if (operation.callerDone) return;
    operation.callerDone = true;
    if (!this.active.has(operation)) return;
    this.pendingCount -= operation.weight;
    this.backgroundCount += operation.weight;
  }

  private track(operation: Operation): void {
    this.active.add(operation);
    this.pendingCount += operation.weight;
    if (this.deadlineTimer === undefined) this.armDeadlines();
  }

  /** One timer for every deadline: scanning pending operations is O(pendingMax) per tick, bounded. */
  private armDeadlines(): void {
    const tickMs = Math.max(1, Math.min(DEADLINE_TICK_MS_MAX, Math.floor(this.options.timeoutMs / 4)));
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      const nowMs = performance.now();
      for (const operation of this.active) {
        if (operation.deadlineMs > nowMs) continue;
        this.settleOperation(operation);
        this.counters.timeouts++;
        operation.expire();
      }
      if (this.active.size > 0) this.armDeadlines();
    }, tickMs);
  }
}

function isAllTombstones(object: VersionedObject): boolean {
  const siblings = siblingsOf(object);
  return siblings.length > 0 && siblings.every((s) => s.tombstone);
}

function createLink(options: ResolvedOptions, nodeId: number): NodeLink {
  const linkOptions: NodeLinkOptions = {
    nodeId,
    path: options.path,
    durability: options.durability,
    conflicts: options.conflicts,
    clockEntriesMax: options.clockEntriesMax,
    objectBytesMax: objectBytesMaxOf(options),
    messageBytesMax: objectBytesMaxOf(options) + options.keyBytesMax + 4096,
    sweepIntervalMs: options.sweepIntervalMs,
    transport: options.transport,
    ringBytes: options.ringBytes,
    workerUrl: WORKER_URL,
  };
  return options.transport === 'post-message' ? new PostMessageNodeLink(linkOptions) : new SabNodeLink(linkOptions);
}
