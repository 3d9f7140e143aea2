/**
 * The transaction sweep's pace (transaction-coordinator.ts `start`): every
 * interval while the ledger may hold records, and only every
 * SWEEP_IDLE_INTERVAL_MS once a pass found it empty and no transaction began
 * since. Driven by hand: the host's timer is a function the test calls, its
 * clock a number the test moves, the engine the in-memory one (which counts
 * its range reads: one per ring partition per pass).
 */
import t from 'tap';
import { activeTable, createTable, EMPTY_CATALOG } from '../lib/tables/table-catalog.js';
import { encodeItemKey, type KeyValue } from '../lib/tables/key-encoding.js';
import { SWEEP_IDLE_INTERVAL_MS, TransactionCoordinator } from '../lib/tables/transactions/transaction-coordinator.js';
import { ledgerKey, type LedgerRecord } from '../lib/tables/transactions/transaction-ledger.js';
import { prepareTransactWriteItems } from '../lib/tables/transactions/transact-write-items.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';

const ACCOUNTS = { TableName: 'accounts', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' };
const created = createTable(EMPTY_CATALOG, ACCOUNTS, { nowMs: 0, tableUuid: 'uuid' }).state;
const catalog = { ...created, tables: Object.fromEntries(Object.entries(created.tables).map(([name, record]) => [name, { ...record, status: 'ACTIVE' as const }])) };
const table = (name: string) => activeTable(catalog, name);

function harness() {
  const engine = new MemoryTableEngine();
  let tick: (() => void) | undefined;
  const clock = { nowMs: 1_000_000 };
  let transactions = 0;
  const coordinator = new TransactionCoordinator({
    engine,
    nowMs: () => clock.nowMs,
    newTransactionId: () => `tx-${++transactions}`,
    sleep: async () => {},
    every: (_intervalMs, run) => {
      tick = run;
      return () => (tick = undefined);
    },
    itemKey: (tableName, key) => encodeItemKey(table(tableName).id, key.partition, key.sort as KeyValue | undefined).key,
    onItemChange: () => {},
    timeoutMs: 5000,
  });
  coordinator.start();
  /** One timer tick, and whatever pass it started run to its end; how many range reads it made. */
  const sweep = async (): Promise<number> => {
    const before = engine.rangeCalls;
    tick!();
    await coordinator.stop().then(() => coordinator.start()); // waits for the pass in flight (stop awaits it), keeps the timer
    return engine.rangeCalls - before;
  };
  return { engine, coordinator, clock, sweep };
}

t.test('a pass that found the ledger empty makes the next ones wait SWEEP_IDLE_INTERVAL_MS', async (t) => {
  const { engine, clock, sweep } = harness();
  t.equal(await sweep(), engine.partitions.length, 'the first pass reads every ring partition of the ledger (a previous process may have left records)');
  clock.nowMs += 1000;
  t.equal(await sweep(), 0, 'the ledger was empty and nothing began since: no pass');
  clock.nowMs += SWEEP_IDLE_INTERVAL_MS;
  t.equal(await sweep(), engine.partitions.length, 'a pass once the idle interval passed');
});

t.test('a transaction begun since the last pass, or a record the last pass found, brings the pace back', async (t) => {
  const { engine, coordinator, clock, sweep } = harness();
  await sweep();
  const plan = prepareTransactWriteItems({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { S: 'a' } } } }] }, table);
  await coordinator.transactWrite(plan);
  clock.nowMs += 1000;
  t.equal(await sweep(), engine.partitions.length, 'a transaction began since the empty pass: the next tick sweeps');
  clock.nowMs += 1000;
  t.equal(await sweep(), 0, 'that pass found the ledger empty again');

  // A record the coordinator did not write in this process's life (a late write, another process's): found by the idle pass.
  const left: LedgerRecord = { transactionId: 'other', state: 'PENDING', startedMs: clock.nowMs, items: [], token: null, digest: 'd', readUnits: {} };
  await engine.writeOrdered({ key: ledgerKey('other'), value: left, expect: 'absent' });
  clock.nowMs += SWEEP_IDLE_INTERVAL_MS;
  t.equal(await sweep(), engine.partitions.length, 'the idle pass runs');
  clock.nowMs += 1000;
  t.equal(await sweep(), engine.partitions.length, 'it found an open record: the next tick sweeps again');
});
