/**
 * XXH32 (seed 0) of a string key made of ASCII characters only, computed
 * from its UTF-16 code units: an ASCII string's UTF-8 bytes are its code
 * units, so no bytes are encoded first. Most keys are such strings (YCSB's
 * "user<digits>", ids, paths), and the general path (xxhash-wasm: the string
 * encoded into WebAssembly memory by TextEncoder.encodeInto, then the wasm
 * call) cost them about 8% of a read in place's main thread (bench/README.md,
 * session s12).
 *
 * It must give exactly hash.ts's value for every such key, because the hash
 * places stored data (test/ascii-xxh32.test.ts checks it against xxhash-wasm
 * over arbitrary strings). A string holding any other character returns
 * NOT_ASCII and hash.ts hashes it as before.
 *
 * The algorithm is XXH32's specification (xxHash's doc/xxhash_spec.md):
 * four lanes over 16-byte stripes, then 4-byte words, then single bytes, then
 * the avalanche; little-endian words, arithmetic modulo 2^32 (Math.imul).
 */

/** What asciiXxh32 returns for a string it does not hash (a character above U+007F). Never a uint32. */
export const NOT_ASCII = -1;

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

/** XXH32(UTF-8 bytes of `key`, seed 0) as an unsigned 32-bit integer, or NOT_ASCII. */
export function asciiXxh32(key: string): number {
  const length = key.length;
  // Every code unit read is OR-ed in here: one above 0x7F (a non-ASCII character, or a surrogate) means NOT_ASCII.
  let units = 0;
  let at = 0;
  let h: number;
  if (length >= 16) {
    // Seed 0: v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1 (mod 2^32).
    let v1 = (PRIME32_1 + PRIME32_2) | 0;
    let v2 = PRIME32_2 | 0;
    let v3 = 0;
    let v4 = -PRIME32_1 | 0;
    const stripesEnd = length - 16;
    while (at <= stripesEnd) {
      let c0 = key.charCodeAt(at);
      let c1 = key.charCodeAt(at + 1);
      let c2 = key.charCodeAt(at + 2);
      let c3 = key.charCodeAt(at + 3);
      units |= c0 | c1 | c2 | c3;
      v1 = round(v1, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = key.charCodeAt(at + 4);
      c1 = key.charCodeAt(at + 5);
      c2 = key.charCodeAt(at + 6);
      c3 = key.charCodeAt(at + 7);
      units |= c0 | c1 | c2 | c3;
      v2 = round(v2, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = key.charCodeAt(at + 8);
      c1 = key.charCodeAt(at + 9);
      c2 = key.charCodeAt(at + 10);
      c3 = key.charCodeAt(at + 11);
      units |= c0 | c1 | c2 | c3;
      v3 = round(v3, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = key.charCodeAt(at + 12);
      c1 = key.charCodeAt(at + 13);
      c2 = key.charCodeAt(at + 14);
      c3 = key.charCodeAt(at + 15);
      units |= c0 | c1 | c2 | c3;
      v4 = round(v4, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      at += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = PRIME32_5;
  }
  h = (h + length) | 0;
  while (at + 4 <= length) {
    const c0 = key.charCodeAt(at);
    const c1 = key.charCodeAt(at + 1);
    const c2 = key.charCodeAt(at + 2);
    const c3 = key.charCodeAt(at + 3);
    units |= c0 | c1 | c2 | c3;
    h = Math.imul(rotl((h + Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), PRIME32_3)) | 0, 17), PRIME32_4);
    at += 4;
  }
  while (at < length) {
    const c = key.charCodeAt(at);
    units |= c;
    h = Math.imul(rotl((h + Math.imul(c, PRIME32_5)) | 0, 11), PRIME32_1);
    at++;
  }
  if (units > 0x7f) return NOT_ASCII;
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(lane: number, word: number): number {
  return Math.imul(rotl((lane + Math.imul(word, PRIME32_2)) | 0, 13), PRIME32_1);
}

function rotl(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}
