/**
 * Split for heat: a partition that stays hot is split by key range, at a
 * point chosen from the traffic it has seen.
 *
 * DynamoDB's published behaviour:
 *   - "A table might add partitions … when a partition receives read or
 *     write traffic near its throughput capacity limit" (AWS Database Blog,
 *     "Scaling DynamoDB: How partitions, hot keys, and split for heat impact
 *     performance", Part 3), and "DynamoDB often adapts to hot partitions
 *     through its automatic split-for-heat mechanism … each new partition
 *     handles a smaller section of the keyspace" (DynamoDB Developer Guide:
 *     throttling-key-range-limit-exceeded-mitigation).
 *   - It never splits one item: adaptive capacity "might rebalance your
 *     data so that a partition contains only that single, frequently
 *     accessed item", whose throughput "is still capped at a maximum of
 *     3,000 RCUs and 1,000 WCUs" (AWS re:Post answer on the partition hard
 *     limit after adaptive capacity, citing DG burst-adaptive-capacity
 *     #isolate-frequent-access-items).
 *   - It does not split an item collection when the table has a local
 *     secondary index, and splits a collection by sort key only when the
 *     traffic does not follow a monotonically increasing sort key (DG
 *     bp-partition-key-design#bp-partition-key-partitions-adaptive-split).
 *     After a split of sequential traffic every new write would still
 *     land on the upper half.
 *
 * What DynamoDB does not publish, and ringtable chose (SplitForHeatOptions):
 * how hot is "near its limit" (hotFraction: 0.8 of the partition's
 * ceiling), how long it must stay hot (sustainMs: 60 s), how the point is
 * chosen (the point that best halves the observed consumption), and what
 * counts as sequential (sequentialShareMin: 0.9 of consecutive accesses to
 * one partition key with a rising sort key).
 *
 * The tracker is bounded: a Space-Saving summary of at most `keysTracked`
 * items (lib/stats/space-saving.ts) and a few counters.
 */
import assert from 'node:assert/strict';
import { SpaceSaving } from '../../stats/space-saving.js';
import { compareKey, type KeyBound } from './logical-partitions.js';

export interface SplitForHeatOptions {
  /** A second is hot when demand reaches this fraction of the partition's ceiling (read or write). */
  hotFraction: number;
  /** Consecutive hot seconds, in ms, before a split is decided. */
  sustainMs: number;
  /** Items whose heat is tracked per partition (Space-Saving counters). */
  keysTracked: number;
  /** Share of consecutive same-partition-key accesses with a rising sort key that makes traffic sequential. */
  sequentialShareMin: number;
}

export const SPLIT_FOR_HEAT_DEFAULTS: SplitForHeatOptions = {
  hotFraction: 0.8,
  sustainMs: 60_000,
  keysTracked: 64,
  sequentialShareMin: 0.9,
};

export type SplitRefusal = 'single-item' | 'lsi-item-collection' | 'sequential-keys' | 'no-traffic' | 'partition-limit';

export type SplitDecision =
  | { kind: 'split'; point: KeyBound; leftShare: number }
  | { kind: 'refused'; reason: SplitRefusal };

export interface WeightedKey {
  key: KeyBound;
  units: number;
}

export interface SplitInput {
  start: KeyBound;
  end: KeyBound;
  /** Observed consumption per item inside [start, end). */
  keys: WeightedKey[];
  hasLocalSecondaryIndex: boolean;
  /** Of consecutive accesses to one partition key, the share whose sort key rose. */
  sequentialShare: number;
  sequentialShareMin: number;
}

/**
 * Where to split, or why not. Every boundary between two observed items is
 * a candidate: between two partition keys the point is the later key's
 * hash (the item collection stays whole); inside one partition key it is
 * the later item's sort key, allowed only without an LSI and for
 * non-sequential traffic. The allowed candidate that best halves the
 * observed consumption wins; one hot item among cold ones is thereby
 * isolated, and a lone item is refused.
 */
export function decideSplit(input: SplitInput): SplitDecision {
  const keys = input.keys.filter((k) => k.units > 0).sort((a, b) => compareKey(a.key, b.key));
  if (keys.length === 0) return { kind: 'refused', reason: 'no-traffic' };
  if (keys.length === 1) return { kind: 'refused', reason: 'single-item' };
  const total = keys.reduce((sum, k) => sum + k.units, 0);
  let best: { point: KeyBound; left: number } | undefined;
  let refusedInside: SplitRefusal | undefined;
  let left = 0;
  for (let j = 1; j < keys.length; j++) {
    left += keys[j - 1]!.units;
    const before = keys[j - 1]!.key;
    const after = keys[j]!.key;
    let point: KeyBound;
    if (before.hash !== after.hash) {
      point = { hash: after.hash };
    } else {
      if (input.hasLocalSecondaryIndex) {
        refusedInside ??= 'lsi-item-collection';
        continue;
      }
      if (input.sequentialShare >= input.sequentialShareMin) {
        refusedInside ??= 'sequential-keys';
        continue;
      }
      point = after;
    }
    if (!(compareKey(input.start, point) < 0 && compareKey(point, input.end) < 0)) continue;
    if (best === undefined || Math.abs(2 * left - total) < Math.abs(2 * best.left - total)) best = { point, left };
  }
  if (best === undefined) return { kind: 'refused', reason: refusedInside ?? 'single-item' };
  return { kind: 'split', point: best.point, leftShare: best.left / total };
}

/** Per-second demand against a partition's ceilings. */
export interface HeatCeilings {
  readUnitsMax: number;
  writeUnitsMax: number;
}

/** The heat one logical partition has seen since it was created (or since its last split decision). */
export class HeatTracker {
  readonly #options: SplitForHeatOptions;
  readonly #items: SpaceSaving;
  #second = Number.NaN;
  #readDemand = 0;
  #writeDemand = 0;
  #hotSeconds = 0;
  #lastHash = -1;
  #lastSortKey: string | undefined;
  #comparable = 0;
  #rising = 0;

  constructor(options: SplitForHeatOptions) {
    assert.ok(options.hotFraction > 0 && options.hotFraction <= 1, `hotFraction must be in (0, 1], got ${options.hotFraction}`);
    assert.ok(Number.isInteger(options.sustainMs) && options.sustainMs >= 1000, `sustainMs must be an integer >= 1000, got ${options.sustainMs}`);
    this.#options = options;
    this.#items = new SpaceSaving(options.keysTracked);
  }

  /** Consecutive hot seconds completed so far. */
  get hotSeconds(): number {
    return this.#hotSeconds;
  }

  /**
   * Record demand (admitted or throttled: a throttled request shows heat
   * too) for one item. Returns true when the partition has now stayed hot
   * for sustainMs and a split should be decided.
   */
  record(key: KeyBound, readUnits: number, writeUnits: number, nowMs: number, ceilings: HeatCeilings): boolean {
    const due = this.advance(nowMs, ceilings);
    this.#readDemand += readUnits;
    this.#writeDemand += writeUnits;
    const units = readUnits + writeUnits;
    if (units > 0) this.#items.offer(encodeKey(key), units);
    if (key.sortKey !== undefined) {
      if (key.hash === this.#lastHash && this.#lastSortKey !== undefined) {
        this.#comparable++;
        if (key.sortKey > this.#lastSortKey) this.#rising++;
      }
      this.#lastHash = key.hash;
      this.#lastSortKey = key.sortKey;
    }
    return due;
  }

  /** Close the seconds before `nowMs`; true when the hot streak has reached sustainMs. */
  advance(nowMs: number, ceilings: HeatCeilings): boolean {
    const second = Math.floor(nowMs / 1000);
    if (second === this.#second) return false;
    if (!Number.isNaN(this.#second) && second > this.#second) {
      const hot = this.#readDemand >= this.#options.hotFraction * ceilings.readUnitsMax
        || this.#writeDemand >= this.#options.hotFraction * ceilings.writeUnitsMax;
      this.#hotSeconds = hot ? this.#hotSeconds + 1 : 0;
      // A gap (seconds with no traffic at all) breaks the streak.
      if (second !== this.#second + 1) this.#hotSeconds = 0;
    }
    this.#second = second;
    this.#readDemand = 0;
    this.#writeDemand = 0;
    return this.#hotSeconds * 1000 >= this.#options.sustainMs;
  }

  /** Start a new streak (after a refused split, so that the refusal is not repeated every second). */
  resetStreak(): void {
    this.#hotSeconds = 0;
  }

  /** The tracked items and their consumption. */
  weightedKeys(): WeightedKey[] {
    return this.#items.top(this.#items.capacity).map((h) => ({ key: decodeKey(h.key), units: h.count }));
  }

  /** Of consecutive accesses to one partition key, the share with a rising sort key (0 with none). */
  get sequentialShare(): number {
    return this.#comparable === 0 ? 0 : this.#rising / this.#comparable;
  }
}

/** 8 hex digits of hash (so string order is hash order), then ':' and the sort key if any. */
function encodeKey(key: KeyBound): string {
  const hex = key.hash.toString(16).padStart(8, '0');
  return key.sortKey === undefined ? hex : `${hex}:${key.sortKey}`;
}

function decodeKey(encoded: string): KeyBound {
  const hash = Number.parseInt(encoded.slice(0, 8), 16);
  return encoded.length === 8 ? { hash } : { hash, sortKey: encoded.slice(9) };
}
