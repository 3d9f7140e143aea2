/**
 * The transaction recovery sweep's timer (transaction-coordinator.ts,
 * `start`): a sole coordinator skips its timed sweeps while nothing can be
 * open (the last sweep found the ledger empty and no attempt began since), so
 * an idle or read-only Database does not read every ring partition's ledger
 * range each interval; any attempt makes the next tick sweep again. Several
 * coordinators on one ledger (the simulation) always sweep. On the in-memory
 * engine, whose range calls are counted.
 */
import t from 'tap';
import { activeTable, createTable, EMPTY_CATALOG } from '../lib/tables/table-catalog.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import type { KeyValue } from '../lib/tables/key-encoding.js';
import { prepareTransactWriteItems } from '../lib/tables/transactions/transact-write-items.js';
import { TransactionCoordinator } from '../lib/tables/transactions/transaction-coordinator.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';

const created = createTable(
  EMPTY_CATALOG,
  { TableName: 'accounts', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' },
  { nowMs: 0, tableUuid: 'accounts' },
).state;
const record = activeTable({ ...created, tables: { accounts: { ...created.tables['accounts']!, status: 'ACTIVE' } } }, 'accounts');

function setUp(soleCoordinator: boolean | undefined) {
  const engine = new MemoryTableEngine();
  let timerRun: (() => void) | undefined;
  const coordinator = new TransactionCoordinator({
    engine,
    nowMs: () => 1_000,
    newTransactionId: (() => {
      let id = 0;
      return () => `tx${id++}`;
    })(),
    sleep: async () => {},
    every: (_intervalMs, run) => {
      timerRun = run;
      return () => (timerRun = undefined);
    },
    itemKey: (_tableName, key) => encodeItemKey(record.id, key.partition as KeyValue).key,
    onItemChange: () => {},
    timeoutMs: 500,
    ...(soleCoordinator === undefined ? {} : { soleCoordinator }),
  });
  coordinator.start();
  /**
   * One timer tick, awaited to its end; returns the engine's range calls it
   * made. `meanwhile` is started right after the tick, and not awaited.
   */
  async function sweepTick(meanwhile?: () => Promise<unknown>): Promise<number> {
    const before = engine.rangeCalls;
    timerRun!();
    meanwhile?.();
    await coordinator.stop(); // waits for the sweep in flight
    coordinator.start();
    return engine.rangeCalls - before;
  }
  const transfer = (id: string) =>
    coordinator.transactWrite(prepareTransactWriteItems({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { S: id } } } }] }, () => record));
  return { coordinator, engine, tick: sweepTick, transfer };
}

t.test('a sole coordinator sweeps on start, skips while idle, and sweeps again after any transaction', async (t) => {
  const { coordinator, tick, transfer } = setUp(true);
  t.teardown(() => coordinator.stop());
  t.ok((await tick()) > 0, 'the first tick sweeps: a restart must look for what a dead process left');
  t.equal(await tick(), 0, 'the ledger was empty and nothing began: no reads');
  t.equal(await tick(), 0, 'still idle');
  await transfer('a');
  t.ok((await tick()) > 0, 'a transaction began: the next tick sweeps');
  t.equal(await tick(), 0, 'and found it finished: idle again');
});

t.test('a transaction begun during a sweep that found nothing keeps the next tick sweeping', async (t) => {
  const { coordinator, engine, tick, transfer } = setUp(true);
  t.teardown(() => coordinator.stop());
  await tick();
  await transfer('a'); // the next tick has a reason to sweep
  // Hold every write until the sweep is over, so the sweep finds the ledger empty while an attempt has begun.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  engine.writeDelay = () => gate;
  let during: Promise<unknown> | undefined;
  t.ok((await tick(() => (during = transfer('b')))) > 0, 'the tick swept');
  release();
  await during;
  t.ok((await tick()) > 0, 'an attempt began while that sweep ran (its ledger record may sit behind the sweep): look again');
  t.equal(await tick(), 0, 'then idle');
});

t.test('coordinators that share a ledger always sweep', async (t) => {
  for (const sole of [undefined, false]) {
    const { coordinator, tick } = setUp(sole);
    t.ok((await tick()) > 0, 'the first tick sweeps');
    t.ok((await tick()) > 0, `soleCoordinator ${String(sole)}: another coordinator may have left a record`);
    await coordinator.stop();
  }
});
