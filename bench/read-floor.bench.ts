/**
 * The floor of a read in place (issue 15 targets 1 and 3): what any design
 * must do beyond raw lmdb-js to read one key of ringtable's, each part timed
 * alone over the same keys in one process (interleaved rounds, medians), and
 * ringtable's own reads beside them. Per read, in microseconds:
 *
 *   raw          raw lmdb-js: getBinaryFast(key) + msgpack decode, one environment (the baseline)
 *   ring         the key's replica: XXH32 of the key, its partition's cached preference list
 *   get          getBinaryFast of ringtable's stored record (envelope and clock included) in that replica's environment
 *   envelope     + find the one sibling, its tombstone flag, expiry and value (object-codec.ts), no object built
 *   decode       + the value decoded from lmdb-js's buffer (value-codec.ts decodeValueInPlace)
 *   result       + the GetResult with its clock (get-result.ts resultFromBytes): what get returns
 *   floor        ring + get + envelope + decode + result in one loop
 *   floor+promise  the floor, each read's result handed over as a promise (Promise.resolve) and taken
 *                with then, --in-flight at a time, each completion starting the next: what get()'s
 *                caller and the YCSB driver (bench/ycsb/op-driver.ts) do with every get, without the store
 *   get()        store.get(key, { r: 1 }), --in-flight at a time
 *   getMany()    store.getMany(batch of --batch keys, { r: 1 })
 *
 *   node dist/bench/read-floor.bench.js --keys 200k --reads 200k --rounds 3
 *
 * Data as bench:get-many (16-byte keys, 100-byte Uint8Array values), N=3,
 * 4 nodes, durability none. The parts read ringtable's own environments
 * through lib/storage/lmdb-reader.ts, as readPath 'direct' does.
 */
import { Store } from '../lib/index.js';
import { hashKey32 } from '../lib/ring/hash.js';
import { PreferenceListTable } from '../lib/ring/preference-list.js';
import { Ring, type RingJSON } from '../lib/ring/ring.js';
import { LmdbReader } from '../lib/storage/lmdb-reader.js';
import { type GetResult, resultFromBytes } from '../lib/store/get-result.js';
import { decodeValueInPlace } from '../lib/store/value-codec.js';
import { SIBLING_HEADER_BYTES, SiblingField, isTombstoneAt, soleSiblingAt } from '../lib/version/object-codec.js';
import { readFileSync } from 'node:fs';
import { VALUE_BYTES, keyBatches, makeDataSet, uniformAccess } from './lib/data.js';
import { type Run, formatRate, interleave, settle, timed } from './lib/measure.js';
import { int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';
import { batchedGets, newTally, openRawLmdb, pipelinedGets, preloadStore, rawBatchSettled, valuePackr } from './lib/workloads.js';

const args = parseOptions('node dist/bench/read-floor.bench.js', 'The least work a read in place must do beyond raw lmdb-js, part by part, against ringtable get and getMany (R=1), one thread.', {
  keys: int(200_000, 'keys preloaded'),
  reads: int(200_000, 'keys read per timed run'),
  rounds: int(3, 'interleaved rounds'),
  batch: int(1_000, 'keys per getMany call'),
  'in-flight': int(256, 'gets in flight for the get() figure'),
  nodes: int(4, 'storage nodes'),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

const EMPTY = new Uint8Array(0);

/** A stable view on lmdb-js's read buffer, as direct-reads.ts keeps one: made again only when that buffer changes. */
class BufferView {
  private buffer: ArrayBufferLike = EMPTY.buffer;
  bytes: Uint8Array = EMPTY;
  view: DataView = new DataView(EMPTY.buffer);
  of(stored: Buffer): void {
    if (stored.buffer === this.buffer) return;
    this.buffer = stored.buffer;
    this.bytes = new Uint8Array(stored.buffer);
    this.view = new DataView(stored.buffer);
  }
}

/** What each part's loop does per key, the later ones including the earlier ones. */
type Part = 'ring' | 'get' | 'envelope' | 'decode' | 'result' | 'floor';

async function main(): Promise<void> {
  const report: Report = {
    benchmark: 'read floor',
    command: commandLine('read-floor.bench.js'),
    measured: `${args.reads} uniform random reads over ${args.keys} keys (16 B keys, 100 B Uint8Array values) per run, each part alone; interleaved runs, median reported`,
    environment: environment(),
    config: { keys: args.keys, reads: args.reads, rounds: args.rounds, batch: args.batch, inFlight: args['in-flight'], nodes: args.nodes, seed: args.seed },
    storeOptions: { nodes: args.nodes, replication: { n: 3, r: 1, w: 3 }, durability: 'none', readPath: 'direct' },
    phases: {},
    figures: [],
    ratios: [],
    notes: [],
  };
  const data = makeDataSet(args.keys, args.seed);
  const order = uniformAccess(args.keys, args.reads, args.seed, 3);
  const batches = keyBatches(data.keys, order, args.batch);
  const parent = makeTempDir('ringtable-bench-read-floor-', args.dir);
  const raw = openRawLmdb(`${parent}/raw`, 'none');
  let store: Store | undefined;
  const readers: LmdbReader[] = [];
  try {
    const path = `${parent}/ringtable`;
    // W = N and a long timeout: every replica holds every key before the parts read the first one, on a loaded machine too.
    store = await Store.open({ path, nodes: args.nodes, replication: { n: 3, r: 1, w: 3 }, durability: 'none', readPath: 'direct', timeoutMs: 120_000 });
    console.log(`read floor: seed=${args.seed}, ${args.keys} keys, ${args.reads} reads per run; preloading...`);
    await preloadStore(store, data, 10_000, 1);
    for (let start = 0; start < args.keys; start += 10_000) {
      for (let i = start; i < Math.min(args.keys, start + 10_000); i++) void raw.put(data.keys[i]! as Buffer, Uint8Array.prototype.slice.call(valuePackr.pack(data.values[i]!)) as Buffer);
      await rawBatchSettled(raw, 'none');
    }
    const table = new PreferenceListTable(Ring.fromJSON(JSON.parse(readFileSync(`${path}/ring.json`, 'utf8')) as RingJSON), 3);
    for (let node = 0; node < args.nodes; node++) readers.push(new LmdbReader(path, node, 'none'));
    // Each key's first replica, found before the parts' loops (the ring part times finding it).
    const nodeOfKey = new Int32Array(args.keys);
    for (let k = 0; k < args.keys; k++) nodeOfKey[k] = table.forHash(hashKey32(data.keys[k]!))[0]!;
    const buffer = new BufferView();
    let sink = 0;

    const rawRead = (): void => {
      for (let i = 0; i < order.length; i++) {
        const bytes = raw.getBinaryFast(data.keys[order[i]!]! as Buffer);
        if (bytes !== undefined) sink += (valuePackr.unpack(bytes) as Uint8Array).byteLength;
      }
    };
    const partRead = (part: Part): void => {
      const nowMs = Date.now();
      for (let i = 0; i < order.length; i++) {
        const key = data.keys[order[i]!]!;
        if (part === 'ring') {
          sink += table.forHash(hashKey32(key))[i % 3]!;
          continue;
        }
        const node = part === 'floor' ? table.forHash(hashKey32(key))[0]! : nodeOfKey[order[i]!]!;
        const stored = readers[node]!.get(key);
        if (stored === undefined || part === 'get') {
          sink += stored === undefined ? 0 : stored.length;
          continue;
        }
        buffer.of(stored);
        if (part === 'result' || part === 'floor') {
          const result = resultFromBytes(buffer.bytes, buffer.view, stored.byteOffset, stored.length, nowMs);
          sink += (result?.value as Uint8Array | undefined)?.byteLength ?? 0;
          continue;
        }
        const at = soleSiblingAt(buffer.view, stored.byteOffset, stored.length);
        if (at < 0 || isTombstoneAt(buffer.view, at) || buffer.view.getFloat64(at + SiblingField.EXPIRES_AT_MS, true) !== 0) continue;
        const valueAt = at + SIBLING_HEADER_BYTES;
        const valueEnd = valueAt + buffer.view.getUint32(at + SiblingField.VALUE_BYTES, true);
        if (part === 'envelope') sink += valueEnd - valueAt;
        else sink += (decodeValueInPlace(buffer.bytes, valueAt, valueEnd) as Uint8Array).byteLength;
      }
    };

    // The floor with a promise per read, settled as pipelinedGets and the YCSB driver settle get()'s: the least any
    // design that answers each read with a promise adds to the floor.
    const promisedFloorReads = (): Promise<void> =>
      new Promise((resolve) => {
        const nowMs = Date.now();
        const count = order.length;
        let next = 0;
        let done = 0;
        const onResult = (result: GetResult | undefined | null): void => {
          sink += (result?.value as Uint8Array | undefined)?.byteLength ?? 0;
          if (++done === count) resolve();
          else if (next < count) launch();
        };
        const launch = (): void => {
          const key = data.keys[order[next++]!]!;
          const stored = readers[table.forHash(hashKey32(key))[0]!]!.get(key);
          let result: GetResult | undefined | null;
          if (stored !== undefined) {
            buffer.of(stored);
            result = resultFromBytes(buffer.bytes, buffer.view, stored.byteOffset, stored.length, nowMs);
          }
          void Promise.resolve(result).then(onResult);
        };
        const initial = Math.min(args['in-flight'], count);
        for (let i = 0; i < initial; i++) launch();
        if (count === 0) resolve();
      });

    const tally = newTally();
    const parts: Part[] = ['ring', 'get', 'envelope', 'decode', 'result', 'floor'];
    const variants = [
      { name: 'raw', run: async () => (await settle(), timed(args.reads, rawRead)) },
      ...parts.map((part) => ({ name: part, run: async () => (await settle(), timed(args.reads, () => partRead(part))) })),
      { name: 'floor+promise', run: async () => (await settle(), timed(args.reads, promisedFloorReads)) },
      { name: 'get()', run: async () => (await settle(), timed(args.reads, () => pipelinedGets(store!, data.keys, order, args['in-flight'], 1, VALUE_BYTES, tally))) },
      { name: 'getMany()', run: async () => (await settle(), timed(args.reads, () => batchedGets(store!, batches, 1, VALUE_BYTES, tally))) },
    ];
    // Warm-up: JIT, page cache, read transactions.
    for (const variant of variants) await variant.run();
    const runs = await interleave(args.rounds, variants, (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(10)} ${formatRate(run.opsPerSecond).padStart(7)} reads/s  ${(1e6 / run.opsPerSecond).toFixed(3)} us/read`));
    report.figures = variants.map((variant) => figure(variant.name, 'one key read', runs.get(variant.name)!));
    // Medians, and the fastest run of each (on a shared machine, the run least disturbed by other work).
    const medianUs = (name: string): number => 1e6 / report.figures.find((f) => f.name === name)!.medianOpsPerSecond;
    const bestUs = (name: string): number => 1e6 / Math.max(...runs.get(name)!.map((run) => run.opsPerSecond));
    report.notes.push(`per read, medians: ${breakdown(medianUs).join('; ')}`);
    report.notes.push(`per read, fastest runs: ${breakdown(bestUs).join('; ')}`);
    const usOf = medianUs;
    report.ratios = [
      { name: 'floor / raw (reads per second)', value: usOf('raw') / usOf('floor') },
      { name: 'floor+promise / raw', value: usOf('raw') / usOf('floor+promise') },
      { name: 'get() / raw', value: usOf('raw') / usOf('get()'), target: 1 },
      { name: 'getMany() / raw', value: usOf('raw') / usOf('getMany()'), target: 1 },
      { name: 'fastest runs: floor / raw', value: bestUs('raw') / bestUs('floor') },
      { name: 'fastest runs: floor+promise / raw', value: bestUs('raw') / bestUs('floor+promise') },
      { name: 'fastest runs: get() / raw', value: bestUs('raw') / bestUs('get()') },
      { name: 'fastest runs: getMany() / raw', value: bestUs('raw') / bestUs('getMany()') },
    ];
    if (tally.missing + tally.wrongLength > 0) report.notes.push(`WRONG ANSWERS: ${tally.missing} missing, ${tally.wrongLength} wrong length`);
    if (sink === 0) report.notes.push('nothing was read');
  } finally {
    for (const reader of readers) await reader.close();
    await store?.close();
    await raw.close();
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

/** Each part's cost per read: the parts' loops include the parts before them, so each is the difference. */
function breakdown(usOf: (name: string) => number): string[] {
  return [
    `raw lmdb-js + decode ${usOf('raw').toFixed(3)} us`,
    `ring lookup ${usOf('ring').toFixed(3)} us`,
    `get of the stored record ${usOf('get').toFixed(3)} us`,
    `envelope ${(usOf('envelope') - usOf('get')).toFixed(3)} us`,
    `value decode ${(usOf('decode') - usOf('envelope')).toFixed(3)} us`,
    `GetResult with its clock ${(usOf('result') - usOf('decode')).toFixed(3)} us`,
    `floor (one loop) ${usOf('floor').toFixed(3)} us = ${(usOf('floor') / usOf('raw')).toFixed(2)}x raw's time`,
    `floor with a promise per read ${usOf('floor+promise').toFixed(3)} us = ${(usOf('floor+promise') / usOf('raw')).toFixed(2)}x raw's time`,
    `store.get ${usOf('get()').toFixed(3)} us (${(usOf('get()') - usOf('floor')).toFixed(3)} over the floor, ${(usOf('get()') - usOf('floor+promise')).toFixed(3)} over the floor with a promise)`,
    `store.getMany ${usOf('getMany()').toFixed(3)} us (${(usOf('getMany()') - usOf('floor')).toFixed(3)} over the floor)`,
  ];
}

await main();
