/**
 * Write envelopes (wire.ts, Op.WRITE_BATCH): putMany packs the copies bound
 * for one node into one message. Pure tests of the format, of the builder and
 * of the answers' routing on both sides; a Replica over in-memory storage; and
 * putMany against real nodes, with large items, faults and a crash.
 */
import t from 'tap';
import { NODE_STAT_SLOTS, Replica } from '../lib/node/replica.js';
import { CHUNK_BYTES_TARGET, EnvelopeAnswer } from '../lib/node/envelope-answer.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { EnvelopeBatcher, EnvelopeBuilder, ENVELOPE_BYTES_TARGET, ENVELOPE_ITEMS_TARGET } from '../lib/transport/write-envelope.js';
import {
  CONTEXT_PAIR_BYTES,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_ITEM_BYTES_MAX,
  Op,
  Request,
  RequestFlag,
  Response,
  Status,
  contextOffset,
  encodeRequest,
  forEachEnvelopeItem,
  keyBytesOf,
} from '../lib/transport/wire.js';
import { hintedTarget } from '../lib/ring/sloppy-quorum.js';
import { decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { siblingsOf } from '../lib/version/dotted-version-vector.js';
import { MemoryStorage } from './simulation/memory-storage.js';
import { ErrorCode, RingtableError, type Store } from '../lib/index.js';
import { eventually, openTemp } from './helpers/temp-store.js';
import { writeBatchFrame } from './helpers/write-batch-frame.js';

const text = new TextEncoder();
const untext = new TextDecoder();

/** A PendingReply that records what reached it. */
class Recorder implements PendingReply {
  readonly replies: { target: number; status: number; payload: string; tag: number }[] = [];
  readonly failures: { target: number; message: string; tag: number }[] = [];
  throwOnTag = -1;

  onReply(target: number, status: number, bytes: Uint8Array, _view: DataView, at: number, length: number, tag: number): void {
    if (tag === this.throwOnTag) throw new Error(`item ${tag} cannot use its answer`);
    this.replies.push({ target, status, payload: untext.decode(bytes.subarray(at, at + length)), tag });
  }

  onNodeFailure(target: number, error: Error, tag: number): void {
    this.failures.push({ target, message: error.message, tag });
  }
}

/** The node side's answers, as the coordinator would read them off the response ring. */
class CapturingSink {
  readonly responses: { op: number; status: number; requestId: number; payload: Uint8Array }[] = [];
  respond(op: number, status: number, requestId: number, payload: Uint8Array | undefined): void {
    this.responses.push({ op, status, requestId, payload: payload === undefined ? new Uint8Array(0) : payload.slice() });
  }
}

/** EnvelopeBuilder.add, measuring the key as EnvelopeBatcher does. */
function pack(
  builder: EnvelopeBuilder,
  op: number,
  flags: number,
  key: string | Uint8Array,
  context: [number, number][] | undefined,
  value: Uint8Array | undefined,
  timestampMs: number,
  expiresAtMs: number,
  reply: PendingReply,
  tag: number,
  target: number,
): void {
  builder.add({ op, flags, key, context, value, timestampMs, expiresAtMs }, keyBytesOf(key), reply, tag, target);
}

/** putMany `entries`, and the envelopes and envelope items (copies) it sent. */
async function putManyInEnvelopes(store: Store, entries: (readonly [string, Uint8Array])[]): Promise<{ sent: number; items: number }> {
  const before = store.stats();
  await store.putMany(entries);
  const after = store.stats();
  return { sent: after.writeEnvelopes - before.writeEnvelopes, items: after.writeEnvelopeItems - before.writeEnvelopeItems };
}

/** Keys of `entries` whose value, read from all three replicas (R = 3), is not a Uint8Array of exactly their bytes. */
async function keysNotOnEveryReplica(store: Store, entries: (readonly [string, Uint8Array])[]): Promise<number> {
  const read = await store.getMany(entries.map(([key]) => key), { r: 3 });
  return read.filter((result, i) => !(result?.value instanceof Uint8Array) || Buffer.compare(result.value, entries[i]![1]) !== 0).length;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

t.test('an envelope carries each item as a whole request message, in order, 8-aligned', async (t) => {
  const builder = new EnvelopeBuilder();
  const reply = new Recorder();
  const items = [
    { op: Op.PUT, flags: RequestFlag.BLIND, key: 'alpha', context: undefined, value: text.encode('one'), target: 2 },
    { op: Op.REPLICATE, flags: 0, key: new Uint8Array([0, 255, 7]), context: undefined, value: new Uint8Array(13).fill(9), target: hintedTarget(1, 3) },
    { op: Op.PUT, flags: 0, key: 'ключ', context: [[5, 6]] as [number, number][], value: new Uint8Array(0), target: 2 },
  ];
  items.forEach((item, i) => pack(builder, item.op, item.flags, item.key, item.context, item.value, 1000 + i, i === 0 ? 5000 : 0, reply, 10 + i, item.target));
  t.equal(builder.itemCount, 3);
  const { body, flags, envelope } = builder.take();
  t.equal(flags, RequestFlag.MINTS, 'an envelope holding a PUT is marked as minting');
  t.equal(envelope.itemCount, 3);
  t.equal(builder.itemCount, 0, 'the builder starts a new envelope');
  const view = viewOf(body);
  const seen: number[] = [];
  const count = forEachEnvelopeItem(view, 0, body.byteLength, true, (at, length, index) => {
    seen.push(index);
    t.equal(at % 8, 0, `item ${index} starts 8-aligned`);
    const item = items[index]!;
    t.equal(view.getUint8(at + Request.OP), item.op);
    t.equal(view.getUint8(at + Request.FLAGS), item.flags);
    t.equal(view.getUint32(at + Request.REQUEST_ID, true), index, 'requestId is the item index');
    t.equal(view.getFloat64(at + Request.TIMESTAMP_MS, true), 1000 + index);
    const keyBytes = view.getUint32(at + Request.KEY_BYTES, true);
    const key = body.subarray(at + Request.HEADER_BYTES, at + Request.HEADER_BYTES + keyBytes);
    t.same(Buffer.from(key), typeof item.key === 'string' ? Buffer.from(item.key) : Buffer.from(item.key), `item ${index} key`);
    const pairs = view.getUint32(at + Request.CONTEXT_PAIRS, true);
    t.equal(pairs, item.context?.length ?? 0);
    const valueAt = at + contextOffset(keyBytes) + pairs * CONTEXT_PAIR_BYTES;
    t.same(Buffer.from(body.subarray(valueAt, valueAt + view.getUint32(at + Request.VALUE_BYTES, true))), Buffer.from(item.value));
    t.equal(valueAt + item.value.byteLength, at + length, 'the message ends with its value');
    t.equal(view.getUint16(at + Request.HINT_OWNER, true), index === 1 ? 4 : 0, 'a hinted target travels as its hint owner field');
  });
  t.equal(count, 3);
  t.same(seen, [0, 1, 2]);

  pack(builder, Op.REPLICATE, 0, 'k', undefined, new Uint8Array(4), 0, 0, reply, 0, 1);
  t.equal(builder.take().flags, 0, 'replication alone may be duplicated by fault injection');
});

t.test('an item\u2019s padding is zeroed, whatever the reused buffer held: equal envelopes are equal bytes', async (t) => {
  const reply = new Recorder();
  const fresh = new EnvelopeBuilder();
  const reused = new EnvelopeBuilder();
  // Dirty the reused builder's buffer with bytes of 0xff where the next envelope's padding falls.
  for (let i = 0; i < 8; i++) pack(reused, Op.REPLICATE, 0, new Uint8Array(8).fill(0xff), undefined, new Uint8Array(64).fill(0xff), 0, 0, reply, i, 1);
  reused.take();
  // Values of 1 to 7 bytes: every padding length from 7 down to 1.
  for (const builder of [fresh, reused]) {
    for (let i = 1; i <= 8; i++) pack(builder, Op.REPLICATE, 0, 'k', undefined, new Uint8Array(i).fill(i), 5, 0, reply, i, 1);
  }
  const a = Buffer.from(fresh.take().body);
  const b = Buffer.from(reused.take().body);
  t.equal(a.byteLength, b.byteLength);
  t.ok(a.equals(b), 'the same bytes from a fresh and a reused builder');
});

t.test('a message encoded once and added to several envelopes: the bytes its record gives each, id and hint owner its own', async (t) => {
  const reply = new Recorder();
  const record = { op: Op.REPLICATE, flags: 0, key: 'minted', context: undefined, value: new Uint8Array(13).fill(7), timestampMs: 1234, expiresAtMs: 0 };
  const other = { op: Op.REPLICATE, flags: 0, key: new Uint8Array([1, 2, 3]), context: undefined, value: new Uint8Array(5).fill(3), timestampMs: 9, expiresAtMs: 0 };
  // The message as put-many-items.ts builds it: encoded with request id and hint owner 0.
  const message = new Uint8Array(Buffer.from(encodedAlone(record)));
  const targets = [2, hintedTarget(1, 3), 0];
  for (const target of targets) {
    const byRecord = new EnvelopeBuilder();
    const byMessage = new EnvelopeBuilder();
    // A dirty buffer where the padding falls, and an item before, so the index is not 0.
    for (const builder of [byRecord, byMessage]) {
      pack(builder, Op.REPLICATE, 0, new Uint8Array(8).fill(0xff), undefined, new Uint8Array(200).fill(0xff), 0, 0, reply, 0, target);
      builder.take();
      builder.add(other, keyBytesOf(other.key), reply, 1, target);
    }
    byRecord.add(record, keyBytesOf(record.key), reply, 2, target);
    byMessage.addMessage(message, reply, 2, target);
    const a = byRecord.take();
    const b = byMessage.take();
    t.ok(Buffer.from(a.body).equals(b.body), `target ${target}: the same envelope`);
    t.equal(b.flags, a.flags);
  }
  t.same(Buffer.from(message), Buffer.from(encodedAlone(record)), 'the message itself is left as it was');
  const putMessage = new Uint8Array(Buffer.from(encodedAlone({ ...record, op: Op.PUT })));
  const builder = new EnvelopeBuilder();
  builder.addMessage(putMessage, reply, 0, 1);
  t.equal(builder.take().flags, RequestFlag.MINTS, 'a PUT message marks its envelope as minting');

  const sent: number[] = [];
  const batcher = new EnvelopeBatcher(
    (nodeId, _flags, _body, envelope) => sent.push(nodeId, envelope.itemCount),
    () => {},
  );
  let packed = 0;
  for (let i = 0; i < ENVELOPE_ITEMS_TARGET; i++) if (batcher.addMessage(3, message, reply, i)) packed++;
  t.equal(packed, ENVELOPE_ITEMS_TARGET);
  t.same(sent, [3, ENVELOPE_ITEMS_TARGET], 'the batcher sends a full envelope of messages at once');
  t.notOk(batcher.addMessage(1, new Uint8Array(ENVELOPE_ITEM_BYTES_MAX + 1), reply, 0), 'a message too large for an envelope is refused');
});

/** `record`'s message alone, with request id and hint owner 0. */
function encodedAlone(record: { op: number; flags: number; key: string | Uint8Array; context: undefined; value: Uint8Array; timestampMs: number; expiresAtMs: number }): Uint8Array {
  const keyBytes = keyBytesOf(record.key);
  const bytes = Buffer.alloc(contextOffset(keyBytes) + record.value.byteLength);
  encodeRequest(bytes, viewOf(bytes), 0, 0, record, keyBytes, 0);
  return bytes;
}

t.test('a malformed envelope is refused whole, before any item is visited', async (t) => {
  const builder = new EnvelopeBuilder();
  const reply = new Recorder();
  for (let i = 0; i < 3; i++) pack(builder, Op.REPLICATE, 0, `k${i}`, undefined, new Uint8Array(10), 0, 0, reply, i, 0);
  const body = builder.take().body.slice();
  const visits = (bytes: Uint8Array) => {
    let visited = 0;
    const outcome = (() => {
      try {
        forEachEnvelopeItem(viewOf(bytes), 0, bytes.byteLength, true, () => visited++);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    return { visited, outcome };
  };
  t.same(visits(body), { visited: 3, outcome: 'accepted' });
  const truncated = visits(body.subarray(0, body.byteLength - 8));
  t.equal(truncated.visited, 0, 'truncated: nothing visited');
  t.match(truncated.outcome, /truncated/);
  const trailing = new Uint8Array(body.byteLength + 8);
  trailing.set(body);
  t.match(visits(trailing).outcome, /trailing/);
  const lying = body.slice();
  viewOf(lying).setUint32(ENVELOPE_HEADER_BYTES, 1 << 20, true);
  t.match(visits(lying).outcome, /truncated/, 'an item length past the end');
  const tooMany = body.slice();
  viewOf(tooMany).setUint32(0, 1 << 30, true);
  t.match(visits(tooMany).outcome, /envelope of/);
  t.match(visits(new Uint8Array(4)).outcome, /too short/);
});

t.test('the builder sends an envelope once it holds ENVELOPE_BYTES_TARGET, and an oversized item alone', async (t) => {
  const builder = new EnvelopeBuilder();
  t.ok(builder.fits(ENVELOPE_ITEM_BYTES_MAX * 4), 'an empty envelope takes anything');
  const reply = new Recorder();
  const value = new Uint8Array(4000);
  let added = 0;
  while (builder.fits(Request.HEADER_BYTES + 8 + value.byteLength)) {
    pack(builder, Op.REPLICATE, 0, `key-${added}`, undefined, value, 0, 0, reply, added, 0);
    added++;
  }
  t.ok(builder.byteLength <= ENVELOPE_BYTES_TARGET, `${added} items, ${builder.byteLength} bytes: within the target`);
  t.ok(builder.byteLength + 4096 > ENVELOPE_BYTES_TARGET, 'and full');
  const big = new Uint8Array(ENVELOPE_BYTES_TARGET * 2);
  const fresh = new EnvelopeBuilder();
  pack(fresh, Op.REPLICATE, 0, 'big', undefined, big, 0, 0, reply, 0, 0);
  const { body } = fresh.take();
  t.ok(body.byteLength > big.byteLength, 'the buffer grows for an item larger than the target');
});

t.test('the batcher: one envelope per node, sent when full or when the scheduled flush runs; oversized requests refused', async (t) => {
  const sent: { nodeId: number; flags: number; items: number; ops: number[] }[] = [];
  const flushes: (() => void)[] = [];
  const batcher = new EnvelopeBatcher(
    (nodeId, flags, body, envelope) => {
      const view = viewOf(body);
      const ops: number[] = [];
      forEachEnvelopeItem(view, 0, body.byteLength, true, (at) => ops.push(view.getUint8(at + Request.OP)));
      sent.push({ nodeId, flags, items: envelope.itemCount, ops });
    },
    (flush) => flushes.push(flush),
  );
  const reply = new Recorder();
  const small = new Uint8Array(10);
  let packed = 0;
  for (let i = 0; i < ENVELOPE_ITEMS_TARGET + 3; i++) if (batcher.add(2, { op: Op.REPLICATE, flags: 0, key: `r${i}`, context: undefined, value: small, timestampMs: 0, expiresAtMs: 0 }, reply, i)) packed++;
  t.equal(packed, ENVELOPE_ITEMS_TARGET + 3, 'small requests are all packed');
  t.same(sent.map((s) => [s.nodeId, s.items]), [[2, ENVELOPE_ITEMS_TARGET]], 'a full envelope goes at once');
  t.ok(batcher.add(hintedTarget(1, 3), { op: Op.PUT, flags: 0, key: 'p', context: undefined, value: small, timestampMs: 0, expiresAtMs: 0 }, reply, 0), 'a hinted target packs for its node');
  t.equal(flushes.length, 1, 'one flush scheduled per turn');
  t.notOk(batcher.add(1, { op: Op.REPLICATE, flags: 0, key: 'huge', context: undefined, value: new Uint8Array(ENVELOPE_ITEM_BYTES_MAX), timestampMs: 0, expiresAtMs: 0 }, reply, 0), 'too large for an envelope: refused, to travel alone');
  flushes.shift()!();
  t.same(
    sent.slice(1).map((s) => [s.nodeId, s.items, s.flags]),
    [
      [1, 1, RequestFlag.MINTS],
      [2, 3, 0],
    ],
    'the flush sends every node\u2019s envelope, in node order, each flagged by what it holds',
  );
  t.equal(batcher.envelopesSent, 3);
  t.equal(batcher.itemsSent, ENVELOPE_ITEMS_TARGET + 4);
  flushes.length = 0;
  batcher.add(0, { op: Op.REPLICATE, flags: 0, key: 'again', context: undefined, value: small, timestampMs: 0, expiresAtMs: 0 }, reply, 0);
  t.equal(flushes.length, 1, 'the next turn schedules its own flush');
});

t.test('answers reach the item that asked, in PARTIAL chunks and a last OK', async (t) => {
  const builder = new EnvelopeBuilder();
  const reply = new Recorder();
  const itemCount = 40;
  for (let i = 0; i < itemCount; i++) pack(builder, Op.PUT, 0, `k${i}`, undefined, new Uint8Array(1), 0, 0, reply, 100 + i, i % 2 === 0 ? 1 : hintedTarget(1, 0));
  const { envelope } = builder.take();
  // The node side: answers come in any order, some large, so they split into chunks.
  const sink = new CapturingSink();
  const answer = new EnvelopeAnswer(sink, 77, itemCount);
  const order = Array.from({ length: itemCount }, (_, i) => (i * 7) % itemCount);
  for (const index of order) {
    const payload = index % 10 === 0 ? new Uint8Array(CHUNK_BYTES_TARGET / 3).fill(65) : text.encode(`answer ${index}`);
    answer.add(Op.PUT, index === 13 ? Status.ERROR : Status.OK, index, payload);
  }
  t.ok(answer.done);
  t.ok(sink.responses.length >= 2, `${sink.responses.length} responses`);
  t.ok(sink.responses.slice(0, -1).every((r) => r.status === Status.PARTIAL), 'PARTIAL chunks first');
  t.equal(sink.responses.at(-1)!.status, Status.OK, 'then a last OK');
  t.ok(sink.responses.every((r) => r.requestId === 77 && r.op === Op.WRITE_BATCH));
  t.ok(sink.responses.every((r) => r.payload.byteLength <= CHUNK_BYTES_TARGET), 'no chunk over the target');
  for (const response of sink.responses) envelope.onReply(1, response.status, response.payload, viewOf(response.payload), 0, response.payload.byteLength);
  t.equal(reply.replies.length, itemCount, 'every item answered once');
  t.equal(reply.failures.length, 0);
  const byTag = new Map(reply.replies.map((r) => [r.tag, r]));
  for (let i = 0; i < itemCount; i++) {
    const got = byTag.get(100 + i)!;
    t.equal(got.target, i % 2 === 0 ? 1 : hintedTarget(1, 0), `item ${i} answered with its own target`);
    t.equal(got.status, i === 13 ? Status.ERROR : Status.OK);
    if (i % 10 !== 0) t.equal(got.payload, `answer ${i}`);
  }
  t.throws(() => answer.add(Op.PUT, Status.OK, 3, undefined), /answered twice/, 'an item cannot be answered twice');

  const empty = new CapturingSink();
  new EnvelopeAnswer(empty, 5, 0);
  t.equal(empty.responses.length, 1, 'an empty envelope is answered at once');
  t.equal(empty.responses[0]!.status, Status.OK);
});

t.test('items left unanswered fail: by an early OK, an ERROR, a node failure, or an answer their operation rejects', async (t) => {
  const make = (count: number) => {
    const builder = new EnvelopeBuilder();
    const reply = new Recorder();
    for (let i = 0; i < count; i++) pack(builder, Op.REPLICATE, 0, `k${i}`, undefined, new Uint8Array(1), 0, 0, reply, i, 3);
    return { reply, envelope: builder.take().envelope };
  };
  const answerFor = (status: number, indexes: number[]) => {
    const sink = new CapturingSink();
    const answer = new EnvelopeAnswer(sink, 1, indexes.length);
    for (const index of indexes) {
      // EnvelopeAnswer numbers answers by item; re-label them to the given indexes.
      answer.add(Op.REPLICATE, Status.OK, indexes.indexOf(index), undefined);
    }
    const payload = sink.responses[0]!.payload;
    const view = viewOf(payload);
    forEachEnvelopeItem(view, 0, payload.byteLength, false, (at, _length, i) => view.setUint32(at + Response.REQUEST_ID, indexes[i]!, true));
    return { status, payload };
  };

  {
    const { reply, envelope } = make(4);
    const { payload } = answerFor(Status.OK, [0, 2]);
    envelope.onReply(3, Status.OK, payload, viewOf(payload), 0, payload.byteLength);
    t.same(reply.replies.map((r) => r.tag), [0, 2]);
    t.same(reply.failures.map((f) => f.tag), [1, 3], 'an OK that leaves items unanswered fails them');
    t.match(reply.failures[0]!.message, /unanswered/);
  }
  {
    const { reply, envelope } = make(3);
    const partial = answerFor(Status.PARTIAL, [1]);
    envelope.onReply(3, Status.PARTIAL, partial.payload, viewOf(partial.payload), 0, partial.payload.byteLength);
    envelope.onNodeFailure(3, new Error('node 3 crashed'));
    t.same(reply.replies.map((r) => r.tag), [1]);
    t.same(reply.failures.map((f) => f.tag), [0, 2], 'a node failure fails only what was not answered');
    envelope.onNodeFailure(3, new Error('again'));
    t.equal(reply.failures.length, 2, 'and never twice');
  }
  {
    const { reply, envelope } = make(2);
    const refusal = text.encode('malformed');
    envelope.onReply(3, Status.ERROR, refusal, viewOf(refusal), 0, refusal.byteLength);
    t.same(reply.failures.map((f) => f.tag), [0, 1]);
    t.match(reply.failures[0]!.message, /refused: malformed/);
  }
  {
    const { reply, envelope } = make(3);
    reply.throwOnTag = 1;
    const { payload } = answerFor(Status.OK, [0, 1, 2]);
    envelope.onReply(3, Status.OK, payload, viewOf(payload), 0, payload.byteLength);
    t.same(reply.replies.map((r) => r.tag), [0, 2], 'the others are delivered');
    t.same(reply.failures.map((f) => f.tag), [1], 'an answer its operation rejects fails that item alone');
  }
});

t.test('a node queues an envelope\u2019s items like single writes; a bad item fails alone, a bad envelope whole', async (t) => {
  const engine = new MemoryStorage();
  const sink = new CapturingSink();
  const replica = new Replica(engine, { nodeId: 1, conflicts: 'siblings', clockEntriesMax: 10, objectBytesMax: 1 << 20 }, sink, new Float64Array(NODE_STAT_SLOTS));
  const coordinatorSide = new Recorder();
  const builder = new EnvelopeBuilder();
  const foreign = encodeObject({ entries: [{ actor: 5 * 1024 + 2, counter: 1, timestampMs: 10, siblings: [{ value: text.encode('from node 2'), timestampMs: 10, expiresAtMs: 0, tombstone: false }] }] });
  pack(builder, Op.PUT, RequestFlag.BLIND, 'put-me', undefined, text.encode('v1'), 20, 0, coordinatorSide, 0, 1);
  pack(builder, Op.REPLICATE, 0, 'replicated', undefined, foreign, 20, 0, coordinatorSide, 1, 1);
  pack(builder, Op.GET, 0, 'not-a-write', undefined, undefined, 0, 0, coordinatorSide, 2, 1);
  // A target naming node 1 as its own hint owner (hintedTarget refuses to make one): (owner + 1) << 16 | node.
  pack(builder, Op.PUT, RequestFlag.BLIND, 'self-hinted', undefined, text.encode('x'), 20, 0, coordinatorSide, 3, (2 << 16) | 1);
  pack(builder, Op.REPLICATE, 0, 'hinted', undefined, foreign, 20, 0, coordinatorSide, 4, hintedTarget(1, 3));
  const { body, flags } = builder.take();
  const { frame, view: frameView } = writeBatchFrame(body, flags, 900);
  replica.handleSafely(frame, frameView, 0, frame.byteLength);
  t.equal(sink.responses.length, 0, 'nothing is answered before its commit, not even the refused items');
  frame.fill(0xee); // the ring's bytes are reused once read: the node must own what it queued
  await replica.commit();
  t.equal(sink.responses.length, 1);
  const response = sink.responses[0]!;
  t.same([response.op, response.status, response.requestId], [Op.WRITE_BATCH, Status.OK, 900]);
  const answers = new Map<number, { status: number; payload: Uint8Array }>();
  const view = viewOf(response.payload);
  forEachEnvelopeItem(view, 0, response.payload.byteLength, false, (at, length) => {
    answers.set(view.getUint32(at + Response.REQUEST_ID, true), { status: view.getUint8(at + Response.STATUS), payload: response.payload.subarray(at + Response.HEADER_BYTES, at + length) });
  });
  t.same([...answers.keys()].sort(), [0, 1, 2, 3, 4], 'every item answered');
  t.equal(answers.get(0)!.status, Status.OK);
  t.same(siblingsOf(decodeObject(answers.get(0)!.payload)).map((s) => untext.decode(s.value)), ['v1'], 'a PUT is answered with the object it minted');
  t.equal(answers.get(1)!.status, Status.OK);
  t.equal(answers.get(2)!.status, Status.ERROR);
  t.match(untext.decode(answers.get(2)!.payload), /cannot travel in a write envelope/);
  t.equal(answers.get(3)!.status, Status.ERROR);
  t.match(untext.decode(answers.get(3)!.payload), /hints for itself/);
  t.equal(answers.get(4)!.status, Status.OK);
  t.ok(engine.get(text.encode('put-me')), 'the PUT is stored');
  t.same(Buffer.from(engine.get(text.encode('replicated'))!), Buffer.from(foreign), 'the replicated object is stored as sent');
  t.notOk(engine.get(text.encode('not-a-write')));
  t.notOk(engine.get(text.encode('self-hinted')));
  t.notOk(engine.get(text.encode('hinted')), 'a hinted item goes to the hints keyspace');
  t.ok(engine.hintOwners().includes(3));

  const broken = frame.slice();
  broken.set(body, contextOffset(0));
  viewOf(broken).setUint32(Request.VALUE_BYTES, body.byteLength - 8, true);
  const brokenLength = broken.byteLength - 8;
  sink.responses.length = 0;
  replica.handleSafely(broken, viewOf(broken), 0, brokenLength);
  await replica.commit();
  t.equal(sink.responses.length, 1, 'a truncated envelope gets one answer');
  t.equal(sink.responses[0]!.status, Status.ERROR, 'an ERROR for the envelope');
  t.match(untext.decode(sink.responses[0]!.payload), /truncated|length/);
});

t.test('putMany through envelopes against real nodes: every copy lands, large items travel alone', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 } });
  const entries = Array.from({ length: 3000 }, (_, i) => {
    // Mostly small; some past ENVELOPE_ITEM_BYTES_MAX, which go as single requests.
    const value = i % 500 === 7 ? new Uint8Array(ENVELOPE_ITEM_BYTES_MAX + 100).fill(i % 251) : new Uint8Array(20 + (i % 90)).fill(i % 251);
    return [`env:${i}`, value] as const;
  });
  const { sent, items } = await putManyInEnvelopes(store, entries);
  t.ok(sent > 0 && sent < items / 20, `${items} copies in ${sent} envelopes`);
  // Per item: its MINT_ONLY PUT to the first replica, then its object as REPLICATE to all three (wire.ts).
  t.equal(items, 4 * 3000 - 4 * 6, 'every message but the six large items\u2019 went in an envelope');
  t.equal(await keysNotOnEveryReplica(store, entries), 0, 'all three replicas of every key hold its value');
  // Nodes publish their key counts every COUNTS_INTERVAL_MS (workers/storage-node.ts), not at each commit.
  const copies = () => store.stats().nodes.reduce((sum, n) => sum + n.keys, 0);
  t.ok(await eventually(() => copies() === 3 * 3000, 5000), `exactly N copies (${copies()} of ${3 * 3000})`);

  const beforePuts = store.stats();
  const contexts = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`single:${i}`, i)));
  const afterPuts = store.stats();
  t.equal(afterPuts.writeEnvelopeItems - beforePuts.writeEnvelopeItems, 3 * 200, 'concurrent single puts travel in envelopes too');
  t.ok(afterPuts.writeEnvelopes - beforePuts.writeEnvelopes < 3 * 200 / 4, `sharing them: ${afterPuts.writeEnvelopes - beforePuts.writeEnvelopes} envelopes`);
  const updated = await store.put('single:7', 'seven', { context: contexts[7] });
  t.same((await store.get('single:7', { r: 3 }))?.siblings, ['seven'], 'the context a put returned supersedes its version');
  t.ok(updated.length > 0);
});

t.test('putMany envelopes under faults and a crash', async (t) => {
  const store = await openTemp(t, { nodes: 4, timeoutMs: 1500, replication: { n: 3, r: 2, w: 2 } });
  const keys = Array.from({ length: 600 }, (_, i) => `fault:${i}`);

  store.faults.seed(3).duplicate(1, 1);
  await store.putMany(keys.map((key) => [key, 'dup'] as const));
  t.ok(await eventually(() => store.stats().nodes.every((n) => n.queueDepth === 0), 3000), 'duplicated replication envelopes are answered and consumed');
  t.same(new Set((await store.getMany(keys, { r: 3 })).map((result) => result?.value)), new Set(['dup']), 'duplicates change nothing');
  const siblings = (await store.getMany(keys, { r: 3 })).filter((result) => result!.siblings.length !== 1).length;
  t.equal(siblings, 0, 'no envelope holding a PUT was duplicated (that would mint a second version)');

  store.faults.clear().drop(2, 1);
  const dropped = await store.putMany(keys.map((key) => [key, 'w3'] as const), { w: 3 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(dropped instanceof RingtableError && dropped.code === ErrorCode.TIMEOUT, 'W = 3 cannot be met while node 2 loses every envelope: ERR_TIMEOUT');
  store.faults.clear();
});

t.test('a putMany of 20,000 items completes through a node crash', async (t) => {
  // Its own store with the default deadline: the 1.5 s above is there to make
  // the dropped-envelope case fail fast, and 20,000 items on a loaded 2-core
  // machine can take longer than that without anything being wrong.
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 } });
  // A node crashes while a large putMany is in flight: W = 2 is met by the others (sloppy quorum).
  const big = Array.from({ length: 20_000 }, (_, i) => [`crash:${i}`, i] as const);
  const writing = store.putMany(big);
  setTimeout(() => store.crashNode(3), 5);
  await writing;
  t.pass('putMany completed through a node crash');
  const read = await store.getMany(big.map(([key]) => key));
  t.equal(read.filter((result, i) => result?.value !== i).length, 0, 'every key readable with its value');
});

t.test('with 64 KiB rings, envelopes larger than a ring go through its outbox and every byte arrives', async (t) => {
  // 'lww': putMany sends every copy as REPLICATE at once (ARCHITECTURE.md), so envelopes fill to ENVELOPE_BYTES_TARGET.
  // A long deadline: this is about bytes, and on a loaded machine the niced node threads can take seconds.
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, conflicts: 'lww', ringBytes: 1 << 16, timeoutMs: 60_000 });
  // Distinct bytes in every value, so that a byte moved, lost or left stale shows.
  let seed = 0x5eed;
  const entries = Array.from({ length: 800 }, (_, i) => {
    const value = new Uint8Array(1000 + (i % 13));
    for (let j = 0; j < value.length; j++) value[j] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    return [`outbox:${i}`, value] as const;
  });
  const { sent, items } = await putManyInEnvelopes(store, entries);
  // Each item is at least its 1000-byte value and a 40-byte header: on average an envelope outgrew the 64 KiB ring.
  t.ok((items * (1000 + Request.HEADER_BYTES)) / sent > 65_536, `${items} copies in ${sent} envelopes: larger than a ring on average`);
  t.equal(await keysNotOnEveryReplica(store, entries), 0, 'all three replicas of every key hold its value, byte for byte');
  // Again with other bytes: these copies go through outbox buffers the first putMany's left behind (node-link.ts OutboxBuffers).
  const again = entries.map(([key, value]) => [key, value.map((byte) => byte ^ 0xa5)] as const);
  await store.putMany(again);
  t.equal(await keysNotOnEveryReplica(store, again), 0, 'the second putMany\'s bytes on all three replicas');
});
