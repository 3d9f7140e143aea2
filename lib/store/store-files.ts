/**
 * What a store keeps beside its nodes' data: `ring.json` (the ring, so a
 * store reopens with the same routing), `replication.json` (N, which places
 * keys on the ring as much as the ring does, and the default R and W), and
 * `membership.json` (the next node id, never reused, and removed node ids).
 * Written atomically.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { ErrorCode, RingtableError } from '../errors.js';
import type { ReplicationOptions, ResolvedOptions, StoreOptions } from '../config/options.js';
import { NODE_IDS_MAX } from '../node/replica.js';
import { Ring, type RingJSON } from '../ring/ring.js';

const RING_FILE = 'ring.json';
const MEMBERSHIP_FILE = 'membership.json';
const DROPPED_SPACES_FILE = 'dropped-spaces.json';

/** Spaces dropped (Store.dropSpace), kept beside the ring: a node down during the drop drops them when it starts. */
export function readDroppedSpaces(path: string): number[] {
  const file = joinPath(path, DROPPED_SPACES_FILE);
  if (!existsSync(file)) return [];
  return readStoreFile(file, (saved) => {
    if (!Array.isArray(saved) || !saved.every((space) => Number.isInteger(space) && space >= 0 && space <= 0xffff_ffff)) throw new Error('expected an array of space numbers');
    return saved as number[];
  });
}

export function writeDroppedSpaces(path: string, spaces: readonly number[]): void {
  writeFileAtomic(joinPath(path, DROPPED_SPACES_FILE), JSON.stringify(spaces));
}

const REPLICATION_FILE = 'replication.json';

export interface StoredReplication {
  n: number;
  r: number;
  w: number;
}

/**
 * The options to open an existing store with: N as the store was created
 * with it (a different N would look for keys on other nodes: reopening an
 * n=1 store with the default n=3 found 2/3 of its keys), R and W as stored
 * unless given, and the stored ring's node count unless `nodes` is given.
 * A conflicting N is refused.
 */
export function withStoredPlacement(options: StoreOptions): StoreOptions {
  const saved = readReplication(options.path);
  const nodes = options.nodes ?? storedNodeCount(options.path);
  if (saved === undefined) return nodes === options.nodes ? options : { ...options, nodes };
  const given: ReplicationOptions = options.replication ?? {};
  if (given.n !== undefined && given.n !== saved.n) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `the store at ${options.path} keeps ${saved.n} replicas of each key; it cannot be reopened with replication.n = ${String(given.n)}`);
  }
  return { ...options, nodes, replication: { n: saved.n, r: given.r ?? saved.r, w: given.w ?? saved.w } };
}

export function readReplication(path: string): StoredReplication | undefined {
  const file = joinPath(path, REPLICATION_FILE);
  if (!existsSync(file)) return undefined;
  return readStoreFile(file, (json) => {
    const { n, r, w } = json as Partial<StoredReplication>;
    if (![n, r, w].every((x) => Number.isInteger(x) && x! >= 1)) throw new Error('n, r and w must be positive integers');
    return { n: n!, r: r!, w: w! };
  });
}

/** Written when a store is created (and when a store made before this file existed is first opened). */
export function writeReplication(path: string, options: ResolvedOptions): void {
  writeFileAtomic(joinPath(path, REPLICATION_FILE), JSON.stringify({ n: options.n, r: options.r, w: options.w } satisfies StoredReplication));
}

function storedNodeCount(path: string): number | undefined {
  const file = joinPath(path, RING_FILE);
  return existsSync(file) ? readStoreFile(file, (json) => Ring.fromJSON(json as RingJSON)).nodeIds().length : undefined;
}

export function writeRing(path: string, ring: Ring): void {
  writeFileAtomic(joinPath(path, RING_FILE), JSON.stringify(ring.toJSON()));
}

/** The ring is stored with the data: reopening must route every key where it was written. */
/** The store's directory, created if missing: a path that is a file, under a file, or not writable is a RingtableError like every other. */
export function makeStoreDirectory(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new RingtableError(ErrorCode.INVALID_OPTIONS, `path ${path} cannot be the store's directory: ${(error as Error).message}`, undefined, { cause: error });
  }
}

/**
 * What opening reads (and, for a new store, writes) under the directory's
 * lock (store-lock.ts): replication.json when missing, the ring, the removed
 * nodes. Read before any thread starts: a store file that cannot be read
 * must not leave threads behind.
 */
export function loadStoreFiles(options: ResolvedOptions, nodesGiven: boolean): { ring: Ring; retired: number[] } {
  if (readReplication(options.path) === undefined) writeReplication(options.path, options);
  const ring = loadOrCreateRing(options, nodesGiven);
  return { ring, retired: readMembership(options.path).retired };
}

export function loadOrCreateRing(options: ResolvedOptions, nodesGiven: boolean): Ring {
  const file = joinPath(options.path, RING_FILE);
  if (existsSync(file)) {
    const ring = readStoreFile(file, (json) => Ring.fromJSON(json as RingJSON));
    // The stored ring is the membership (addNode/removeNode change it); a node count given to open must agree.
    if (nodesGiven && ring.nodeIds().length !== options.nodes) {
      throw new RingtableError(ErrorCode.INVALID_OPTIONS, `the store at ${options.path} has ${ring.nodeIds().length} nodes, not ${options.nodes}`);
    }
    return ring;
  }
  const ring = Ring.create(Array.from({ length: options.nodes }, (_, i) => i), options.vnodes);
  writeFileAtomic(file, JSON.stringify(ring.toJSON()));
  return ring;
}

export interface Membership {
  /** Node ids are never reused: an id's actors (version/actor.ts) belong to one node's history. */
  nextNodeId: number;
  /** Removed node ids; hints still held for them are handed to the keys' current replicas. */
  retired: number[];
}

export function readMembership(path: string): Membership {
  const file = joinPath(path, MEMBERSHIP_FILE);
  if (!existsSync(file)) return { nextNodeId: 0, retired: [] };
  const saved = readStoreFile(file, (json) => json as Partial<Membership>);
  const nextNodeId = Number.isInteger(saved.nextNodeId) ? saved.nextNodeId! : 0;
  const retired = Array.isArray(saved.retired) ? saved.retired.filter((id) => Number.isInteger(id) && id >= 0 && id < NODE_IDS_MAX) : [];
  return { nextNodeId, retired };
}

/** The id the next added node takes: never one used before (saved), in the ring, or with a thread. */
export function nextNodeId(path: string, ringNodeIds: readonly number[], linksLength: number): number {
  const next = Math.max(readMembership(path).nextNodeId, ...ringNodeIds.map((id) => id + 1), linksLength);
  if (next >= NODE_IDS_MAX) throw new RingtableError(ErrorCode.INVALID_OPTIONS, `node ids are used up (${NODE_IDS_MAX} over the store's life)`);
  return next;
}

export function writeMembership(path: string, membership: Membership): void {
  writeFileAtomic(joinPath(path, MEMBERSHIP_FILE), JSON.stringify(membership));
}

/** Parse a store file: a torn, truncated or hand-edited one is ERR_CORRUPT, naming the file, not a raw SyntaxError. */
function readStoreFile<T>(file: string, parse: (json: unknown) => T): T {
  try {
    const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (json === null || typeof json !== 'object') throw new Error('not a JSON object');
    return parse(json);
  } catch (error) {
    throw new RingtableError(ErrorCode.CORRUPT, `${file} cannot be read: ${(error as Error).message}`, undefined, { cause: error });
  }
}

/** Write, fsync, rename: a crash leaves the old file or the new one, never a torn one. */
function writeFileAtomic(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}
