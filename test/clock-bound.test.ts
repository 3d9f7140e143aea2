/**
 * Clock entries past an object's bound (object-codec.ts ENTRIES_MAX, 255: a
 * u8 on disk), against real storage-node workers and LMDB. Replicas are given
 * objects of many actors directly (a REPLICATE through the coordinator's
 * link, as read repair and handoff send them), since a store mints that many
 * actors for one key only over many restarts or fresh epochs:
 *
 * - a read whose replicas' merge holds more entries than one object answers
 *   every value, repairs the replicas with the merge bounded (truncation of
 *   entries without values), and its context, naming every actor of the
 *   merge, is taken back by a put that resolves the siblings;
 * - a merge whose values alone pass the bound is refused by a replica
 *   (ERR_SIBLINGS_FULL) that keeps what it holds, is not read-repaired, and
 *   a put or putMany that would add a 256th concurrent value is refused with
 *   ERR_SIBLINGS_FULL; puts with the read's context resolve them, 254 or
 *   more actors' values a put;
 * - anti-entropy brings replicas to the bounded merge.
 *
 * Before: the coordinator's encoder asserted ("an object may hold at most
 * 255 clock entries") in read repair (then "node N answered twice") and in
 * anti-entropy, the read's context was refused (ERR_INVALID_CONTEXT), and a
 * write past the bound failed with the assertion's text.
 */
import t, { type Test } from 'tap';
import { ErrorCode, type Store } from '../lib/index.js';
import { type ClockEntry, type VersionedObject, siblingsOf } from '../lib/version/dotted-version-vector.js';
import { ENTRIES_MAX } from '../lib/version/object-codec.js';
import { encodeValue, decodeValue } from '../lib/store/value-codec.js';
import { actorOf } from '../lib/version/actor.js';
import { eventually, failsWith, openTemp } from './helpers/temp-store.js';
import { replicateTo, storedAt } from './helpers/replica-objects.js';

const NOW_MS = Date.now();

/** A node slot no storage node has (bounds.ts NODE_IDS_MAX): its actors are never a node's own, which it would reuse. */
const FOREIGN_SLOT = 900;

/** `count` entries of foreign actors of epochs from `firstEpoch`, each holding one value named after its epoch when `valued`. */
function entriesOf(firstEpoch: number, count: number, valued: boolean, timestampMs = NOW_MS): ClockEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    actor: actorOf(FOREIGN_SLOT, firstEpoch + i),
    counter: 1,
    timestampMs: timestampMs + i,
    siblings: valued ? [{ value: encodeValue(`v${firstEpoch + i}`, 1 << 20), timestampMs: timestampMs + i, expiresAtMs: 0, tombstone: false }] : [],
  }));
}

function objectOf(...groups: ClockEntry[][]): VersionedObject {
  return { entries: groups.flat().sort((x, y) => x.actor - y.actor) };
}

const valuesOf = (object: VersionedObject | undefined): string[] => (object === undefined ? [] : siblingsOf(object).map((s) => decodeValue(s.value) as string).sort());

/** Process warnings emitted during `t` (failReply's "could not be failed cleanly"). */
function warningsDuring(t: Test): string[] {
  const warnings: string[] = [];
  const listener = (warning: Error) => warnings.push(warning.message);
  process.on('warning', listener);
  t.teardown(() => void process.off('warning', listener));
  return warnings;
}

t.test('a read whose replicas merge past 255 entries answers every value, repairs with the merge bounded, and its context resolves them', async (t) => {
  const warnings = warningsDuring(t);
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 3, w: 3 }, readPath: 'messages' });
  const key = 'wide';
  const [a, b, c] = Array.from(store.preferenceList(key));
  // Two replicas with 200 different old entries without values and one value each: 402 entries in their merge.
  t.equal(await replicateTo(store, a!, key, objectOf(entriesOf(1000, 200, false, NOW_MS - 60_000), entriesOf(5, 1, true))), 'OK');
  t.equal(await replicateTo(store, b!, key, objectOf(entriesOf(2000, 200, false, NOW_MS - 60_000), entriesOf(6, 1, true))), 'OK');
  const read = await store.get(key);
  t.same([...read!.siblings].sort(), ['v5', 'v6'], 'every value answered');
  for (const node of [a!, b!, c!]) {
    t.ok(await eventually(async () => valuesOf(await storedAt(store, node, key)).join() === 'v5,v6', 5000), `node ${node} repaired with both values`);
    // Settled as a replica settles: the old entries without values truncated to clockEntriesMax.
    t.ok((await storedAt(store, node, key))!.entries.length <= ENTRIES_MAX, `node ${node} holds the merge within ${ENTRIES_MAX} entries`);
  }
  await store.put(key, 'resolved', { context: read!.context });
  const after = await store.get(key);
  t.same(after!.siblings, ['resolved'], "a put with the read's context of 402 entries supersedes both values");
  t.same(warnings.filter((warning) => warning.includes('ringtable')), [], 'no reply failed twice');
});

t.test('values of more than 255 actors: refused by a replica, not repaired, a 256th concurrent write refused; the read resolves them', async (t) => {
  const warnings = warningsDuring(t);
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 3, w: 3 }, readPath: 'messages' });
  const key = 'full';
  const [a, b, c] = Array.from(store.preferenceList(key));
  const ofA = objectOf(entriesOf(1000, 200, true));
  const ofB = objectOf(entriesOf(2000, 200, true));
  t.equal(await replicateTo(store, a!, key, ofA), 'OK');
  t.equal(await replicateTo(store, b!, key, ofB), 'OK');
  t.match(await replicateTo(store, a!, key, ofB), /^ERR_SIBLINGS_FULL: .*400 clock entries/, 'a merge of 400 values is refused');
  t.equal((await storedAt(store, a!, key))!.entries.length, 200, 'the refusing replica keeps what it held');
  t.equal((await store.get(key))!.siblings.length, 400, 'the read answers all 400 values');
  // No repair could be stored: none is sent, and every replica keeps its own.
  await store.get(key);
  t.equal((await storedAt(store, a!, key))!.entries.length, 200);
  t.equal(await storedAt(store, c!, key), undefined);
  t.same(warnings.filter((warning) => warning.includes('ringtable')), [], 'no reply failed twice');

  // 255 concurrent values on every replica: one more concurrent write cannot be stored.
  const key255 = 'full255';
  for (const node of store.preferenceList(key255)) t.equal(await replicateTo(store, node, key255, objectOf(entriesOf(3000, ENTRIES_MAX, true))), 'OK');
  const stale = (await store.get(key))!.context; // names none of key255's actors
  await failsWith(t, () => store.put(key255, 'one more', { context: stale }), ErrorCode.SIBLINGS_FULL, 'put of a 256th concurrent value');
  await failsWith(t, () => store.putMany([[key255, 'one more', { context: stale }]]), ErrorCode.SIBLINGS_FULL, 'putMany of a 256th concurrent value');
  for (const node of store.preferenceList(key255)) t.equal((await storedAt(store, node, key255))!.entries.length, ENTRIES_MAX, `node ${node} kept its 255 values`);

  // One object names at most 255 actors, so a write supersedes at most that many actors' values: the
  // rest come back as siblings beside it, and the next read's context supersedes them.
  // Which replica coordinates decides how many of the 400 the first put supersedes there.
  t.ok((await resolveRounds(store, key)) <= 3, "400 concurrent values resolved by at most three puts with their read's context");
  t.equal(await resolveRounds(store, key255), 2, '255 concurrent values resolved by two puts, the first one superseding 254 of them');
});

/** Puts with the context of a read of `key` until one value is left: how many it took (at most 5). */
async function resolveRounds(store: Store, key: string): Promise<number> {
  for (let round = 1; round <= 5; round++) {
    await store.put(key, `resolved ${round}`, { context: (await store.get(key))!.context });
    if ((await store.get(key))!.siblings.length === 1) return round;
  }
  return Infinity;
}

t.test('anti-entropy brings replicas whose merge passes 255 entries to the bounded merge', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 } });
  const key = 'wide';
  const [a, b, c] = Array.from(store.preferenceList(key));
  t.equal(await replicateTo(store, a!, key, objectOf(entriesOf(1000, 200, false, NOW_MS - 60_000), entriesOf(5, 1, true))), 'OK');
  t.equal(await replicateTo(store, b!, key, objectOf(entriesOf(2000, 200, false, NOW_MS - 60_000), entriesOf(6, 1, true))), 'OK');
  const result = await store.repair();
  t.ok(result.keysRepaired >= 1, 'the key was repaired');
  for (const node of [a!, b!, c!]) {
    const stored = await storedAt(store, node, key);
    t.same(valuesOf(stored), ['v5', 'v6'], `node ${node} holds both values`);
    t.ok(stored!.entries.length <= ENTRIES_MAX, `node ${node} holds the merge within the bound`);
  }
});
