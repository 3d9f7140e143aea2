/**
 * What one scan of a storage node's `objects` sub-database computes, and the
 * messages that carry it between the anti-entropy orchestrator and its pool
 * tasks (workers/anti-entropy-task.ts). The task only opens LMDB and feeds
 * every (key, object bytes) pair of one snapshot to these accumulators, so
 * everything here runs (and is tested) without threads or LMDB.
 *
 * Results are typed arrays, moved (transferred) to the orchestrator, never
 * object graphs to structured-clone.
 *
 * Pure.
 */
import assert from 'node:assert/strict';
import { hashKey32 } from '../ring/hash.js';
import { DIGEST_WORDS, assertLeafBits, globalLeafOf, xorIntoLeaf } from './merkle-tree.js';
import { CANONICAL_BYTES_MAX, canonicalVersion, keyDigest } from './version-digest.js';

/** lmdb-js's key limit (options.ts KEY_BYTES_LIMIT is below it): bounds the digest scratch. */
const KEY_BYTES_MAX = 1978;

interface ScanTarget {
  /** The store's directory: the node's environment is `<path>/node-<id>`. */
  path: string;
  nodeId: number;
  partitionBits: number;
  leafBits: number;
  /** One instant for every replica of a compare: a value expired at it counts as absent everywhere. */
  nowMs: number;
}

export interface LeafDigestRequest extends ScanTarget {
  /** Ascending partitions this node replicates; its keys in any other partition are counted as outside. */
  partitions: Int32Array;
}

export interface LeafDigestResult {
  nodeId: number;
  /** partitions.length × 2^leafBits leaves, 2 words (lo, hi) each, in request order. */
  digests: Uint32Array;
  /** Live keys per leaf, same order. */
  keyCounts: Uint32Array;
  keysScanned: number;
  /** Keys in partitions the node does not replicate (hinted or leftover data): not in any tree. */
  keysOutside: number;
  /** Keys whose every value had expired at nowMs: treated as absent. */
  keysExpired: number;
  /** The node has no environment on disk (never started, or wiped): it holds nothing. */
  nodeMissing: boolean;
}

export interface LeafKeysRequest extends ScanTarget {
  /** Global leaf ids (partition << leafBits | leaf) to list, ascending. */
  leaves: Uint32Array;
  /** Bounds on what one listing returns; beyond them leaves are marked incomplete. */
  keysMax: number;
  bytesMax: number;
}

export interface LeafKeysResult {
  nodeId: number;
  keyCount: number;
  /** Keys back to back; key i is keyBytes[keyEnds[i-1] .. keyEnds[i]). */
  keyBytes: Uint8Array;
  keyEnds: Uint32Array;
  leafIds: Uint32Array;
  /** Canonical causal content (version-digest.ts) of key i, back to back. */
  versionBytes: Uint8Array;
  versionEnds: Uint32Array;
  /** Requested leaves some of whose keys did not fit the bounds: compare them in a later pass. */
  incompleteLeaves: Uint32Array;
  keysScanned: number;
  nodeMissing: boolean;
}

/** Accumulates the leaf digests of the requested partitions, one key at a time, in any order. */
export class LeafDigestScan {
  readonly #leafBits: number;
  readonly #partitionBits: number;
  readonly #slotOfPartition: Int32Array;
  readonly #digests: Uint32Array;
  readonly #keyCounts: Uint32Array;
  readonly #canonical = new Uint8Array(CANONICAL_BYTES_MAX);
  readonly #scratch = new Uint8Array(KEY_BYTES_MAX + CANONICAL_BYTES_MAX + 4);
  readonly #digest = new Uint32Array(DIGEST_WORDS);
  keysScanned = 0;
  keysOutside = 0;
  keysExpired = 0;

  constructor(partitionBits: number, leafBits: number, partitions: Int32Array) {
    assertLeafBits(partitionBits, leafBits);
    this.#partitionBits = partitionBits;
    this.#leafBits = leafBits;
    this.#slotOfPartition = new Int32Array(2 ** partitionBits).fill(-1);
    let previous = -1;
    partitions.forEach((partition, slot) => {
      assert(partition > previous && partition < 2 ** partitionBits, 'partitions must be ascending, distinct and on the ring');
      previous = partition;
      this.#slotOfPartition[partition] = slot;
    });
    const leaves = partitions.length * 2 ** leafBits;
    this.#digests = new Uint32Array(leaves * DIGEST_WORDS);
    this.#keyCounts = new Uint32Array(leaves);
  }

  add(key: Uint8Array, objectBytes: Uint8Array, nowMs: number): void {
    this.keysScanned++;
    const globalLeaf = globalLeafOf(hashKey32(key), this.#partitionBits, this.#leafBits);
    const slot = this.#slotOfPartition[globalLeaf >>> this.#leafBits]!;
    if (slot < 0) {
      this.keysOutside++;
      return;
    }
    const canonicalBytes = canonicalVersion(objectBytes, nowMs, this.#canonical);
    if (canonicalBytes < 0) {
      this.keysExpired++;
      return;
    }
    keyDigest(key, this.#canonical, canonicalBytes, this.#scratch, this.#digest);
    const leaf = (slot << this.#leafBits) | (globalLeaf & (2 ** this.#leafBits - 1));
    xorIntoLeaf(this.#digests, leaf, this.#digest[0]!, this.#digest[1]!);
    this.#keyCounts[leaf]!++;
  }

  result(nodeId: number, nodeMissing: boolean): LeafDigestResult {
    return {
      nodeId,
      digests: this.#digests,
      keyCounts: this.#keyCounts,
      keysScanned: this.keysScanned,
      keysOutside: this.keysOutside,
      keysExpired: this.keysExpired,
      nodeMissing,
    };
  }
}

/** Lists the live keys (and their canonical versions) of the requested leaves, within bounds. */
export class LeafKeyListing {
  readonly #partitionBits: number;
  readonly #leafBits: number;
  readonly #wanted: Set<number>;
  readonly #incomplete = new Set<number>();
  readonly #keysMax: number;
  readonly #bytesMax: number;
  readonly #canonical = new Uint8Array(CANONICAL_BYTES_MAX);
  #keyBytes: Uint8Array = new Uint8Array(64 * 1024);
  #versionBytes: Uint8Array = new Uint8Array(16 * 1024);
  #keyEnds: Uint32Array = new Uint32Array(1024);
  #versionEnds: Uint32Array = new Uint32Array(1024);
  #leafIds: Uint32Array = new Uint32Array(1024);
  #keyCount = 0;
  #keyBytesUsed = 0;
  #versionBytesUsed = 0;
  keysScanned = 0;

  constructor(partitionBits: number, leafBits: number, leaves: Uint32Array, keysMax: number, bytesMax: number) {
    assertLeafBits(partitionBits, leafBits);
    assert(Number.isInteger(keysMax) && keysMax >= 1 && Number.isInteger(bytesMax) && bytesMax >= 1, 'listing bounds must be positive integers');
    this.#partitionBits = partitionBits;
    this.#leafBits = leafBits;
    this.#wanted = new Set(leaves);
    this.#keysMax = keysMax;
    this.#bytesMax = bytesMax;
  }

  add(key: Uint8Array, objectBytes: Uint8Array, nowMs: number): void {
    this.keysScanned++;
    const globalLeaf = globalLeafOf(hashKey32(key), this.#partitionBits, this.#leafBits);
    if (!this.#wanted.has(globalLeaf)) return;
    const canonicalBytes = canonicalVersion(objectBytes, nowMs, this.#canonical);
    if (canonicalBytes < 0) return;
    const bytesAfter = this.#keyBytesUsed + key.byteLength + this.#versionBytesUsed + canonicalBytes;
    if (this.#keyCount >= this.#keysMax || bytesAfter > this.#bytesMax) {
      // This leaf's listing is now partial. The keys it already listed may
      // stay: the orchestrator compares no incomplete leaf (a partial list
      // would look like missing keys) and reports the compare truncated.
      this.#incomplete.add(globalLeaf);
      return;
    }
    this.#append(key, this.#canonical.subarray(0, canonicalBytes), globalLeaf);
  }

  #append(key: Uint8Array, canonical: Uint8Array, globalLeaf: number): void {
    if (this.#keyCount === this.#keyEnds.length) {
      this.#keyEnds = grownWords(this.#keyEnds);
      this.#versionEnds = grownWords(this.#versionEnds);
      this.#leafIds = grownWords(this.#leafIds);
    }
    this.#keyBytes = ensureBytes(this.#keyBytes, this.#keyBytesUsed + key.byteLength);
    this.#keyBytes.set(key, this.#keyBytesUsed);
    this.#keyBytesUsed += key.byteLength;
    this.#versionBytes = ensureBytes(this.#versionBytes, this.#versionBytesUsed + canonical.byteLength);
    this.#versionBytes.set(canonical, this.#versionBytesUsed);
    this.#versionBytesUsed += canonical.byteLength;
    this.#keyEnds[this.#keyCount] = this.#keyBytesUsed;
    this.#versionEnds[this.#keyCount] = this.#versionBytesUsed;
    this.#leafIds[this.#keyCount] = globalLeaf;
    this.#keyCount++;
  }

  result(nodeId: number, nodeMissing: boolean): LeafKeysResult {
    const count = this.#keyCount;
    return {
      nodeId,
      keyCount: count,
      keyBytes: this.#keyBytes.subarray(0, this.#keyBytesUsed),
      keyEnds: this.#keyEnds.subarray(0, count),
      leafIds: this.#leafIds.subarray(0, count),
      versionBytes: this.#versionBytes.subarray(0, this.#versionBytesUsed),
      versionEnds: this.#versionEnds.subarray(0, count),
      incompleteLeaves: Uint32Array.from([...this.#incomplete].sort((a, b) => a - b)),
      keysScanned: this.keysScanned,
      nodeMissing,
    };
  }
}

/** The typed arrays of a result, to transfer instead of copying. */
export function buffersOf(result: LeafDigestResult | LeafKeysResult): ArrayBuffer[] {
  const arrays = 'digests' in result
    ? [result.digests, result.keyCounts]
    : [result.keyBytes, result.keyEnds, result.leafIds, result.versionBytes, result.versionEnds, result.incompleteLeaves];
  return [...new Set(arrays.map((array) => array.buffer as ArrayBuffer))];
}

function grownWords(words: Uint32Array): Uint32Array {
  const grown = new Uint32Array(words.length * 2);
  grown.set(words);
  return grown;
}

function ensureBytes(bytes: Uint8Array, needed: number): Uint8Array {
  if (needed <= bytes.byteLength) return bytes;
  const grown = new Uint8Array(Math.max(needed, bytes.byteLength * 2));
  grown.set(bytes);
  return grown;
}
