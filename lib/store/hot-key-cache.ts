/**
 * A coordinator's hot-key cache (opt-in, StoreOptions.hotKeyCache; issue 15):
 * the merged objects of the hottest keys' reads, kept in this coordinator so
 * that a skewed read stream stops hammering the N nodes that hold its
 * hottest keys. Pure: the time is passed in, nothing here reads a clock.
 *
 * Which keys: a Space-Saving sketch (lib/stats/space-saving.ts) counts a
 * sample of the cacheable gets, about one in SKETCH_SAMPLE_WEIGHT, each
 * offered with that weight (the gap to the next sampled get is drawn from a
 * seeded generator, so no periodic access pattern always skips one key); a
 * read's result is kept only when the sketch shows its key hot (its
 * guaranteed count, count - errorMax, reaches HOT_SAMPLES_MIN samples'
 * weight). Counting every get cost more than a hit saved: a key the sketch
 * does not monitor replaces its smallest counter and sifts down the heap,
 * two Map writes a level (bench/README.md, "Session s14", "The hot-key
 * cache's bookkeeping"). Every SKETCH_WINDOW_FACTOR x capacity gets' weight
 * the sketch halves its counts, so a key that cooled fades (TinyLFU's reset;
 * until session s15 the sketch started over, and every key was cold again
 * until sampled twice more). At entriesMax entries, a new one takes the
 * place of the coldest of EVICTION_SAMPLES oldest entries (Redis samples its
 * eviction candidates the same way: maxmemory-samples) if the sketch counts
 * it hotter (TinyLFU's admission, Einziger et al. 2017: a key read once in a
 * while does not push out one read more often). Until session s15 a key was
 * kept only if it also outcounted every key the sketch did not monitor, a
 * bar that the churn of a zipfian tail through the smallest counters raised
 * so high that a 4096-entry cache held about 1,500 keys in YCSB-B
 * (bench/README.md, "Session s15").
 *
 * Coherence with the writes through this coordinator: a write of a key
 * removes its entry when it starts and again when its caller is answered,
 * and a read's result is kept only if no write of its key started since the
 * read did (`epoch`): a read that raced a write never refills the entry with
 * what the write replaced. The write epochs are kept in two generations of
 * at most EPOCHS_PER_ENTRY / 2 x entriesMax keys each: when the newer one is
 * full it becomes the older, and the older one is forgotten whole, every key
 * in it written no later than when the newer one started (floorEpoch); no
 * key is deleted one at a time (a Map walked past the holes of its deletes).
 * Writes this coordinator does not see (another coordinator's, a
 * Store.attach handle's, hints handed off, anti-entropy, a node's own TTL
 * sweep) reach the cache only when its entry ends: entryTtlMs after the
 * read that filled it. A value's own TTL is checked on
 * every hit by the caller (the cached object keeps its expiry times).
 */
import assert from 'node:assert/strict';
import type { ResolvedHotKeyCache } from '../config/options.js';
import { Prng } from '../prng.js';
import { SpaceSaving } from '../stats/space-saving.js';
import type { WireKey } from '../transport/wire.js';

/** One get in about this many is offered to the sketch, with this weight: the mean of the sample gaps drawn. */
export const SKETCH_SAMPLE_WEIGHT = 8;
/** A key sampled fewer times than this (beyond its possible overestimate) in the sketch's window is never cached. */
export const HOT_SAMPLES_MIN = 2;
/** A key read this many times in a row is hot wherever the sample gaps stood (the longest gap is 2 x SKETCH_SAMPLE_WEIGHT - 1 gets), unless a halving fell among them. */
export const HOT_READS_MAX = HOT_SAMPLES_MIN * (2 * SKETCH_SAMPLE_WEIGHT - 1);
/** The sample gaps' generator is seeded: the cache stays a pure function of its calls (the simulation replays it). */
const SKETCH_SAMPLE_SEED = 0x5ca1ab1e;
/**
 * The sketch keeps this many counters per cache entry: enough that a key
 * as hot as the cache's coldest entries stays monitored between its samples
 * (YCSB-B's stream, a 4096-entry cache, bench/README.md "Session s15": hits
 * 57.8% with 1, 62.2% with 2, 65.7% with 4, 65.1% with 8, of at most 69.2%).
 */
export const SKETCH_COUNTERS_PER_ENTRY = 4;
/** The sketch halves its counts after this many gets' weight per counter. */
export const SKETCH_WINDOW_FACTOR = 64;
/** Oldest entries looked at to choose the one to evict. */
export const EVICTION_SAMPLES = 8;
/** Write epochs remembered per cache entry, over both generations; older ones fold into floorEpoch. */
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
  /** Hot results not kept because the cache was full of keys the sketch counts at least as hot. */
  admissionsRefused: number;
}

export class HotKeyCache<T> {
  readonly entriesMax: number;
  readonly entryTtlMs: number;
  private readonly sketchCapacity: number;
  private sketch: SpaceSaving;
  /** Gets until the next one the sketch counts, and the generator of those gaps (uniform in [1, 2 x SKETCH_SAMPLE_WEIGHT - 1]). */
  private getsToSample = 1;
  private readonly sampleGaps = new Prng(SKETCH_SAMPLE_SEED);
  private readonly entries = new Map<string, HotKeyEntry<T>>();
  /** Each write's start and end takes the next epoch. */
  private epoch = 0;
  /** The last epoch at which each key was written since newerStartEpoch; at most generationKeysMax keys. */
  private newerEpochs = new Map<string, number>();
  /** The same for the generation before it (a key in both: newerEpochs has its last write). */
  private olderEpochs = new Map<string, number>();
  private readonly generationKeysMax: number;
  /** The epoch when olderEpochs started: every key in neither generation was last written at or before it. */
  private floorEpoch = 0;
  /** The epoch when newerEpochs started. */
  private newerStartEpoch = 0;
  readonly counters: HotKeyCacheCounters = { hits: 0, misses: 0, fills: 0, fillsRaced: 0, invalidations: 0, evictions: 0, admissionsRefused: 0 };

  constructor(options: ResolvedHotKeyCache) {
    assert.ok(Number.isInteger(options.entriesMax) && options.entriesMax >= 1, `entriesMax must be an integer >= 1, got ${options.entriesMax}`);
    assert.ok(options.entryTtlMs > 0, `entryTtlMs must be > 0, got ${options.entryTtlMs}`);
    this.entriesMax = options.entriesMax;
    this.entryTtlMs = options.entryTtlMs;
    this.sketchCapacity = Math.max(16, options.entriesMax * SKETCH_COUNTERS_PER_ENTRY);
    this.sketch = new SpaceSaving(this.sketchCapacity);
    this.generationKeysMax = Math.max(1, (options.entriesMax * EPOCHS_PER_ENTRY) >> 1);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * A cacheable get of `key` at `r`: counted in the sketch if sampled; its entry if one
   * is fresh at `nowMs` and merged from at least `r` replicas (a read at R
   * sees what W acknowledged when R + W > N only if R replicas answered:
   * an R = 1 answer must not stand in for an R = 3 read), else undefined (a
   * miss: read the replicas, then `fill`).
   */
  lookup(key: string, r: number, nowMs: number): HotKeyEntry<T> | undefined {
    if (--this.getsToSample === 0) {
      this.getsToSample = 1 + this.sampleGaps.nextBelow(2 * SKETCH_SAMPLE_WEIGHT - 1);
      if (this.sketch.total >= this.sketchCapacity * SKETCH_WINDOW_FACTOR) this.sketch.halve();
      this.sketch.offer(key, SKETCH_SAMPLE_WEIGHT);
    }
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
    if ((this.newerEpochs.get(key) ?? this.olderEpochs.get(key) ?? this.floorEpoch) > readEpoch) {
      this.counters.fillsRaced++;
      return false;
    }
    if (!this.isHot(key)) return false;
    if (!this.entries.has(key) && this.entries.size >= this.entriesMax && !this.evictFor(key, nowMs)) {
      this.counters.admissionsRefused++;
      return false;
    }
    this.entries.set(key, { value, r, filledAtMs: nowMs });
    this.counters.fills++;
    return true;
  }

  /** A write of `key` through this coordinator starts, or its caller is answered (or it failed): its entry goes. */
  written(key: string): void {
    const epoch = ++this.epoch;
    if (this.newerEpochs.size >= this.generationKeysMax && !this.newerEpochs.has(key)) {
      // The older generation is forgotten whole: each of its keys was last written before the newer one started.
      this.floorEpoch = this.newerStartEpoch;
      this.olderEpochs = this.newerEpochs;
      this.newerEpochs = new Map();
      this.newerStartEpoch = epoch - 1;
    }
    this.newerEpochs.set(key, epoch);
    if (this.entries.delete(key)) this.counters.invalidations++;
  }

  /** Hot by the sketch's sample: sampled at least HOT_SAMPLES_MIN times (its weight, beyond the possible overestimate) in the sketch's decaying window. */
  isHot(key: string): boolean {
    return this.sketch.guaranteedCount(key) >= HOT_SAMPLES_MIN * SKETCH_SAMPLE_WEIGHT;
  }

  /**
   * Room for `key` in a full cache: the entry that ended, or else the
   * coldest by the sketch of the EVICTION_SAMPLES oldest, goes if `key` is
   * hotter than it (TinyLFU's admission: a newcomer does not push out a
   * key read more often). Whether an entry went.
   */
  private evictFor(key: string, nowMs: number): boolean {
    let victim: string | undefined;
    let victimCount = Infinity;
    let sampled = 0;
    for (const [entryKey, entry] of this.entries) {
      if (nowMs - entry.filledAtMs >= this.entryTtlMs) {
        victim = entryKey;
        victimCount = -1;
        break;
      }
      const count = this.sketch.count(entryKey);
      if (count < victimCount) {
        victim = entryKey;
        victimCount = count;
      }
      if (++sampled >= EVICTION_SAMPLES) break;
    }
    assert.ok(victim !== undefined, 'a full cache has an entry to evict');
    if (victimCount >= this.sketch.count(key)) return false;
    this.entries.delete(victim);
    this.counters.evictions++;
    return true;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Valid UTF-8 only, a leading byte-order mark kept: a byte key's text is the string key with the same bytes. */
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** The cache key of bytes that are not UTF-8 starts with a lone surrogate, which no well-formed string holds. */
const NOT_UTF8 = '\ud800';

/**
 * One string per stored key: a string key and a byte key with the same
 * UTF-8 bytes name the same record (wire.ts encodes strings as UTF-8, a lone
 * surrogate as U+FFFD's bytes), so both map to the well-formed string whose
 * UTF-8 those bytes are: a well-formed string key is its own, as cheaply as
 * a check that it holds no lone surrogate (a regular expression's ASCII test
 * of every key cost 45-70 ns a get). Bytes that are not UTF-8 map to
 * NOT_UTF8 and their latin1 text, which no string key's cache key equals.
 */
export function cacheKeyOf(key: WireKey): string {
  if (typeof key === 'string') {
    if (key.isWellFormed()) return key;
    key = Buffer.from(key, 'utf8');
  }
  try {
    return UTF8_STRICT.decode(key);
  } catch {
    return NOT_UTF8 + Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  }
}
