/**
 * Order-preserving key encoding (lib/tables/key-encoding.ts), checked
 * against reference comparators written from DynamoDB's rules
 * (../shared/dynamodb-reference.md §2): S by UTF-8 bytes, N numerically
 * (decimal.js), B by unsigned bytes.
 */
import t from 'tap';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { parseNumber } from '../lib/tables/number.js';
import {
  DIGEST_BYTES,
  compareKeyValues,
  ENGINE_KEY_BYTES_MAX,
  PARTITION_BODY_BYTES_MAX,
  PARTITION_PART_BYTES_MAX,
  SORT_BODY_BYTES_MAX,
  SORT_PART_BYTES_MAX,
  decodeItemKey,
  encodeItemKey,
  encodeKeyValue,
  encodePartitionPart,
  isTruncatedSortKey,
  partitionRange,
  prefixEnd,
  sortPrefixRange,
  sortValueRange,
  tableRange,
  tieGroupOf,
  type KeyAttributeType,
  type KeyRange,
  type KeyValue,
} from '../lib/tables/key-encoding.js';

// ---- reference comparators (DynamoDB's order, computed independently) ----

function referenceCompare(a: KeyValue, b: KeyValue): number {
  if ('S' in a && 'S' in b) return Math.sign(Buffer.compare(Buffer.from(a.S, 'utf8'), Buffer.from(b.S, 'utf8')));
  if ('N' in a && 'N' in b) return new Decimal(a.N).comparedTo(new Decimal(b.N));
  if ('B' in a && 'B' in b) return Math.sign(Buffer.compare(Buffer.from(a.B), Buffer.from(b.B)));
  throw new Error('values of different types');
}

const memcmp = (a: Uint8Array, b: Uint8Array): number => Math.sign(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)));

function inRange(key: Uint8Array, range: KeyRange): boolean {
  return memcmp(key, range.start) >= 0 && (range.end === undefined || memcmp(key, range.end) < 0);
}

// ---- arbitraries ----

/** Strings mixing astral-plane characters, NUL, U+FFFF and private-use characters, where UTF-16 order and UTF-8 order disagree. */
const stringValue = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom('\u0000', '\uffff', '\ue000', '😀', '\u{10ffff}', 'a', 'é', '\u{10000}')), { maxLength: 6 })
  .map((parts) => ({ S: parts.join('') }));

const numberValue = fc.oneof(
  fc
    .record({
      negative: fc.boolean(),
      digits: fc.stringMatching(/^[1-9]([0-9]{0,36}[1-9])?$/),
      leadingExponent: fc.integer({ min: -130, max: 125 }),
    })
    .map(({ negative, digits, leadingExponent }) => ({ N: parseNumber(`${negative ? '-' : ''}${digits[0]}.${digits.slice(1)}e${leadingExponent}`) })),
  fc.constantFrom('0', '1', '-1', '10', '0.1', '1e-130', '-1e-130', '9.9999999999999999999999999999999999999e125', '-9.9999999999999999999999999999999999999e125', '99', '100', '101').map((n) => ({ N: parseNumber(n) })),
);

const binaryValue = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 255, 1, 254)), { maxLength: 12 })
  .map((bytes) => ({ B: Uint8Array.from(bytes) }));

const valueOfType: Record<KeyAttributeType, fc.Arbitrary<KeyValue>> = { S: stringValue, N: numberValue, B: binaryValue };

// ---- one value ----

t.test('value order equals DynamoDB order, for S, N and B', async (t) => {
  for (const type of ['S', 'N', 'B'] as const) {
    fc.assert(
      fc.property(valueOfType[type], valueOfType[type], (a, b) => {
        const expected = referenceCompare(a, b);
        return memcmp(encodeKeyValue(a), encodeKeyValue(b)) === expected && compareKeyValues(a, b) === expected;
      }),
      { numRuns: 2000 },
    );
    t.pass(`${type}: 2000 pairs`);
  }
});

t.test('S compares by UTF-8 bytes where JavaScript string order differs', async (t) => {
  // U+FFFF is one UTF-16 unit 0xFFFF, above the surrogates of U+1F600, but its UTF-8 (EF BF BF) is below F0 9F 98 80.
  t.equal('\uffff' > '😀', true, 'JavaScript says U+FFFF is greater');
  t.equal(memcmp(encodeKeyValue({ S: '\uffff' }), encodeKeyValue({ S: '😀' })), -1, 'DynamoDB order says it is smaller');
  t.equal(memcmp(encodeKeyValue({ S: '\ue000' }), encodeKeyValue({ S: '\u{10000}' })), -1);
  t.equal(memcmp(encodeKeyValue({ S: 'a' }), encodeKeyValue({ S: 'A' })), 1, '"a" (0x61) > "A" (0x41)');
  t.equal(memcmp(encodeKeyValue({ S: '¿' }), encodeKeyValue({ S: 'z' })), 1, '"¿" (0xC2BF) > "z"');
  t.equal(memcmp(encodeKeyValue({ S: 'ab' }), encodeKeyValue({ S: 'ab\u0000' })), -1, 'a shorter prefix first, even before NUL');
  t.equal(memcmp(encodeKeyValue({ S: '' }), encodeKeyValue({ S: '\u0000' })), -1);
});

t.test('N: negatives, zero, fractions, 38 digits and the exponent range', async (t) => {
  const ascending = [
    '-9.9999999999999999999999999999999999999e125',
    '-1e125',
    '-100',
    '-99.5',
    '-1.0000000000000000000000000000000000001',
    '-1',
    '-0.5',
    '-1e-130',
    '0',
    '1e-130',
    '1.1e-130',
    '0.0999',
    '0.1',
    '0.10000000000000000000000000000000000001',
    '0.5',
    '1',
    '1.5',
    '9',
    '10',
    '11',
    '99999999999999999999999999999999999999',
    '1e38',
    '1.0000000000000000000000000000000000001e38',
    '9.9999999999999999999999999999999999999e125',
  ].map((text) => ({ N: parseNumber(text) }));
  for (let i = 1; i < ascending.length; i += 1) {
    t.equal(memcmp(encodeKeyValue(ascending[i - 1]!), encodeKeyValue(ascending[i]!)), -1, `${ascending[i - 1]!.N.slice(0, 20)} < ${ascending[i]!.N.slice(0, 20)}`);
  }
  t.ok(encodeKeyValue({ N: parseNumber('-9.9999999999999999999999999999999999999e125') }).byteLength <= 22);
});

t.test('B compares as unsigned bytes', async (t) => {
  t.equal(memcmp(encodeKeyValue({ B: Uint8Array.of(0x7f) }), encodeKeyValue({ B: Uint8Array.of(0x80) })), -1);
  t.equal(memcmp(encodeKeyValue({ B: Uint8Array.of(0xff) }), encodeKeyValue({ B: Uint8Array.of(0xff, 0x00) })), -1);
  t.equal(memcmp(encodeKeyValue({ B: Uint8Array.of(0x00) }), encodeKeyValue({ B: Uint8Array.of(0x00, 0x00) })), -1);
  t.equal(memcmp(encodeKeyValue({ B: Uint8Array.of(0x00, 0xff) }), encodeKeyValue({ B: Uint8Array.of(0x01) })), -1);
});

// ---- item keys ----

const tableId = fc.integer({ min: 0, max: 0xffff_ffff });

t.test('item keys round-trip exactly and start with their partition part', async (t) => {
  for (const partitionType of ['S', 'N', 'B'] as const) {
    for (const sortType of [undefined, 'S', 'N', 'B'] as const) {
      fc.assert(
        fc.property(tableId, valueOfType[partitionType], sortType === undefined ? fc.constant(undefined) : valueOfType[sortType], (id, partition, sort) => {
          const encoded = encodeItemKey(id, partition, sort);
          const decoded = decodeItemKey(encoded.key, partitionType, sortType);
          if (decoded.tableId !== id || decoded.partitionTruncated || decoded.sortTruncated) return false;
          if (referenceCompare(decoded.partition!, partition) !== 0) return false;
          if (sort !== undefined && referenceCompare(decoded.sort!, sort) !== 0) return false;
          if ('S' in partition && (decoded.partition as { S: string }).S !== partition.S) return false;
          if ('N' in partition && (decoded.partition as { N: string }).N !== partition.N) return false;
          if (!inRange(encoded.key, partitionRange(encoded.partitionPrefix)) || !inRange(encoded.key, tableRange(id))) return false;
          return memcmp(encoded.key.subarray(0, encoded.partitionPrefix.byteLength), encoded.partitionPrefix) === 0;
        }),
        { numRuns: 300 },
      );
    }
    t.pass(`${partitionType} partition keys`);
  }
});

t.test('a partition is one contiguous range ordered by sort key', async (t) => {
  for (const [partitionType, sortType] of [['S', 'N'], ['B', 'S'], ['N', 'B'], ['S', 'S']] as const) {
    fc.assert(
      fc.property(
        // A few partition values, many sort values: partitions repeat.
        fc.array(valueOfType[partitionType], { minLength: 1, maxLength: 4 }).chain((pool) =>
          fc.array(fc.tuple(fc.constantFrom(...pool), valueOfType[sortType]), { minLength: 2, maxLength: 30 }),
        ),
        (pairs) => {
          const keys = pairs.map(([p, s]) => ({ p, s, key: encodeItemKey(7, p, s).key }));
          keys.sort((a, b) => memcmp(a.key, b.key));
          const seenPartitions: KeyValue[] = [];
          for (let i = 0; i < keys.length; i += 1) {
            const current = keys[i]!;
            const previous = keys[i - 1];
            if (previous !== undefined && referenceCompare(previous.p, current.p) === 0) {
              if (referenceCompare(previous.s, current.s) > 0) return false; // sort order inside a partition
            } else if (seenPartitions.some((p) => referenceCompare(p, current.p) === 0)) {
              return false; // a partition came back after another one: not contiguous
            }
            if (previous === undefined || referenceCompare(previous.p, current.p) !== 0) seenPartitions.push(current.p);
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
    t.pass(`${partitionType}/${sortType}`);
  }
  // Other tables are outside a table's range.
  t.notOk(inRange(encodeItemKey(2, { S: 'a' }).key, tableRange(1)));
  t.ok(inRange(encodeItemKey(1, { S: '\u{10ffff}' }, { B: Uint8Array.of(255, 255) }).key, tableRange(1)));
  t.equal(tableRange(0xffff_ffff).end, undefined, 'the last table id runs to the end of the keyspace');
});

// ---- long keys ----

/** Long strings sharing a long prefix, so that some are truncated and share a tie group. */
function longStrings(prefixLength: number): fc.Arbitrary<{ S: string }> {
  const prefix = 'p'.repeat(prefixLength);
  return fc
    .tuple(fc.constantFrom('', 'x', 'y', '\u0000', 'é'), fc.array(fc.constantFrom('a', 'b', '\u0000', '😀', ''), { maxLength: 40 }))
    .map(([head, tail]) => ({ S: prefix + head + tail.join('') }));
}

t.test('truncated sort keys: DynamoDB order except inside a tie group, which is contiguous', async (t) => {
  fc.assert(
    fc.property(fc.array(longStrings(SORT_BODY_BYTES_MAX - 20), { minLength: 2, maxLength: 40 }), (values) => {
      const keys = values.map((s) => ({ s, key: encodeItemKey(3, { S: 'pk' }, s).key }));
      keys.sort((a, b) => memcmp(a.key, b.key));
      // Re-sort each tie group by full value, as a range read must.
      const resolved: typeof keys = [];
      for (let i = 0; i < keys.length; ) {
        let j = i + 1;
        if (isTruncatedSortKey(keys[i]!.key, 'S', 'S')) {
          const group = tieGroupOf(keys[i]!.key);
          while (j < keys.length && isTruncatedSortKey(keys[j]!.key, 'S', 'S') && memcmp(tieGroupOf(keys[j]!.key), group) === 0) j += 1;
        }
        resolved.push(...keys.slice(i, j).sort((a, b) => referenceCompare(a.s, b.s)));
        i = j;
      }
      for (let i = 1; i < resolved.length; i += 1) if (referenceCompare(resolved[i - 1]!.s, resolved[i]!.s) > 0) return false;
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('300 runs');
});

t.test('long partition values: each partition still one contiguous range in sort order; decode reports truncation', async (t) => {
  const longPartition = longStrings(PARTITION_BODY_BYTES_MAX - 20);
  fc.assert(
    fc.property(
      fc.array(longPartition, { minLength: 1, maxLength: 4 }).chain((pool) => fc.array(fc.tuple(fc.constantFrom(...pool), longStrings(SORT_BODY_BYTES_MAX - 20)), { minLength: 2, maxLength: 20 })),
      (pairs) => {
        const keys = pairs.map(([p, s]) => ({ p, s, encoded: encodeItemKey(11, p, s) }));
        for (const { encoded } of keys) {
          const decoded = decodeItemKey(encoded.key, 'S', 'S');
          if (decoded.partitionTruncated !== encoded.partitionTruncated || decoded.sortTruncated !== encoded.sortTruncated) return false;
          if (encoded.key.byteLength > ENGINE_KEY_BYTES_MAX || encoded.partitionPart.byteLength > PARTITION_PART_BYTES_MAX) return false;
        }
        for (const a of keys) {
          for (const b of keys) {
            const samePartition = referenceCompare(a.p, b.p) === 0;
            if (samePartition !== inRange(b.encoded.key, partitionRange(a.encoded.partitionPrefix))) return false;
            // Inside a partition, memcmp order is DynamoDB order except within one tie group.
            const tied = a.encoded.sortTruncated && b.encoded.sortTruncated && memcmp(tieGroupOf(a.encoded.key), tieGroupOf(b.encoded.key)) === 0;
            if (samePartition && !tied && memcmp(a.encoded.key, b.encoded.key) !== referenceCompare(a.s, b.s)) return false;
          }
        }
        return true;
      },
    ),
    { numRuns: 200 },
  );
  t.pass('200 runs');
});

t.test('sortValueRange and sortPrefixRange bound every matching key, truncated or not', async (t) => {
  const partitionPart = encodePartitionPart(9, { N: '1' }).partitionPrefix;
  fc.assert(
    fc.property(longStrings(SORT_BODY_BYTES_MAX - 8), longStrings(SORT_BODY_BYTES_MAX - 8), (u, v) => {
      const key = encodeItemKey(9, { N: '1' }, u).key;
      const range = sortValueRange(partitionPart, v);
      const order = referenceCompare(u, v);
      if (order >= 0 && memcmp(key, range.start) < 0) return false; // u >= v must not be before the range
      if (order <= 0 && range.end !== undefined && memcmp(key, range.end) >= 0) return false; // u <= v must not be after it
      if (order === 0 && !inRange(key, range)) return false;
      const prefixLength = Math.min(u.S.length, v.S.length);
      const prefix = { S: v.S.slice(0, prefixLength) };
      return !u.S.startsWith(prefix.S) || inRange(key, sortPrefixRange(partitionPart, prefix));
    }),
    { numRuns: 500 },
  );
  const short = sortValueRange(partitionPart, { S: 'abc' });
  const exact = encodeItemKey(9, { N: '1' }, { S: 'abc' }).key;
  t.same(short.start, exact, 'a whole value: the range is its one key');
  t.notOk(inRange(encodeItemKey(9, { N: '1' }, { S: 'abc\u0000' }).key, short));
  t.ok(inRange(encodeItemKey(9, { N: '1' }, { S: 'abcd' }).key, sortPrefixRange(partitionPart, { S: 'abc' })));
  t.notOk(inRange(encodeItemKey(9, { N: '1' }, { S: 'abd' }).key, sortPrefixRange(partitionPart, { S: 'abc' })));
  t.ok(inRange(encodeItemKey(9, { N: '1' }, { B: Uint8Array.of(1, 0, 255) }).key, sortPrefixRange(partitionPart, { B: Uint8Array.of(1, 0) })));
});

t.test('sort part: whole up to the limit, truncated one byte beyond it', async (t) => {
  const atLimit = encodeItemKey(1, { S: 'pk' }, { S: 'a'.repeat(SORT_BODY_BYTES_MAX) });
  const beyond = encodeItemKey(1, { S: 'pk' }, { S: 'a'.repeat(SORT_BODY_BYTES_MAX + 1) });
  t.equal(atLimit.sortTruncated, false);
  t.equal(atLimit.key.byteLength - atLimit.partitionPrefix.byteLength, SORT_BODY_BYTES_MAX + 2);
  t.same(decodeItemKey(atLimit.key, 'S', 'S').sort, { S: 'a'.repeat(SORT_BODY_BYTES_MAX) });
  t.equal(beyond.sortTruncated, true);
  t.equal(beyond.key.byteLength - beyond.partitionPrefix.byteLength, SORT_PART_BYTES_MAX);
  const decoded = decodeItemKey(beyond.key, 'S', 'S');
  t.same([decoded.sort, decoded.sortTruncated, decoded.partition], [undefined, true, { S: 'pk' }]);
  t.equal(memcmp(atLimit.key, beyond.key), -1, 'a prefix sorts first even when the other is truncated');
  // Escaping counts: 464 NUL characters escape to 928 bytes.
  t.equal(encodeItemKey(1, { S: 'pk' }, { S: '\u0000'.repeat(SORT_BODY_BYTES_MAX / 2) }).sortTruncated, false);
  t.equal(encodeItemKey(1, { S: 'pk' }, { S: '\u0000'.repeat(SORT_BODY_BYTES_MAX / 2) + 'a' }).sortTruncated, true);
  // Two values equal up to the cut: distinct keys in one tie group.
  const x = encodeItemKey(1, { S: 'pk' }, { S: 'a'.repeat(SORT_BODY_BYTES_MAX) + 'x' }).key;
  const y = encodeItemKey(1, { S: 'pk' }, { S: 'a'.repeat(SORT_BODY_BYTES_MAX) + 'y' }).key;
  t.not(Buffer.from(x).toString('hex'), Buffer.from(y).toString('hex'));
  t.same(tieGroupOf(x), tieGroupOf(y));
  t.equal(x.byteLength - tieGroupOf(x).byteLength, DIGEST_BYTES);
});

t.test('partition part: whole up to the limit, truncated one byte beyond it', async (t) => {
  const atLimit = encodePartitionPart(1, { B: new Uint8Array(PARTITION_BODY_BYTES_MAX).fill(7) });
  const beyond = encodePartitionPart(1, { B: new Uint8Array(PARTITION_BODY_BYTES_MAX + 1).fill(7) });
  t.same([atLimit.truncated, atLimit.partitionPart.byteLength], [false, PARTITION_BODY_BYTES_MAX + 2]);
  t.same([beyond.truncated, beyond.partitionPart.byteLength], [true, PARTITION_PART_BYTES_MAX]);
  // A truncated partition keeps its items contiguous and its sort order.
  const long = { S: 'q'.repeat(2048) };
  const longer = { S: 'q'.repeat(2047) + 'r' };
  const a = encodeItemKey(1, long, { N: '1' });
  const b = encodeItemKey(1, long, { N: '2' });
  const other = encodeItemKey(1, longer, { N: '1' });
  t.equal(a.partitionTruncated, true);
  t.equal(memcmp(a.key, b.key), -1);
  t.ok(inRange(b.key, partitionRange(a.partitionPrefix)));
  t.notOk(inRange(other.key, partitionRange(a.partitionPrefix)), 'another long partition value is another range');
  t.same(decodeItemKey(b.key, 'S', 'N'), { tableId: 1, partition: undefined, sort: { N: '2' }, partitionTruncated: true, sortTruncated: false });
});

t.test("DynamoDB's largest keys fit the engine's 1970 bytes", async (t) => {
  // 2048-byte partition key and 1024-byte sort key, (nearly) all NUL bytes: escaping doubles them.
  // The partition value's leading 1 puts its cut between escape pairs, so neither cut is shortened.
  const worst = encodeItemKey(0xffff_ffff, { B: Uint8Array.from({ length: 2048 }, (_, i) => (i === 0 ? 1 : 0)) }, { B: new Uint8Array(1024) });
  t.equal(worst.key.byteLength, ENGINE_KEY_BYTES_MAX);
  t.same([worst.partitionTruncated, worst.sortTruncated], [true, true]);
  // A cut that would split an escape pair is one byte shorter, and still decodes. The two
  // bodies' bounds (995 and 928) differ in parity, so with a NUL after one leading 'a' the
  // sort cut (at an odd offset, splitting a pair) is one byte short and the partition's is not.
  const odd = encodeItemKey(5, { S: 'a' + '\u0000'.repeat(2000) }, { S: 'a' + '\u0000'.repeat(1000) });
  t.equal(odd.key.byteLength, ENGINE_KEY_BYTES_MAX - 1);
  const oddPartition = encodeItemKey(5, { S: 'aa' + '\u0000'.repeat(2000) }, { S: 'a' + '\u0000'.repeat(1000) });
  t.equal(oddPartition.key.byteLength, ENGINE_KEY_BYTES_MAX - 2, 'both cuts one byte short');
  t.same(decodeItemKey(odd.key, 'S', 'S').tableId, 5);
  const largestS = encodeItemKey(1, { S: '😀'.repeat(512) }, { S: '😀'.repeat(256) });
  t.ok(largestS.key.byteLength <= ENGINE_KEY_BYTES_MAX);
});

t.test('prefixEnd', async (t) => {
  t.same(prefixEnd(Uint8Array.of(1, 2)), Uint8Array.of(1, 3));
  t.same(prefixEnd(Uint8Array.of(1, 255, 255)), Uint8Array.of(2));
  t.equal(prefixEnd(Uint8Array.of(255)), undefined);
});
