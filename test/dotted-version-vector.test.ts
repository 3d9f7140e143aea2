import { AssertionError } from 'node:assert';
import t from 'tap';
import { uint32Source } from '../lib/prng.js';

import { Packr } from 'msgpackr';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import {
  EMPTY_OBJECT,
  assertWellFormed,
  descends,
  equal,
  join,
  joinContexts,
  lastWriterWins,
  siblingsOf,
  sync,
  truncate,
  CLOCK_ENTRIES_BOUND,
  CLOCK_ENTRY_YOUNG_MS,
  update,
  boundedForStorage,
  type CausalContext,
  type Sibling,
  type VersionedObject,
} from '../lib/version/dotted-version-vector.js';
import { CONTEXT_CHARS_MAX, CONTEXT_COUNTER_MAX, CONTEXT_ENTRIES_MAX, SyncOrder, decodeContext, decodeObject, encodeContext, encodeObject, joinOfBytes, syncOrderAt } from '../lib/version/object-codec.js';

/** Uniform floats in [0, 1) from the project's seeded PRNG. */
function unitSource(seed: number): () => number {
  const next = uint32Source(seed);
  return () => next() / 4294967296;
}

// ---------------------------------------------------------------- helpers


function sibling(name: string, timestampMs = 0, extra: Partial<Sibling> = {}): Sibling {
  return { value: new TextEncoder().encode(name), timestampMs, expiresAtMs: 0, tombstone: false, ...extra };
}

function names(obj: VersionedObject): string[] {
  return siblingsOf(obj)
    .map((s) => new TextDecoder().decode(s.value))
    .sort();
}

/** Everything about an object, as one comparable line. */
function describe(obj: VersionedObject): string {
  return obj.entries
    .map((entry) => {
      const siblings = entry.siblings.map(
        (s) => `${Buffer.from(s.value).toString('hex')}/${s.timestampMs}/${s.expiresAtMs}/${s.tombstone ? 'T' : 'V'}`,
      );
      return `${entry.actor}:${entry.counter}@${entry.timestampMs}${entry.contextOnly === true ? '~' : ''}[${siblings.join(',')}]`;
    })
    .join(' ');
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function covers(context: CausalContext, actor: number, counter: number): boolean {
  return context.some(([a, c]) => a === actor && c >= counter);
}

// ---------------------------------------------------------------- scenarios

t.test('a put with the context of a read supersedes every sibling', async (t) => {
  let obj = update(undefined, [], sibling('a', 1), 1);
  obj = update(obj, [], sibling('b', 2), 1); // blind write: a and b are siblings
  obj = update(obj, [], sibling('c', 3), 2);
  t.same(names(obj), ['a', 'b', 'c']);

  const written = update(obj, join(obj), sibling('d', 4), 3);
  t.same(names(written), ['d']);
  t.ok(descends(written, obj));
  t.notOk(descends(obj, written));
  assertWellFormed(written);
});

t.test('two puts with the same stale context through one node both survive', async (t) => {
  // Server-id vector clocks lose one of these: both writes get the same
  // clock {1: 2}. DVVSet gives each its own dot.
  const first = update(undefined, [], sibling('v1', 1), 1);
  const stale = join(first);
  const second = update(first, stale, sibling('v2', 2), 1);
  const third = update(second, stale, sibling('v3', 3), 1);
  t.same(names(third), ['v2', 'v3'], 'v1 was seen by both writers, v2 and v3 were not seen by each other');
  t.same(join(third), [[1, 3]]);

  // A client that read both resolves them.
  const resolved = update(third, join(third), sibling('v4', 4), 1);
  t.same(names(resolved), ['v4']);
});

t.test('writes through different nodes on one context are concurrent', async (t) => {
  const base = update(undefined, [], sibling('base', 1), 1);
  const context = join(base);
  const viaTwo = update(base, context, sibling('x', 2), 2);
  const viaThree = update(base, context, sibling('y', 3), 3);
  t.notOk(descends(viaTwo, viaThree));
  t.notOk(descends(viaThree, viaTwo));
  t.notOk(equal(viaTwo, viaThree));

  const merged = sync(viaTwo, viaThree);
  t.same(names(merged), ['x', 'y']);
  t.ok(descends(merged, viaTwo) && descends(merged, viaThree));
  t.same(describe(merged), describe(sync(viaThree, viaTwo)));
});

t.test('a context learnt from another replica covers values this replica never saw', async (t) => {
  const atOne = update(undefined, [], sibling('a', 1), 1);
  const atTwo = update(undefined, [], sibling('b', 2), 2);
  // The client read only node 1, then writes through node 2.
  const written = update(atTwo, join(atOne), sibling('c', 3), 2);
  t.same(names(written), ['b', 'c'], 'b was not in the context, so it survives');
  t.same(names(sync(written, atOne)), ['b', 'c'], 'a is discarded on sync because the writer had seen it');
  t.same(names(sync(atOne, written)), ['b', 'c']);
});

t.test('update takes the counter from the context when it is ahead', async (t) => {
  const written = update(undefined, [[1, 5], [4, 2]], sibling('a', 7), 1);
  t.same(join(written), [[1, 6], [4, 2]]);
  t.equal(written.entries[0]!.timestampMs, 7);
  // Was 0 ("no known time"), and truncation then dropped such entries first however recent:
  // now dated at the write, which the context's events happened before (update's comment).
  t.equal(written.entries[1]!.timestampMs, 7, 'an actor known only from the context is dated at the write that learnt it');
  t.same(join(update(undefined, [[2, 0]], sibling('a'), 1)), [[1, 1]], 'zero counters add no entry');
  // A counter the context raises is dated at the write too; an entry it does not name keeps its time.
  const local = update(update(undefined, [], sibling('x', 3), 4), [], sibling('y', 4), 2);
  const raised = update(local, [[2, 5]], sibling('b', 9), 1);
  t.same(raised.entries.map((entry) => [entry.actor, entry.counter, entry.timestampMs]), [[1, 1, 9], [2, 5, 9], [4, 1, 3]]);
});

t.test('an entry whose values a write supersedes is dated at the write, one it leaves alone keeps its time', async (t) => {
  const local = update(update(undefined, [], sibling('x', 3), 4), [], sibling('y', 4), 2);
  const written = update(local, [[4, 1]], sibling('b', 9), 1);
  t.same(written.entries.map((entry) => [entry.actor, entry.counter, entry.timestampMs, entry.siblings.length]), [[1, 1, 9, 1], [2, 1, 4, 1], [4, 1, 9, 0]]);
});

t.test('boundedForStorage truncates a merge past CLOCK_ENTRIES_BOUND to it, keeping every value, or gives up when values alone pass it', async (t) => {
  const bare = (from: number, count: number, timestampMs: number): VersionedObject['entries'] =>
    Array.from({ length: count }, (_, i) => ({ actor: from + i, counter: 1, timestampMs: timestampMs + i, siblings: [] }));
  const valued = (from: number, count: number): VersionedObject['entries'] =>
    Array.from({ length: count }, (_, i) => ({ actor: from + i, counter: 1, timestampMs: 5_000, siblings: [sibling(`v${from + i}`, 5_000)] }));
  const one: VersionedObject = { entries: [...valued(1, 1), ...bare(1000, 200, 100)] };
  const two: VersionedObject = { entries: [...valued(2, 1), ...bare(2000, 200, 1_000)] };
  t.equal(boundedForStorage(one), one, 'within the bound: itself');
  const merged = sync(one, two);
  t.equal(merged.entries.length, 402);
  t.throws(() => encodeObject(merged), AssertionError, 'the merge does not encode');
  const bounded = boundedForStorage(merged)!;
  t.equal(bounded.entries.length, CLOCK_ENTRIES_BOUND);
  t.same(names(bounded), ['v1', 'v2'], 'every value kept');
  t.ok(bounded.entries.every((entry) => entry.actor < 1000 || entry.actor >= 1053), 'the 147 stalest entries without values went');
  t.same(decodeObject(encodeObject(bounded)), bounded);
  const full = sync({ entries: valued(1000, 200) }, { entries: valued(2000, 200) });
  t.equal(boundedForStorage(full), undefined, '400 entries holding values: nothing one object can hold');
});

t.test('truncation keeps what a write learnt from its context as long as the write itself', async (t) => {
  // A hot key's clock: actors 1..12 each wrote long ago; a client read actors 20..29 (the
  // newest writers, whose values reached this replica only through the client's context) and
  // writes through actor 30 at 100 s. Truncation to 10 entries must keep those 10 context
  // entries (written within CLOCK_ENTRY_YOUNG_MS) and drop the old ones: when they went first,
  // a superseded value of actor 20..29 still on its way came back as a sibling.
  let local: VersionedObject = EMPTY_OBJECT;
  for (let actor = 1; actor <= 12; actor++) local = update(local, join(local), sibling(`old${actor}`, actor), actor);
  const context: CausalContext = [...join(local), ...Array.from({ length: 10 }, (_, i) => [20 + i, 1] as const)];
  const written = truncate(update(local, context, sibling('new', 100_000), 30), 10, CLOCK_ENTRY_YOUNG_MS);
  // Actor 12's value, superseded by this write, dates its entry at the write too.
  t.same(written.entries.map((entry) => entry.actor), [12, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  const lateCopy = update(undefined, [], sibling('superseded', 99_000), 25);
  t.same(names(sync(written, lateCopy)), ['new'], 'the superseded value does not come back');
});

t.test('descends and equal order clocks', async (t) => {
  const one = update(undefined, [], sibling('a'), 1);
  const two = update(one, join(one), sibling('b'), 1);
  const other = update(undefined, [], sibling('c'), 2);
  t.ok(descends(one, EMPTY_OBJECT));
  t.ok(descends(EMPTY_OBJECT, EMPTY_OBJECT));
  t.notOk(descends(EMPTY_OBJECT, one));
  t.ok(descends(two, one));
  t.notOk(descends(one, two));
  t.ok(descends(one, one));
  t.notOk(descends(one, other));
  t.notOk(descends(other, one));
  t.ok(equal(one, one));
  t.ok(equal(EMPTY_OBJECT, { entries: [] }));
  t.notOk(equal(one, two));
  t.notOk(equal(one, other));
  // Equal compares history, not values: a resolved copy equals its source.
  t.ok(equal(lastWriterWins(sync(one, other)), sync(one, other)));
});

t.test('sync returns its first argument when the second adds nothing', async (t) => {
  const one = update(undefined, [], sibling('a'), 1);
  const two = update(one, [], sibling('b'), 2);
  t.equal(sync(two, one), two);
  t.equal(sync(two, EMPTY_OBJECT), two);
  t.not(sync(one, two), one);
});

t.test('lastWriterWins keeps the newest value and the whole clock', async (t) => {
  let obj = update(undefined, [], sibling('old', 10), 1);
  obj = update(obj, [], sibling('newest', 30), 1);
  obj = update(obj, [], sibling('older', 5), 1);
  obj = update(obj, [], sibling('mid', 20), 2);
  const resolved = lastWriterWins(obj);
  t.same(names(resolved), ['newest']);
  t.ok(descends(resolved, obj) && descends(obj, resolved) && equal(resolved, obj));
  t.same(join(resolved), join(obj));
  t.same(resolved.entries[0]!.siblings.length, 1, 'the winner is the newest value of its entry');
  t.same(resolved.entries[1]!.siblings.length, 0);
  assertWellFormed(resolved);
  t.equal(lastWriterWins(resolved), resolved, 'already resolved');
  t.equal(lastWriterWins(EMPTY_OBJECT), EMPTY_OBJECT);
});

t.test('lastWriterWins breaks timestamp ties by actor, then counter', async (t) => {
  const byActor = sync(update(undefined, [], sibling('low', 9), 1), update(undefined, [], sibling('high', 9), 7));
  t.same(names(lastWriterWins(byActor)), ['high']);
  let byCounter = update(undefined, [], sibling('first', 9), 4);
  byCounter = update(byCounter, [], sibling('second', 9), 4);
  byCounter = update(byCounter, [], sibling('third', 8), 4);
  t.same(names(lastWriterWins(byCounter)), ['second']);
});

t.test("truncate keeps entries younger than youngMs of the clock's newest (Riak's young_vclock), up to CLOCK_ENTRIES_BOUND", async (t) => {
  // Actors 1..6 stamped 1,000..6,000 ms; only actor 6 holds a value. (Built by hand: a chain of
  // update()s would date each superseded entry at the write that superseded it.)
  const obj: VersionedObject = {
    entries: [1, 2, 3, 4, 5, 6].map((actor) => ({ actor, counter: 1, timestampMs: actor * 1000, siblings: actor === 6 ? [sibling('v6', 6000)] : [] })),
  };
  t.same(truncate(obj, 2, 10_000), obj, 'every entry within 10 s of the newest: none dropped');
  t.same(truncate(obj, 2, 3500).entries.map((e) => e.actor), [3, 4, 5, 6], 'only entries 3.5 s or more older than the newest (1 and 2) go, though the bound is 2');
  t.same(truncate(obj, 4, 0).entries.map((e) => e.actor), [3, 4, 5, 6], 'no age guard: the count bound alone');
  t.same(truncate(obj, 5, 3500).entries.map((e) => e.actor), [2, 3, 4, 5, 6], 'no more than the excess');
  // Past the codec's bound the age is not asked: the oldest go first, values stay.
  let wide: VersionedObject = EMPTY_OBJECT;
  for (let actor = 1; actor <= CLOCK_ENTRIES_BOUND + 7; actor++) wide = update(wide, join(wide), sibling(`v${actor}`, 1_000_000 + actor), actor);
  const bounded = truncate(wide, 10, CLOCK_ENTRY_YOUNG_MS);
  t.equal(bounded.entries.length, CLOCK_ENTRIES_BOUND);
  t.equal(bounded.entries[0]!.actor, 8, 'the seven oldest dropped');
  t.same(names(bounded), names(wide));
  t.ok(descends(wide, bounded));
  assertWellFormed(bounded);
  t.throws(() => truncate(obj, 2, -1), AssertionError);
});

t.test('truncate bounds the clock and never drops a value', async (t) => {
  let obj: VersionedObject = EMPTY_OBJECT;
  for (let actor = 1; actor <= 6; actor++) obj = update(obj, join(obj), sibling(`v${actor}`, actor * 10), actor);
  // Only v6 survives; actors 1..5 are value-less entries stamped 10..50.
  obj = update(obj, [], sibling('w', 5), 3); // actor 3 now holds a value and is stamped 5
  t.same(names(obj), ['v6', 'w']);

  const truncated = truncate(obj, 3);
  t.same(
    truncated.entries.map((e) => e.actor),
    [3, 5, 6],
    'the oldest value-less entries go first',
  );
  t.same(names(truncated), names(obj));
  t.ok(descends(obj, truncated));
  assertWellFormed(truncated);

  const floor = truncate(obj, 0);
  t.same(
    floor.entries.map((e) => e.actor),
    [3, 6],
    'entries holding values stay even past the bound',
  );
  t.same(names(floor), names(obj));
  t.equal(truncate(obj, 6), obj);
  t.throws(() => truncate(obj, -1), AssertionError);
});

// ---------------------------------------------------------------- simulation

interface Written {
  readonly name: string;
  readonly actor: number;
  readonly counter: number;
  covered: boolean;
}

const REPLICAS = 3;
const CASES = 300;

/**
 * Three replicas, each also a coordinator (actor = its index + 1), take
 * random writes with contexts from fresh, stale, empty and full reads, and
 * random one-way syncs. A value may disappear only after some write's
 * context covered its dot.
 */
function simulate(seed: number, check: (message: string, ok: boolean) => void): VersionedObject[] {
  const random = unitSource(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const replicas: VersionedObject[] = Array.from({ length: REPLICAS }, () => EMPTY_OBJECT);
  const contexts: CausalContext[] = [[]];
  const written: Written[] = [];
  const stepsMax = 10 + pick(40);
  for (let step = 0; step < stepsMax; step++) {
    if (random() < 0.55) {
      const coordinator = pick(REPLICAS);
      const context = chooseContext(random, pick, replicas, contexts);
      contexts.push(context);
      for (const w of written) if (covers(context, w.actor, w.counter)) w.covered = true;
      const name = `s${seed}.${step}`;
      const timestampMs = step * 10 + pick(25); // ties and reordering on purpose
      const next = update(replicas[coordinator], context, sibling(name, timestampMs), coordinator + 1);
      const entry = next.entries.find((e) => e.actor === coordinator + 1)!;
      check('the new value is the newest of its entry', new TextDecoder().decode(entry.siblings[0]!.value) === name);
      written.push({ name, actor: entry.actor, counter: entry.counter, covered: false });
      replicas[coordinator] = next;
    } else {
      const source = pick(REPLICAS);
      const target = pick(REPLICAS);
      replicas[target] = sync(replicas[target]!, replicas[source]!);
    }
    checkNothingLost(replicas, written, check);
  }
  const total = replicas.reduce(sync, EMPTY_OBJECT);
  const expected = written.filter((w) => !w.covered).map((w) => w.name).sort();
  check('the fully synced state holds exactly the uncovered values', names(total).join() === expected.join());
  return replicas;
}

function chooseContext(
  random: () => number,
  pick: (n: number) => number,
  replicas: VersionedObject[],
  contexts: CausalContext[],
): CausalContext {
  const r = random();
  if (r < 0.4) return join(replicas[pick(REPLICAS)]!); // read one replica
  if (r < 0.6) return contexts[pick(contexts.length)]!; // a stale read
  if (r < 0.8) return []; // a blind write
  return join(replicas.reduce(sync, EMPTY_OBJECT)); // read all
}

function checkNothingLost(replicas: VersionedObject[], written: Written[], check: (m: string, ok: boolean) => void): void {
  const present = new Set(replicas.flatMap(names));
  for (const w of written) {
    if (!w.covered && !present.has(w.name)) check(`${w.name} was lost without being covered`, false);
  }
  for (const replica of replicas) assertWellFormed(replica);
}

function checkAlgebra(a: VersionedObject, b: VersionedObject, c: VersionedObject, check: (m: string, ok: boolean) => void): void {
  const ab = sync(a, b);
  check('commutative', describe(ab) === describe(sync(b, a)));
  check('associative', describe(sync(ab, c)) === describe(sync(a, sync(b, c))));
  check('idempotent', describe(sync(a, a)) === describe(a) && describe(sync(ab, b)) === describe(ab));
  check('sync descends both', descends(ab, a) && descends(ab, b));
  if (descends(a, b)) check('a descendant absorbs its ancestor', equal(ab, a) && names(ab).join() === names(a).join());
  check('equal is descends both ways', equal(a, b) === (descends(a, b) && descends(b, a)));
}

t.test('randomized histories: sync is a join and never loses a value', async (t) => {
  let failures = 0;
  for (let seed = 1; seed <= CASES; seed++) {
    const check = (message: string, ok: boolean): void => {
      if (ok || failures > 5) return;
      failures++;
      t.fail(`seed=${seed}: ${message}`);
    };
    const [a, b, c] = simulate(seed, check) as [VersionedObject, VersionedObject, VersionedObject];
    checkAlgebra(a, b, c, check);
    checkAlgebra(c, a, b, check);
    checkResolution(a, b, check);
  }
  t.equal(failures, 0);
});

function checkResolution(a: VersionedObject, b: VersionedObject, check: (m: string, ok: boolean) => void): void {
  const merged = sync(a, b);
  const resolved = lastWriterWins(merged);
  const all = siblingsOf(merged);
  check('lww keeps at most one value', siblingsOf(resolved).length === Math.min(1, all.length));
  const maxMs = Math.max(-1, ...all.map((s) => s.timestampMs));
  check('lww keeps a newest value', all.length === 0 || siblingsOf(resolved)[0]!.timestampMs === maxMs);
  check('lww keeps the clock', equal(resolved, merged) && descends(resolved, merged));
  check('lww is independent of sync order', describe(resolved) === describe(lastWriterWins(sync(b, a))));
  for (let entriesMax = 0; entriesMax <= REPLICAS; entriesMax++) {
    const truncated = truncate(merged, entriesMax);
    const holding = merged.entries.filter((e) => e.siblings.length > 0).length;
    check('truncate bound', truncated.entries.length <= Math.max(entriesMax, holding));
    check('truncate keeps values', describe({ entries: truncated.entries.filter((e) => e.siblings.length) }) ===
      describe({ entries: merged.entries.filter((e) => e.siblings.length) }));
    check('truncate keeps values', names(truncated).join() === names(merged).join());
  }
}

// ---------------------------------------------------------------- codec

t.test('objects round trip through the codec exactly', async (t) => {
  const samples: VersionedObject[] = [EMPTY_OBJECT];
  let obj = update(undefined, [], sibling('', 1_700_000_000_123, { expiresAtMs: 1_700_000_060_000 }), 0);
  obj = update(obj, [[9, 4]], sibling('gone', 1_700_000_000_456, { tombstone: true, value: new Uint8Array(0) }), 2 ** 40);
  samples.push(obj);
  for (let seed = 1000; seed < 1050; seed++) samples.push(simulate(seed, () => {}).reduce(sync, EMPTY_OBJECT));
  for (const sample of samples) {
    const bytes = encodeObject(sample);
    const decoded = decodeObject(bytes);
    t.equal(describe(decoded), describe(sample));
    t.same(Buffer.from(encodeObject(decoded)), Buffer.from(bytes), 'encoding is deterministic');
    for (const s of siblingsOf(decoded)) t.ok(s.value instanceof Uint8Array);
  }
  t.same(decodeObject(encodeObject(obj)).entries[2]!.siblings[0]!.tombstone, true);
});

t.test('decodeObject asserts on corrupt bytes', async (t) => {
  const packr = new Packr({ useRecords: false });
  const good = encodeObject(update(undefined, [], sibling('a', 1), 1));
  const corrupt: Uint8Array[] = [
    good.subarray(0, good.length - 1),
    new Uint8Array([0xc1]),
    packr.pack({ entries: [] }),
    packr.pack([[1, 1, 0]]),
    packr.pack([[1, 1, 0, [['a', 1, 0, 0]]]]), // value not bytes
    packr.pack([[1, 1, 0, [[new Uint8Array(1), 1, 0, 2]]]]), // tombstone not 0/1
    packr.pack([[2, 1, 0, []], [1, 1, 0, []]]), // unsorted
    packr.pack([[1, 0, 0, []]]), // counter 0
    packr.pack([[1, 1, 0, [[new Uint8Array(1), 1, 0, 0], [new Uint8Array(1), 1, 0, 0]]]]), // more values than events
    packr.pack([[-1, 1, 0, []]]),
    packr.pack([[1, 1, -5, []]]),
  ];
  for (const bytes of corrupt) t.throws(() => decodeObject(bytes), AssertionError, Buffer.from(bytes).toString('hex'));
});

t.test("joinOfBytes reads the join decodeObject's object has, and refuses what decodeObject refuses of the layout", async (t) => {
  const samples: VersionedObject[] = [EMPTY_OBJECT];
  samples.push(update(update(undefined, [], sibling('', 1_700_000_000_123), 0), [[9, 4]], sibling('gone', 1_700_000_000_456, { tombstone: true, value: new Uint8Array(0) }), 2 ** 40));
  for (let seed = 2000; seed < 2100; seed++) samples.push(...simulate(seed, () => {}));
  for (const sample of samples) {
    const bytes = encodeObject(sample);
    t.same(joinOfBytes(bytes), join(decodeObject(bytes)), describe(sample));
    // Inside a larger buffer, as a put's answer arrives.
    const inside = new Uint8Array(bytes.byteLength + 16).fill(0xee);
    inside.set(bytes, 8);
    t.same(joinOfBytes(inside.subarray(8, 8 + bytes.byteLength)), join(sample));
  }
  const good = encodeObject(update(update(undefined, [], sibling('a', 1), 1), [], sibling('b', 2), 2));
  const flagged = Uint8Array.from(good);
  flagged[2 + 32 + 20] = 7;
  for (const bytes of [good.subarray(0, good.length - 1), good.subarray(0, 40), new Uint8Array([0xc1]), Uint8Array.from([...good, 0]), flagged]) {
    t.throws(() => decodeObject(bytes), AssertionError);
    t.throws(() => joinOfBytes(bytes), AssertionError, Buffer.from(bytes).toString('hex'));
  }
});

t.test("syncOrderAt says from the bytes whether sync keeps one of two objects whole and the other's clock is behind", async (t) => {
  // Every pair of replicas of randomized histories, plus each replica against its state a few steps earlier (one behind the other).
  const pairs: [VersionedObject, VersionedObject][] = [];
  for (let seed = 3000; seed < 3200; seed++) {
    const replicas = simulate(seed, () => {});
    for (const a of replicas) for (const b of replicas) pairs.push([a, b]);
    const later = replicas.map((replica, i) => update(replica, i === 0 ? join(replica) : [], sibling(`later${seed}`, 5000 + seed), i + 1));
    for (let i = 0; i < REPLICAS; i++) pairs.push([replicas[i]!, later[i]!], [later[i]!, replicas[i]!], [later[i]!, sync(replicas[i]!, replicas[(i + 1) % REPLICAS]!)]);
  }
  const seen = new Set<number>();
  let wrong = 0;
  for (const [a, b] of pairs) {
    const bytesA = encodeObject(a);
    const bytesB = encodeObject(b);
    // Inside larger buffers, as lmdb-js's read buffer and the held scratch hold them.
    const inside = new Uint8Array(bytesA.byteLength + bytesB.byteLength + 24).fill(0xee);
    inside.set(bytesA, 8);
    inside.set(bytesB, 16 + bytesA.byteLength);
    const view = new DataView(inside.buffer);
    const order = syncOrderAt(view, 8, bytesA.byteLength, view, 16 + bytesA.byteLength, bytesB.byteLength);
    // The oracle: sync's own identity rule ("returns a itself") on the decoded objects, and equal() for the clocks.
    const decodedA = decodeObject(bytesA);
    const decodedB = decodeObject(bytesB);
    const expected = equal(decodedA, decodedB) ? SyncOrder.NEITHER : sync(decodedA, decodedB) === decodedA ? SyncOrder.FIRST : sync(decodedB, decodedA) === decodedB ? SyncOrder.SECOND : SyncOrder.NEITHER;
    seen.add(expected);
    if (order !== expected && wrong++ < 5) t.fail(`syncOrderAt ${order}, expected ${expected}: ${describe(a)} / ${describe(b)}`);
  }
  t.equal(wrong, 0, `${pairs.length} pairs`);
  t.same([...seen].sort(), [SyncOrder.NEITHER, SyncOrder.FIRST, SyncOrder.SECOND], 'every outcome occurs');
  // What decodeObject refuses is NEITHER, never a merge read from bad bytes.
  const good = encodeObject(update(update(undefined, [], sibling('a', 1), 1), [], sibling('b', 2), 2));
  const older = encodeObject(update(undefined, [], sibling('a', 1), 1));
  const flagged = Uint8Array.from(good);
  flagged[1] = 9;
  for (const bytes of [good.subarray(0, good.length - 1), good.subarray(0, 40), new Uint8Array([0xc1]), Uint8Array.from([...good, 0]), flagged]) {
    t.equal(syncOrderAt(new DataView(bytes.buffer, bytes.byteOffset), 0, bytes.byteLength, new DataView(older.buffer), 0, older.byteLength), SyncOrder.NEITHER, Buffer.from(bytes).toString('hex'));
  }
  t.equal(syncOrderAt(new DataView(good.buffer), 0, good.byteLength, new DataView(older.buffer), 0, older.byteLength), SyncOrder.FIRST, 'the well-formed pair: the second is behind');
});

t.test("a context may name CONTEXT_ENTRIES_MAX actors (a read's merge of replicas), of the largest numbers, within CONTEXT_CHARS_MAX", async (t) => {
  const widest: CausalContext = Array.from({ length: CONTEXT_ENTRIES_MAX }, (_, i) => [Number.MAX_SAFE_INTEGER - CONTEXT_ENTRIES_MAX + i, CONTEXT_COUNTER_MAX] as const);
  const text = encodeContext(widest);
  t.ok(text.length <= CONTEXT_CHARS_MAX, `${text.length} chars`);
  t.same(decodeContext(text), widest);
  t.ok(CONTEXT_ENTRIES_MAX > 2 * CLOCK_ENTRIES_BOUND, 'more than the merge of two full objects');
  const over = Array.from({ length: CONTEXT_ENTRIES_MAX + 1 }, (_, i) => [i, 1] as const);
  t.throws(() => decodeContext(encodeContext(over)), { code: ErrorCode.INVALID_CONTEXT });
});

t.test('contexts round trip and garbage is rejected', async (t) => {
  const contexts: CausalContext[] = [[], [[0, 0]], [[1, 3], [2, 1], [2 ** 40, 2 ** 52]]];
  for (const context of contexts) {
    const text = encodeContext(context);
    t.match(text, /^[A-Za-z0-9_-]+$/);
    t.same(decodeContext(text), context);
  }
  const packr = new Packr({ useRecords: false });
  const encode = (value: unknown): string => packr.pack(value).toString('base64url');
  const garbage = [
    '',
    '!!!!',
    'kA==',
    'k',
    'a'.repeat(70_000),
    encode('hello'),
    encode({ 1: 2 }),
    encode([[1]]),
    encode([[1, 2, 3]]),
    encode([[-1, 2]]),
    encode([[1, -2]]),
    encode([[1.5, 2]]),
    encode([[1, 2 ** 60]]),
    encode([[1, 2n ** 63n]]),
    encode([['1', 2]]),
    encode([[2, 1], [1, 1]]),
    encode([[1, 1], [1, 2]]),
    encode([]) + 'AAAA', // trailing bytes
    Buffer.from([0xdc, 0xff]).toString('base64url'), // truncated
  ];
  for (const text of garbage) {
    const error = thrownBy(() => decodeContext(text));
    t.ok(error instanceof RingtableError && error.code === ErrorCode.INVALID_CONTEXT, JSON.stringify(text.slice(0, 40)));
  }
  t.throws(() => decodeContext(undefined as unknown as string), { code: 'ERR_INVALID_CONTEXT' });
});

t.test('joinContexts: every actor of either context at the higher counter, sorted (the chained mint of replica.ts)', async (t) => {
  const next = uint32Source(7);
  for (let round = 0; round < 300; round++) {
    const contextOf = (): CausalContext => {
      const counters = new Map<number, number>();
      const size = next() % 6;
      for (let i = 0; i < size; i++) counters.set(next() % 8, 1 + (next() % 5));
      return [...counters].sort((x, y) => x[0] - y[0]);
    };
    const a = contextOf();
    const b = contextOf();
    const expected = new Map<number, number>(a);
    for (const [actor, counter] of b) expected.set(actor, Math.max(counter, expected.get(actor) ?? 0));
    const joined = joinContexts(a, b);
    if (!isSameContext(joined, [...expected].sort((x, y) => x[0] - y[0]))) {
      t.fail(`joinContexts(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${JSON.stringify(joined)}`);
      return;
    }
  }
  t.pass('300 random pairs');
  t.same(joinContexts([], []), [], 'two empty contexts');
});

function isSameContext(x: CausalContext, y: CausalContext): boolean {
  return x.length === y.length && x.every(([actor, counter], i) => actor === y[i]![0] && counter === y[i]![1]);
}
