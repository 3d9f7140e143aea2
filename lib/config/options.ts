/**
 * Store options, their defaults and their validation: pure, so bad input
 * fails with ERR_INVALID_OPTIONS before any thread starts.
 */
import { ErrorCode, RingtableError } from '../errors.js';
import type { Durability } from '../storage/storage-engine.js';
import { isPowerOfTwo } from '../bytes.js';
import { integer } from '../option-checks.js';
import { KEY_BYTES_LIMIT, NICE_MAX, NODES_MAX, REPLICAS_MAX } from '../bounds.js';

export { integer };

/** How the coordinator reaches its storage nodes: SharedArrayBuffer rings, or postMessage. */
export type TransportKind = 'sab' | 'post-message';

export type ConflictMode = 'siblings' | 'lww';
export type ReadFanout = 'quorum' | 'all';
/** How a get reaches an up replica: its LMDB environment read in place in the calling thread, or a message to its node thread. */
export type ReadPath = 'direct' | 'messages';
/** Which R of a key's N replicas a get asks (lib/store/routing.ts): the least loaded lately, or round-robin. */
export type ReadBalance = 'least-loaded' | 'rotate';

/** The opt-in hot-key cache of a coordinator (lib/store/hot-key-cache.ts; README "Hot keys"). */
export interface HotKeyCacheOptions {
  /** Keys cached at most. */
  entriesMax: number;
  /** An entry is served this long after the read that filled it, at most. Default 1000. */
  entryTtlMs?: number;
}

export interface ResolvedHotKeyCache {
  entriesMax: number;
  entryTtlMs: number;
}

/** Keys a hot-key cache holds at most: it is for the hottest few, and its sketch keeps twice as many counters. */
export const HOT_KEY_CACHE_ENTRIES_MAX = 1 << 19;

/** Picks the value a get returns among concurrent siblings (newest first). */
export type Resolver = (siblings: readonly unknown[], timestampsMs: readonly number[]) => unknown;

export interface ReplicationOptions {
  /** Replicas per key (Dynamo's N). */
  n?: number;
  /** Answers a get waits for (R). */
  r?: number;
  /** Acknowledgements a put or delete waits for (W). */
  w?: number;
}

export interface StoreOptions {
  /** Directory holding one LMDB environment per node: `<path>/node-<id>/`. */
  path: string;
  /** Storage-node worker threads. Default 4. */
  nodes?: number;
  /** Tokens (ring partitions) per node. Default 256. */
  vnodes?: number;
  replication?: ReplicationOptions;
  /** When an acknowledged write is safe: 'sync' | 'async' | 'none'. Default 'async'. */
  durability?: Durability;
  /** 'siblings' keeps concurrent versions; 'lww' keeps one value per key. Default 'siblings'. */
  conflicts?: ConflictMode;
  /** Quorum deadline per request. Default 5000. */
  timeoutMs?: number;
  /** Which replicas a get asks: R of them ('quorum', spread round-robin) or all N ('all', Dynamo §4.5). Default 'quorum'. */
  readFanout?: ReadFanout;
  /**
   * 'direct' (default): a get reads each up replica's LMDB environment in
   * place, in the calling thread (the environments are memory-mapped in this
   * process), with the same R, version merge and read repair; down, paused,
   * crashed or fault-injected nodes, and stand-ins, are asked by message as
   * before. 'messages': every read is a message to the node thread.
   */
  readPath?: ReadPath;
  /**
   * Which R of a key's N replicas a get asks under readFanout 'quorum':
   * 'least-loaded' (default) those whose node threads were handed the fewest
   * requests lately, so that a hot key's nodes, busy with its writes, are
   * spared its reads and others'; 'rotate' round-robin.
   */
  readBalance?: ReadBalance;
  /**
   * Off by default. A bounded cache of the hottest keys' reads in this
   * coordinator, fed by a Space-Saving sketch of its gets and emptied of a
   * key by every write of it through this coordinator. What a cached read
   * guarantees: README, "Hot keys".
   */
  hotKeyCache?: HotKeyCacheOptions;
  /** Chooses `value` among siblings; default: newest timestamp (last writer wins). */
  resolve?: Resolver;
  /** Bound on requests accepted and not yet finished; beyond it calls fail with ERR_OVERLOADED. Default 262144. */
  pendingMax?: number;
  /**
   * Bound on the encoded bytes (values and keys) of writes accepted and not
   * yet finished on every replica; beyond it writes fail with ERR_OVERLOADED.
   * A write is always accepted when no other write's bytes are pending.
   * Default 256 MiB.
   */
  pendingBytesMax?: number;
  /** Bytes per ring (each direction, each node); a power of two. Default 1 MiB. */
  ringBytes?: number;
  /** Longest key in bytes (UTF-8 for strings). Default 1024, at most 1970 (LMDB's key limit less the TTL index prefix). */
  keyBytesMax?: number;
  /** Largest value, msgpack-encoded. Default 8 MiB. */
  valueBytesMax?: number;
  /** Wait after every replica holds a tombstone before purging it. Default 10000. */
  tombstoneGraceMs?: number;
  /** How often nodes sweep expired items. Default 1000. */
  sweepIntervalMs?: number;
  /** Dynamo §4.4 clock truncation threshold. Default max(10, nodes). */
  clockEntriesMax?: number;
  /** 'sab' (default) or 'post-message' (a baseline for benchmarks only). */
  transport?: TransportKind;
  /**
   * Sloppy quorum (Dynamo §4.6): while some of a key's N nodes are down, write
   * to and read from stand-ins (the next healthy nodes) that keep hints for
   * them. false: strict quorums, which fail with ERR_QUORUM. Default true.
   */
  sloppy?: boolean;
  /** A node whose heartbeat is older than this is marked down. Default 2000. */
  failureTimeoutMs?: number;
  /** Hinted handoff's pace: keys handed back per second, so it does not starve foreground traffic. Default 20000. */
  handoffKeysPerSecond?: number;
  /** Run an anti-entropy pass (store.repair()) this often; 0 turns it off. Default 600000 (10 minutes). */
  antiEntropyIntervalMs?: number;
  /** Threads of the anti-entropy pool (piscina), which hash node data off the request path. Default 2. */
  antiEntropyThreads?: number;
  /**
   * How much lower than the thread that opens the store the node threads and
   * the anti-entropy pool's threads run (Linux nice increment, 0-19; other
   * systems ignore it): the opening thread coordinates every request, so it
   * should not wait for a core behind a node thread it woke, nor behind
   * background hashing. Default 10. 0 runs them at the same priority.
   */
  nodeThreadNice?: number;
}

/** StoreOptions.nodeThreadNice's default (node/thread-priority.ts says why). */
export const NODE_THREAD_NICE_DEFAULT = 10;

export interface ResolvedOptions {
  path: string;
  nodes: number;
  vnodes: number;
  n: number;
  r: number;
  w: number;
  durability: Durability;
  conflicts: ConflictMode;
  timeoutMs: number;
  readFanout: ReadFanout;
  readPath: ReadPath;
  readBalance: ReadBalance;
  hotKeyCache: ResolvedHotKeyCache | undefined;
  resolve: Resolver | undefined;
  pendingMax: number;
  pendingBytesMax: number;
  ringBytes: number;
  keyBytesMax: number;
  valueBytesMax: number;
  tombstoneGraceMs: number;
  sweepIntervalMs: number;
  clockEntriesMax: number;
  transport: TransportKind;
  sloppy: boolean;
  failureTimeoutMs: number;
  handoffKeysPerSecond: number;
  antiEntropyIntervalMs: number;
  antiEntropyThreads: number;
  nodeThreadNice: number;
}

// The bounds live in lib/bounds.ts, checked together there.
export { KEY_BYTES_LIMIT, NODES_MAX, REPLICAS_MAX };
export const VALUE_BYTES_LIMIT = 64 * 1024 * 1024;
/**
 * A stored object holds every concurrent sibling: it may reach this many
 * values of the largest size before writes to the key are refused (resolve
 * the siblings with a put that carries their context).
 */
export const SIBLINGS_AT_MAX_SIZE = 8;

/** The largest stored object (all siblings and their clock) a node accepts and sends. */
export function objectBytesMaxOf(options: ResolvedOptions): number {
  return options.valueBytesMax * SIBLINGS_AT_MAX_SIZE + 64 * 1024;
}

function invalid(message: string): RingtableError {
  return new RingtableError(ErrorCode.INVALID_OPTIONS, message);
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false, got ${String(value)}`);
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalid(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value as T;
}

export function resolveOptions(options: StoreOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  if (typeof options.path !== 'string' || options.path.length === 0) throw invalid('path must be a non-empty string');
  const nodes = integer('nodes', options.nodes, 4, 1, NODES_MAX);
  const replication = options.replication ?? {};
  const n = integer('replication.n', replication.n, Math.min(3, nodes), 1, REPLICAS_MAX);
  if (n > nodes) throw invalid(`replication.n (${n}) cannot exceed nodes (${nodes})`);
  const r = integer('replication.r', replication.r, Math.min(2, n), 1, NODES_MAX);
  const w = integer('replication.w', replication.w, Math.min(2, n), 1, NODES_MAX);
  if (r > n) throw invalid(`replication.r (${r}) cannot exceed replication.n (${n})`);
  if (w > n) throw invalid(`replication.w (${w}) cannot exceed replication.n (${n})`);
  const ringBytes = integer('ringBytes', options.ringBytes, 1 << 20, 4096, 1 << 30);
  if (!isPowerOfTwo(ringBytes)) throw invalid(`ringBytes must be a power of two, got ${ringBytes}`);
  if (options.resolve !== undefined && typeof options.resolve !== 'function') throw invalid('resolve must be a function');
  return {
    path: options.path,
    nodes,
    vnodes: integer('vnodes', options.vnodes, 256, 1, 65_536),
    n,
    r,
    w,
    durability: oneOf('durability', options.durability, 'async', ['sync', 'async', 'none']),
    conflicts: oneOf('conflicts', options.conflicts, 'siblings', ['siblings', 'lww']),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 5000, 1, 3_600_000),
    readFanout: oneOf('readFanout', options.readFanout, 'quorum', ['quorum', 'all']),
    readPath: oneOf('readPath', options.readPath, 'direct', ['direct', 'messages']),
    readBalance: oneOf('readBalance', options.readBalance, 'least-loaded', ['least-loaded', 'rotate']),
    hotKeyCache: hotKeyCacheOf(options.hotKeyCache),
    resolve: options.resolve,
    pendingMax: integer('pendingMax', options.pendingMax, 262_144, 1, 1 << 24),
    pendingBytesMax: integer('pendingBytesMax', options.pendingBytesMax, 256 * 1024 * 1024, 1, 2 ** 42),
    ringBytes,
    keyBytesMax: integer('keyBytesMax', options.keyBytesMax, 1024, 1, KEY_BYTES_LIMIT),
    valueBytesMax: integer('valueBytesMax', options.valueBytesMax, 8 * 1024 * 1024, 1, VALUE_BYTES_LIMIT),
    tombstoneGraceMs: integer('tombstoneGraceMs', options.tombstoneGraceMs, 10_000, 0, 86_400_000),
    sweepIntervalMs: integer('sweepIntervalMs', options.sweepIntervalMs, 1000, 10, 3_600_000),
    // Dynamo §4.4 uses 10; never below the node count, so truncation only drops actors that cannot coordinate.
    clockEntriesMax: integer('clockEntriesMax', options.clockEntriesMax, Math.max(10, nodes), 1, 255),
    transport: oneOf('transport', options.transport, 'sab', ['sab', 'post-message']),
    sloppy: boolean('sloppy', options.sloppy, true),
    failureTimeoutMs: integer('failureTimeoutMs', options.failureTimeoutMs, 2000, 50, 600_000),
    handoffKeysPerSecond: integer('handoffKeysPerSecond', options.handoffKeysPerSecond, 20_000, 1, 10_000_000),
    antiEntropyIntervalMs: integer('antiEntropyIntervalMs', options.antiEntropyIntervalMs, 600_000, 0, 86_400_000),
    antiEntropyThreads: integer('antiEntropyThreads', options.antiEntropyThreads, 2, 1, 64),
    nodeThreadNice: integer('nodeThreadNice', options.nodeThreadNice, NODE_THREAD_NICE_DEFAULT, 0, NICE_MAX),
  };
}

function hotKeyCacheOf(value: HotKeyCacheOptions | undefined): ResolvedHotKeyCache | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw invalid('hotKeyCache must be an object such as { entriesMax: 1024 }');
  return {
    entriesMax: integer('hotKeyCache.entriesMax', value.entriesMax ?? NaN, 0, 1, HOT_KEY_CACHE_ENTRIES_MAX),
    entryTtlMs: integer('hotKeyCache.entryTtlMs', value.entryTtlMs, 1000, 1, 3_600_000),
  };
}

/** Per-call quorum sizes, checked against the store's N. */
export function readQuorumFor(options: ResolvedOptions, call: { r?: number; consistent?: boolean } | undefined): number {
  if (call?.consistent === true) {
    // R + W > N makes every read set overlap every write set (Dynamo §4.5).
    const r = integer('r', call.r, 1, 1, options.n);
    return Math.max(r, options.n - options.w + 1);
  }
  return integer('r', call?.r, options.r, 1, options.n);
}

export function writeQuorumFor(options: ResolvedOptions, call: { w?: number } | undefined): number {
  return integer('w', call?.w, options.w, 1, options.n);
}
