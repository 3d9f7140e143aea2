/**
 * A read's answer that cannot be handled (store/get-operation.ts
 * replyFailed): its replica counts as failed once, a failed read reports
 * that error, and nothing escapes to the link, which would fail the request
 * again (transport/node-link.ts failReply: "node N answered twice", then the
 * warning "a reply failed and could not be failed cleanly").
 *
 * The operation runs on a stub OperationHost; answers are delivered as a
 * NodeLink's dispatch delivers them: onReply, and failReply if it throws.
 */
import t, { type Test } from 'tap';
import { ErrorCode, type RingtableError } from '../lib/errors.js';
import { GetOperation } from '../lib/store/get-operation.js';
import { toGetResult, type GetResult } from '../lib/store/get-result.js';
import type { OperationHost } from '../lib/store/operation.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { failReply } from '../lib/transport/node-link.js';
import { Status } from '../lib/transport/wire.js';
import { update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';

function objectBytes(value: string, actor: number): Uint8Array {
  return encodeObject(update(undefined, [], { value: encodeValue(value, 1 << 20), timestampMs: 1000 + actor, expiresAtMs: 0, tombstone: false }, actor));
}

const GARBAGE = new Uint8Array([1, 1, 9, 9, 9]);

interface Harness {
  operation: GetOperation;
  answers: { error: RingtableError | undefined; result: GetResult | undefined }[];
  settled: number;
  warnings: string[];
  /** Deliver an answer as NodeLink.dispatch does. */
  deliver(node: number, bytes: Uint8Array): void;
}

function harness(t: Test, replicas: number[], r: number, readSettled: () => void = () => {}): Harness {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  // As Coordinator.readSettled: an operation settles once, a later call for it is ignored.
  const state = { settled: 0, active: true };
  const host = {
    send() {},
    sendRead() {},
    sendBatched() {},
    toResult: (object) => toGetResult(object, 2000, undefined),
    observeTimestampMs() {},
    wallClockMs: () => 2000,
    monotonicMs: () => 0,
    readSettled: () => {
      if (!state.active) return;
      state.active = false;
      state.settled++;
      readSettled();
    },
    writeSettled() {},
    batchSettled() {},
  } satisfies OperationHost;
  const answers: Harness['answers'] = [];
  const operation = new GetOperation(host, 'k', replicas, r, Infinity, (error, result) => answers.push({ error, result }), 0);
  const h: Harness = {
    operation,
    answers,
    get settled() {
      return state.settled;
    },
    warnings,
    deliver(node, bytes) {
      try {
        operation.onReply(node, Status.OK, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength);
      } catch (error) {
        failReply(operation, node, error, 0, `node ${node}`);
      }
    },
  };
  return h;
}

/** process.emitWarning is delivered on the next tick. */
const warningsEmitted = () => new Promise((resolve) => setImmediate(resolve));

t.test('a failure while settling, after the answer was counted, fails nothing twice', async (t) => {
  let throws = true;
  const h = harness(t, [1, 2, 3], 2, () => {
    if (!throws) return;
    throws = false;
    throw new Error('settling failed');
  });
  h.deliver(1, objectBytes('a', 1));
  h.deliver(2, objectBytes('b', 2));
  h.deliver(3, objectBytes('c', 3));
  await warningsEmitted();
  t.equal(h.answers.length, 1, 'the caller is answered once');
  t.same([...h.answers[0]!.result!.siblings].sort(), ['a', 'b'], 'with the merge of the first R answers');
  t.same(h.warnings, [], 'no "answered twice", no "could not be failed cleanly"');
  t.equal(h.settled, 1, 'settled once');
});

t.test("a held answer that does not decode fails its replica once, and the read with that answer's error", async (t) => {
  // N = 2, R = 2: the first answer is held undecoded until the second (agreeing-replies.ts).
  const h = harness(t, [1, 2], 2);
  h.deliver(1, GARBAGE);
  h.deliver(2, objectBytes('b', 2));
  await warningsEmitted();
  t.equal(h.answers.length, 1, 'the caller is answered once');
  t.equal(h.answers[0]!.error?.code, ErrorCode.INVALID_VALUE, "with the undecodable answer's error, not a quorum's");
  t.match(h.answers[0]!.error?.message, /could not be decoded/);
  t.equal(h.settled, 1, 'every replica heard once: the read settles');
  t.same(h.warnings, []);
});

t.test('an answer that does not decode counts as one failure: the other replicas still make R', async (t) => {
  const h = harness(t, [1, 2, 3], 2);
  h.deliver(1, GARBAGE);
  h.deliver(2, objectBytes('b', 2));
  h.deliver(3, objectBytes('c', 3));
  await warningsEmitted();
  t.equal(h.answers.length, 1);
  t.equal(h.answers[0]!.error, undefined);
  t.same([...h.answers[0]!.result!.siblings].sort(), ['b', 'c']);
  t.equal(h.settled, 1);
  t.same(h.warnings, []);
});
