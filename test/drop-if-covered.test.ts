/**
 * A node's DROP_IF_COVERED (ownership-handoff.ts, range-move.ts): it drops its
 * copy only when the copy handed over covers it, and says which of three things
 * happened, so that a sweep counts only real hand-overs and is not clean while
 * the holder kept something newer than what the replicas merged.
 */
import t from 'tap';
import { NODE_STAT_SLOTS, Replica } from '../lib/node/replica.js';
import { Op, Status, encodeRequest, requestBytesOf, requestOf } from '../lib/transport/wire.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { MemoryStorage } from './simulation/memory-storage.js';

class CapturingSink {
  readonly statuses: number[] = [];
  respond(_op: number, status: number): void {
    this.statuses.push(status);
  }
}

const text = new TextEncoder();

function objectAt(counter: number, value: string): Uint8Array {
  return encodeObject({ entries: [{ actor: 7, counter, timestampMs: counter, siblings: [{ value: text.encode(value), timestampMs: counter, expiresAtMs: 0, tombstone: false }] }] });
}

async function send(replica: Replica, op: number, key: string, value: Uint8Array): Promise<void> {
  const request = requestOf(op, key, value);
  const keyBytes = Buffer.byteLength(key);
  const frame = Buffer.alloc(requestBytesOf(request, keyBytes));
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  encodeRequest(frame, view, 0, 1, request, keyBytes);
  replica.handleSafely(frame, view, 0, frame.byteLength);
  await replica.commit();
}

t.test('DROP_IF_COVERED drops a covered copy (OK), keeps a newer one (CONFLICT) and finds nothing where nothing is stored (NOT_FOUND)', async (t) => {
  const engine = new MemoryStorage();
  const sink = new CapturingSink();
  const replica = new Replica(engine, { nodeId: 1, conflicts: 'siblings', clockEntriesMax: 10, objectBytesMax: 1 << 20 }, sink, new Float64Array(NODE_STAT_SLOTS));
  await send(replica, Op.REPLICATE, 'newer', objectAt(2, 'w2'));
  await send(replica, Op.REPLICATE, 'covered', objectAt(1, 'w1'));
  sink.statuses.length = 0;
  await send(replica, Op.DROP_IF_COVERED, 'newer', objectAt(1, 'w1'));
  await send(replica, Op.DROP_IF_COVERED, 'covered', objectAt(2, 'w2'));
  await send(replica, Op.DROP_IF_COVERED, 'absent', objectAt(1, 'w1'));
  t.same(sink.statuses, [Status.CONFLICT, Status.OK, Status.NOT_FOUND]);
  t.ok(engine.get(text.encode('newer')) !== undefined, 'the newer copy is kept');
  t.equal(engine.get(text.encode('covered')), undefined, 'the covered copy is dropped');
});
