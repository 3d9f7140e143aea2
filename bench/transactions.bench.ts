/**
 * TransactWriteItems against the same writes done singly (issue 13 §6).
 *
 *   npm run bench:transactions
 *   node dist/bench/transactions.bench.js --items 2000 --concurrency 4 --rounds 3 --durability async
 *
 * For each group size k in 2, 10 and 100, every timed run writes `--items`
 * fresh items (an S key and a 100-character S attribute, about 110 bytes)
 * into one table of a Database on real storage nodes, in groups of k, with
 * `--concurrency` groups in flight at once:
 *   - transaction: one TransactWriteItems of k Puts per group (ledger,
 *     prepare and commit per item: transactions/transaction-coordinator.ts);
 *   - singles: the group's k PutItems sent at once, awaited together.
 * Runs alternate (transaction, singles, ...) on fresh keys; medians are
 * reported, as items written per second and groups per second.
 */
import { Database, type StoreOptions } from '../lib/index.js';
import { type Run, formatRate, formatSeconds, interleave, settle, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { type Report, commandLine, environment, figure, finishReport } from './lib/report.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const GROUP_SIZES = [2, 10, 100] as const;
const VALUE = 'x'.repeat(100);

const args = parseOptions('node dist/bench/transactions.bench.js', 'TransactWriteItems of 2, 10 and 100 items against the same PutItems done singly.', {
  items: int(2000, 'items written per timed run (a multiple of 100 keeps every group size whole)'),
  concurrency: int(4, 'groups in flight at once'),
  rounds: int(3, 'interleaved rounds (transaction, singles)'),
  nodes: int(4, 'storage nodes'),
  durability: choice('async', ['none', 'async', 'sync'] as const, "storage durability ('async' is ringtable's default)"),
  dir: text('parent directory for the data (default: the OS temp dir)', 'DIR'),
});

let keyCounter = 0;

function group(size: number): Array<Record<string, { S: string }>> {
  return Array.from({ length: size }, () => ({ id: { S: `k${++keyCounter}` }, v: { S: VALUE } }));
}

/** `groups` groups of `size` items, `concurrency` at a time. */
async function runGroups(groups: number, concurrency: number, write: (items: Array<Record<string, { S: string }>>) => Promise<void>, size: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups) {
      next += 1;
      await write(group(size));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, groups) }, worker));
}

async function main(): Promise<void> {
  const storeOptions: Omit<StoreOptions, 'path'> = { nodes: args.nodes, durability: args.durability };
  const report: Report = {
    benchmark: 'TransactWriteItems vs single PutItems',
    command: commandLine('transactions.bench.js'),
    measured: `${args.items} new items (~110 B) per run into one table, in groups of k (2, 10, 100), ${args.concurrency} groups in flight; one TransactWriteItems of k Puts per group vs the group's k PutItems sent together; interleaved runs, median reported`,
    environment: environment(),
    config: { items: args.items, concurrency: args.concurrency, rounds: args.rounds, seed: args.seed },
    storeOptions: { ...storeOptions },
    phases: {},
    figures: [],
    ratios: [],
    notes: ['each transaction writes its ledger record three times (PENDING, COMMITTED, deleted) and every item twice (prepared, applied), after one consistent read per item'],
  };
  const parent = makeTempDir('ringtable-bench-transactions-', args.dir);
  const db = await Database.open({ path: parent, ...storeOptions });
  try {
    await db.createTable({ TableName: 'bench', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' });
    console.log(`transactions benchmark: ${args.items} items per run, concurrency ${args.concurrency}, ${args.rounds} rounds, ${args.nodes} nodes, durability ${args.durability}`);
    for (const size of GROUP_SIZES) {
      const groups = Math.max(1, Math.floor(args.items / size));
      const items = groups * size;
      const runs = await interleave(
        args.rounds,
        [
          {
            name: `transaction of ${size}`,
            run: async () => {
              await settle();
              return timed(items, () => runGroups(groups, args.concurrency, async (group) => void (await db.transactWriteItems({ TransactItems: group.map((Item) => ({ Put: { TableName: 'bench', Item } })) })), size));
            },
          },
          {
            name: `${size} singles`,
            run: async () => {
              await settle();
              return timed(items, () => runGroups(groups, args.concurrency, async (group) => void (await Promise.all(group.map((Item) => db.putItem({ TableName: 'bench', Item })))), size));
            },
          },
        ],
        (name: string, round: number, run: Run) => console.log(`  round ${round + 1}/${args.rounds} ${name.padEnd(18)} ${formatRate(run.opsPerSecond).padStart(7)} items/s, ${formatRate(run.opsPerSecond / size).padStart(7)} groups/s (${formatSeconds(run.seconds)})`),
      );
      const transaction = figure(`TransactWriteItems of ${size} Puts`, `one item written inside a TransactWriteItems of ${size} Puts`, runs.get(`transaction of ${size}`)!);
      const singles = figure(`${size} PutItems at once`, `one item written by a PutItem, ${size} sent together`, runs.get(`${size} singles`)!);
      report.figures.push(transaction, singles);
      report.ratios.push({ name: `transaction of ${size} / ${size} singles (items per second)`, value: transaction.medianOpsPerSecond / singles.medianOpsPerSecond });
    }
  } finally {
    await db.close();
    removeTempDir(parent);
  }
  finishReport(report, args.json);
}

await main();
