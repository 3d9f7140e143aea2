/**
 * A link's outbox copies (node-link.ts OutboxBuffers): a large copy reuses
 * the memory of one the ring took, never of one still queued, and the pool
 * keeps at most OUTBOX_BUFFERS_MAX buffers.
 */
import t from 'tap';
import { OUTBOX_BUFFERS_MAX, OUTBOX_BUFFER_BYTES, OUTBOX_POOLED_BYTES_MIN, OutboxBuffers } from '../lib/transport/node-link.js';

t.test('a large copy reuses the buffer of one the ring took', async (t) => {
  const buffers = new OutboxBuffers();
  const first = buffers.take(100_000);
  t.equal(first.byteLength, 100_000, 'exactly the bytes asked for');
  t.equal(first.byteOffset, 0);
  buffers.sent(first);
  t.equal(buffers.freeCount, 1, 'kept once the ring took it');
  const second = buffers.take(OUTBOX_POOLED_BYTES_MIN);
  t.equal(second.buffer, first.buffer, 'the next large copy takes its memory');
  t.equal(second.byteLength, OUTBOX_POOLED_BYTES_MIN);
  t.equal(buffers.freeCount, 0);
});

t.test('copies still queued never share memory', async (t) => {
  const buffers = new OutboxBuffers();
  const queued = Array.from({ length: 4 }, () => buffers.take(70_000));
  t.equal(new Set(queued.map((message) => message.buffer)).size, 4, 'four queued copies, four buffers');
  buffers.sent(queued[0]!);
  const next = buffers.take(70_000);
  t.equal(next.buffer, queued[0]!.buffer, 'only the sent one is reused');
  t.notOk(queued.slice(1).some((message) => message.buffer === next.buffer));
});

t.test('small and oversized copies are not pooled, and the pool is bounded', async (t) => {
  const buffers = new OutboxBuffers();
  const small = buffers.take(OUTBOX_POOLED_BYTES_MIN - 1);
  const large = buffers.take(OUTBOX_BUFFER_BYTES + 1);
  t.not(small.buffer.byteLength, OUTBOX_BUFFER_BYTES);
  buffers.sent(small);
  buffers.sent(large);
  t.equal(buffers.freeCount, 0, 'neither is kept');
  const many = Array.from({ length: OUTBOX_BUFFERS_MAX + 3 }, () => buffers.take(OUTBOX_BUFFER_BYTES));
  for (const message of many) buffers.sent(message);
  t.equal(buffers.freeCount, OUTBOX_BUFFERS_MAX, `at most ${OUTBOX_BUFFERS_MAX} kept`);
});
