/**
 * The coordinator's CPU for one R = 2 get whose two replicas agree (YCSB-B's
 * common read, issue 15 target 2), with and without the agreeing-replies
 * shortcut (lib/store/agreeing-replies.ts), in the same process, interleaved
 * rounds: a GetOperation fed two identical answers of a stored 1000 B value
 * from a reused buffer (as direct reads and the rings hand them over), then
 * its settled actions, as the coordinator asks them. The full path is the
 * same operation with `keepObject` set (what the hot-key cache asks): it
 * decodes both answers, merges them and builds the result from the merge.
 * No threads, no LMDB: the coordinator's share alone, GC included.
 *
 *   node dist/bench/agreeing-replies.bench.js
 *   node dist/bench/agreeing-replies.bench.js --gets 200k --rounds 5 --value-bytes 1000
 */
import { performance } from 'node:perf_hooks';
import { Prng, deriveSeed } from '../lib/prng.js';
import { GetOperation } from '../lib/store/get-operation.js';
import { toGetResult } from '../lib/store/get-result.js';
import type { OperationHost } from '../lib/store/operation.js';
import { encodeValue } from '../lib/store/value-codec.js';
import { Status } from '../lib/transport/wire.js';
import { update } from '../lib/version/dotted-version-vector.js';
import { encodeObject } from '../lib/version/object-codec.js';
import { median } from './lib/measure.js';
import { int, parseOptions } from './lib/options.js';

const args = parseOptions('node dist/bench/agreeing-replies.bench.js', "One R=2 get of two agreeing replicas through GetOperation: the shortcut against the full path, interleaved, one process.", {
  gets: int(200_000, 'gets per timed run'),
  rounds: int(5, 'interleaved rounds'),
  'value-bytes': int(1000, 'bytes of the stored value (a Uint8Array, msgpack-encoded as ringtable stores it)'),
});

const NOW_MS = Date.now();
let checksum = 0;
const host: OperationHost = {
  send: () => {},
  sendRead: () => {},
  sendBatched: () => {},
  toResult: (object) => toGetResult(object, NOW_MS, undefined),
  observeTimestampMs: () => {},
  wallClockMs: () => NOW_MS,
  monotonicMs: () => 0,
  readSettled: (operation) => {
    checksum += operation.settledActions(3).repairTargets.length;
  },
  writeSettled: () => {},
  batchSettled: () => {},
};

const value = new Prng(deriveSeed(args.seed, 1)).fill(new Uint8Array(args['value-bytes']));
const object = update(undefined, [], { value: encodeValue(value, 1 << 24), timestampMs: NOW_MS - 1000, expiresAtMs: 0, tombstone: false }, 3);
const stored = encodeObject(object);
// Answers arrive inside a larger buffer that is reused (LMDB's read buffer, ring memory).
const buffer = new Uint8Array(64 * 1024);
const AT = 40;
buffer.set(stored, AT);
const view = new DataView(buffer.buffer);
const replicas = Int32Array.from([1, 2]);
const callback = (error: unknown, result: { value: unknown } | undefined) => {
  if (error === undefined && result !== undefined) checksum += (result.value as Uint8Array).byteLength;
};

function run(keepObject: boolean): number {
  const startMs = performance.now();
  for (let i = 0; i < args.gets; i++) {
    const operation = new GetOperation(host, 'key', replicas, 2, Infinity, callback, 0);
    operation.keepObject = keepObject;
    operation.onReply(1, Status.OK, buffer, view, AT, stored.byteLength);
    operation.onReply(2, Status.OK, buffer, view, AT, stored.byteLength);
  }
  return ((performance.now() - startMs) * 1e6) / args.gets;
}

const variants = [
  { name: 'shortcut (agreeing bytes)', keepObject: false, nsPerGet: [] as number[] },
  { name: 'full path (decode both, merge)', keepObject: true, nsPerGet: [] as number[] },
];
for (const variant of variants) run(variant.keepObject); // warm-up, not counted
for (let round = 0; round < args.rounds; round++) for (const variant of variants) variant.nsPerGet.push(run(variant.keepObject));
console.log(`R=2 get, two agreeing replicas, ${args['value-bytes']} B value (${stored.byteLength} B stored), ${args.gets} gets per run, ${args.rounds} interleaved rounds, medians:`);
for (const variant of variants) console.log(`  ${variant.name.padEnd(32)} ${median(variant.nsPerGet).toFixed(0).padStart(6)} ns/get   runs: ${variant.nsPerGet.map((ns) => ns.toFixed(0)).join(' ')}`);
console.log(`  full path / shortcut: ${(median(variants[1]!.nsPerGet) / median(variants[0]!.nsPerGet)).toFixed(2)}x   (checksum ${checksum})`);
