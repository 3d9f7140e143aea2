/**
 * Keys with a partition part (lib/ring/partitioned-key.ts): the byte layout,
 * placement by the partition part alone, order (space, token, part, rest),
 * and the Store's refusal of malformed 0xFF keys; then against real nodes,
 * that every key of one partition lives on one preference list and
 * round-trips.
 */
import t from 'tap';
import fc from 'fast-check';
import { hashKey32 } from '../lib/ring/hash.js';
import { isWellFormedPartitionedKey, tokenOf } from '../lib/ring/partitioned-key.js';
import { ErrorCode, partitionedKey, partitionPrefix, spacePrefix, splitPartitionedKey, tokenBound } from '../lib/index.js';
import { failsWith, openTemp } from './helpers/temp-store.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const compare = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);

t.test('layout: marker, space, token, part length, partition part, rest', async (t) => {
  const key = partitionedKey(7, bytes('user#1'), bytes('order#7'));
  t.equal(key[0], 0xff);
  t.same([...key.subarray(1, 5)], [0, 0, 0, 7], 'space, big-endian');
  t.equal(tokenOf(key), hashKey32(bytes('user#1')), 'the token is the hash of the partition part');
  t.same([...key.subarray(9, 11)], [0, 6], 'part length');
  const parts = splitPartitionedKey(key);
  t.same({ space: parts.space, part: Buffer.from(parts.partitionPart).toString(), rest: Buffer.from(parts.rest).toString() }, { space: 7, part: 'user#1', rest: 'order#7' });
  t.same([...partitionPrefix(7, bytes('user#1'))], [...key.subarray(0, 17)], 'the partition prefix is the key without its rest');
  t.same([...spacePrefix(7)], [...key.subarray(0, 5)]);
  t.same([...tokenBound(7, tokenOf(key))], [...key.subarray(0, 9)]);
});

t.test('placement: keys that share a partition part hash to its token, whatever the space or rest', async (t) => {
  const part = bytes('tenant-42');
  const hash = hashKey32(part);
  for (let i = 0; i < 50; i++) t.equal(hashKey32(partitionedKey(i % 3, part, bytes(`item-${i}`))), hash, `item-${i}`);
  const spread = new Set(Array.from({ length: 50 }, (_, i) => hashKey32(partitionedKey(1, bytes(`tenant-${i}`), bytes('x')))));
  t.equal(spread.size, 50, 'different partition parts land on different positions');
  t.equal(hashKey32('plain'), hashKey32(bytes('plain')), 'plain keys are unchanged: a string and its bytes hash alike');
});

t.test('order: space, then token, then partition part, then rest (property)', async (t) => {
  const part = fc.uint8Array({ minLength: 1, maxLength: 12 });
  const key = fc.record({ space: fc.integer({ min: 0, max: 3 }), part, rest: fc.uint8Array({ maxLength: 12 }) });
  fc.assert(
    fc.property(key, key, (a, b) => {
      const ka = partitionedKey(a.space, a.part, a.rest);
      const kb = partitionedKey(b.space, b.part, b.rest);
      const expected = a.space - b.space || hashKey32(a.part) - hashKey32(b.part) || a.part.length - b.part.length || compare(a.part, b.part) || compare(a.rest, b.rest);
      return Math.sign(compare(ka, kb)) === Math.sign(expected);
    }),
    { numRuns: 2000 },
  );
  const a = partitionedKey(3, bytes('p'), bytes('a'));
  const z = partitionedKey(3, bytes('p'), bytes('z'));
  const prefix = partitionPrefix(3, bytes('p'));
  t.ok(compare(prefix, a) < 0 && compare(a, z) < 0, 'a partition is one range, ordered by rest, after its prefix');
  t.ok(compare(spacePrefix(3), tokenBound(3, 0)) < 0 && compare(tokenBound(3, 0xffffffff), spacePrefix(4)) < 0, 'token bounds stay inside their space');
});

t.test('malformed 0xFF keys are not partitioned keys', async (t) => {
  t.notOk(isWellFormedPartitionedKey(Uint8Array.of(0xff)), 'marker alone');
  t.notOk(isWellFormedPartitionedKey(Uint8Array.of(0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1)), 'empty partition part');
  t.notOk(isWellFormedPartitionedKey(Uint8Array.of(0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2)), 'length beyond the key');
  t.ok(isWellFormedPartitionedKey(partitionedKey(0, Uint8Array.of(0))), 'one byte of part, no rest');
});

t.test('a store keeps each partition on one preference list and refuses malformed 0xFF keys', async (t) => {
  const store = await openTemp(t, { nodes: 5, replication: { n: 3, r: 2, w: 2 } });
  const partitions = ['alpha', 'beta', 'gamma'].map(bytes);
  for (const part of partitions) {
    const lists = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const key = partitionedKey(1, part, bytes(`sort-${i}`));
      await store.put(key, { i });
      lists.add(store.preferenceList(key).join(','));
    }
    t.equal(lists.size, 1, `all 40 keys of ${Buffer.from(part).toString()} share one preference list`);
    t.equal(store.partitionOf(partitionedKey(1, part, bytes('sort-0'))), store.partitionOf(partitionPrefix(2, part)), 'the ring partition follows the part, not the space');
  }
  const got = await store.getMany(partitions.flatMap((part) => Array.from({ length: 40 }, (_, i) => partitionedKey(1, part, bytes(`sort-${i}`)))));
  t.same(got.map((result) => (result?.value as { i: number } | undefined)?.i), [...Array(3)].flatMap(() => Array.from({ length: 40 }, (_, i) => i)), 'every item reads back');
  await failsWith(t, () => store.put(Uint8Array.of(0xff, 0, 9, 1), 1), ErrorCode.INVALID_KEY, 'a malformed 0xFF key');
  await failsWith(t, () => store.get(Uint8Array.of(0xff)), ErrorCode.INVALID_KEY, 'the marker alone');
});
