/**
 * One commit for a burst (issue 15 target 4): a node's commit takes the
 * writes queued when its transaction starts, not when it was asked for, and
 * while it is open it drains into itself the writes that arrived since,
 * the rest of a burst or not (node/commit-extension.ts). Real LMDB (durability
 * 'async': lmdb-js starts the transaction later, on its writer thread) and
 * real rings, in this thread.
 */
import t, { type Test } from 'tap';
import { NODE_STAT_SLOTS, NodeStat, Replica } from '../lib/node/replica.js';
import { commitExtension } from '../lib/node/commit-extension.js';
import { LmdbStorage } from '../lib/storage/lmdb-storage.js';
import type { StorageEngine, WriteBatch } from '../lib/storage/storage-engine.js';
import { RingReader, RingWriter, allocateRing } from '../lib/transport/spsc-ring.js';
import { Op, RequestFlag, Status, encodeRequest, keyBytesOf, requestBytesOf, requestOf, type RequestRecord } from '../lib/transport/wire.js';
import { EnvelopeBuilder } from '../lib/transport/write-envelope.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { writeBatchFrame } from './helpers/write-batch-frame.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { tempDir } from './helpers/temp-store.js';

const text = new TextEncoder();
const MESSAGE_BYTES_MAX = 1 << 20;

class CapturingSink {
  readonly responses: { op: number; status: number; requestId: number }[] = [];
  respond(op: number, status: number, requestId: number): void {
    this.responses.push({ op, status, requestId });
  }
}

/** LMDB, noting whether each read came while a write transaction of this engine was applying. */
class WatchedStorage implements StorageEngine {
  applying = false;
  readonly readsWhileApplying: boolean[] = [];
  constructor(private readonly inner: LmdbStorage) {}
  write(apply: (batch: WriteBatch) => void): Promise<void> | undefined {
    return this.inner.write((batch) => {
      this.applying = true;
      try {
        apply(batch);
      } finally {
        this.applying = false;
      }
    });
  }
  get(key: Uint8Array): Uint8Array | undefined {
    this.readsWhileApplying.push(this.applying);
    return this.inner.get(key);
  }
  dueExpiries: StorageEngine['dueExpiries'] = (...args) => this.inner.dueExpiries(...args);
  getHint: StorageEngine['getHint'] = (...args) => this.inner.getHint(...args);
  hintsOf: StorageEngine['hintsOf'] = (...args) => this.inner.hintsOf(...args);
  hintCounts: StorageEngine['hintCounts'] = () => this.inner.hintCounts();
  scan: StorageEngine['scan'] = (...args) => this.inner.scan(...args);
  range: StorageEngine['range'] = (...args) => this.inner.range(...args);
  readTerms: StorageEngine['readTerms'] = () => this.inner.readTerms();
  readEpoch: StorageEngine['readEpoch'] = () => this.inner.readEpoch();
  counts: StorageEngine['counts'] = () => this.inner.counts();
  close: StorageEngine['close'] = () => this.inner.close();
}

/** An lww object minted by node 2, as a coordinator replicates it. */
function objectOf(value: string): Uint8Array {
  return encodeObject({ entries: [{ actor: 5 * 1024 + 2, counter: 1, timestampMs: 10, siblings: [{ value: text.encode(value), timestampMs: 10, expiresAtMs: 0, tombstone: false }] }] });
}

function replicateOf(key: string): RequestRecord {
  return { ...requestOf(Op.REPLICATE, key, objectOf(`value of ${key}`)), timestampMs: 10 };
}

/** Write one request into the ring (there must be room). */
function send(writer: RingWriter, requestId: number, request: RequestRecord): void {
  const keyBytes = keyBytesOf(request.key);
  const at = writer.reserve(requestBytesOf(request, keyBytes));
  if (at < 0) throw new Error('no room in the test ring');
  encodeRequest(writer.bytes, writer.view, at, requestId, request, keyBytes);
}

/** A message's bytes, as the ring hands them over. */
function message(request: RequestRecord, requestId: number): Uint8Array {
  const keyBytes = keyBytesOf(request.key);
  const bytes = Buffer.alloc(requestBytesOf(request, keyBytes));
  encodeRequest(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, requestId, request, keyBytes);
  return bytes;
}

function setup(t: Test) {
  const storage = new LmdbStorage({ path: tempDir(t), nodeId: 1, durability: 'async' });
  t.teardown(() => storage.close());
  const engine = new WatchedStorage(storage);
  const sink = new CapturingSink();
  const stats = new Float64Array(NODE_STAT_SLOTS);
  const replica = new Replica(engine, { nodeId: 1, conflicts: 'lww', clockEntriesMax: 10, objectBytesMax: 1 << 20 }, sink, stats);
  const handle = (bytes: Uint8Array, view: DataView, offset: number, length: number) => replica.handleSafely(bytes, view, offset, length);
  const handleMessage = (bytes: Uint8Array) => handle(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength);
  return { storage, engine, sink, stats, replica, handle, handleMessage };
}

t.test('a commit asked for again before its transaction started is the same commit: it takes the writes queued meanwhile', async (t) => {
  const { storage, sink, stats, replica, handleMessage } = setup(t);
  handleMessage(message(replicateOf('first'), 1));
  const first = replica.commit();
  t.ok(first !== undefined, 'a durable commit completes later');
  handleMessage(message(replicateOf('second'), 2));
  const second = replica.commit();
  t.equal(second, first, 'no second transaction is asked for');
  await replica.committed();
  t.equal(stats[NodeStat.COMMITS], 1, 'one commit');
  t.same(sink.responses.map((r) => [r.requestId, r.status]), [[1, Status.OK], [2, Status.OK]], 'both answered, in order, once committed');
  t.ok(storage.get(text.encode('first')) !== undefined && storage.get(text.encode('second')) !== undefined, 'both stored');
  // Once its transaction started, a commit takes nothing more: the next writes make the next one.
  handleMessage(message(replicateOf('third'), 3));
  await replica.commit();
  t.equal(stats[NodeStat.COMMITS], 2);
});

t.test('a commit takes what its extension queues while its transaction is open', async (t) => {
  const { storage, sink, stats, replica, handleMessage } = setup(t);
  handleMessage(message(replicateOf('asked'), 1));
  let calls = 0;
  const extend = () => {
    calls++;
    if (calls > 2) return false;
    handleMessage(message(replicateOf(`extended-${calls}`), 1 + calls));
    return true;
  };
  await replica.commit(extend);
  t.equal(calls, 3, 'asked until it had nothing more');
  t.equal(stats[NodeStat.COMMITS], 1, 'one commit');
  t.same(sink.responses.map((r) => r.requestId), [1, 2, 3], 'every write answered, in arrival order');
  for (const key of ['asked', 'extended-1', 'extended-2']) t.ok(storage.get(text.encode(key)) !== undefined, `${key} stored`);
});

t.test('a node drains the rest of a burst into the open commit; a read met there waits until the transaction closed', async (t) => {
  const { storage, engine, sink, stats, replica, handle } = setup(t);
  const ring = allocateRing(8192);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring, MESSAGE_BYTES_MAX);
  const published: number[] = [];
  const extend = commitExtension(reader, handle, { stopped: () => false, publish: () => published.push(sink.responses.length) });

  // The first part of a burst, and a producer that waits for room for the rest.
  send(writer, 1, replicateOf('burst-1'));
  writer.publish();
  const waited = writer.waitForSpaceAsync(writer.capacityBytes, 1000);
  t.ok(waited !== undefined, 'the producer waits for room');
  t.equal(reader.read(handle, 4096), 1);
  await waited;
  // The rest arrives before the commit's transaction starts: a write, a read of it, another write.
  send(writer, 2, replicateOf('burst-2'));
  send(writer, 3, requestOf(Op.GET, 'burst-2', undefined));
  send(writer, 4, replicateOf('burst-3'));
  writer.publish();
  await replica.commit(extend);
  // The commit took burst-2 and stopped at the GET; burst-3 waits in the ring for the loop.
  t.equal(stats[NodeStat.COMMITS], 1);
  t.same(engine.readsWhileApplying, [false], 'the GET was served outside the write transaction');
  const get = sink.responses.find((r) => r.requestId === 3);
  t.ok(get !== undefined && get.op === Op.GET, 'the GET is answered');
  t.same(published.length, 1, 'and published');
  t.same(sink.responses.filter((r) => r.op === Op.REPLICATE).map((r) => r.requestId), [1, 2], 'the writes before it are committed and answered together');
  t.ok(storage.get(text.encode('burst-2')) !== undefined);
  t.ok(reader.hasData(), 'what came after the GET is left to the loop');
  t.equal(reader.read(handle, 4096), 1);
  await replica.commit(extend);
  t.equal(stats[NodeStat.COMMITS], 2);
  t.ok(storage.get(text.encode('burst-3')) !== undefined);
});

t.test('writes that arrived while the transaction is open join it, whoever sent them; a stopped node drains none', async (t) => {
  const { storage, sink, stats, replica, handle } = setup(t);
  const ring = allocateRing(8192);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring, MESSAGE_BYTES_MAX);
  let stopped = false;
  const extend = commitExtension(reader, handle, { stopped: () => stopped, publish: () => {} });
  // No burst: one write drained, and another sent by a producer that never waited for room.
  send(writer, 1, replicateOf('alone-1'));
  writer.publish();
  t.equal(reader.read(handle, 4096), 1);
  send(writer, 2, replicateOf('alone-2'));
  writer.publish();
  await replica.commit(extend);
  t.equal(stats[NodeStat.COMMITS], 1, 'one commit for both');
  t.notOk(reader.hasData(), 'the later write was drained into it');
  t.same(sink.responses.map((r) => r.requestId), [1, 2], 'both answered, in arrival order');
  t.ok(storage.get(text.encode('alone-2')) !== undefined);
  // A stopped node (a crash, a pause) drains nothing into its commit.
  stopped = true;
  send(writer, 3, replicateOf('alone-3'));
  writer.publish();
  t.equal(extend(), false);
  t.ok(reader.hasData(), 'left in the ring');
});

t.test('MINT_ONLY PUTs, alone or in an envelope, are not drained into an open transaction: they mint from committed storage', async (t) => {
  const { engine, sink, stats, replica, handle } = setup(t);
  const ring = allocateRing(8192);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring, MESSAGE_BYTES_MAX);
  const extend = commitExtension(reader, handle, { stopped: () => false, publish: () => {} });
  send(writer, 1, replicateOf('first'));
  writer.publish();
  t.equal(reader.read(handle, 4096), 1);
  const mintOnly = (key: string): RequestRecord => ({ ...requestOf(Op.PUT, key, text.encode(`minted ${key}`)), flags: RequestFlag.BLIND | RequestFlag.MINT_ONLY, timestampMs: 10 });
  send(writer, 2, mintOnly('alone'));
  const builder = new EnvelopeBuilder();
  const ignored: PendingReply = { onReply: () => {}, onNodeFailure: () => {} };
  builder.add(mintOnly('enveloped'), keyBytesOf('enveloped'), ignored, 0, 1);
  const { body, flags } = builder.take();
  t.ok((flags & RequestFlag.MINT_ONLY) !== 0, 'the envelope carries the flag');
  const { frame } = writeBatchFrame(body, flags, 3);
  const at = writer.reserve(frame.byteLength);
  writer.bytes.set(frame, at);
  writer.publish();
  await replica.commit(extend);
  await Promise.resolve();
  t.equal(stats[NodeStat.COMMITS], 1, 'one commit: the REPLICATE');
  t.same(sink.responses.map((r) => [r.requestId, r.status]).sort(), [[1, Status.OK], [2, Status.OK]], 'the REPLICATE and the lone mint answered');
  t.same(engine.readsWhileApplying, [false], 'the mint read once the transaction closed, not inside it');
  t.ok(reader.hasData(), 'the drain stopped at the mint: the envelope waits for the node loop');
  t.equal(reader.read(handle, 4096), 1);
  t.same(sink.responses.map((r) => [r.requestId, r.status]).sort(), [[1, Status.OK], [2, Status.OK], [3, Status.OK]], 'the envelope\u2019s mint answered at once, no commit');
  t.same(engine.readsWhileApplying, [false, false]);
  t.equal(stats[NodeStat.COMMITS], 1);
});
