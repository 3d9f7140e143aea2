/**
 * The SPSC ring on one thread, over a real SharedArrayBuffer: the producer and
 * the consumer take turns, so every interleaving here is chosen by the test.
 * Layout and request encoding come from wire.ts, the one home of the format.
 */
import { AssertionError } from 'node:assert';
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { uint32Source } from '../lib/prng.js';
import { RingReader, RingWriter, allocateRing } from '../lib/transport/spsc-ring.js';
import {
  CONTEXT_PAIR_BYTES,
  CONTROL_BYTES,
  ControlWord,
  Op,
  RECORD_HEADER_BYTES,
  Request,
  RequestFlag,
  align8,
  contextOffset,
  encodeRequest,
  keyBytesOf,
  recordPayloadMax,
  requestBytes,
  valueOffset,
} from '../lib/transport/wire.js';

const SEED = 0x51c0_ffee;
t.comment(`seed=${SEED}`);


/** Message `index` of `bytes` length: content derived from its index, so a mix-up is visible. */
function patterned(index: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (index * 31 + i * 7) & 0xff;
  return out;
}

function writeWhole(writer: RingWriter, message: Uint8Array): boolean {
  const at = writer.reserve(message.byteLength);
  if (at < 0) return false;
  writer.bytes.set(message, at);
  return true;
}

/**
 * Read every available message, copying it out: the view is valid only
 * during the call (and the ring hands out a Buffer, whose slice() is a view).
 */
function drain(reader: RingReader, messagesMax = 1 << 20): Uint8Array[] {
  const got: Uint8Array[] = [];
  reader.read((bytes, _view, offset, length) => got.push(new Uint8Array(bytes.subarray(offset, offset + length))), messagesMax);
  return got;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

t.test('allocateRing sizes the buffer and rejects bad capacities', async (t) => {
  const buffer = allocateRing(4096);
  t.equal(buffer.byteLength, CONTROL_BYTES + 4096);
  const writer = new RingWriter(buffer);
  t.equal(writer.capacityBytes, 4096);
  t.equal(writer.recordPayloadMax, recordPayloadMax(4096));
  t.equal(writer.recordPayloadMax, 4096 / 4 - RECORD_HEADER_BYTES);
  t.throws(() => allocateRing(5000), AssertionError, 'not a power of two');
  t.throws(() => allocateRing(2048), AssertionError, 'below the minimum');
});

t.test('records round-trip in order, visible only after publish', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const messages = [patterned(0, 1), patterned(1, 0), patterned(2, 40), patterned(3, 1016), patterned(4, 7)];
  for (const m of messages) t.ok(writeWhole(writer, m));
  t.notOk(reader.hasData(), 'nothing is visible before publish');
  t.same(drain(reader), []);
  writer.publish();
  t.ok(reader.hasData());
  const got = drain(reader);
  t.equal(got.length, messages.length);
  t.ok(got.every((m, i) => sameBytes(m, messages[i]!)), 'same bytes, same order');
  t.notOk(reader.hasData());
  t.equal(writer.usedBytes(), 0, 'the reader released every byte');
});

t.test('read honours messagesMax and resumes where it stopped', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  for (let i = 0; i < 10; i++) writeWhole(writer, patterned(i, 16));
  writer.publish();
  const first = drain(reader, 3);
  t.equal(first.length, 3);
  const rest = drain(reader);
  t.equal(rest.length, 7);
  t.ok([...first, ...rest].every((m, i) => sameBytes(m, patterned(i, 16))));
});

t.test('reserve returns -1 when full and succeeds after the reader releases', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const payload = writer.recordPayloadMax; // a record of exactly a quarter of the ring
  for (let i = 0; i < 4; i++) t.ok(writeWhole(writer, patterned(i, payload)), `record ${i} fits`);
  t.equal(writer.reserve(payload), -1, 'a fifth quarter does not fit');
  t.equal(writer.reserve(1), -1, 'not even one byte fits');
  writer.publish();
  t.equal(writer.usedBytes(), 4096);
  t.equal(writer.reserve(1), -1, 'publishing alone frees nothing');

  const got = drain(reader, 1);
  t.equal(got.length, 1);
  t.ok(sameBytes(got[0]!, patterned(0, payload)));
  t.ok(writeWhole(writer, patterned(4, payload)), 'room again once the reader released a record');
  t.equal(writer.reserve(1), -1, 'and full again');
  writer.publish();
  const rest = drain(reader);
  t.equal(rest.length, 4);
  t.ok(rest.every((m, i) => sameBytes(m, patterned(i + 1, payload))));
});

t.test('reserve asserts on a record larger than recordPayloadMax', async (t) => {
  const writer = new RingWriter(allocateRing(4096));
  t.throws(() => writer.reserve(writer.recordPayloadMax + 1), AssertionError);
});

t.test('variable-size records wrap around with PAD many times over', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const next = uint32Source(SEED);
  const total = 20_000;
  let written = 0;
  let read = 0;
  let bytesWritten = 0;
  let mismatches = 0;
  const sizes: number[] = [];
  while (read < total) {
    // Write a random number of messages until the ring refuses one.
    const burst = 1 + (next() % 12);
    for (let i = 0; i < burst && written < total; i++) {
      const size = next() % (writer.recordPayloadMax + 1);
      const message = patterned(written, size);
      if (!writeWhole(writer, message)) break;
      sizes.push(size);
      bytesWritten += size;
      written++;
    }
    writer.publish();
    // Read some, not always all, so head and tail take every relative position.
    const got = drain(reader, 1 + (next() % 8));
    for (const m of got) {
      if (!sameBytes(m, patterned(read, sizes[read]!))) mismatches++;
      read++;
    }
  }
  t.equal(read, total);
  t.equal(mismatches, 0, 'every message came back whole, in order');
  t.ok(bytesWritten > 100 * 4096, `wrapped ~${Math.floor(bytesWritten / 4096)} times`);
  t.equal(writer.usedBytes(), 0);
});

t.test('fixed-size records that never divide the ring pad at every wrap', async (t) => {
  // Deterministic sizes that force a PAD at every wrap: 1000-byte payloads
  // (1008-byte records) never divide 4096 evenly.
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    if (!writeWhole(writer, patterned(i, 1000))) bad++;
    writer.publish();
    const got = drain(reader);
    if (got.length !== 1 || !sameBytes(got[0]!, patterned(i, 1000))) bad++;
  }
  t.equal(bad, 0);
});

t.test('head and tail counters wrap past 2^32', async (t) => {
  const buffer = allocateRing(4096);
  const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  const start = 2 ** 32 - 3 * 1024; // three records before the u32 wrap
  Atomics.store(control, ControlWord.HEAD, start | 0);
  Atomics.store(control, ControlWord.TAIL, start | 0);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  t.equal(writer.usedBytes(), 0);
  let bad = 0;
  for (let i = 0; i < 64; i++) {
    for (let k = 0; k < 3; k++) if (!writeWhole(writer, patterned(i * 3 + k, 500 + k))) bad++;
    writer.publish();
    const got = drain(reader);
    if (got.length !== 3) bad++;
    got.forEach((m, k) => {
      if (!sameBytes(m, patterned(i * 3 + k, 500 + k))) bad++;
    });
  }
  t.equal(bad, 0);
  t.ok(Atomics.load(control, ControlWord.HEAD) >>> 0 < start, 'HEAD wrapped around 2^32');
  t.equal(writer.usedBytes(), 0);
});

t.test('fragmented messages larger than recordPayloadMax reassemble byte-exact', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const next = uint32Source(SEED + 1);
  const big = new Uint8Array(100 * 1024);
  for (let i = 0; i < big.byteLength; i++) big[i] = next() & 0xff;
  const small = patterned(7, 100);

  t.ok(writeWhole(writer, small), 'a whole record before the fragments');
  const got: Uint8Array[] = [];
  let sent = 0;
  let rounds = 0;
  while (sent < big.byteLength) {
    sent = writer.writeFragments(big, sent);
    writer.publish();
    got.push(...drain(reader, 4));
    rounds++;
    if (rounds > 10_000) break;
  }
  t.ok(writeWhole(writer, small), 'a whole record after the fragments');
  writer.publish();
  got.push(...drain(reader));
  t.ok(rounds > 20, `took ${rounds} rounds through a 4 KB ring`);
  t.equal(got.length, 3, 'small, big, small: fragments are not separate messages');
  t.ok(sameBytes(got[0]!, small));
  t.equal(got[1]!.byteLength, big.byteLength);
  t.ok(sameBytes(got[1]!, big), 'byte-exact after reassembly');
  t.ok(sameBytes(got[2]!, small));
});

t.test('several fragmented messages back to back, read one record at a time', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const messages = [patterned(1, 5000), patterned(2, writer.recordPayloadMax + 1), patterned(3, 12_345)];
  const got: Uint8Array[] = [];
  for (const m of messages) {
    let sent = 0;
    for (let rounds = 0; sent < m.byteLength && rounds < 10_000; rounds++) {
      sent = writer.writeFragments(m, sent);
      writer.publish();
      // One record per read call: the reader must hold a partial message across calls.
      reader.read((bytes, _view, offset, length) => got.push(new Uint8Array(bytes.subarray(offset, offset + length))), 1);
    }
  }
  got.push(...drain(reader));
  t.equal(got.length, messages.length);
  t.ok(got.every((m, i) => sameBytes(m, messages[i]!)));
});

t.test('writeFragments makes no progress on a full ring and resumes later', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  for (let i = 0; i < 4; i++) writeWhole(writer, patterned(i, writer.recordPayloadMax));
  const big = patterned(9, 3000);
  t.equal(writer.writeFragments(big, 0), 0, 'nothing fits');
  writer.publish();
  const got = drain(reader);
  t.equal(got.length, 4);
  let sent = 0;
  while (sent < big.byteLength) {
    sent = writer.writeFragments(big, sent);
    writer.publish();
    got.push(...drain(reader));
  }
  t.equal(got.length, 5);
  t.ok(sameBytes(got[4]!, big));
});

t.test('the reader rejects a fragmented message over its messageBytesMax', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 10_000);
  const tooBig = patterned(1, 20_000);
  writer.writeFragments(tooBig, 0);
  writer.publish();
  t.throws(() => drain(reader), AssertionError, 'the FIRST fragment announces 20000 bytes, over 10000');

  const okBuffer = allocateRing(4096);
  const okWriter = new RingWriter(okBuffer);
  const okReader = new RingReader(okBuffer, 10_000);
  const atBound = patterned(2, 10_000);
  let sent = 0;
  const got: Uint8Array[] = [];
  while (sent < atBound.byteLength) {
    sent = okWriter.writeFragments(atBound, sent);
    okWriter.publish();
    got.push(...drain(okReader));
  }
  t.equal(got.length, 1, 'a message of exactly messageBytesMax is accepted');
  t.ok(sameBytes(got[0]!, atBound));
});

t.test('close is visible to both halves', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  t.notOk(reader.isClosed());
  writer.close();
  t.ok(reader.isClosed());
  t.ok(writer.isClosed());
  // A closed ring must not put a waiting thread to sleep.
  const startedMs = performance.now();
  reader.waitForData(10_000);
  writer.waitForSpace(1 << 30, 10_000);
  const waitedMs = performance.now() - startedMs;
  t.ok(waitedMs < 5_000, `neither wait slept out its 10 s timeout (waited ${waitedMs.toFixed(1)} ms)`);
});

t.test('a sleeper woken by a publish learns what its wake cost (NOTIFIED_AT); other ends of a wait measure nothing', async (t) => {
  const buffer = allocateRing(4096);
  const reader = new RingReader(buffer, 1 << 20);
  t.ok(Number.isNaN(reader.waitForData(1)), 'a timeout is no wake');
  // Another thread publishes once this one sleeps.
  const producer = new Worker(
    `const { workerData } = require('node:worker_threads');
     import(workerData.ringModule).then(({ RingWriter }) => {
       const control = new Int32Array(workerData.buffer, 0, ${CONTROL_BYTES / 4});
       while (Atomics.load(control, ${ControlWord.CONSUMER_STATE}) !== 1) {}
       // Past the instant between announcing and sleeping, so that the publish wakes a sleeper.
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
       const writer = new RingWriter(workerData.buffer);
       writer.reserve(8);
       writer.publish();
     });`,
    { eval: true, workerData: { buffer, ringModule: new URL('../lib/transport/spsc-ring.js', import.meta.url).href } },
  );
  const wakeMs = reader.waitForData(60_000);
  await once(producer, 'exit');
  t.ok(reader.hasData(), 'the publish is there');
  t.ok(Number.isFinite(wakeMs) && wakeMs >= 0, `the wake was measured (${wakeMs} ms)`);
  t.ok(Number.isNaN(reader.waitForData(60_000)), 'with data waiting, no sleep and nothing measured');
});

t.test('encodeRequest writes exactly requestBytes, at the offsets wire.ts names', async (t) => {
  const keyText = 'user:42:é'; // 10 bytes of UTF-8: not 8-aligned, not one byte per char
  const context: [number, number][] = [
    [0, 3],
    [2, 17],
    [5, 2 ** 40],
  ];
  const value = patterned(3, 77);
  for (const key of [keyText, new TextEncoder().encode(keyText)]) {
    const kind = typeof key === 'string' ? 'string key' : 'bytes key';
    const keyBytes = keyBytesOf(key);
    t.equal(keyBytes, 10, `${kind}: keyBytesOf counts UTF-8 bytes`);
    const length = requestBytes(keyBytes, context.length, value.byteLength);
    t.equal(length, align8(Request.HEADER_BYTES + keyBytes) + context.length * CONTEXT_PAIR_BYTES + value.byteLength);

    const guard = 64;
    const at = 24; // encode inside a larger buffer, at an offset
    const buffer = Buffer.alloc(at + length + guard, 0xa5);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    encodeRequest(buffer, view, at, 0xdeadbeef, { op: Op.PUT, flags: RequestFlag.TOMBSTONE | RequestFlag.BLIND, key: key, context: context, value: value, timestampMs: 1_700_000_000_123.5, expiresAtMs: 1_700_000_060_000 }, keyBytes);

    t.ok(buffer.subarray(0, at).every((b) => b === 0xa5), `${kind}: nothing written before the request`);
    t.ok(buffer.subarray(at + length).every((b) => b === 0xa5), `${kind}: nothing written after requestBytes`);

    t.equal(view.getUint8(at + Request.OP), Op.PUT);
    t.equal(view.getUint8(at + Request.FLAGS), RequestFlag.TOMBSTONE | RequestFlag.BLIND);
    t.equal(view.getUint32(at + Request.REQUEST_ID, true), 0xdeadbeef);
    t.equal(view.getUint32(at + Request.KEY_BYTES, true), keyBytes);
    t.equal(view.getUint32(at + Request.CONTEXT_PAIRS, true), context.length);
    t.equal(view.getUint32(at + Request.VALUE_BYTES, true), value.byteLength);
    t.equal(view.getFloat64(at + Request.TIMESTAMP_MS, true), 1_700_000_000_123.5);
    t.equal(view.getFloat64(at + Request.EXPIRES_AT_MS, true), 1_700_000_060_000);

    // Parse the body back from the header alone, as a node does.
    const parsedKeyBytes = view.getUint32(at + Request.KEY_BYTES, true);
    const pairs = view.getUint32(at + Request.CONTEXT_PAIRS, true);
    const valueBytes = view.getUint32(at + Request.VALUE_BYTES, true);
    t.equal(requestBytes(parsedKeyBytes, pairs, valueBytes), length, `${kind}: the header describes the whole request`);
    t.equal(buffer.toString('utf8', at + Request.HEADER_BYTES, at + Request.HEADER_BYTES + parsedKeyBytes), keyText, `${kind}: the key bytes`);
    t.equal(contextOffset(parsedKeyBytes) % 8, 0, 'context pairs are 8-aligned');
    const parsed: [number, number][] = [];
    for (let i = 0; i < pairs; i++) {
      const p = at + contextOffset(parsedKeyBytes) + i * CONTEXT_PAIR_BYTES;
      parsed.push([view.getFloat64(p, true), view.getFloat64(p + 8, true)]);
    }
    t.same(parsed, context, `${kind}: the context pairs`);
    const valueAt = at + valueOffset(parsedKeyBytes, pairs);
    t.ok(sameBytes(buffer.subarray(valueAt, valueAt + valueBytes), value), `${kind}: the value`);
    t.equal(valueOffset(parsedKeyBytes, pairs) + valueBytes, length, 'the value ends the request');
  }
});

t.test('encodeRequest asserts when a string key does not have the sized length', async (t) => {
  const buffer = Buffer.alloc(256);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  t.throws(() => encodeRequest(buffer, view, 0, 1, { op: Op.GET, flags: 0, key: 'abc', context: undefined, value: undefined, timestampMs: 0, expiresAtMs: 0 }, 5), AssertionError);
});

t.test('encodeRequest without context or value (a GET)', async (t) => {
  const key = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const length = requestBytes(key.byteLength, 0, 0);
  t.equal(length, Request.HEADER_BYTES + 8);
  const buffer = Buffer.alloc(length + 8, 0xff);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  encodeRequest(buffer, view, 0, 1, { op: Op.GET, flags: 0, key: key, context: undefined, value: undefined, timestampMs: 0, expiresAtMs: 0 }, key.byteLength);
  t.equal(view.getUint8(Request.OP), Op.GET);
  t.equal(view.getUint32(Request.CONTEXT_PAIRS, true), 0);
  t.equal(view.getUint32(Request.VALUE_BYTES, true), 0);
  t.ok(sameBytes(buffer.subarray(Request.HEADER_BYTES, length), key));
  t.ok(buffer.subarray(length).every((b) => b === 0xff), 'nothing written past requestBytes');
});

t.test('a request encoded straight into the ring reads back through it', async (t) => {
  const buffer = allocateRing(4096);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1 << 20);
  const key = 'k';
  const value = patterned(5, 33);
  const length = requestBytes(1, 1, value.byteLength);
  const at = writer.reserve(length);
  encodeRequest(writer.bytes, writer.view, at, 77, { op: Op.REPLICATE, flags: 0, key: key, context: [[1, 2]], value: value, timestampMs: 5, expiresAtMs: 0 }, 1);
  writer.publish();
  let seen = 0;
  reader.read((bytes, view, offset, len) => {
    seen++;
    t.equal(len, length);
    t.equal(view.getUint8(offset + Request.OP), Op.REPLICATE, 'the view indexes the same memory as the bytes');
    t.equal(view.getUint32(offset + Request.REQUEST_ID, true), 77);
    const valueAt = offset + valueOffset(1, 1);
    t.ok(sameBytes(bytes.subarray(valueAt, valueAt + value.byteLength), value));
  }, 10);
  t.equal(seen, 1);
});
