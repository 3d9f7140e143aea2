/**
 * A token bucket of capacity units: it refills at `ratePerSecond` and banks
 * unused units up to `burstSeconds` of that rate, which is how DynamoDB's
 * burst capacity works: "DynamoDB currently retains up to five minutes (300
 * seconds) of unused read and write capacity. During an occasional burst of
 * read or write activity, these extra capacity units can be consumed
 * quickly — even faster than the per-second provisioned throughput capacity"
 * (DynamoDB Developer Guide: burst-adaptive-capacity, "Burst capacity").
 * A bucket with `burstSeconds` 1 is a plain per-second limit (a partition's
 * 3,000 RCU / 1,000 WCU ceiling, which burst cannot lift: AWS re:Post
 * knowledge center, dynamodb-spiky-workloads-short-intervals: "Burst
 * capacity can't alleviate partition-level throttling").
 *
 * Exact arithmetic: capacity units are fractional (an eventually consistent
 * read costs 0.5, and capacityScale makes 3,000 RCU into 30 or 0.3), and a
 * bucket refilled millisecond by millisecond in floating point drifts, so a
 * test's "300 s of banked capacity, then throttling" would depend on
 * rounding. The balance is kept as an integer number of micro-units and the
 * rate as an integer number of milli-units per second: a rate (milli-units/s)
 * times an elapsed time (ms) is exactly micro-units. Costs are multiples of
 * 0.5 unit and rates multiples of 0.001 unit/s (rounded to it), so every
 * figure is exact; 300 s of the 40,000 per-table quota is 1.2e13 micro-units,
 * far inside Number.MAX_SAFE_INTEGER.
 *
 * Pure: no clock of its own; every call passes `nowMs`.
 */
import assert from 'node:assert/strict';

/** Micro-units per unit: the balance's resolution. */
const MICRO_PER_UNIT = 1_000_000;
/** Milli-units per unit: the rate's resolution (per second). */
const MILLI_PER_UNIT = 1_000;

export interface TokenBucketOptions {
  /** Units added per second (fractional allowed; rounded to 0.001). */
  ratePerSecond: number;
  /** Seconds of the rate the bucket banks at most: 300 for DynamoDB's burst capacity, 1 for a plain per-second limit. */
  burstSeconds: number;
  /** Units in the bucket at `nowMs` (default: one second's worth, capped at the capacity). */
  initialUnits?: number;
  nowMs: number;
}

export class TokenBucket {
  #rateMilliPerSecond: number;
  #burstSeconds: number;
  #capacityMicro: number;
  #balanceMicro: number;
  #lastMs: number;

  constructor(options: TokenBucketOptions) {
    assert.ok(Number.isFinite(options.nowMs), `nowMs must be finite, got ${options.nowMs}`);
    assert.ok(Number.isInteger(options.burstSeconds) && options.burstSeconds >= 1, `burstSeconds must be an integer >= 1, got ${options.burstSeconds}`);
    this.#burstSeconds = options.burstSeconds;
    this.#rateMilliPerSecond = toMilli(options.ratePerSecond);
    this.#capacityMicro = this.#rateMilliPerSecond * this.#burstSeconds * MICRO_PER_UNIT / MILLI_PER_UNIT;
    const initialMicro = options.initialUnits === undefined ? this.#rateMilliPerSecond * (MICRO_PER_UNIT / MILLI_PER_UNIT) : toMicro(options.initialUnits);
    this.#balanceMicro = Math.min(initialMicro, this.#capacityMicro);
    this.#lastMs = options.nowMs;
  }

  /** The refill rate in units per second (after rounding to 0.001). */
  get ratePerSecond(): number {
    return this.#rateMilliPerSecond / MILLI_PER_UNIT;
  }

  /** The most units the bucket banks: ratePerSecond × burstSeconds. */
  get capacityUnits(): number {
    return this.#capacityMicro / MICRO_PER_UNIT;
  }

  get burstSeconds(): number {
    return this.#burstSeconds;
  }

  /** Units available at `nowMs` (negative while an oversized request is being paid back). */
  availableUnits(nowMs: number): number {
    this.refill(nowMs);
    return this.#balanceMicro / MICRO_PER_UNIT;
  }

  /**
   * Whether `units` can be taken at `nowMs`. A request larger than the whole
   * bucket (a 400 KB item is 400 WCU; a 1 WCU table banks 300) could never
   * fit, so it is admitted once the bucket is full and leaves it in debt;
   * DynamoDB publishes no rule for this case, and refusing forever would be
   * worse than the one overdraft.
   */
  canTake(units: number, nowMs: number): boolean {
    this.refill(nowMs);
    const unitsMicro = toMicro(units);
    if (unitsMicro === 0) return true;
    if (this.#capacityMicro === 0) return false;
    return this.#balanceMicro >= Math.min(unitsMicro, this.#capacityMicro);
  }

  /** Take `units` unconditionally (the caller checked canTake, or is accounting an admitted overdraft). */
  take(units: number, nowMs: number): void {
    this.refill(nowMs);
    this.#balanceMicro -= toMicro(units);
  }

  /** Take `units` if they can be taken; returns whether they were. */
  tryTake(units: number, nowMs: number): boolean {
    if (!this.canTake(units, nowMs)) return false;
    this.#balanceMicro -= toMicro(units);
    return true;
  }

  /**
   * Take `units` without depending on them: for consumption that drains a
   * shared pool (the table's unused throughput, consumed by a partition's
   * share or burst, which never asks the pool). The balance may go into
   * debt by at most one bucket (or by the debt an oversized request leaves,
   * capacity - units, see canTake): burst above the rate leaves nothing to
   * lend for a while, but not for longer than the bucket's window. Flooring
   * at zero instead forgot the part of a write the pool could not cover, so
   * a pool smaller than one request (a scaled GSI's 0.05 WCU per second
   * against 1 WCU writes) was full again soon after every such write and
   * lent another unit: about twice the provisioned rate in all.
   */
  drain(units: number, nowMs: number): void {
    this.refill(nowMs);
    const unitsMicro = toMicro(units);
    const floorMicro = Math.min(this.#balanceMicro, -this.#capacityMicro, this.#capacityMicro - unitsMicro);
    this.#balanceMicro = Math.max(floorMicro, this.#balanceMicro - unitsMicro);
  }

  /** A new rate (UpdateTable, or a partition's share after a split), and optionally a new window: banked units above the new capacity are lost. */
  setRate(ratePerSecond: number, nowMs: number, burstSeconds = this.#burstSeconds): void {
    assert.ok(Number.isInteger(burstSeconds) && burstSeconds >= 1, `burstSeconds must be an integer >= 1, got ${burstSeconds}`);
    this.refill(nowMs);
    this.#burstSeconds = burstSeconds;
    this.#rateMilliPerSecond = toMilli(ratePerSecond);
    this.#capacityMicro = this.#rateMilliPerSecond * this.#burstSeconds * MICRO_PER_UNIT / MILLI_PER_UNIT;
    this.#balanceMicro = Math.min(this.#balanceMicro, this.#capacityMicro);
  }

  private refill(nowMs: number): void {
    assert.ok(Number.isFinite(nowMs), `nowMs must be finite, got ${nowMs}`);
    // Time never runs backwards for a bucket: an earlier nowMs (two callers'
    // clocks a millisecond apart) refills nothing rather than draining.
    if (nowMs <= this.#lastMs) return;
    const elapsedMs = Math.floor(nowMs) - Math.floor(this.#lastMs);
    this.#lastMs = nowMs;
    if (this.#balanceMicro >= this.#capacityMicro) return;
    this.#balanceMicro = Math.min(this.#capacityMicro, this.#balanceMicro + this.#rateMilliPerSecond * elapsedMs);
  }
}

/** Units as integer micro-units; costs are multiples of 0.5, so this is exact for them. */
export function toMicro(units: number): number {
  assert.ok(Number.isFinite(units) && units >= 0, `units must be a finite number >= 0, got ${units}`);
  return Math.round(units * MICRO_PER_UNIT);
}

function toMilli(ratePerSecond: number): number {
  assert.ok(Number.isFinite(ratePerSecond) && ratePerSecond >= 0, `ratePerSecond must be a finite number >= 0, got ${ratePerSecond}`);
  return Math.round(ratePerSecond * MILLI_PER_UNIT);
}
