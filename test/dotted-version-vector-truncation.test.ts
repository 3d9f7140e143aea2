/**
 * The forced truncation to CLOCK_ENTRIES_BOUND (dotted-version-vector.ts
 * `truncate`) against contexts of up to CONTEXT_ENTRIES_MAX actors, pure:
 * the objects a coordinating node and a replica still behind hold, settled
 * as replica.ts settles them (truncate to clockEntriesMax with
 * CLOCK_ENTRY_YOUNG_MS), merged as a replica and a read merge them.
 *
 * Before: the entries a write learns from its context are dated at the
 * write, so a context naming 2,047 actors that no value of the key was ever
 * minted under (a caller can forge one) outlived the key's own entries,
 * which are older, in the forced truncation. The key then forgot that its
 * first value had been superseded, and a replica still holding that value
 * showed it again beside every later write (Dynamo §4.4's false siblings;
 * reliability.test finding 6's one CI failure, v1 beside v6).
 */
import t from 'tap';
import {
  CLOCK_ENTRIES_BOUND,
  CLOCK_ENTRY_YOUNG_MS,
  boundedForStorage,
  join,
  joinContexts,
  sameContextOnly,
  siblingsOf,
  sync,
  truncate,
  update,
  type CausalContext,
  type Sibling,
  type VersionedObject,
} from '../lib/version/dotted-version-vector.js';
import { CONTEXT_ENTRIES_MAX, decodeObject, encodeObject } from '../lib/version/object-codec.js';

/** replica.ts's default clockEntriesMax for a few nodes: max(10, nodes). */
const ENTRIES_MAX = 10;

function sibling(name: string, timestampMs: number): Sibling {
  return { value: new TextEncoder().encode(name), timestampMs, expiresAtMs: 0, tombstone: false };
}

function names(obj: VersionedObject | undefined): string[] {
  return obj === undefined ? [] : siblingsOf(obj).map((s) => new TextDecoder().decode(s.value)).sort();
}

/** What a replica stores after a write or a merge (replica.ts settle, siblings mode). */
function settle(obj: VersionedObject): VersionedObject {
  return truncate(obj, ENTRIES_MAX, CLOCK_ENTRY_YOUNG_MS);
}

/** A replica merging another's object, as a REPLICATE does. */
function merge(local: VersionedObject, incoming: VersionedObject): VersionedObject {
  return settle(sync(local, incoming));
}

/** Actors the key never had: a context a caller made up, `count` pairs from actor `from`, all above the key's real actors. */
function forged(count: number, from = 1_000_000): CausalContext {
  return Array.from({ length: count }, (_, i) => [from + i, 1] as const);
}

// The key's real history, all within CLOCK_ENTRY_YOUNG_MS: v1 minted by actor 10 at 1 s; v2 by actor 20 at
// 2 s with v1's context; `behind`, a replica v2 has not reached yet, still holds v1.
const v1 = settle(update(undefined, [], sibling('v1', 1_000), 10));
const v2 = settle(update(v1, join(v1), sibling('v2', 2_000), 20));
const behind = v1;

t.test('a write whose context names 2,047 forged actors keeps the key\'s own entries: a replica behind does not show a superseded value again', async (t) => {
  // The caller read v2 and wrote v3 with that context plus made-up actors (the most a context may name).
  const context = joinContexts(join(v2), forged(CONTEXT_ENTRIES_MAX - 1));
  const v3 = settle(update(v2, context, sibling('v3', 3_000), 20));
  t.ok(v3.entries.length <= CLOCK_ENTRIES_BOUND, 'within the bound');
  t.ok(v3.entries.some((entry) => entry.actor === 10 && entry.counter === 1), 'the entry that says v1 was superseded is kept');
  t.same(names(merge(behind, v3)), ['v3'], 'the replica behind takes v3 and drops v1');
  t.same(names(boundedForStorage(sync(behind, v3))), ['v3'], 'a read of both replicas answers v3 alone');
  // finding 6's shape: a blind put after it, read from every replica.
  const v4 = settle(update(v3, join(v3), sibling('v4', 4_000), 20));
  t.same(names(boundedForStorage(sync(v4, behind))), ['v4'], 'a blind put after it: v4 alone, not v1 beside it');
  t.same(decodeObject(encodeObject(v3)), v3, 'what the write keeps round trips through the codec');
});

t.test('a context of forged actors alone (no read) keeps the key\'s entries too', async (t) => {
  const v3 = settle(update(v2, forged(CONTEXT_ENTRIES_MAX), sibling('v3', 3_000), 20));
  t.same(names(v3), ['v2', 'v3'], 'v2, which the context did not name, stays beside v3');
  t.same(names(merge(behind, v3)), ['v2', 'v3'], 'the replica behind does not show v1 again');
});

t.test('a replica that holds a concurrent value settles the merge past the bound dropping forged entries, not the key\'s', async (t) => {
  // `behind` also holds z, written through actor 30 at 2.5 s, which the coordinating node has not seen: merging
  // the forged write's object (full to the bound) takes it past the bound, and the replica must drop one entry.
  const z = update(undefined, [], sibling('z', 2_500), 30);
  const holdingZ = merge(behind, z);
  const v3 = settle(update(v2, joinContexts(join(v2), forged(CONTEXT_ENTRIES_MAX - 1)), sibling('v3', 3_000), 20));
  const merged = merge(holdingZ, v3);
  t.ok(merged.entries.length <= CLOCK_ENTRIES_BOUND, 'within the bound');
  t.same(names(merged), ['v3', 'z']);
  t.ok(merged.entries.some((entry) => entry.actor === 10), 'actor 10\'s entry is kept');
  // A copy of v1 still on its way (a REPLICATE that was delayed, a hint) reaches it later.
  t.same(names(merge(merged, v1)), ['v3', 'z'], 'the late copy of v1 is known superseded');
  t.same(names(merge(v1, merged)), ['v3', 'z'], 'and the other way round');
});

t.test('a later write that must take a fresh actor, the clock full of forged entries, drops a forged one', async (t) => {
  const v3 = settle(update(v2, joinContexts(join(v2), forged(CONTEXT_ENTRIES_MAX - 1)), sibling('v3', 3_000), 20));
  t.equal(v3.entries.length, CLOCK_ENTRIES_BOUND, 'full');
  // The coordinating node restarted (its old actor no longer reusable) and writes blind with a fresh actor 21.
  const v4 = settle(update(v3, join(v3), sibling('v4', 4_000), 21));
  t.equal(v4.entries.length, CLOCK_ENTRIES_BOUND);
  t.ok(v4.entries.some((entry) => entry.actor === 10) && v4.entries.some((entry) => entry.actor === 20), 'the key\'s own entries are kept');
  t.same(names(merge(behind, v4)), ['v4']);
});

t.test('truncate past the bound drops the entries only contexts named first, each kind oldest first; below it, age alone', async (t) => {
  // 250 entries of the key's own (old, 1..250 ms) and 10 only contexts named (newer, 1,000.. ms), one holding a value.
  const own = Array.from({ length: 250 }, (_, i) => ({ actor: 100 + i, counter: 1, timestampMs: 1 + i, siblings: i === 0 ? [sibling('kept', 1)] : [] }));
  const named = Array.from({ length: 10 }, (_, i) => ({ actor: 10 + i, counter: 1, timestampMs: 1_000 + i, siblings: [], contextOnly: true }));
  const obj: VersionedObject = { entries: [...named, ...own] };
  const bounded = truncate(obj, ENTRIES_MAX, CLOCK_ENTRY_YOUNG_MS);
  t.equal(bounded.entries.length, CLOCK_ENTRIES_BOUND);
  t.same(bounded.entries.filter((entry) => entry.contextOnly === true).map((entry) => entry.actor), [15, 16, 17, 18, 19], 'the five oldest context-only entries went');
  t.equal(bounded.entries.filter((entry) => entry.contextOnly !== true).length, 250, 'every entry of the key\'s own stays');
  t.same(truncate(obj, CLOCK_ENTRIES_BOUND, 0), bounded, 'the same five at the bound with no age guard');
  t.same(boundedForStorage(obj), bounded, 'boundedForStorage (a read\'s merge, anti-entropy\'s) makes the same choice');
  // Towards entriesMax, below the bound, age alone: the 55 oldest entries without values of the key's own go next.
  const aged = truncate(obj, 200, 0);
  t.same(aged.entries.map((entry) => entry.actor), [15, 16, 17, 18, 19, 100, ...Array.from({ length: 194 }, (_, i) => 156 + i)], 'then the oldest, 100 kept (it holds a value)');
});

t.test('sync: an entry is context-only only when both sides say so; the codec keeps the flag, and reads an old object\'s 0 as the key\'s own', async (t) => {
  const named: VersionedObject = { entries: [{ actor: 5, counter: 2, timestampMs: 7, siblings: [], contextOnly: true }] };
  const ownOlder: VersionedObject = { entries: [{ actor: 5, counter: 1, timestampMs: 3, siblings: [sibling('a', 3)] }] };
  const ownSame: VersionedObject = { entries: [{ actor: 5, counter: 2, timestampMs: 7, siblings: [] }] };
  for (const other of [ownOlder, ownSame]) {
    t.equal(sync(named, other).entries[0]!.contextOnly, undefined, 'the key\'s own on either side: its own');
    t.equal(sync(other, named).entries[0]!.contextOnly, undefined, 'either order');
    t.not(sync(named, other), named, 'a merge that changes only the kind is a new object');
  }
  t.equal(sync(named, named), named);
  t.ok(sameContextOnly(named, named) && !sameContextOnly(named, ownSame), 'sameContextOnly tells the marks of equal clocks apart (replica.ts stores a merge that clears one)');
  t.equal(sync(named, { entries: [{ ...named.entries[0]!, timestampMs: 1 }] }), named, 'both context-only: unchanged');
  const written = update(named, [[9, 4]], sibling('b', 9), 1);
  t.same(written.entries.map((entry) => [entry.actor, entry.contextOnly === true]), [[1, false], [5, true], [9, true]], 'update marks what it learnt from its context alone');
  t.same(update(written, [], sibling('c', 10), 9).entries.map((entry) => [entry.actor, entry.contextOnly === true]), [[1, false], [5, true], [9, false]], 'a value minted under an actor makes it the key\'s own');
  const bytes = encodeObject(written);
  t.same(decodeObject(bytes), written, 'round trip');
  // The entry header's last word: entry 9 (the third) has the flag; clear it, as an object written before the flag.
  const third = 2 + (32 + 24 + 1) + 32 + 28;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  t.equal(view.getUint32(third, true), 1, 'stored in the entry header\'s flags word');
  view.setUint32(third, 0, true);
  t.equal(decodeObject(bytes).entries[2]!.contextOnly, undefined, 'an old object\'s entry reads as the key\'s own');
  view.setUint32(third, 2, true);
  t.throws(() => decodeObject(bytes), 'unknown entry flags are refused');
});
