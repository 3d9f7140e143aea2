/**
 * Keys with a partition part (lib/ring/partitioned-key.ts): placement by the
 * partition part alone, the byte layout, and the Store's refusal of malformed
 * 0xFF keys; then against real nodes, that every key of one partition part
 * lives on one preference list and round-trips.
 */
import t from 'tap';
import { hashKey32 } from '../lib/ring/hash.js';
import { placementBytes } from '../lib/ring/partitioned-key.js';
import { ErrorCode, partitionedKey, partitionPrefix } from '../lib/index.js';
import { failsWith, openTemp } from './helpers/temp-store.js';

const bytes = (text: string) => new TextEncoder().encode(text);

t.test('layout: marker, u16 length, partition part, rest', async (t) => {
  const key = partitionedKey(bytes('user#1'), bytes('order#7'));
  t.same([...key.subarray(0, 3)], [0xff, 0, 6]);
  t.same(Buffer.from(placementBytes(key)!).toString(), 'user#1');
  t.same(Buffer.from(key.subarray(9)).toString(), 'order#7');
  t.same([...partitionPrefix(bytes('user#1'))], [...key.subarray(0, 9)], 'the prefix is the key without its rest');
  const long = partitionedKey(new Uint8Array(300).fill(1));
  t.same([...long.subarray(0, 3)], [0xff, 1, 44], 'lengths over 255 use both length bytes');
});

t.test('placement: keys that share a partition part hash alike; others do not', async (t) => {
  const part = bytes('tenant-42');
  const hash = hashKey32(part);
  for (let i = 0; i < 50; i++) t.equal(hashKey32(partitionedKey(part, bytes(`item-${i}`))), hash, `item-${i} is placed by its partition part`);
  const spread = new Set(Array.from({ length: 50 }, (_, i) => hashKey32(partitionedKey(bytes(`tenant-${i}`), bytes('x')))));
  t.equal(spread.size, 50, 'different partition parts land on different positions');
  t.equal(hashKey32('plain'), hashKey32(bytes('plain')), 'plain keys are unchanged: a string and its bytes hash alike');
});

t.test('malformed 0xFF keys have no placement', async (t) => {
  t.equal(placementBytes(Uint8Array.of(0xff)), undefined, 'marker alone');
  t.equal(placementBytes(Uint8Array.of(0xff, 0, 0, 1)), undefined, 'empty partition part');
  t.equal(placementBytes(Uint8Array.of(0xff, 0, 5, 1, 2)), undefined, 'length beyond the key');
  t.same([...placementBytes(Uint8Array.of(0xfe, 1))!], [0xfe, 1], 'other first bytes place the whole key');
});

t.test('a store keeps each partition on one preference list and refuses malformed 0xFF keys', async (t) => {
  const store = await openTemp(t, { nodes: 5, replication: { n: 3, r: 2, w: 2 } });
  const partitions = ['alpha', 'beta', 'gamma'].map(bytes);
  for (const part of partitions) {
    const lists = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const key = partitionedKey(part, bytes(`sort-${i}`));
      await store.put(key, { i });
      lists.add(store.preferenceList(key).join(','));
    }
    t.equal(lists.size, 1, `all 40 keys of ${Buffer.from(part).toString()} share one preference list`);
    t.equal(store.partitionOf(partitionedKey(part, bytes('sort-0'))), store.partitionOf(partitionedKey(part)), 'the ring partition of the bare prefix is the same');
  }
  const got = await store.getMany(partitions.flatMap((part) => Array.from({ length: 40 }, (_, i) => partitionedKey(part, bytes(`sort-${i}`)))));
  t.same(got.map((result) => (result?.value as { i: number } | undefined)?.i), [...Array(3)].flatMap(() => Array.from({ length: 40 }, (_, i) => i)), 'every item reads back');
  await failsWith(t, () => store.put(Uint8Array.of(0xff, 0, 9, 1), 1), ErrorCode.INVALID_KEY, 'a malformed 0xFF key');
  await failsWith(t, () => store.get(Uint8Array.of(0xff)), ErrorCode.INVALID_KEY, 'the marker alone');
});
