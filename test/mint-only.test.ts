/**
 * RequestFlag.MINT_ONLY (wire.ts): a putMany item's PUT is minted from the
 * key's committed object and answered before any commit, stored nowhere
 * until the coordinator's REPLICATE of it commits; and no dot is ever minted
 * twice meanwhile (node/pending-mints.ts). A Replica over real LMDB
 * (durability 'async': commits complete later, on lmdb-js's writer thread).
 */
import t, { type Test } from 'tap';
import { NODE_STAT_SLOTS, Replica } from '../lib/node/replica.js';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { EnvelopeBuilder } from '../lib/transport/write-envelope.js';
import { Op, RequestFlag, Response, Status, type RequestRecord, forEachEnvelopeItem, keyBytesOf } from '../lib/transport/wire.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { type CausalContext, type VersionedObject, join, siblingsOf } from '../lib/version/dotted-version-vector.js';
import { actorOf } from '../lib/version/actor.js';
import { tempDir } from './helpers/temp-store.js';
import { writeBatchFrame } from './helpers/write-batch-frame.js';

const text = new TextEncoder();
const untext = new TextDecoder();
const NODE = 1;

const ignored: PendingReply = { onReply: () => {}, onNodeFailure: () => {} };

class CapturingSink {
  readonly responses: { op: number; status: number; requestId: number; payload: Uint8Array }[] = [];
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    this.responses.push({ op, status, requestId, payload: payload === undefined ? new Uint8Array(0) : payload.slice() });
  }
}

function setup(t: Test, objectBytesMax = 1 << 20) {
  const storage = new LmdbStorage({ path: tempDir(t), nodeId: NODE, durability: 'async' });
  t.teardown(() => storage.close());
  const sink = new CapturingSink();
  const replica = new Replica(storage, { nodeId: NODE, conflicts: 'siblings', clockEntriesMax: 10, objectBytesMax }, sink, new Float64Array(NODE_STAT_SLOTS));
  let requestId = 100;
  /** One envelope of `requests` handed to the node; returns its request id. */
  const send = (...requests: RequestRecord[]): number => {
    const builder = new EnvelopeBuilder();
    requests.forEach((request, i) => builder.add(request, keyBytesOf(request.key), ignored, i, NODE));
    const { body, flags } = builder.take();
    const { frame, view } = writeBatchFrame(body, flags, ++requestId);
    replica.handleSafely(frame, view, 0, frame.byteLength);
    frame.fill(0xee); // ring memory is reused once read
    return requestId;
  };
  /** Every item answer given so far to envelope `id`, by item index. */
  const answers = (id: number): Map<number, { status: number; payload: Uint8Array }> => {
    const found = new Map<number, { status: number; payload: Uint8Array }>();
    for (const response of sink.responses) {
      if (response.requestId !== id) continue;
      const view = new DataView(response.payload.buffer, response.payload.byteOffset, response.payload.byteLength);
      forEachEnvelopeItem(view, 0, response.payload.byteLength, false, (at, length) => {
        found.set(view.getUint32(at + Response.REQUEST_ID, true), { status: view.getUint8(at + Response.STATUS), payload: response.payload.slice(at + Response.HEADER_BYTES, at + length) });
      });
    }
    return found;
  };
  const stored = (key: string): VersionedObject | undefined => {
    const bytes = storage.get(text.encode(key));
    return bytes === undefined ? undefined : decodeObject(bytes.slice());
  };
  return { storage, sink, replica, send, answers, stored };
}

function put(key: string, value: string, context: CausalContext | undefined, mintOnly: boolean): RequestRecord {
  const flags = (context === undefined ? RequestFlag.BLIND : 0) | (mintOnly ? RequestFlag.MINT_ONLY : 0);
  return { op: Op.PUT, flags, key, context: context as [number, number][] | undefined, value: text.encode(value), timestampMs: 1000, expiresAtMs: 0 };
}

function replicate(key: string, object: Uint8Array): RequestRecord {
  return { op: Op.REPLICATE, flags: 0, key, context: undefined, value: object, timestampMs: 1000, expiresAtMs: 0 };
}

/** The dot of `value` in `object`: its entry's actor, and the counter it took (values newest first). */
function dotOf(object: VersionedObject, value: string): string {
  for (const entry of object.entries) {
    const index = entry.siblings.findIndex((sibling) => untext.decode(sibling.value) === value);
    if (index >= 0) return `${entry.actor}:${entry.counter - index}`;
  }
  return 'none';
}

t.test('a MINT_ONLY PUT is answered before any commit and stores nothing; the REPLICATE of its object stores it', async (t) => {
  const { storage, replica, send, answers, stored } = setup(t);
  const id = send(put('k', 'v1', undefined, true), replicate('other', new Uint8Array(0)));
  const minted = answers(id).get(0);
  t.ok(minted !== undefined && minted.status === Status.OK, 'answered at once, before the envelope\u2019s commit');
  t.notOk(answers(id).has(1), 'the envelope\u2019s other item waits for its commit');
  const object = decodeObject(minted!.payload);
  t.same(siblingsOf(object).map((s) => untext.decode(s.value)), ['v1']);
  t.equal(stored('k'), undefined, 'nothing stored by the mint');
  await replica.commit();
  t.equal(answers(id).get(1)?.status, Status.ERROR, 'the bad REPLICATE fails alone, at its commit');
  t.equal(stored('k'), undefined, 'the commit stored nothing of the minted item');
  const back = send(replicate('k', minted!.payload));
  await replica.commit();
  t.equal(answers(back).get(0)?.status, Status.OK);
  t.same(Buffer.from(storage.get(text.encode('k'))!), Buffer.from(minted!.payload), 'the minted object, stored as minted');
  // Its actor came back with its one dot: nothing was forgotten, so the next write of the key reuses it.
  const next = decodeObject(answers(send(put('k', 'v2', join(stored('k')!), true))).get(0)!.payload);
  t.equal(dotOf(next, 'v2'), `${dotOf(object, 'v1').split(':')[0]}:2`, 'the next mint reuses the actor: (actor, 2)');
});

t.test('no dot is minted twice: a key minted again before its first mint is stored takes another actor, until a commit stores it', async (t) => {
  const { replica, send, answers, stored } = setup(t);
  send(put('k', 'v0', undefined, false));
  await replica.commit();
  const context = join(stored('k')!);
  const first = decodeObject(answers(send(put('k', 'v1', context, true))).get(0)!.payload);
  const second = decodeObject(answers(send(put('k', 'v2', context, true))).get(0)!.payload);
  t.equal(dotOf(first, 'v1').split(':')[0], dotOf(stored('k')!, 'v0').split(':')[0], 'the first mint reuses the key\u2019s actor');
  t.not(dotOf(second, 'v2'), dotOf(first, 'v1'), `two mints, two dots (${dotOf(first, 'v1')}, ${dotOf(second, 'v2')})`);
  t.not(dotOf(second, 'v2').split(':')[0], dotOf(first, 'v1').split(':')[0], 'the second takes a fresh actor');
  // Both stored (they are concurrent: siblings), then the actor is reused again.
  send(replicate('k', encodeObject(first)), replicate('k', encodeObject(second)));
  await replica.commit();
  t.same(siblingsOf(stored('k')!).map((s) => untext.decode(s.value)).sort(), ['v1', 'v2']);
  const third = decodeObject(answers(send(put('k', 'v3', join(stored('k')!), true))).get(0)!.payload);
  const reused = dotOf(third, 'v3').split(':')[0];
  t.ok(reused === dotOf(first, 'v1').split(':')[0] || reused === dotOf(second, 'v2').split(':')[0], 'once stored, an actor of the key is reused: no fresh epoch per write');
  t.same(siblingsOf(third).map((s) => untext.decode(s.value)), ['v3'], 'the context covered both');
});

t.test('no dot is minted twice: a PUT waiting for its commit and a MINT_ONLY of the same key mint different dots', async (t) => {
  const { replica, send, answers, stored } = setup(t);
  send(put('j', 'v0', undefined, false));
  await replica.commit();
  const context = join(stored('j')!);
  // The PUT's commit is asked for and not done (its transaction runs on lmdb-js's writer thread).
  const putId = send(put('j', 'by-put', context, false));
  const committing = replica.commit();
  // The key's PUT is not committed: the MINT_ONLY is minted in the next commit, after it (uncommitted-writes.ts).
  const mintId = send(put('j', 'by-mint', context, true));
  await committing;
  await replica.commit();
  const minted = decodeObject(answers(mintId).get(0)!.payload);
  const byPut = decodeObject(answers(putId).get(0)!.payload);
  t.not(dotOf(minted, 'by-mint'), dotOf(byPut, 'by-put'), `different dots (${dotOf(minted, 'by-mint')}, ${dotOf(byPut, 'by-put')})`);
  // And the other way round: a MINT_ONLY first, then a PUT of the key before the mint is stored.
  const context2 = join(stored('j')!);
  const minted2 = decodeObject(answers(send(put('j', 'mint-2', context2, true))).get(0)!.payload);
  const putId2 = send(put('j', 'put-2', context2, false));
  await replica.commit();
  const byPut2 = decodeObject(answers(putId2).get(0)!.payload);
  t.not(dotOf(minted2, 'mint-2'), dotOf(byPut2, 'put-2'), `different dots (${dotOf(minted2, 'mint-2')}, ${dotOf(byPut2, 'put-2')})`);
});

t.test('a mint stays pending while the write that would store it is refused (over objectBytesMax): the key\u2019s next mint takes another actor', async (t) => {
  const { replica, send, answers, stored } = setup(t, 600);
  send(put('k', 'v0', undefined, false));
  await replica.commit();
  const context = join(stored('k')!);
  const first = decodeObject(answers(send(put('k', 'v1', context, true))).get(0)!.payload);
  // The minted object with a large concurrent value of another node: the merge is over the bound, refused.
  const large = { actor: 7 * 1024 + 3, counter: 1, timestampMs: 1000, siblings: [{ value: new Uint8Array(700), timestampMs: 1000, expiresAtMs: 0, tombstone: false }] };
  const refused = send(replicate('k', encodeObject({ entries: [...first.entries, large].sort((a, b) => a.actor - b.actor) })));
  await replica.commit();
  t.equal(answers(refused).get(0)?.status, Status.ERROR, 'the REPLICATE is refused');
  t.same(siblingsOf(stored('k')!).map((s) => untext.decode(s.value)), ['v0'], 'nothing of the mint is stored');
  const second = decodeObject(answers(send(put('k', 'v2', context, true))).get(0)!.payload);
  t.not(dotOf(second, 'v2'), dotOf(first, 'v1'), `two mints, two dots (${dotOf(first, 'v1')}, ${dotOf(second, 'v2')})`);
});

t.test('PUTs of one key faster than their commits reuse its actor: each reads the write before it, so no clock entry is added per write', async (t) => {
  const { replica, send, answers, stored } = setup(t);
  send(put('hot', 'v0', undefined, false));
  await replica.commit();
  const actor = dotOf(stored('hot')!, 'v0').split(':')[0];
  // Each PUT arrives while the one before it is still committing (YCSB-B's hot keys): its mark is pending.
  const commits: (Promise<void> | undefined)[] = [];
  const ids: number[] = [];
  for (let i = 1; i <= 20; i++) {
    ids.push(send(put('hot', `v${i}`, undefined, false)));
    commits.push(replica.commit());
  }
  await Promise.all(commits);
  const dots = ids.map((id, i) => dotOf(decodeObject(answers(id).get(0)!.payload), `v${i + 1}`));
  t.same(dots, ids.map((_, i) => `${actor}:${i + 2}`), 'consecutive counters of the key\u2019s one actor');
  const final = stored('hot')!;
  t.equal(final.entries.length, 1, 'one clock entry after 21 writes');
  t.same(siblingsOf(final).map((s) => untext.decode(s.value)), ['v20']);
});

t.test('a MINT_ONLY of a key with a write here not committed yet waits for that write: a blind putMany item supersedes the put it follows', async (t) => {
  const { replica, send, answers, stored } = setup(t);
  // A put's REPLICATE queued here (not committed), then a blind MINT_ONLY of the key.
  const v0 = decodeObject(answers(send(put('other-node', 'x', undefined, true))).get(0)!.payload); // an object to replicate, minted for another key
  const replicated = encodeObject({ entries: v0.entries.map((entry) => ({ ...entry, actor: 5 * 1024 + 2, siblings: [{ ...entry.siblings[0]!, value: text.encode('v0') }] })) });
  send(replicate('k', replicated));
  const id = send(put('k', 'v1', undefined, true));
  t.notOk(answers(id).has(0), 'not minted from committed storage, which does not show the queued write');
  await replica.commit();
  const object = decodeObject(answers(id).get(0)!.payload);
  t.same(siblingsOf(object).map((s) => untext.decode(s.value)), ['v1'], 'minted after it, in the commit: the blind write supersedes v0');
  t.same(siblingsOf(stored('k')!).map((s) => untext.decode(s.value)), ['v0'], 'and, a mint still, stored nothing: its REPLICATE stores it');
  send(replicate('k', answers(id).get(0)!.payload));
  await replica.commit();
  t.same(siblingsOf(stored('k')!).map((s) => untext.decode(s.value)), ['v1'], 'and its REPLICATE leaves v1 alone');
  // A write whose commit is under way counts too, until that commit ends.
  const putId = send(put('j', 'j0', undefined, false));
  const committing = replica.commit();
  const mintId = send(put('j', 'j1', undefined, true));
  t.notOk(answers(mintId).has(0), 'a commit in flight holds the key\u2019s mint back as well');
  await committing;
  await replica.commit();
  t.equal(answers(putId).get(0)?.status, Status.OK);
  t.same(siblingsOf(decodeObject(answers(mintId).get(0)!.payload)).map((s) => untext.decode(s.value)), ['j1']);
  // Once nothing of a key is uncommitted, its MINT_ONLY is answered at once again.
  const later = send(put('j', 'j2', undefined, true));
  t.ok(answers(later).has(0), 'answered at once when nothing of its key waits');
});

// Found by the simulation once its clients called putMany (seeds 28, 35, 52
// and 57 of 'crashes', 5, 18 and 53 of 'sloppy', among 12 of 360): MINT_ONLY's
// fresh epochs grow a hot key's clock past clockEntriesMax (10), and a write
// whose context names actors its coordinator has not stored yet (their
// REPLICATEs still on the way) had those entries truncated first, as they
// came with timestampMs 0; the value they superseded then came back beside
// the acknowledged write when its REPLICATE landed. Fixed in replica.ts
// (datedContextEntries, s15); since s16 update() itself dates such entries at
// the write (dotted-version-vector.ts discardCovered).
t.test('a write keeps what its context superseded when its clock is truncated, though its coordinator had not stored those dots', async (t) => {
  for (const mintOnly of [true, false]) {
    const { replica, send, answers, stored } = setup(t);
    // Eleven actors of node 2, each at its first dot: more entries than clockEntriesMax, none stored on this node.
    const context: [number, number][] = Array.from({ length: 11 }, (_, epoch) => [actorOf(2, epoch + 1), 1]);
    const write: RequestRecord = { op: Op.PUT, flags: mintOnly ? RequestFlag.MINT_ONLY : 0, key: 'h', context, value: text.encode('new'), timestampMs: 1_700_000_000_000, expiresAtMs: 0 };
    const id = send(write);
    await replica.commit();
    const object = decodeObject(answers(id).get(0)!.payload);
    const clock = join(object);
    const uncovered = context.filter(([actor, counter]) => !clock.some(([a, c]) => a === actor && c >= counter));
    t.same(uncovered, [], `${mintOnly ? 'MINT_ONLY' : 'PUT'}: the written clock covers every dot of the context`);
    // A superseded value's REPLICATE lands after the write: it stays superseded.
    const superseded: VersionedObject = { entries: [{ actor: context[0]![0], counter: 1, timestampMs: 1_699_999_999_990, siblings: [{ value: text.encode('old'), timestampMs: 1_699_999_999_990, expiresAtMs: 0, tombstone: false }] }] };
    send(replicate('h', encodeObject(object)));
    await replica.commit();
    send(replicate('h', encodeObject(superseded)));
    await replica.commit();
    t.same(siblingsOf(stored('h')!).map((s) => untext.decode(s.value)), ['new'], `${mintOnly ? 'MINT_ONLY' : 'PUT'}: the superseded value does not come back`);
  }
});

t.test("a blind MINT_ONLY of a key whose last mint is not stored yet chains on it: the mark's actor, the next counter, and the marked object's whole clock", async (t) => {
  const { replica, send, answers, stored } = setup(t);
  send(put('k', 'v0', undefined, false));
  await replica.commit();
  const actor = dotOf(stored('k')!, 'v0').split(':')[0];
  // A value of another node this node never stored: the first mint's context supersedes it (seed 486 of 'crashes').
  const foreign = 9 * 1024 + 4;
  const first = decodeObject(answers(send(put('k', 'v1', [[foreign, 1], ...join(stored('k')!)], true))).get(0)!.payload);
  t.equal(dotOf(first, 'v1'), `${actor}:2`, 'the first mint reuses the key\u2019s actor');
  // Not stored yet: the blind one after it chains on it.
  const second = decodeObject(answers(send(put('k', 'v2', undefined, true))).get(0)!.payload);
  t.equal(dotOf(second, 'v2'), `${actor}:3`, 'the next counter of the same actor: one clock entry, no fresh epoch');
  t.same(siblingsOf(second).map((s) => untext.decode(s.value)), ['v2'], 'it supersedes the mint it chains on, as a blind PUT supersedes the PUT queued before it');
  t.same(join(second).find(([a]) => a === foreign), [foreign, 1], "and has seen what that mint's context superseded: the foreign value cannot stay live beside it");
  // A replica holding the foreign value and then both objects, in either order, ends as the minting node does.
  const foreignObject = encodeObject({ entries: [{ actor: foreign, counter: 1, timestampMs: 1000, siblings: [{ value: text.encode('foreign'), timestampMs: 1000, expiresAtMs: 0, tombstone: false }] }] });
  send(replicate('k', foreignObject), replicate('k', encodeObject(second)), replicate('k', encodeObject(first)));
  await replica.commit();
  t.same(siblingsOf(stored('k')!).map((s) => untext.decode(s.value)), ['v2'], 'only v2 stays');
});
