/**
 * The least a storage node must do per replicated write beyond the storage
 * ceiling's read and write (issue 15 target 4; no target of its own), to set
 * beside put-floor.bench.ts (the coordinator's least) and the ceiling of
 * put-many.bench.ts: copy a write envelope of `--items` REPLICATE items (as
 * a coordinator packs them, each a one-value object of a 100 B value) out of
 * the ring, walk its items, decode each request header, check the object's
 * layout in place, and write each item's 16-byte answer. No queueing, no
 * versions compared, no LMDB: whatever a node adds comes on top of this.
 * One thread; CPU time per write (process.cpuUsage) by round.
 *
 *   node dist/bench/replica-floor.bench.js --rounds 40
 */
import { makeDataSet } from './lib/data.js';
import { int, parseOptions } from './lib/options.js';
import { median } from './lib/measure.js';
import { EnvelopeBuilder } from '../lib/transport/write-envelope.js';
import { Op, copyBytes, decodeRequestHeader, encodeResponseHeader, forEachEnvelopeItem, newRequestHeader } from '../lib/transport/wire.js';
import type { PendingReply } from '../lib/transport/node-link.js';
import { checkObjectAt, encodeObject, viewOfBytes } from '../lib/version/object-codec.js';

const args = parseOptions('node dist/bench/replica-floor.bench.js', 'The least CPU per replicated write a storage node must spend beyond LMDB (take the envelope from the ring, decode, check, answer), one thread.', {
  items: int(7_500, "writes per envelope (a 10,000-key putMany's share of one of 4 nodes at N=3)"),
  rounds: int(40, 'rounds (the first ones warm the JIT up)'),
});

const data = makeDataSet(args.items, args.seed);
const ignored: PendingReply = { onReply: () => {}, onNodeFailure: () => {} };
// Four envelopes taken in turn: a round does not find the previous one's bytes in the cache.
const envelopes = Array.from({ length: 4 }, (_, e) => {
  const builder = new EnvelopeBuilder();
  for (let i = 0; i < args.items; i++) {
    const object = encodeObject({ entries: [{ actor: 1024 + e, counter: i + 1, timestampMs: 1, siblings: [{ value: data.values[i]!, timestampMs: 1, expiresAtMs: 0, tombstone: false }] }] });
    builder.add({ op: Op.REPLICATE, flags: 0, key: data.keys[i]!, context: undefined, value: object, timestampMs: 1, expiresAtMs: 0 }, data.keys[i]!.byteLength, ignored, 0, 0);
  }
  return copyBytes(builder.take().body);
});
const header = newRequestHeader();
const answers = new Uint8Array(args.items * 16);
const answerView = new DataView(answers.buffer);
let keyBytesSeen = 0;
const nanosPerWrite: number[] = [];
for (let round = 0; round < args.rounds; round++) {
  const ring = envelopes[round % envelopes.length]!;
  const before = process.cpuUsage();
  const owned = copyBytes(ring);
  const view = new DataView(owned.buffer);
  let answered = 0;
  forEachEnvelopeItem(view, 0, owned.byteLength, true, (at, length) => {
    const item = decodeRequestHeader(view, at, length, header);
    keyBytesSeen += item.keyBytes;
    checkObjectAt(viewOfBytes(owned), item.valueAt, item.valueBytes);
    encodeResponseHeader(answerView, 16 * answered++, Op.REPLICATE, 0, item.requestId, 0);
  });
  const used = process.cpuUsage(before);
  nanosPerWrite.push(((used.user + used.system) * 1000) / args.items);
}
if (keyBytesSeen !== args.rounds * args.items * 16) throw new Error('the envelopes did not hold the keys packed');
console.log(`replica floor, ${args.items} REPLICATE writes per envelope: CPU per write by round ${nanosPerWrite.map((ns) => ns.toFixed(0)).join(', ')} ns; median ${median(nanosPerWrite).toFixed(0)} ns`);
