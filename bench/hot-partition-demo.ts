/**
 * `npm run demo:hot-partition`: the seed's STATUS example, side by side.
 *
 * Two tables with the same provisioned throughput and the same traffic (the
 * same requests per second, the same item size and read/write mix), run at
 * the same time on one Database under the capacity model (enforce):
 *   - orders_by_status: partition key STATUS, two values (ACTIVE, INACTIVE),
 *     every order an item of one of the two collections;
 *   - orders_by_id: partition key orderId, 100,000 values.
 * 3,900 WCU is four logical partitions of at most 1,000 WCU each (DynamoDB's
 * partition limit, DG bp-partition-key-design). Two partition-key values can
 * use at most two of them: each value is capped at one partition's 1,000
 * WCU however much the table has unused (adaptive capacity lends only up to
 * that cap), so the STATUS design throttles with
 * TableWriteKeyRangeThroughputExceeded while the orderId design spreads the
 * same load over all four and is never throttled.
 *
 * capacityScale 0.05 makes it laptop-sized (a partition: 50 WCU/s, the
 * table 180), with the same partitions the real table would have. Most
 * orders are ACTIVE (two thirds of the traffic), as in the seed's example.
 * Finishes in about 15 s.
 *
 *   npm run demo:hot-partition
 *   npm run demo:hot-partition -- --seconds 20 --html hot.html --json hot.json
 */
import fs from 'node:fs';
import path from 'node:path';
import { choice, int, parseOptions, text } from './lib/options.js';
import type { TableDesign } from './tables-workload/table-design.js';
import { renderTablesHtmlReport } from './tables-workload/tables-html-report.js';
import { runTablesWorkload } from './tables-workload/tables-runner.js';
import { formatTablesSummary, verdict } from './tables-workload/tables-summary.js';

const args = parseOptions('npm run demo:hot-partition --', "The seed's STATUS partition key against a well-spread key design, same throughput, same traffic: one throttles, one does not, and why.", {
  seconds: int(10, 'length of the run'),
  rate: int(150, 'requests per second, per table'),
  nodes: int(2, 'storage nodes (worker threads)'),
  capacity: choice('enforce', ['enforce', 'observe'] as const, 'throttle (enforce) or only report would-be throttles (observe)'),
  html: text('also write the HTML report to FILE', 'FILE'),
});

const SCALE = 0.05;
const common = {
  itemBytes: 200,
  readFraction: 0.2,
  consistentReadFraction: 0.5,
  billingMode: 'PROVISIONED' as const,
  readCapacityUnits: 1_000,
  writeCapacityUnits: 3_600,
};
const designs: TableDesign[] = [
  // Most orders are ACTIVE: zipfian over two values gives ACTIVE about two thirds of the requests.
  { ...common, table: 'orders_by_status', partitionKeys: 2, partitionKeyNames: ['ACTIVE', 'INACTIVE'], itemsPerPartitionKey: 100_000, skew: 'zipfian', theta: 0.99 },
  { ...common, table: 'orders_by_id', partitionKeys: 100_000, itemsPerPartitionKey: 1, skew: 'uniform', theta: 0.99 },
];

async function main(): Promise<void> {
  console.log('ringtable demo: a hot partition, reproduced locally');
  console.log(`two tables, each ${common.readCapacityUnits} RCU / ${common.writeCapacityUnits} WCU (scaled by ${SCALE}: ${common.readCapacityUnits * SCALE} / ${common.writeCapacityUnits * SCALE}),`);
  console.log(`each getting ${args.rate} requests/s (${100 - common.readFraction * 100}% PutItem of ${common.itemBytes} B, ${common.readFraction * 100}% GetItem) for ${args.seconds} s:`);
  for (const design of designs) console.log(`  ${design.table.padEnd(18)} partition key ${design.partitionKeyNames === undefined ? `orderId (${design.partitionKeys} values)` : `STATUS (${design.partitionKeyNames.join(', ')})`}`);
  console.log('');
  const report = await runTablesWorkload({
    command: ['npm run demo:hot-partition --', ...process.argv.slice(2)].join(' '),
    designs,
    capacity: args.capacity,
    capacityScale: SCALE,
    opsPerSecond: args.rate,
    durationSeconds: args.seconds,
    concurrency: 256,
    seed: args.seed,
    nodes: args.nodes,
    durability: 'none',
    onSecond: (second, perTable) => console.log(`  ${String(second).padStart(3)} s  ${perTable.map((t) => `${t.table} ${t.requests} requests, ${t.throttled} throttled`).join('   ')}`),
  });
  console.log('');
  console.log(formatTablesSummary(report));
  console.log('');
  console.log('why:');
  for (const run of report.tables) console.log(`  ${run.design.table}: ${verdict(run)}`);
  console.log(`  A partition serves at most 1,000 WCU/s (here ${1000 * SCALE}); adaptive capacity lends a hot partition the table\'s unused`);
  console.log('  throughput only up to that cap, so two STATUS values can never use more than two partitions\' worth.');
  console.log('  Split for heat would need minutes of sustained heat, and never splits below one item.');
  const write = (file: string, content: string, what: string) => {
    const full = path.resolve(file);
    fs.writeFileSync(full, content);
    console.log(`${what} written to ${full}`);
  };
  if (args.json !== undefined) write(args.json, JSON.stringify(report, null, 2) + '\n', 'JSON report');
  if (args.html !== undefined) write(args.html, renderTablesHtmlReport(report), 'HTML report');
}

await main();
