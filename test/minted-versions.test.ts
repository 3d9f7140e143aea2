/**
 * Op.MINT (wire.ts) on a Replica over in-memory storage: a node mints a
 * put's version without committing it (putMany, operations.ts PutBatch), and
 * remembers it (node/minted-versions.ts) until a commit stores it, so that
 * no dot is ever minted twice and a stale context still keeps siblings.
 */
import t from 'tap';
import { NODE_STAT_SLOTS, Replica } from '../lib/node/replica.js';
import { MINTED_KEYS_MAX, MintedVersions } from '../lib/node/minted-versions.js';
import { Op, type RequestRecord, RequestFlag, Status, encodeRequestRecord, keyBytesOf, requestBytesOf } from '../lib/transport/wire.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { type VersionedObject, siblingsOf } from '../lib/version/dotted-version-vector.js';
import { epochOfActor, nodeOfActor } from '../lib/version/actor.js';
import { MemoryStorage } from './simulation/memory-storage.js';

const text = new TextEncoder();
const untext = new TextDecoder();
const NODE = 1;

class CapturingSink {
  readonly responses: { op: number; status: number; requestId: number; payload: Uint8Array }[] = [];
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    this.responses.push({ op, status, requestId, payload: payload === undefined ? new Uint8Array(0) : payload.slice() });
  }
}

function setup() {
  const engine = new MemoryStorage();
  const sink = new CapturingSink();
  const replica = new Replica(engine, { nodeId: NODE, conflicts: 'siblings', clockEntriesMax: 10, objectBytesMax: 1 << 20 }, sink, new Float64Array(NODE_STAT_SLOTS));
  let requestId = 0;
  /** One request message, handled as the node loop does; the frame is overwritten after, as ring memory is. */
  const send = (request: Partial<RequestRecord> & { op: number; key: string }, hintField = 0): number => {
    const record: RequestRecord = { flags: 0, context: undefined, value: undefined, timestampMs: 10, expiresAtMs: 0, ...request };
    const keyBytes = keyBytesOf(record.key);
    const frame = Buffer.alloc(requestBytesOf(record, keyBytes));
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    encodeRequestRecord(frame, view, 0, ++requestId, record, keyBytes, hintField);
    replica.handleSafely(frame, view, 0, frame.byteLength);
    frame.fill(0xee);
    return requestId;
  };
  const answerTo = (id: number) => sink.responses.find((response) => response.requestId === id);
  /** MINT: answered at once, before any commit. */
  const mint = (key: string, value: string, context?: [number, number][]): Uint8Array => {
    const id = send({ op: Op.MINT, key, value: text.encode(value), flags: context === undefined ? RequestFlag.BLIND : 0, context });
    const answer = answerTo(id);
    t.ok(answer !== undefined && answer.status === Status.OK, `MINT ${key}=${value} answered at once`);
    return answer!.payload;
  };
  const replicate = async (key: string, object: Uint8Array): Promise<void> => {
    send({ op: Op.REPLICATE, key, value: object });
    await replica.commit();
  };
  const put = async (key: string, value: string, context?: [number, number][]): Promise<Uint8Array> => {
    const id = send({ op: Op.PUT, key, value: text.encode(value), flags: context === undefined ? RequestFlag.BLIND : 0, context });
    await replica.commit();
    return answerTo(id)!.payload;
  };
  const stored = (key: string): VersionedObject | undefined => {
    const bytes = engine.get(text.encode(key));
    return bytes === undefined ? undefined : decodeObject(bytes.slice());
  };
  return { replica, sink, send, answerTo, mint, replicate, put, stored };
}

const values = (object: VersionedObject | undefined) => (object === undefined ? [] : siblingsOf(object).map((s) => untext.decode(s.value)).sort());
/** This node's entry that holds values (a blind write leaves the entries it covered without any). */
const ownEntry = (object: VersionedObject) => object.entries.find((entry) => nodeOfActor(entry.actor) === NODE && entry.siblings.length > 0)!;

t.test('a MINT is answered at once with the version a PUT would store, and stored only by its REPLICATE', async (t) => {
  const { mint, replicate, stored } = setup();
  const object = mint('k', 'v1');
  t.equal(stored('k'), undefined, 'nothing is stored by a MINT');
  t.same(values(decodeObject(object)), ['v1']);
  t.equal(nodeOfActor(ownEntry(decodeObject(object)).actor), NODE, 'this node is the actor of the new dot');
  await replicate('k', object);
  t.same(Buffer.from(encodeObject(stored('k')!)), Buffer.from(object), 'the REPLICATE of the minted object stores it as minted');
});

t.test('two MINTs of one key before any commit: distinct dots, and the same stale context keeps both values', async (t) => {
  const { mint, replicate, put, stored } = setup();
  const first = decodeObject(await put('k', 'v0'));
  const v0 = ownEntry(first);
  const context: [number, number][] = [[v0.actor, v0.counter]];
  const one = decodeObject(mint('k', 'v1', context));
  const two = decodeObject(mint('k', 'v2', context));
  t.equal(ownEntry(one).actor, v0.actor, 'the key\u2019s actor is reused');
  t.equal(ownEntry(one).counter, v0.counter + 1);
  // Minted from storage alone, the second would take the first's dot: one value under two meanings (KV679).
  t.equal(ownEntry(two).counter, v0.counter + 2, 'the second MINT sees the first, which storage does not hold yet');
  t.same(values(two), ['v1', 'v2'], 'made with the same stale context, both survive as siblings');
  await replicate('k', encodeObject(two));
  await replicate('k', encodeObject(one));
  t.same(values(stored('k')), ['v1', 'v2'], 'stored in either order, both stay');
});

t.test('a PUT coordinated after a MINT sees the minted dot, and a blind one supersedes it', async (t) => {
  const { mint, replicate, put, stored } = setup();
  await put('k', 'v0');
  const minted = decodeObject(mint('k', 'v1'));
  const coordinated = decodeObject(await put('k', 'v2'));
  t.equal(ownEntry(coordinated).counter, ownEntry(minted).counter + 1, 'the PUT mints the next dot, not the minted one again');
  t.same(values(coordinated), ['v2']);
  await replicate('k', encodeObject(minted));
  t.same(values(stored('k')), ['v2'], 'the minted value arriving later is obsolete: the blind PUT covered it');
});

t.test('a MINT is for the node\u2019s own keys: never for hints', async (t) => {
  const { send, answerTo, stored } = setup();
  const id = send({ op: Op.MINT, key: 'h', value: text.encode('x'), flags: RequestFlag.BLIND }, 3);
  t.equal(answerTo(id)?.status, Status.ERROR);
  t.equal(stored('h'), undefined);
});

t.test('a node that forgets its minted versions (a crash) reuses none of its actors', async (t) => {
  const { replica, mint, put } = setup();
  const v0 = ownEntry(decodeObject(await put('k', 'v0')));
  mint('k', 'v1');
  replica.dropQueued();
  const after = ownEntry(decodeObject(mint('k', 'v2')));
  t.not(after.actor, v0.actor, 'a fresh actor');
  t.ok(epochOfActor(after.actor) > epochOfActor(v0.actor), 'of a later epoch');
});

t.test('MintedVersions: the join of stored and minted, forgotten once a commit holds exactly the minted bytes, bounded', async (t) => {
  const minted = new MintedVersions();
  const key = text.encode('k');
  const object: VersionedObject = { entries: [{ actor: 2048 + NODE, counter: 2, timestampMs: 5, siblings: [{ value: text.encode('m'), timestampMs: 5, expiresAtMs: 0, tombstone: false }] }] };
  const stored: VersionedObject = { entries: [{ actor: 4096 + 3, counter: 1, timestampMs: 4, siblings: [{ value: text.encode('s'), timestampMs: 4, expiresAtMs: 0, tombstone: false }] }] };
  t.equal(minted.known(key, stored), stored, 'nothing minted: what is stored');
  const bytes = encodeObject(object);
  t.ok(minted.remember(key, bytes));
  t.same(values(minted.known(key, stored)), ['m', 's'], 'stored joined with minted');
  t.same(values(minted.known(key, undefined)), ['m']);
  minted.committed(key, encodeObject({ entries: [] }));
  t.equal(minted.size, 1, 'other bytes committed: still kept');
  minted.committed(key, bytes.slice());
  t.equal(minted.size, 0, 'the minted bytes committed: forgotten');
  let kept = 0;
  for (let i = 0; i < MINTED_KEYS_MAX; i++) if (minted.remember(text.encode(`key-${i}`), bytes)) kept++;
  t.equal(kept, MINTED_KEYS_MAX, 'kept up to the bound');
  t.notOk(minted.remember(text.encode('one-more'), bytes), 'full: refused');
  t.ok(minted.remember(text.encode('key-7'), bytes), 'a key already kept is replaced');
});
