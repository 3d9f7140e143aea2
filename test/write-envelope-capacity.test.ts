/**
 * A WriteEnvelope's room for items (transport/write-envelope.ts): sized from
 * the envelope before it (envelopeCapacityAfter) and grown by doubling, an
 * envelope keeps each item's reply, target and tag in its place however many
 * items it takes past its first room.
 */
import t from 'tap';
import fc from 'fast-check';
import type { PendingReply } from '../lib/transport/node-link.js';
import { ENVELOPE_CAPACITY_MIN, ENVELOPE_ITEMS_TARGET, WriteEnvelope, envelopeCapacityAfter } from '../lib/transport/write-envelope.js';

t.test('room for the next envelope: a power of two from the minimum to the send target', async (t) => {
  t.equal(envelopeCapacityAfter(0), ENVELOPE_CAPACITY_MIN);
  t.equal(envelopeCapacityAfter(1), ENVELOPE_CAPACITY_MIN);
  t.equal(envelopeCapacityAfter(ENVELOPE_CAPACITY_MIN + 1), ENVELOPE_CAPACITY_MIN * 2);
  t.equal(envelopeCapacityAfter(ENVELOPE_ITEMS_TARGET), ENVELOPE_ITEMS_TARGET);
  t.equal(envelopeCapacityAfter(ENVELOPE_ITEMS_TARGET * 4), ENVELOPE_ITEMS_TARGET);
  fc.assert(
    fc.property(fc.nat(100_000), (items) => {
      const capacity = envelopeCapacityAfter(items);
      const powerOfTwo = (capacity & (capacity - 1)) === 0;
      return powerOfTwo && capacity >= ENVELOPE_CAPACITY_MIN && capacity <= ENVELOPE_ITEMS_TARGET && (capacity >= items || capacity === ENVELOPE_ITEMS_TARGET);
    }),
  );
});

t.test('items past the first room keep their reply, target and tag', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.oneof(fc.nat(), fc.double({ noNaN: true }))), { minLength: 1, maxLength: 300 }), (capacity, items) => {
      const failures: [number, number, number][] = [];
      const replies: PendingReply[] = [0, 1, 2, 3].map((which) => ({
        onReply: () => {
          throw new Error('no answer was given');
        },
        onNodeFailure: (target: number, _error: Error, tag: number) => {
          failures.push([which, target, tag]);
        },
      }));
      const envelope = new WriteEnvelope(capacity);
      items.forEach(([which, target, tag], index) => {
        if (envelope.push(replies[which]!, tag, target) !== index) throw new Error(`item ${index} got another place`);
      });
      if (envelope.itemCount !== items.length) return false;
      envelope.seal();
      // The node failed: every item is failed, in order, to its own reply with its own target and tag.
      envelope.onNodeFailure(0, new Error('node down'));
      return failures.length === items.length && failures.every(([which, target, tag], i) => which === items[i]![0] && target === items[i]![1] && Object.is(tag, items[i]![2]));
    }),
    { numRuns: 200 },
  );
});
