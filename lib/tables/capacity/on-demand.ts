/**
 * PAY_PER_REQUEST (on-demand) throughput of one table or index, for one
 * operation (reads or writes).
 *
 * DynamoDB's published behaviour:
 *   - "New on-demand tables will be able to sustain up to 4,000 writes per
 *     second and 12,000 reads per second. The overall table won't be
 *     throttled if the table access is distributed evenly across partitions
 *     and the table doesn't exceed twice its previous peak traffic. However,
 *     throttling can still occur if the throughput exceeds twice the
 *     previous peak within the same 30 minutes." (DynamoDB Developer Guide:
 *     pre-warming-on-demand-capacity-mode)
 *   - On-demand "instantly accommodates up to double the previous peak
 *     traffic" (DG HowItWorks.ReadWriteCapacityMode;
 *     AWS re:Post knowledge center dynamodb-spiky-workloads-short-intervals:
 *     a 50,000 reads/s peak accommodates 100,000 instantly, and 100,000
 *     sustained becomes the new previous peak).
 *   - Per table, 40,000 read request units and 40,000 write request units
 *     per second by default (DG ServiceQuotas#default-limits-throughput;
 *     DG on-demand-capacity-mode: "Throughput requests that exceed the
 *     default table throughput quota are throttled"), reported as
 *     AccountLimitExceeded (DG throttling-account-limit-exceeded-mitigation).
 *   - An optional per-table or per-index maximum (OnDemandThroughput
 *     MaxReadRequestUnits / MaxWriteRequestUnits), reported as
 *     MaxOnDemandThroughputExceeded (DG
 *     throttling-ondemand-capacity-exceeded-mitigation).
 *
 * The model: the limit of each one-second window is min(2 × previous peak,
 * quota, configured maximum). "Previous peak" is the highest one-second
 * consumption that is at least 30 minutes old (folded from a ring of the
 * last 1,800 seconds), so a new peak can be doubled only 30 minutes after
 * it was reached: that is ringtable's reading of "twice the previous peak
 * within the same 30 minutes"; DynamoDB publishes no finer rule. A new
 * table's previous peak is half of the 4,000 / 12,000 it sustains at once.
 * Exceeding 2 × peak is reported as KeyRangeThroughputExceeded: the table
 * has too few partitions for the traffic while DynamoDB scales it (the
 * ThrottlingException's text says "DynamoDB is automatically scaling your
 * table or index"). One request alone in its second is always admitted, so
 * that an item larger than a tiny scaled limit is not refused forever.
 */
import assert from 'node:assert/strict';

/** Reads per second a new on-demand table sustains at once (DG pre-warming-on-demand-capacity-mode). */
export const ON_DEMAND_INITIAL_READ_UNITS = 12_000;
/** Writes per second a new on-demand table sustains at once (same source). */
export const ON_DEMAND_INITIAL_WRITE_UNITS = 4_000;
/** The window within which more than twice the previous peak may throttle (same source). */
export const ON_DEMAND_PEAK_WINDOW_MS = 30 * 60 * 1000;
/** Default per-table throughput quota: RRU/WRU (on-demand) or RCU/WCU (provisioned) per second (DG ServiceQuotas). */
export const TABLE_THROUGHPUT_QUOTA_UNITS = 40_000;

const WINDOW_SECONDS = ON_DEMAND_PEAK_WINDOW_MS / 1000;

export type OnDemandLimitType = 'KeyRangeThroughputExceeded' | 'AccountLimitExceeded' | 'MaxOnDemandThroughputExceeded';

export interface OnDemandThroughputOptions {
  /** The previous peak to start from, units per second (scaled). */
  previousPeakUnits: number;
  /** The per-table quota, units per second (scaled). */
  quotaUnits: number;
  /** The configured maximum, units per second (scaled), if any. */
  maxUnits?: number | undefined;
  nowMs: number;
}

export class OnDemandThroughput {
  #settledPeak: number;
  #quotaUnits: number;
  #maxUnits: number | undefined;
  readonly #ringUnits = new Float64Array(WINDOW_SECONDS);
  readonly #ringSecond = new Float64Array(WINDOW_SECONDS).fill(Number.NEGATIVE_INFINITY);
  #second: number;
  #secondUnits = 0;
  #foldedThrough: number;

  constructor(options: OnDemandThroughputOptions) {
    assert.ok(options.previousPeakUnits > 0 && Number.isFinite(options.previousPeakUnits), `previousPeakUnits must be positive, got ${options.previousPeakUnits}`);
    assert.ok(options.quotaUnits > 0 && Number.isFinite(options.quotaUnits), `quotaUnits must be positive, got ${options.quotaUnits}`);
    this.#settledPeak = options.previousPeakUnits;
    this.#quotaUnits = options.quotaUnits;
    this.#maxUnits = options.maxUnits;
    this.#second = Math.floor(options.nowMs / 1000);
    this.#foldedThrough = this.#second - WINDOW_SECONDS;
  }

  /** The previous peak doubling is measured from: the highest one-second consumption at least 30 minutes old. */
  previousPeakUnits(nowMs: number): number {
    this.roll(nowMs);
    return this.#settledPeak;
  }

  /** Units per second admitted at `nowMs` without throttling. */
  limitUnitsPerSecond(nowMs: number): number {
    this.roll(nowMs);
    return Math.min(2 * this.#settledPeak, this.#quotaUnits, this.#maxUnits ?? Number.POSITIVE_INFINITY);
  }

  /** Units consumed so far in the current second. */
  consumedThisSecond(nowMs: number): number {
    this.roll(nowMs);
    return this.#secondUnits;
  }

  /** Which limit `units` more would exceed in this second, or null. */
  check(units: number, nowMs: number): OnDemandLimitType | null {
    this.roll(nowMs);
    if (this.#secondUnits === 0) return null;
    const total = this.#secondUnits + units;
    if (this.#maxUnits !== undefined && total > this.#maxUnits) return 'MaxOnDemandThroughputExceeded';
    if (total > this.#quotaUnits) return 'AccountLimitExceeded';
    if (total > 2 * this.#settledPeak) return 'KeyRangeThroughputExceeded';
    return null;
  }

  commit(units: number, nowMs: number): void {
    this.roll(nowMs);
    this.#secondUnits += units;
  }

  /** A new configured maximum (UpdateTable OnDemandThroughput), or undefined for none. */
  setMaxUnits(maxUnits: number | undefined): void {
    this.#maxUnits = maxUnits;
  }

  /** Raise the previous peak (a switch from provisioned mode keeps what the partitions already serve). */
  raisePreviousPeak(units: number): void {
    this.#settledPeak = Math.max(this.#settledPeak, units);
  }

  private roll(nowMs: number): void {
    assert.ok(Number.isFinite(nowMs), `nowMs must be finite, got ${nowMs}`);
    const second = Math.floor(nowMs / 1000);
    if (second <= this.#second) return;
    this.foldThrough(second - WINDOW_SECONDS);
    const closed = this.#second;
    if (this.#secondUnits > 0) {
      if (closed <= second - WINDOW_SECONDS) {
        this.#settledPeak = Math.max(this.#settledPeak, this.#secondUnits);
      } else {
        const slot = slotOf(closed);
        this.#ringUnits[slot] = this.#secondUnits;
        this.#ringSecond[slot] = closed;
      }
    }
    this.#second = second;
    this.#secondUnits = 0;
  }

  /** Fold every second up to `through` into the settled peak (only the last WINDOW_SECONDS can be in the ring). */
  private foldThrough(through: number): void {
    for (let s = Math.max(this.#foldedThrough + 1, through - WINDOW_SECONDS + 1); s <= through; s++) {
      const slot = slotOf(s);
      if (this.#ringSecond[slot] === s) this.#settledPeak = Math.max(this.#settledPeak, this.#ringUnits[slot]!);
    }
    this.#foldedThrough = Math.max(this.#foldedThrough, through);
  }
}

function slotOf(second: number): number {
  return ((second % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS;
}
