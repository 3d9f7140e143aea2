/**
 * A context of 2,046 made-up actors (contexts come from callers, and one may
 * name up to CONTEXT_ENTRIES_MAX) does not make the key forget its own clock
 * entries, against real storage-node workers and LMDB. One replica is held
 * behind with the store's fault injection (the copy of v2 to it is dropped),
 * as a replica is whose copies are still on their way, and still holds v1
 * when the forged write reaches it. v2 is minted under another actor than
 * v1, as reliability.test finding 6's v2 is.
 *
 * Before: the forced truncation to 255 entries dropped the oldest entries
 * without values, and the forged ones, dated at the write, are the newest;
 * the entry saying v1 was superseded went, and the replica behind showed v1
 * beside v3, then beside a blind v4 (Dynamo §4.4's false siblings;
 * reliability.test finding 6's one CI failure).
 *
 * And a replica stores a merge that clears an entry's contextOnly mark
 * though the clock stays the same (replica.ts mergeReplica), so that the
 * mark does not stay on a node after the value's own write reached it.
 */
import { Packr } from 'msgpackr';
import t from 'tap';
import { CONTEXT_COUNTER_MAX, CONTEXT_ENTRIES_MAX } from '../lib/version/object-codec.js';
import { type VersionedObject, siblingsOf } from '../lib/version/dotted-version-vector.js';
import { actorOf } from '../lib/version/actor.js';
import { decodeValue, encodeValue } from '../lib/store/value-codec.js';
import { eventually, openTemp } from './helpers/temp-store.js';
import { replicateTo, storedAt } from './helpers/replica-objects.js';

const packr = new Packr({ useRecords: false });
const pairsOf = (context: string) => packr.unpack(Buffer.from(context, 'base64url')) as [number, number][];
const contextOf = (pairs: [number, number][]) => packr.pack(pairs).toString('base64url');

t.test('a replica behind does not show a superseded value again after a write with a context of 2,046 forged actors', async (t) => {
  // No hints (sloppy: false) and no anti-entropy: nothing brings `behind` up but the writes below.
  const timeoutMs = 3_000;
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, sloppy: false, timeoutMs, antiEntropyIntervalMs: 0 });
  const key = 'forged';
  const [, , behind] = store.preferenceList(key) as [number, number, number];
  await store.put(key, 'v1', { w: 3 });
  const [[actor]] = pairsOf((await store.get(key))!.context) as [[number, number]];

  // v2 is minted by another actor than v1 (finding 6's way: a context at the largest counter makes the node take a
  // fresh one), so that v1's entry holds no value after it, and its copy to `behind` is dropped.
  store.faults.drop(behind, 1);
  const context2 = await store.put(key, 'v2', { context: contextOf([[actor, CONTEXT_COUNTER_MAX]]) });
  store.faults.clear(behind);
  t.ok(await eventually(() => store.stats().timeouts > 0, timeoutMs * 10), 'the dropped copy reached its deadline');
  const heldBehind = await storedAt(store, behind, key);
  t.same(heldBehind === undefined ? [] : siblingsOf(heldBehind).map((s) => decodeValue(s.value)), ['v1'], 'the replica behind still holds v1 alone');

  // The caller's context: what it read (v2's), plus actors the key never had, below every real actor (node epochs
  // start far above 2,046, actor.ts), so that none is a node's own.
  const real = pairsOf(context2);
  const madeUp = Array.from({ length: CONTEXT_ENTRIES_MAX - real.length }, (_, i): [number, number] => [i + 1, 1]);
  t.ok(madeUp.at(-1)![0] < real[0]![0], 'the made-up actors are not the key\'s');
  await store.put(key, 'v3', { context: contextOf([...madeUp, ...real]), w: 3 });
  const stored = await storedAt(store, behind, key);
  t.same(stored === undefined ? [] : siblingsOf(stored).map((s) => decodeValue(s.value)), ['v3'], 'the replica behind took v3 and dropped v1');

  // No read in between (its repair would bring the key's entries back): finding 6's blind put, then a read of all.
  await store.put(key, 'v4', { w: 3 });
  t.same((await store.get(key, { r: 3 }))?.siblings, ['v4'], 'a blind put after it: v4 alone, not v1 beside it');
});

t.test('a replica whose entry only a context named learns that a value was minted under it stores that, though its clock stays the same', async (t) => {
  const store = await openTemp(t, { nodes: 3, antiEntropyIntervalMs: 0 });
  const key = 'marked';
  const [node] = store.preferenceList(key) as [number];
  // Actors of a node slot no storage node has (bounds.ts NODE_IDS_MAX), so that none is a node's own.
  const named = actorOf(900, 1);
  const writer = actorOf(900, 2);
  const nowMs = Date.now();
  const value = { value: encodeValue('w', 1 << 20), timestampMs: nowMs, expiresAtMs: 0, tombstone: false };
  const objectWith = (contextOnly: boolean): VersionedObject => ({
    entries: [
      contextOnly ? { actor: named, counter: 3, timestampMs: nowMs, siblings: [], contextOnly } : { actor: named, counter: 3, timestampMs: nowMs, siblings: [] },
      { actor: writer, counter: 1, timestampMs: nowMs, siblings: [value] },
    ],
  });
  // What a coordinating node holds after a write whose context named `named` (its values superseded elsewhere).
  t.equal(await replicateTo(store, node, key, objectWith(true)), 'OK');
  t.equal((await storedAt(store, node, key))?.entries[0]?.contextOnly, true, 'stored marked');
  // The replica that held `named`'s values sends its object: the same clock, the entry the key's own.
  t.equal(await replicateTo(store, node, key, objectWith(false)), 'OK');
  t.equal((await storedAt(store, node, key))?.entries[0]?.contextOnly, undefined, 'stored as the key\'s own: the forced truncation keeps it before made-up actors');
});
