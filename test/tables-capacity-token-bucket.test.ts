/**
 * Token buckets and burst capacity against DynamoDB's published numbers
 * (pure, virtual clock).
 */
import fc from 'fast-check';
import t from 'tap';
import { TokenBucket } from '../lib/tables/capacity/token-bucket.js';
import { BURST_SECONDS } from '../lib/tables/capacity/logical-partitions.js';

/** Consume `perSecond` one-unit requests at the start of each second; returns the units admitted per second. */
function drive(bucket: TokenBucket, fromSecond: number, seconds: number, perSecond: number, units = 1): number[] {
  const admitted: number[] = [];
  for (let s = fromSecond; s < fromSecond + seconds; s++) {
    let count = 0;
    for (let i = 0; i < perSecond; i++) if (bucket.tryTake(units, s * 1000)) count += units;
    admitted.push(count);
  }
  return admitted;
}

t.test('burst: 300 s of unused capacity banked, spent above the rate, then throttling', async (t) => {
  // AWS re:Post knowledge center "dynamodb-spiky-workloads-short-intervals":
  // 150 RCU unused for 5 minutes banks 150 * 300 = 45,000 read units, and a
  // load of 200 RCU/s is then served from the bank while it lasts
  // (45,000 / (200 - 150) = 900 s in DynamoDB's rounded example).
  const rate = 150;
  const demand = 200;
  const bucket = new TokenBucket({ ratePerSecond: rate, burstSeconds: BURST_SECONDS, nowMs: 0 });
  const bank = rate * BURST_SECONDS;
  t.equal(bucket.capacityUnits, bank, 'the bank holds 300 s of the rate');
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000), bank, 'full after 300 idle seconds');
  t.equal(bucket.availableUnits(10 * BURST_SECONDS * 1000), bank, 'and never more than 300 s, however long idle');

  const start = 10 * BURST_SECONDS;
  const seconds = 1000;
  const admitted = drive(bucket, start, seconds, demand);
  // The bank falls by demand - rate per second; a second is served in full
  // while the bank holds the whole second's demand at its start:
  // bank - (demand - rate) * k >= demand.
  const fullSeconds = Math.floor((bank - demand) / (demand - rate)) + 1;
  t.ok(Math.abs(fullSeconds - bank / (demand - rate)) <= demand / (demand - rate), 'within a second\'s demand of DynamoDB\'s 900 s');
  t.same(admitted.slice(0, fullSeconds), new Array(fullSeconds).fill(demand), `${fullSeconds} seconds at ${demand} RCU/s`);
  t.ok(admitted[fullSeconds]! < demand, 'then throttling');
  t.same(admitted.slice(fullSeconds + 1), new Array(seconds - fullSeconds - 1).fill(rate), 'then exactly the provisioned rate');
  // Conservation: everything admitted is the bank plus the refill of every elapsed second.
  const total = admitted.reduce((a, b) => a + b, 0);
  t.equal(total, bank + rate * (seconds - 1), 'admitted = 45,000 banked + 150 per elapsed second, exactly');
});

t.test('fractional units are exact: eventually consistent reads of 0.5 RCU', async (t) => {
  // DG ProvisionedThroughput: an eventually consistent read of up to 4 KB costs 0.5 RCU.
  // A 0.3 RCU/s bucket (capacityScale 0.01 of 30 RCU) refilled ms by ms must
  // hold exactly 0.3 * 300 = 90 units, i.e. 180 half-unit reads, after 300 s.
  const bucket = new TokenBucket({ ratePerSecond: 0.3, burstSeconds: BURST_SECONDS, initialUnits: 0, nowMs: 0 });
  for (let ms = 1; ms <= BURST_SECONDS * 1000; ms++) bucket.availableUnits(ms); // 300,000 tiny refills
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000), 0.3 * BURST_SECONDS);
  let reads = 0;
  while (bucket.tryTake(0.5, BURST_SECONDS * 1000)) reads++;
  t.equal(reads, (0.3 * BURST_SECONDS) / 0.5);
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000), 0, 'no residue from rounding');
});

t.test('a plain per-second limit (burstSeconds 1) banks nothing', async (t) => {
  // A partition's 1,000 WCU ceiling: burst cannot lift it (re:Post, same article).
  const bucket = new TokenBucket({ ratePerSecond: 1000, burstSeconds: 1, nowMs: 0 });
  t.equal(bucket.availableUnits(60_000), 1000);
  t.same(drive(bucket, 60, 3, 1500), [1000, 1000, 1000]);
});

t.test('setRate keeps the banked units up to the new capacity', async (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 100, burstSeconds: BURST_SECONDS, nowMs: 0 });
  bucket.availableUnits(BURST_SECONDS * 1000);
  bucket.setRate(10, BURST_SECONDS * 1000);
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000), 10 * BURST_SECONDS, 'clamped to 300 s of the new rate');
  bucket.setRate(1000, BURST_SECONDS * 1000);
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000 + 1000), 10 * BURST_SECONDS + 1000, 'then refills at the new rate');
});

t.test('a request larger than the whole bucket is admitted once when full, leaving a debt', async (t) => {
  // 1 WCU banks 300; a 400 KB item costs 400 WCU (DG ProvisionedThroughput: writes round to 1 KB).
  const bucket = new TokenBucket({ ratePerSecond: 1, burstSeconds: BURST_SECONDS, nowMs: 0 });
  t.notOk(bucket.tryTake(400, 1000), 'not while the bucket is not full');
  t.ok(bucket.tryTake(400, BURST_SECONDS * 1000), 'admitted when full');
  t.equal(bucket.availableUnits(BURST_SECONDS * 1000), BURST_SECONDS - 400);
  t.notOk(bucket.tryTake(1, BURST_SECONDS * 1000 + 99_000), 'paid back before the next unit');
  t.ok(bucket.tryTake(1, BURST_SECONDS * 1000 + 101_000));
});

t.test('time running backwards refills nothing', async (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 10, burstSeconds: 1, initialUnits: 0, nowMs: 5000 });
  t.equal(bucket.availableUnits(4000), 0);
  t.equal(bucket.availableUnits(5500), 5);
});

t.test('property: a bucket never admits more than its initial units plus its refill, nor banks more than its capacity', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 50_000 }).map((milli) => milli / 1000),
    fc.integer({ min: 1, max: BURST_SECONDS }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 8 }).map((halves) => halves / 2)), { maxLength: 200 }),
    (ratePerSecond, burstSeconds, steps) => {
      const bucket = new TokenBucket({ ratePerSecond, burstSeconds, initialUnits: 0, nowMs: 0 });
      let nowMs = 0;
      let taken = 0;
      for (const [advanceMs, units] of steps) {
        nowMs += advanceMs;
        if (bucket.tryTake(units, nowMs)) taken += units;
        const available = bucket.availableUnits(nowMs);
        if (available > bucket.capacityUnits) return false;
      }
      // Overdraft aside (units above the capacity), the admitted total is bounded by the refill.
      const overdraftMax = Math.max(0, 4 - bucket.capacityUnits);
      return taken <= bucket.ratePerSecond * (nowMs / 1000) + overdraftMax + 1e-9;
    },
  ), { seed: 20261206, numRuns: 300 });
  t.pass('held for 300 runs (seed 20261206)');
});
