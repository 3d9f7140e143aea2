/**
 * A storage node's LMDB environment: one per node under `<path>/node-<id>/`.
 * Sub-databases: `objects` (raw key bytes -> encoded versioned object),
 * `expiry` (8-byte big-endian expiresAtMs ++ key -> empty), an index that lets
 * the TTL sweep visit only what is due instead of scanning every key, and
 * `meta` (the node's actor epoch), and `hints` (2-byte big-endian owner id ++
 * key -> encoded object): replicas held for down nodes (sloppy quorum, Dynamo
 * §4.6), apart from the node's own data so that reads, counts and
 * anti-entropy of its own ranges never see them.
 *
 * Durability (documented in the README, acknowledged by `write()`):
 * - 'sync':  acknowledge after the commit is flushed to disk (lmdb-js
 *            `flushed`); survives power loss.
 * - 'async': acknowledge after the commit; lmdb-js flushes it right after, off
 *            this thread (overlappingSync). Survives a process crash; a power
 *            loss can drop the last moments of acknowledged writes.
 * - 'none':  noSync: LMDB never calls fsync; the OS writes pages back when it
 *            likes. A cache mode: a process crash keeps committed data, a power
 *            loss may lose or tear recent writes.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Durability, ExpiryCandidate, StorageEngine, StoredEntry, WriteBatch } from './storage-engine.js';
import { copyBytes } from '../bytes.js';
import { selectsKey, skipTarget, type PartitionSelection } from '../ring/partition-selection.js';
import { isWellFormedPartitionedKey } from '../ring/partitioned-key.js';

const EXPIRY_PREFIX_BYTES = 8;
const HINT_PREFIX_BYTES = 2;
/** Sub-databases a node environment holds: objects, expiry, meta, hints (room to grow). */
export const NODE_DATABASES_MAX = 8;
const EPOCH_KEY = new TextEncoder().encode('epoch');
/** Leader terms in `meta`: 'term' ++ u32 big-endian partition -> f64. */
const TERM_PREFIX = new TextEncoder().encode('term');
const EMPTY = new Uint8Array(0);

export interface LmdbStorageOptions {
  path: string;
  nodeId: number;
  durability: Durability;
  /** LMDB map size; grows automatically in lmdb-js, this is the initial reservation. */
  mapSizeBytes?: number;
}

export function nodeDirectory(path: string, nodeId: number): string {
  return join(path, `node-${nodeId}`);
}

/**
 * How a node opens its environment. Also how another thread of the process
 * opens it to read in place (lmdb-reader.ts): lmdb-js shares one environment
 * per file and the first opener's flags win, so every opener passes these.
 */
export function lmdbOpenOptions(directory: string, durability: Durability, mapSizeBytes = 2 ** 30) {
  return {
    path: directory,
    maxDbs: NODE_DATABASES_MAX,
    noSync: durability === 'none',
    // Without fsync, a commit's cost was mostly its write() of every dirty page into the file: a one-put
    // transaction took 15-18 µs (8-12 of them in the kernel) on a 37,500-record environment, 5-6.5 µs when
    // LMDB writes the pages in the memory map itself (bench/README.md, "Session s14", "Commits in the
    // memory map"). lmdb-js: "Combined with noSync, normal reads/writes/transactions involve virtually zero explicit
    // I/O calls". A process crash still keeps every commit (the pages are the kernel's), as 'none' promises.
    // What it costs: no child transactions (none here: a node's transactionSync is never nested), a data
    // file as long as the map (sparse: only written pages take disk), and only in-process code may write the
    // pages, which is true of JavaScript. The durable modes keep lmdb-js's overlappingSync flush protocol.
    useWritemap: durability === 'none',
    mapSize: mapSizeBytes,
    // Our values are already msgpack bytes: store them as they are.
    encoding: 'binary' as const,
    keyEncoding: 'binary' as const,
    cache: false,
  };
}

export class LmdbStorage implements StorageEngine {
  private readonly root: RootDatabase;
  private readonly objects: Database<Uint8Array, Uint8Array>;
  private readonly expiry: Database<Uint8Array, Uint8Array>;
  private readonly meta: Database<Uint8Array, Uint8Array>;
  private readonly hints: Database<Uint8Array, Uint8Array>;
  private readonly durability: Durability;
  /**
   * Whether this lmdb-js stores a placed value (`placed`) as the bytes of its
   * place, checked once at open (placedPutsWork): the protocol is lmdb-js's
   * own, not its documented API, so a version that reads it differently
   * makes putAt take a view instead of storing the wrong bytes.
   */
  readonly placedPuts: boolean;

  constructor(options: LmdbStorageOptions) {
    const directory = nodeDirectory(options.path, options.nodeId);
    mkdirSync(directory, { recursive: true });
    this.durability = options.durability;
    this.root = open(lmdbOpenOptions(directory, options.durability, options.mapSizeBytes));
    this.objects = this.root.openDB<Uint8Array, Uint8Array>({ name: 'objects', encoding: 'binary', keyEncoding: 'binary' });
    this.expiry = this.root.openDB<Uint8Array, Uint8Array>({ name: 'expiry', encoding: 'binary', keyEncoding: 'binary' });
    this.meta = this.root.openDB<Uint8Array, Uint8Array>({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' });
    this.hints = this.root.openDB<Uint8Array, Uint8Array>({ name: 'hints', encoding: 'binary', keyEncoding: 'binary' });
    this.placedPuts = placedPutsWork(this.root, this.meta);
  }

  getHint(owner: number, key: Uint8Array): Uint8Array | undefined {
    return exact(this.hints.getBinaryFast(hintKey(owner, key) as Buffer));
  }

  hintsOf(owner: number, afterKey: Uint8Array, limit: number): StoredEntry[] {
    const entries: StoredEntry[] = [];
    const start = hintKey(owner, afterKey);
    const end = hintKey(owner + 1, EMPTY);
    for (const { key, value } of this.hints.getRange({ start: start as Buffer, end: end as Buffer }) as Iterable<{ key: Uint8Array; value: Uint8Array }>) {
      if (afterKey.byteLength > 0 && Buffer.compare(key, start) === 0) continue;
      entries.push({ key: copyBytes(key, HINT_PREFIX_BYTES, key.length), object: copyBytes(value, 0, value.length) });
      if (entries.length >= limit) break;
    }
    return entries;
  }

  hintCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const key of this.hints.getKeys() as Iterable<Uint8Array>) {
      const owner = (key[0]! << 8) | key[1]!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    return counts;
  }

  scan(afterKey: Uint8Array, selection: PartitionSelection, limit: number, examineMax: number): { entries: StoredEntry[]; next: Uint8Array | undefined } {
    // Keys first, values after: a point read inside lmdb-js's key iteration
    // reuses the buffers the iteration runs on (seen to never finish).
    // An examined key is hashed and tested where the iteration hands it over
    // (no read happens before the next step), and copied only if it is kept:
    // an ownership sweep examines every plain key of the node and keeps
    // almost none, and the copy was most of its cost per key (a profile of a
    // reopened store of 750K keys per node: copyBytes 1.2 s of the scan's 2.7 s).
    const accepted: Uint8Array[] = [];
    let examined = 0;
    let from: Uint8Array | undefined = afterKey.byteLength > 0 ? afterKey : undefined;
    // `afterKey` is exclusive; a seek target (partition-selection.ts) is inclusive.
    let excludeFrom = from !== undefined;
    for (;;) {
      let seekTo: Uint8Array | undefined;
      let seeking = false;
      for (const key of this.objects.getKeys(from === undefined ? {} : { start: from as Buffer }) as Iterable<Uint8Array>) {
        // Only the first key can equal the exclusive start.
        if (excludeFrom) {
          excludeFrom = false;
          if (Buffer.compare(key, from!) === 0) continue;
        }
        examined++;
        if (selectsKey(selection, key)) accepted.push(copyBytes(key, 0, key.length));
        else if (isWellFormedPartitionedKey(key)) {
          seekTo = skipTarget(selection, key);
          seeking = true;
        }
        if (accepted.length >= limit || examined >= examineMax) return this.scanPage(accepted, copyBytes(key, 0, key.length));
        if (seeking) break;
      }
      // The end of the keys, or no later key can be wanted.
      if (seekTo === undefined) return this.scanPage(accepted, undefined);
      from = seekTo;
      excludeFrom = false;
    }
  }

  private scanPage(accepted: Uint8Array[], next: Uint8Array | undefined): { entries: StoredEntry[]; next: Uint8Array | undefined } {
    const entries: StoredEntry[] = [];
    for (const key of accepted) {
      const object = exact(this.objects.getBinaryFast(key as Buffer));
      if (object !== undefined) entries.push({ key, object: copyBytes(object) });
    }
    return { entries, next };
  }

  range(start: Uint8Array, end: Uint8Array, reverse: boolean, limit: number, bytesMax: number, measure: (object: Uint8Array) => number): { entries: StoredEntry[]; more: boolean } {
    const entries: StoredEntry[] = [];
    if (Buffer.compare(start, end) >= 0) return { entries, more: false };
    // Reverse from `end` (lmdb-js starts at it, inclusive): the bound is exclusive, and `start` inclusive, so both are checked here.
    const options = reverse ? { start: end as Buffer, reverse: true } : { start: start as Buffer, end: end as Buffer };
    let bytes = 0;
    for (const { key, value } of this.objects.getRange(options) as Iterable<{ key: Uint8Array; value: Uint8Array }>) {
      if (reverse && Buffer.compare(key, end) >= 0) continue;
      if (reverse && Buffer.compare(key, start) < 0) break;
      const valueBytes = measure(value);
      if (valueBytes < 0) continue;
      if (entries.length >= limit || (bytes >= bytesMax && entries.length > 0)) return { entries, more: true };
      entries.push({ key: copyBytes(key, 0, key.length), object: copyBytes(value, 0, value.length) });
      bytes += valueBytes;
    }
    return { entries, more: false };
  }

  readTerms(): Map<number, number> {
    const terms = new Map<number, number>();
    const end = new Uint8Array(TERM_PREFIX.length + 5).fill(0xff);
    end.set(TERM_PREFIX);
    for (const { key, value } of this.meta.getRange({ start: TERM_PREFIX as Buffer, end: end as Buffer }) as Iterable<{ key: Uint8Array; value: Uint8Array }>) {
      if (key.length !== TERM_PREFIX.length + 4 || value.length !== 8) continue;
      const partition = new DataView(key.buffer, key.byteOffset + TERM_PREFIX.length, 4).getUint32(0);
      terms.set(partition, new DataView(value.buffer, value.byteOffset, 8).getFloat64(0, true));
    }
    return terms;
  }

  readEpoch(): number {
    const bytes = this.meta.getBinaryFast(EPOCH_KEY as Buffer);
    if (bytes === undefined) return 0;
    assert.equal(bytes.length, 8, 'stored epoch must be 8 bytes');
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return exact(this.objects.getBinaryFast(key as Buffer));
  }

  write(apply: (batch: WriteBatch) => void): Promise<void> | undefined {
    const objects = this.objects;
    const expiry = this.expiry;
    const meta = this.meta;
    const hints = this.hints;
    const batch: WriteBatch = {
      getHint: (owner, key) => exact(hints.getBinaryFast(hintKey(owner, key) as Buffer)),
      putHint: (owner, key, bytes) => void hints.putSync(hintKey(owner, key) as Buffer, bytes as Buffer),
      removeHint: (owner, key) => void hints.removeSync(hintKey(owner, key) as Buffer),
      get: (key) => exact(objects.getBinaryFast(key as Buffer)),
      put: (key, bytes) => void objects.putSync(key as Buffer, bytes as Buffer),
      putAt: this.placedPuts
        ? (key, bytes, at, length) => void objects.putSync(key as Buffer, placed(bytes, at, length) as Buffer)
        : (key, bytes, at, length) => void objects.putSync(key as Buffer, checkedPlace(bytes, at, length).subarray(at, at + length) as Buffer),
      remove: (key) => void objects.removeSync(key as Buffer),
      indexExpiry: (key, expiresAtMs) => void expiry.putSync(expiryKey(key, expiresAtMs) as Buffer, EMPTY as Buffer),
      removeExpiry: (candidate) => void expiry.removeSync(expiryKey(candidate.key, candidate.expiresAtMs) as Buffer),
      writeTerm: (partition, term) => {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setFloat64(0, term, true);
        meta.putSync(termKey(partition) as Buffer, bytes as Buffer);
      },
      removeSpace: (space, keysMax) => removeSpaceIn(objects, hints, space, keysMax),
      writeEpoch: (epoch) => {
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setFloat64(0, epoch, true);
        meta.putSync(EPOCH_KEY as Buffer, bytes as Buffer);
      },
    };
    // One transaction per drained batch: group commit. Reads inside `apply`
    // see the batch's earlier puts.
    if (this.durability === 'none') {
      // Without fsync a commit is cheap: the node thread commits itself,
      // sparing the hand-off to lmdb-js's writer thread and back.
      this.root.transactionSync(() => apply(batch));
      return undefined;
    }
    // A durable commit costs milliseconds (overlappingSync's flush protocol),
    // so it runs on lmdb-js's writer thread: the node keeps draining and
    // answering reads meanwhile, and every batch drained during a commit
    // joins the next one, so commits grow with the load (measured here: 1,000
    // random puts per commit ~70K/s, 10,000 per commit ~210K/s).
    const committed = this.root.transaction(() => apply(batch));
    if (this.durability === 'sync') return committed.then(() => this.root.flushed).then(() => undefined);
    return committed.then(() => undefined);
  }

  dueExpiries(nowMs: number, limit: number): ExpiryCandidate[] {
    const candidates: ExpiryCandidate[] = [];
    const end = expiryKey(EMPTY, nowMs + 1);
    for (const key of this.expiry.getKeys({ end: end as Buffer, limit }) as Iterable<Uint8Array>) {
      const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
      const expiresAtMs = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
      candidates.push({ key: Uint8Array.prototype.slice.call(key, EXPIRY_PREFIX_BYTES), expiresAtMs });
    }
    return candidates;
  }

  counts(): { keys: number; bytes: number } {
    const stats = this.objects.getStats() as { entryCount: number; pageSize: number; treeLeafPageCount: number; treeBranchPageCount: number; overflowPages: number };
    const pages = stats.treeLeafPageCount + stats.treeBranchPageCount + stats.overflowPages;
    return { keys: stats.entryCount, bytes: stats.pageSize * pages };
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}

/**
 * lmdb-js returns a reused global buffer whose `length` is the value's size
 * but whose `byteLength` is the whole 16 MiB buffer: take an exact view.
 */
function exact(bytes: Buffer | undefined): Uint8Array | undefined {
  // A plain Uint8Array view: cheaper to make than a Buffer (subarray's class).
  return bytes === undefined ? undefined : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A value that lmdb-js reads as the `length` bytes at `at` of `bytes`,
 * without a view of its own: lmdb-js takes a buffer that carries `start`
 * and `end` (offsets in its ArrayBuffer) as the bytes between them (lmdb-js
 * 3.5 write.js, `writeInstructions`: "buffers with start/end position", how
 * msgpackr's reused encode buffer reaches it), and caches the ArrayBuffer's
 * address on the buffer. Inside a write transaction `putSync` copies the
 * bytes into the database before it returns, so the next put may move the
 * place (test/lmdb-storage-put-at.test.ts checks what is stored). Only ever
 * given buffers that are passed to lmdb-js this way (envelope copies).
 */
function placed(bytes: Uint8Array, at: number, length: number): Uint8Array {
  const value = checkedPlace(bytes, at, length) as PlacedBytes;
  value.start = bytes.byteOffset + at;
  value.end = value.start + length;
  return value;
}

/** `bytes`, once `length` bytes at `at` are found to lie inside it. */
function checkedPlace(bytes: Uint8Array, at: number, length: number): Uint8Array {
  if (!(at >= 0 && length > 0 && at + length <= bytes.byteLength)) assert.fail(`value of ${length} bytes at ${at} outside ${bytes.byteLength} bytes`);
  return bytes;
}

/** The probe's key in `meta`: written and removed in one transaction at open, so never stored. */
const PLACED_PROBE_KEY = new TextEncoder().encode('placed-put-probe');

/**
 * Whether lmdb-js stores `placed(bytes, at, length)` as exactly those bytes:
 * a put of a placed value inside a buffer of other bytes, read back in the
 * same transaction, then removed (the transaction stores nothing).
 */
function placedPutsWork(root: RootDatabase, meta: Database<Uint8Array, Uint8Array>): boolean {
  const around = new Uint8Array([0xee, 0xee, 1, 2, 3, 5, 8, 0xee]);
  const inner = around.subarray(1);
  let works = false;
  // What transactionSync returns is lmdb-js's, not the callback's result.
  root.transactionSync(() => {
    meta.putSync(PLACED_PROBE_KEY as Buffer, placed(inner, 1, 5) as Buffer);
    const stored = exact(meta.getBinaryFast(PLACED_PROBE_KEY as Buffer));
    works = stored !== undefined && Buffer.compare(stored, Buffer.from([1, 2, 3, 5, 8])) === 0;
    meta.removeSync(PLACED_PROBE_KEY as Buffer);
  });
  return works;
}

interface PlacedBytes extends Uint8Array {
  start: number;
  end: number;
}

/** Owner first, big-endian: one owner's hints are one contiguous key range. */
function hintKey(owner: number, key: Uint8Array): Uint8Array {
  assert.ok(Number.isInteger(owner) && owner >= 0 && owner <= 0xffff, 'hint owner out of range');
  const out = new Uint8Array(HINT_PREFIX_BYTES + key.byteLength);
  out[0] = owner >>> 8;
  out[1] = owner & 0xff;
  out.set(key, HINT_PREFIX_BYTES);
  return out;
}

/** Big-endian time first, so LMDB's byte order is expiry order. */
function expiryKey(key: Uint8Array, expiresAtMs: number): Uint8Array {
  const out = new Uint8Array(EXPIRY_PREFIX_BYTES + key.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(expiresAtMs / 2 ** 32));
  view.setUint32(4, expiresAtMs >>> 0);
  out.set(key, EXPIRY_PREFIX_BYTES);
  return out;
}

function termKey(partition: number): Uint8Array {
  const key = new Uint8Array(TERM_PREFIX.length + 4);
  key.set(TERM_PREFIX);
  new DataView(key.buffer).setUint32(TERM_PREFIX.length, partition);
  return key;
}

/** [0xFF][space u32]: the keys of one space (ring/partitioned-key.ts's layout), and the first key after them. */
function spaceBounds(space: number): { start: Uint8Array; end: Uint8Array } {
  const start = new Uint8Array(5);
  start[0] = 0xff;
  new DataView(start.buffer).setUint32(1, space);
  const end = space === 0xffff_ffff ? new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) : new Uint8Array(5);
  if (space !== 0xffff_ffff) {
    end[0] = 0xff;
    new DataView(end.buffer).setUint32(1, space + 1);
  }
  return { start, end };
}

function removeSpaceIn(objects: Database<Uint8Array, Uint8Array>, hints: Database<Uint8Array, Uint8Array>, space: number, keysMax: number): boolean {
  const { start, end } = spaceBounds(space);
  const doomed: Uint8Array[] = [];
  for (const key of objects.getKeys({ start: start as Buffer, end: end as Buffer, limit: keysMax + 1 }) as Iterable<Uint8Array>) doomed.push(copyBytes(key, 0, key.length));
  const more = doomed.length > keysMax;
  for (const key of doomed.slice(0, keysMax)) objects.removeSync(key as Buffer);
  if (more) return true;
  // Hints: owner ++ key, so the space is one range per owner.
  const hinted: Uint8Array[] = [];
  for (const key of hints.getKeys() as Iterable<Uint8Array>) {
    const inner = key.subarray(HINT_PREFIX_BYTES);
    if (Buffer.compare(inner, start) >= 0 && Buffer.compare(inner, end) < 0) hinted.push(copyBytes(key, 0, key.length));
    if (hinted.length > keysMax) break;
  }
  for (const key of hinted.slice(0, keysMax)) hints.removeSync(key as Buffer);
  return hinted.length > keysMax;
}
