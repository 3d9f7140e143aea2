/**
 * putManyItems (store/put-many-items.ts): a putMany's entries as columns are
 * the requests put would make of them, one by one (key, flags, context,
 * encoded value, timestamp, expiry), with each key's hash and W beside; the
 * keys are the batch's own copies (keyOf, the one sends encode, included); a batch with bad entries throws what the
 * first failing put would, and W errors only after every entry's checks. With
 * a writer ('lww'), each item without a context is minted as it is read and
 * built as its REPLICATE message: the bytes the batch encoded from its record
 * when it minted the item as it sent it.
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import fc from 'fast-check';
import { resolveOptions } from '../lib/config/options.js';
import { ErrorCode, RingtableError } from '../lib/errors.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { putManyItems } from '../lib/store/put-many-items.js';
import { putRequest } from '../lib/store/put-request.js';
import type { PutManyEntry } from '../lib/store/store-types.js';
import { encodeContext } from '../lib/version/object-codec.js';
import { WriterVersions } from '../lib/version/writer-version.js';
import { Op, contextOffset, encodeRequest, keyBytesOf } from '../lib/transport/wire.js';
import { VALUE_SLAB_ITEM_BYTES_MAX } from '../lib/store/value-slab.js';

const options = resolveOptions({ path: '/unused', nodes: 3, replication: { n: 3, r: 2, w: 2 } });

/** A clock that ticks by one on every read, so each request's timestamp tells which read it took. */
function tickingClock(): { nowMs(): number } {
  let ms = 1_000;
  return { nowMs: () => ms++ };
}

const key = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.isWellFormed()), fc.uint8Array({ minLength: 1, maxLength: 80 }).filter((k) => k[0] !== 0xff));
const value = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string(), fc.integer(), fc.record({ a: fc.integer(), b: fc.string() }));
const entryOptions = fc.option(
  fc.record(
    {
      ttlMs: fc.integer({ min: 1, max: 1_000_000 }),
      w: fc.integer({ min: 1, max: 3 }),
      context: fc.constant(encodeContext([[7, 3]])),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const entry = fc.tuple(key, value, entryOptions).map(([k, v, o]) => (o === undefined ? [k, v] : [k, v, o]) as unknown as PutManyEntry);

t.test('each item is the request put makes of its entry, with its hash and W', async () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 40 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), (entries, callW) => {
      const callOptions = callW === undefined ? undefined : { w: callW };
      const items = putManyItems(entries, callOptions, options, tickingClock());
      const clock = tickingClock();
      let bytes = 0;
      const same = entries.every((e, i) => {
        const expected = putRequest(e[0], e[1], e[2], 0, options, clock);
        bytes += expected.value.byteLength + expected.key.length;
        // An entry's own w wins over the call's; an entry's other options leave the call's w in force.
        const w = e[2]?.w ?? callW ?? options.w;
        // keyOf's view is shared by keys of one length: compared at once.
        const sent = items.keyOf(i);
        const sameKey = typeof sent === 'string' ? sent === expected.key : Buffer.from(sent).equals(expected.key as Uint8Array);
        return sameKey && isDeepStrictEqual(items.requestAt(i), expected) && items.hashes[i] === hashKey32(expected.key) && items.ws[i] === w;
      });
      return same && items.count === entries.length && items.bytes === bytes;
    }),
    { numRuns: 200 },
  );
});

const EPOCH = 4242;

/** The REPLICATE message of `key`'s object, as PutBatch encoded it into an envelope from its record (request id and hint owner 0). */
function replicateMessage(key: string | Uint8Array, object: Uint8Array, timestampMs: number): Buffer {
  const keyBytes = keyBytesOf(key);
  const bytes = Buffer.alloc(contextOffset(keyBytes) + object.byteLength);
  encodeRequest(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, 0, { op: Op.REPLICATE, flags: 0, key, context: undefined, value: object, timestampMs, expiresAtMs: 0 }, keyBytes, 0);
  return bytes;
}

t.test('with a writer: an item without a context is its minted REPLICATE message, byte for byte; the requests stay put\'s', async () => {
  const large = fc.integer({ min: VALUE_SLAB_ITEM_BYTES_MAX - 200, max: VALUE_SLAB_ITEM_BYTES_MAX + 100 }).map((n) => new Uint8Array(n).fill(n & 0xff));
  const lwwEntry = fc.tuple(key, fc.oneof(value, large), entryOptions).map(([k, v, o]) => (o === undefined ? [k, v] : [k, v, o]) as unknown as PutManyEntry);
  fc.assert(
    fc.property(fc.array(lwwEntry, { maxLength: 40 }), (entries) => {
      const items = putManyItems(entries, undefined, options, tickingClock(), new WriterVersions(EPOCH));
      const reference = new WriterVersions(EPOCH);
      const clock = tickingClock();
      return entries.every((e, i) => {
        const expected = putRequest(e[0], e[1], e[2], 0, options, clock);
        if (!isDeepStrictEqual(items.requestAt(i), expected)) return false;
        // Every item's counter, in order: the next one.
        const counter = reference.reserve();
        const message = items.messages![i];
        const mintedAtSend = message === undefined && items.values[i] !== undefined && items.counterAt(i) === counter;
        if (expected.context !== undefined) return mintedAtSend;
        // Minted now, as the batch minted it at its send: the same object, the same message.
        const object = reference.mintTransient(undefined, expected.value, expected.timestampMs, expected.expiresAtMs, false, counter)!;
        const whole = replicateMessage(expected.key, object, expected.timestampMs);
        // A message a slab does not take is minted as it is sent, under its counter.
        if (whole.byteLength > VALUE_SLAB_ITEM_BYTES_MAX) return mintedAtSend;
        return message !== undefined && whole.equals(message) && Buffer.from(object).equals(items.objectAt(i)!) && items.counterAt(i) === 0;
      });
    }),
    { numRuns: 200 },
  );
});

t.test('with a writer: a minted item let go keeps nothing; the counter goes on from the last reserved', async (t) => {
  const writer = new WriterVersions(EPOCH);
  const items = putManyItems([['a', new Uint8Array([1])], ['b', { x: 1 }]], undefined, options, tickingClock(), writer);
  t.ok(items.messages![0] !== undefined && items.messages![1] !== undefined, 'a plain Uint8Array and any other value are minted alike');
  items.letGo(0);
  t.equal(items.messages![0], undefined);
  t.equal(items.valueAt(0), undefined);
  t.equal(items.objectAt(0), undefined);
  const reference = new WriterVersions(EPOCH);
  reference.reserve();
  reference.reserve();
  t.equal(writer.reserve(), reference.reserve(), 'two counters taken');
});

t.test("the items' keys are copies: the caller may reuse its buffers at once", async (t) => {
  const buffer = new Uint8Array(64).map((_, i) => 0x30 + (i % 10));
  const entries: PutManyEntry[] = [0, 1, 2, 3].map((i) => [buffer.subarray(i * 16, i * 16 + 16), i]);
  const items = putManyItems(entries, undefined, options, tickingClock());
  const keysNow = () => [0, 1, 2, 3].map((i) => Array.from(items.requestAt(i).key as Uint8Array));
  const before = keysNow();
  buffer.fill(0x61);
  t.same(keysNow(), before, 'unchanged');
  t.same(before[1], Array.from({ length: 16 }, (_, i) => 0x30 + ((16 + i) % 10)), 'and they were the bytes at the call');
});

t.test('keyOf gives each key as sent, short keys through a view shared per length, long ones their own', async (t) => {
  const lengths = [16, 16, 64, 65, 100, 16, 300, 65, 1];
  const keys = lengths.map((length, i) => new Uint8Array(length).map((_, j) => (i * 37 + j * 11) & 0x7f));
  const entries: PutManyEntry[] = [...keys.map((k, i) => [k, i] as const), ['a string key', 9]];
  const items = putManyItems(entries, undefined, options, tickingClock());
  keys.forEach((k, i) => t.same(Array.from(items.keyOf(i) as Uint8Array), Array.from(k), `key ${i} (${k.byteLength} bytes)`));
  t.equal(items.keyOf(keys.length), 'a string key', 'a string key as given');
  t.equal(items.keyOf(0), items.keyOf(1), 'keys of one short length share a view');
});

for (const writer of [false, true]) {
t.test(`a bad entry: the error the first failing put throws, W errors last${writer ? ' (with a writer)' : ''}`, async (t) => {
  const thrown = (entries: readonly PutManyEntry[], callOptions?: { w?: number }) => {
    try {
      putManyItems(entries, callOptions, options, tickingClock(), writer ? new WriterVersions(EPOCH) : undefined);
    } catch (error) {
      if (!(error instanceof RingtableError)) throw error;
      return error;
    }
    return undefined;
  };
  const thenable = Object.assign(new Uint8Array(3), { then: () => {} });
  const putError = (value: unknown) => {
    try {
      putRequest('k', value, undefined, 0, options, tickingClock());
    } catch (error) {
      return error as RingtableError;
    }
    return undefined;
  };
  for (const [what, bad] of [
    ['a Uint8Array that is a thenable', thenable],
    ['a Uint8Array past valueBytesMax', new Uint8Array(options.valueBytesMax)],
  ] as const) {
    const error = thrown([['ok', new Uint8Array(2)], ['k', bad]]);
    t.equal(error?.message, putError(bad)?.message, `${what}: put's message`);
    t.equal(error?.code, ErrorCode.INVALID_VALUE, `${what}: put's code`);
  }
  t.equal(thrown([['ok', 1], ['', 2]])?.code, ErrorCode.INVALID_KEY, 'an empty key');
  t.equal(thrown([['ok', 1], ['bad', () => 1]])?.code, ErrorCode.INVALID_VALUE, 'a value that cannot be stored');
  t.equal(thrown([['a', () => 1], ['', 1]])?.code, ErrorCode.INVALID_VALUE, 'entry by entry: the first bad one');
  t.equal(thrown([['a', 1, { ttlMs: -1 }]])?.message, 'ttlMs must be a positive number up to 4503599627370496, got -1', 'a ttl out of range, as put says it');
  t.equal(thrown([['a', 1, { w: 9 }], ['', 1]])?.code, ErrorCode.INVALID_KEY, "a later entry's bad key comes before an earlier entry's bad W");
  t.equal(thrown([['a', 1, { w: 9 }]])?.code, ErrorCode.INVALID_OPTIONS, "an entry's W out of range");
  t.equal(thrown([['a', 1]], { w: 9 })?.code, ErrorCode.INVALID_OPTIONS, "the call's W out of range");
  t.equal(thrown([], { w: 9 }), undefined, "an empty batch takes no W, as before");
  t.equal(thrown(['a' as unknown as PutManyEntry])?.message, 'each putMany entry is [key, value, options?]', 'an entry that is not an array');
  t.equal(thrown([['a', 1]]), undefined, 'a good batch throws nothing');
});
}
