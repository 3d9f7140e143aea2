/**
 * TransactWriteItems and TransactGetItems through the Database over the
 * in-memory engine contract (helpers/memory-table-engine.ts): commits across
 * tables and partitions, cancellation reasons, ClientRequestToken, doubled
 * capacity, conflicts with a transaction held in flight (single writes get
 * TransactionConflictException, reads see the prior image), a coordinator
 * that dies after each of its engine writes (recovered by another Database:
 * all or nothing), and a seeded randomized run of concurrent transfers with
 * dying coordinators that must conserve the total and show every
 * acknowledged transfer. The same protocol against real storage nodes, with
 * crashNode and kill -9, is tables-transactions-nodes.test.ts.
 */
import t, { type Test } from 'tap';
import { Database } from '../lib/tables/database.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import type { OrderedValue, OrderedWrite, RangePage, RangeRequest, TableEngine, TokenRange } from '../lib/tables/table-engine.js';
import { splitPartitionedKey } from '../lib/ring/partitioned-key.js';
import { preparedOf } from '../lib/tables/transactions/prepared-item.js';
import { LEDGER_SPACE } from '../lib/tables/transactions/transaction-ledger.js';
import { Prng } from '../lib/prng.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { dynamoDbRejection } from './helpers/dynamodb-failure.js';
import { ACCOUNTS_TABLE, RECEIPTS_TABLE } from './helpers/transfer-workload.js';
import { openOnMemory } from './helpers/memory-database.js';
import { tempDir } from './helpers/temp-store.js';

function open(t: Test, dir: string, engine: TableEngine, transactionTimeoutMs = 60_000): Database {
  return openOnMemory(t, { transactionTimeoutMs }, engine, dir).db;
}

async function setup(t: Test, accounts = 4, balance = 100): Promise<{ db: Database; engine: MemoryTableEngine; dir: string }> {
  const engine = new MemoryTableEngine();
  const dir = tempDir(t);
  const db = open(t, dir, engine);
  await db.createTable(ACCOUNTS_TABLE);
  await db.createTable(RECEIPTS_TABLE);
  for (let i = 0; i < accounts; i += 1) await db.putItem({ TableName: 'accounts', Item: { id: { S: `a${i}` }, balance: { N: String(balance) } } });
  return { db, engine, dir };
}

const balanceOf = async (db: Database, id: string): Promise<number> => {
  const got = await db.getItem({ TableName: 'accounts', Key: { id: { S: id } }, ConsistentRead: true });
  return Number((got.Item?.['balance'] as { N: string } | undefined)?.N ?? NaN);
};

/** A transfer as one transaction: debit (conditional), credit, and a receipt that records it. */
function transfer(from: string, to: string, amount: number, receipt: number, token?: string): Record<string, unknown> {
  const request: Record<string, unknown> = {
    TransactItems: [
      { Update: { TableName: 'accounts', Key: { id: { S: from } }, UpdateExpression: 'SET balance = balance - :a', ConditionExpression: 'balance >= :a', ExpressionAttributeValues: { ':a': { N: String(amount) } } } },
      { Update: { TableName: 'accounts', Key: { id: { S: to } }, UpdateExpression: 'SET balance = balance + :a', ExpressionAttributeValues: { ':a': { N: String(amount) } } } },
      { Put: { TableName: 'receipts', Item: { pk: { S: 'r' }, sk: { N: String(receipt) }, from: { S: from }, to: { S: to }, amount: { N: String(amount) } }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ],
  };
  if (token !== undefined) request['ClientRequestToken'] = token;
  return request;
}

/** Ledger records in the engine: none may stay once every transaction finished. */
function ledgerCount(engine: MemoryTableEngine): number {
  return engine.keys().filter((key) => splitPartitionedKey(key).space === LEDGER_SPACE).length;
}

async function preparedCount(engine: MemoryTableEngine): Promise<number> {
  let count = 0;
  for (const key of engine.keys()) if (preparedOf((await engine.getOrdered(key))?.value) !== undefined) count += 1;
  return count;
}

async function receipts(db: Database): Promise<AttributeMap[]> {
  const items: AttributeMap[] = [];
  let start: AttributeMap | undefined;
  do {
    const page = await db.query({ TableName: 'receipts', KeyConditionExpression: 'pk = :r', ExpressionAttributeValues: { ':r': { S: 'r' } }, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) });
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Balances must equal the start plus exactly the receipts present: each transfer all or nothing. */
async function checkAllOrNothing(t: Test, db: Database, accounts: number, balance: number): Promise<AttributeMap[]> {
  const expected = new Map<string, number>(Array.from({ length: accounts }, (_, i) => [`a${i}`, balance]));
  const present = await receipts(db);
  for (const receipt of present) {
    const amount = Number((receipt['amount'] as { N: string }).N);
    const from = (receipt['from'] as { S: string }).S;
    const to = (receipt['to'] as { S: string }).S;
    expected.set(from, expected.get(from)! - amount);
    expected.set(to, expected.get(to)! + amount);
  }
  let total = 0;
  for (const [id, value] of expected) {
    const actual = await balanceOf(db, id);
    total += actual;
    if (actual !== value) t.fail(`account ${id}: ${actual}, but the receipts say ${value}`);
  }
  t.equal(total, accounts * balance, 'the total is conserved');
  return present;
}

t.test('a transaction across tables and partitions commits every action', async (t) => {
  const { db } = await setup(t);
  const output = await db.transactWriteItems({
    ...transfer('a0', 'a1', 30, 1),
    ReturnConsumedCapacity: 'TOTAL',
  } as never);
  t.same(output, { ConsumedCapacity: [{ TableName: 'accounts', CapacityUnits: 4, WriteCapacityUnits: 4 }, { TableName: 'receipts', CapacityUnits: 2, WriteCapacityUnits: 2 }] }, 'transactional writes cost double');
  t.equal(await balanceOf(db, 'a0'), 70);
  t.equal(await balanceOf(db, 'a1'), 130);
  t.equal((await receipts(db)).length, 1);
  t.equal((await db.describeTable({ TableName: 'receipts' })).Table.ItemCount, 1, 'the catalog counts the item the transaction created');
  await db.transactWriteItems({
    TransactItems: [
      { Delete: { TableName: 'receipts', Key: { pk: { S: 'r' }, sk: { N: '1' } }, ConditionExpression: 'amount = :a', ExpressionAttributeValues: { ':a': { N: '30' } } } },
      { ConditionCheck: { TableName: 'accounts', Key: { id: { S: 'a0' } }, ConditionExpression: 'balance = :b', ExpressionAttributeValues: { ':b': { N: '70' } } } },
    ],
  });
  t.equal((await receipts(db)).length, 0, 'Delete applied');
  t.equal(await balanceOf(db, 'a0'), 70, 'ConditionCheck writes nothing');
  const got = await db.transactGetItems({
    TransactItems: [
      { Get: { TableName: 'accounts', Key: { id: { S: 'a0' } }, ProjectionExpression: 'balance' } },
      { Get: { TableName: 'accounts', Key: { id: { S: 'nobody' } } } },
      { Get: { TableName: 'accounts', Key: { id: { S: 'a1' } } } },
    ],
    ReturnConsumedCapacity: 'TOTAL',
  });
  t.same(got, {
    Responses: [{ Item: { balance: { N: '70' } } }, {}, { Item: { id: { S: 'a1' }, balance: { N: '130' } } }],
    ConsumedCapacity: [{ TableName: 'accounts', CapacityUnits: 6, ReadCapacityUnits: 6 }],
  });
  const dispatched = await db.dispatch('TransactGetItems', { TransactItems: [{ Get: { TableName: 'accounts', Key: { id: { S: 'a1' } } } }] });
  t.same(dispatched, { Responses: [{ Item: { id: { S: 'a1' }, balance: { N: '130' } } }] }, 'the wire handler reaches it through dispatch');
});

t.test('a failed condition cancels the whole transaction, with reasons in action order', async (t) => {
  const { db, engine } = await setup(t);
  const error = await dynamoDbRejection(
    db.transactWriteItems({
      TransactItems: [
        { Put: { TableName: 'receipts', Item: { pk: { S: 'r' }, sk: { N: '9' } } } },
        { Update: { TableName: 'accounts', Key: { id: { S: 'a0' } }, UpdateExpression: 'SET balance = balance - :a', ConditionExpression: 'balance >= :a', ExpressionAttributeValues: { ':a': { N: '1000' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
        { ConditionCheck: { TableName: 'accounts', Key: { id: { S: 'zz' } }, ConditionExpression: 'attribute_exists(id)' } },
      ],
    } as never),
  );
  t.equal(error.name, 'TransactionCanceledException');
  t.equal(error.message, 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed]');
  t.same(error.cancellationReasons, [
    { Code: 'None' },
    { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { id: { S: 'a0' }, balance: { N: '100' } } },
    { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
  ]);
  t.equal((await receipts(db)).length, 0, 'the Put did not happen');
  t.equal(await balanceOf(db, 'a0'), 100);
  t.equal(ledgerCount(engine), 0, 'no ledger record left');
  t.equal(await preparedCount(engine), 0, 'no item left prepared');
});

t.test('ClientRequestToken: a repeat changes nothing, another request under the token is refused', async (t) => {
  const { db } = await setup(t);
  await db.transactWriteItems(transfer('a0', 'a1', 10, 1, 'token-1') as never);
  const again = await db.transactWriteItems({ ...transfer('a0', 'a1', 10, 1, 'token-1'), ReturnConsumedCapacity: 'TOTAL' } as never);
  t.equal(await balanceOf(db, 'a0'), 90, 'applied once');
  t.same(again.ConsumedCapacity?.map((c) => [c.TableName, c.ReadCapacityUnits]), [['accounts', 4], ['receipts', 2]], 'a repeat reports read units');
  const mismatch = await dynamoDbRejection(db.transactWriteItems(transfer('a0', 'a1', 11, 2, 'token-1') as never));
  t.equal(mismatch.name, 'IdempotentParameterMismatchException');
  await db.transactWriteItems(transfer('a0', 'a1', 10, 2) as never);
  await db.transactWriteItems(transfer('a0', 'a1', 10, 3) as never);
  t.equal(await balanceOf(db, 'a0'), 70, 'without a token every request runs');
  const cancelled = await dynamoDbRejection(db.transactWriteItems(transfer('a0', 'a1', 1000, 4, 'token-2') as never));
  t.equal(cancelled.name, 'TransactionCanceledException');
  await db.putItem({ TableName: 'accounts', Item: { id: { S: 'a0' }, balance: { N: '5000' } } });
  await db.transactWriteItems(transfer('a0', 'a1', 1000, 4, 'token-2') as never);
  t.equal(await balanceOf(db, 'a0'), 4000, 'a cancelled request may be retried under its token');
});

/** An engine that stops (every later call never settles) after `writesMax` writes: a coordinator that died there. */
class DyingEngine implements TableEngine {
  writes = 0;
  dead = false;
  constructor(
    private readonly inner: TableEngine,
    private readonly writesMax: number,
  ) {}
  private async gate(): Promise<void> {
    if (this.dead) await new Promise(() => {});
  }
  async getOrdered(key: Uint8Array, options?: { consistent?: boolean }): Promise<OrderedValue | undefined> {
    await this.gate();
    return this.inner.getOrdered(key, options);
  }
  async writeOrdered(write: OrderedWrite): Promise<{ version: string }> {
    await this.gate();
    if (this.writes >= this.writesMax) {
      this.dead = true;
      await this.gate();
    }
    this.writes += 1;
    return this.inner.writeOrdered(write);
  }
  async range(request: RangeRequest): Promise<RangePage> {
    await this.gate();
    return this.inner.range(request);
  }
  tokenRanges(): TokenRange[] {
    return this.inner.tokenRanges();
  }
  async dropSpace(space: number): Promise<void> {
    return this.inner.dropSpace(space);
  }
  async close(): Promise<void> {}
}

t.test('a coordinator that dies after any of its writes leaves the transfer all or nothing once recovered', async (t) => {
  // A 3-item transfer writes: the ledger, 3 prepares, the commit, 3 applies, the ledger's deletion.
  const WRITES = 9;
  const outcomes: string[] = [];
  for (let writesMax = 0; writesMax <= WRITES; writesMax += 1) {
    const { engine, dir } = await setup(t);
    const dying = new DyingEngine(engine, writesMax);
    const doomed = Database.openOnEngine(dying, { path: dir, transactionTimeoutMs: 600_000 });
    void doomed.transactWriteItems(transfer('a0', 'a1', 25, 1) as never).catch(() => undefined);
    for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
    t.equal(dying.dead || writesMax >= WRITES, true, `died after ${writesMax} writes`);
    // Before recovery every read path shows committed state only: the prior image, or the applied one.
    const survivor = open(t, dir, engine, 1);
    const before = await balanceOf(survivor, 'a0');
    t.ok(before === 100 || before === 75, `a reader sees a0 at ${before}`);
    t.ok((await survivor.scan({ TableName: 'accounts', ConsistentRead: true })).Items!.every((item) => preparedOf(item) === undefined), 'scan decodes prepared items');
    // Past ten timeouts, so that a recoverer also drops the CANCELLED records it keeps for late prepares.
    await new Promise((resolve) => setTimeout(resolve, 15));
    await survivor.recoverTransactions();
    const present = await checkAllOrNothing(t, survivor, 4, 100);
    outcomes.push(present.length === 1 ? 'committed' : 'cancelled');
    t.equal(await preparedCount(engine), 0, `after ${writesMax} writes: no item stays prepared`);
    t.equal(ledgerCount(engine), 0, `after ${writesMax} writes: the ledger is empty`);
  }
  // Before the commit point a recoverer cancels; after it, it rolls forward.
  t.same(outcomes, ['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled', 'committed', 'committed', 'committed', 'committed', 'committed']);
});

t.test('a transaction in flight locks its items: single writes conflict, readers see the prior image', async (t) => {
  const { db, engine, dir } = await setup(t);
  // Hold the coordinator after its ledger and prepares (4 writes), before the commit.
  let release: () => void = () => {};
  let writes = 0;
  engine.writeDelay = async () => {
    writes += 1;
    if (writes === 5) await new Promise<void>((resolve) => (release = resolve));
  };
  const inFlight = db.transactWriteItems(transfer('a0', 'a1', 40, 7) as never);
  while (writes < 5) await new Promise((resolve) => setImmediate(resolve));
  const other = open(t, dir, engine);
  const conflict = await dynamoDbRejection(other.putItem({ TableName: 'accounts', Item: { id: { S: 'a0' }, balance: { N: '1' } } }));
  t.same([conflict.name, conflict.message], ['TransactionConflictException', 'Transaction is ongoing for the item']);
  const update = await dynamoDbRejection(other.updateItem({ TableName: 'accounts', Key: { id: { S: 'a1' } }, UpdateExpression: 'SET x = :x', ExpressionAttributeValues: { ':x': { N: '1' } } }));
  t.equal(update.name, 'TransactionConflictException');
  t.equal(await balanceOf(other, 'a0'), 100, 'GetItem: the prior image');
  t.equal((await receipts(other)).length, 0, 'Query: the item the transaction creates is not there yet');
  t.same((await other.batchGetItem({ RequestItems: { accounts: { Keys: [{ id: { S: 'a1' } }], ConsistentRead: true } } })).Responses['accounts'], [{ id: { S: 'a1' }, balance: { N: '100' } }], 'BatchGetItem: the prior image');
  const read = await dynamoDbRejection(other.transactGetItems({ TransactItems: [{ Get: { TableName: 'accounts', Key: { id: { S: 'a2' } } } }, { Get: { TableName: 'accounts', Key: { id: { S: 'a1' } } } }] }));
  t.same([read.name, read.cancellationReasons], ['TransactionCanceledException', [{ Code: 'None' }, { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }]]);
  const loser = await dynamoDbRejection(other.transactWriteItems(transfer('a2', 'a1', 5, 8) as never));
  t.equal(loser.message, 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]');
  engine.writeDelay = async () => {};
  release();
  await inFlight;
  t.equal(await balanceOf(other, 'a0'), 60, 'the winner committed');
  t.equal(await balanceOf(other, 'a2'), 100, 'the loser changed nothing');
  await other.putItem({ TableName: 'accounts', Item: { id: { S: 'a3' }, balance: { N: '100' } } });
  t.equal(await preparedCount(engine), 0);
});

t.test('seeded randomized transfers with dying coordinators: the total is conserved, every acknowledged transfer is there', async (t) => {
  const SEEDS = [1, 2, 3];
  for (const seed of SEEDS) {
    const prng = new Prng(seed);
    const ACCOUNTS_COUNT = 6;
    const { engine, dir } = await setup(t, ACCOUNTS_COUNT, 100);
    // Interleave the clients' engine calls in a seeded order.
    engine.writeDelay = async () => {
      for (let i = prng.nextBelow(4); i > 0; i -= 1) await new Promise((resolve) => setImmediate(resolve));
    };
    let receipt = 0;
    const acknowledged: number[] = [];
    const client = async (db: Database, transfers: number): Promise<void> => {
      for (let n = 0; n < transfers; n += 1) {
        const from = prng.nextBelow(ACCOUNTS_COUNT);
        const to = (from + 1 + prng.nextBelow(ACCOUNTS_COUNT - 1)) % ACCOUNTS_COUNT;
        const id = ++receipt;
        for (let attempt = 0; attempt < 50; attempt += 1) {
          try {
            await db.transactWriteItems(transfer(`a${from}`, `a${to}`, 1 + prng.nextBelow(30), id, `seed${seed}-t${id}`) as never);
            acknowledged.push(id);
            break;
          } catch (error) {
            if (!(error instanceof DynamoDbError)) throw error;
            const reasons = error.cancellationReasons?.map((reason) => reason.Code) ?? [];
            if (error.name === 'TransactionCanceledException' && reasons.includes('ConditionalCheckFailed') && !reasons.includes('TransactionConflict')) break;
            await new Promise((resolve) => setTimeout(resolve, 1 + prng.nextBelow(5)));
          }
        }
      }
    };
    const live = Array.from({ length: 4 }, () => open(t, dir, engine, 20));
    const engines = Array.from({ length: 3 }, () => new DyingEngine(engine, 5 + prng.nextBelow(40)));
    let doomedDone = 0;
    for (const dying of engines) {
      void client(Database.openOnEngine(dying, { path: dir, transactionTimeoutMs: 20 }), 20)
        .catch(() => undefined)
        .finally(() => (doomedDone += 1));
    }
    await Promise.all(live.map((db) => client(db, 15)));
    // Every doomed client either died or finished; then its transactions are stale.
    while (engines.filter((dying) => dying.dead).length + doomedDone < engines.length) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 25));
    await live[0]!.recoverTransactions();
    const present = await checkAllOrNothing(t, live[0]!, ACCOUNTS_COUNT, 100);
    const ids = new Set(present.map((item) => Number((item['sk'] as { N: string }).N)));
    t.ok(acknowledged.every((id) => ids.has(id)), `seed ${seed}: all ${acknowledged.length} acknowledged transfers are visible (${present.length} present)`);
    t.ok(acknowledged.length > 10, `seed ${seed}: the live clients made progress`);
    t.equal(await preparedCount(engine), 0, `seed ${seed}: nothing stays prepared`);
  }
});
