import t from 'tap';
import fc from 'fast-check';
import { writeStringKey } from '../lib/storage/lmdb-reader.js';

// A read in place finds a string key by the bytes writeStringKey puts in lmdb-js's key buffer: they must be exactly the
// UTF-8 bytes the node stored the key under (Buffer#write's, as before), for ASCII keys (its own loop) and every other.
const codeUnit = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }));
const keys = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 600 }).map((units) => String.fromCharCode(...units)),
  fc.array(codeUnit, { maxLength: 80 }).map((units) => String.fromCharCode(...units)),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

t.test('writeStringKey writes a key as Buffer#write does: its UTF-8 bytes from start, and nothing else', async (t) => {
  const target = Buffer.alloc(4096);
  fc.assert(
    fc.property(keys, fc.nat(16), (key, start) => {
      fc.pre(key.isWellFormed());
      target.fill(0xee);
      const expected = Buffer.from(key, 'utf8');
      const end = writeStringKey(key, target, start);
      return (
        end === start + expected.length &&
        target.subarray(start, end).equals(expected) &&
        target.subarray(0, start).every((byte) => byte === 0xee) &&
        target.subarray(end, end + 16).every((byte) => byte === 0xee)
      );
    }),
    { numRuns: 10_000 },
  );
  t.pass('10,000 arbitrary well-formed keys');
  t.equal(writeStringKey('aé', target, 3), 6, 'an ASCII unit, then one of two UTF-8 bytes');
  t.same([...target.subarray(3, 6)], [0x61, 0xc3, 0xa9]);
});
