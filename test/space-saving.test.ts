/**
 * Space-Saving's guarantees (Metwally et al. 2005, §3.1) checked against
 * exact counts on seeded skewed streams: every key whose true count exceeds
 * total/capacity is monitored, and each monitored estimate brackets the
 * true count: count - errorMax <= true <= count.
 */
import t, { type Test } from 'tap';
import { Prng, deriveSeed } from '../lib/prng.js';
import { keyName } from '../bench/ycsb/key-name.js';
import { ScrambledZipfianGenerator } from '../bench/ycsb/scrambled-zipfian.js';
import { SpaceSaving } from '../lib/stats/space-saving.js';
import { ZipfianGenerator } from '../bench/ycsb/zipfian.js';

const SEED = 0x5ace_5a7e;
t.comment(`seed=${SEED}`);

interface Offer {
  key: string;
  weight: number;
}

function checkGuarantees(t: Test, summary: SpaceSaving, offers: readonly Offer[], label: string): void {
  const exact = new Map<string, number>();
  let total = 0;
  for (const { key, weight } of offers) {
    exact.set(key, (exact.get(key) ?? 0) + weight);
    total += weight;
  }
  t.equal(summary.total, total, `${label}: total is the sum of the weights`);
  t.ok(summary.size <= summary.capacity, `${label}: ${summary.size} counters, capacity ${summary.capacity}`);
  const monitored = summary.top(summary.capacity);
  let bracketFailures = 0;
  for (const { key, count, errorMax } of monitored) {
    const truth = exact.get(key) ?? 0;
    if (!(count - errorMax <= truth && truth <= count)) bracketFailures++;
  }
  t.equal(bracketFailures, 0, `${label}: count - errorMax <= true count <= count for all ${monitored.length} monitored keys`);
  const threshold = total / summary.capacity;
  const frequent = [...exact].filter(([, count]) => count > threshold);
  const missed = frequent.filter(([key]) => summary.estimate(key) === undefined);
  t.equal(missed.length, 0, `${label}: all ${frequent.length} keys above total/capacity = ${threshold.toFixed(1)} are monitored`);
  t.ok(summary.countMin <= threshold, `${label}: smallest counter ${summary.countMin} <= total/capacity`);
  const top = summary.top(10);
  t.ok(top.every((entry, i) => i === 0 || top[i - 1]!.count >= entry.count), `${label}: top(10) ordered by count`);
}

function zipfianOffers(count: number, draw: (prng: Prng) => number, seed: number, weightMax = 1): Offer[] {
  const prng = new Prng(seed);
  const weights = new Prng(deriveSeed(seed, 1));
  const offers: Offer[] = [];
  for (let i = 0; i < count; i++) offers.push({ key: keyName(draw(prng)), weight: 1 + weights.nextBelow(weightMax) });
  return offers;
}

t.test('plain zipfian stream, unit weights', async (t) => {
  const zipfian = new ZipfianGenerator(10_000, 0.99);
  const offers = zipfianOffers(200_000, (prng) => zipfian.draw(prng), SEED);
  for (const capacity of [10, 100, 1000]) {
    const summary = new SpaceSaving(capacity);
    for (const { key } of offers) summary.offer(key);
    checkGuarantees(t, summary, offers, `capacity ${capacity}`);
  }
  const summary = new SpaceSaving(100);
  for (const { key } of offers) summary.offer(key);
  t.equal(summary.top(1)[0]!.key, keyName(0), 'the hottest key (zipfian item 0) comes first');
  t.equal(summary.top(1)[0]!.errorMax, 0, 'and was monitored from its first occurrence');
});

t.test('scrambled zipfian stream, weighted offers (scans of 1..100 records)', async (t) => {
  const scrambled = new ScrambledZipfianGenerator(100_000);
  const offers = zipfianOffers(100_000, (prng) => scrambled.draw(prng), deriveSeed(SEED, 2), 100);
  for (const capacity of [50, 500]) {
    const summary = new SpaceSaving(capacity);
    for (const { key, weight } of offers) summary.offer(key, weight);
    checkGuarantees(t, summary, offers, `weighted, capacity ${capacity}`);
  }
});

t.test('uniform stream: the bound holds even when nothing is frequent', async (t) => {
  const offers = zipfianOffers(50_000, (prng) => prng.nextBelow(5000), deriveSeed(SEED, 3));
  const summary = new SpaceSaving(64);
  for (const { key } of offers) summary.offer(key);
  checkGuarantees(t, summary, offers, 'uniform over 5000 keys, capacity 64');
});

t.test('exact when the capacity covers every distinct key; edge capacities', async (t) => {
  const offers = zipfianOffers(10_000, (prng) => prng.nextBelow(50), deriveSeed(SEED, 4), 3);
  const summary = new SpaceSaving(50);
  for (const { key, weight } of offers) summary.offer(key, weight);
  const exact = new Map<string, number>();
  for (const { key, weight } of offers) exact.set(key, (exact.get(key) ?? 0) + weight);
  const all = summary.top(100);
  t.equal(all.length, exact.size, 'every distinct key is monitored');
  t.ok(all.every((entry) => entry.errorMax === 0 && entry.count === exact.get(entry.key)), 'every count exact, errorMax 0');

  const one = new SpaceSaving(1);
  for (const key of ['a', 'b', 'a', 'a', 'c']) one.offer(key);
  t.same(one.top(5), [{ key: 'c', count: 5, errorMax: 4 }], 'capacity 1: the last key, with the whole stream as its bound');
  t.same(new SpaceSaving(3).top(3), [], 'an empty summary has no top');
  t.throws(() => new SpaceSaving(0), 'capacity 0 is refused');
  t.throws(() => one.offer('x', 0), 'weight 0 is refused');
  t.throws(() => one.offer('x', Number.NaN), 'weight NaN is refused');
});

t.test('halve: the sketch of the same stream with every weight offered before it halved, so the guarantees hold for the decayed stream', async (t) => {
  const zipfian = new ZipfianGenerator(5_000, 0.99);
  const offers = zipfianOffers(60_000, (prng) => zipfian.draw(prng), deriveSeed(SEED, 5), 4);
  const halvedAt = [20_000, 40_000];
  const halving = new SpaceSaving(200);
  // The same stream, each offer's weight divided by 2 once per halving that came after it.
  const decayed: Offer[] = offers.map(({ key, weight }, i) => ({ key, weight: weight / 2 ** halvedAt.filter((at) => at > i).length }));
  const reference = new SpaceSaving(200);
  offers.forEach(({ key, weight }, i) => {
    if (halvedAt.includes(i)) halving.halve();
    halving.offer(key, weight);
  });
  // Space-Saving's state scales with its weights: fed the decayed weights from the start (scaled up by 4
  // so that no weight is a fraction smaller than the halved sketch ever held), then scaled back.
  for (const { key, weight } of decayed) reference.offer(key, weight * 4);
  const got = halving.top(200);
  const want = reference.top(200).map(({ key, count, errorMax }) => ({ key, count: count / 4, errorMax: errorMax / 4 }));
  t.same(got, want, 'every key, count and error bound equal the decayed stream\'s');
  checkGuarantees(t, halving, decayed, 'halved twice');
  const first = halving.top(1)[0]!;
  t.ok(first.count < offers.filter(({ key }) => key === first.key).reduce((sum, { weight }) => sum + weight, 0), 'the counts decayed');
});
