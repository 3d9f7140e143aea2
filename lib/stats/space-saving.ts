/**
 * The hottest keys of a stream in bounded memory: Space-Saving (Metwally,
 * Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 * in Data Streams", ICDT 2005).
 *
 * At most `capacity` counters. A monitored key's counter grows by each
 * weight offered; an unmonitored key replaces the key with the smallest
 * counter, inheriting that count as its possible overestimate. Guarantees
 * (paper §3.1, Lemmas 3.3-3.4), for a stream of total weight W:
 *   - every key with true count > min counter <= W/capacity is monitored;
 *   - for a monitored key, count - errorMax <= true count <= count.
 *
 * The counters sit in a binary min-heap (parallel arrays, no per-offer
 * allocation) with a Map from key to heap slot: an offer is O(log capacity)
 * for any weight. The paper's Stream-Summary list is O(1) only for unit
 * weights; weighted offers (a scan of 100 keys) need the heap.
 */
import assert from 'node:assert/strict';

/** Counters kept at most: a top-k summary is small; this bounds a mistaken capacity. */
export const SPACE_SAVING_CAPACITY_MAX = 1 << 20;

export interface HeavyHitter {
  key: string;
  /** Estimated count: an upper bound of the true count. */
  count: number;
  /** The estimate exceeds the true count by at most this much. */
  errorMax: number;
}

export class SpaceSaving {
  readonly capacity: number;
  readonly #keys: string[] = [];
  readonly #counts: Float64Array;
  readonly #errors: Float64Array;
  readonly #slotOf = new Map<string, number>();
  #total = 0;

  constructor(capacity: number) {
    assert.ok(Number.isInteger(capacity) && capacity >= 1 && capacity <= SPACE_SAVING_CAPACITY_MAX, `capacity must be an integer in [1, ${SPACE_SAVING_CAPACITY_MAX}], got ${capacity}`);
    this.capacity = capacity;
    this.#counts = new Float64Array(capacity);
    this.#errors = new Float64Array(capacity);
  }

  /** Sum of every weight offered. */
  get total(): number {
    return this.#total;
  }

  /** Keys monitored now (at most capacity). */
  get size(): number {
    return this.#keys.length;
  }

  offer(key: string, weight = 1): void {
    if (!(weight > 0 && Number.isFinite(weight))) assert.fail(`weight must be a positive finite number, got ${weight}`);
    this.#total += weight;
    const slot = this.#slotOf.get(key);
    if (slot !== undefined) {
      this.#counts[slot]! += weight;
      this.siftDown(slot);
      return;
    }
    if (this.#keys.length < this.capacity) {
      const last = this.#keys.length;
      this.#keys.push(key);
      this.#counts[last] = weight;
      this.#errors[last] = 0;
      this.#slotOf.set(key, last);
      this.siftUp(last);
      return;
    }
    // Replace the minimum: the newcomer may have occurred up to min times unseen.
    const minimum = this.#counts[0]!;
    this.#slotOf.delete(this.#keys[0]!);
    this.#keys[0] = key;
    this.#slotOf.set(key, 0);
    this.#counts[0] = minimum + weight;
    this.#errors[0] = minimum;
    this.siftDown(0);
  }

  /**
   * Every counter, every error bound and the total halved: what the sketch
   * would hold had every weight offered so far been half as large, since
   * each step of Space-Saving scales with the weights (a sum, or a minimum
   * plus a weight). So the guarantees above hold for the stream with its
   * past weights halved, and a key that cooled fades geometrically instead
   * of all counts being lost at once (the "reset" of TinyLFU: Einziger,
   * Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy",
   * ACM TOS 2017, §3.3). Halving keeps the heap's order: no slot moves.
   */
  halve(): void {
    const size = this.#keys.length;
    for (let slot = 0; slot < size; slot++) {
      this.#counts[slot]! /= 2;
      this.#errors[slot]! /= 2;
    }
    this.#total /= 2;
  }

  /** Smallest counter: with a full summary, any key not monitored occurred at most this often. */
  get countMin(): number {
    return this.#keys.length < this.capacity ? 0 : this.#counts[0]!;
  }

  /** The estimate for `key`, or undefined if it is not monitored. */
  estimate(key: string): HeavyHitter | undefined {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return undefined;
    return { key, count: this.#counts[slot]!, errorMax: this.#errors[slot]! };
  }

  /** `key`'s estimated count (an upper bound of its true count), 0 when it is not monitored; estimate() without the object. */
  count(key: string): number {
    const slot = this.#slotOf.get(key);
    return slot === undefined ? 0 : this.#counts[slot]!;
  }

  /** `key`'s guaranteed count (count - errorMax: a lower bound of its true count), 0 when it is not monitored. */
  guaranteedCount(key: string): number {
    const slot = this.#slotOf.get(key);
    return slot === undefined ? 0 : this.#counts[slot]! - this.#errors[slot]!;
  }

  /** The k monitored keys with the highest counts, highest first (ties: lower errorMax, then key). */
  top(k: number): HeavyHitter[] {
    assert.ok(Number.isInteger(k) && k >= 0, `k must be an integer >= 0, got ${k}`);
    const all: HeavyHitter[] = this.#keys.map((key, slot) => ({ key, count: this.#counts[slot]!, errorMax: this.#errors[slot]! }));
    all.sort((a, b) => b.count - a.count || a.errorMax - b.errorMax || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return all.slice(0, k);
  }

  private swap(i: number, j: number): void {
    const keys = this.#keys;
    const key = keys[i]!;
    keys[i] = keys[j]!;
    keys[j] = key;
    const counts = this.#counts;
    const count = counts[i]!;
    counts[i] = counts[j]!;
    counts[j] = count;
    const errors = this.#errors;
    const error = errors[i]!;
    errors[i] = errors[j]!;
    errors[j] = error;
    this.#slotOf.set(keys[i], i);
    this.#slotOf.set(keys[j], j);
  }

  private siftUp(slot: number): void {
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (this.#counts[parent]! <= this.#counts[slot]!) return;
      this.swap(slot, parent);
      slot = parent;
    }
  }

  private siftDown(slot: number): void {
    const size = this.#keys.length;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= size) return;
      const right = left + 1;
      const child = right < size && this.#counts[right]! < this.#counts[left]! ? right : left;
      if (this.#counts[slot]! <= this.#counts[child]!) return;
      this.swap(slot, child);
      slot = child;
    }
  }
}
