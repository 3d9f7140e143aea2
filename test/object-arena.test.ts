/**
 * ObjectArena and checkObjectAt (version/object-codec.ts): a node's kept
 * objects packed into shared chunks are the bytes encodeObject writes, and
 * stay so while later objects fill the chunk and the next ones; the in-place
 * check agrees with the allocating one.
 */
import t from 'tap';
import fc from 'fast-check';
import { ObjectArena, checkObjectAt, checkObjectBytes, clockInto, clockOf, encodeObject, forEachExpiryAt, viewOfBytes } from '../lib/version/object-codec.js';
import type { VersionedObject } from '../lib/version/dotted-version-vector.js';

const objectArb: fc.Arbitrary<VersionedObject> = fc
  .uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 4 })
  .chain((actors) =>
    fc.tuple(
      ...actors
        .sort((a, b) => a - b)
        .map((actor) =>
          fc.record({
            actor: fc.constant(actor),
            counter: fc.integer({ min: 3, max: 1000 }),
            timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
            siblings: fc.array(
              fc.record({
                value: fc.uint8Array({ maxLength: 300 }),
                timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
                expiresAtMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
                tombstone: fc.boolean(),
              }),
              { maxLength: 2 },
            ),
          }),
        ),
    ),
  )
  .map((entries) => ({ entries }));

t.test('the arena writes what encodeObject writes, and never rewrites what it handed out', async () => {
  fc.assert(
    fc.property(fc.array(objectArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 2048 }), (objects, chunkBytes) => {
      const arena = new ObjectArena(chunkBytes);
      const kept = objects.map((object) => arena.encode(object));
      return objects.every((object, i) => Buffer.compare(encodeObject(object), kept[i]!) === 0);
    }),
  );
});

t.test('encodeSingleValue writes the one-entry, one-value object encodeObject writes, among encode\'s in the same chunks', async () => {
  const singleArb = fc.record({
    actor: fc.integer({ min: 0, max: 2 ** 40 }),
    counter: fc.integer({ min: 1, max: 1000 }),
    timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
    expiresAtMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
    tombstone: fc.boolean(),
    value: fc.uint8Array({ maxLength: 300 }),
  });
  fc.assert(
    fc.property(fc.array(fc.oneof(objectArb, singleArb), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 2048 }), (items, chunkBytes) => {
      const arena = new ObjectArena(chunkBytes);
      const expected = items.map((item) =>
        'entries' in item
          ? encodeObject(item)
          : encodeObject({ entries: [{ actor: item.actor, counter: item.counter, timestampMs: item.timestampMs, siblings: [{ value: item.value, timestampMs: item.timestampMs, expiresAtMs: item.expiresAtMs, tombstone: item.tombstone }] }] }),
      );
      const kept = items.map((item) => ('entries' in item ? arena.encode(item) : arena.encodeSingleValue(item.actor, item.counter, item.timestampMs, item.expiresAtMs, item.tombstone, item.value)));
      return expected.every((bytes, i) => Buffer.compare(bytes, kept[i]!) === 0);
    }),
  );
});

t.test('checkObjectAt and clockInto read in place what checkObjectBytes and clockOf read', async (t) => {
  fc.assert(
    fc.property(objectArb, fc.integer({ min: 0, max: 64 }), (object, offset) => {
      const encoded = encodeObject(object);
      const padded = new Uint8Array(offset + encoded.byteLength + 8);
      padded.set(encoded, offset);
      const bytes = padded.subarray(offset, offset + encoded.byteLength);
      const expected: number[] = [];
      checkObjectBytes(encoded, (expiresAtMs) => expected.push(expiresAtMs));
      const view = viewOfBytes(bytes);
      const expires = checkObjectAt(view, offset, bytes.byteLength);
      const found: number[] = [];
      if (expires) forEachExpiryAt(view, offset, (expiresAtMs) => found.push(expiresAtMs));
      const clock: number[] = [];
      const entries = clockInto(view, offset, clock);
      return (
        expires === expected.length > 0 &&
        JSON.stringify(found) === JSON.stringify(expected) &&
        JSON.stringify(clock.slice(0, 2 * entries)) === JSON.stringify(clockOf(new DataView(encoded.buffer), 0))
      );
    }),
  );
  const bytes = encodeObject({ entries: [{ actor: 1, counter: 1, timestampMs: 1, siblings: [] }] });
  t.throws(() => checkObjectAt(viewOfBytes(bytes), 0, bytes.byteLength - 1), 'a truncated object is refused');
});
