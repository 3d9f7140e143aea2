/**
 * Logical partitions, adaptive capacity, UpdateTable and capacityScale,
 * against DynamoDB's documented rules (pure, virtual clock).
 */
import fc from 'fast-check';
import t from 'tap';
import { CapacityModel, PROVISIONED_TABLE_MESSAGE, throttleError, type ChargeResult } from '../lib/tables/capacity/capacity-model.js';
import {
  BURST_SECONDS, HASH_SPACE, LogicalPartitionSet, PARTITION_BYTES_MAX, PARTITION_READ_UNITS_MAX, PARTITION_WRITE_UNITS_MAX,
  compareKey, partitionCountFor, scaledPartitionLimits,
} from '../lib/tables/capacity/logical-partitions.js';

/** A hash inside partition `i` of `n` equal hash ranges (the model's initial layout). */
function hashIn(i: number, n: number, offset = 12_345): number {
  return Math.floor((HASH_SPACE * i) / n) + offset;
}

function writes(model: CapacityModel, table: string, hash: number, count: number, nowMs: number, sortKey?: string): ChargeResult[] {
  const results: ChargeResult[] = [];
  for (let i = 0; i < count; i++) results.push(model.charge({ table, partitionKeyHash: hash, sortKey, writeUnits: 1, nowMs }));
  return results;
}

const admittedCount = (results: ChargeResult[]): number => results.filter((r) => r.admitted).length;

t.test('partition count: DynamoDB\'s formula, max(ceil(RCU/3000 + WCU/1000), ceil(size/10 GB))', async (t) => {
  const limits = scaledPartitionLimits(1);
  // The formula's own worked example (re-published from the 2016 guide): 10,000 RCU and 1,000 WCU.
  t.equal(partitionCountFor(10_000, 1_000, 0, limits), Math.ceil(10_000 / PARTITION_READ_UNITS_MAX + 1_000 / PARTITION_WRITE_UNITS_MAX));
  t.equal(partitionCountFor(3_000, 1_000, 0, limits), 2, 'a partition\'s worth of each');
  t.equal(partitionCountFor(1, 1, 0, limits), 1);
  const size = 25 * 1024 ** 3;
  t.equal(partitionCountFor(1, 1, size, limits), Math.ceil(size / PARTITION_BYTES_MAX), 'size wins when larger');
  // Scale-free: 0.01 of every throughput figure gives the same count.
  t.equal(partitionCountFor(100, 10, 0, scaledPartitionLimits(0.01)), partitionCountFor(10_000, 1_000, 0, limits));
});

t.test('the partitions cover the key space; a split divides one range; growTo halves the widest', async (t) => {
  const set = new LogicalPartitionSet({ limits: scaledPartitionLimits(1), shared: { readUnitsPerSecond: 300, writeUnitsPerSecond: 100 }, count: 4, nowMs: 0 });
  const keys = [0, 1, HASH_SPACE / 3, HASH_SPACE / 2, HASH_SPACE - 1].map((hash) => ({ hash: Math.floor(hash) }));
  for (const key of keys) t.ok(set.find(key).contains(key));
  for (const p of set.list()) t.equal(p.write.share!.ratePerSecond, 100 / 4, 'provisioned throughput shared evenly');
  const [first] = set.list();
  const [left, right] = set.split(first!, { hash: 1000, sortKey: 'm' }, 0);
  t.equal(set.count, 5);
  t.equal(set.find({ hash: 1000, sortKey: 'a' }), left, 'a sort key below the point stays left');
  t.equal(set.find({ hash: 1000, sortKey: 'z' }), right);
  t.equal(set.find({ hash: 1000 }), left, 'no sort key sorts first');
  for (const p of set.list()) t.equal(p.write.share!.ratePerSecond, 100 / 5, 'shares follow the count');
  t.equal(set.growTo(7, 0), 2);
  t.equal(set.count, 7);
  const list = set.list();
  for (let i = 1; i < list.length; i++) t.equal(compareKey(list[i - 1]!.end, list[i]!.start), 0, 'contiguous');
  t.equal(list[0]!.start.hash, 0);
  t.equal(list.at(-1)!.end.hash, HASH_SPACE);
});

t.test('adaptive capacity: a hot partition uses the table\'s unused throughput, up to 1,000 WCU', async (t) => {
  // 3,000 RCU + 3,000 WCU: ceil(3000/3000 + 3000/1000) = 4 partitions, 750 WCU each.
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 3000, writeCapacityUnits: 3000 } }, 0);
  const partitions = partitionCountFor(3000, 3000, 0, scaledPartitionLimits(1));
  t.equal(model.describe('T', 0).partitions.length, partitions);
  const share = 3000 / partitions;
  // "hot partitions … without being throttled, provided that traffic does not exceed your table's
  // total provisioned capacity or the partition maximum capacity" (DG burst-adaptive-capacity).
  const results = writes(model, 'T', hashIn(0, partitions), PARTITION_WRITE_UNITS_MAX + 1, 0);
  t.equal(admittedCount(results), PARTITION_WRITE_UNITS_MAX, `its ${share} share, then lent units up to the partition maximum`);
  const last = results.at(-1)!;
  t.equal(last.admitted, false);
  if (!last.admitted) {
    t.equal(last.throttle.name, 'ProvisionedThroughputExceededException');
    t.equal(last.throttle.message, PROVISIONED_TABLE_MESSAGE);
    t.same(last.throttle.throttlingReasons, [{ reason: 'TableWriteKeyRangeThroughputExceeded', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/T' }]);
    t.equal(last.throttle.throttlingReasonsMember, 'ThrottlingReasons');
    const error = throttleError(last.throttle);
    t.equal(error.name, 'ProvisionedThroughputExceededException');
    t.same(error.throttlingReasons, last.throttle.throttlingReasons);
  }
  const boosts = model.events().filter((e) => e.kind === 'adaptive-boost');
  t.equal(boosts.length, 1, 'one boost event for the second');
  t.equal(boosts[0]!.kind === 'adaptive-boost' && boosts[0]!.units, PARTITION_WRITE_UNITS_MAX - share, 'the units lent');
});

t.test('adaptive capacity lends only unused throughput: a busy table throttles the hot partition at its share', async (t) => {
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 3000, writeCapacityUnits: 3000 } }, 0);
  const partitions = partitionCountFor(3000, 3000, 0, scaledPartitionLimits(1));
  const share = 3000 / partitions;
  for (let i = 1; i < partitions; i++) t.equal(admittedCount(writes(model, 'T', hashIn(i, partitions), share, 0)), share, `partition ${i} uses its share`);
  const results = writes(model, 'T', hashIn(0, partitions), share + 1, 0);
  t.equal(admittedCount(results), share, 'nothing left to lend');
  const last = results.at(-1)!;
  t.ok(!last.admitted && last.throttle.throttlingReasons[0]!.reason === 'TableWriteProvisionedThroughputExceeded');
});

t.test('burst through the model: 300 s of a partition\'s share, and no more than the partition maximum in one second', async (t) => {
  // 150 RCU (re:Post's example) and 1 WCU: one partition.
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 150, writeCapacityUnits: 1 } }, 0);
  const view = model.describe('T', BURST_SECONDS * 1000);
  t.equal(view.partitions.length, 1);
  t.equal(view.partitions[0]!.readBurstBalanceUnits, 150 * BURST_SECONDS, '45,000 banked after 300 idle seconds');
  let admitted = 0;
  for (let i = 0; i < 5_000; i++) if (model.charge({ table: 'T', partitionKeyHash: 7, readUnits: 1, nowMs: BURST_SECONDS * 1000 }).admitted) admitted++;
  t.equal(admitted, PARTITION_READ_UNITS_MAX, 'the bank is spent no faster than 3,000 RCU in a second');
});

t.test('UpdateTable: raising throughput adds partitions, lowering it merges none', async (t) => {
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 5, writeCapacityUnits: 5 } }, 0);
  t.equal(model.describe('T', 0).partitions.length, 1);
  model.updateTable('T', { provisioned: { readCapacityUnits: 6000, writeCapacityUnits: 2000 } }, 1000);
  const raised = partitionCountFor(6000, 2000, 0, scaledPartitionLimits(1));
  t.equal(model.describe('T', 1000).partitions.length, raised);
  t.ok(model.events().some((e) => e.kind === 'partitions-added' && e.count === raised && e.cause === 'throughput'));
  // "Partitions today are only split, never merged" (AWS Database Blog, Scaling DynamoDB Part 3).
  model.updateTable('T', { provisioned: { readCapacityUnits: 5, writeCapacityUnits: 5 } }, 2000);
  const view = model.describe('T', 2000);
  t.equal(view.partitions.length, raised);
  t.equal(view.partitions[0]!.writeShareUnitsPerSecond, 5 / raised, 'each keeps a smaller share');
  t.same(view.provisioned, { readCapacityUnits: 5, writeCapacityUnits: 5 });
});

t.test('size adds partitions at 10 GB each', async (t) => {
  const model = new CapacityModel({ mode: 'enforce' });
  model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 5, writeCapacityUnits: 5 } }, 0);
  model.setSize('T', 3.5 * PARTITION_BYTES_MAX, 1000);
  t.equal(model.describe('T', 1000).partitions.length, Math.ceil(3.5));
  t.ok(model.events().some((e) => e.kind === 'partitions-added' && e.cause === 'size'));
});

t.test('capacityScale scales every limit consistently', async (t) => {
  for (const scale of [1, 0.1, 0.01]) {
    const model = new CapacityModel({ mode: 'enforce', capacityScale: scale });
    model.defineTable({ table: 'T', billingMode: 'PROVISIONED', provisioned: { readCapacityUnits: 3000, writeCapacityUnits: 3000 } }, 0);
    const partitions = partitionCountFor(3000, 3000, 0, scaledPartitionLimits(1));
    const view = model.describe('T', BURST_SECONDS * 1000);
    t.equal(view.partitions.length, partitions, `scale ${scale}: the partitions of the unscaled table`);
    t.equal(view.partitions[0]!.writeUnitsMax, PARTITION_WRITE_UNITS_MAX * scale, `scale ${scale}: the partition maximum`);
    t.equal(view.partitions[0]!.writeBurstBalanceUnits, (3000 / partitions) * scale * BURST_SECONDS, `scale ${scale}: 300 s of the scaled share`);
    // One second at t = 300 s, one key: the partition maximum (scaled) is all it gets.
    t.equal(admittedCount(writes(model, 'T', hashIn(0, partitions), 2000, BURST_SECONDS * 1000)), PARTITION_WRITE_UNITS_MAX * scale, `scale ${scale}: hot-key ceiling`);
  }
});

t.test('property: splits and growth keep the partitions contiguous, covering, and every key found in its own range', async (t) => {
  const point = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.option(fc.string({ maxLength: 3 }), { nil: undefined }));
  fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.array(point, { maxLength: 40 }), fc.array(point, { maxLength: 20 }), fc.integer({ min: 1, max: 64 }), (count, splits, probes, grow) => {
    const set = new LogicalPartitionSet({ limits: scaledPartitionLimits(1), shared: { readUnitsPerSecond: 3000, writeUnitsPerSecond: 1000 }, count, nowMs: 0 });
    for (const [hash, sortKey] of splits) {
      const key = sortKey === undefined ? { hash } : { hash, sortKey };
      const partition = set.find(key);
      if (compareKey(partition.start, key) < 0) set.split(partition, key, 0);
    }
    set.growTo(set.count + grow, 0);
    const list = set.list();
    if (list[0]!.start.hash !== 0 || list[0]!.start.sortKey !== undefined || list.at(-1)!.end.hash !== HASH_SPACE) return false;
    for (let i = 1; i < list.length; i++) if (compareKey(list[i - 1]!.end, list[i]!.start) !== 0) return false;
    for (const [hash, sortKey] of [...splits, ...probes]) {
      const key = sortKey === undefined ? { hash } : { hash, sortKey };
      if (!set.find(key).contains(key)) return false;
    }
    // Shares always divide the provisioned throughput evenly (to the bucket's 0.001 resolution).
    return list.every((p) => Math.abs(p.write.share!.ratePerSecond - 1000 / list.length) <= 0.0005);
  }), { seed: 20261206, numRuns: 200 });
  t.pass('held for 200 runs (seed 20261206)');
});
