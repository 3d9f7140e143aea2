/**
 * On-demand scaling (double the previous peak, the 30-minute window, the
 * table quota and configured maximums), GSI back-pressure, observe vs
 * enforce, and the metrics (pure, virtual clock).
 */
import t from 'tap';
import {
  CapacityModel, ON_DEMAND_TABLE_MESSAGE, PROVISIONED_INDEX_MESSAGE, type ChargeRequest, type ChargeResult,
} from '../lib/tables/capacity/capacity-model.js';
import { HASH_SPACE } from '../lib/tables/capacity/logical-partitions.js';
import {
  ON_DEMAND_INITIAL_WRITE_UNITS, ON_DEMAND_PEAK_WINDOW_MS, OnDemandThroughput, TABLE_THROUGHPUT_QUOTA_UNITS,
} from '../lib/tables/capacity/on-demand.js';

/** Admit `units` one-unit requests at `nowMs`; returns how many were admitted. */
function fill(throughput: OnDemandThroughput, units: number, nowMs: number): number {
  let admitted = 0;
  for (let i = 0; i < units; i++) {
    if (throughput.check(1, nowMs) === null) {
      throughput.commit(1, nowMs);
      admitted++;
    }
  }
  return admitted;
}

t.test('on-demand: a new table sustains 4,000 writes/s at once, twice its previous peak', async (t) => {
  // DG pre-warming-on-demand-capacity-mode: "New on-demand tables will be able to sustain up to
  // 4,000 writes per second"; on-demand "instantly accommodates up to double the previous peak".
  const previousPeak = ON_DEMAND_INITIAL_WRITE_UNITS / 2;
  const throughput = new OnDemandThroughput({ previousPeakUnits: previousPeak, quotaUnits: TABLE_THROUGHPUT_QUOTA_UNITS, nowMs: 0 });
  t.equal(fill(throughput, 10_000, 0), 2 * previousPeak);
  t.equal(throughput.check(1, 0), 'KeyRangeThroughputExceeded', 'beyond twice the peak: throttled while scaling');
});

t.test('on-demand: a new peak is doubled only after the 30-minute window', async (t) => {
  // "throttling can still occur if the throughput exceeds twice the previous peak within the same
  // 30 minutes" (DG pre-warming-on-demand-capacity-mode); a sustained peak becomes the previous
  // peak (re:Post dynamodb-spiky-workloads-short-intervals).
  const peak = 1_000;
  const throughput = new OnDemandThroughput({ previousPeakUnits: peak, quotaUnits: TABLE_THROUGHPUT_QUOTA_UNITS, nowMs: 0 });
  t.equal(fill(throughput, 2 * peak, 10_000), 2 * peak, 'the new peak: twice the old one');
  const withinWindow = 10_000 + ON_DEMAND_PEAK_WINDOW_MS - 1_000;
  t.equal(fill(throughput, 4 * peak, withinWindow), 2 * peak, 'within 30 minutes, still twice the old peak');
  const afterWindow = 10_000 + ON_DEMAND_PEAK_WINDOW_MS + 1_000;
  t.equal(throughput.previousPeakUnits(afterWindow), 2 * peak, 'the new peak is the previous peak 30 minutes on');
  t.equal(fill(throughput, 10 * peak, afterWindow), 4 * peak, 'twice the new peak');
});

t.test('on-demand: the 40,000 per-table quota and a configured maximum', async (t) => {
  // DG ServiceQuotas: 40,000 RRU/WRU per table; OnDemandThroughput maximums (DG
  // on-demand-capacity-mode-max-throughput).
  const high = new OnDemandThroughput({ previousPeakUnits: TABLE_THROUGHPUT_QUOTA_UNITS, quotaUnits: TABLE_THROUGHPUT_QUOTA_UNITS, nowMs: 0 });
  t.equal(fill(high, 50_000, 0), TABLE_THROUGHPUT_QUOTA_UNITS);
  t.equal(high.check(1, 0), 'AccountLimitExceeded');
  const capped = new OnDemandThroughput({ previousPeakUnits: 1_000, quotaUnits: TABLE_THROUGHPUT_QUOTA_UNITS, maxUnits: 500, nowMs: 0 });
  t.equal(fill(capped, 5_000, 0), 500);
  t.equal(capped.check(1, 0), 'MaxOnDemandThroughputExceeded');
});

/** A hash inside partition `i` of `n` equal hash ranges. */
const hashIn = (i: number, n: number, offset: number): number => Math.floor((HASH_SPACE * i) / n) + offset;

t.test('on-demand through the model: evenly spread writes up to double the peak, then ThrottlingException', async (t) => {
  const scale = 0.01;
  const model = new CapacityModel({ mode: 'enforce', capacityScale: scale });
  model.defineTable({ table: 'T', billingMode: 'PAY_PER_REQUEST' }, 0);
  const partitions = model.describe('T', 0).partitions.length;
  const limit = ON_DEMAND_INITIAL_WRITE_UNITS * scale;
  t.equal(model.describe('T', 0).onDemand!.writeLimitUnits, limit);
  const results: ChargeResult[] = [];
  for (let i = 0; i < limit + 1; i++) results.push(model.charge({ table: 'T', partitionKeyHash: hashIn(i % partitions, partitions, i), writeUnits: 1, nowMs: 1000 }));
  t.equal(results.filter((r) => r.admitted).length, limit, 'double the previous peak, spread over the partitions');
  const last = results.at(-1)!;
  t.equal(last.admitted, false);
  if (!last.admitted) {
    t.equal(last.throttle.name, 'ThrottlingException');
    t.equal(last.throttle.message, ON_DEMAND_TABLE_MESSAGE);
    t.same(last.throttle.throttlingReasons, [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/T' }]);
    t.equal(last.throttle.throttlingReasonsMember, 'throttlingReasons', 'ThrottlingException\'s member is lower case');
    t.equal(last.throttle.cancellationCode, 'ThrottlingError');
  }
});

/** A provisioned table with a GSI whose write capacity is far below the table's. */
function gsiModel(mode: 'observe' | 'enforce'): CapacityModel {
  const model = new CapacityModel({ mode, region: 'eu-west-1', accountId: '123456789012' });
  model.defineTable({
    table: 'Orders',
    billingMode: 'PROVISIONED',
    provisioned: { readCapacityUnits: 100, writeCapacityUnits: 100 },
    globalSecondaryIndexes: [{ index: 'byStatus', provisioned: { readCapacityUnits: 5, writeCapacityUnits: 5 } }],
  }, 0);
  return model;
}

const orderWrite = (i: number, nowMs: number): ChargeRequest => ({
  table: 'Orders', partitionKeyHash: hashIn(0, 1, i * 7_919), itemKey: `order#${i}`, writeUnits: 1, nowMs,
  // DG GSI: writing a new indexed item is 1 write to the index. Two statuses: a low-cardinality GSI key.
  indexWrites: [{ index: 'byStatus', partitionKeyHash: i % 2 === 0 ? 111 : 222, itemKey: i % 2 === 0 ? 'PENDING' : 'SHIPPED', writeUnits: 1 }],
});

t.test('GSI back-pressure: an index without write capacity throttles its base table\'s writes, attributed to the index', async (t) => {
  const model = gsiModel('enforce');
  // The index's 5 WCU: one second's worth is what a new index holds (its bank has had no time to fill).
  const gsiWcu = 5;
  const results = Array.from({ length: 20 }, (_, i) => model.charge(orderWrite(i, 0)));
  t.equal(results.filter((r) => r.admitted).length, gsiWcu, 'the table\'s own 100 WCU do not help');
  const refused = results.find((r) => !r.admitted)!;
  t.equal(refused.admitted, false);
  if (!refused.admitted) {
    t.equal(refused.throttle.name, 'ProvisionedThroughputExceededException');
    t.equal(refused.throttle.message, PROVISIONED_INDEX_MESSAGE);
    t.same(refused.throttle.throttlingReasons, [{ reason: 'IndexWriteProvisionedThroughputExceeded', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/index/byStatus' }]);
  }
  const table = model.describe('Orders', 0);
  const index = model.describe('Orders', 0, 'byStatus');
  t.equal(table.metrics.consumedWriteUnits.at(-1), gsiWcu, 'refused base writes consumed nothing');
  t.equal(table.metrics.throttledTotal, 0, 'the table itself did not throttle');
  t.equal(index.metrics.throttledTotal, 20 - gsiWcu, 'the throttles are the index\'s');
  t.same(index.metrics.mostThrottledKeys.map((k) => k.key).sort(), ['PENDING', 'SHIPPED'], 'with the index\'s keys');
  // Reads of the base table are not held back by the index (re:Post dynamodb-gsi-throttling-table).
  t.ok(model.charge({ table: 'Orders', partitionKeyHash: 1, readUnits: 1, nowMs: 0 }).admitted);
});

t.test('observe accounts and reports what would throttle, refusing nothing; enforce refuses the same requests', async (t) => {
  const enforce = gsiModel('enforce');
  const observe = gsiModel('observe');
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < 12; i++) {
      const nowMs = s * 1000 + i * 80;
      const enforced = enforce.charge(orderWrite(i, nowMs));
      const observed = observe.charge(orderWrite(i, nowMs));
      t.equal(observed.admitted, true);
      if (enforced.admitted) t.equal(observed.admitted && observed.wouldThrottle, undefined);
      else t.same(observed.admitted && observed.wouldThrottle, enforced.throttle);
    }
  }
  const enforcedView = enforce.describe('Orders', 5000, 'byStatus');
  const observedView = observe.describe('Orders', 5000, 'byStatus');
  t.ok(enforcedView.metrics.throttledTotal > 0);
  t.equal(observedView.metrics.throttledTotal, enforcedView.metrics.throttledTotal, 'the same throttles reported');
  t.same(observedView.metrics.consumedWriteUnits, enforcedView.metrics.consumedWriteUnits);
});

t.test('metrics: one-second series, bounded top-K and a bounded event ring', async (t) => {
  const model = new CapacityModel({ mode: 'enforce', metrics: { windowSeconds: 5, topKeys: 3, eventsMax: 4 } });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 3000, writeCapacityUnits: 3000 } }, 0);
  for (let s = 0; s < 8; s++) {
    for (let k = 0; k < 6; k++) {
      for (let i = 0; i <= k; i++) model.charge({ table: 'T', partitionKeyHash: hashIn(0, 4, k), itemKey: `k${k}`, readUnits: 0.5, nowMs: s * 1000 });
    }
    // A hot partition borrowing from the table: one adaptive-boost event per second.
    for (let i = 0; i < 1000; i++) model.charge({ table: 'T', partitionKeyHash: hashIn(1, 4, 1), itemKey: 'hot', writeUnits: 1, nowMs: s * 1000 + 500 });
  }
  const view = model.describe('T', 7000);
  t.equal(view.metrics.consumedReadUnits.length, 5, 'the window is 5 seconds');
  t.same(view.metrics.consumedReadUnits, new Array(5).fill(0.5 * (1 + 2 + 3 + 4 + 5 + 6)), 'per second, exactly');
  // Space-Saving guarantees every key above total / counters is monitored (Metwally et al. §3.1).
  t.equal(view.metrics.mostConsumedKeys[0]!.key, 'hot');
  t.ok(view.metrics.mostConsumedKeys.length <= 3, 'bounded by the 3 counters, with 7 keys offered');
  const events = model.events();
  t.equal(events.length, 4, 'the ring keeps the last 4');
  t.ok(events.every((e) => e.kind === 'adaptive-boost'));
  t.same(events.map((e) => Math.floor(e.atMs / 1000)), [4, 5, 6, 7], 'oldest first');
});

t.test('GSI reads are limited by the index\'s own read capacity, with the index\'s reason', async (t) => {
  const model = gsiModel('enforce');
  const indexRcu = 5;
  const results = Array.from({ length: 2 * indexRcu }, () => model.charge({ table: 'Orders', index: 'byStatus', partitionKeyHash: 111, readUnits: 1, nowMs: 0 }));
  t.equal(results.filter((r) => r.admitted).length, indexRcu);
  const refused = results.at(-1)!;
  t.ok(!refused.admitted && refused.throttle.throttlingReasons[0]!.reason === 'IndexReadProvisionedThroughputExceeded');
  t.ok(!refused.admitted && refused.throttle.message === PROVISIONED_INDEX_MESSAGE);
});

t.test('UpdateTable switches billing mode: partitions are kept, on-demand serves the provisioned rate at once', async (t) => {
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 30_000, writeCapacityUnits: 10_000 } }, 0);
  const provisionedPartitions = model.describe('T', 0).partitions.length;
  model.updateTable('T', { billingMode: 'PAY_PER_REQUEST' }, 1000);
  const onDemand = model.describe('T', 1000);
  t.equal(onDemand.billingMode, 'PAY_PER_REQUEST');
  t.equal(onDemand.provisioned, null);
  t.ok(onDemand.partitions.length >= provisionedPartitions, 'partitions are never merged (AWS Database Blog, Scaling DynamoDB Part 3)');
  // Pre-warming: provision the capacity, then switch (DG pre-warming-on-demand-capacity-mode).
  t.ok(onDemand.onDemand!.writeLimitUnits >= 10_000 && onDemand.onDemand!.readLimitUnits >= 30_000);
  model.updateTable('T', { billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 100, writeCapacityUnits: 100 } }, 2000);
  const back = model.describe('T', 2000);
  t.equal(back.billingMode, 'PROVISIONED');
  t.equal(back.partitions.length, onDemand.partitions.length);
  t.equal(back.partitions[0]!.writeShareUnitsPerSecond, Math.round((100 / back.partitions.length) * 1000) / 1000, 'the provisioned throughput shared over the kept partitions');
});
