/**
 * packUint8Array (store/uint8-array-value.ts): a plain Uint8Array value's
 * bytes are msgpackr's, with value-codec.ts's Packr options, at every length
 * class (ext 8, 16 and 32); encodeValue takes that path only for a plain
 * Uint8Array (a Buffer, a subclass, another typed array still go through
 * msgpackr), and what it writes decodes to the same bytes.
 */
import t from 'tap';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { isPlainUint8Array, packUint8Array } from '../lib/store/uint8-array-value.js';
import { decodeValue, encodeValue } from '../lib/store/value-codec.js';
import { VALUE_SLAB_CHUNK_BYTES, VALUE_SLAB_ITEM_BYTES_MAX, ValueSlab } from '../lib/store/value-slab.js';

// value-codec.ts's options.
const packr = new Packr({ useRecords: false, copyBuffers: true, moreTypes: true });
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

t.test('the bytes packr.pack writes, at any length', async () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n).map((_, i) => i * 31))), fc.nat(16), (value, offset) => {
      // Also a view into a larger buffer, at an offset.
      const backing = new Uint8Array(offset + value.byteLength + 3);
      backing.set(value, offset);
      const view = backing.subarray(offset, offset + value.byteLength);
      return same(packUint8Array(value), packr.pack(value)) && same(packUint8Array(view), packr.pack(view));
    }),
    { numRuns: 200 },
  );
});

t.test('each length class at its edges', async (t) => {
  for (const n of [0, 1, 253, 254, 255, 256, 65_533, 65_534, 65_535, 65_536, 100_000]) {
    const value = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
    t.ok(same(packUint8Array(value), packr.pack(value)), `${n} bytes`);
    const decoded = decodeValue(encodeValue(value, 1 << 20));
    t.ok(decoded instanceof Uint8Array && same(decoded as Uint8Array, value), `${n} bytes decode to themselves`);
  }
});

t.test('only a plain Uint8Array takes the path', async (t) => {
  class Bytes extends Uint8Array {}
  const withConstructor = new Uint8Array(3);
  Object.defineProperty(withConstructor, 'constructor', { value: Int8Array });
  t.ok(isPlainUint8Array(new Uint8Array(2)));
  t.notOk(isPlainUint8Array(Buffer.from([1, 2])));
  t.notOk(isPlainUint8Array(new Bytes(2)));
  t.notOk(isPlainUint8Array(new Int8Array(2)));
  t.notOk(isPlainUint8Array(new Uint8ClampedArray(2)));
  t.notOk(isPlainUint8Array(withConstructor));
  t.notOk(isPlainUint8Array([1, 2]));
  for (const value of [Buffer.from([1, 2, 3]), new Bytes([4, 5]), new Int8Array([-1, 2]), new Uint8ClampedArray([9])]) {
    t.ok(same(encodeValue(value, 1024), packr.pack(value)), `${value.constructor.name}: msgpackr's bytes`);
  }
});

t.test("a putMany's values share a slab's chunks (value-slab.ts), each its own bytes", async (t) => {
  const slab = new ValueSlab();
  const values = Array.from({ length: 2000 }, (_, i) => new Uint8Array(100 + (i % 7)).fill(i & 0xff));
  const packed = values.map((value) => encodeValue(value, 1 << 20, slab));
  // Written once all were packed: no value overwrote another.
  values.forEach((value, i) => {
    if (!same(packed[i]!, packr.pack(value))) t.fail(`value ${i}: not msgpackr's bytes`);
    const decoded = decodeValue(packed[i]!);
    if (!(decoded instanceof Uint8Array && same(decoded, value))) t.fail(`value ${i}: does not decode to itself`);
  });
  const chunks = new Set(packed.map((bytes) => bytes.buffer));
  t.ok(chunks.size < packed.length / 100, `2000 values in ${chunks.size} chunks`);
  for (const chunk of chunks) t.equal(chunk.byteLength, VALUE_SLAB_CHUNK_BYTES);
  // A large value has its own memory, of its own length, at every length class.
  for (const n of [VALUE_SLAB_ITEM_BYTES_MAX, 70_000]) {
    const value = new Uint8Array(n).map((_, i) => i & 0xff);
    const bytes = packUint8Array(value, slab);
    t.ok(same(bytes, packr.pack(value)), `${n} bytes: msgpackr's bytes`);
    t.equal(bytes.buffer.byteLength, bytes.byteLength, `${n} bytes: its own memory`);
  }
});
