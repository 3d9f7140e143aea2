/**
 * A putMany's slab chunks (store/value-slab.ts): a batch that ended hands
 * its chunks to the next batch's slab, zeroed, up to SLAB_CHUNKS_KEPT_MAX;
 * and consecutive putMany batches through those chunks store every value
 * as given, in 'lww' (minted messages in the slab) and 'siblings' (values).
 */
import t from 'tap';
import { SLAB_CHUNKS_KEPT_MAX, SlabChunks, VALUE_SLAB_CHUNK_BYTES, ValueSlab } from '../lib/store/value-slab.js';
import { openTemp } from './helpers/temp-store.js';

t.test("a released slab's chunks serve the next slab, zeroed", async (t) => {
  const chunks = new SlabChunks();
  const first = new ValueSlab(chunks);
  const views = Array.from({ length: 3000 }, () => first.take(100).fill(0xee));
  const buffers = new Set(views.map((view) => view.buffer));
  t.ok(buffers.size >= 4, `3000 values in ${buffers.size} chunks`);
  t.equal(chunks.freeCount, 0, 'nothing kept before release');
  first.release();
  t.equal(chunks.freeCount, buffers.size, 'every chunk kept');
  const second = new ValueSlab(chunks);
  const next = second.take(100);
  t.ok(buffers.has(next.buffer), "the next slab takes a released chunk's memory");
  t.ok(
    new Uint8Array(next.buffer).every((byte) => byte === 0),
    'zeroed',
  );
  t.equal(chunks.freeCount, buffers.size - 1);
});

t.test('at most SLAB_CHUNKS_KEPT_MAX chunks are kept; a slab without SlabChunks keeps none', async (t) => {
  const chunks = new SlabChunks();
  const slab = new ValueSlab(chunks);
  for (let i = 0; i < SLAB_CHUNKS_KEPT_MAX + 5; i++) slab.take(VALUE_SLAB_CHUNK_BYTES / 4);
  slab.release();
  t.ok(chunks.freeCount <= SLAB_CHUNKS_KEPT_MAX, `${chunks.freeCount} kept`);
  const plain = new ValueSlab();
  plain.take(100);
  plain.release();
  t.pass('release without SlabChunks does nothing');
});

for (const conflicts of ['lww', 'siblings'] as const) {
  t.test(`${conflicts}: consecutive putMany batches through reused chunks store every value as given`, async (t) => {
    const store = await openTemp(t, { conflicts, replication: { n: 3, r: 2, w: 2 }, timeoutMs: 60_000 });
    const keys = Array.from({ length: 3000 }, (_, i) => `slab:${i}`);
    for (let round = 0; round < 4; round++) {
      // Each round's bytes differ from the last's: a chunk reused while a view into it was still read, or not zeroed, shows.
      const entries = keys.map((key, i) => [key, new Uint8Array(90 + ((i + round) % 17)).fill((i * 7 + round * 31) & 0xff)] as const);
      await store.putMany(entries);
      const read = await store.getMany(keys, { r: 3 });
      const wrong = read.filter((result, i) => !(result?.value instanceof Uint8Array) || Buffer.compare(result.value, entries[i]![1]) !== 0).length;
      t.equal(wrong, 0, `round ${round + 1}: every value on all three replicas, byte for byte`);
    }
  });
}

t.test('putMany batches in flight together, one sending its items a window at a time, keep their own chunks until they end', async (t) => {
  // pendingMax below two batches' items: the second sends a window at a time, reading its slab long after it started, while a third starts.
  const store = await openTemp(t, { conflicts: 'lww', replication: { n: 3, r: 2, w: 2 }, pendingMax: 2000, timeoutMs: 60_000 });
  for (let round = 0; round < 3; round++) {
    const batches = [0, 1, 2].map((batch) => Array.from({ length: 1500 }, (_, i) => [`window:${batch}:${i}`, new Uint8Array(100).fill((i + batch * 50 + round * 101) & 0xff)] as const));
    const first = store.putMany(batches[0]!);
    const second = store.putMany(batches[1]!);
    await first;
    await Promise.all([second, store.putMany(batches[2]!)]);
    for (const entries of batches) {
      const read = await store.getMany(entries.map(([key]) => key), { r: 3 });
      const wrong = read.filter((result, i) => !(result?.value instanceof Uint8Array) || Buffer.compare(result.value, entries[i]![1]) !== 0).length;
      t.equal(wrong, 0, `round ${round + 1}: every value of a batch on all three replicas, byte for byte`);
    }
  }
});
