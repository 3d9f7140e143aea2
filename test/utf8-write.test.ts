/**
 * writeUtf8 (transport/utf8-write.ts): the bytes and the count Buffer.write
 * gives for any string, ASCII (the loop) or not (Buffer.write), short or
 * long, at any place in the buffer, also where the buffer ends first.
 */
import t from 'tap';
import fc from 'fast-check';
import { UTF8_LOOP_CHARS_MAX, writeUtf8 } from '../lib/transport/utf8-write.js';

const stringArb = fc.oneof(
  fc.string({ maxLength: UTF8_LOOP_CHARS_MAX + 8 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units)),
);

t.test('writeUtf8 writes what Buffer.write writes, and says so', async () => {
  fc.assert(
    fc.property(stringArb, fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (text, at, size) => {
      const byteLength = Buffer.byteLength(text, 'utf8');
      if (at > size) return true;
      const expected = Buffer.alloc(size, 0xee);
      const actual = Buffer.alloc(size, 0xee);
      let expectedWritten: number;
      try {
        expectedWritten = expected.write(text, at, byteLength, 'utf8');
      } catch {
        // Buffer.write refuses the offset (at the end of an empty buffer): so must writeUtf8.
        try {
          writeUtf8(actual, at, text, byteLength);
        } catch {
          return actual.equals(expected);
        }
        return false;
      }
      const written = writeUtf8(actual, at, text, byteLength);
      return written === expectedWritten && actual.equals(expected);
    }),
    { numRuns: 2000 },
  );
});

t.test('an ASCII key is copied, a key with other characters encoded', async (t) => {
  const bytes = Buffer.alloc(32);
  t.equal(writeUtf8(bytes, 2, 'user#17', 7), 7);
  t.equal(bytes.toString('utf8', 2, 9), 'user#17');
  t.equal(writeUtf8(bytes, 0, 'clé', 4), 4);
  t.equal(bytes.toString('utf8', 0, 4), 'clé');
  // A lone surrogate is U+FFFD (3 bytes), as Buffer.write writes it.
  t.equal(writeUtf8(bytes, 0, 'a\ud800', 4), 4);
  t.same([...bytes.subarray(0, 4)], [0x61, 0xef, 0xbf, 0xbd]);
});
