/**
 * A coordinator's hot-key cache (opt-in, StoreOptions.hotKeyCache; issue 15):
 * the merged objects of the hottest keys' reads, kept in this coordinator so
 * that a skewed read stream stops hammering the N nodes that hold its
 * hottest keys. Pure: the time is passed in, nothing here reads a clock.
 *
 * Which keys: a Space-Saving sketch (lib/stats/space-saving.ts) counts the
 * cacheable gets; a read's result is kept only when the sketch proves its
 * key hot (its guaranteed count, count - errorMax, exceeds every key it does
 * not monitor, and HOT_COUNT_MIN). The sketch starts over every
 * SKETCH_WINDOW_FACTOR x capacity gets, so a key that cooled stops counting
 * as hot. At entriesMax entries, a new one takes the place of the coldest of
 * EVICTION_SAMPLES oldest entries (Redis samples its eviction candidates the
 * same way: maxmemory-samples).
 *
 * Coherence with the writes through this coordinator: a write of a key
 * removes its entry when it starts and again when its caller is answered,
 * and a read's result is kept only if no write of its key started since the
 * read did (`epoch`): a read that raced a write never refills the entry with
 * what the write replaced. Writes this coordinator does not see (another
 * coordinator's, a Store.attach handle's, hints handed off, anti-entropy,
 * a node's own TTL sweep) reach the cache only when its entry ends:
 * entryTtlMs after the read that filled it. A value's own TTL is checked on
 * every hit by the caller (the cached object keeps its expiry times).
 */
import assert from 'node:assert/strict';
import type { ResolvedHotKeyCache } from '../config/options.js';
import { SpaceSaving } from '../stats/space-saving.js';
import type { WireKey } from '../transport/wire.js';

/** A key read fewer times than this in the sketch's window is never cached. */
export const HOT_COUNT_MIN = 3;
/** The sketch keeps this many counters per cache entry. */
export const SKETCH_COUNTERS_PER_ENTRY = 2;
/** The sketch starts over after this many gets per counter. */
export const SKETCH_WINDOW_FACTOR = 64;
/** Oldest entries looked at to choose the one to evict. */
export const EVICTION_SAMPLES = 8;
/** Write epochs remembered per cache entry (keyEpochs' bound); older ones fold into floorEpoch. */
export const EPOCHS_PER_ENTRY = 4;

export interface HotKeyEntry<T> {
  readonly value: T;
  /** The merge of this many replicas' answers: it answers reads of R up to this only. */
  readonly r: number;
  readonly filledAtMs: number;
}

export interface HotKeyCacheCounters {
  hits: number;
  misses: number;
  /** Results kept. */
  fills: number;
  /** Results not kept because a write of the key started while they were read. */
  fillsRaced: number;
  /** Entries removed by a write through this coordinator, and to make room. */
  invalidations: number;
  evictions: number;
}

export class HotKeyCache<T> {
  readonly entriesMax: number;
  readonly entryTtlMs: number;
  private readonly sketchCapacity: number;
  private sketch: SpaceSaving;
  private readonly entries = new Map<string, HotKeyEntry<T>>();
  /** Each write's start and end takes the next epoch. */
  private epoch = 0;
  /** The last epoch at which each recently written key was written; insertion order is age. */
  private readonly keyEpochs = new Map<string, number>();
  /** Every key not in keyEpochs was last written at or before this epoch. */
  private floorEpoch = 0;
  readonly counters: HotKeyCacheCounters = { hits: 0, misses: 0, fills: 0, fillsRaced: 0, invalidations: 0, evictions: 0 };

  constructor(options: ResolvedHotKeyCache) {
    assert.ok(Number.isInteger(options.entriesMax) && options.entriesMax >= 1, `entriesMax must be an integer >= 1, got ${options.entriesMax}`);
    assert.ok(options.entryTtlMs > 0, `entryTtlMs must be > 0, got ${options.entryTtlMs}`);
    this.entriesMax = options.entriesMax;
    this.entryTtlMs = options.entryTtlMs;
    this.sketchCapacity = Math.max(16, options.entriesMax * SKETCH_COUNTERS_PER_ENTRY);
    this.sketch = new SpaceSaving(this.sketchCapacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * A cacheable get of `key` at `r`: counted in the sketch; its entry if one
   * is fresh at `nowMs` and merged from at least `r` replicas (a read at R
   * sees what W acknowledged when R + W > N only if R replicas answered:
   * an R = 1 answer must not stand in for an R = 3 read), else undefined (a
   * miss: read the replicas, then `fill`).
   */
  lookup(key: string, r: number, nowMs: number): HotKeyEntry<T> | undefined {
    if (this.sketch.total >= this.sketchCapacity * SKETCH_WINDOW_FACTOR) this.sketch = new SpaceSaving(this.sketchCapacity);
    this.sketch.offer(key);
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.r >= r && nowMs - entry.filledAtMs < this.entryTtlMs) {
      this.counters.hits++;
      return entry;
    }
    if (entry !== undefined && entry.r >= r) this.entries.delete(key);
    this.counters.misses++;
    return undefined;
  }

  /** The epoch a read starts at: its result may be kept only if no write of its key started after it. */
  readStarted(): number {
    return this.epoch;
  }

  /**
   * A read that started at `readEpoch` has `value`, the merge of `r`
   * replicas' answers: kept if its key is hot and no write of it started
   * since. Whether it was kept.
   */
  fill(key: string, value: T, r: number, readEpoch: number, nowMs: number): boolean {
    if ((this.keyEpochs.get(key) ?? this.floorEpoch) > readEpoch) {
      this.counters.fillsRaced++;
      return false;
    }
    if (!this.isHot(key)) return false;
    if (!this.entries.has(key) && this.entries.size >= this.entriesMax) this.evictOne(nowMs);
    this.entries.set(key, { value, r, filledAtMs: nowMs });
    this.counters.fills++;
    return true;
  }

  /** A write of `key` through this coordinator starts, or its caller is answered (or it failed): its entry goes. */
  written(key: string): void {
    const epoch = ++this.epoch;
    this.keyEpochs.delete(key);
    this.keyEpochs.set(key, epoch);
    const bound = this.entriesMax * EPOCHS_PER_ENTRY;
    if (this.keyEpochs.size > bound) {
      // The older half is forgotten at once, oldest first; every key forgotten was written no later than the
      // last of them (floorEpoch). One at a time, each write past the bound walked from the Map's start over
      // the holes its earlier deletes left there (V8 compacts a Map only when it rehashes): 3.8% of the
      // coordinator's thread in a YCSB-B profile (bench/README.md, "Session s13: the hot-key cache").
      let forgotten = 0;
      for (const [oldest, oldestEpoch] of this.keyEpochs) {
        this.keyEpochs.delete(oldest);
        this.floorEpoch = oldestEpoch;
        if (++forgotten >= bound >> 1) break;
      }
    }
    if (this.entries.delete(key)) this.counters.invalidations++;
  }

  /** Provably hot: read more often than any key the sketch does not monitor, and at least HOT_COUNT_MIN times. */
  isHot(key: string): boolean {
    const estimate = this.sketch.estimate(key);
    if (estimate === undefined) return false;
    const guaranteed = estimate.count - estimate.errorMax;
    return guaranteed >= HOT_COUNT_MIN && guaranteed > this.sketch.countMin;
  }

  private evictOne(nowMs: number): void {
    let victim: string | undefined;
    let victimCount = Infinity;
    let sampled = 0;
    for (const [key, entry] of this.entries) {
      if (nowMs - entry.filledAtMs >= this.entryTtlMs) {
        victim = key;
        break;
      }
      const count = this.sketch.estimate(key)?.count ?? 0;
      if (count < victimCount) {
        victim = key;
        victimCount = count;
      }
      if (++sampled >= EVICTION_SAMPLES) break;
    }
    assert.ok(victim !== undefined, 'a full cache has an entry to evict');
    this.entries.delete(victim);
    this.counters.evictions++;
  }

  clear(): void {
    this.entries.clear();
  }
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * One string per stored key: a string key and a byte key with the same
 * UTF-8 bytes name the same record (wire.ts encodes strings as UTF-8), so
 * both map to the bytes as latin1 text (an ASCII string is its own).
 */
export function cacheKeyOf(key: WireKey): string {
  if (typeof key === 'string') return ASCII.test(key) ? key : Buffer.from(key, 'utf8').toString('latin1');
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
