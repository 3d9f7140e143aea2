/**
 * Order-preserving byte encoding of DynamoDB keys, so that memcmp order
 * (LMDB's default) is DynamoDB's order (../shared/dynamodb-reference.md §2):
 * S by the bytes of its UTF-8 encoding, N numerically, B as unsigned bytes.
 *
 * ## One key value
 * Every encoding is self-delimiting (no encoding is a prefix of another),
 * so a partition value followed by a sort value orders by (partition, sort).
 * - S, B: the bytes (UTF-8 for S), each 0x00 escaped as 0x00 0xFF, then the
 *   terminator 0x00 0x00. memcmp of two such encodings is memcmp of the raw
 *   bytes with a shorter prefix first (0x00 0x00 sorts below every escaped
 *   or plain byte).
 * - N: zero is 0x80. A positive number 0.d1d2... x 10^e is 0x81, the byte
 *   e + 129 (e is -129..126, DynamoDB's whole range), its digits in base-100
 *   pairs as bytes 1..100 (an odd last digit padded with 0), then 0x00. A
 *   negative number is 0x7F and the same bytes of its magnitude, each
 *   complemented (255 - b), so larger magnitudes sort first. At most 22 bytes.
 *
 * ## An item key (the engine's partitioned key, DESIGN.md §1)
 * `[0xFF][space = table id][token][part length] ‖ partition value ‖ sort value`
 * (lib/ring/partitioned-key.ts): the partition part is the encoded partition
 * value, hashed to the token that places the item; the rest is the encoded
 * sort value. Every key of one partition value starts with the same
 * partition prefix (header and part), and no other partition's keys do, so
 * a partition is one contiguous range ordered by sort key, and a table (a
 * space) is one contiguous range.
 *
 * ## Long keys (the engine's keys are at most 1970 bytes: LMDB's 1978 less 8)
 * DynamoDB allows a 2048-byte partition key and a 1024-byte sort key, and
 * escaping can double their length. So the partition prefix (the 11-byte
 * header and the partition part) is at most PARTITION_PREFIX_BYTES_MAX
 * (1024) bytes and the sort part at most SORT_PART_BYTES_MAX (946). An S or
 * B value whose escaped body would leave no room is truncated: the body is
 * cut to a fixed length (one byte less if the cut would split an escape
 * pair), followed by the marker 0x00 0x01 and the first 16 bytes of the
 * SHA-256 of the value's full encoding. A body is truncated exactly when it
 * is longer than the cut length, so every truncated value has the same cut
 * length within a table.
 * Guarantees (for values whose digests differ, i.e. barring a 2^-128 event):
 * - Uniqueness: distinct values give distinct keys. The caller keeps the full
 *   key beside the item anyway and compares it on read.
 * - Partitions: a truncated partition value still gives a prefix-free
 *   partition part, so each partition is one contiguous range. Partitions
 *   are in token order (Scan order is unspecified in DynamoDB, so nothing
 *   depends on it).
 * - Sort order: memcmp order is DynamoDB's order between any two keys,
 *   except between two truncated sort values with the same cut body (a "tie
 *   group"): those are adjacent (no other key sorts between them) and
 *   ordered by digest. A range read must therefore (1) start and end at the
 *   bounds of `sortValueRange` / `sortPrefixRange`, which include a whole
 *   tie group, (2) compare every item's full sort value with the query's
 *   bounds, and (3) re-sort each run of keys with `isTruncatedSortKey` and
 *   equal `tieGroupOf` by full value before returning it (a page boundary
 *   must not split a tie group: read it whole).
 * N values are never truncated. `decodeItemKey` is exact for every part
 * that is not truncated and reports the parts that are.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { partitionPrefix } from '../ring/hash.js';
import { PARTITIONED_KEY_HEADER_BYTES, SPACE_MAX, spacePrefix, splitPartitionedKey } from '../ring/partitioned-key.js';
import { numberParts, parseNumber } from './number.js';

export type KeyAttributeType = 'S' | 'N' | 'B';
export type KeyValue = { S: string } | { N: string } | { B: Uint8Array };

/** lmdb-js's key limit (1978) less the 8 bytes the engine's TTL index prefixes (lib/config/options.ts KEY_BYTES_LIMIT). */
export const ENGINE_KEY_BYTES_MAX = 1970;
/** The engine's header before the partition part: marker, space (the table id), token, part length. */
export const KEY_HEADER_BYTES = PARTITIONED_KEY_HEADER_BYTES;
export const TABLE_ID_MAX = SPACE_MAX;
/** The partition prefix (header and partition part) never exceeds this. */
export const PARTITION_PREFIX_BYTES_MAX = 1024;
/** The partition part (the encoded partition value, the placement hash input) never exceeds this. */
export const PARTITION_PART_BYTES_MAX = PARTITION_PREFIX_BYTES_MAX - KEY_HEADER_BYTES;
/** The sort part never exceeds this, so a whole key fits the engine. */
export const SORT_PART_BYTES_MAX = ENGINE_KEY_BYTES_MAX - PARTITION_PREFIX_BYTES_MAX;
export const DIGEST_BYTES = 16;
const MARKER_BYTES = 2;
/** Longest escaped body kept whole; a longer one is cut to this length (or one less). */
export const PARTITION_BODY_BYTES_MAX = PARTITION_PART_BYTES_MAX - MARKER_BYTES - DIGEST_BYTES;
export const SORT_BODY_BYTES_MAX = SORT_PART_BYTES_MAX - MARKER_BYTES - DIGEST_BYTES;

const ZERO_TAG = 0x80;
const POSITIVE_TAG = 0x81;
const NEGATIVE_TAG = 0x7f;
const EXPONENT_BIAS = 129;
const ESCAPE = 0xff;
const TERMINATOR = 0x00;
const TRUNCATION_MARKER = 0x01;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The full, self-delimiting encoding of one key value (never truncated). */
export function encodeKeyValue(value: KeyValue): Uint8Array {
  if ('N' in value) return encodeNumber(value.N);
  if ('S' in value) return encodeString(value.S);
  return terminate(escapeBytes(value.B));
}

/**
 * An S value's encoding: its UTF-8 bytes written once into a buffer that
 * already ends in the terminator (every GetItem and write encodes its key);
 * escaped through the general path only when the text holds a NUL.
 */
function encodeString(text: string): Uint8Array {
  // ASCII without NUL (most keys) is its own UTF-8, copied in a loop: a native encode per short key cost more.
  const out = new Uint8Array(text.length + 2);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code > 0x7f) return terminate(escapeBytes(utf8Encoder.encode(text)));
    out[i] = code;
  }
  return out; // the last two bytes are already 0x00 0x00
}

/** Numeric, string-byte or unsigned-byte order of two key values of one type: DynamoDB's order, for tests and callers that resolve tie groups. */
export function compareKeyValues(a: KeyValue, b: KeyValue): -1 | 0 | 1 {
  return Math.sign(Buffer.compare(encodeKeyValue(a), encodeKeyValue(b))) as -1 | 0 | 1;
}

export interface EncodedItemKey {
  /** The whole engine key. */
  key: Uint8Array;
  /** The encoded partition value: the engine's partition part, which it hashes to place the item. */
  partitionPart: Uint8Array;
  /** Header ‖ partition part: every key of the partition begins with it. */
  partitionPrefix: Uint8Array;
  partitionTruncated: boolean;
  sortTruncated: boolean;
}

export interface EncodedPartition {
  partitionPart: Uint8Array;
  partitionPrefix: Uint8Array;
  truncated: boolean;
}

export function encodePartitionPart(tableId: number, partitionValue: KeyValue): EncodedPartition {
  assert.ok(Number.isInteger(tableId) && tableId >= 0 && tableId <= TABLE_ID_MAX, 'table id is a uint32');
  const value = boundedValue(encodeKeyValue(partitionValue), PARTITION_BODY_BYTES_MAX);
  return { partitionPart: value.bytes, partitionPrefix: partitionPrefix(tableId, value.bytes), truncated: value.truncated };
}

/** The engine key of an item's primary key: space = table id, partition part = partition value, rest = sort value. */
export function encodeItemKey(tableId: number, partitionValue: KeyValue, sortValue?: KeyValue): EncodedItemKey {
  const { partitionPart, partitionPrefix: prefix, truncated: partitionTruncated } = encodePartitionPart(tableId, partitionValue);
  if (sortValue === undefined) return { key: prefix, partitionPart, partitionPrefix: prefix, partitionTruncated, sortTruncated: false };
  const sort = boundedValue(encodeKeyValue(sortValue), SORT_BODY_BYTES_MAX);
  const key = concat([prefix, sort.bytes]);
  assert.ok(key.byteLength <= ENGINE_KEY_BYTES_MAX, 'item key within the engine limit');
  return { key, partitionPart, partitionPrefix: prefix, partitionTruncated, sortTruncated: sort.truncated };
}

export interface DecodedItemKey {
  tableId: number;
  /** undefined when truncated: read the full key kept beside the item. */
  partition: KeyValue | undefined;
  sort: KeyValue | undefined;
  partitionTruncated: boolean;
  sortTruncated: boolean;
}

/** Decodes an item key; exact for every part that is not truncated. */
export function decodeItemKey(key: Uint8Array, partitionType: KeyAttributeType, sortType?: KeyAttributeType): DecodedItemKey {
  const { space: tableId, partitionPart } = splitPartitionedKey(key);
  const partition = decodeValue(key, KEY_HEADER_BYTES, partitionType);
  assert.equal(partition.end, KEY_HEADER_BYTES + partitionPart.byteLength, 'the partition value is the whole partition part');
  let sort: DecodedValue | undefined;
  if (sortType !== undefined) sort = decodeValue(key, partition.end, sortType);
  assert.equal(sort?.end ?? partition.end, key.byteLength, 'item key has no trailing bytes');
  return {
    tableId,
    partition: partition.value,
    sort: sort?.value,
    partitionTruncated: partition.value === undefined,
    sortTruncated: sort !== undefined && sort.value === undefined,
  };
}

/** A half-open key range [start, end); end undefined means "to the end of the keyspace". */
export interface KeyRange {
  start: Uint8Array;
  end: Uint8Array | undefined;
}

/** Every key of one table. */
export function tableRange(tableId: number): KeyRange {
  const start = spacePrefix(tableId);
  return { start, end: prefixEnd(start) };
}

/** Every key of one partition, in sort-key order (tie groups aside). */
export function partitionRange(partitionPrefix: Uint8Array): KeyRange {
  return { start: partitionPrefix, end: prefixEnd(partitionPrefix) };
}

/**
 * The keys that may hold one sort value: exactly its key when it is not
 * truncated, else its whole tie group. Every sort value below it is at a key
 * < start or in the range; every value above it at a key >= end or in the
 * range. So `>= v` reads from start, `> v` reads from start and drops v,
 * `< v` reads to end and filters, `<= v` reads to end.
 */
export function sortValueRange(partitionPrefix: Uint8Array, sortValue: KeyValue): KeyRange {
  const full = encodeKeyValue(sortValue);
  const body = full.subarray(0, full.byteLength - 1 - ('N' in sortValue ? 0 : 1));
  if ('N' in sortValue || body.byteLength <= SORT_BODY_BYTES_MAX) {
    const start = concat([partitionPrefix, full]);
    return { start, end: concat([start, Uint8Array.of(0)]) };
  }
  const groupStart = concat([partitionPrefix, cutBody(body, SORT_BODY_BYTES_MAX), Uint8Array.of(TERMINATOR, TRUNCATION_MARKER)]);
  return { start: groupStart, end: prefixEnd(groupStart) };
}

/**
 * The keys that may hold a sort value beginning with `prefix` (begins_with on
 * an S or B sort key). All of them are in the range; the caller still
 * compares full values when the prefix is longer than the cut.
 */
export function sortPrefixRange(partitionPrefix: Uint8Array, prefix: { S: string } | { B: Uint8Array }): KeyRange {
  const body = escapeBytes('S' in prefix ? utf8Encoder.encode(prefix.S) : prefix.B);
  const kept = body.byteLength <= SORT_BODY_BYTES_MAX ? body : cutBody(body, SORT_BODY_BYTES_MAX);
  const start = concat([partitionPrefix, kept]);
  return { start, end: prefixEnd(start) };
}

/** Whether a key's sort part is truncated (so its order within its tie group is not DynamoDB's). */
export function isTruncatedSortKey(key: Uint8Array, partitionType: KeyAttributeType, sortType: KeyAttributeType): boolean {
  return decodeItemKey(key, partitionType, sortType).sortTruncated;
}

/** The key less its digest: equal for exactly the keys of one tie group. */
export function tieGroupOf(key: Uint8Array): Uint8Array {
  return key.subarray(0, key.byteLength - DIGEST_BYTES);
}

// ---------------------------------------------------------------------------

function encodeNumber(text: string): Uint8Array {
  const { negative, exponent, digits } = numberParts(text);
  if (digits.length === 0) return Uint8Array.of(ZERO_TAG);
  assert.ok(exponent + EXPONENT_BIAS >= 0 && exponent + EXPONENT_BIAS <= 255, 'number exponent fits one byte');
  const padded = digits.length % 2 === 0 ? digits : digits + '0';
  const bytes = new Uint8Array(2 + padded.length / 2 + 1);
  bytes[0] = POSITIVE_TAG;
  bytes[1] = exponent + EXPONENT_BIAS;
  // Each pair of decimal digits is one byte, 1..100 (0 is the terminator).
  for (let i = 0; i < padded.length; i += 2) bytes[2 + i / 2] = (padded.charCodeAt(i) - 48) * 10 + (padded.charCodeAt(i + 1) - 48) + 1;
  bytes[bytes.length - 1] = TERMINATOR;
  if (negative) {
    bytes[0] = NEGATIVE_TAG;
    for (let i = 1; i < bytes.length; i += 1) bytes[i] = 255 - bytes[i]!;
  }
  return bytes;
}

function decodeNumber(key: Uint8Array, offset: number): { text: string; end: number } {
  const tag = key[offset];
  if (tag === ZERO_TAG) return { text: '0', end: offset + 1 };
  assert.ok(tag === POSITIVE_TAG || tag === NEGATIVE_TAG, 'number tag');
  const flip = tag === NEGATIVE_TAG ? (b: number) => 255 - b : (b: number) => b;
  const exponent = flip(key[offset + 1]!) - EXPONENT_BIAS;
  let digits = '';
  let at = offset + 2;
  for (; ; at += 1) {
    assert.ok(at < key.byteLength, 'number terminator');
    const byte = flip(key[at]!);
    if (byte === TERMINATOR) break;
    digits += String(byte - 1).padStart(2, '0');
  }
  const text = parseNumber(`${tag === NEGATIVE_TAG ? '-' : ''}0.${digits}e${exponent}`);
  return { text, end: at + 1 };
}

function escapeBytes(bytes: Uint8Array): Uint8Array {
  let zeros = 0;
  for (const byte of bytes) if (byte === 0) zeros += 1;
  if (zeros === 0) return bytes;
  const escaped = new Uint8Array(bytes.byteLength + zeros);
  let at = 0;
  for (const byte of bytes) {
    escaped[at++] = byte;
    if (byte === 0) escaped[at++] = ESCAPE;
  }
  return escaped;
}

function terminate(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 2);
  out.set(body, 0);
  return out; // the last two bytes are already 0x00 0x00
}

/** Cuts an escaped body to `length` bytes, one less if that would split an escape pair. */
function cutBody(body: Uint8Array, length: number): Uint8Array {
  // Escape pairs are 0x00 0xFF and a lone 0x00 never occurs in a body, so a
  // cut ending on 0x00 splits a pair.
  const cut = body[length - 1] === 0 ? length - 1 : length;
  return body.subarray(0, cut);
}

/** The value's bytes for the key: whole, or cut body ‖ marker ‖ digest. */
function boundedValue(full: Uint8Array, bodyBytesMax: number): { bytes: Uint8Array; truncated: boolean } {
  // N encodings are at most 22 bytes and S/B bodies end in the 2-byte terminator.
  if (full.byteLength - 2 <= bodyBytesMax) return { bytes: full, truncated: false };
  const body = full.subarray(0, full.byteLength - 2);
  const digest = createHash('sha256').update(full).digest().subarray(0, DIGEST_BYTES);
  return { bytes: concat([cutBody(body, bodyBytesMax), Uint8Array.of(TERMINATOR, TRUNCATION_MARKER), digest]), truncated: true };
}

interface DecodedValue {
  value: KeyValue | undefined;
  end: number;
}

function decodeValue(key: Uint8Array, offset: number, type: KeyAttributeType): DecodedValue {
  if (type === 'N') {
    const { text, end } = decodeNumber(key, offset);
    return { value: { N: text }, end };
  }
  const bytes: number[] = [];
  for (let at = offset; ; at += 1) {
    assert.ok(at + 1 < key.byteLength, 'S/B value is terminated');
    const byte = key[at]!;
    if (byte !== 0) {
      bytes.push(byte);
      continue;
    }
    const next = key[at + 1];
    if (next === ESCAPE) {
      bytes.push(0);
      at += 1;
    } else if (next === TERMINATOR) {
      const raw = Uint8Array.from(bytes);
      return { value: type === 'S' ? { S: utf8Decoder.decode(raw) } : { B: raw }, end: at + 2 };
    } else {
      assert.equal(next, TRUNCATION_MARKER, 'S/B value marker');
      const end = at + 2 + DIGEST_BYTES;
      assert.ok(end <= key.byteLength, 'truncated value has its digest');
      return { value: undefined, end };
    }
  }
}

/** The first key after every key that starts with `prefix`, or undefined when there is none. */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  let length = prefix.byteLength;
  while (length > 0 && prefix[length - 1] === 0xff) length -= 1;
  if (length === 0) return undefined;
  const end = prefix.slice(0, length);
  end[length - 1]! += 1;
  return end;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
