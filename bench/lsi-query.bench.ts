/**
 * LSI Query throughput (issue 13 §2): a Query of a local secondary index
 * against the same Query of the table, in interleaved rounds of one
 * process, so the ratio holds on a loaded machine. An LSI read checks every
 * entry against the item it names (lib/tables/indexes/local-index-read.ts):
 * one read of the items per chunk of entries, from the same leader.
 *
 *   node dist/bench/lsi-query.bench.js
 *   node dist/bench/lsi-query.bench.js --compare-with /tmp/other/dist/lib/index.js
 *
 * - Data: `--partitions` partition keys × `--items` items (sort key i, LSI
 *   sort key derived from i, a 100-byte body), in a table with two LSIs:
 *   KEYS_ONLY and ALL.
 * - Cases, each a round of `--round-ms` with `--clients` concurrent
 *   clients querying a random partition key (seeded) with `--limit`:
 *   the table (ConsistentRead), the KEYS_ONLY LSI (consistent and
 *   eventual), the ALL LSI (consistent). `--rounds` rounds of every case,
 *   interleaved; the median round is reported, and each ratio is the
 *   median of the per-round ratios (the load moves between rounds).
 * - `--compare-with FILE`: another build's `dist/lib/index.js` (say, the
 *   commit before a change) opens its own Database on the same data shape,
 *   and its rounds interleave with this build's: a before/after in one run.
 */
import { writeFileSync } from 'node:fs';
import { Database } from '../lib/index.js';
import { Prng } from '../lib/prng.js';
import { int, parseOptions, text } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('node dist/bench/lsi-query.bench.js', 'LSI Query throughput against the table\'s Query, interleaved rounds (optionally against another build).', {
  partitions: int(32, 'partition keys'),
  items: int(200, 'items per partition key'),
  limit: int(50, 'Limit of each query (items per page)'),
  clients: int(8, 'concurrent querying clients'),
  'round-ms': int(2000, 'length of one round of one case'),
  rounds: int(3, 'rounds of every case'),
  nodes: int(4, 'storage nodes'),
  'compare-with': text('another build\'s dist/lib/index.js, run in the same rounds (before/after)', 'FILE'),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

type Db = Pick<Database, 'createTable' | 'batchWriteItem' | 'query' | 'close'>;
type Open = (options: { path: string; nodes: number; durability: 'none' }) => Promise<Db>;

const TABLE = {
  TableName: 'threads',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'at', AttributeType: 'N' }, { AttributeName: 'rank', AttributeType: 'N' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  BillingMode: 'PAY_PER_REQUEST',
  LocalSecondaryIndexes: [
    { IndexName: 'byAt', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
    { IndexName: 'byRank', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'rank', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } },
  ],
} as const;

interface Case {
  readonly name: string;
  readonly request: (partition: number) => Record<string, unknown>;
}

const keyCondition = (partition: number) => ({ KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: `p${partition}` } }, Limit: args.limit });
const CASES: Case[] = [
  { name: 'table, consistent', request: (p) => ({ TableName: 'threads', ConsistentRead: true, ...keyCondition(p) }) },
  { name: 'LSI KEYS_ONLY, consistent', request: (p) => ({ TableName: 'threads', IndexName: 'byAt', ConsistentRead: true, ...keyCondition(p) }) },
  { name: 'LSI KEYS_ONLY, eventual', request: (p) => ({ TableName: 'threads', IndexName: 'byAt', ...keyCondition(p) }) },
  { name: 'LSI ALL, consistent', request: (p) => ({ TableName: 'threads', IndexName: 'byRank', ConsistentRead: true, ...keyCondition(p) }) },
];

async function load(db: Db): Promise<void> {
  await db.createTable(structuredClone(TABLE) as never);
  for (let p = 0; p < args.partitions; p++) {
    for (let i = 0; i < args.items; i += 25) {
      const batch = Array.from({ length: Math.min(25, args.items - i) }, (_, j) => {
        const n = i + j;
        return { PutRequest: { Item: { pk: { S: `p${p}` }, sk: { N: String(n) }, at: { N: String((n * 7919) % 100_003) }, rank: { N: String(args.items - n) }, body: { S: 'x'.repeat(100) } } } };
      });
      await db.batchWriteItem({ RequestItems: { threads: batch } });
    }
  }
}

/** Queries per second of one case over one round, and the items they returned. */
async function round(db: Db, testCase: Case, seed: number): Promise<{ queriesPerSecond: number; itemsPerQuery: number }> {
  const prng = new Prng(seed);
  const endMs = performance.now() + args['round-ms'];
  let queries = 0;
  let items = 0;
  await Promise.all(Array.from({ length: args.clients }, async () => {
    while (performance.now() < endMs) {
      const page = await db.query(testCase.request(prng.nextBelow(args.partitions)) as never);
      queries++;
      items += page.Count;
    }
  }));
  return { queriesPerSecond: queries / (args['round-ms'] / 1000), itemsPerQuery: items / Math.max(1, queries) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const builds: Array<{ name: string; open: Open }> = [{ name: 'this build', open: (options) => Database.open(options) }];
if (args['compare-with'] !== undefined) {
  const other = (await import(args['compare-with'])) as { Database: { open: Open } };
  builds.unshift({ name: `other (${args['compare-with']})`, open: (options) => other.Database.open(options) });
}

console.log(`config: partitions=${args.partitions} items=${args.items} limit=${args.limit} clients=${args.clients} round-ms=${args['round-ms']} rounds=${args.rounds} nodes=${args.nodes} seed=${args.seed} durability=none node=${process.version}`);
const dirs = builds.map(() => makeTempDir('ringtable-lsi-bench-', args.dir));
const dbs: Db[] = [];
try {
  for (const [at, build] of builds.entries()) {
    const db = await build.open({ path: dirs[at]!, nodes: args.nodes, durability: 'none' });
    dbs.push(db);
    await load(db);
  }
  const results = builds.map(() => CASES.map(() => [] as number[]));
  const itemsPerQuery = builds.map(() => CASES.map(() => 0));
  for (let r = 0; r < args.rounds; r++) {
    for (const [c, testCase] of CASES.entries()) {
      // ABBA: each build goes first in every other round, so neither always runs on the other's leftovers.
      const order = builds.map((_, b) => b);
      if (r % 2 === 1) order.reverse();
      for (const b of order) {
        const measured = await round(dbs[b]!, testCase, args.seed + r);
        results[b]![c]!.push(measured.queriesPerSecond);
        itemsPerQuery[b]![c] = measured.itemsPerQuery;
      }
    }
  }
  // Ratios are taken per round (the two rates measured back to back), then their median: the load moves between rounds.
  const ratio = (a: number[], b: number[]) => median(a.map((value, r) => value / b[r]!));
  const report = [];
  for (const [b, build] of builds.entries()) {
    for (const [c, testCase] of CASES.entries()) {
      const rates = results[b]![c]!;
      const ofTable = ratio(rates, results[b]![0]!);
      const ofOther = builds.length > 1 && b > 0 ? ratio(rates, results[0]![c]!) : undefined;
      const versus = ofOther === undefined ? '' : `, ${ofOther.toFixed(2)}x of the other build`;
      console.log(`${build.name}: ${testCase.name}: ${median(rates).toFixed(0)} queries/s (${itemsPerQuery[b]![c]!.toFixed(0)} items each; rounds ${rates.map((value) => value.toFixed(0)).join(' ')}), ${ofTable.toFixed(2)}x of the table's query${versus}`);
      report.push({ build: build.name, case: testCase.name, queriesPerSecondRounds: rates, ofTable, ofOther });
    }
  }
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ benchmark: 'LSI Query', argv: process.argv.slice(2), seed: args.seed, results: report }, null, 2));
} finally {
  for (const db of dbs) await db.close();
  for (const dir of dirs) removeTempDir(dir);
}
