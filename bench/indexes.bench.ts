/**
 * Secondary index benchmark (issue 13 §6): GSI propagation lag under a
 * steady write load, the write throughput cost of 0, 1, 2 and 5 GSIs, and a
 * backfill of a GSI added to a populated table while writes continue.
 *
 *   npm run bench:indexes
 *   node dist/bench/indexes.bench.js --seconds 10 --writers 32 --backfill-items 100000
 *
 * - Lag: `--writers` clients put items for `--seconds` into a table with one
 *   GSI (ALL projection); meanwhile one probe at a time puts an item with a
 *   fresh index key and queries the index (eventual, as a GSI read is) until
 *   the item appears. Lag = first query that sees it − the put's
 *   acknowledgement. p50/p99 over the probes. The poll adds at most one
 *   query's round trip.
 * - Throughput: the same writers, puts per second over `--seconds`, for a
 *   table with 0, 1, 2, 5 GSIs (each on its own attribute, KEYS_ONLY), then
 *   the time the applier takes to drain what was left queued.
 * - Backfill: `--backfill-items` items, then UpdateTable adds a GSI while
 *   `--writers` clients keep writing; time until ACTIVE.
 * Fixed data (item i has index values derived from i); configuration is printed with the figures.
 */
import { Database } from '../lib/index.js';
import { int, parseOptions, text } from './lib/options.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('node dist/bench/indexes.bench.js', 'GSI propagation lag, write throughput with 0/1/2/5 GSIs, and a backfill under writes.', {
  seconds: int(8, 'seconds per timed run'),
  writers: int(16, 'concurrent writing clients'),
  nodes: int(4, 'storage nodes'),
  keys: int(20_000, 'distinct item keys the writers cycle over'),
  'backfill-items': int(20_000, 'items in the table before the GSI is added (100000 for the issue figure)', 0),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

const GSI_ATTRIBUTES = ['g0', 'g1', 'g2', 'g3', 'g4'];

function tableWith(name: string, gsis: number) {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }, ...GSI_ATTRIBUTES.slice(0, gsis).map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' as const }))],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
    BillingMode: 'PAY_PER_REQUEST' as const,
    ...(gsis === 0 ? {} : {
      GlobalSecondaryIndexes: GSI_ATTRIBUTES.slice(0, gsis).map((attribute) => ({ IndexName: `by_${attribute}`, KeySchema: [{ AttributeName: attribute, KeyType: 'HASH' as const }], Projection: { ProjectionType: 'KEYS_ONLY' as const } })),
    }),
  };
}

function itemOf(i: number, round: number) {
  const item: Record<string, { S: string }> = { pk: { S: `k${i % args.keys}` }, body: { S: 'x'.repeat(100) } };
  for (const [at, attribute] of GSI_ATTRIBUTES.entries()) item[attribute] = { S: `${attribute}-${(i * (at + 3) + round) % 997}` };
  return item;
}

async function steadyWrites(db: Database, tableName: string, seconds: number): Promise<number> {
  const endMs = Date.now() + seconds * 1000;
  let writes = 0;
  await Promise.all(Array.from({ length: args.writers }, async (_, writer) => {
    for (let i = writer; Date.now() < endMs; i += args.writers) {
      await db.putItem({ TableName: tableName, Item: itemOf(i, writes) });
      writes++;
    }
  }));
  return writes;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function lag(db: Database): Promise<void> {
  await db.createTable({ ...tableWith('lag', 1), GlobalSecondaryIndexes: [{ IndexName: 'by_g0', KeySchema: [{ AttributeName: 'g0', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }] });
  let probing = true;
  const lags: number[] = [];
  const probes = (async () => {
    for (let probe = 0; probing; probe++) {
      await db.putItem({ TableName: 'lag', Item: { pk: { S: `probe${probe}` }, g0: { S: `probe-${probe}` } } });
      const ackedMs = performance.now();
      for (;;) {
        const found = await db.query({ TableName: 'lag', IndexName: 'by_g0', KeyConditionExpression: 'g0 = :v', ExpressionAttributeValues: { ':v': { S: `probe-${probe}` } } });
        if (found.Count === 1) break;
      }
      lags.push(performance.now() - ackedMs);
    }
  })();
  const writes = await steadyWrites(db, 'lag', args.seconds);
  probing = false;
  await probes;
  lags.sort((a, b) => a - b);
  console.log(`lag: ${lags.length} probes under ${(writes / args.seconds).toFixed(0)} puts/s: p50 ${percentile(lags, 50).toFixed(2)} ms, p99 ${percentile(lags, 99).toFixed(2)} ms, max ${lags[lags.length - 1]!.toFixed(2)} ms`);
}

async function throughput(db: Database): Promise<void> {
  let baseline = 0;
  for (const gsis of [0, 1, 2, 5]) {
    const name = `gsis${gsis}`;
    await db.createTable(tableWith(name, gsis));
    const writes = await steadyWrites(db, name, args.seconds);
    const drainStartMs = performance.now();
    const pending = () => Object.entries(db.stats().indexes.lag).filter(([index]) => index.startsWith(`${name}/`)).reduce((sum, [, lag]) => sum + lag.pendingChanges, 0);
    while (pending() > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const drainMs = performance.now() - drainStartMs;
    const rate = writes / args.seconds;
    if (gsis === 0) baseline = rate;
    console.log(`throughput: ${gsis} GSIs: ${rate.toFixed(0)} puts/s (${(rate / baseline).toFixed(2)}x of 0 GSIs), queue drained ${drainMs.toFixed(0)} ms after the last put`);
  }
}

async function backfill(db: Database): Promise<void> {
  const items = args['backfill-items'];
  if (items === 0) return;
  await db.createTable(tableWith('backfill', 0));
  for (let i = 0; i < items; i += 25) {
    const batch = Array.from({ length: Math.min(25, items - i) }, (_, j) => ({ PutRequest: { Item: itemOf(i + j, 0) } }));
    await db.batchWriteItem({ RequestItems: { backfill: batch } });
  }
  const startMs = performance.now();
  let writing = true;
  const writers = (async () => {
    let writes = 0;
    await Promise.all(Array.from({ length: args.writers }, async (_, writer) => {
      for (let i = writer; writing; i += args.writers) {
        await db.putItem({ TableName: 'backfill', Item: itemOf(i % items, 1) });
        writes++;
      }
    }));
    return writes;
  })();
  await db.updateTable({ TableName: 'backfill', AttributeDefinitions: [{ AttributeName: 'g0', AttributeType: 'S' }], GlobalSecondaryIndexUpdates: [{ Create: { IndexName: 'by_g0', KeySchema: [{ AttributeName: 'g0', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } } }] });
  for (;;) {
    const status = (await db.describeTable({ TableName: 'backfill' })).Table.GlobalSecondaryIndexes?.[0]?.IndexStatus;
    if (status === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - startMs) / 1000;
  writing = false;
  const writes = await writers;
  console.log(`backfill: ${items} items indexed in ${seconds.toFixed(1)} s (${(items / seconds).toFixed(0)} items/s) while ${writes} puts ran (${(writes / seconds).toFixed(0)} puts/s)`);
}

const dir = makeTempDir('ringtable-indexes-bench-', args.dir);
console.log(`config: nodes=${args.nodes} writers=${args.writers} seconds=${args.seconds} keys=${args.keys} backfill-items=${args['backfill-items']} durability=none node=${process.version}`);
const db = await Database.open({ path: dir, nodes: args.nodes, durability: 'none' });
try {
  await lag(db);
  await throughput(db);
  await backfill(db);
} finally {
  await db.close();
  removeTempDir(dir);
}
