/**
 * WriterVersions.mintTransient and encodeSingleValueTransient
 * (version/writer-version.ts, version/object-codec.ts): the object a
 * coordinator mints for a putMany item, encoded straight from its fields, is
 * byte for byte what encodeObject writes of mint's object, call after call
 * (the counter advances alike, a forged context falls back alike), also
 * once the shared scratch buffer was replaced by a larger one; counters
 * reserved ahead (reserve) and minted later under them, into the scratch
 * buffer or in place (mintInto), give the objects minting in order gives.
 */
import t from 'tap';
import fc from 'fast-check';
import { ACTOR_NODE_RANGE } from '../lib/version/actor.js';
import { CLOCK_ENTRIES_BOUND, type CausalContext } from '../lib/version/dotted-version-vector.js';
import { SINGLE_VALUE_HEAD_BYTES, decodeObject, encodeObject, encodeObjectTransient, encodeSingleValueTransient } from '../lib/version/object-codec.js';
import { WRITER_NODE_SLOT, WriterVersions } from '../lib/version/writer-version.js';

interface Write {
  context: CausalContext | undefined;
  value: Uint8Array;
  timestampMs: number;
  expiresAtMs: number;
  tombstone: boolean;
}

const EPOCH = 12345;
const writerActor = EPOCH * ACTOR_NODE_RANGE + WRITER_NODE_SLOT;

// Contexts name other actors, and sometimes this writer's (at, below or past its counter: a forged one).
const contextArb: fc.Arbitrary<CausalContext | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant([]),
  fc
    .uniqueArray(fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(writerActor)), { minLength: 1, maxLength: 4 })
    .chain((actors) => fc.tuple(...actors.sort((a, b) => a - b).map((actor) => fc.tuple(fc.constant(actor), fc.integer({ min: 0, max: 8 }))))),
);

const writeArb: fc.Arbitrary<Write> = fc.record({
  context: contextArb,
  value: fc.uint8Array({ maxLength: 200 }),
  timestampMs: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double({ min: 0, max: 2 ** 45, noNaN: true })),
  expiresAtMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
  tombstone: fc.boolean(),
});

t.test('mintTransient writes the bytes of encodeObject(mint(...)), write after write', async () => {
  fc.assert(
    fc.property(fc.array(writeArb, { minLength: 1, maxLength: 12 }), (writes) => {
      const direct = new WriterVersions(EPOCH);
      const reference = new WriterVersions(EPOCH);
      for (const w of writes) {
        const object = reference.mint(w.context, { value: w.value, timestampMs: w.timestampMs, expiresAtMs: w.expiresAtMs, tombstone: w.tombstone });
        const bytes = direct.mintTransient(w.context, w.value, w.timestampMs, w.expiresAtMs, w.tombstone);
        if (object === undefined) {
          if (bytes !== undefined) return false;
          continue;
        }
        if (bytes === undefined || !Buffer.from(bytes).equals(encodeObject(object))) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

t.test('counters reserved in order and minted later, in any order: the objects minting in order makes', async () => {
  fc.assert(
    fc.property(fc.array(writeArb, { minLength: 1, maxLength: 12 }), fc.nat(), (writes, seed) => {
      const reference = new WriterVersions(EPOCH);
      const inOrder = writes.map((w) => {
        const object = reference.mint(w.context, { value: w.value, timestampMs: w.timestampMs, expiresAtMs: w.expiresAtMs, tombstone: w.tombstone });
        // A write the writer refuses (a forged context) takes no counter when minted in order: reserve one for it anyway.
        if (object === undefined) reference.reserve();
        return object;
      });
      const ahead = new WriterVersions(EPOCH);
      const counters = writes.map(() => ahead.reserve());
      // Minted in a shuffled order, each under its own counter: in place (no context) or into the scratch buffer.
      const order = writes.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
      const bytes: (Buffer | undefined)[] = [];
      for (const i of order) {
        const w = writes[i]!;
        if (w.context === undefined && i % 2 === 0) {
          const out = Buffer.alloc(SINGLE_VALUE_HEAD_BYTES + w.value.byteLength + 5);
          const valueAt = ahead.mintInto(out, new DataView(out.buffer, out.byteOffset, out.byteLength), 5, counters[i]!, w.timestampMs, w.expiresAtMs, w.tombstone, w.value.byteLength);
          out.set(w.value, valueAt);
          bytes[i] = out.subarray(5);
        } else {
          const transient = ahead.mintTransient(w.context, w.value, w.timestampMs, w.expiresAtMs, w.tombstone, counters[i]!);
          bytes[i] = transient === undefined ? undefined : Buffer.from(transient);
        }
      }
      return writes.every((_, i) => (inOrder[i] === undefined ? bytes[i] === undefined : bytes[i] !== undefined && bytes[i]!.equals(encodeObject(inOrder[i]!)))) && ahead.reserve() === reference.reserve();
    }),
    { numRuns: 300 },
  );
});

t.test('a counter not reserved is refused by mintInto', async (t) => {
  const writer = new WriterVersions(EPOCH);
  const out = new Uint8Array(SINGLE_VALUE_HEAD_BYTES);
  const view = new DataView(out.buffer);
  t.throws(() => writer.mintInto(out, view, 0, 1, 10, 0, false, 0), /not reserved/);
  t.equal(writer.reserve(), 1);
  t.equal(writer.mintInto(out, view, 0, 1, 10, 0, false, 0), SINGLE_VALUE_HEAD_BYTES);
  t.throws(() => writer.mintInto(out, view, 0, 0, 10, 0, false, 0), /not reserved/);
});

t.test('encodeSingleValueTransient decodes to its one entry of one value', async (t) => {
  const value = Uint8Array.from([1, 2, 3, 4, 5]);
  const decoded = decodeObject(encodeSingleValueTransient(writerActor, 7, 1000.25, 5000, false, value));
  t.same(decoded, { entries: [{ actor: writerActor, counter: 7, timestampMs: 1000.25, siblings: [{ value, timestampMs: 1000.25, expiresAtMs: 5000, tombstone: false }] }] });
  const tombstone = decodeObject(encodeSingleValueTransient(writerActor, 8, 1001, 0, true, new Uint8Array(0)));
  t.equal(tombstone.entries[0]!.siblings[0]!.tombstone, true);
});

t.test('after the scratch buffer grew, the bytes are still right', async (t) => {
  const small = Uint8Array.from([9, 8, 7]);
  const before = Buffer.from(encodeSingleValueTransient(writerActor, 1, 10, 0, false, small));
  // A large object replaces the shared scratch buffer (64 KiB at first) with a larger one.
  const big = new Uint8Array(100_000).fill(42);
  const bigObject = { entries: [{ actor: 1, counter: 1, timestampMs: 5, siblings: [{ value: big, timestampMs: 5, expiresAtMs: 0, tombstone: false }] }] };
  t.ok(Buffer.from(encodeObjectTransient(bigObject)).equals(encodeObject(bigObject)));
  const after = encodeSingleValueTransient(writerActor, 1, 10, 0, false, small);
  t.ok(Buffer.from(after).equals(before), 'same fields, same bytes, in the new buffer');
  t.equal(after.byteLength, before.byteLength);
  // A value larger than the scratch buffer grows it here too.
  const huge = new Uint8Array(300_000).fill(7);
  const hugeBytes = encodeSingleValueTransient(writerActor, 2, 11, 0, false, huge);
  t.same(decodeObject(hugeBytes).entries[0]!.siblings[0]!.value, huge);
});

t.test('fields no stored object may hold are refused', async (t) => {
  const value = new Uint8Array(1);
  t.throws(() => encodeSingleValueTransient(writerActor, 0, 10, 0, false, value), /counter/);
  t.throws(() => encodeSingleValueTransient(writerActor, 1, Number.NaN, 0, false, value), /timestampMs/);
  t.throws(() => encodeSingleValueTransient(writerActor, 1, -1, 0, false, value), /timestampMs/);
  t.throws(() => encodeSingleValueTransient(writerActor, 1, 10, 1.5, false, value), /expiresAtMs/);
  t.throws(() => encodeSingleValueTransient(-1, 1, 10, 0, false, value), /actor/);
});

t.test("mint dates its context's entries at the write, as update() does, so that truncation keeps them as long", async (t) => {
  const writer = new WriterVersions(EPOCH);
  const sibling = { value: new Uint8Array([1]), timestampMs: 5_000, expiresAtMs: 0, tombstone: false };
  const object = writer.mint([[3, 2], [7, 4]], sibling)!;
  t.same(object.entries.map((entry) => [entry.actor, entry.counter, entry.timestampMs, entry.siblings.length]), [[3, 2, 5_000, 0], [7, 4, 5_000, 0], [writerActor, 1, 5_000, 1]]);
});

t.test('mint of a context naming more actors than an object holds keeps the writer\'s value and encodes within the bound', async (t) => {
  const writer = new WriterVersions(EPOCH);
  const sibling = { value: new Uint8Array([1]), timestampMs: 5_000, expiresAtMs: 0, tombstone: false };
  const context: CausalContext = Array.from({ length: 400 }, (_, i) => [i + 1, 1] as const);
  const object = writer.mint(context, sibling)!;
  t.equal(object.entries.length, CLOCK_ENTRIES_BOUND);
  t.same(object.entries.filter((entry) => entry.siblings.length > 0).map((entry) => entry.actor), [writerActor]);
  t.same(decodeObject(writer.mintTransient(context, sibling.value, 6_000, 0, false)!).entries.length, CLOCK_ENTRIES_BOUND, 'mintTransient encodes it');
});
