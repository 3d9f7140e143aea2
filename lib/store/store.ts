/**
 * The coordinator: the public Store. It hashes keys onto the ring, sends each
 * request to the key's preference list over the nodes' rings, and drives the
 * quorum operations. Everything distributed-systems-shaped it decides by
 * calling the pure core (ring, preference list, quorum, version vectors);
 * what stays here is I/O, time, and bounds.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { ErrorCode, RingtableError } from '../errors.js';
import { type ResolvedOptions, type StoreOptions, objectBytesMaxOf, readQuorumFor, resolveOptions, writeQuorumFor } from '../config/options.js';
import { hashKey32 } from '../ring/hash.js';
import { Ring, type RingJSON } from '../ring/ring.js';
import { PreferenceListTable } from '../ring/preference-list.js';
import { HINTS_FOR_BASE, NODE_IDS_MAX, NodeStat } from '../node/replica.js';
import { isHinted, nodeOfTarget, targetsFor } from '../ring/replica-target.js';
import { HintedHandoff } from './hinted-handoff.js';
import { Faults } from './faults.js';
import { type NodeLink, type NodeLinkOptions, type PendingReply, PostMessageNodeLink, SabNodeLink } from '../transport/node-link.js';
import { Op, RequestFlag, type WireKey } from '../transport/wire.js';
import { type CausalContext, type VersionedObject, siblingsOf } from '../version/dotted-version-vector.js';
import { decodeContext, decodeObject, encodeObject } from '../version/object-codec.js';
import { encodeContext } from '../version/object-codec.js';
import { join as joinClock } from '../version/dotted-version-vector.js';
import { type Coordinator, type GetCallback, GetOperation, type Operation, PutBatch, type PutCallback, PutOperation, type PutRequest, SingleReadBatch, BackgroundReply } from './operations.js';
import { type GetResult, toGetResult } from './get-result.js';
import { type Key, encodeValue, keyByteLength } from './value-codec.js';
import { TombstonePurges } from './tombstone-purges.js';

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

export interface StoreStats {
  nodes: NodeStats[];
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
  tombstonesPurged: number;
  timeouts: number;
  overloaded: number;
  /** Operations whose callers wait (bounded by pendingMax). */
  pending: number;
  /** Replications, repairs and purges still in flight after their callers were answered. */
  background: number;
}

const WORKER_URL = new URL('../../workers/storage-node.js', import.meta.url);
const BATCH_WINDOW_MAX = 16_384;
const DEADLINE_TICK_MS_MAX = 100;
/** Background work allowed however small pendingMax is: a client that awaits each call is never refused for it. */
const BACKGROUND_PENDING_MIN = 65_536;

export class Store implements Coordinator {
  readonly options: ResolvedOptions;
  /** By node id; undefined for ids not (or no longer) in the store. */
  private readonly links: (NodeLink | undefined)[];
  /** Why a node is down, by id; undefined while it is up. */
  private readonly downReasons: (string | undefined)[] = [];
  private readonly handoff: HintedHandoff;
  /** Fault injection for tests and benchmarks: drop, delay, duplicate requests to a node, or pause it. Seeded. */
  readonly faults: Faults;
  private failureTimer: NodeJS.Timeout | undefined;
  private ring: Ring;
  private readonly preferenceLists: PreferenceListTable;
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
      },
      options.handoffKeysPerSecond,
    );
    this.faults = new Faults((nodeId) => this.linkOf(nodeId), () => this.ring.nodeIds(), 0);
    this.watchNodes();
  }

  static async open(options: StoreOptions): Promise<Store> {
    const resolved = resolveOptions(options);
    mkdirSync(resolved.path, { recursive: true });
    const ring = loadOrCreateRing(resolved);
    const links: NodeLink[] = [];
    for (const nodeId of ring.nodeIds()) links[nodeId] = createLink(resolved, nodeId);
    try {
      await Promise.all(links.map((link) => link.whenReady()));
      const failed = links.find((link) => link.failed !== undefined);
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

  private readonly routeWrite = (key: WireKey): Int32Array => this.coordinatorFirst(this.targetsOf(key));

  /**
   * Where a key's requests go: its preference list while those nodes are up;
   * with some down, the up ones plus stand-ins holding hints for the others
   * (sloppy quorum, Dynamo §4.6), or, with `sloppy: false`, the list as it is
   * (requests to down nodes fail at once, so the quorum fails if too few are up).
   */
  private targetsOf(key: WireKey): Int32Array {
    return targetsFor(this.preferenceLists, hashKey32(key), this.isUpBound, this.options.sloppy);
  }

  /** Up: its worker runs, answers, and nobody stopped it; requests go only to up nodes. */
  private isUp(nodeId: number): boolean {
    const link = this.links[nodeId];
    return link !== undefined && link.failed === undefined && this.downReasons[nodeId] === undefined;
  }

  private readonly isUpBound = (nodeId: number): boolean => this.isUp(nodeId);

  /**
   * The preference list with a live coordinator first: any of the key's N
   * replicas can coordinate a write (Dynamo §4.5), so a failed primary does
   * not fail writes that the others can still acknowledge. W still counts
   * only these N (strict quorum; stand-ins come with hinted handoff).
   */
  private coordinatorFirst(list: Int32Array): Int32Array {
    if (list.length === 0 || this.isUp(nodeOfTarget(list[0]!))) return list;
    let live = 1;
    while (live < list.length && !this.isUp(nodeOfTarget(list[live]!))) live++;
    if (live === list.length) return list;
    const reordered = new Int32Array(list.length);
    reordered[0] = list[live]!;
    for (let i = 0, j = 1; i < list.length; i++) if (i !== live) reordered[j++] = list[i]!;
    return reordered;
  }

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
  private readonly routeRead = (key: WireKey): number => {
    const list = this.targetsOf(key);
    const start = this.readRotation++ % list.length;
    for (let i = 0; i < list.length; i++) {
      const target = list[(start + i) % list.length]!;
      if (this.isUp(nodeOfTarget(target))) return target;
    }
    return list[start]!;
  };

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
      const gets = s[NodeStat.GETS]!;
      const puts = s[NodeStat.PUTS]!;
      const replicates = s[NodeStat.REPLICATES]!;
      const purges = s[NodeStat.PURGES]!;
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
        errors: s[NodeStat.ERRORS]!,
        commits: s[NodeStat.COMMITS]!,
        expired: s[NodeStat.EXPIRED]!,
      });
    }
    return {
      nodes,
      ...this.counters,
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
    const ids = this.ring.nodeIds();
    return ids.map((id): NodeInfo => {
      const link = this.links[id];
      let hintsPending = 0;
      if (id < NODE_IDS_MAX) for (const holder of ids) if (holder !== id) hintsPending += this.links[holder]?.stats[HINTS_FOR_BASE + id] ?? 0;
      const reason = this.downReasons[id] ?? link?.failed?.message;
      const info: NodeInfo = {
        id,
        status: reason === undefined ? 'up' : 'down',
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
    const link = createLink(this.options, nodeId);
    await link.whenReady();
    if (link.failed !== undefined) {
      throw new RingtableError(ErrorCode.NODE_FAILED, `storage node ${nodeId} failed to start: ${link.failed.message}`, undefined, { cause: link.failed });
    }
    this.links[nodeId] = link;
    this.downReasons[nodeId] = undefined;
    this.handoff.tick(performance.now());
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
   * store per turn of its loop, and at least every 100 ms while idle) is older
   * than failureTimeoutMs. So a failure is detected within failureTimeoutMs +
   * one check interval (failureTimeoutMs / 4): documented in the README. A
   * node marked down by its heartbeat alone comes back up when the heartbeat
   * resumes; one that exited, crashed or was stopped needs startNode.
   */
  private watchNodes(): void {
    const intervalMs = Math.max(10, Math.min(100, Math.floor(this.options.failureTimeoutMs / 4)));
    this.failureTimer = setInterval(() => {
      const nowMs = Date.now();
      for (const id of this.ring.nodeIds()) {
        const link = this.links[id];
        if (link === undefined) continue;
        const reason = this.downReasons[id];
        if (link.failed !== undefined) {
          if (reason === undefined) this.markDown(id, link.failed.message);
          continue;
        }
        const stale = nowMs - link.stats[NodeStat.HEARTBEAT_MS]! > this.options.failureTimeoutMs;
        if (stale && reason === undefined) this.markDown(id, `no heartbeat for ${this.options.failureTimeoutMs} ms`);
        else if (!stale && reason !== undefined && reason.startsWith('no heartbeat')) this.downReasons[id] = undefined;
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
    // Every operation ends by its deadline; repairs and purges get as long.
    const giveUpMs = performance.now() + this.options.timeoutMs;
    while (this.active.size > 0 || (this.backgroundCount > 0 && performance.now() < giveUpMs)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.purges.clear();
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    await Promise.all(this.links.map((link) => link?.stop()));
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
    const replicas = this.coordinatorFirst(this.targetsOf(request.key));
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
      callback(error, bytes, t);
    }, tag);
    this.track(operation);
    operation.start();
  }

  private startGet(key: WireKey, r: number, callback: GetCallback, tag: number): void {
    const list = this.targetsOf(key);
    const replicas = this.readReplicas(list, r);
    const operation: GetOperation = new GetOperation(this, key, replicas, r, performance.now() + this.options.timeoutMs, (error, result, t) => {
      this.release(operation);
      callback(error, result, t);
    }, tag);
    this.track(operation);
    operation.start();
  }

  /** 'all' asks every replica (Dynamo §4.5); 'quorum' asks R, rotating so hot keys spread over replicas. */
  private readReplicas(list: Int32Array, r: number): ArrayLike<number> {
    const n = list.length;
    if (this.options.readFanout === 'all' || r >= n) return list;
    const start = this.readRotation++ % n;
    const replicas: number[] = [];
    // Live replicas first, in rotation; failed ones only if too few are live (they then fail at once).
    for (let i = 0; i < n && replicas.length < r; i++) {
      const target = list[(start + i) % n]!;
      if (this.isUp(nodeOfTarget(target))) replicas.push(target);
    }
    for (let i = 0; i < n && replicas.length < r; i++) {
      const node = list[(start + i) % n]!;
      if (!replicas.includes(node)) replicas.push(node);
    }
    return replicas;
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

/** A tombstone held by a stand-in is not yet on its owner: never purge it then. */
function anyHinted(replicas: ArrayLike<number>): boolean {
  for (let i = 0; i < replicas.length; i++) if (isHinted(replicas[i]!)) return true;
  return false;
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

/** The ring is stored with the data: reopening must route every key where it was written. */
function loadOrCreateRing(options: ResolvedOptions): Ring {
  const file = joinPath(options.path, 'ring.json');
  if (existsSync(file)) {
    const ring = Ring.fromJSON(JSON.parse(readFileSync(file, 'utf8')) as RingJSON);
    if (ring.nodeIds().length !== options.nodes) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `the store at ${options.path} has ${ring.nodeIds().length} nodes, not ${options.nodes}`);
    }
    return ring;
  }
  const ring = Ring.create(Array.from({ length: options.nodes }, (_, i) => i), options.vnodes);
  writeFileSync(file, JSON.stringify(ring.toJSON()));
  return ring;
}
