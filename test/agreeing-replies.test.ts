/**
 * An R = 2 get whose two replicas answer the same object bytes takes a
 * shortcut (lib/store/agreeing-replies.ts): it must answer exactly what the
 * full path (decode both, merge, resolve) answers, repair nothing, and fall
 * back to the full path whenever the answers differ, one is missing or
 * failed, or the object is not one live value.
 */
import t from 'tap';
import fc from 'fast-check';
import { GetOperation } from '../lib/store/get-operation.js';
import type { GetResult } from '../lib/store/get-result.js';
import { toGetResult } from '../lib/store/get-result.js';
import type { OperationHost } from '../lib/store/operation.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { Status } from '../lib/transport/wire.js';
import { type CausalContext, type Sibling, type VersionedObject, sync, update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { heldCopy, sameBytes, soleTimestampMs } from '../lib/store/agreeing-replies.js';

const NOW_MS = 1_700_000_000_000;
const NO_CONTEXT: CausalContext = [];

function sibling(value: unknown, timestampMs: number, options: { tombstone?: boolean; expiresAtMs?: number } = {}): Sibling {
  return { value: encodeValue(value, 1 << 20), timestampMs, expiresAtMs: options.expiresAtMs ?? 0, tombstone: options.tombstone ?? false };
}

/** A host that records what the operation asks of the coordinator; toResult is the coordinator's (minus its counters). */
function fakeHost() {
  const observed: number[] = [];
  const settled: GetOperation[] = [];
  const calls = { toResult: 0 };
  const host: OperationHost = {
    send: () => {},
    sendRead: () => {},
    sendBatched: () => {},
    toResult: (object: VersionedObject | undefined) => {
      calls.toResult++;
      if (object !== undefined) for (const entry of object.entries) for (const s of entry.siblings) observed.push(s.timestampMs);
      return toGetResult(object, NOW_MS, undefined);
    },
    observeTimestampMs: (timestampMs: number) => observed.push(timestampMs),
    wallClockMs: () => NOW_MS,
    monotonicMs: () => 0,
    readSettled: (operation: GetOperation) => settled.push(operation),
    writeSettled: () => {},
    batchSettled: () => {},
  };
  return { host, observed, settled, calls };
}

type Answer = { node: number; bytes: Uint8Array } | { node: number; status: 'missing' | 'failed' };

/** Run one R = 2 get over replicas [1, 2], answering in the given order; the bytes sit at an offset inside a larger (reused) buffer, as ring and LMDB answers do. */
function runGet(answers: Answer[], keepObject = false) {
  const { host, observed, settled, calls } = fakeHost();
  let answered: { error: unknown; result: GetResult | undefined } | undefined;
  const operation = new GetOperation(host, 'k', Int32Array.from([1, 2]), 2, Infinity, (error, result) => (answered = { error, result }), 0);
  operation.keepObject = keepObject;
  const scratch = new Uint8Array(64 * 1024);
  for (const answer of answers) {
    if ('bytes' in answer) {
      scratch.fill(0xee);
      const at = 17;
      scratch.set(answer.bytes, at);
      operation.onReply(answer.node, Status.OK, scratch, new DataView(scratch.buffer), at, answer.bytes.byteLength);
    } else if (answer.status === 'missing') {
      operation.onReply(answer.node, Status.NOT_FOUND, scratch, new DataView(scratch.buffer), 0, 0);
    } else {
      operation.onNodeFailure(answer.node);
    }
  }
  return { answered, observed, settled, calls, actions: settled.length > 0 ? operation.settledActions(3) : undefined };
}

function plain(result: GetResult | undefined) {
  return result === undefined ? undefined : { value: result.value, siblings: result.siblings, timestampsMs: result.timestampsMs, context: result.context };
}

t.test('the pure helpers: a pooled copy, an in-place comparison, the sole sibling time', async (t) => {
  const object = update(undefined, NO_CONTEXT, sibling({ a: 1 }, 1234.5), 3);
  const bytes = encodeObject(object);
  const big = new Uint8Array(bytes.byteLength + 10);
  big.set(bytes, 5);
  const held = heldCopy(big, 5, bytes.byteLength);
  t.same(Array.from(held), Array.from(bytes));
  t.ok(sameBytes(held, big, 5, bytes.byteLength));
  t.notOk(sameBytes(held, big, 4, bytes.byteLength), 'shifted by one byte');
  t.notOk(sameBytes(held, big, 5, bytes.byteLength - 1), 'shorter');
  t.equal(soleTimestampMs(new DataView(held.buffer, held.byteOffset, held.byteLength)), 1234.5);
  const two = sync(object, update(undefined, NO_CONTEXT, sibling('b', 99), 4));
  const twoBytes = encodeObject(two);
  t.ok(Number.isNaN(soleTimestampMs(new DataView(twoBytes.buffer, twoBytes.byteOffset, twoBytes.byteLength))), 'two siblings: no sole time');
});

t.test('the sole sibling is found only within the object: bytes past its length are never read as its own', async (t) => {
  // A reused scratch or lmdb-js's read buffer goes on past the record with other bytes.
  const object = update(undefined, NO_CONTEXT, sibling(new Uint8Array(300).fill(7), 1234.5), 3);
  const bytes = encodeObject(object);
  const memory = new Uint8Array(bytes.byteLength + 64).fill(0xee);
  memory.set(bytes, 9);
  const view = new DataView(memory.buffer);
  t.equal(soleTimestampMs(view, 9, bytes.byteLength), 1234.5, 'the whole object: its sibling');
  for (const cut of [1, 299, 300, 301, bytes.byteLength - 3]) {
    t.ok(Number.isNaN(soleTimestampMs(view, 9, bytes.byteLength - cut)), `${cut} bytes short: no sole sibling (the full path decides)`);
  }
});

t.test('agreeing replicas: the same answer as the full path, nothing to repair, the clock observes the read', async (t) => {
  const object = update(undefined, NO_CONTEXT, sibling({ name: 'ada', n: [1, 2, 3] }, NOW_MS - 5), 2);
  const bytes = encodeObject(object);
  const fast = runGet([{ node: 2, bytes }, { node: 1, bytes }]);
  const full = runGet([{ node: 2, bytes }, { node: 1, bytes }], true);
  t.equal(fast.answered?.error, undefined);
  t.same(plain(fast.answered?.result), plain(full.answered?.result), 'value, siblings, timestamps and context as the full path');
  t.same(fast.observed, [NOW_MS - 5]);
  t.equal(fast.calls.toResult, 0, 'the shortcut was taken: no merged object was built');
  t.equal(full.calls.toResult, 1);
  t.equal(fast.settled.length, 1, 'settled once both answered');
  t.same(fast.actions, { repairTargets: [], repairBytes: undefined, purgeBytes: undefined });
  t.same(full.actions?.repairTargets, []);
});

t.test('the full path whenever the shortcut cannot decide', async (t) => {
  const older = update(undefined, NO_CONTEXT, sibling('old', NOW_MS - 100), 1);
  const newer = update(older, [[1, 1]], sibling('new', NOW_MS - 50), 1);
  const olderBytes = encodeObject(older);
  const newerBytes = encodeObject(newer);

  await t.test('answers that differ: the merge wins and the stale replica is repaired', async (t) => {
    for (const order of [[1, 2], [2, 1]]) {
      const run = runGet([{ node: order[0]!, bytes: order[0] === 1 ? olderBytes : newerBytes }, { node: order[1]!, bytes: order[1] === 1 ? olderBytes : newerBytes }]);
      t.equal(run.answered?.result?.value, 'new');
      t.same(run.actions?.repairTargets, [1], `answer order ${order.join(',')}`);
    }
  });

  await t.test('one replica holds nothing: the held answer is counted, the empty one repaired', async (t) => {
    const run = runGet([{ node: 1, bytes: newerBytes }, { node: 2, status: 'missing' }]);
    t.equal(run.answered?.result?.value, 'new');
    t.same(run.actions?.repairTargets, [2]);
  });

  await t.test('one replica fails: R = 2 fails after the held answer is counted', async (t) => {
    const run = runGet([{ node: 1, bytes: newerBytes }, { node: 2, status: 'failed' }]);
    t.match((run.answered?.error as Error | undefined)?.message, /1 of 2 replicas answered/);
  });

  await t.test('a tombstone on both: no value, and the purge is the full path\'s to decide', async (t) => {
    const deleted = update(older, [[1, 1]], sibling(null, NOW_MS - 10, { tombstone: true }), 1);
    const bytes = encodeObject(deleted);
    const fast = runGet([{ node: 1, bytes }, { node: 2, bytes }]);
    const full = runGet([{ node: 1, bytes }, { node: 2, bytes }], true);
    t.equal(fast.answered?.result, undefined);
    t.same(fast.actions, full.actions, 'same purge decision as the full path');
  });

  await t.test('an expired value on both: not found, as the full path says', async (t) => {
    const expired = update(undefined, NO_CONTEXT, sibling('gone', NOW_MS - 10, { expiresAtMs: NOW_MS - 1 }), 1);
    const bytes = encodeObject(expired);
    t.equal(runGet([{ node: 1, bytes }, { node: 2, bytes }]).answered?.result, undefined);
  });

  await t.test('siblings on both: every sibling, as the full path', async (t) => {
    const two = sync(update(undefined, NO_CONTEXT, sibling('x', NOW_MS - 3), 1), update(undefined, NO_CONTEXT, sibling('y', NOW_MS - 2), 2));
    const bytes = encodeObject(two);
    const fast = runGet([{ node: 1, bytes }, { node: 2, bytes }]);
    const full = runGet([{ node: 1, bytes }, { node: 2, bytes }], true);
    t.same(plain(fast.answered?.result), plain(full.answered?.result));
    t.same(fast.answered?.result?.siblings, ['y', 'x']);
  });
});

t.test('gets whose answers interleave (one held while others come and go) each answer their own object', async (t) => {
  const { host } = fakeHost();
  const objects = [0, 1, 2].map((i) => encodeObject(update(undefined, NO_CONTEXT, sibling(`value ${i}`, NOW_MS - 10 - i), 1 + i)));
  const results: unknown[] = [];
  const operations = objects.map((_, i) => new GetOperation(host, `k${i}`, Int32Array.from([1, 2]), 2, Infinity, (error, result) => (results[i] = error ?? result?.value), 0));
  const answer = (i: number, node: number, bytes = objects[i]!) => {
    const buffer = new Uint8Array(bytes.byteLength + 8);
    buffer.set(bytes, 8);
    operations[i]!.onReply(node, Status.OK, buffer, new DataView(buffer.buffer), 8, bytes.byteLength);
  };
  answer(0, 1); // holds the thread's scratch
  answer(1, 1); // a copy of its own
  answer(1, 2);
  answer(2, 1);
  answer(2, 2, objects[0]); // disagrees: the held answer is decoded and merged
  answer(0, 2);
  t.same(results, ['value 0', 'value 1', 'value 0']);
  t.equal(operations[2]!.settledActions(3).repairTargets.length, 2, 'concurrent answers: both replicas get the merge of the two');
});

t.test('property: for any pair of stored objects, the answer and the repairs are the full path\'s', async (t) => {
  const objectArb = fc
    .record({
      actor: fc.integer({ min: 1, max: 3 }),
      value: fc.oneof(fc.string(), fc.integer(), fc.uint8Array({ maxLength: 40 })),
      ageMs: fc.integer({ min: 1, max: 1000 }),
      tombstone: fc.boolean(),
      also: fc.option(fc.record({ actor: fc.integer({ min: 4, max: 5 }), value: fc.string(), ageMs: fc.integer({ min: 1, max: 1000 }) }), { nil: undefined }),
    })
    .map(({ actor, value, ageMs, tombstone, also }) => {
      let object = update(undefined, NO_CONTEXT, sibling(tombstone ? null : value, NOW_MS - ageMs, { tombstone }), actor);
      if (also !== undefined) object = sync(object, update(undefined, NO_CONTEXT, sibling(also.value, NOW_MS - also.ageMs), also.actor));
      return encodeObject(object);
    });
  fc.assert(
    fc.property(objectArb, fc.option(objectArb, { nil: undefined }), fc.boolean(), (a, maybeB, firstIsOne) => {
      const b = maybeB ?? a;
      const answers: Answer[] = firstIsOne ? [{ node: 1, bytes: a }, { node: 2, bytes: b }] : [{ node: 2, bytes: a }, { node: 1, bytes: b }];
      const fast = runGet(answers);
      const full = runGet(answers, true);
      t.same(plain(fast.answered?.result), plain(full.answered?.result));
      t.same(fast.actions?.repairTargets, full.actions?.repairTargets);
      t.same(fast.actions?.purgeBytes === undefined, full.actions?.purgeBytes === undefined);
    }),
    { seed: 15, numRuns: 200 },
  );
});
