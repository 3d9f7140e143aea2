/**
 * Tables benchmark (issue 11 §6): DynamoDB operations through `Database`
 * against the engine's own put/get of values of the same size, on the same
 * storage nodes, in one run.
 *
 *   npm run bench:tables
 *   node dist/bench/tables.bench.js --items 10k --ops 20k --read-ops 100k --concurrency 64 --rounds 3
 *
 * One Database (its `store` is the engine underneath: same nodes, N, R, W,
 * durability) holds a table (pk S, sk N) of `--items` items
 * { pk, sk: 0, n: 0, payload: 100 seeded bytes } and one partition 'q' of
 * `--partition-items` such items; the engine holds the very same item
 * objects as values under plain keys, so both sides msgpack-encode the same
 * value. Every variant runs `--ops` writes (or `--read-ops` reads, or
 * `--queries` pages) over one seeded uniform key
 * order with `--concurrency` in flight (each completion starts the next),
 * after a warm-up of `--warmup` of them; variants alternate round by round
 * and each is summarised by its median.
 *
 * The tables' single-item operations and what they cost the engine:
 *   - PutItem: a consistent read of the partition leader's copy, then a
 *     compare-and-set write through the leader (DESIGN.md §3), acknowledged
 *     at W; with readPath 'direct' (the default) the read is served in the
 *     calling thread from the leader's LMDB environment, so the write is the
 *     one round trip;
 *   - UpdateItem with a ConditionExpression: the same, the condition and the
 *     update evaluated between the two;
 *   - GetItem: one replica (any up one), or the leader with ConsistentRead,
 *     read in place as store.get reads (readPath 'direct').
 * The baselines: store.put (W of N, the coordinating node mints the
 * version) and store.get with r=1 (one replica, as GetItem reads) and with
 * the store's R. The target (issue 11 §6): >= 0.5x of the engine for the
 * single-item operations. Diagnostic figures of the engine's leader-ordered
 * calls (getOrdered, writeOrdered, range) separate what the leader path costs
 * from what the tables layer adds.
 */
import { Database, partitionedKey, type AttributeMap, type Store } from '../lib/index.js';
import { Prng, deriveSeed } from '../lib/prng.js';
import { uniformAccess } from './lib/data.js';
import { type Run, formatRate, formatSeconds, interleave, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('node dist/bench/tables.bench.js', 'PutItem, GetItem, conditional UpdateItem and Query through Database against the engine\'s store.put/store.get of the same values, same nodes.', {
  items: int(10_000, 'items of the single-item operations (and engine keys)'),
  'partition-items': int(1_000, 'items in the queried partition (at least --page)'),
  page: int(100, 'items per Query page (Limit)'),
  ops: int(20_000, 'single-item writes per timed run'),
  'read-ops': int(100_000, 'single-item reads per timed run (reads are faster: longer runs steady their figures)'),
  queries: int(1_000, 'Query pages (and engine range/getMany pages) per timed run'),
  concurrency: int(64, 'operations in flight'),
  warmup: int(2_000, 'operations per variant before timing, not counted', 0),
  rounds: int(3, 'interleaved rounds'),
  nodes: int(4, 'storage nodes'),
  'payload-bytes': int(100, 'bytes of the B attribute of every item', 0),
  durability: choice('async', ['none', 'async', 'sync'] as const, "the store's durability ('async' is the default)"),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

const TABLE = 'bench';
const QUERY_PARTITION = 'q';

/** Runs `op(i)` for i in [0, count) with at most `inFlight` outstanding. */
function pipelined(count: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    const launch = (): void => {
      const i = next++;
      op(i).then(() => {
        if (++done === count) resolve();
        else if (next < count) launch();
      }, reject);
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) launch();
    if (count === 0) resolve();
  });
}

function makeItems(count: number, partition: (i: number) => string, sort: (i: number) => number, payloadBytes: number, prng: Prng): AttributeMap[] {
  return Array.from({ length: count }, (_, i) => ({
    pk: { S: partition(i) },
    sk: { N: String(sort(i)) },
    n: { N: '0' },
    payload: { B: prng.fill(new Uint8Array(payloadBytes)) },
  }));
}

interface Variant {
  name: string;
  /** What one op is. */
  op: string;
  ops: number;
  run: (i: number) => Promise<unknown>;
}

async function main(): Promise<void> {
  if (args['partition-items'] < args.page) throw new Error('--partition-items must be at least --page');
  const env = environment();
  const parent = makeTempDir('ringtable-bench-tables-', args.dir);
  const db = await Database.open({ path: `${parent}/db`, nodes: args.nodes, durability: args.durability });
  const store: Store = db.store;
  const { n, r, w } = store.options;
  const report: Report = {
    benchmark: 'tables (Database) vs the engine',
    command: commandLine('tables.bench.js'),
    measured: `single-item operations over ${args.items} items (${args['payload-bytes']} B payload), ${args.ops} writes or ${args['read-ops']} reads per run, ${args.concurrency} in flight; Query pages of ${args.page} items from one partition of ${args['partition-items']}, ${args.queries} per run; the engine side stores the same item objects under plain keys in the same store; interleaved runs, median reported`,
    environment: env,
    config: { items: args.items, partitionItems: args['partition-items'], page: args.page, ops: args.ops, readOps: args['read-ops'], queries: args.queries, concurrency: args.concurrency, warmup: args.warmup, rounds: args.rounds, seed: args.seed },
    storeOptions: { nodes: args.nodes, replication: { n, r, w }, durability: args.durability, transport: 'sab' },
    phases: {},
    figures: [],
    ratios: [],
    notes: [],
  };
  const wrong = new Map<string, number>();
  const countWrong = (name: string, bad: boolean): void => {
    if (bad) wrong.set(name, (wrong.get(name) ?? 0) + 1);
  };

  try {
    console.log(`tables benchmark: seed=${args.seed}, ${args.items} items, ${args.ops} ops per run, ${args.concurrency} in flight, ${args.rounds} rounds; preloading...`);
    await db.createTable({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    const prng = new Prng(deriveSeed(args.seed, 1));
    const items = makeItems(args.items, (i) => `user${i}`, () => 0, args['payload-bytes'], prng);
    const partitionItems = makeItems(args['partition-items'], () => QUERY_PARTITION, (i) => i, args['payload-bytes'], prng);
    const engineKeys = items.map((_, i) => `user${i}`);
    const engineRangeKeys = partitionItems.map((_, i) => `q${i}`);
    const keys = items.map((item) => ({ pk: item['pk']!, sk: item['sk']! }));

    const preload = await timed(args.items + args['partition-items'], async () => {
      await pipelined(args.items, args.concurrency, (i) => db.putItem({ TableName: TABLE, Item: items[i]! }));
      await pipelined(args['partition-items'], args.concurrency, (i) => db.putItem({ TableName: TABLE, Item: partitionItems[i]! }));
      await pipelined(args.items, args.concurrency, (i) => store.put(engineKeys[i]!, items[i]!));
      await pipelined(args['partition-items'], args.concurrency, (i) => store.put(engineRangeKeys[i]!, partitionItems[i]!));
    });
    report.phases['preload'] = `${args.items + args['partition-items']} items through PutItem and as many engine puts in ${formatSeconds(preload.seconds)}`;

    const order = uniformAccess(args.items, Math.max(args.ops, args['read-ops']) + args.warmup, args.seed, 3);
    const pageStarts = uniformAccess(args['partition-items'] - args.page + 1, args.queries + args.warmup, args.seed, 4);
    // The diagnostic figures' leader-ordered keys: partitioned keys of space 2^20, which no table of this run has.
    const encoder = new TextEncoder();
    const orderedItemKeys = engineKeys.map((key) => partitionedKey(1 << 20, encoder.encode(key)));
    const rangePartition = partitionedKey(1 << 20, encoder.encode(QUERY_PARTITION));
    const rangeKeys = partitionItems.map((_, i) => partitionedKey(1 << 20, encoder.encode(QUERY_PARTITION), sortRest(i)));
    await pipelined(args.items, args.concurrency, (i) => store.writeOrdered({ key: orderedItemKeys[i]!, value: items[i]! }));
    await pipelined(args['partition-items'], args.concurrency, (i) => store.writeOrdered({ key: rangeKeys[i]!, value: partitionItems[i]! }));
    const rangeEnd = new Uint8Array(rangePartition.byteLength + 1);
    rangeEnd.set(rangePartition);
    rangeEnd[rangePartition.byteLength] = 0xff;

    const key = (i: number): number => order[i]!;
    const single = (name: string, op: string, run: (k: number) => Promise<unknown>): Variant => ({ name, op, ops: args.ops, run: (i) => run(key(i)) });
    const read = (name: string, op: string, run: (k: number) => Promise<unknown>): Variant => ({ ...single(name, op, run), ops: args['read-ops'] });
    const pages = (name: string, op: string, run: (start: number) => Promise<unknown>): Variant => ({ name, op, ops: args.queries, run: (i) => run(pageStarts[i]!) });
    const variants: Variant[] = [
      single('PutItem', 'PutItem of an existing item (overwrite, no condition)', (k) => db.putItem({ TableName: TABLE, Item: items[k]! })),
      single('engine put', `store.put(key, the same item), W=${w} of N=${n}`, (k) => store.put(engineKeys[k]!, items[k]!)),
      single('UpdateItem + condition', "UpdateItem 'SET n = n + :one' with ConditionExpression 'attribute_exists(pk)'", (k) =>
        db.updateItem({ TableName: TABLE, Key: keys[k]!, UpdateExpression: 'SET n = n + :one', ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':one': { N: '1' } } }),
      ),
      read('GetItem eventual', 'GetItem, eventually consistent (one replica)', async (k) => countWrong('GetItem eventual', (await db.getItem({ TableName: TABLE, Key: keys[k]! })).Item === undefined)),
      read('GetItem consistent', "GetItem with ConsistentRead (the partition's leader)", async (k) => countWrong('GetItem consistent', (await db.getItem({ TableName: TABLE, Key: keys[k]!, ConsistentRead: true })).Item === undefined)),
      read('engine get r=1', 'store.get(key, { r: 1 }) of the same item', async (k) => countWrong('engine get r=1', (await store.get(engineKeys[k]!, { r: 1 }))?.value === undefined)),
      read(`engine get r=${r}`, `store.get(key) of the same item (the store's R=${r})`, async (k) => countWrong(`engine get r=${r}`, (await store.get(engineKeys[k]!))?.value === undefined)),
      single('engine writeOrdered', 'store.writeOrdered({ key, value }) of the same item, blind (diagnostic)', (k) => store.writeOrdered({ key: orderedItemKeys[k]!, value: items[k]! })),
      read('engine getOrdered eventual', 'store.getOrdered(key) from any up replica (diagnostic)', (k) => store.getOrdered(orderedItemKeys[k]!)),
      read('engine getOrdered consistent', 'store.getOrdered(key, { consistent: true }) (diagnostic)', (k) => store.getOrdered(orderedItemKeys[k]!, { consistent: true })),
      pages('Query page', `Query 'pk = :p AND sk >= :s', Limit ${args.page}, eventually consistent`, async (start) => {
        const page = await db.query({ TableName: TABLE, KeyConditionExpression: 'pk = :p AND sk >= :s', ExpressionAttributeValues: { ':p': { S: QUERY_PARTITION }, ':s': { N: String(start) } }, Limit: args.page });
        countWrong('Query page', page.Count !== args.page);
      }),
      pages('engine range page', `store.range of ${args.page} leader-ordered entries of one partition, eventually consistent (diagnostic)`, async (start) => {
        const page = await store.range({ start: rangeKeys[start]!, end: rangeEnd, limit: args.page });
        countWrong('engine range page', page.entries.length !== args.page);
      }),
      pages('engine getMany page', `store.getMany of ${args.page} plain keys with the same items, { r: 1 }`, async (start) => {
        const got = await store.getMany(engineRangeKeys.slice(start, start + args.page), { r: 1 });
        countWrong('engine getMany page', got.some((result) => result?.value === undefined));
      }),
    ];

    // Warm every path (JIT, page cache) before any timing.
    for (const variant of variants) await pipelined(Math.min(args.warmup, variant.ops), args.concurrency, (i) => variant.run(variant.ops + i));
    wrong.clear();

    const runs = await interleave(
      args.rounds,
      variants.map((variant) => ({ name: variant.name, run: async () => (await settle(), timed(variant.ops, () => pipelined(variant.ops, args.concurrency, variant.run))) })),
      (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(30)} ${formatRate(run.opsPerSecond).padStart(7)} ops/s (${formatSeconds(run.seconds)})`),
    );
    const figures = new Map(variants.map((variant) => [variant.name, figure(variant.name, variant.op, runs.get(variant.name)!)]));
    report.figures = [...figures.values()];
    const rate = (name: string): number => figures.get(name)!.medianOpsPerSecond;
    report.ratios = [
      { name: 'PutItem / engine put', value: rate('PutItem') / rate('engine put'), target: 0.5 },
      { name: 'UpdateItem + condition / engine put', value: rate('UpdateItem + condition') / rate('engine put'), target: 0.5 },
      { name: 'GetItem eventual / engine get r=1', value: rate('GetItem eventual') / rate('engine get r=1'), target: 0.5 },
      { name: 'GetItem consistent / engine get r=1', value: rate('GetItem consistent') / rate('engine get r=1'), target: 0.5 },
      { name: `GetItem eventual / engine get r=${r}`, value: rate('GetItem eventual') / rate(`engine get r=${r}`) },
      { name: `GetItem consistent / engine get r=${r}`, value: rate('GetItem consistent') / rate(`engine get r=${r}`) },
      { name: 'Query page / engine getMany page (items per second alike)', value: rate('Query page') / rate('engine getMany page') },
      { name: 'Query page / engine range page (the tables layer over its one range read)', value: rate('Query page') / rate('engine range page') },
      { name: 'PutItem / engine writeOrdered (the tables layer over the leader path)', value: rate('PutItem') / rate('engine writeOrdered') },
      { name: 'GetItem eventual / engine getOrdered eventual (the tables layer over its one read)', value: rate('GetItem eventual') / rate('engine getOrdered eventual') },
      { name: 'GetItem consistent / engine getOrdered consistent', value: rate('GetItem consistent') / rate('engine getOrdered consistent') },
    ];
    report.notes.push(`a Query page is ${args.page} items: items per second are ${args.page} x its ops/s`);
    report.notes.push(`PutItem and UpdateItem each cost the engine a consistent read of the leader's copy (${store.options.readPath === 'direct' ? 'in place' : 'a message'}), then the compare-and-set write through the leader; store.put costs one write quorum`);
    for (const [name, count] of wrong) report.notes.push(`WRONG ANSWERS in ${name}: ${count}`);
    const stats = store.stats();
    if (stats.timeouts > 0 || stats.overloaded > 0) report.notes.push(`engine: ${stats.timeouts} timeouts, ${stats.overloaded} overloaded`);
  } finally {
    await db.close();
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

/** The sort part of the diagnostic range keys: the index, big-endian, so byte order is numeric order. */
function sortRest(i: number): Uint8Array {
  const rest = new Uint8Array(4);
  new DataView(rest.buffer).setUint32(0, i);
  return rest;
}

await main();
