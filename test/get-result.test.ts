/**
 * toGetResult (lib/store/get-result.ts): what a read returns from a merged
 * object. An object of one sibling, the usual one, takes a path of its own
 * without the siblings' arrays; its result must be the one the general path
 * gives (value, siblings, timestamps, context), with tombstones and expired
 * values read as absent and the resolver never called for one value.
 */
import t from 'tap';
import { toGetResult } from '../lib/store/get-result.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { encodeContext } from '../lib/version/object-codec.js';
import type { Sibling, VersionedObject } from '../lib/version/dotted-version-vector.js';

const VALUE_BYTES_MAX = 1 << 20;

function sibling(value: unknown, timestampMs: number, expiresAtMs = 0, tombstone = false): Sibling {
  return { value: encodeValue(value, VALUE_BYTES_MAX), timestampMs, expiresAtMs, tombstone };
}

function objectOf(...entries: [actor: number, counter: number, siblings: Sibling[]][]): VersionedObject {
  return { entries: entries.map(([actor, counter, siblings]) => ({ actor, counter, timestampMs: 0, siblings })) };
}

const refuse = (): never => {
  throw new Error('the resolver is not called for one value');
};

t.test('one sibling: its value, alone, with its time and the object context', async (t) => {
  const object = objectOf([7, 3, [sibling({ a: 1 }, 1_000)]]);
  const result = toGetResult(object, 5_000, refuse)!;
  t.same(result.value, { a: 1 });
  t.same(result.siblings, [{ a: 1 }]);
  t.same(result.timestampsMs, [1_000]);
  t.equal(result.context, encodeContext([[7, 3]]));
  const bytes = new Uint8Array([1, 2, 3]);
  const copy = toGetResult(objectOf([1, 1, [sibling(bytes, 1)]]), 0, undefined)!.value as Uint8Array;
  t.same(copy, bytes, 'a Uint8Array value');
  t.not(copy, toGetResult(objectOf([1, 1, [sibling(bytes, 1)]]), 0, undefined)!.value, 'each result its own copy');
});

t.test('one sibling that is a tombstone or expired reads as absent; one that expires later does not', async (t) => {
  t.equal(toGetResult(objectOf([1, 2, [sibling(null, 10, 0, true)]]), 100, undefined), undefined, 'a tombstone');
  t.equal(toGetResult(objectOf([1, 2, [sibling('v', 10, 100)]]), 100, undefined), undefined, 'expired at nowMs');
  t.equal(toGetResult(objectOf([1, 2, [sibling('v', 10, 101)]]), 100, undefined)?.value, 'v', 'expires after nowMs');
  t.equal(toGetResult(undefined, 100, undefined), undefined);
});

t.test('siblings in two entries, or two in one entry: newest first, the resolver chooses', async (t) => {
  const two = objectOf([1, 1, [sibling('older', 10)]], [2, 1, [sibling('newer', 20)]]);
  const result = toGetResult(two, 0, undefined)!;
  t.equal(result.value, 'newer');
  t.same(result.siblings, ['newer', 'older']);
  t.same(result.timestampsMs, [20, 10]);
  t.equal(toGetResult(two, 0, (values) => values.join('+'))!.value, 'newer+older');
  const oneEntry = objectOf([1, 2, [sibling('b', 20), sibling('a', 10)]]);
  t.same(toGetResult(oneEntry, 0, undefined)!.siblings, ['b', 'a']);
  const withTombstone = objectOf([1, 1, [sibling(null, 30, 0, true)]], [2, 1, [sibling('live', 20)]]);
  t.same(toGetResult(withTombstone, 0, refuse)!.siblings, ['live'], 'a tombstone beside a live sibling: one value, no resolver');
});
