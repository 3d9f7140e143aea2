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
import { NodeStat } from '../node/replica.js';
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

export interface StoreStats {
  nodes: NodeStats[];
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
  private readonly links: NodeLink[];
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
  private readonly counters = { readRepairs: 0, readRepairsSkipped: 0, siblingsSeen: 0, timeouts: 0, overloaded: 0 };

  private constructor(options: ResolvedOptions, ring: Ring, links: NodeLink[]) {
    this.options = options;
    this.links = links;
    this.ring = ring;
    this.preferenceLists = new PreferenceListTable(ring, options.n);
    this.backgroundMax = Math.max(options.pendingMax, BACKGROUND_PENDING_MIN);
    this.purges = new TombstonePurges(options.tombstoneGraceMs, (key, replicas, objectBytes) => this.sendPurge(key, replicas, objectBytes));
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

  private readonly routeWrite = (key: WireKey): Int32Array => this.coordinatorFirst(this.preferenceLists.forHash(hashKey32(key)));

  private isUp(nodeId: number): boolean {
    return this.links[nodeId]!.failed === undefined;
  }

  /**
   * The preference list with a live coordinator first: any of the key's N
   * replicas can coordinate a write (Dynamo §4.5), so a failed primary does
   * not fail writes that the others can still acknowledge. W still counts
   * only these N (strict quorum; stand-ins come with hinted handoff).
   */
  private coordinatorFirst(list: Int32Array): Int32Array {
    if (this.isUp(list[0]!)) return list;
    let live = 1;
    while (live < list.length && !this.isUp(list[live]!)) live++;
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
    const list = this.preferenceLists.forHash(hashKey32(key));
    const start = this.readRotation++ % list.length;
    for (let i = 0; i < list.length; i++) {
      const node = list[(start + i) % list.length]!;
      if (this.isUp(node)) return node;
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
    const nodes = this.links.map((link): NodeStats => {
      const s = link.stats;
      const gets = s[NodeStat.GETS]!;
      const puts = s[NodeStat.PUTS]!;
      const replicates = s[NodeStat.REPLICATES]!;
      const purges = s[NodeStat.PURGES]!;
      return {
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
      };
    });
    return { nodes, ...this.counters, tombstonesPurged: this.purges.purged, pending: this.pendingCount, background: this.backgroundCount };
  }

  /**
   * Terminate a node's worker abruptly: nothing beyond what LMDB already
   * committed survives, and requests waiting on it fail at once. (Restarting
   * and routing around it come with the failures issue.)
   */
  crashNode(nodeId: number): void {
    const link = this.links[nodeId];
    if (link === undefined) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `no node ${nodeId}`);
    link.crash();
  }

  /** Waits for in-flight operations, stops the nodes and closes LMDB. Later calls fail with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    // Every operation ends by its deadline; repairs and purges get as long.
    const giveUpMs = performance.now() + this.options.timeoutMs;
    while (this.active.size > 0 || (this.backgroundCount > 0 && performance.now() < giveUpMs)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.purges.clear();
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    await Promise.all(this.links.map((link) => link.stop()));
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

  private startPut(request: PutRequest, w: number, callback: PutCallback, tag: number): void {
    const replicas = this.coordinatorFirst(this.preferenceLists.forHash(hashKey32(request.key)));
    const operation: PutOperation = new PutOperation(this, request, replicas, w, performance.now() + this.options.timeoutMs, (error, bytes, t) => {
      this.release(operation);
      callback(error, bytes, t);
    }, tag);
    this.track(operation);
    operation.start();
  }

  private startGet(key: WireKey, r: number, callback: GetCallback, tag: number): void {
    const list = this.preferenceLists.forHash(hashKey32(key));
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
    if (this.options.readFanout === 'all' || r === n) return list;
    const start = this.readRotation++ % n;
    const replicas: number[] = [];
    // Live replicas first, in rotation; failed ones only if too few are live (they then fail at once).
    for (let i = 0; i < n && replicas.length < r; i++) {
      const node = list[(start + i) % n]!;
      if (this.isUp(node)) replicas.push(node);
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

  send(nodeId: number, op: number, flags: number, key: WireKey, context: CausalContext | undefined, value: Uint8Array | undefined, timestampMs: number, expiresAtMs: number, reply: PendingReply, tag: number): void {
    this.links[nodeId]!.send(op, flags, key, context, value, timestampMs, expiresAtMs, reply, tag);
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
    if (merged !== undefined && isAllTombstones(merged) && operation.quorum.replicas.length === this.options.n && operation.quorum.unanimous()) {
      this.purges.schedule(operation.key, Array.from(operation.quorum.replicas), encodeObject(merged), performance.now());
    }
  }

  writeSettled(operation: PutOperation): void {
    if (!this.settleOperation(operation)) return;
    // Dynamo's tombstones must outlive every stale replica: purge only once all N hold it.
    if (operation.request.flags & RequestFlag.TOMBSTONE && operation.quorum.allAcked && operation.objectBytes !== undefined) {
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
