/**
 * Split for heat: decisions as data (pure), and through the model on a
 * virtual clock: a hot range splits and stops throttling; a single hot item,
 * an LSI item collection and sequential sort keys are refused.
 */
import t from 'tap';
import { CapacityModel, type ChargeResult } from '../lib/tables/capacity/capacity-model.js';
import { HASH_SPACE, PARTITION_WRITE_UNITS_MAX, compareKey, partitionCountFor, scaledPartitionLimits } from '../lib/tables/capacity/logical-partitions.js';
import { ON_DEMAND_INITIAL_READ_UNITS, ON_DEMAND_INITIAL_WRITE_UNITS } from '../lib/tables/capacity/on-demand.js';
import { SPLIT_FOR_HEAT_DEFAULTS, decideSplit } from '../lib/tables/capacity/split-for-heat.js';

const WHOLE = { start: { hash: 0 }, end: { hash: HASH_SPACE }, hasLocalSecondaryIndex: false, sequentialShare: 0, sequentialShareMin: 0.9 };

t.test('decideSplit: the point that best halves the observed consumption', async (t) => {
  const decision = decideSplit({ ...WHOLE, keys: [{ key: { hash: 10 }, units: 5 }, { key: { hash: 20 }, units: 5 }, { key: { hash: 30 }, units: 10 }] });
  t.same(decision, { kind: 'split', point: { hash: 30 }, leftShare: 0.5 });
});

t.test('decideSplit: one hot item among cold ones is isolated', async (t) => {
  const decision = decideSplit({ ...WHOLE, keys: [{ key: { hash: 10 }, units: 1 }, { key: { hash: 20 }, units: 100 }, { key: { hash: 30 }, units: 1 }] });
  t.equal(decision.kind, 'split');
  if (decision.kind === 'split') t.ok(compareKey(decision.point, { hash: 20 }) === 0 || compareKey(decision.point, { hash: 30 }) === 0, 'a boundary of the hot item');
});

t.test('decideSplit refuses a single item', async (t) => {
  t.same(decideSplit({ ...WHOLE, keys: [{ key: { hash: 10, sortKey: 'a' }, units: 100 }] }), { kind: 'refused', reason: 'single-item' });
  t.same(decideSplit({ ...WHOLE, keys: [] }), { kind: 'refused', reason: 'no-traffic' });
});

t.test('decideSplit inside one item collection: by sort key, unless LSI or sequential', async (t) => {
  const keys = [{ key: { hash: 10, sortKey: 'a' }, units: 50 }, { key: { hash: 10, sortKey: 'm' }, units: 50 }];
  t.same(decideSplit({ ...WHOLE, keys }), { kind: 'split', point: { hash: 10, sortKey: 'm' }, leftShare: 0.5 });
  t.same(decideSplit({ ...WHOLE, keys, hasLocalSecondaryIndex: true }), { kind: 'refused', reason: 'lsi-item-collection' });
  t.same(decideSplit({ ...WHOLE, keys, sequentialShare: 0.95 }), { kind: 'refused', reason: 'sequential-keys' });
  // With an LSI, a boundary between two collections is still allowed, and the collection stays whole.
  const mixed = [...keys, { key: { hash: 20, sortKey: 'a' }, units: 40 }];
  t.same(decideSplit({ ...WHOLE, keys: mixed, hasLocalSecondaryIndex: true }), { kind: 'split', point: { hash: 20 }, leftShare: 100 / 140 });
});

t.test('decideSplit never picks a point outside the partition', async (t) => {
  const decision = decideSplit({ ...WHOLE, start: { hash: 10, sortKey: 'm' }, end: { hash: 11 }, keys: [{ key: { hash: 10, sortKey: 'n' }, units: 5 }, { key: { hash: 10, sortKey: 'z' }, units: 5 }] });
  t.same(decision, { kind: 'split', point: { hash: 10, sortKey: 'z' }, leftShare: 0.5 });
});

/**
 * An on-demand table at capacityScale 0.01: a new table sustains 4,000 WRU
 * and 12,000 RRU (DG pre-warming-on-demand-capacity-mode), i.e. 40 and 120,
 * over ceil(120/30 + 40/10) = 8 partitions of 10 WCU each.
 */
const SCALE = 0.01;
function onDemandModel(hasLocalSecondaryIndex = false): { model: CapacityModel; partitions: number; ceiling: number } {
  const model = new CapacityModel({ mode: 'enforce', capacityScale: SCALE });
  model.defineTable({ table: 'T', billingMode: 'PAY_PER_REQUEST', hasLocalSecondaryIndex }, 0);
  const partitions = partitionCountFor(ON_DEMAND_INITIAL_READ_UNITS * SCALE, ON_DEMAND_INITIAL_WRITE_UNITS * SCALE, 0, scaledPartitionLimits(SCALE));
  return { model, partitions, ceiling: PARTITION_WRITE_UNITS_MAX * SCALE };
}

/** Drive `perSecond` writes per key per second, spread over the second, for `seconds`; returns throttles per second. */
function drive(model: CapacityModel, keys: Array<{ hash: number; sortKey?: (second: number, i: number) => string }>, perSecond: number, fromSecond: number, seconds: number): number[] {
  const throttles: number[] = [];
  for (let s = fromSecond; s < fromSecond + seconds; s++) {
    let throttled = 0;
    for (let i = 0; i < perSecond; i++) {
      for (const key of keys) {
        const result: ChargeResult = model.charge({ table: 'T', partitionKeyHash: key.hash, sortKey: key.sortKey?.(s, i), writeUnits: 1, nowMs: s * 1000 + Math.floor((i * 1000) / perSecond) });
        if (!result.admitted) throttled++;
      }
    }
    throttles.push(throttled);
  }
  return throttles;
}

t.test('a hot range of two partition keys splits between them and stops throttling', async (t) => {
  const { model, partitions, ceiling } = onDemandModel();
  t.equal(model.describe('T', 0).partitions.length, partitions);
  // Two keys in partition 0, each at 0.6 of the partition maximum: 1.2x together.
  const perKey = Math.round(0.6 * ceiling);
  const keys = [{ hash: 1_000 }, { hash: 2_000 }];
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  const before = drive(model, keys, perKey, 0, sustainSeconds + 2);
  t.ok(before.slice(0, sustainSeconds).some((n) => n > 0), 'throttled while the two keys share a partition');
  const splits = model.events().filter((e) => e.kind === 'split');
  t.equal(splits.length, 1, 'one split');
  const split = splits[0]!;
  if (split.kind === 'split') {
    t.ok(split.atMs >= SPLIT_FOR_HEAT_DEFAULTS.sustainMs, 'only after the partition stayed hot for the sustain time');
    t.same(split.point, { hash: 2_000 }, 'between the two keys');
    // Equal demand on both keys; the request that found the streak complete is counted too.
    const observed = 2 * perKey * sustainSeconds + 1;
    t.ok(Math.abs(split.leftShare - 0.5) <= 1 / observed, `about half the observed demand on each side (${split.leftShare})`);
  }
  t.equal(model.describe('T', (sustainSeconds + 2) * 1000).partitions.length, partitions + 1);
  const after = drive(model, keys, perKey, sustainSeconds + 2, 30);
  t.same(after, new Array(30).fill(0), 'no throttling once each key has its own partition');
  const view = model.describe('T', (sustainSeconds + 32) * 1000);
  t.equal(view.metrics.splits, 1);
  t.ok(view.metrics.throttledTotal > 0);
});

t.test('a single hot item is never fixed by a split', async (t) => {
  const { model, ceiling } = onDemandModel();
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  const throttles = drive(model, [{ hash: 1_000 }], Math.round(1.2 * ceiling), 0, 3 * sustainSeconds);
  const refused = model.events().filter((e) => e.kind === 'split-refused');
  t.ok(refused.length >= 2, 'refused at each sustained streak');
  t.ok(refused.every((e) => e.kind === 'split-refused' && e.reason === 'single-item'));
  t.equal(model.events().filter((e) => e.kind === 'split').length, 0);
  t.ok(throttles.slice(-sustainSeconds).every((n) => n > 0), 'still throttled at the partition maximum');
});

t.test('an item collection of a table with an LSI is never split', async (t) => {
  const { model, ceiling } = onDemandModel(true);
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  // One partition key, sort keys in no particular order (a hash of the step).
  const sortKey = (s: number, i: number): string => ((s * 7919 + i * 104_729) % 1000).toString().padStart(4, '0');
  drive(model, [{ hash: 1_000, sortKey }], Math.round(1.2 * ceiling), 0, sustainSeconds + 2);
  const events = model.events().filter((e) => e.kind === 'split' || e.kind === 'split-refused');
  t.same(events.map((e) => e.kind === 'split-refused' ? e.reason : e.kind), ['lsi-item-collection']);
});

t.test('without an LSI the same collection splits by sort key', async (t) => {
  const { model, ceiling } = onDemandModel(false);
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  const sortKey = (s: number, i: number): string => ((s * 7919 + i * 104_729) % 1000).toString().padStart(4, '0');
  drive(model, [{ hash: 1_000, sortKey }], Math.round(1.2 * ceiling), 0, sustainSeconds + 2);
  const split = model.events().find((e) => e.kind === 'split');
  t.ok(split !== undefined && split.kind === 'split' && split.point.hash === 1_000 && split.point.sortKey !== undefined, 'split inside the collection');
});

t.test('sequential (monotonic) sort keys refuse the split', async (t) => {
  const { model, ceiling } = onDemandModel(false);
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  const perSecond = Math.round(1.2 * ceiling);
  const sortKey = (s: number, i: number): string => (s * perSecond + i).toString().padStart(10, '0');
  drive(model, [{ hash: 1_000, sortKey }], perSecond, 0, sustainSeconds + 2);
  const events = model.events().filter((e) => e.kind === 'split' || e.kind === 'split-refused');
  t.same(events.map((e) => e.kind === 'split-refused' ? e.reason : e.kind), ['sequential-keys']);
});

t.test('heat below the threshold never splits', async (t) => {
  const { model, ceiling } = onDemandModel();
  const sustainSeconds = SPLIT_FOR_HEAT_DEFAULTS.sustainMs / 1000;
  const perKey = Math.floor((SPLIT_FOR_HEAT_DEFAULTS.hotFraction * ceiling - 1) / 2);
  drive(model, [{ hash: 1_000 }, { hash: 2_000 }], perKey, 0, 2 * sustainSeconds);
  t.equal(model.events().filter((e) => e.kind === 'split' || e.kind === 'split-refused').length, 0);
});
