/**
 * YCSB's 64-bit FNV-1a hash of a number, bit for bit (site.ycsb.Utils.fnvhash64):
 *
 *   hashval = 0xCBF29CE484222325 (offset basis)
 *   for 8 octets of the 64-bit two's complement value, lowest first:
 *     hashval ^= octet; hashval *= 1099511628211 (mod 2^64)
 *   return Math.abs(hashval as a signed long)
 *
 * YCSB names its keys "user" + fnvhash64(keynum) and scatters the scrambled
 * zipfian's popular items with fnvhash64(item) % itemcount, so ringtable's
 * keys and hot spots only match YCSB's if this matches exactly, signedness
 * included. (Java's `val >> 8` is an arithmetic shift, but eight shifts of
 * eight bits consume each byte of the original value exactly once, so the
 * shift kind does not matter.)
 *
 * Speed: millions of calls per benchmark setup, so the 64-bit state is two
 * int32 halves and the multiply is split: the prime is 2^40 + 435, so
 * h * prime = h * 435 + (h << 40) (mod 2^64): Math.imul for each half, the
 * carry out of low * 435 from 16-bit partial products, and h << 40 lands
 * entirely in the high half. A straightforward BigInt loop (the reference
 * in test/ycsb-workload.test.ts, which this must match) allocates at every
 * step and measured about 8x slower than fnvHash64Mod here.
 *
 * Pure: the halves of the last hash live in one module-level typed array so
 * the hot path allocates nothing; every exported function reads them at once.
 */
import assert from 'node:assert/strict';

const TWO_POW_32 = 4294967296;
/** 0xCBF29CE484222325 as two uint32 halves. */
const OFFSET_BASIS_HIGH = 0xcbf29ce4;
const OFFSET_BASIS_LOW = 0x84222325;
/** The 64-bit FNV prime 1099511628211 = 0x100000001B3 = 2^40 + 435. */
const PRIME_LOW_PART = 0x1b3;
/** fnvHash64Mod works on 16-bit limbs: remainder * 2^16 + limb must stay below 2^53. */
export const FNV_MODULUS_MAX = 2 ** 37;

/**
 * |hash| of the last call as [high, low] uint32 halves. A typed array, not
 * two module variables: a uint32 above 2^31 stored in a variable is boxed
 * (a heap allocation per call); a typed-array store is not.
 */
const hashHalves = new Uint32Array(2);
/** True only for the one hash Math.abs cannot make positive: Long.MIN_VALUE. */
let hashNegative = false;

/**
 * Hash `value` (a safe integer, taken as a 64-bit two's complement long) and
 * leave |hash| in hashHalves, as Java's Math.abs leaves it.
 */
function hashInto(value: number): void {
  // Not assert.ok(cond, `...${value}`): the message would be built on every call.
  if (!Number.isSafeInteger(value)) assert.fail(`fnvHash64 takes a safe integer, got ${value}`);
  // Everything below is int32 arithmetic (V8 keeps it in registers): `| 0`
  // is exact modulo 2^32 for any safe integer, negative ones included.
  let octets = value | 0;
  const valueHigh = Math.floor(value / TWO_POW_32) | 0;
  let high = OFFSET_BASIS_HIGH | 0;
  let low = OFFSET_BASIS_LOW | 0;
  for (let i = 0; i < 8; i++) {
    if (i === 4) octets = valueHigh;
    low ^= octets & 0xff;
    octets >>>= 8;
    // The carry out of the low word of low * 435, from 16-bit halves: the
    // partial products stay far below 2^31.
    const carry = ((low >>> 16) * PRIME_LOW_PART + (((low & 0xffff) * PRIME_LOW_PART) >>> 16)) >>> 16;
    // high*435 + carry + (low << 8): the h << 40 term lands entirely in the high word.
    high = (Math.imul(high, PRIME_LOW_PART) + carry + (low << 8)) | 0;
    low = Math.imul(low, PRIME_LOW_PART);
  }
  hashNegative = false;
  if (high < 0) {
    // Math.abs of a negative long: two's complement negation. Long.MIN_VALUE
    // negates to itself and stays negative in Java; we keep its magnitude
    // (2^63, which the halves still hold) and remember the sign.
    low = (~low + 1) | 0;
    high = (~high + (low === 0 ? 1 : 0)) | 0;
    hashNegative = high === -0x80000000 && low === 0;
  }
  hashHalves[0] = high;
  hashHalves[1] = low;
}

/** YCSB's Utils.fnvhash64(value), exactly, as a signed 64-bit bigint. */
export function fnvHash64(value: number): bigint {
  hashInto(value);
  const hashHigh = hashHalves[0]!;
  const hashLow = hashHalves[1]!;
  const magnitude = (BigInt(hashHigh) << 32n) | BigInt(hashLow);
  return hashNegative ? -magnitude : magnitude;
}

/**
 * Java's `Utils.fnvhash64(value) % modulus` without a bigint. Non-negative
 * except for the single hash Long.MIN_VALUE, where Java's remainder is
 * negative (or zero) too.
 */
export function fnvHash64Mod(value: number, modulus: number): number {
  if (!(Number.isInteger(modulus) && modulus >= 1 && modulus <= FNV_MODULUS_MAX)) assert.fail(`modulus must be an integer in [1, 2^37], got ${modulus}`);
  hashInto(value);
  const hashHigh = hashHalves[0]!;
  const hashLow = hashHalves[1]!;
  let remainder: number;
  if (modulus <= 0x200000) {
    // (high mod m) * 2^32 + low < 2^21 * 2^32 = 2^53: one step is exact.
    remainder = remainderOf(remainderOf(hashHigh, modulus) * TWO_POW_32 + hashLow, modulus);
  } else {
    remainder = remainderOf(hashHigh >>> 16, modulus);
    remainder = remainderOf(remainder * 65536 + (hashHigh & 0xffff), modulus);
    remainder = remainderOf(remainder * 65536 + (hashLow >>> 16), modulus);
    remainder = remainderOf(remainder * 65536 + (hashLow & 0xffff), modulus);
  }
  return hashNegative && remainder !== 0 ? -remainder : remainder;
}

const BILLION = 1_000_000_000;

function pad9(group: number): string {
  return group >= 100_000_000 ? `${group}` : `${group}`.padStart(9, '0');
}

/**
 * x mod m for 0 <= x < 2^53, cheaper than `%` on doubles (a C fmod call):
 * the rounded quotient x/m is at most one above the true one (k and k + 1
 * are both representable), so one correction makes it exact.
 */
function remainderOf(x: number, m: number): number {
  const r = x - Math.floor(x / m) * m;
  return r < 0 ? r + m : r;
}

/** Java's `Long.toString(Utils.fnvhash64(value))` without a bigint. */
export function fnvHash64Decimal(value: number): string {
  hashInto(value);
  const hashHigh = hashHalves[0]!;
  const hashLow = hashHalves[1]!;
  // Long division of the 64-bit magnitude by 10^9 over 16-bit limbs: every
  // partial dividend is below 10^9 * 2^16 < 2^53, and the quotient is below
  // 2^64 / 10^9 < 2^35, so all of it is exact in doubles.
  let partial = hashHigh >>> 16;
  const q3 = Math.floor(partial / BILLION);
  partial = (partial - q3 * BILLION) * 65536 + (hashHigh & 0xffff);
  const q2 = Math.floor(partial / BILLION);
  partial = (partial - q2 * BILLION) * 65536 + (hashLow >>> 16);
  const q1 = Math.floor(partial / BILLION);
  partial = (partial - q1 * BILLION) * 65536 + (hashLow & 0xffff);
  const q0 = Math.floor(partial / BILLION);
  const low9 = partial - q0 * BILLION;
  const quotient = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
  // Print as three groups below 2^30 (small integers): V8 turns those into
  // strings several times faster than a double above 2^31.
  const top = Math.floor(quotient / BILLION);
  const middle9 = quotient - top * BILLION;
  const digits =
    top > 0 ? `${top}${pad9(middle9)}${pad9(low9)}` : middle9 > 0 ? `${middle9}${pad9(low9)}` : `${low9}`;
  return hashNegative ? `-${digits}` : digits;
}
