/**
 * Dotted version vector sets (DVVSet): the version of one key.
 *
 * Almeida, Baquero, Gonçalves, Preguiça, Fonte, "Scalable and Accurate
 * Causality Tracking for Eventually Consistent Stores" (DAIS 2014), as
 * implemented in Riak's dvvset.erl. Unlike per-client vector clocks, the
 * actors are the storage nodes that coordinate writes, so a clock has at most
 * one entry per coordinator; and unlike per-server vector clocks, every value
 * keeps its own dot, so two writes through the same node with the same stale
 * context both survive as siblings instead of one silently overwriting the
 * other (the "lost update" of server-id clocks, §2 of the paper).
 *
 * An entry (actor, counter, siblings) says: this replica has seen every event
 * of `actor` up to `counter`, and of those, only the last `siblings.length`
 * are still current; `siblings[k]` carries the dot (actor, counter - k).
 * Every dot at or below `counter - siblings.length` is known to be obsolete.
 *
 * There are no anonymous values (dvvset's second clock component): values
 * are only ever created by `update` on a coordinator, which names itself.
 *
 * Pure: no clocks, no randomness. Objects are immutable and may share
 * entries and sibling arrays with their inputs, so never mutate one.
 */
import assert from 'node:assert';

export interface Sibling {
  /** The user's value, already msgpack-encoded; never re-encoded here. */
  readonly value: Uint8Array;
  /** Coordinator's hybrid logical clock at write time (hybrid-logical-clock.ts: wall-clock milliseconds, a fraction apart within one); decides last-writer-wins. */
  readonly timestampMs: number;
  /** 0 = never expires. */
  readonly expiresAtMs: number;
  /** A delete: kept as a value so that it wins over what it deleted. */
  readonly tombstone: boolean;
}

export interface ClockEntry {
  readonly actor: number;
  readonly counter: number;
  /**
   * When this actor's latest event happened, as far as this clock knows:
   * the time of its newest value, or, for an entry a write learnt from its
   * context (`update`), that write's time (an upper bound: the context was
   * read before it). Objects stored by older builds may hold 0 for the
   * latter. Used only by `truncate` to pick the stalest entry, never for
   * causality.
   */
  readonly timestampMs: number;
  /** Newest first: siblings[k] has the dot (actor, counter - k). */
  readonly siblings: readonly Sibling[];
  /**
   * True when this object knows the actor only from writes' contexts: no
   * value minted under it (a dot holding a value) ever reached the object.
   * Contexts come from callers and may name up to CONTEXT_ENTRIES_MAX actors
   * (object-codec.ts), any they like; `truncate` past CLOCK_ENTRIES_BOUND
   * drops such entries before the key's own (its comment says why). Absent
   * means false: an entry that held a value, and every entry of an object
   * stored before this flag (object-codec.ts stores it in the entry header's
   * reserved word, 0 before), which truncation then takes for the key's own,
   * the safe side. Merged as false when either side is false (a value seen
   * anywhere makes the actor the key's); like timestampMs a hint for
   * truncation only, never causality: read repair and anti-entropy compare
   * clocks, not this. So a coordinating node that learnt an actor from a
   * context keeps it marked while the replicas that held its value clear
   * it, until an object with it cleared reaches that node (the write that
   * minted the value, on its way or handed off: replica.ts stores a merge
   * that clears a mark though it leaves the clock `equal`). Their stored
   * bytes differ meanwhile, and a read in place of R >= 2 of them takes the
   * full path (agreeing-in-place-get.ts: the same clock in other bytes).
   */
  readonly contextOnly?: boolean;
}

export interface VersionedObject {
  /** Sorted by actor ascending, actors distinct, every counter >= 1. */
  readonly entries: readonly ClockEntry[];
}

/** The join of a clock: what a client read, handed back on its next write. */
export type CausalContext = ReadonlyArray<readonly [actor: number, counter: number]>;

const EMPTY_SIBLINGS: readonly Sibling[] = Object.freeze([]);

export const EMPTY_OBJECT: VersionedObject = Object.freeze({ entries: Object.freeze([]) });

/**
 * Merges two replicas' states (dvvset sync/2 and merge/5): per actor the
 * higher counter wins, and a value survives only if neither side knows it to
 * be obsolete. Commutative, associative and idempotent, given that a dot
 * always names the same value everywhere (which `update` guarantees).
 *
 * Returns `a` itself when `b` teaches it nothing, so a storage node can skip
 * the write with `sync(local, incoming) === local`.
 */
export function sync(a: VersionedObject, b: VersionedObject): VersionedObject {
  if (a === b) return a;
  const entriesA = a.entries;
  const entriesB = b.entries;
  const entries: ClockEntry[] = [];
  let sameAsA = true;
  let i = 0;
  let j = 0;
  while (i < entriesA.length && j < entriesB.length) {
    const x = entriesA[i]!;
    const y = entriesB[j]!;
    if (x.actor < y.actor) {
      entries.push(x);
      i++;
    } else if (x.actor > y.actor) {
      entries.push(y);
      sameAsA = false;
      j++;
    } else {
      const merged = mergeEntry(x, y);
      if (merged !== x) sameAsA = false;
      entries.push(merged);
      i++;
      j++;
    }
  }
  for (; i < entriesA.length; i++) entries.push(entriesA[i]!);
  for (; j < entriesB.length; j++) {
    entries.push(entriesB[j]!);
    sameAsA = false;
  }
  return sameAsA ? a : { entries };
}

/** Two views of the same actor's history; keeps what neither knows is obsolete. */
function mergeEntry(x: ClockEntry, y: ClockEntry): ClockEntry {
  assert(x.actor === y.actor);
  if (x.counter !== y.counter) {
    return x.counter > y.counter ? mergeOrdered(x, y) : mergeOrdered(y, x);
  }
  // Same counter, so the same dots: the shorter list has discarded more.
  const shorter = x.siblings.length <= y.siblings.length ? x : y;
  // Max on ties keeps the timestamp commutative (the same events may be dated differently: a context's by its write).
  const timestampMs = Math.max(x.timestampMs, y.timestampMs);
  const contextOnly = x.contextOnly === true && y.contextOnly === true;
  if (shorter.timestampMs === timestampMs && (shorter.contextOnly === true) === contextOnly) return shorter;
  return entryOf(x.actor, x.counter, timestampMs, shorter.siblings, contextOnly);
}

/** `newer.counter > older.counter`: newer has every current dot; older may know more are obsolete. */
function mergeOrdered(newer: ClockEntry, older: ClockEntry): ClockEntry {
  const obsoleteNewer = newer.counter - newer.siblings.length;
  const obsoleteOlder = older.counter - older.siblings.length;
  const contextOnly = newer.contextOnly === true && older.contextOnly === true;
  if (obsoleteNewer >= obsoleteOlder && (newer.contextOnly === true) === contextOnly) return newer;
  const keep = Math.min(newer.siblings.length, newer.counter - obsoleteOlder);
  return entryOf(newer.actor, newer.counter, newer.timestampMs, keep === newer.siblings.length ? newer.siblings : newer.siblings.slice(0, keep), contextOnly);
}

/** An entry; `contextOnly` set only when true, so that most entries keep one shape (the codec's and update's). */
function entryOf(actor: number, counter: number, timestampMs: number, siblings: readonly Sibling[], contextOnly: boolean): ClockEntry {
  return contextOnly ? { actor, counter, timestampMs, siblings, contextOnly } : { actor, counter, timestampMs, siblings };
}

/**
 * A coordinator's write (dvvset update/3 over new/2): every local value the
 * client's `context` covers is discarded, every value it does not cover
 * survives as a sibling, and the new value gets the dot
 * (actor, max(local counter, context counter) + 1).
 *
 * What the write learnt from its context (an actor the local clock lacks, a
 * counter above the local one, values it supersedes) is dated at the write's time,
 * `sibling.timestampMs`, not left unknown (0): truncation drops the
 * stalest entries first, and an entry dated 0 went first however recent its
 * event, and with it the knowledge of what the write superseded; a copy of
 * a superseded value still on its way then came back beside the write as a
 * sibling, an acknowledged overwrite undone (found by the simulation's
 * putMany clients, fixed first on the node's PUT path alone in 6827471).
 * The write's time bounds the event's from above, so such an entry is kept
 * longer than its event's age asks, never shorter. writer-version.ts's
 * mint follows the same rule.
 *
 * `context` must already be validated (see decodeContext); a malformed one
 * here is a programmer error.
 */
export function update(
  local: VersionedObject | undefined,
  context: CausalContext,
  sibling: Sibling,
  actor: number,
): VersionedObject {
  assertActor(actor);
  assertSibling(sibling);
  const entries = discardCovered((local ?? EMPTY_OBJECT).entries, context, sibling.timestampMs);
  addEvent(entries, actor, sibling);
  return { entries };
}

/** sync(local, clock of context with no values): drops the dots the client has seen; what only the context knows is dated `writtenMs`. */
function discardCovered(local: readonly ClockEntry[], context: CausalContext, writtenMs: number): ClockEntry[] {
  const entries: ClockEntry[] = [];
  let i = 0;
  let j = 0;
  let actorPrevious = -1;
  while (i < local.length || j < context.length) {
    const entry = local[i];
    const pair = context[j];
    if (pair === undefined || (entry !== undefined && entry.actor < pair[0])) {
      entries.push(entry!);
      i++;
      continue;
    }
    const [actor, counter] = pair;
    assert(Number.isSafeInteger(actor) && actor > actorPrevious, 'context actors must be sorted and distinct');
    assert(Number.isSafeInteger(counter) && counter >= 0, 'context counters must be non-negative integers');
    actorPrevious = actor;
    j++;
    if (entry !== undefined && entry.actor === actor) {
      entries.push(coverEntry(entry, counter, writtenMs));
      i++;
    } else if (counter > 0) {
      // Learnt from the client only: dated at the write (update's comment says why), and marked so (truncate's comment).
      entries.push({ actor, counter, timestampMs: writtenMs, siblings: EMPTY_SIBLINGS, contextOnly: true });
    }
  }
  return entries;
}

/** Keeps only the siblings whose dots are above what the client has seen; an entry the context raised or discarded values of is dated `writtenMs`. */
function coverEntry(entry: ClockEntry, counterSeen: number, writtenMs: number): ClockEntry {
  const keep = Math.max(0, Math.min(entry.siblings.length, entry.counter - counterSeen));
  if (keep === entry.siblings.length && entry.counter >= counterSeen) return entry;
  return entryOf(
    entry.actor,
    Math.max(entry.counter, counterSeen),
    // What the write took from its context: a raised counter, or values it supersedes (whose entry, if truncated
    // first, would let a copy of them still on its way come back beside the write).
    counterSeen > entry.counter || keep < entry.siblings.length ? Math.max(entry.timestampMs, writtenMs) : entry.timestampMs,
    entry.siblings.slice(0, keep),
    // The key's own entry stays the key's; one only contexts named stays so, whatever counter this one names.
    entry.contextOnly === true,
  );
}

/** dvvset event/3: the next dot of `actor`, as the newest value of its entry. */
function addEvent(entries: ClockEntry[], actor: number, sibling: Sibling): void {
  let index = 0;
  while (index < entries.length && entries[index]!.actor < actor) index++;
  const existing = entries[index];
  if (existing !== undefined && existing.actor === actor) {
    entries[index] = {
      actor,
      counter: existing.counter + 1,
      timestampMs: sibling.timestampMs,
      siblings: [sibling, ...existing.siblings],
    };
  } else {
    entries.splice(index, 0, { actor, counter: 1, timestampMs: sibling.timestampMs, siblings: [sibling] });
  }
}

/** The context a read hands to the client: every actor's counter. */
export function join(obj: VersionedObject): CausalContext {
  return obj.entries.map((entry) => [entry.actor, entry.counter] as const);
}

/** Two contexts (each sorted by actor) as one: every actor either names, at the higher counter (what a client that had seen both has seen). */
export function joinContexts(a: CausalContext, b: CausalContext): CausalContext {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x[0] < y[0])) {
      out.push([x![0], x![1]]);
      i++;
    } else if (x === undefined || y[0] < x[0]) {
      out.push([y[0], y[1]]);
      j++;
    } else {
      out.push([x[0], Math.max(x[1], y[1])]);
      i++;
      j++;
    }
  }
  return out;
}

/** All current values: by actor ascending, then newest first. */
export function siblingsOf(obj: VersionedObject): Sibling[] {
  const siblings: Sibling[] = [];
  for (const entry of obj.entries) {
    for (const sibling of entry.siblings) siblings.push(sibling);
  }
  return siblings;
}

/** Same causal history: the same counter for every actor. Values are not compared. */
export function equal(a: VersionedObject, b: VersionedObject): boolean {
  if (a.entries.length !== b.entries.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    if (x.actor !== y.actor || x.counter !== y.counter) return false;
  }
  return true;
}

/** Of two objects whose clocks are `equal`: whether they mark the same entries contextOnly. */
export function sameContextOnly(a: VersionedObject, b: VersionedObject): boolean {
  assert(a.entries.length === b.entries.length, 'sameContextOnly compares equal clocks');
  for (let i = 0; i < a.entries.length; i++) {
    if ((a.entries[i]!.contextOnly === true) !== (b.entries[i]!.contextOnly === true)) return false;
  }
  return true;
}

/** `a` has seen every event `b` has (a >= b; true when equal). */
export function descends(a: VersionedObject, b: VersionedObject): boolean {
  const entriesA = a.entries;
  let i = 0;
  for (const y of b.entries) {
    while (i < entriesA.length && entriesA[i]!.actor < y.actor) i++;
    const x = entriesA[i];
    if (x === undefined || x.actor !== y.actor || x.counter < y.counter) return false;
  }
  return true;
}

/**
 * Keeps one value (dvvset lww/2): the highest timestampMs, ties broken by the
 * higher actor, then the higher counter, so every replica picks the same one:
 * a total order, since a dot names one value. It extends causality (and so
 * the merge lastWriterWins(sync(a, b)) is commutative, associative and
 * idempotent) when a write's timestamp is later than every value its context
 * covers, which the coordinator's hybrid logical clock gives
 * (hybrid-logical-clock.ts); equal timestamps then come only from clocks of
 * different processes, and the tie-break still picks one value everywhere.
 * The clock is kept whole, so the result descends (and equals) the input.
 *
 * As in dvvset, the winner becomes the newest value of its entry, taking
 * the dot (actor, counter) even if it had an older one. That is only
 * consistent if lww is applied to every state a replica stores: a replica
 * that still holds the plain sibling list at the same counter may, on sync,
 * keep a different value under the same clock.
 */
export function lastWriterWins(obj: VersionedObject): VersionedObject {
  const winnerIndex = indexOfNewest(obj.entries);
  if (winnerIndex < 0) return obj;
  let changed = false;
  const entries = obj.entries.map((entry, index): ClockEntry => {
    const siblings = index === winnerIndex ? keepNewest(entry) : EMPTY_SIBLINGS;
    if (siblings.length === entry.siblings.length && siblings[0] === entry.siblings[0]) return entry;
    changed = true;
    return entryOf(entry.actor, entry.counter, entry.timestampMs, siblings, entry.contextOnly === true);
  });
  return changed ? { entries } : obj;
}

function keepNewest(entry: ClockEntry): readonly Sibling[] {
  return entry.siblings.length === 1 ? entry.siblings : [newestSibling(entry)];
}

/**
 * Index of the entry holding the winning value, or -1 when there is none.
 * Entries are sorted by actor, so on a timestamp tie the later entry wins.
 */
function indexOfNewest(entries: readonly ClockEntry[]): number {
  let winnerIndex = -1;
  let winnerTimestampMs = -1;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    if (entry.siblings.length === 0) continue;
    const timestampMs = newestSibling(entry).timestampMs;
    if (timestampMs >= winnerTimestampMs) {
      winnerIndex = index;
      winnerTimestampMs = timestampMs;
    }
  }
  return winnerIndex;
}

/** Within one actor, on a timestamp tie the higher counter (lower index) wins. */
function newestSibling(entry: ClockEntry): Sibling {
  let winner = entry.siblings[0]!;
  for (const sibling of entry.siblings) {
    if (sibling.timestampMs > winner.timestampMs) winner = sibling;
  }
  return winner;
}

/**
 * Riak's young_vclock (20 s; riak_core's vclock:prune): an entry whose actor
 * wrote within this long of the key's latest event is kept past `entriesMax`.
 */
export const CLOCK_ENTRY_YOUNG_MS = 20_000;
/** The most entries an object holds whatever their age: object-codec.ts's ENTRIES_MAX (its count is one byte). */
export const CLOCK_ENTRIES_BOUND = 255;

/**
 * Bounds the clock's size (Dynamo §4.4): while there are more than
 * `entriesMax` entries, drops the one with the oldest timestampMs (then the
 * lowest actor) among entries without siblings whose timestampMs is at least
 * `youngMs` before the clock's newest (Riak's young_vclock: the key's own
 * latest event is the clock, so the choice is pure and every replica makes
 * the same one). Past CLOCK_ENTRIES_BOUND the age is not asked. An entry
 * that still holds a value is never dropped, so the bound may not be
 * reached; the result has at most max(entriesMax, entries holding values,
 * young entries) entries, and never more than CLOCK_ENTRIES_BOUND
 * without values.
 *
 * Past CLOCK_ENTRIES_BOUND, entries that only contexts named (`contextOnly`:
 * no value minted under the actor ever reached this object) go first, then
 * the key's own, each kind oldest first. Why: a context comes from a caller,
 * may name up to CONTEXT_ENTRIES_MAX (2,048) actors, and what it teaches is
 * dated at its write (update's comment says why), so those entries are the
 * newest of the clock. By age alone a context of made-up actors evicted the
 * key's own older entries, among them the ones saying which of its values
 * were superseded; a replica still holding such a value (a copy on its way,
 * a replica behind) then showed it again beside every later write, an
 * acknowledged overwrite undone (test/dotted-version-vector-truncation.test.ts,
 * test/forged-context.test.ts; reliability.test finding 6's CI failure, v1
 * beside v6). An entry of the key's own names events that happened, whose
 * stale copies may exist; one only a context named may name nothing. The
 * choice depends on the object alone, so it stays pure and the same on
 * every replica. What it does not tell apart: among context-only entries, a
 * real actor a legitimate read learnt from another replica (this object has
 * not merged that replica's yet) from a made-up one; a write whose context
 * names more than the bound of both may keep made-up ones and drop the real
 * one, and the value it meant to supersede then stays beside it as a
 * sibling, which the next write with a read's context resolves. Riak bounds
 * its vclocks by count and age alone (riak_core vclock:prune), its actors
 * being its vnodes; here a caller's context can add actors, hence the kind.
 *
 * Dropping an entry forgets what this replica had seen of that actor, so a
 * later comparison may find concurrency where there was order: descends()
 * turns false and stale values may come back as false siblings, which the
 * next write with a read context discards again. Truncation never drops a
 * value by itself. The residual hazard, as with Dynamo's truncation: if the
 * dropped actor later coordinates a write to this key from a state that has
 * forgotten it as well, it restarts its counter and reuses dots that other
 * replicas have seen, and those replicas may then take the new value as
 * obsolete. Actors are node epochs (actor.ts): a node takes a fresh one for
 * a key it lost (a handoff, a purge), so a key's clock gains entries with
 * membership changes and outages even with few nodes, and `entriesMax` at
 * least the node count does not keep truncation from firing. The age guard
 * is what does, for the window in which stale copies still travel: a copy
 * stranded by a membership change, handed back by the next ownership sweep,
 * found its entry dropped and came back as a false sibling (seed 11346 of the
 * simulation's membership-outage scenario) when the bound was by count alone.
 */
export function truncate(obj: VersionedObject, entriesMax: number, youngMs = 0): VersionedObject {
  assert(Number.isSafeInteger(entriesMax) && entriesMax >= 0, 'entriesMax must be a non-negative integer');
  assert(Number.isSafeInteger(youngMs) && youngMs >= 0, 'youngMs must be a non-negative integer');
  const excess = obj.entries.length - entriesMax;
  if (excess <= 0) return obj;
  let newestMs = -Infinity;
  for (const entry of obj.entries) if (entry.timestampMs > newestMs) newestMs = entry.timestampMs;
  const droppable = obj.entries
    .filter((entry) => entry.siblings.length === 0)
    .sort((x, y) => x.timestampMs - y.timestampMs || x.actor - y.actor);
  const dropped = new Set<ClockEntry>();
  // Young or not, never past the codec's bound: entries only contexts named first, each kind oldest first.
  const forced = obj.entries.length - CLOCK_ENTRIES_BOUND;
  if (forced > 0) {
    const byKind = [...droppable].sort((x, y) => Number(y.contextOnly === true) - Number(x.contextOnly === true) || x.timestampMs - y.timestampMs || x.actor - y.actor);
    for (let i = 0; i < forced && i < byKind.length; i++) dropped.add(byKind[i]!);
  }
  // Then towards entriesMax by age alone, the young kept (without entries only contexts named, the same entries as
  // one pass oldest first would drop).
  for (const entry of droppable) {
    if (dropped.size >= excess || newestMs - entry.timestampMs < youngMs) break;
    dropped.add(entry);
  }
  if (dropped.size === 0) return obj;
  return { entries: obj.entries.filter((entry) => !dropped.has(entry)) };
}

/**
 * `obj` within CLOCK_ENTRIES_BOUND, for a merge made away from storage (a
 * read's merge of its replicas' objects, to repair them with; anti-entropy's
 * merge of all of them): each replica's object is within the bound, their
 * merge may hold up to one bound per replica. Drops entries without values
 * only, those only contexts named first, then the stalest (truncate past
 * the bound), which every replica's settle may drop too. Undefined when
 * more entries than the bound hold
 * values (concurrent values of as many actors): no replica could store it
 * (replica.ts refuses such a write with ERR_SIBLINGS_FULL), so there is
 * nothing to send; the read still answers every value, and a put with its
 * context resolves them.
 */
export function boundedForStorage(obj: VersionedObject): VersionedObject | undefined {
  if (obj.entries.length <= CLOCK_ENTRIES_BOUND) return obj;
  const bounded = truncate(obj, CLOCK_ENTRIES_BOUND);
  return bounded.entries.length <= CLOCK_ENTRIES_BOUND ? bounded : undefined;
}

/**
 * Checks every invariant of a version: before storing and after loading
 * (see object-codec.ts), and in tests.
 */
export function assertWellFormed(obj: VersionedObject): void {
  let actorPrevious = -1;
  for (const entry of obj.entries) {
    assertActor(entry.actor);
    assert(entry.actor > actorPrevious, 'entries must be sorted by actor and distinct');
    actorPrevious = entry.actor;
    assert(Number.isSafeInteger(entry.counter) && entry.counter >= 1, 'entry counter must be a positive integer');
    assertTimestamp(entry.timestampMs, 'entry timestampMs');
    assert(Array.isArray(entry.siblings), 'entry siblings must be an array');
    assert(entry.siblings.length <= entry.counter, 'an entry cannot hold more values than events');
    for (const sibling of entry.siblings) assertSibling(sibling);
    assert(entry.contextOnly === undefined || typeof entry.contextOnly === 'boolean', 'entry contextOnly must be a boolean');
    assert(entry.contextOnly !== true || entry.siblings.length === 0, 'an entry holding a value is not context-only');
  }
}

function assertActor(actor: number): void {
  assert(Number.isSafeInteger(actor) && actor >= 0, 'actor must be a non-negative integer node id');
}

function assertSibling(sibling: Sibling): void {
  assert(sibling.value instanceof Uint8Array, 'sibling value must be bytes');
  assertTimestamp(sibling.timestampMs, 'sibling timestampMs');
  assert(Number.isSafeInteger(sibling.expiresAtMs) && sibling.expiresAtMs >= 0, 'sibling expiresAtMs must be a non-negative integer');
  assert(typeof sibling.tombstone === 'boolean', 'sibling tombstone must be a boolean');
}

/** Milliseconds, with a fraction when one clock gave several in one millisecond (hybrid-logical-clock.ts). */
function assertTimestamp(timestampMs: number, name: string): void {
  if (!(Number.isFinite(timestampMs) && timestampMs >= 0 && timestampMs <= Number.MAX_SAFE_INTEGER)) assert.fail(`${name} must be a non-negative number of milliseconds`);
}
