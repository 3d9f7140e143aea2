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
 * - `--compare-with FILE`: another build's `dist/lib/index.js` (say, main
 *   before a change), measured in the same process: `--rounds` rounds, each
 *   one lag and throughput series per build, builds alternating (A, B, A,
 *   B); each figure is the median over the rounds, and the ratios to 0 GSIs
 *   are taken within one build's round.
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
  rounds: int(1, 'rounds of the lag and throughput series (each build once per round)'),
  'lag-rate': int(500, 'puts per second of the steady write load the lag is measured under (0: as fast as the writers go, which measures the backlog of a saturated applier, not its delay)', 0),
  'compare-with': text('another build\'s dist/lib/index.js, run in the same rounds (before/after)', 'FILE'),
});

/** Engine calls (leader-ordered reads and writes, range reads) made through the database's engine, counted by wrapping its methods. */
const engineCalls = { getOrdered: 0, writeOrdered: 0, range: 0 };
const totalCalls = () => engineCalls.getOrdered + engineCalls.writeOrdered + engineCalls.range;
function countEngineCalls(db: Database): void {
  const engine = (db as unknown as { engine: Record<keyof typeof engineCalls, (...args: unknown[]) => unknown> }).engine;
  for (const name of Object.keys(engineCalls) as Array<keyof typeof engineCalls>) {
    const call = engine[name].bind(engine);
    engine[name] = (...args: unknown[]) => {
      engineCalls[name] += 1;
      return call(...args);
    };
  }
}

type Open = (options: { path: string; nodes: number; durability: 'none' }) => Promise<Database>;

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

/** `ratePerSecond` > 0: the writers' puts are paced to that many a second in all (each put at its turn, never early). */
async function steadyWrites(db: Database, tableName: string, seconds: number, ratePerSecond = 0): Promise<number> {
  const startMs = Date.now();
  const endMs = startMs + seconds * 1000;
  let writes = 0;
  await Promise.all(Array.from({ length: args.writers }, async (_, writer) => {
    for (let i = writer; Date.now() < endMs; i += args.writers) {
      if (ratePerSecond > 0) {
        const dueMs = startMs + (i * 1000) / ratePerSecond;
        if (dueMs >= endMs) break;
        if (dueMs > Date.now()) await new Promise((resolve) => setTimeout(resolve, dueMs - Date.now()));
      }
      await db.putItem({ TableName: tableName, Item: itemOf(i, writes) });
      writes++;
    }
  }));
  return writes;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function lag(db: Database): Promise<{ p50: number; p99: number; putsPerSecond: number }> {
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
        // A pause between polls (1 ms, the timer's resolution): a busy loop of Queries would take the CPU the applier needs.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      lags.push(performance.now() - ackedMs);
    }
  })();
  const writes = await steadyWrites(db, 'lag', args.seconds, args['lag-rate']);
  probing = false;
  await probes;
  // The throughput runs start with the index quiet: none of this table's changes left to apply.
  while (Object.entries(db.stats().indexes.lag).some(([index, lagged]) => index.startsWith('lag/') && lagged.pendingChanges > 0)) await new Promise((resolve) => setTimeout(resolve, 5));
  lags.sort((a, b) => a - b);
  console.log(`  lag: ${lags.length} probes under ${(writes / args.seconds).toFixed(0)} puts/s: p50 ${percentile(lags, 50).toFixed(2)} ms, p99 ${percentile(lags, 99).toFixed(2)} ms, max ${lags[lags.length - 1]!.toFixed(2)} ms`);
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), putsPerSecond: writes / args.seconds };
}

async function throughput(db: Database): Promise<{ rates: number[]; drainMs: number[]; cpuUs: number[]; calls: number[] }> {
  const callsPerPut: number[] = [];
  let baseline = 0;
  const rates: number[] = [];
  const drains: number[] = [];
  const cpus: number[] = [];
  for (const gsis of [0, 1, 2, 5]) {
    const name = `gsis${gsis}`;
    await db.createTable(tableWith(name, gsis));
    const cpuStart = process.cpuUsage();
    const callsStart = totalCalls();
    const writes = await steadyWrites(db, name, args.seconds);
    const drainStartMs = performance.now();
    const pending = () => Object.entries(db.stats().indexes.lag).filter(([index]) => index.startsWith(`${name}/`)).reduce((sum, [, lag]) => sum + lag.pendingChanges, 0);
    while (pending() > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const drainMs = performance.now() - drainStartMs;
    const cpu = process.cpuUsage(cpuStart);
    // Engine round trips per put, its index changes applied included (load does not change how many are made).
    const calls = (totalCalls() - callsStart) / writes;
    callsPerPut.push(calls);
    // The whole process's CPU (every thread) per put, its index changes applied included: the cost that load does not hide.
    const cpuUs = (cpu.user + cpu.system) / writes;
    const rate = writes / args.seconds;
    if (gsis === 0) baseline = rate;
    rates.push(rate);
    drains.push(drainMs);
    cpus.push(cpuUs);
    console.log(`  throughput: ${gsis} GSIs: ${rate.toFixed(0)} puts/s (${(rate / baseline).toFixed(2)}x of 0 GSIs), queue drained ${drainMs.toFixed(0)} ms after the last put, CPU ${cpuUs.toFixed(0)} µs per put (${(cpuUs / cpus[0]!).toFixed(2)}x of 0 GSIs) with its index changes applied, ${calls.toFixed(2)} engine calls per put`);
  }
  return { rates, drainMs: drains, cpuUs: cpus, calls: callsPerPut };
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

const GSI_COUNTS = [0, 1, 2, 5];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const loadAverage = async () => (await import('node:os')).loadavg().map((load) => load.toFixed(2)).join(' ');

const builds: Array<{ name: string; open: Open }> = [{ name: 'this build', open: (options) => Database.open(options) }];
if (args['compare-with'] !== undefined) {
  const other = (await import(args['compare-with'])) as { Database: { open: Open } };
  builds.unshift({ name: `other (${args['compare-with']})`, open: (options) => other.Database.open(options) });
}
console.log(`config: nodes=${args.nodes} writers=${args.writers} seconds=${args.seconds} keys=${args.keys} rounds=${args.rounds} backfill-items=${args['backfill-items']} durability=none node=${process.version} load=${await loadAverage()}`);
const results = builds.map(() => ({ p50: [] as number[], p99: [] as number[], ratios: GSI_COUNTS.map(() => [] as number[]), rates: GSI_COUNTS.map(() => [] as number[]), drains: GSI_COUNTS.map(() => [] as number[]), cpuUs: GSI_COUNTS.map(() => [] as number[]), cpuRatios: GSI_COUNTS.map(() => [] as number[]), calls: GSI_COUNTS.map(() => [] as number[]) }));
for (let round = 0; round < args.rounds; round += 1) {
  for (const [at, build] of builds.entries()) {
    console.log(`round ${round + 1}, ${build.name} (load ${await loadAverage()}):`);
    const dir = makeTempDir('ringtable-indexes-bench-', args.dir);
    const db = await build.open({ path: dir, nodes: args.nodes, durability: 'none' });
    countEngineCalls(db);
    try {
      const lagged = await lag(db);
      const { rates, drainMs, cpuUs, calls } = await throughput(db);
      const result = results[at]!;
      result.p50.push(lagged.p50);
      result.p99.push(lagged.p99);
      rates.forEach((rate, i) => {
        result.rates[i]!.push(rate);
        result.ratios[i]!.push(rate / rates[0]!);
        result.drains[i]!.push(drainMs[i]!);
        result.cpuUs[i]!.push(cpuUs[i]!);
        result.cpuRatios[i]!.push(cpuUs[i]! / cpuUs[0]!);
        result.calls[i]!.push(calls[i]!);
      });
    } finally {
      await db.close();
      removeTempDir(dir);
    }
  }
}
console.log(`summary (median of ${args.rounds} round(s); load ${await loadAverage()}):`);
for (const [at, build] of builds.entries()) {
  const result = results[at]!;
  console.log(`  ${build.name}: lag p50 ${median(result.p50).toFixed(2)} ms, p99 ${median(result.p99).toFixed(2)} ms; ` + GSI_COUNTS.map((gsis, i) => `${gsis} GSIs ${median(result.rates[i]!).toFixed(0)} puts/s (${median(result.ratios[i]!).toFixed(2)}x, drained ${median(result.drains[i]!).toFixed(0)} ms, CPU ${median(result.cpuUs[i]!).toFixed(0)} µs/put = ${median(result.cpuRatios[i]!).toFixed(2)}x, ${median(result.calls[i]!).toFixed(2)} engine calls/put)`).join(', '));
}

if (args['backfill-items'] > 0) {
  const dir = makeTempDir('ringtable-indexes-bench-', args.dir);
  const db = await Database.open({ path: dir, nodes: args.nodes, durability: 'none' });
  try {
    await backfill(db);
  } finally {
    await db.close();
    removeTempDir(dir);
  }
}
