import t from 'tap';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { NOT_ASCII, asciiXxh32 } from '../lib/ring/ascii-xxh32.js';
import { hashKey32 } from '../lib/ring/hash.js';

// The hash places stored data (hash.ts): hashKey32 of a string must stay exactly xxhash-wasm's XXH32 of its UTF-8
// bytes (what every earlier build computed), whichever path computes it.
const wasm = await xxhash();
const reference = (key: string): number => wasm.h32(key, 0) >>> 0;

const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xffff }), // non-ASCII, lone surrogates included
  fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xffff),
);
/** Strings of arbitrary UTF-16 code units: mostly ASCII (so that the JavaScript path is exercised at every length), some not. */
const anyString = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 80 }).map((units) => String.fromCharCode(...units)),
  fc.array(codeUnit, { maxLength: 80 }).map((units) => String.fromCharCode(...units)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
/** Long strings: many 16-byte stripes, and a non-ASCII unit anywhere in them, or none. */
const longString = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 0x7f }), { minLength: 100, maxLength: 3000 }), fc.option(fc.tuple(fc.nat(), codeUnit)))
  .map(([units, odd]) => {
    const placed = units.slice();
    if (odd !== null) placed[odd[0] % placed.length] = odd[1];
    return String.fromCharCode(...placed);
  });

t.test('hashKey32 of a string is xxhash-wasm XXH32 (seed 0) of its UTF-8 bytes, for every string', async (t) => {
  fc.assert(
    fc.property(fc.oneof(anyString, longString), (key) => hashKey32(key) === reference(key)),
    { numRuns: 20_000 },
  );
  t.pass('20,000 arbitrary strings');
  for (let length = 0; length <= 70; length++) {
    const ascii = 'user0123456789abcdefghijklmnopqrstuvwxyz~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./'.slice(0, length);
    t.equal(hashKey32(ascii), reference(ascii), `ascii of length ${length}`);
    t.equal(hashKey32(ascii + '\u00e9'), reference(ascii + '\u00e9'), `ascii of length ${length}, then a non-ASCII character`);
    t.equal(hashKey32('\ud800' + ascii), reference('\ud800' + ascii), `a lone surrogate, then ascii of length ${length}`);
  }
});

t.test('the JavaScript path hashes exactly the ASCII strings, as xxhash-wasm does, and declines every other', async (t) => {
  fc.assert(
    fc.property(fc.oneof(anyString, longString), (key) => asciiXxh32(key) === (/^[\x00-\x7f]*$/.test(key) ? reference(key) : NOT_ASCII)),
    { numRuns: 10_000 },
  );
  t.pass('10,000 arbitrary strings');
  t.equal(asciiXxh32(''), 0x02cc5d05, "XXH32's value for no bytes");
  t.equal(asciiXxh32('abc'), 0x32d153ff);
  t.equal(asciiXxh32('\u0080'), NOT_ASCII, 'U+0080 is two UTF-8 bytes');
  t.equal(asciiXxh32('a'.repeat(32) + '\u0100'), NOT_ASCII, 'a unit whose low byte is ASCII-looking is still declined');
});

t.test('a well-formed string and its UTF-8 bytes land on the same position', async (t) => {
  fc.assert(
    fc.property(fc.oneof(anyString, longString), (key) => {
      fc.pre(key.isWellFormed());
      return hashKey32(key) === hashKey32(Buffer.from(key, 'utf8'));
    }),
    { numRuns: 5_000 },
  );
  t.pass('5,000 arbitrary well-formed strings');
});
