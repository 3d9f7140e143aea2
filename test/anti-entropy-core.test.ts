/**
 * The pure parts of anti-entropy: canonical version digests, which replicas
 * to repair, and the scan accumulators, without threads or LMDB.
 */
import t from 'tap';
import { Prng } from '../lib/prng.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { Ring } from '../lib/ring/ring.js';
import { type Sibling, type VersionedObject, lastWriterWins, sync, update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { CANONICAL_BYTES_MAX, canonicalOfObject, canonicalVersion, keyDigest } from '../lib/anti-entropy/version-digest.js';
import { staleReplicas } from '../lib/anti-entropy/stale-replicas.js';
import { LeafDigestScan, LeafKeyListing } from '../lib/anti-entropy/partition-scan.js';
import { globalLeafOf } from '../lib/anti-entropy/merkle-tree.js';
import { batchLeaves, compareKeys, compareTrees, listingRequests, planComparison } from '../lib/anti-entropy/replica-comparison.js';

const SEED = 0x0a7e_2024;
t.comment(`seed=${SEED}`);
const A = 1024 + 1; // actors: epoch 1 of nodes 1, 2, 3
const B = 1024 + 2;
const C = 1024 + 3;

function sibling(name: string, timestampMs: number, expiresAtMs = 0): Sibling {
  return { value: new TextEncoder().encode(name), timestampMs, expiresAtMs, tombstone: false };
}

function canonical(obj: VersionedObject, nowMs = 0): Uint8Array | undefined {
  const out = new Uint8Array(CANONICAL_BYTES_MAX);
  const length = canonicalVersion(encodeObject(obj), nowMs, out);
  return length < 0 ? undefined : out.slice(0, length);
}

const key = (text: string) => new TextEncoder().encode(text);

t.test('canonical version: the causal content of the stored bytes, nothing else', async (t) => {
  const v1 = update(undefined, [], sibling('one', 100), A);
  const v2 = update(v1, [[A, 1]], sibling('two', 200), B);
  t.same(canonical(v2), canonicalOfObject(v2), 'read from the bytes as from the object');
  t.notSame(canonical(v1), canonical(v2), 'a newer version differs');

  // A coordinator that learnt B's event only from a client's context dates
  // its entry at the write (500; timestampMs 0 before session s16); a replica
  // that knew the event with a later time keeps that, and sync keeps the max.
  // Same version, different stored bytes.
  const coordinated = update(undefined, [[B, 3]], sibling('x', 500), C);
  const knewB: VersionedObject = { entries: [{ actor: B, counter: 3, timestampMs: 600, siblings: [] }] };
  const replicated = sync(knewB, coordinated);
  t.notSame(Buffer.from(encodeObject(replicated)), Buffer.from(encodeObject(coordinated)), 'the stored bytes differ (entry timestamps)');
  t.same(canonical(replicated), canonical(coordinated), 'the canonical content is the same');

  const lww = lastWriterWins(sync(update(undefined, [], sibling('p', 1), A), update(undefined, [], sibling('q', 2), B)));
  const plain = sync(update(undefined, [], sibling('p', 1), A), update(undefined, [], sibling('q', 2), B));
  t.notSame(canonical(lww), canonical(plain), 'siblings dropped under the same clock (lww) are a difference');
});

t.test('canonical version: a key whose every value has expired is absent', async (t) => {
  const expiring = update(undefined, [], sibling('v', 100, 1000), A);
  t.ok(canonical(expiring, 999) !== undefined, 'live before its expiry');
  t.equal(canonical(expiring, 1000), undefined, 'absent at its expiry (the sweep rule: expiresAtMs <= now)');
  const mixed = sync(expiring, update(undefined, [], sibling('w', 100, 0), B));
  t.ok(canonical(mixed, 5000) !== undefined, 'a value without expiry keeps the key');
  t.throws(() => canonicalVersion(new Uint8Array([9, 0]), 0, new Uint8Array(8)), { name: 'AssertionError' }, 'foreign bytes are refused');
});

t.test('key digests: the key and the causal content, deterministically', async (t) => {
  const scratch = new Uint8Array(4096);
  const digestOf = (k: Uint8Array, c: Uint8Array) => {
    const out = new Uint32Array(2);
    keyDigest(k, c, c.byteLength, scratch, out);
    return [...out];
  };
  const v1 = canonicalOfObject(update(undefined, [], sibling('a', 1), A));
  const v2 = canonicalOfObject(update(update(undefined, [], sibling('a', 1), A), [[A, 1]], sibling('b', 2), A));
  t.same(digestOf(key('k'), v1), digestOf(key('k'), v1), 'same inputs, same digest');
  t.notSame(digestOf(key('k'), v1), digestOf(key('k'), v2), 'another version');
  t.notSame(digestOf(key('k'), v1), digestOf(key('j'), v1), 'another key');
  // The same bytes concatenated, split differently between key and content.
  t.notSame(digestOf(key('k'), v1), digestOf(Uint8Array.of(key('k')[0]!, v1[0]!), v1.subarray(1)), 'the split between key and content counts');
});

t.test('stale replicas: those that do not hold the merge of all', async (t) => {
  const v1 = update(undefined, [], sibling('one', 1), A);
  const v2 = update(v1, [[A, 1]], sibling('two', 2), A);
  const other = update(v1, [[A, 1]], sibling('other', 3), B); // concurrent with v2
  const c = (obj: VersionedObject) => canonicalOfObject(obj);
  t.same(staleReplicas([c(v2), c(v2), c(v2)]), [], 'all agree');
  t.same(staleReplicas([undefined, undefined]), [], 'nobody holds it');
  t.same(staleReplicas([c(v2), undefined, c(v2)]), [1], 'one holds nothing');
  t.same(staleReplicas([c(v1), c(v2)]), [0], 'two replicas, one behind: only it');
  t.same(staleReplicas([c(v2), c(v1), c(v2)]), [1], 'three replicas, one behind');
  t.same(staleReplicas([c(v2), c(other)]), [0, 1], 'concurrent versions: each lacks the other sibling');
  t.same(staleReplicas([c(sync(v2, other)), c(v2), c(other)]), [1, 2], 'the replica holding both siblings is not stale');
});

t.test('leaf digest scan: only requested partitions, expired keys left out, any order', async (t) => {
  const partitionBits = 4;
  const leafBits = 3;
  const entries = Array.from({ length: 400 }, (_, i) => {
    const expired = i % 10 === 0; // expires at 50, the scan runs at 100
    return { key: key(`key:${i}`), expired, bytes: encodeObject(update(undefined, [], sibling(`v${i}`, i, expired ? 50 : 0), A)) };
  });
  const wanted = Int32Array.of(1, 5, 9);
  const scanIn = (order: typeof entries) => {
    const scan = new LeafDigestScan(partitionBits, leafBits, wanted);
    for (const entry of order) scan.add(entry.key, entry.bytes, 100);
    return scan.result(7, false);
  };
  const forward = scanIn(entries);
  const shuffled = [...entries];
  const prng = new Prng(SEED);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = prng.nextBelow(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  t.same(scanIn(shuffled).digests, forward.digests, 'same digests in any scan order');
  const partitionOf = (k: Uint8Array) => globalLeafOf(hashKey32(k), partitionBits, leafBits) >>> leafBits;
  const inWanted = entries.filter((entry) => [1, 5, 9].includes(partitionOf(entry.key)));
  const expired = inWanted.filter((entry) => entry.expired);
  t.equal(forward.keysScanned, 400);
  t.equal(forward.keysOutside, 400 - inWanted.length, 'keys of other partitions are counted as outside');
  t.equal(forward.keysExpired, expired.length, 'expired keys are counted, not digested');
  t.equal(forward.keyCounts.reduce((a, b) => a + b, 0), inWanted.length - expired.length, 'live keys of wanted partitions, per leaf');
  t.equal(forward.digests.length, 3 * 2 ** leafBits * 2);
});

t.test('leaf key listing: the requested leaves only, and bounded', async (t) => {
  const partitionBits = 4;
  const leafBits = 2;
  const entries = Array.from({ length: 300 }, (_, i) => ({ key: key(`k${i}`), bytes: encodeObject(update(undefined, [], sibling('v', i), A)) }));
  const leafOf = (k: Uint8Array) => globalLeafOf(hashKey32(k), partitionBits, leafBits);
  const wanted = [...new Set(entries.slice(0, 3).map((entry) => leafOf(entry.key)))].sort((a, b) => a - b);
  const expectedKeys = entries.filter((entry) => wanted.includes(leafOf(entry.key)));
  const full = new LeafKeyListing(partitionBits, leafBits, Uint32Array.from(wanted), 1000, 1 << 20);
  for (const entry of entries) full.add(entry.key, entry.bytes, 0);
  const listed = full.result(0, false);
  t.equal(listed.keyCount, expectedKeys.length, 'every key of the wanted leaves');
  t.same(listed.incompleteLeaves, new Uint32Array(0));
  const firstKey = Buffer.from(listed.keyBytes.subarray(0, listed.keyEnds[0]!)).toString();
  t.equal(firstKey, new TextDecoder().decode(expectedKeys[0]!.key), 'keys back to back, in scan order');

  const bounded = new LeafKeyListing(partitionBits, leafBits, Uint32Array.from(wanted), 2, 1 << 20);
  for (const entry of entries) bounded.add(entry.key, entry.bytes, 0);
  const partial = bounded.result(0, false);
  t.equal(partial.keyCount, 2, 'stops at keysMax');
  t.ok(partial.incompleteLeaves.length >= 1, 'and marks the leaves it could not finish');
});

t.test('replica comparison on hand-made scans: differing leaves, batches, keys and replicas', async (t) => {
  const ring = Ring.create([0, 1, 2, 3], 4); // 16 partitions
  const leafBits = 2;
  const plan = planComparison(ring, 3, [0, 1, 2, 3], leafBits);
  t.same([...plan.partitionsByNode.values()].map((p) => p.length), [12, 12, 12, 12], 'each node replicates 3/4 of the partitions');
  const v1 = update(undefined, [], sibling('one', 1), A);
  const v2 = update(v1, [[A, 1]], sibling('two', 2), A);
  const keys = Array.from({ length: 200 }, (_, i) => key(`user:${i}`));
  const stale = new Set([7, 42, 99]);
  const missing = 150;
  const versionOn = (nodeId: number, i: number): VersionedObject | undefined => {
    if (nodeId === 2 && i === missing) return undefined;
    return nodeId === 2 && stale.has(i) ? v1 : v2;
  };
  const scans = new Map(
    [...plan.partitionsByNode].map(([nodeId, partitions]) => {
      const scan = new LeafDigestScan(ring.partitionBits, leafBits, partitions);
      keys.forEach((k, i) => {
        const version = versionOn(nodeId, i);
        if (version !== undefined) scan.add(k, encodeObject(version), 0);
      });
      return [nodeId, scan.result(nodeId, false)] as const;
    }),
  );
  const trees = compareTrees(plan, scans);
  const replicasOf = (k: Uint8Array) => plan.replicasByPartition[ring.partitionOf(hashKey32(k))]!;
  const diverged = [...stale, missing].filter((i) => replicasOf(keys[i]!).includes(2));
  t.ok(diverged.length > 0, `some diverged keys are on node 2 (${diverged.length})`);
  t.equal(trees.partitionsCompared, 16);
  t.equal(trees.keysCompared, 3 * 200 - (replicasOf(keys[missing]!).includes(2) ? 1 : 0), 'every live copy');
  const expectedLeaves = [...new Set(diverged.map((i) => globalLeafOf(hashKey32(keys[i]!), ring.partitionBits, leafBits)))].sort((a, b) => a - b);
  t.same(trees.leavesDiffering, expectedLeaves, 'exactly the leaves of the diverged keys');

  const batches = batchLeaves(plan, scans, trees.leavesDiffering, 1_000_000);
  t.equal(batches.length, 1, 'one listing pass when it fits');
  t.same(batchLeaves(plan, scans, trees.leavesDiffering, 1).flat(), trees.leavesDiffering, 'smaller passes cover the same leaves');

  const requests = listingRequests(plan, batches[0]!);
  const listings = new Map(
    [...requests].map(([nodeId, leaves]) => {
      const listing = new LeafKeyListing(ring.partitionBits, leafBits, leaves, 1000, 1 << 20);
      keys.forEach((k, i) => {
        const version = versionOn(nodeId, i);
        if (version !== undefined) listing.add(k, encodeObject(version), 0);
      });
      return [nodeId, listing.result(nodeId, false)] as const;
    }),
  );
  const compared = compareKeys(plan, batches[0]!, listings);
  const found = compared.differing.map((d) => ({ key: new TextDecoder().decode(d.key), replicas: d.replicas })).sort((a, b) => a.key.localeCompare(b.key));
  const expected = diverged.map((i) => ({ key: `user:${i}`, replicas: [2] })).sort((a, b) => a.key.localeCompare(b.key));
  t.same(found, expected, 'exactly the diverged keys, each with node 2 to repair');
  t.equal(compared.leavesIncomplete, 0);
});
