/**
 * The memory binary values share when reads return them (value-pool.ts):
 * values up to 4 KiB are views into 8 KiB chunks that never overlap and
 * never change once returned, larger ones have their own memory, and a
 * chunk in a postMessage transfer list is copied, not detached.
 */
import t from 'tap';
import fc from 'fast-check';
import { MessageChannel } from 'node:worker_threads';
import { VALUE_POOL_CHUNK_BYTES, VALUE_POOL_ITEM_BYTES_MAX, pooledCopy } from '../lib/store/value-pool.js';
import { decodeValue, decodeValueInPlace, encodeValue } from '../lib/store/value-codec.js';

t.test('pooled copies are exact, never overlap, and keep their bytes while later ones are made', async () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: VALUE_POOL_ITEM_BYTES_MAX + 100 }), { minLength: 1, maxLength: 60 }), fc.nat(255), (lengths, seed) => {
      const source = new Uint8Array(VALUE_POOL_ITEM_BYTES_MAX + 200);
      const made: { value: Uint8Array; expected: Uint8Array }[] = [];
      for (const [n, length] of lengths.entries()) {
        for (let i = 0; i < source.length; i++) source[i] = (i * 13 + n * 7 + seed) & 0xff;
        const start = n % 50;
        const value = pooledCopy(source, start, start + length);
        made.push({ value, expected: source.slice(start, start + length) });
        // The source is reused (lmdb-js's read buffer, a ring): the copy must not follow it.
        source.fill(0);
      }
      const intervals: [ArrayBufferLike, number, number][] = [];
      for (const { value, expected } of made) {
        if (Object.getPrototypeOf(value) !== Uint8Array.prototype || Buffer.compare(value, expected) !== 0) return false;
        if (value.byteLength > VALUE_POOL_ITEM_BYTES_MAX) {
          if (value.byteOffset !== 0 || value.buffer.byteLength !== value.byteLength) return false;
          continue;
        }
        if (value.byteLength > 0 && value.buffer.byteLength !== VALUE_POOL_CHUNK_BYTES) return false;
        if (value.byteOffset % 8 !== 0) return false;
        intervals.push([value.buffer, value.byteOffset, value.byteOffset + value.byteLength]);
      }
      return intervals.every(([buffer, from, to], i) => intervals.every(([other, otherFrom, otherTo], j) => i === j || buffer !== other || to <= otherFrom || otherTo <= from));
    }),
    { numRuns: 200 },
  );
});

t.test('values of a get share chunks: 1,000 values of 1,000 bytes in about 125 chunks, not 1,000', async (t) => {
  const encoded = encodeValue(new Uint8Array(1000).fill(3), 1 << 20);
  const values = Array.from({ length: 1000 }, () => decodeValueInPlace(encoded, 0, encoded.byteLength) as Uint8Array);
  const chunks = new Set(values.map((value) => value.buffer));
  t.ok(chunks.size <= 1000 / Math.floor(VALUE_POOL_CHUNK_BYTES / 1000) + 1, `${chunks.size} chunks`);
  t.ok(values.every((value) => value.byteLength === 1000 && value.every((byte) => byte === 3)));
  // decodeValue (ring memory, a held answer) pools the same way.
  const fromRing = decodeValue(encoded, 0, encoded.byteLength) as Uint8Array;
  t.equal(fromRing.buffer.byteLength, VALUE_POOL_CHUNK_BYTES);
});

t.test("a value's buffer in a transfer list is copied: the other values of its chunk stay whole", async (t) => {
  const source = new Uint8Array(200).map((_, i) => i);
  // Two copies in one chunk. A chunk that was nearly full (what earlier tests left) takes the first
  // alone and the second opens the next: then both are copied again, into that next chunk. (This
  // swapped the two instead, so `first` then held bytes 100-199: it failed whenever the chunk was full.)
  let first = pooledCopy(source, 0, 100);
  let second = pooledCopy(source, 100, 200);
  if (first.buffer !== second.buffer) {
    first = pooledCopy(source, 0, 100);
    second = pooledCopy(source, 100, 200);
  }
  t.equal(first.buffer, second.buffer, 'one chunk');
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<Uint8Array>((resolve) => port2.once('message', resolve));
  let sent = true;
  try {
    port1.postMessage(first, [first.buffer as ArrayBuffer]);
  } catch (error) {
    // Later Node versions refuse an untransferable buffer instead of copying it: the chunk is kept either way.
    sent = false;
    t.match(String(error), /transfer|clone/i);
  }
  t.equal(second.byteLength, 100, 'not detached');
  t.equal(second[0], 100);
  if (sent) t.equal((await received)[5], 5, 'the receiver got a copy of the bytes');
  port1.close();
});
