import t from 'tap';
import { uint32Source } from '../lib/prng.js';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { Ring, type RingJSON } from '../lib/ring/ring.js';
import { PreferenceListTable, preferenceList, preferenceListWithFallbacks } from '../lib/ring/preference-list.js';

const VNODES_PER_NODE = 256;
const KEY_COUNT = 100_000;
const KEY_BYTES = 16;
const SEED = 0x5eed_1234;


function randomKeyHashes(count: number, seed: number): Uint32Array {
  const next = uint32Source(seed);
  const key = new Uint8Array(KEY_BYTES);
  const view = new DataView(key.buffer);
  const hashes = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    for (let offset = 0; offset < KEY_BYTES; offset += 4) view.setUint32(offset, next());
    hashes[i] = hashKey32(key);
  }
  return hashes;
}

const hashes = randomKeyHashes(KEY_COUNT, SEED);
t.comment(`seed=${SEED} keys=${KEY_COUNT} keyBytes=${KEY_BYTES} vnodesPerNode=${VNODES_PER_NODE}`);

function ownerOfHash(ring: Ring, hash32: number): number {
  return ring.ownerOf(ring.partitionOf(hash32));
}

function keysPerNode(ring: Ring): Map<number, number> {
  const counts = new Map<number, number>(ring.nodeIds().map((id) => [id, 0]));
  for (const h of hashes) {
    const owner = ownerOfHash(ring, h);
    counts.set(owner, counts.get(owner)! + 1);
  }
  return counts;
}

function partitionSpread(ring: Ring): number {
  const loads = ring.nodeIds().map((id) => ring.partitionsOwnedBy(id).length);
  return Math.max(...loads) - Math.min(...loads);
}

function ids(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + 1) * 10);
}

const enc = (s: string) => new TextEncoder().encode(s);
const invalidOptions = { name: 'RingtableError', code: ErrorCode.INVALID_OPTIONS };

t.test('hashKey32 is XXH32 with seed 0', async (t) => {
  t.equal(hashKey32(enc('')), 0x02cc5d05);
  t.equal(hashKey32(enc('a')), 0x550d7456);
  t.equal(hashKey32(enc('abc')), 0x32d153ff);
  t.equal(hashKey32(Buffer.from('abc')), 0x32d153ff, 'a Buffer hashes like its bytes');
  const topBitSet = [...hashes].filter((h) => h >= 2 ** 31).length;
  t.ok(topBitSet > KEY_COUNT * 0.45 && topBitSet < KEY_COUNT * 0.55, 'about half the hashes have the top bit set');
  t.ok(hashKey32(enc('a')) >= 0 && hashKey32(new Uint8Array(KEY_BYTES).fill(0xff)) >= 0, 'results are unsigned');
});

t.test('create sizes Q as a clamped power of two and round-robins owners', async (t) => {
  t.equal(Ring.create(ids(4), VNODES_PER_NODE).partitionCount, 1024);
  t.equal(Ring.create(ids(5), VNODES_PER_NODE).partitionBits, 11, '1280 tokens round up to 2048');
  t.equal(Ring.create([7], 1).partitionCount, 16, 'clamped up to 2^4');
  t.equal(Ring.create([1, 2], 2 ** 20).partitionCount, 2 ** 20, 'clamped down to 2^20');
  const ring = Ring.create([30, 10, 20], 8);
  t.same(ring.nodeIds(), [10, 20, 30]);
  t.same(Ring.create([10, 20, 30], 8).toJSON(), ring.toJSON(), 'input order does not matter');
  const sameAsNext = Array.from({ length: ring.partitionCount - 1 }, (_, p) => ring.ownerOf(p) === ring.ownerOf(p + 1));
  t.notOk(sameAsNext.includes(true), 'consecutive partitions have distinct owners');
  t.equal(ring.partitionCount, 32, '24 tokens round up to 32');
  t.same(ring.partitionsOwnedBy(20), Array.from({ length: 32 }, (_, p) => p).filter((p) => p % 3 === 1), 'round-robin');
  t.equal(ring.partitionOf(0), 0);
  t.equal(ring.partitionOf(0xffff_ffff), ring.partitionCount - 1);
});

t.test('keys are balanced across 4, 5 and 8 nodes', async (t) => {
  for (const nodeCount of [4, 5, 8]) {
    const ring = Ring.create(ids(nodeCount), VNODES_PER_NODE);
    const counts = [...keysPerNode(ring).values()];
    const ratio = Math.max(...counts) / (KEY_COUNT / nodeCount);
    t.comment(`nodes=${nodeCount} Q=${ring.partitionCount} max/mean keys=${ratio.toFixed(4)}`);
    t.ok(ratio <= 1.1, `max/mean ${ratio} <= 1.10 with ${nodeCount} nodes`);
    t.ok(partitionSpread(ring) <= 1, 'partition counts within one');
  }
});

t.test('adding a node moves about 1/5 of keys, all to the new node', async (t) => {
  const before = Ring.create(ids(4), VNODES_PER_NODE);
  const after = before.withNodeAdded(50);
  t.same(after.nodeIds(), [10, 20, 30, 40, 50]);
  t.equal(after.partitionsOwnedBy(50).length, Math.floor(1024 / 5));
  t.ok(partitionSpread(after) <= 1, 'balance stays within one partition');
  let moved = 0;
  let movedElsewhere = 0;
  for (const h of hashes) {
    if (ownerOfHash(before, h) === ownerOfHash(after, h)) continue;
    moved++;
    if (ownerOfHash(after, h) !== 50) movedElsewhere++;
  }
  const fraction = moved / KEY_COUNT;
  t.comment(`add 1 node to 4: moved fraction=${fraction.toFixed(4)}`);
  t.ok(fraction >= 0.17 && fraction <= 0.23, `moved fraction ${fraction} in [0.17, 0.23]`);
  t.equal(movedElsewhere, 0, 'every moved key moved to the new node');
  t.same(before.withNodeAdded(50).toJSON(), after.toJSON(), 'deterministic');
  t.equal(nearbyRepeats(after, 50), 0, 'no two partitions of the new node within radius 2');
});

/** Partitions of `nodeId` that have another partition of `nodeId` within distance 2. */
function nearbyRepeats(ring: Ring, nodeId: number): number {
  const q = ring.partitionCount;
  return ring.partitionsOwnedBy(nodeId).filter((p) =>
    [1, 2].some((d) => ring.ownerOf((p + d) % q) === nodeId || ring.ownerOf((p - d + q) % q) === nodeId),
  ).length;
}

t.test('adding nodes one by one keeps balance and only feeds the newcomer', async (t) => {
  let ring = Ring.create([1], 16);
  for (let id = 2; id <= 9; id++) {
    const next = ring.withNodeAdded(id);
    let movedElsewhere = 0;
    for (let p = 0; p < ring.partitionCount; p++) {
      if (next.ownerOf(p) !== ring.ownerOf(p) && next.ownerOf(p) !== id) movedElsewhere++;
    }
    t.equal(movedElsewhere, 0, `joining node ${id} is the only one to gain partitions`);
    t.equal(next.partitionsOwnedBy(id).length, Math.floor(ring.partitionCount / id));
    t.ok(partitionSpread(next) <= 1, `balanced with ${id} nodes`);
    ring = next;
  }
});

t.test('removing a node moves only its keys', async (t) => {
  for (const before of [Ring.create(ids(5), VNODES_PER_NODE), Ring.create(ids(4), VNODES_PER_NODE).withNodeAdded(50)]) {
    const after = before.withNodeRemoved(30);
    t.same(after.nodeIds(), before.nodeIds().filter((id) => id !== 30));
    t.same(after.partitionsOwnedBy(30), []);
    t.ok(partitionSpread(after) <= 1, 'balance stays within one partition');
    let wrongMoves = 0;
    for (const h of hashes) {
      const wasOn30 = ownerOfHash(before, h) === 30;
      const moved = ownerOfHash(before, h) !== ownerOfHash(after, h);
      if (wasOn30 !== moved) wrongMoves++;
    }
    t.equal(wrongMoves, 0, 'a key moved if and only if node 30 owned it');
  }
});

t.test('bad input throws ERR_INVALID_OPTIONS', async (t) => {
  const ring = Ring.create(ids(3), 4);
  const cases: [string, () => unknown][] = [
    ['no nodes', () => Ring.create([], 4)],
    ['duplicate ids', () => Ring.create([1, 2, 1], 4)],
    ['negative id', () => Ring.create([-1], 4)],
    ['fractional id', () => Ring.create([1.5], 4)],
    ['vnodes 0', () => Ring.create([1], 0)],
    ['adding an existing id', () => ring.withNodeAdded(20)],
    ['removing an unknown id', () => ring.withNodeRemoved(99)],
    ['removing the last node', () => Ring.create([1], 4).withNodeRemoved(1)],
    ['more nodes than partitions', () => Ring.create(Array.from({ length: 16 }, (_, i) => i), 1).withNodeAdded(16)],
    ['n > nodes', () => preferenceList(ring, 0, 4)],
    ['n < 1', () => preferenceList(ring, 0, 0)],
    ['table n > nodes', () => new PreferenceListTable(ring, 4)],
    ['fallbacks n > nodes', () => preferenceListWithFallbacks(ring, 0, 4, () => true)],
  ];
  for (const [name, fn] of cases) {
    t.throws(fn, invalidOptions, name);
    t.throws(fn, RingtableError, `${name} is a RingtableError`);
  }
});

t.test('toJSON/fromJSON round-trips and validates', async (t) => {
  const ring = Ring.create(ids(4), VNODES_PER_NODE).withNodeAdded(50).withNodeRemoved(20);
  const json = JSON.parse(JSON.stringify(ring)) as RingJSON;
  const loaded = Ring.fromJSON(json);
  t.same(loaded.toJSON(), ring.toJSON());
  t.same(loaded.nodeIds(), ring.nodeIds());
  t.equal(loaded.partitionCount, ring.partitionCount);
  const good = ring.toJSON();
  const bad: [string, unknown][] = [
    ['bits too small', { ...good, partitionBits: 3 }],
    ['bits not integer', { ...good, partitionBits: 10.5 }],
    ['owners too short', { ...good, owners: good.owners.slice(1) }],
    ['owner not an id', { ...good, owners: [-1, ...good.owners.slice(1)] }],
    ['owners missing', { partitionBits: good.partitionBits }],
  ];
  for (const [name, json] of bad) t.throws(() => Ring.fromJSON(json as RingJSON), invalidOptions, name);
});

/** Clockwise distance from `start` to the first partition `nodeId` owns. */
function firstDistance(ring: Ring, start: number, nodeId: number): number {
  for (let d = 0; d < ring.partitionCount; d++) if (ring.ownerOf((start + d) % ring.partitionCount) === nodeId) return d;
  return -1;
}

t.test('preference lists: n distinct nodes, clockwise, table matches', async (t) => {
  const rings = [
    Ring.create(ids(5), VNODES_PER_NODE),
    Ring.create(ids(4), VNODES_PER_NODE).withNodeAdded(50),
    Ring.create(ids(6), 8).withNodeRemoved(30),
  ];
  let failures = 0;
  for (const ring of rings) {
    for (const n of [1, 3, ring.nodeIds().length]) {
      const table = new PreferenceListTable(ring, n);
      for (let p = 0; p < ring.partitionCount; p++) {
        const list = preferenceList(ring, p, n);
        const distances = list.map((id) => firstDistance(ring, p, id));
        const last = distances[distances.length - 1]!;
        const ownersWalked = new Set(Array.from({ length: last + 1 }, (_, d) => ring.ownerOf((p + d) % ring.partitionCount)));
        const ok =
          list.length === n &&
          new Set(list).size === n &&
          list[0] === ring.ownerOf(p) &&
          distances.every((d, i) => i === 0 || d > distances[i - 1]!) &&
          ownersWalked.size === n &&
          Array.from(table.forPartition(p)).join() === list.join();
        if (!ok) failures++;
      }
      t.equal(table.forPartition(7), table.forPartition(7), 'a lookup reuses its view');
    }
  }
  t.equal(failures, 0, 'every partition of every ring has a correct list');
  const table = new PreferenceListTable(rings[0]!, 3);
  let hashMismatches = 0;
  for (const h of hashes.subarray(0, 5000)) {
    if (Array.from(table.forHash(h)).join() !== preferenceList(rings[0]!, rings[0]!.partitionOf(h), 3).join()) hashMismatches++;
  }
  t.equal(hashMismatches, 0, 'forHash agrees with preferenceList');
});

t.test('fallbacks skip down nodes and never duplicate', async (t) => {
  const ring = Ring.create(ids(7), 16).withNodeRemoved(40).withNodeAdded(80);
  const nodeCount = ring.nodeIds().length;
  const next = uint32Source(SEED + 1);
  let failures = 0;
  let fallbacksSeen = 0;
  for (let p = 0; p < ring.partitionCount; p++) {
    for (const downCount of [0, 1, 2, 4, nodeCount]) {
      const down = new Set([...ring.nodeIds()].sort(() => (next() & 1) - 0.5).slice(0, downCount));
      const isUp = (id: number) => !down.has(id);
      const { primaries, fallbacks } = preferenceListWithFallbacks(ring, p, 3, isUp);
      // The whole ring in clockwise order of first appearance: fallbacks
      // must be the first up nodes after the primaries, one per down primary.
      const everyone = preferenceList(ring, p, nodeCount);
      const downPrimaries = primaries.filter((id) => !isUp(id)).length;
      const expected = everyone.slice(3).filter(isUp).slice(0, downPrimaries);
      const listed = [...primaries, ...fallbacks];
      const ok =
        primaries.join() === everyone.slice(0, 3).join() &&
        fallbacks.join() === expected.join() &&
        fallbacks.every(isUp) &&
        new Set(listed).size === listed.length;
      if (!ok) failures++;
      fallbacksSeen += fallbacks.length;
    }
  }
  t.equal(failures, 0, 'fallbacks are the next distinct up nodes, in order');
  t.ok(fallbacksSeen > 0, 'the scenarios exercised fallbacks');
  const allUp = preferenceListWithFallbacks(ring, 0, 3, () => true);
  t.same(allUp.fallbacks, []);
  const allDown = preferenceListWithFallbacks(ring, 0, 3, () => false);
  t.same(allDown.fallbacks, [], 'no up node to stand in');
  t.equal(allDown.primaries.length, 3);
});
