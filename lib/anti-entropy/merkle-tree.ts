/**
 * A Merkle tree over one key range (Dynamo §4.7): the leaves cover the keys of
 * one ring partition, inner nodes hash their children, and two replicas
 * compare trees from the root down, descending only where hashes differ, so
 * the cost of an exchange grows with the number of differences, not with the
 * number of keys.
 *
 * Ranges are the ring's partitions (Dynamo §6.2 strategy 3: partition
 * boundaries never move, so one tree per partition stays valid across
 * membership changes). Within a partition, a key's leaf is given by the bits
 * of its 32-bit ring hash that follow the partition bits, so the global leaf
 * id (partition << leafBits | leaf) is simply the hash's top
 * partitionBits + leafBits bits.
 *
 * A leaf's digest is the XOR of its keys' 64-bit digests (two uint32 lanes):
 * order-independent, so a scan can visit keys in any order, and its own
 * inverse, so a key's change is applied incrementally by XORing out the old
 * digest and XORing in the new one. XOR would cancel a digest added twice,
 * but a leaf holds each key once and key digests cover the key bytes, so two
 * distinct keys share a digest only by a 2^-64 collision.
 *
 * Layout: one Uint32Array, a binary heap of 64-bit node digests (lanes lo, hi
 * at 2i, 2i + 1): the root is node 1, node i has children 2i and 2i + 1, and
 * the leaves are nodes leafCount .. 2 * leafCount - 1.
 *
 * Pure: no I/O, no clocks, no randomness.
 */
import assert from 'node:assert/strict';

/** 2^16 leaves per tree: 1 MiB of node digests, far more than a partition needs. */
export const LEAF_BITS_MAX = 16;
/** 64-bit digests, two uint32 lanes per node or leaf. */
export const DIGEST_WORDS = 2;

/** Independent lanes for inner-node hashing (any two distinct constants). */
const SEED_LO = 0x9747b28c;
const SEED_HI = 0x5bd1e995;

export function assertLeafBits(partitionBits: number, leafBits: number): void {
  assert(Number.isInteger(leafBits) && leafBits >= 0 && leafBits <= LEAF_BITS_MAX, `leafBits must be an integer in [0, ${LEAF_BITS_MAX}]`);
  assert(Number.isInteger(partitionBits) && partitionBits >= 0 && partitionBits + leafBits <= 32, 'partitionBits + leafBits must fit in the 32-bit key hash');
}

/**
 * The global leaf id of a 32-bit key hash: its top partitionBits + leafBits
 * bits, so `globalLeaf >>> leafBits` is the ring partition (ring.partitionOf)
 * and `globalLeaf & (2^leafBits - 1)` the leaf within it.
 */
export function globalLeafOf(hash32: number, partitionBits: number, leafBits: number): number {
  // `>>> 32` would be a shift by 0 in JavaScript: with 0 bits, everything is leaf 0.
  const bits = partitionBits + leafBits;
  return bits === 0 ? 0 : hash32 >>> (32 - bits);
}

/**
 * XOR a key's 64-bit digest into leaf `leaf` of `leaves` (2 words per leaf).
 * Adding and removing a key are the same operation.
 */
export function xorIntoLeaf(leaves: Uint32Array, leaf: number, digestLo: number, digestHi: number): void {
  const at = leaf * DIGEST_WORDS;
  leaves[at] = (leaves[at]! ^ digestLo) >>> 0;
  leaves[at + 1] = (leaves[at + 1]! ^ digestHi) >>> 0;
}

export class MerkleTree {
  readonly leafBits: number;
  readonly leafCount: number;
  /** Heap of node digests; index 0 is unused. */
  readonly #nodes: Uint32Array;

  private constructor(leafBits: number, nodes: Uint32Array) {
    this.leafBits = leafBits;
    this.leafCount = 2 ** leafBits;
    this.#nodes = nodes;
  }

  /** A tree over `leaves` (2 words per leaf, lanes lo then hi), which is copied. */
  static fromLeaves(leafBits: number, leaves: Uint32Array): MerkleTree {
    assertLeafBits(0, leafBits);
    const leafCount = 2 ** leafBits;
    assert.equal(leaves.length, leafCount * DIGEST_WORDS, 'one 64-bit digest per leaf');
    const nodes = new Uint32Array(2 * leafCount * DIGEST_WORDS);
    nodes.set(leaves, leafCount * DIGEST_WORDS);
    for (let i = leafCount - 1; i >= 1; i--) hashChildren(nodes, i);
    return new MerkleTree(leafBits, nodes);
  }

  rootLo(): number {
    return this.#nodes[DIGEST_WORDS]!;
  }

  rootHi(): number {
    return this.#nodes[DIGEST_WORDS + 1]!;
  }

  /** A key changed in `leaf`: XOR its old and new digests in, rehash the path to the root. */
  updateLeaf(leaf: number, digestLo: number, digestHi: number): void {
    assert(Number.isInteger(leaf) && leaf >= 0 && leaf < this.leafCount, 'leaf out of range');
    let i = this.leafCount + leaf;
    xorIntoLeaf(this.#nodes, i, digestLo, digestHi);
    for (i >>>= 1; i >= 1; i >>>= 1) hashChildren(this.#nodes, i);
  }

  /** True when node `i` (heap index) has the same digest in both trees. */
  sameNode(other: MerkleTree, i: number): boolean {
    const at = i * DIGEST_WORDS;
    return this.#nodes[at] === other.#nodes[at] && this.#nodes[at + 1] === other.#nodes[at + 1];
  }
}

export interface TreeDiff {
  /** Leaves (0 .. leafCount - 1) whose digests differ, ascending. */
  leaves: number[];
  /** Node pairs compared: what an exchange between two replicas would send. */
  nodesCompared: number;
}

/**
 * The leaves where `a` and `b` differ, descending from the root only into
 * subtrees whose digests differ (Dynamo §4.7). Equal trees cost one
 * comparison; d differing leaves cost at most about 2 · d · leafBits.
 */
export function diff(a: MerkleTree, b: MerkleTree): TreeDiff {
  assert.equal(a.leafBits, b.leafBits, 'trees of different shapes');
  const leafCount = a.leafCount;
  const leaves: number[] = [];
  let nodesCompared = 0;
  // Depth-first, left child on top of the stack, so leaves come out ascending.
  // The stack holds at most one pending sibling per level: leafBits + 1 entries.
  const stack: number[] = [1];
  while (stack.length > 0) {
    const i = stack.pop()!;
    nodesCompared++;
    if (a.sameNode(b, i)) continue;
    if (i >= leafCount) {
      leaves.push(i - leafCount);
      continue;
    }
    stack.push(2 * i + 1, 2 * i);
  }
  return { leaves, nodesCompared };
}

/** Node i's digest from its children's: MurmurHash3 x86_32 of their four words, one seed per lane. */
function hashChildren(nodes: Uint32Array, i: number): void {
  const left = 2 * i * DIGEST_WORDS;
  const right = left + DIGEST_WORDS;
  const a = nodes[left]!;
  const b = nodes[left + 1]!;
  const c = nodes[right]!;
  const d = nodes[right + 1]!;
  nodes[i * DIGEST_WORDS] = murmur3Words4(a, b, c, d, SEED_LO);
  nodes[i * DIGEST_WORDS + 1] = murmur3Words4(a, b, c, d, SEED_HI);
}

/**
 * MurmurHash3_x86_32 (Austin Appleby, public-domain reference
 * MurmurHash3.cpp) of a 16-byte input given as four little-endian words:
 * the body's block mix per word, then the finalizer with length 16.
 * Constants are the reference's c1, c2, n and fmix32 multipliers.
 */
function murmur3Words4(a: number, b: number, c: number, d: number, seed: number): number {
  let h = seed | 0;
  h = mixBlock(h, a);
  h = mixBlock(h, b);
  h = mixBlock(h, c);
  h = mixBlock(h, d);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
