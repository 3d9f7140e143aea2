/**
 * A getMany of R = 1 whose batch waits for a later macrotask (past
 * BATCH_READS_IN_PLACE_PER_TURN_MAX reads in place in one turn) holds the
 * keys it still has to read in a copy of its own (operations.ts OwnedKeys:
 * the binary keys' bytes in one buffer, string keys as they are): the caller
 * may change its array and its buffers once the call returned.
 */
import t, { type Test } from 'tap';
import { BATCH_READS_IN_PLACE_PER_TURN_MAX } from '../lib/store/direct-reads.js';
import { openTemp } from './helpers/temp-store.js';
import type { Store } from '../lib/index.js';

const KEYS = 20_000;

function keyOf(i: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(12, i);
  key[0] = 1 + (i % 200);
  return key;
}

async function filledStore(t: Test): Promise<{ store: Store; keys: Uint8Array[] }> {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 }, timeoutMs: 60_000 });
  const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
  await store.putMany(keys.map((key, i) => [key, new Uint8Array(100).fill(i & 0xff)] as const));
  return { store, keys };
}

t.test('a batch waiting for a later macrotask holds the keys it has still to read, string and binary, as they were', async (t) => {
  const { store, keys } = await filledStore(t);
  await store.putMany(Array.from({ length: 2_000 }, (_, i) => [`s:${i}`, i] as const));
  // Past a turn's reads in place, so that the rest is read in later turns from the batch's own copy of its keys.
  const count = BATCH_READS_IN_PLACE_PER_TURN_MAX + 4_000;
  const batch: (string | Uint8Array)[] = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? `s:${i % 2_000}` : keys[i % KEYS]!.slice()));
  const expected = batch.map((key) => (typeof key === 'string' ? Number(key.slice(2)) : key[15]! + 256 * key[14]!));
  const reading = store.getMany(batch);
  for (let i = 0; i < batch.length; i++) {
    const key = batch[i]!;
    if (typeof key === 'string') batch[i] = 's:nothing';
    else key.fill(0xee);
  }
  const results = await reading;
  const wrong = results.filter((result, i) => {
    const value = result?.value;
    return value instanceof Uint8Array ? value[0] !== (expected[i]! & 0xff) : value !== expected[i];
  }).length;
  t.equal(wrong, 0, `${count} keys, a third of them strings, answered as they were when getMany was called`);
});
