/**
 * What a store keeps beside its nodes' data: `ring.json` (the ring, so a
 * store reopens with the same routing) and `membership.json` (the next node
 * id, never reused, and removed node ids). Written atomically.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { ErrorCode, RingtableError } from '../errors.js';
import type { ResolvedOptions } from '../config/options.js';
import { NODE_IDS_MAX } from '../node/replica.js';
import { Ring, type RingJSON } from '../ring/ring.js';

const RING_FILE = 'ring.json';
const MEMBERSHIP_FILE = 'membership.json';

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
