/**
 * The hot paths the micro-benchmark times, one suite each. A suite prepares
 * its inputs once (outside the timing) and returns a task that performs
 * `batch` operations per call over varied, seeded inputs: tinybench costs
 * ~450 ns per call, so one operation per call would mostly time tinybench.
 * Every task folds its results into a checksum the caller keeps, so the JIT
 * cannot drop the work.
 */
import assert from 'node:assert/strict';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { hashKey32 } from '../../lib/ring/hash.js';
import { PreferenceListTable } from '../../lib/ring/preference-list.js';
import { Ring } from '../../lib/ring/ring.js';
import { decodeValue, encodeValue } from '../../lib/store/value-codec.js';
import { pooledCopy } from '../../lib/store/value-pool.js';
import { RingReader, RingWriter, allocateRing } from '../../lib/transport/spsc-ring.js';
import { CONTEXT_PAIR_BYTES, Op, Request, type RequestRecord, contextOffset, encodeRequest, requestBytes } from '../../lib/transport/wire.js';
import { actorOf } from '../../lib/version/actor.js';
import { type VersionedObject, descends, join, sync, update } from '../../lib/version/dotted-version-vector.js';
import { fnvHash64Mod } from '../ycsb/fnv-hash.js';
import { keyName } from '../ycsb/key-name.js';
import { ScrambledZipfianGenerator } from '../ycsb/scrambled-zipfian.js';
import { SpaceSaving } from '../../lib/stats/space-saving.js';
import { ZipfianGenerator } from '../ycsb/zipfian.js';

export interface MicroConfig {
  batch: number;
  seed: number;
  /** Key numbers the YCSB keys and zipfian draws range over. */
  records: number;
  nodes: number;
  vnodes: number;
  n: number;
  /** YCSB record: `fields` fields of `fieldBytes` bytes each. */
  fields: number;
  fieldBytes: number;
  fieldKind: 'string' | 'bytes';
}

export interface Suite {
  name: string;
  /** What one operation is (printed with the figure). */
  op: string;
  /** Performs config.batch operations; returns a checksum of their results. */
  task: () => number;
}

/** valueBytesMax for encodeValue: far above any record here, so it never refuses one. */
const VALUE_BYTES_MAX = 64 * 1024 * 1024;
/** Causal context pairs in a PUT frame: one per replica of a 3-replica key. */
const CONTEXT_PAIRS = 3;

/** `batch` YCSB key names for seeded key numbers below `records`. */
function ycsbKeys(config: MicroConfig, stream: number): string[] {
  const prng = new Prng(deriveSeed(config.seed, stream));
  return Array.from({ length: config.batch }, () => keyName(prng.nextBelow(config.records)));
}

/** A YCSB record: field0..field{n-1}, each `fieldBytes` printable ASCII characters (as YCSB's RandomByteIterator) or random bytes. */
export function ycsbRecord(config: MicroConfig, prng: Prng): Record<string, string | Uint8Array> {
  const record: Record<string, string | Uint8Array> = {};
  for (let f = 0; f < config.fields; f++) {
    const bytes = prng.fill(new Uint8Array(config.fieldBytes));
    if (config.fieldKind === 'bytes') record[`field${f}`] = bytes;
    else record[`field${f}`] = String.fromCharCode(...bytes.map((b) => 32 + (b % 95)));
  }
  return record;
}

function keyHash(config: MicroConfig): Suite {
  const keys = ycsbKeys(config, 10);
  return {
    name: 'key hash',
    op: `hashKey32(YCSB key string, ~${keys[0]!.length} chars): XXH32 via xxhash-wasm`,
    task: () => {
      let sum = 0;
      for (let i = 0; i < keys.length; i++) sum = (sum + hashKey32(keys[i]!)) | 0;
      return sum;
    },
  };
}

function preferenceListLookup(config: MicroConfig): Suite {
  const ring = Ring.create(Array.from({ length: config.nodes }, (_, i) => i), config.vnodes);
  const table = new PreferenceListTable(ring, config.n);
  const prng = new Prng(deriveSeed(config.seed, 11));
  const hashes = Uint32Array.from({ length: config.batch }, () => prng.nextUint32());
  return {
    name: 'preference list',
    op: `PreferenceListTable.forHash(hash32) on ${config.nodes} nodes x ${config.vnodes} vnodes (${ring.partitionCount} partitions), n=${config.n}`,
    task: () => {
      let sum = 0;
      for (let i = 0; i < hashes.length; i++) sum = (sum + table.forHash(hashes[i]!)[0]!) | 0;
      return sum;
    },
  };
}

/** Frames laid out back to back in one buffer, as a ring's data region holds them. */
function frameSuites(config: MicroConfig): Suite[] {
  const keys = ycsbKeys(config, 12);
  const keyBytes = keys.map((key) => Buffer.byteLength(key, 'utf8'));
  const value = encodeValue(ycsbRecord(config, new Prng(deriveSeed(config.seed, 13))), VALUE_BYTES_MAX);
  const context = Array.from({ length: CONTEXT_PAIRS }, (_, i) => [actorOf(i, 7), 1000 + i] as const);
  const getOffsets: number[] = [];
  const putOffsets: number[] = [];
  const putLengths: number[] = [];
  let getTotal = 0;
  let putTotal = 0;
  for (let i = 0; i < keys.length; i++) {
    getOffsets.push(getTotal);
    getTotal += requestBytes(keyBytes[i]!, 0, 0);
    putOffsets.push(putTotal);
    putLengths.push(requestBytes(keyBytes[i]!, CONTEXT_PAIRS, value.byteLength));
    putTotal += putLengths[i]!;
  }
  // The records are built before the timed loops, as the store's put already has its record when it encodes.
  const getRequests: RequestRecord[] = keys.map((key) => ({ op: Op.GET, flags: 0, key, context: undefined, value: undefined, timestampMs: 1_700_000_000_000, expiresAtMs: 0 }));
  const putRequests: RequestRecord[] = keys.map((key) => ({ op: Op.PUT, flags: 0, key, context, value, timestampMs: 1_700_000_000_000, expiresAtMs: 0 }));
  const getBytes = Buffer.alloc(getTotal);
  const getView = new DataView(getBytes.buffer, getBytes.byteOffset, getBytes.byteLength);
  const putBytes = Buffer.alloc(putTotal);
  const putView = new DataView(putBytes.buffer, putBytes.byteOffset, putBytes.byteLength);
  const encodeGets = (): number => {
    for (let i = 0; i < keys.length; i++) {
      encodeRequest(getBytes, getView, getOffsets[i]!, i, getRequests[i]!, keyBytes[i]!);
    }
    return getBytes[getTotal - 1]!;
  };
  const encodePuts = (): number => {
    for (let i = 0; i < keys.length; i++) {
      encodeRequest(putBytes, putView, putOffsets[i]!, i, putRequests[i]!, keyBytes[i]!);
    }
    return putBytes[putTotal - 1]!;
  };
  encodePuts();
  // The reads replica.ts `handle` makes of a PUT frame before queueing it (no copies).
  const decodePuts = (): number => {
    let sum = 0;
    for (let i = 0; i < putOffsets.length; i++) {
      const offset = putOffsets[i]!;
      const op = putView.getUint8(offset + Request.OP);
      const requestId = putView.getUint32(offset + Request.REQUEST_ID, true);
      const frameKeyBytes = putView.getUint32(offset + Request.KEY_BYTES, true);
      const contextPairs = putView.getUint32(offset + Request.CONTEXT_PAIRS, true);
      const valueBytes = putView.getUint32(offset + Request.VALUE_BYTES, true);
      if (requestBytes(frameKeyBytes, contextPairs, valueBytes) !== putLengths[i]) assert.fail(`frame ${requestId} length mismatch`);
      const contextAt = offset + contextOffset(frameKeyBytes);
      for (let p = 0; p < contextPairs; p++) {
        const at = contextAt + p * CONTEXT_PAIR_BYTES;
        sum += putView.getFloat64(at, true) + putView.getFloat64(at + 8, true);
      }
      sum += op + putView.getUint8(offset + Request.FLAGS) + putView.getFloat64(offset + Request.TIMESTAMP_MS, true) + putView.getFloat64(offset + Request.EXPIRES_AT_MS, true);
    }
    return sum;
  };
  return [
    { name: 'frame encode GET', op: `encodeRequest(GET, YCSB key ~${keyBytes[0]} B): a ${requestBytes(keyBytes[0]!, 0, 0)}-byte frame`, task: encodeGets },
    { name: 'frame encode PUT', op: `encodeRequest(PUT, key, ${CONTEXT_PAIRS} context pairs, ${value.byteLength}-byte msgpack record): a ~${putLengths[0]}-byte frame`, task: encodePuts },
    { name: 'frame decode PUT', op: 'the header and context reads a storage node makes of a PUT frame, length checked (no copies)', task: decodePuts },
  ];
}

function ringPushPop(config: MicroConfig): Suite {
  // A GET frame for a YCSB key is 64 bytes; the ring holds a whole batch, so
  // the writer never waits and this times reserve/publish/read alone.
  const payloadBytes = 64;
  let capacityBytes = 1 << 16;
  while (capacityBytes < 2 * config.batch * (payloadBytes + 8)) capacityBytes *= 2;
  const buffer = allocateRing(capacityBytes);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, capacityBytes);
  let received = 0;
  const onMessage = (_bytes: Uint8Array, view: DataView, offset: number): void => {
    received = (received + view.getUint32(offset, true)) | 0;
  };
  return {
    name: 'ring push+pop',
    op: `one ${payloadBytes}-byte record through RingWriter.reserve (one publish per ${config.batch}) and RingReader.read, one thread, ${capacityBytes >> 10} KiB ring`,
    task: () => {
      const view = writer.view;
      for (let i = 0; i < config.batch; i++) {
        const at = writer.reserve(payloadBytes);
        if (at < 0) assert.fail('ring full: it is sized for a whole batch');
        view.setUint32(at, i, true);
      }
      writer.publish();
      const messages = reader.read(onMessage, config.batch);
      if (messages !== config.batch) assert.fail(`read ${messages} of ${config.batch} records`);
      return received;
    },
  };
}

/** Clocks of keys written a few times through each of 3 coordinators, as replicas hold them. */
function clockSuites(config: MicroConfig): Suite[] {
  const prng = new Prng(deriveSeed(config.seed, 14));
  const actors = [actorOf(0, 1), actorOf(1, 1), actorOf(2, 1)];
  const value = new Uint8Array(16);
  const olders: VersionedObject[] = [];
  const newers: VersionedObject[] = [];
  for (let i = 0; i < config.batch; i++) {
    let object: VersionedObject | undefined;
    const writes = 3 + prng.nextBelow(20);
    for (let w = 0; w < writes; w++) {
      const actor = actors[prng.nextBelow(3)]!;
      object = update(object, object === undefined ? [] : join(object), { value, timestampMs: 1000 + w, expiresAtMs: 0, tombstone: false }, actor);
    }
    olders.push(object!);
    newers.push(update(object, join(object!), { value, timestampMs: 2000, expiresAtMs: 0, tombstone: false }, actors[prng.nextBelow(3)]!));
  }
  const entries = olders.reduce((sum, o) => sum + o.entries.length, 0) / olders.length;
  return [
    {
      name: 'clock descends',
      op: `descends(newer, older) on DVVSet clocks of ~${entries.toFixed(1)} entries (3 coordinators), one value each`,
      task: () => {
        let count = 0;
        for (let i = 0; i < olders.length; i++) if (descends(newers[i]!, olders[i]!)) count++;
        if (count !== olders.length) assert.fail('a newer clock must descend its older one');
        return count;
      },
    },
    {
      name: 'clock sync',
      op: 'sync(older local, newer incoming): the merge a replica makes when a newer version arrives',
      task: () => {
        let sum = 0;
        for (let i = 0; i < olders.length; i++) sum += sync(olders[i]!, newers[i]!).entries.length;
        return sum;
      },
    },
  ];
}

function msgpackSuites(config: MicroConfig): Suite[] {
  const records = Array.from({ length: Math.min(config.batch, 100) }, (_, i) => ycsbRecord(config, new Prng(deriveSeed(config.seed, 100 + i))));
  const encoded = records.map((record) => encodeValue(record, VALUE_BYTES_MAX));
  const shape = `${config.fields} fields x ${config.fieldBytes} B ${config.fieldKind === 'string' ? 'ASCII strings' : 'Uint8Arrays'}, ${encoded[0]!.byteLength} B encoded`;
  return [
    {
      name: 'msgpack encode record',
      op: `encodeValue(YCSB record: ${shape}) with ringtable's Packr`,
      task: () => {
        let sum = 0;
        for (let i = 0; i < config.batch; i++) sum += encodeValue(records[i % records.length], VALUE_BYTES_MAX).byteLength;
        return sum;
      },
    },
    {
      name: 'msgpack decode record',
      op: `decodeValue(${encoded[0]!.byteLength} B) to the record object, as a get returns it`,
      task: () => {
        let sum = 0;
        for (let i = 0; i < config.batch; i++) sum += Object.keys(decodeValue(encoded[i % encoded.length]!) as object).length;
        return sum;
      },
    },
  ];
}

/** Results kept at a time by the value-copy suites: most die young, as a get's do once its caller is done with them. */
const VALUES_KEPT = 256;

/**
 * How a read hands out a binary value's bytes (lib/store/value-pool.ts): an
 * ArrayBuffer of its own per value, as before, against a view into the
 * thread's 8 KiB pool blocks. 100 bytes is bench:get-many's value, 1000
 * YCSB's record.
 */
function valueCopySuites(config: MicroConfig): Suite[] {
  return [100, 1000].flatMap((bytes) => {
    const source = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
    const kept: Uint8Array[] = new Array<Uint8Array>(VALUES_KEPT);
    let next = 0;
    const own = (start: number): Uint8Array => {
      const value = new Uint8Array(bytes);
      value.set(source.subarray(start, start + bytes), 0);
      return value;
    };
    const copying = (copy: (start: number) => Uint8Array) => () => {
      let sum = 0;
      for (let i = 0; i < config.batch; i++) {
        const value = copy((i * 64) & 0x7fff);
        kept[next++ & (VALUES_KEPT - 1)] = value;
        sum += value[bytes - 1]!;
      }
      return sum;
    };
    return [
      { name: `value copy ${bytes} B own`, op: `a ${bytes}-byte value copied into an ArrayBuffer of its own (before s11), the last ${VALUES_KEPT} kept`, task: copying(own) },
      { name: `value copy ${bytes} B pooled`, op: `the same into the value pool's 8 KiB blocks (pooledCopy)`, task: copying((start) => pooledCopy(source, start, start + bytes)) },
    ];
  });
}

function workloadSuites(config: MicroConfig): Suite[] {
  const plain = new ZipfianGenerator(config.records);
  const scrambled = new ScrambledZipfianGenerator(config.records);
  const drawPrng = new Prng(deriveSeed(config.seed, 15));
  const prng = new Prng(deriveSeed(config.seed, 16));
  const numbers = Float64Array.from({ length: config.batch }, () => prng.nextBelow(config.records));
  const keys = ycsbKeys(config, 17);
  const summary = new SpaceSaving(1000);
  return [
    {
      name: 'zipfian draw',
      op: `ZipfianGenerator(${config.records}, 0.99).draw: Gray et al., one 53-bit uniform and a Math.pow`,
      task: () => {
        let sum = 0;
        for (let i = 0; i < config.batch; i++) sum += plain.draw(drawPrng);
        return sum;
      },
    },
    {
      name: 'scrambled zipfian draw',
      op: `ScrambledZipfianGenerator(${config.records}).draw: a zipfian over 10^10, then fnvhash64 mod ${config.records}`,
      task: () => {
        let sum = 0;
        for (let i = 0; i < config.batch; i++) sum += scrambled.draw(drawPrng);
        return sum;
      },
    },
    {
      name: 'fnvhash64 mod',
      op: 'fnvHash64Mod(key number, record count): YCSB fnvhash64 on int32 halves, no bigint',
      task: () => {
        let sum = 0;
        for (let i = 0; i < numbers.length; i++) sum += fnvHash64Mod(numbers[i]!, config.records);
        return sum;
      },
    },
    {
      name: 'key name',
      op: 'keyName(key number): "user" + fnvhash64 as a decimal string',
      task: () => {
        let sum = 0;
        for (let i = 0; i < numbers.length; i++) sum += keyName(numbers[i]!).length;
        return sum;
      },
    },
    {
      name: 'space-saving offer',
      op: 'SpaceSaving(1000).offer(YCSB key): the hot-key summary, a Map lookup and a heap sift',
      task: () => {
        for (let i = 0; i < keys.length; i++) summary.offer(keys[i]!);
        return summary.size;
      },
    },
  ];
}

export function microSuites(config: MicroConfig): Suite[] {
  return [
    keyHash(config),
    preferenceListLookup(config),
    ...frameSuites(config),
    ringPushPop(config),
    ...clockSuites(config),
    ...msgpackSuites(config),
    ...valueCopySuites(config),
    ...workloadSuites(config),
  ];
}
