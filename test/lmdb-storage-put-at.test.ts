/**
 * A node stores a replicated object straight from the write envelope it came
 * in (WriteBatch.putAt, Replica's envelope REPLICATE path): lmdb-js is handed
 * the envelope's buffer with the object's place, and the item's key in a
 * buffer reused for every key of its length. Real LMDB: what is stored must
 * be each item's own bytes under its own key.
 */
import t from 'tap';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import { NODE_STAT_SLOTS, Replica } from '../lib/node/replica.js';
import { EnvelopeBuilder } from '../lib/transport/write-envelope.js';
import { Op, Status, keyBytesOf } from '../lib/transport/wire.js';
import { encodeObject } from '../lib/version/object-codec.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { tempDir } from './helpers/temp-store.js';
import { writeBatchFrame } from './helpers/write-batch-frame.js';

const text = new TextEncoder();

const ignoreReplies: PendingReply = { onReply: () => {}, onNodeFailure: () => {} };

function objectOf(value: string, actor: number, expiresAtMs = 0): Uint8Array {
  return encodeObject({ entries: [{ actor, counter: 1, timestampMs: 10, siblings: [{ value: text.encode(value), timestampMs: 10, expiresAtMs, tombstone: false }] }] });
}

t.test('putAt stores the bytes at its place in a buffer that is a view at an offset of a larger one', async (t) => {
  const storage = new LmdbStorage({ path: tempDir(t), nodeId: 0, durability: 'none' });
  t.teardown(() => storage.close());
  // The pinned lmdb-js reads a placed value as its place: the path without a view is the one taken (a version
  // that did not would fall back to views, and this would say so).
  t.equal(storage.placedPuts, true, "this lmdb-js stores a placed value's bytes (checked at open)");
  const whole = new Uint8Array(64).map((_, i) => i);
  // A view 8 bytes into its ArrayBuffer: the places below are the view's.
  const bytes = whole.subarray(8, 56);
  const written = storage.write((batch) => {
    batch.putAt(text.encode('a'), bytes, 0, 4);
    batch.putAt(text.encode('b'), bytes, 10, 7);
    // The same buffer, another place: the place of the put before does not stick.
    batch.putAt(text.encode('c'), bytes, 40, 8);
    batch.put(text.encode('d'), bytes.subarray(1, 3));
  });
  await written;
  t.same([...storage.get(text.encode('a'))!], [8, 9, 10, 11]);
  t.same([...storage.get(text.encode('b'))!], [18, 19, 20, 21, 22, 23, 24]);
  t.same([...storage.get(text.encode('c'))!], [48, 49, 50, 51, 52, 53, 54, 55]);
  t.same([...storage.get(text.encode('d'))!], [9, 10], 'a plain put of a view of the same memory is its own bytes');
  t.throws(() => storage.write((batch) => batch.putAt(text.encode('e'), bytes, 44, 8)), /outside/, 'a place past the buffer is refused');
});

t.test('an envelope of replicated writes lands key by key in LMDB: equal-length keys, an expiry, a key held already', async (t) => {
  const storage = new LmdbStorage({ path: tempDir(t), nodeId: 1, durability: 'none' });
  t.teardown(() => storage.close());
  const answers: { status: number; requestId: number }[] = [];
  const sink = { respond: (_op: number, status: number, requestId: number) => void answers.push({ status, requestId }) };
  const replica = new Replica(storage, { nodeId: 1, conflicts: 'lww', clockEntriesMax: 10, objectBytesMax: 1 << 20 }, sink, new Float64Array(NODE_STAT_SLOTS));
  // A key held already: its write merges (the path with views), newer version wins.
  const held = objectOf('old', 7 * 1024 + 2);
  storage.write((batch) => batch.put(text.encode('key-held'), held));
  const items: [string, Uint8Array][] = [
    ['key-0001', objectOf('first', 5 * 1024 + 2)],
    ['key-0002', objectOf('second, longer', 5 * 1024 + 2)],
    ['key-held', encodeObject({ entries: [{ actor: 7 * 1024 + 2, counter: 2, timestampMs: 20, siblings: [{ value: text.encode('new'), timestampMs: 20, expiresAtMs: 0, tombstone: false }] }] })],
    ['k3', objectOf('short key', 5 * 1024 + 2)],
    ['key-0004', objectOf('expires', 5 * 1024 + 2, 4_000_000_000_000)],
    ['key-0005', objectOf('fifth', 5 * 1024 + 2)],
  ];
  const builder = new EnvelopeBuilder();
  items.forEach(([key, object], tag) => builder.add({ op: Op.REPLICATE, flags: 0, key, context: undefined, value: object, timestampMs: 20, expiresAtMs: 0 }, keyBytesOf(key), ignoreReplies, tag, 1));
  const { body, flags } = builder.take();
  const { frame, view } = writeBatchFrame(body, flags, 77);
  replica.handleSafely(frame, view, 0, frame.byteLength);
  await replica.commit();
  t.same(answers, [{ status: Status.OK, requestId: 77 }], 'the envelope is answered once, OK');
  for (const [key, object] of items) t.same(Buffer.from(storage.get(text.encode(key))!), Buffer.from(object), `${key} holds its own object`);
  t.same(
    storage.dueExpiries(4_000_000_000_000, 10).map((candidate) => new TextDecoder().decode(candidate.key)),
    ['key-0004'],
    'the expiring item is indexed under its own key',
  );
});
