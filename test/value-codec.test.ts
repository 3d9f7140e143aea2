import t from 'tap';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeValue, decodeValueInPlace, encodeValue } from '../lib/store/value-codec.js';

// msgpackr as the store configures it (value-codec.ts): what decodeValue's shortcut for a stored Uint8Array must equal.
const packr = new Packr({ useRecords: false, copyBuffers: true, moreTypes: true });

/** `encoded` at `offset` in ring-like memory: a Buffer over a SharedArrayBuffer, with other bytes around it. */
function inSharedMemory(encoded: Uint8Array, offset: number): Buffer {
  const memory = Buffer.from(new SharedArrayBuffer(offset + encoded.byteLength + 7));
  memory.fill(0xee);
  memory.set(encoded, offset);
  return memory;
}

/**
 * A stored Uint8Array of every length across msgpack's ext 8, ext 16 and ext
 * 32 headers, at every offset of `memoryOf`'s memory, decodes to msgpackr's
 * type: a plain Uint8Array equal to the value, a copy (pooled up to 4 KiB:
 * value-pool.ts) that keeps its bytes when the memory it came from is reused.
 */
function decodesToOwnPlainCopy(memoryOf: (encoded: Uint8Array, offset: number) => Buffer, decode: (memory: Buffer, start: number, end: number) => unknown): void {
  const lengths = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_530, max: 65_545 }));
  fc.assert(
    fc.property(lengths, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 255 }), (length, offset, seed) => {
      const value = new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
      const encoded = encodeValue(value, 1 << 20);
      const memory = memoryOf(encoded, offset);
      const decoded = decode(memory, offset, offset + encoded.byteLength) as Uint8Array;
      const reference = packr.unpack(Buffer.from(encoded)) as Uint8Array;
      const plainAndOwn =
        decoded.constructor === reference.constructor &&
        decoded.constructor === Uint8Array &&
        Object.getPrototypeOf(decoded) === Uint8Array.prototype &&
        !(decoded.buffer instanceof SharedArrayBuffer) &&
        decoded.buffer !== memory.buffer &&
        decoded.byteLength === length;
      const equal = Buffer.compare(decoded, value) === 0 && Buffer.compare(decoded, reference) === 0;
      // The memory it came from is reused (a ring, a held answer's scratch): the value must not change with it.
      memory.fill(0);
      return plainAndOwn && equal && Buffer.compare(decoded, value) === 0;
    }),
    { numRuns: 60 },
  );
}

t.test('a stored Uint8Array decodes from shared memory to a fresh plain Uint8Array equal to msgpackr\'s own decode', (t) => {
  decodesToOwnPlainCopy(inSharedMemory, decodeValue);
  t.end();
});

t.test('decodeValueInPlace from a Buffer (a held answer) returns msgpackr\'s plain Uint8Array of its own memory', (t) => {
  // A Buffer's own slice is a Buffer: the shortcut must not hand that to the caller.
  const held = (encoded: Uint8Array, offset: number): Buffer => {
    const memory = Buffer.alloc(offset + encoded.byteLength + 7, 0xee);
    memory.set(encoded, offset);
    return memory;
  };
  decodesToOwnPlainCopy(held, decodeValueInPlace);
  t.end();
});

t.test('values that are not one Uint8Array still decode through msgpackr, from shared memory too', (t) => {
  const values: unknown[] = ['text', 42, { a: [1, 'b'], c: null }, [new Uint8Array([1, 2]), 3], Buffer.from([9, 8, 7]), new Uint16Array([1, 2, 3]), true];
  for (const value of values) {
    const encoded = encodeValue(value, 1 << 20);
    const decoded = decodeValue(inSharedMemory(encoded, 3), 3, 3 + encoded.byteLength);
    t.same(decoded, packr.unpack(Buffer.from(encoded)), `${Object.prototype.toString.call(value)} decodes as msgpackr does`);
  }
  t.end();
});

t.test('decodeValue and decodeValueInPlace agree on a stored Uint8Array', (t) => {
  const value = Uint8Array.from({ length: 100 }, (_, i) => i);
  const encoded = encodeValue(value, 1 << 20);
  const plain = new Uint8Array(encoded.byteLength + 5);
  plain.set(encoded, 5);
  const inPlace = decodeValueInPlace(plain, 5, plain.byteLength) as Uint8Array;
  const copied = decodeValue(plain, 5, plain.byteLength) as Uint8Array;
  t.equal(inPlace.constructor, copied.constructor);
  t.same(Array.from(copied), Array.from(inPlace));
  t.end();
});

t.test('a stored Buffer decodes to a Buffer of its own bytes equal to msgpackr\'s decode, from shared memory and in place', (t) => {
  const lengths = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 4_090, max: 4_100 }), fc.integer({ min: 65_530, max: 65_545 }));
  fc.assert(
    fc.property(lengths, fc.integer({ min: 0, max: 64 }), fc.boolean(), (length, offset, shared) => {
      const value = Buffer.from(new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff));
      const encoded = encodeValue(value, 1 << 20);
      const memory = shared ? inSharedMemory(encoded, offset) : Buffer.alloc(offset + encoded.byteLength + 7, 0xee);
      if (!shared) memory.set(encoded, offset);
      const decoded = (shared ? decodeValue : decodeValueInPlace)(memory, offset, offset + encoded.byteLength) as Buffer;
      const reference = packr.unpack(Buffer.from(encoded)) as Buffer;
      const ok = Buffer.isBuffer(decoded) && decoded.constructor === reference.constructor && decoded.byteLength === length && !(decoded.buffer instanceof SharedArrayBuffer) && decoded.buffer !== memory.buffer && decoded.equals(value) && decoded.equals(reference);
      memory.fill(0);
      return ok && decoded.equals(value);
    }),
    { numRuns: 80 },
  );
  // Two reads of one stored Buffer: two copies, neither changed by the other's caller.
  const encoded = encodeValue(Buffer.from('shared?'), 1 << 20);
  const first = decodeValue(encoded) as Buffer;
  const second = decodeValue(encoded) as Buffer;
  first.fill(0);
  t.equal(second.toString(), 'shared?');
  // A bin inside a value is msgpackr's to decode: the shortcut takes only a value that is one bin, to its end.
  t.same(decodeValue(encodeValue({ b: Buffer.from([1, 2]) }, 1 << 20)), { b: Buffer.from([1, 2]) });
  t.same(decodeValue(encodeValue([Buffer.from([3])], 1 << 20)), [Buffer.from([3])]);
  t.end();
});
