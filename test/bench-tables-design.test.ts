/**
 * The tables workload's request stream (bench/tables-workload/table-design.ts):
 * keys within the design's cardinality, the read/write mix and the
 * consistent-read share within binomial tolerance, zipfian skew putting the
 * first key ahead, and a seed replaying the stream.
 */
import t, { type Test } from 'tap';
import { Prng } from '../lib/prng.js';
import { RequestStream, type TableDesign } from '../bench/tables-workload/table-design.js';

const DESIGN: TableDesign = {
  table: 't', partitionKeys: 50, itemsPerPartitionKey: 4, skew: 'uniform', theta: 0.99, itemBytes: 100,
  readFraction: 0.3, consistentReadFraction: 0.25, billingMode: 'PROVISIONED', readCapacityUnits: 1, writeCapacityUnits: 1,
};
const DRAWS = 20_000;

function within(t: Test, observed: number, p: number, n: number, what: string): void {
  const sigma = Math.sqrt((p * (1 - p)) / n);
  t.ok(Math.abs(observed - p) < 5 * sigma, `${what}: ${observed.toFixed(4)} within 5 sigma of ${p}`);
}

t.test('keys, mix and consistency follow the design', async (t) => {
  const stream = new RequestStream(DESIGN);
  const prng = new Prng(3);
  let reads = 0;
  let consistent = 0;
  const keys = new Set<string>();
  for (let i = 0; i < DRAWS; i++) {
    const request = stream.next(prng);
    keys.add(request.partitionKey);
    if (request.sortKey === undefined || request.sortKey < 0 || request.sortKey >= 4) t.fail('sort key out of range');
    if (request.kind === 'read') {
      reads++;
      if (request.consistent) consistent++;
    } else if (request.consistent) t.fail('a write is never a consistent read');
  }
  t.equal(keys.size, 50, 'every partition key of the cardinality, and no other');
  t.ok([...keys].every((k) => /^t-(\d|[1-4]\d)$/.test(k)));
  within(t, reads / DRAWS, 0.3, DRAWS, 'read share');
  within(t, consistent / reads, 0.25, reads, 'consistent-read share');
});

t.test('zipfian puts the first key ahead; named keys are used; a seed replays', async (t) => {
  const design: TableDesign = { ...DESIGN, partitionKeys: 2, partitionKeyNames: ['ACTIVE', 'INACTIVE'], itemsPerPartitionKey: 1, skew: 'zipfian' };
  const draw = (seed: number) => {
    const stream = new RequestStream(design);
    const prng = new Prng(seed);
    return Array.from({ length: 2_000 }, () => stream.next(prng));
  };
  const requests = draw(9);
  const active = requests.filter((r) => r.partitionKey === 'ACTIVE').length;
  t.ok(requests.every((r) => r.partitionKey === 'ACTIVE' || r.partitionKey === 'INACTIVE'));
  t.ok(requests.every((r) => r.sortKey === undefined), 'one item per key: no sort key');
  // zipfian over two items: P(first) = 1 / (1 + 2^-theta).
  within(t, active / requests.length, 1 / (1 + Math.pow(2, -0.99)), requests.length, 'ACTIVE share');
  t.same(draw(9), requests, 'the same seed, the same stream');
});
