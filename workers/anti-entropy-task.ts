/**
 * Anti-entropy pool tasks (piscina): each opens one storage node's LMDB
 * environment read-only, scans its `objects` sub-database in one read
 * transaction (a snapshot), and returns typed arrays, moved to the caller.
 *
 * - `leafDigests`: Merkle leaf digests and key counts of the requested
 *   partitions (lib/anti-entropy/partition-scan.ts LeafDigestScan).
 * - `leafKeys`: the keys and canonical versions in the requested leaves
 *   (LeafKeyListing), only for leaves whose trees differ.
 *
 * Off the request path by design: tasks read LMDB directly, never through a
 * node's rings, so a compare costs the nodes no request slots, only the
 * shared page cache. LMDB lets any number of readers run beside the writer,
 * each on its own snapshot.
 *
 * One environment per task, closed before the task ends: nothing is cached
 * across tasks, so a pool thread never holds a node's environment while idle.
 * That matters because lmdb-js shares one environment per file among the
 * threads of a process (env.cpp keeps a process-wide table keyed by the data
 * file's device and inode) and the first opener's flags win: while a task
 * has a node's environment open read-only and the node's own thread is not
 * running, a node started then would join the read-only environment and fail
 * to open (lmdb-js: "No transaction to renew"). AntiEntropy.withEnvsReleased
 * lets the store start nodes between tasks. Conversely, opening read-only
 * while the node runs joins the node's read-write environment: reads work,
 * and nothing here writes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import type { AntiEntropyThreadData } from '../lib/anti-entropy/anti-entropy.js';
import {
  LeafDigestScan,
  LeafKeyListing,
  buffersOf,
  type LeafDigestRequest,
  type LeafDigestResult,
  type LeafKeysRequest,
  type LeafKeysResult,
} from '../lib/anti-entropy/partition-scan.js';
import { lowerThreadPriority } from '../lib/node/thread-priority.js';
import { nodeDirectory } from '../lib/storage/lmdb-storage.js';

// Piscina loads this file once per pool thread, when the thread starts: the
// scans are background work, so the thread yields to the coordinator as node
// threads do (lib/node/thread-priority.ts; AntiEntropyOptions.threadNice).
lowerThreadPriority((workerData as AntiEntropyThreadData).threadNice);

/** As the node opens it (lmdb-storage.ts); used only when no node thread has the environment open. */
const MAP_SIZE_BYTES = 2 ** 30;
/**
 * Named databases this environment may hold: the node's (objects, expiry,
 * meta, and hints to come) with room to spare. When the node has the
 * environment open, its own setting is in force.
 */
const NAMED_DBS_MAX = 8;

export async function leafDigests(request: LeafDigestRequest): Promise<unknown> {
  const scan = new LeafDigestScan(request.partitionBits, request.leafBits, request.partitions);
  const nodeMissing = await scanObjects(request.path, request.nodeId, (key, value) => scan.add(key, value, request.nowMs));
  return moved(scan.result(request.nodeId, nodeMissing));
}

export async function leafKeys(request: LeafKeysRequest): Promise<unknown> {
  const listing = new LeafKeyListing(request.partitionBits, request.leafBits, request.leaves, request.keysMax, request.bytesMax);
  const nodeMissing = await scanObjects(request.path, request.nodeId, (key, value) => listing.add(key, value, request.nowMs));
  return moved(listing.result(request.nodeId, nodeMissing));
}

/**
 * Visit every (key, object bytes) pair of one snapshot of the node's
 * `objects`; the views are valid only during the call. Returns true when
 * the node has no environment on disk (it then holds nothing): checked
 * first because lmdb-js's `open` would create the directory.
 */
async function scanObjects(path: string, nodeId: number, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<boolean> {
  const directory = nodeDirectory(path, nodeId);
  if (!existsSync(join(directory, 'data.mdb'))) return true;
  const root = open({
    path: directory,
    readOnly: true,
    maxDbs: NAMED_DBS_MAX,
    mapSize: MAP_SIZE_BYTES,
    encoding: 'binary',
    keyEncoding: 'binary',
    cache: false,
  });
  try {
    const objects = root.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
    // snapshot (the default, spelled out): the whole scan is one read transaction.
    for (const { key, value } of objects.getRange({ snapshot: true })) visit(key, value);
  } finally {
    await root.close();
  }
  return false;
}

/** Hand the result's typed arrays over to the caller's thread instead of copying them. */
function moved(result: LeafDigestResult | LeafKeysResult): unknown {
  return move({ [transferableSymbol]: buffersOf(result), [valueSymbol]: result });
}
