/**
 * `ringtable bench tables`: a DynamoDB access pattern (tables-workload/
 * table-design.ts) against one table of an embedded Database under the
 * capacity model; reports throttles per logical partition, the hottest keys
 * and the consumed capacity in the terminal, as JSON and as HTML.
 * `--versus-partition-keys N` runs a second table beside it, identical but
 * for its partition-key cardinality, for a side-by-side comparison.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ITEM_BYTES_MAX, PARTITION_KEYS_MAX, type TableDesign } from './table-design.js';
import { renderTablesHtmlReport } from './tables-html-report.js';
import { runTablesWorkload } from './tables-runner.js';
import { formatTablesSummary } from './tables-summary.js';

interface TablesCommandOptions {
  partitionKeys: number;
  versusPartitionKeys?: number;
  itemsPerKey: number;
  skew: 'uniform' | 'zipfian';
  theta: number;
  itemBytes: number;
  readFraction: number;
  consistentReadFraction: number;
  billingMode: 'provisioned' | 'on-demand';
  rcu: number;
  wcu: number;
  capacity: 'off' | 'observe' | 'enforce';
  capacityScale: number;
  rate: number;
  duration: number;
  concurrency: number;
  nodes: number;
  durability: 'none' | 'async' | 'sync';
  seed: number;
  path?: string;
  json?: string;
  html?: string;
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text.replaceAll('_', ''));
    if (!/^\d[\d_]*$/.test(text) || value < min || value > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${text}'`);
    return value;
  };
}

function number(min: number, max: number, openMin = false): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (openMin && value === min)) {
      throw new InvalidArgumentError(`expected a number ${openMin ? 'above' : 'from'} ${min}${openMin ? ' and up' : ''} to ${max}, got '${text}'`);
    }
    return value;
  };
}

export function tablesCommand(): Command {
  return new Command('tables')
    .description("A DynamoDB access pattern against a table of an embedded Database under DynamoDB's capacity model: throttles per logical partition, hottest keys, consumed capacity.")
    .option('--partition-keys <count>', 'partition-key cardinality: distinct partition-key values the traffic uses', integer(1, PARTITION_KEYS_MAX), 1000)
    .option('--versus-partition-keys <count>', 'also run a second table, identical but with this cardinality, side by side', integer(1, PARTITION_KEYS_MAX))
    .option('--items-per-key <count>', 'items per partition key (sort keys); 1 means no sort key', integer(1, 1_000_000), 1)
    .addOption(new Option('--skew <name>', 'how partition keys are chosen: uniform, or zipfian (the first key the hottest)').choices(['uniform', 'zipfian']).default('zipfian'))
    .option('--theta <number>', 'zipfian constant (0 < theta < 1)', number(0, 0.999999, true), 0.99)
    .option('--item-bytes <bytes>', 'payload bytes per item written', integer(0, ITEM_BYTES_MAX), 200)
    .option('--read-fraction <fraction>', 'share of requests that are GetItem (the rest PutItem)', number(0, 1), 0.5)
    .option('--consistent-read-fraction <fraction>', 'share of reads with ConsistentRead (twice the cost)', number(0, 1), 0)
    .addOption(new Option('--billing-mode <mode>', 'the table\'s billing mode').choices(['provisioned', 'on-demand']).default('provisioned'))
    .option('--rcu <units>', 'provisioned ReadCapacityUnits (before --capacity-scale)', integer(1, 1_000_000), 3000)
    .option('--wcu <units>', 'provisioned WriteCapacityUnits (before --capacity-scale)', integer(1, 1_000_000), 3000)
    .addOption(new Option('--capacity <mode>', 'the capacity model: enforce (throttle), observe (only report), off').choices(['off', 'observe', 'enforce']).default('enforce'))
    .option('--capacity-scale <factor>', 'multiply every throughput limit (0.01: a partition serves 30 RCU / 10 WCU per second)', number(0, 1_000, true), 0.01)
    .option('--rate <requests>', 'requests per second, per table (open loop)', integer(1, 1_000_000), 200)
    .option('--duration <seconds>', 'length of the run', number(0, 86_400, true), 10)
    .option('--concurrency <count>', 'requests in flight at most, per table (beyond: skipped and noted)', integer(1, 65_536), 256)
    .option('--nodes <count>', 'storage nodes (worker threads)', integer(1, 64), 4)
    .addOption(new Option('--durability <mode>', 'when a write is acknowledged').choices(['none', 'async', 'sync']).default('none'))
    .option('--seed <number>', 'seed of the request stream', integer(0, 2 ** 32 - 1), 42)
    .option('--path <dir>', 'database directory (default: a temporary one, removed at the end)')
    .option('--json <file>', 'write the report as JSON to FILE')
    .option('--html <file>', 'write a self-contained HTML report to FILE')
    .addHelpText('after', ['', 'Examples:', '  ringtable bench tables --partition-keys 2 --versus-partition-keys 100000 --skew uniform --wcu 3900 --rcu 300 --read-fraction 0.2 --rate 30', '  ringtable bench tables --billing-mode on-demand --skew zipfian --capacity observe --html tables.html'].join('\n'))
    .action(async (options: TablesCommandOptions) => {
      const design: TableDesign = {
        table: 'bench_table',
        partitionKeys: options.partitionKeys,
        itemsPerPartitionKey: options.itemsPerKey,
        skew: options.skew,
        theta: options.theta,
        itemBytes: options.itemBytes,
        readFraction: options.readFraction,
        consistentReadFraction: options.consistentReadFraction,
        billingMode: options.billingMode === 'on-demand' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
        readCapacityUnits: options.rcu,
        writeCapacityUnits: options.wcu,
      };
      const designs = [design];
      if (options.versusPartitionKeys !== undefined) designs.push({ ...design, table: 'bench_table_versus', partitionKeys: options.versusPartitionKeys });
      console.log('ringtable bench tables: a DynamoDB access pattern under the capacity model');
      const report = await runTablesWorkload({
        command: ['ringtable', ...process.argv.slice(2)].join(' '),
        designs,
        capacity: options.capacity,
        capacityScale: options.capacityScale,
        opsPerSecond: options.rate,
        durationSeconds: options.duration,
        concurrency: options.concurrency,
        seed: options.seed,
        nodes: options.nodes,
        durability: options.durability,
        path: options.path,
      });
      console.log(formatTablesSummary(report));
      const write = (file: string, text: string, what: string) => {
        const full = path.resolve(file);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, text);
        console.log(`${what} written to ${full}`);
      };
      if (options.json !== undefined) write(options.json, JSON.stringify(report, null, 2) + '\n', 'JSON report');
      if (options.html !== undefined) write(options.html, renderTablesHtmlReport(report), 'HTML report (open it in a browser)');
    });
}
