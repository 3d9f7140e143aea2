/**
 * The least a putMany coordinator must do per key (issue 15 target 4; no
 * target of its own), to set against the storage ceiling of
 * put-many.bench.ts: encode the value with ringtable's Packr, hash the key,
 * take its preference list (N of `--nodes`), copy a request header, the key
 * and the encoded value into the envelope of each of its N nodes, and count
 * N acknowledgements. No versions, no objects, no messages, no quorum rules:
 * whatever a design adds on the coordinator comes on top of this. One
 * thread; CPU time per key (process.cpuUsage) by round. Keys are visited in
 * put-many.bench.ts's seeded random order by default (`--order random`), so
 * the first touch of each key and value misses the caches as it does there;
 * `--order memory` visits them as they lie, which leaves those misses out
 * (about 1.5 µs per key on put-many's data: session s10).
 *
 *   node dist/bench/put-floor.bench.js --keys 100k --rounds 5
 */
import { makeDataSet, permutation } from './lib/data.js';
import { choice, int, parseOptions } from './lib/options.js';
import { median } from './lib/measure.js';
import { valuePackr } from './lib/workloads.js';
import { Ring } from '../lib/ring/ring.js';
import { PreferenceListTable } from '../lib/ring/preference-list.js';
import { hashKey32 } from '../lib/ring/hash.js';

const args = parseOptions('node dist/bench/put-floor.bench.js', "The least CPU per key a putMany coordinator must spend (encode, route, copy into N envelopes, count N acknowledgements), one thread.", {
  keys: int(100_000, 'keys per round'),
  batch: int(10_000, 'keys per envelope round (envelopes are refilled from their start)'),
  rounds: int(5, 'rounds (the first ones warm the JIT up)'),
  nodes: int(4, 'storage nodes'),
  n: int(3, 'replicas per key (N)'),
  vnodes: int(256, 'tokens per node'),
  order: choice('random', ['random', 'memory'] as const, "the order keys are visited in: put-many.bench's seeded random order, or as they lie in memory"),
});

/** A write request's fixed header on the wire is about this long (wire.ts): copied as bytes, not encoded. */
const HEADER_BYTES = 58;

const data = makeDataSet(args.keys, args.seed);
// A seeded random order, as put-many.bench writes its keys in, or the identity.
const order = args.order === 'random' ? permutation(args.keys, args.seed) : Uint32Array.from({ length: args.keys }, (_, i) => i);
const lists = new PreferenceListTable(Ring.create(Array.from({ length: args.nodes }, (_, i) => i), args.vnodes), args.n);
// Room for a batch's share of every node: header, 16 B key and 102 B value per copy, with margin.
const envelopes = Array.from({ length: args.nodes }, () => new Uint8Array(args.batch * 256));
const filled = new Int32Array(args.nodes);
const acks = new Uint8Array(args.batch);
const header = new Uint8Array(HEADER_BYTES);
const microsPerKey: number[] = [];
for (let round = 0; round < args.rounds; round++) {
  const before = process.cpuUsage();
  for (let start = 0; start < args.keys; start += args.batch) {
    filled.fill(0);
    acks.fill(0);
    const end = Math.min(args.keys, start + args.batch);
    for (let i = start; i < end; i++) {
      const key = data.keys[order[i]!]!;
      const value = valuePackr.pack(data.values[order[i]!]!) as Uint8Array;
      for (const node of lists.forHash(hashKey32(key))) {
        const envelope = envelopes[node]!;
        let at = filled[node]!;
        envelope.set(header, at);
        at += HEADER_BYTES;
        envelope.set(key, at);
        at += key.byteLength;
        envelope.set(value, at);
        filled[node] = at + value.byteLength;
        acks[i - start]!++;
      }
    }
  }
  const used = process.cpuUsage(before);
  microsPerKey.push((used.user + used.system) / args.keys);
}
console.log(`put floor (coordinator), N=${args.n} over ${args.nodes} nodes, ${args.keys} keys per round in ${args.order} order: CPU per key by round ${microsPerKey.map((us) => `${us.toFixed(2)} µs`).join(', ')}; median ${median(microsPerKey).toFixed(2)} µs`);
