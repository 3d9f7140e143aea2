/**
 * Admission of one request's units on one logical partition of a table or
 * index, with DynamoDB's adaptive capacity.
 *
 * "DynamoDB adaptive capacity enables your application to continue reading
 * and writing to hot partitions without being throttled, provided that
 * traffic does not exceed your table's total provisioned capacity or the
 * partition maximum capacity" and it "instantly increases throughput
 * capacity for partitions that receive more traffic" (DynamoDB Developer
 * Guide: burst-adaptive-capacity, "Adaptive capacity"; "Adaptive capacity
 * applies to on-demand mode and provisioned capacity",
 * bp-partition-key-design). A single hot item stays capped: "the partition's
 * throughput is still capped at a maximum of 3,000 RCUs and 1,000 WCUs"
 * (same pages; AWS re:Post answer on the hard limit after adaptive
 * capacity).
 *
 * The rule, in order:
 *   1. the partition's ceiling (3,000 RCU / 1,000 WCU per second, scaled)
 *      must hold the units, or the request throttles with
 *      KeyRangeThroughputExceeded, whatever the table has unused;
 *   2. on-demand: nothing else here (on-demand.ts limits the table);
 *   3. the partition's even share of the provisioned throughput, with its
 *      300 s burst bank (token-bucket.ts), admits the units if it can;
 *   4. otherwise the table's unused throughput of this second is lent
 *      (an adaptive boost) if it holds the units;
 *   5. otherwise the table as a whole is at its provisioned rate:
 *      ProvisionedThroughputExceeded.
 *
 * check() decides without taking anything, so that a write and its global
 * secondary index writes are admitted together or not at all (GSI
 * back-pressure, capacity-model.ts); commit() then takes the units.
 */
import { BURST_SECONDS, type LogicalPartition, type Operation } from './logical-partitions.js';
import type { TokenBucket } from './token-bucket.js';

/**
 * Seconds of the table's (or index's) unused throughput adaptive capacity
 * may lend from: one second ("instantly"), or, when a second of the rate is
 * less than one unit (a 5 WCU GSI at capacityScale 0.01 gets 0.05 WCU per
 * second), as many seconds as one unit takes, at most BURST_SECONDS. A
 * one-second bucket that can never hold a 1 WCU write would lend it through
 * the overdraft rule (token-bucket.ts canTake) every time it refilled, a
 * second after each write its partitions' shares admitted: about twice the
 * provisioned rate in total. Lending over the time one unit takes keeps
 * the table's total at its provisioned rate, as the documented rule says
 * ("provided that traffic does not exceed your table's total provisioned
 * capacity", DG burst-adaptive-capacity).
 */
export function lendingWindowSeconds(ratePerSecond: number): number {
  if (!(ratePerSecond >= 0.001)) return 1; // a rate that rounds to zero milli-units lends nothing anyway
  return Math.min(BURST_SECONDS, Math.max(1, Math.ceil(1 / ratePerSecond - 1e-9)));
}

/** Why a request could not be admitted on a partition: DynamoDB's LimitType names (API reference: ThrottlingReason). */
export type PartitionLimitType = 'KeyRangeThroughputExceeded' | 'ProvisionedThroughputExceeded';

export type PartitionAdmission =
  /** Within the partition's share and burst (provisioned) or under its ceiling (on-demand). */
  | { admitted: true; via: 'share' | 'ceiling' }
  /** Lent from the table's unused throughput: an adaptive boost. */
  | { admitted: true; via: 'adaptive' }
  | { admitted: false; limit: PartitionLimitType };

/**
 * Decide whether `units` of `operation` fit on `partition`. `tableUnused` is
 * the table's (or index's) bucket of unused provisioned throughput, or null
 * in on-demand mode; `borrowedUnits` is what the request's earlier parts on
 * other partitions would borrow from it.
 */
export function checkPartition(partition: LogicalPartition, operation: Operation, units: number, tableUnused: TokenBucket | null, nowMs: number, borrowedUnits = 0): PartitionAdmission {
  const buckets = partition.buckets(operation);
  if (!buckets.ceiling.canTake(units, nowMs)) return { admitted: false, limit: 'KeyRangeThroughputExceeded' };
  if (buckets.share === null || tableUnused === null) return { admitted: true, via: 'ceiling' };
  if (buckets.share.canTake(units, nowMs)) return { admitted: true, via: 'share' };
  // `borrowedUnits`: what other parts of the same request (other partitions) would borrow first.
  if (tableUnused.canTake(units + borrowedUnits, nowMs)) return { admitted: true, via: 'adaptive' };
  return { admitted: false, limit: 'ProvisionedThroughputExceeded' };
}

/** Take the units an admission decided on. */
export function commitPartition(partition: LogicalPartition, operation: Operation, units: number, tableUnused: TokenBucket | null, via: 'share' | 'ceiling' | 'adaptive', nowMs: number): void {
  const buckets = partition.buckets(operation);
  buckets.ceiling.take(units, nowMs);
  if (via === 'share') {
    buckets.share!.take(units, nowMs);
    // Consumption within the share also uses the table's throughput of this
    // second, but never depends on it: burst may take the table above its
    // provisioned rate.
    tableUnused?.drain(units, nowMs);
  } else if (via === 'adaptive') {
    tableUnused!.take(units, nowMs);
  }
}
