/**
 * A hot key's clock stays small: one entry per actor that wrote it, and a
 * node reuses its actor for a key it holds (version/actor.ts), a PUT even
 * while its earlier PUTs of the key still commit (node/pending-mints.ts:
 * it reads its transaction's view, which shows them), and an lww putMany is
 * minted by the coordinator's one writer actor (version/writer-version.ts).
 * So with no node restarted or cut off, every replica's object holds at
 * most one entry per node plus the store's writer: NODES + 1. Real node
 * threads and LMDB, durability 'none'; the key written far faster than its
 * commits. Session s15 broke this without a test noticing (a fresh actor per
 * PUT of a key whose previous PUT was committing: 255 entries, YCSB-B 4x
 * slower): this fails so (checked by making every mint's mark unseen).
 *
 * A 'siblings' putMany's blind item of a key whose previous mint is not
 * stored on the minting node yet (MINT_ONLY reads committed storage) chains
 * on that mint's actor (replica.ts chainedBlindMint); with a fresh actor per
 * such item it reached 255 entries. The key is stored before the putMany
 * calls: the first mints of a key new on its node still take a fresh actor
 * each (about as many entries as calls in flight until one is stored).
 */
import t from 'tap';
import type { Store } from '../lib/index.js';
import { openTemp } from './helpers/temp-store.js';
import { storedAt } from './helpers/replica-objects.js';

const NODES = 4;
/** One actor per node, and the coordinator's writer actor (lww putMany). */
const ENTRIES_BOUND = NODES + 1;

async function entriesOnReplicas(store: Store, key: string): Promise<number[]> {
  const counts: number[] = [];
  for (const node of store.preferenceList(key)) counts.push((await storedAt(store, node, key))?.entries.length ?? 0);
  return counts;
}

/** `total` calls of `write`, `inFlight` at a time. */
async function hammer(total: number, inFlight: number, write: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < total) await write(next++);
  }));
}

for (const conflicts of ['siblings', 'lww'] as const) {
  t.test(`${conflicts}: puts of one hot key, many in flight`, async (t) => {
    const store = await openTemp(t, { nodes: NODES, replication: { n: 3, r: 2, w: 2 }, conflicts });
    await hammer(3000, 64, (i) => store.put('hot', i));
    const counts = await entriesOnReplicas(store, 'hot');
    t.ok(counts.every((count) => count >= 1 && count <= ENTRIES_BOUND), `entries on each replica (${counts.join(', ')}) at most ${ENTRIES_BOUND}`);
  });
  t.test(`${conflicts}: putMany of one hot key, many in flight`, async (t) => {
    const store = await openTemp(t, { nodes: NODES, replication: { n: 3, r: 2, w: 2 }, conflicts });
    // Stored first: the mints of a key new on its node take fresh actors (replica.ts chainedBlindMint says why).
    await store.put('hot', -1, { w: 3 });
    await hammer(1000, 32, (i) => store.putMany([['hot', i], [`cold:${i}`, i]]));
    const counts = await entriesOnReplicas(store, 'hot');
    t.ok(counts.every((count) => count >= 1 && count <= ENTRIES_BOUND), `entries on each replica (${counts.join(', ')}) at most ${ENTRIES_BOUND}`);
  });
}
