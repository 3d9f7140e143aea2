import t from 'tap';
import { Prng } from '../lib/prng.js';
import { Ring } from '../lib/ring/ring.js';
import { DIGEST_WORDS, MerkleTree, diff, globalLeafOf, xorIntoLeaf } from '../lib/anti-entropy/merkle-tree.js';

const SEED = 0x3e7c_1e55;
t.comment(`seed=${SEED}`);

interface KeyDigest {
  leaf: number;
  lo: number;
  hi: number;
}

/** `count` keys spread over 2^leafBits leaves, each with a random 64-bit digest. */
function randomKeys(prng: Prng, count: number, leafBits: number): KeyDigest[] {
  return Array.from({ length: count }, () => ({ leaf: prng.nextBelow(2 ** leafBits), lo: prng.nextUint32(), hi: prng.nextUint32() }));
}

function leavesOf(keys: readonly KeyDigest[], leafBits: number): Uint32Array {
  const leaves = new Uint32Array(2 ** leafBits * DIGEST_WORDS);
  for (const key of keys) xorIntoLeaf(leaves, key.leaf, key.lo, key.hi);
  return leaves;
}

function treeOf(keys: readonly KeyDigest[], leafBits: number): MerkleTree {
  return MerkleTree.fromLeaves(leafBits, leavesOf(keys, leafBits));
}

function shuffled<T>(items: readonly T[], prng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.nextBelow(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

t.test('identical trees: no differing leaf, one comparison (the roots)', async (t) => {
  const keys = randomKeys(new Prng(SEED), 5000, 10);
  const result = diff(treeOf(keys, 10), treeOf(keys, 10));
  t.same(result.leaves, []);
  t.equal(result.nodesCompared, 1);
});

t.test('one changed key: exactly its leaf, found along one root-to-leaf path', async (t) => {
  const leafBits = 10;
  const keys = randomKeys(new Prng(SEED + 1), 5000, leafBits);
  const changed = keys.map((key) => ({ ...key }));
  changed[1234]!.lo ^= 1; // one bit of one key's digest
  const result = diff(treeOf(keys, leafBits), treeOf(changed, leafBits));
  t.same(result.leaves, [keys[1234]!.leaf]);
  // Each level compares the two children of the differing node, plus the root.
  t.equal(result.nodesCompared, 1 + 2 * leafBits);
});

t.test('a key missing from one replica: exactly its leaf', async (t) => {
  const keys = randomKeys(new Prng(SEED + 2), 2000, 8);
  const result = diff(treeOf(keys, 8), treeOf(keys.slice(1), 8));
  t.same(result.leaves, [keys[0]!.leaf]);
});

t.test('many random changes: exactly the changed leaves, ascending', async (t) => {
  const prng = new Prng(SEED + 3);
  for (const leafBits of [0, 1, 6, 12]) {
    const keys = randomKeys(prng, 20_000, leafBits);
    const other = keys.map((key) => ({ ...key }));
    const expected = new Set<number>();
    const changes = 1 + prng.nextBelow(300);
    for (let c = 0; c < changes; c++) {
      const i = prng.nextBelow(keys.length);
      other[i]!.hi = prng.nextUint32();
      if (other[i]!.hi !== keys[i]!.hi) expected.add(keys[i]!.leaf);
    }
    const result = diff(treeOf(keys, leafBits), treeOf(other, leafBits));
    t.same(result.leaves, [...expected].sort((a, b) => a - b), `leafBits ${leafBits}: ${changes} changes`);
    t.ok(result.nodesCompared <= 1 + 2 * leafBits * expected.size, `leafBits ${leafBits}: descends only where digests differ (${result.nodesCompared} nodes)`);
  }
});

t.test('order independence: any insertion order gives the same leaves and root', async (t) => {
  const prng = new Prng(SEED + 4);
  const keys = randomKeys(prng, 3000, 7);
  const reference = leavesOf(keys, 7);
  const tree = MerkleTree.fromLeaves(7, reference);
  for (let round = 0; round < 5; round++) {
    const leaves = leavesOf(shuffled(keys, prng), 7);
    t.same(leaves, reference, `shuffle ${round}: same leaf digests`);
    const other = MerkleTree.fromLeaves(7, leaves);
    t.same([other.rootLo(), other.rootHi()], [tree.rootLo(), tree.rootHi()], `shuffle ${round}: same root`);
  }
});

t.test('incremental updates: XOR out the old digest and in the new one, as if rebuilt', async (t) => {
  const prng = new Prng(SEED + 5);
  const keys = randomKeys(prng, 1000, 6);
  const tree = treeOf(keys, 6);
  const after = keys.map((key) => ({ ...key }));
  for (let c = 0; c < 50; c++) {
    const i = prng.nextBelow(keys.length);
    const next = { ...after[i]!, lo: prng.nextUint32(), hi: prng.nextUint32() };
    tree.updateLeaf(next.leaf, after[i]!.lo ^ next.lo, after[i]!.hi ^ next.hi);
    after[i] = next;
  }
  const added = { leaf: 5, lo: prng.nextUint32(), hi: prng.nextUint32() };
  tree.updateLeaf(added.leaf, added.lo, added.hi);
  after.push(added);
  const rebuilt = treeOf(after, 6);
  t.same(diff(tree, rebuilt).leaves, [], 'no leaf differs from a rebuilt tree');
  t.same([tree.rootLo(), tree.rootHi()], [rebuilt.rootLo(), rebuilt.rootHi()], 'same root');
  const before = treeOf(keys, 6);
  t.notSame([tree.rootLo(), tree.rootHi()], [before.rootLo(), before.rootHi()], 'and differs from the tree before the updates');
});

t.test('an empty tree differs from one with a key only in that key\'s leaf', async (t) => {
  const key = { leaf: 3, lo: 0x1234, hi: 0 };
  t.same(diff(treeOf([], 4), treeOf([key], 4)).leaves, [3]);
});

t.test('global leaf ids: the top bits of the key hash; the partition part is ring.partitionOf', async (t) => {
  const prng = new Prng(SEED + 6);
  const ring = Ring.create([0, 1, 2, 3], 256);
  for (const leafBits of [0, 8, 32 - ring.partitionBits]) {
    const mismatches: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const hash = prng.nextUint32();
      const globalLeaf = globalLeafOf(hash, ring.partitionBits, leafBits);
      const leaf = globalLeaf % 2 ** leafBits;
      const expectedLeaf = leafBits === 0 ? 0 : Math.floor((hash % 2 ** (32 - ring.partitionBits)) / 2 ** (32 - ring.partitionBits - leafBits));
      if (Math.floor(globalLeaf / 2 ** leafBits) !== ring.partitionOf(hash) || leaf !== expectedLeaf) mismatches.push(hash.toString(16));
    }
    t.same(mismatches, [], `leafBits ${leafBits}: partition and leaf agree with the hash bits`);
  }
  t.equal(globalLeafOf(0xffff_ffff, 0, 0), 0, 'no bits: a single leaf');
});

t.test('trees of different shapes are not compared', async (t) => {
  t.throws(() => diff(treeOf([], 4), treeOf([], 5)), { name: 'AssertionError' });
  t.throws(() => MerkleTree.fromLeaves(4, new Uint32Array(3)), { name: 'AssertionError' });
});
