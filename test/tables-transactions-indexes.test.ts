/**
 * Transactions on a table with a GSI, an LSI and a stream, against real
 * storage nodes (Database.open): a committed TransactWriteItems reaches the
 * LSI (synchronously), the GSI (through its queue) and the stream exactly
 * once per changed item, in the item's own atomic write; a cancelled one
 * changes none of them; a prepared (locked) item is never indexed or
 * streamed, also while its coordinator is dead; the recovery sweep finishes
 * a crashed coordinator's commit with exactly one record per change; the
 * LSI item collection limit cancels a transaction (reason
 * ItemCollectionSizeLimitExceeded) and ReturnItemCollectionMetrics answers
 * per table.
 *
 * Stream records are read from the stream space's change log directly
 * (indexes/change-log.ts): the stream reader is not part of this branch.
 */
import t, { type Test } from 'tap';
import { Database, DynamoDbError, type AttributeMap } from '../lib/index.js';
import { segmentRanges } from '../lib/tables/scan.js';
import { TOKEN_SPACE } from '../lib/tables/table-engine.js';
import type { CatalogState } from '../lib/tables/table-catalog.js';
import type { StreamRecord } from '../lib/tables/indexes/change-log.js';
import type { OrderedWrite } from '../lib/store/ordered-types.js';
import { tempDir } from './helpers/temp-store.js';

const TIMEOUT_MS = 300;
const TABLE = 'txn';

async function open(t: Test, options: { itemCollectionBytesMax?: number } = {}): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), nodes: 4, durability: 'none', transactionTimeoutMs: TIMEOUT_MS, ...options });
  t.teardown(() => db.close());
  await db.createTable({
    TableName: TABLE,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'N' },
      { AttributeName: 'color', AttributeType: 'S' },
      { AttributeName: 'rank', AttributeType: 'N' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST',
    GlobalSecondaryIndexes: [{ IndexName: 'byColor', KeySchema: [{ AttributeName: 'color', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
    LocalSecondaryIndexes: [{ IndexName: 'byRank', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'rank', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
  });
  await db.updateTable({ TableName: TABLE, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  return db;
}

function canonical(item: AttributeMap): string {
  return JSON.stringify(Object.keys(item).sort().map((name) => [name, item[name]]));
}

/** Every stream record of the table, in log order (per item: modification order). */
async function streamRecords(db: Database): Promise<StreamRecord[]> {
  const catalog = (db as unknown as { catalog: CatalogState }).catalog;
  const space = catalog.tables[TABLE]!.indexes!.stream!.streamSpace;
  const records: StreamRecord[] = [];
  for (const range of segmentRanges(space, db.store.tokenRanges(), { tokenStart: 0, tokenEnd: TOKEN_SPACE })) {
    let start = range.start;
    for (;;) {
      const page = await db.store.range({ start, end: range.end, limit: 1000, consistent: true });
      for (const entry of page.entries) records.push(entry.value as StreamRecord);
      const last = page.entries[page.entries.length - 1];
      if (!page.more || last === undefined) break;
      start = Uint8Array.from([...last.key, 0]);
    }
  }
  return records;
}

/** A record's item key and event, for comparisons. */
function eventsOf(records: readonly StreamRecord[]): string[] {
  return records.map((record) => `${(record.k['pk'] as { S: string }).S}/${(record.k['sk'] as { N: string }).N} ${record.e}`).sort();
}

/** The GSI's contents once its queue is applied, and what a recomputation from the table gives. */
async function gsiAndRecomputation(db: Database): Promise<{ index: string[]; expected: string[] }> {
  while ((await db.indexes.settle(TABLE)) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const index = ((await db.scan({ TableName: TABLE, IndexName: 'byColor' })).Items ?? []).map(canonical).sort();
  const table = ((await db.scan({ TableName: TABLE, ConsistentRead: true })).Items ?? []).filter((item) => item['color'] !== undefined).map(canonical).sort();
  return { index, expected: table };
}

/** The LSI's partition `pk`, read consistently (an LSI is written with the item). */
async function lsi(db: Database, pk: string): Promise<string[]> {
  const out = await db.query({ TableName: TABLE, IndexName: 'byRank', ConsistentRead: true, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: pk } } });
  return (out.Items ?? []).map(canonical);
}

const item = (pk: string, sk: number, color: string, rank: number): AttributeMap => ({ pk: { S: pk }, sk: { N: String(sk) }, color: { S: color }, rank: { N: String(rank) } });
const key = (pk: string, sk: number): AttributeMap => ({ pk: { S: pk }, sk: { N: String(sk) } });

async function state(db: Database): Promise<{ gsi: string[]; lsiA: string[]; stream: string[] }> {
  return { gsi: (await gsiAndRecomputation(db)).index, lsiA: await lsi(db, 'a'), stream: eventsOf(await streamRecords(db)) };
}

t.test('a committed transaction reaches the GSI, the LSI and the stream once per changed item', async (t) => {
  const db = await open(t);
  await db.putItem({ TableName: TABLE, Item: item('a', 1, 'red', 5) });
  await db.putItem({ TableName: TABLE, Item: item('c', 1, 'red', 1) });
  await db.transactWriteItems({
    TransactItems: [
      { Put: { TableName: TABLE, Item: item('a', 2, 'blue', 3) } },
      { Update: { TableName: TABLE, Key: key('a', 1), UpdateExpression: 'SET color = :g', ExpressionAttributeValues: { ':g': { S: 'green' } } } },
      { Delete: { TableName: TABLE, Key: key('b', 1) } }, // absent: no change, no record
      { Delete: { TableName: TABLE, Key: key('c', 1) } },
      { ConditionCheck: { TableName: TABLE, Key: key('a', 9), ConditionExpression: 'attribute_not_exists(pk)' } },
    ],
  });
  t.same(await lsi(db, 'a'), [canonical(item('a', 2, 'blue', 3)), canonical(item('a', 1, 'green', 5))], 'the LSI holds the committed images, in rank order');
  t.same(await lsi(db, 'c'), [], 'the deleted item left the LSI');
  const { index, expected } = await gsiAndRecomputation(db);
  t.same(index, expected, 'the GSI equals its recomputation from the table');
  t.same(index, [canonical(item('a', 2, 'blue', 3)), canonical(item('a', 1, 'green', 5))].sort());
  const records = await streamRecords(db);
  t.same(eventsOf(records), ['a/1 INSERT', 'a/1 MODIFY', 'a/2 INSERT', 'c/1 INSERT', 'c/1 REMOVE'], 'one record per committed change; none for a no-op delete or a ConditionCheck');
  const modify = records.find((record) => record.e === 'MODIFY')!;
  t.same(modify.o, item('a', 1, 'red', 5), 'the old image is the committed one');
  t.same(modify.n, item('a', 1, 'green', 5), 'the new image is the transaction\'s');
  t.notOk(records.some((record) => JSON.stringify(record).includes('transactionId')), 'no prepared form was streamed');
});

t.test('a cancelled transaction leaves the indexes and the stream unchanged', async (t) => {
  const db = await open(t);
  await db.putItem({ TableName: TABLE, Item: item('a', 1, 'red', 5) });
  const before = await state(db);
  const error = await db.transactWriteItems({
    TransactItems: [
      { Update: { TableName: TABLE, Key: key('a', 1), UpdateExpression: 'SET color = :b', ExpressionAttributeValues: { ':b': { S: 'black' } } } },
      { Put: { TableName: TABLE, Item: item('a', 3, 'white', 1) } },
      { ConditionCheck: { TableName: TABLE, Key: key('z', 1), ConditionExpression: 'attribute_exists(pk)' } },
    ],
  }).then(() => undefined, (e: unknown) => e);
  t.ok(error instanceof DynamoDbError && error.name === 'TransactionCanceledException', 'cancelled');
  t.same((error as DynamoDbError & { cancellationReasons?: Array<{ Code: string }> }).cancellationReasons?.map((r) => r.Code), ['None', 'None', 'ConditionalCheckFailed']);
  t.same(await state(db), before, 'GSI, LSI and stream as before');
});

/** Makes every engine write fail (a coordinator that died) from the write `after` matches on, until `restore`. */
function crashCoordinator(db: Database, after: (write: OrderedWrite) => 'crashBefore' | 'crashAfter' | undefined): { restore(): void } {
  const store = db.store as unknown as { writeOrdered(write: OrderedWrite): Promise<{ version: string }> };
  const original = store.writeOrdered.bind(store);
  let crashed = false;
  store.writeOrdered = async (write) => {
    if (crashed) throw new Error('the coordinator crashed');
    const when = after(write);
    if (when === 'crashBefore') {
      crashed = true;
      throw new Error('the coordinator crashed');
    }
    const result = await original(write);
    if (when === 'crashAfter') crashed = true;
    return result;
  };
  return { restore: () => (store.writeOrdered = original) };
}

const ledgerState = (write: OrderedWrite): string | undefined => (write.value as { state?: unknown } | undefined)?.state as string | undefined;

/** Runs a transaction whose coordinator dies; `whileDead` runs before the "restart" (engine writes fail until then; reads work). */
async function crashedTransaction(db: Database, crash: ReturnType<typeof crashCoordinator>, whileDead: () => Promise<void>): Promise<void> {
  const failed = await db.transactWriteItems({
    TransactItems: [
      { Update: { TableName: TABLE, Key: key('a', 1), UpdateExpression: 'SET color = :g, #r = :r', ExpressionAttributeNames: { '#r': 'rank' }, ExpressionAttributeValues: { ':g': { S: 'green' }, ':r': { N: '7' } } } },
      { Put: { TableName: TABLE, Item: item('a', 2, 'blue', 3) } },
      { Put: { TableName: TABLE, Item: item('d', 1, 'blue', 1) } },
    ],
  }).then(() => false, () => true);
  // Let the coordinator's retries of its failed writes run out before the "restart".
  await new Promise((resolve) => setTimeout(resolve, 2500));
  await whileDead();
  crash.restore();
  if (!failed) throw new Error('the transaction was expected to fail with its coordinator');
}

t.test('a coordinator that dies after the commit point: the sweep writes each change\'s index and stream records exactly once', async (t) => {
  const db = await open(t);
  await db.putItem({ TableName: TABLE, Item: item('a', 1, 'red', 5) });
  const before = await state(db);
  const crash = crashCoordinator(db, (write) => (ledgerState(write) === 'COMMITTED' ? 'crashAfter' : undefined));
  await crashedTransaction(db, crash, async () => {
    t.same(await lsi(db, 'a'), before.lsiA, 'while its items are prepared, the LSI has the prior images');
    t.same(eventsOf(await streamRecords(db)), before.stream, 'and nothing is streamed');
    t.same(((await db.scan({ TableName: TABLE, ConsistentRead: true })).Items ?? []).map(canonical), [canonical(item('a', 1, 'red', 5))], 'a prepared item reads as its prior image');
  });
  // The sweep (this call, or the database's own timer) finishes the committed transaction.
  await db.recoverTransactions();
  t.same(await lsi(db, 'a'), [canonical(item('a', 2, 'blue', 3)), canonical(item('a', 1, 'green', 7))], 'the LSI has the committed images');
  const { index, expected } = await gsiAndRecomputation(db);
  t.same(index, expected, 'the GSI equals its recomputation');
  t.equal(index.length, 3);
  t.same(eventsOf(await streamRecords(db)), ['a/1 INSERT', 'a/1 MODIFY', 'a/2 INSERT', 'd/1 INSERT'], 'exactly one record per committed change');
  t.equal(await db.recoverTransactions(), 0, 'nothing left open');
  t.same(eventsOf(await streamRecords(db)), ['a/1 INSERT', 'a/1 MODIFY', 'a/2 INSERT', 'd/1 INSERT'], 'a second sweep adds nothing');
});

t.test('a coordinator that dies before the commit point: the sweep cancels it and nothing reaches the indexes', async (t) => {
  const db = await open(t);
  await db.putItem({ TableName: TABLE, Item: item('a', 1, 'red', 5) });
  const before = await state(db);
  const crash = crashCoordinator(db, (write) => (ledgerState(write) === 'COMMITTED' ? 'crashBefore' : undefined));
  await crashedTransaction(db, crash, async () => {
    t.same(await lsi(db, 'a'), before.lsiA, 'while its items are prepared, the LSI has the prior images');
  });
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2));
  await db.recoverTransactions();
  t.same(await state(db), before, 'GSI, LSI and stream as before the transaction');
  t.same((await db.getItem({ TableName: TABLE, Key: key('a', 1) })).Item, item('a', 1, 'red', 5), 'the prior image is back');
  t.equal((await db.getItem({ TableName: TABLE, Key: key('d', 1) })).Item, undefined);
});

t.test('the LSI item collection limit cancels a transaction; ReturnItemCollectionMetrics per table', async (t) => {
  const db = await open(t, { itemCollectionBytesMax: 400 });
  const big = (sk: number): AttributeMap => ({ ...item('a', sk, 'red', sk), pad: { S: 'x'.repeat(60) } });
  const out = await db.transactWriteItems({ TransactItems: [{ Put: { TableName: TABLE, Item: big(1) } }, { Put: { TableName: TABLE, Item: item('b', 1, 'red', 1) } }], ReturnItemCollectionMetrics: 'SIZE' });
  const metrics = (out as { ItemCollectionMetrics?: Record<string, Array<{ ItemCollectionKey: AttributeMap; SizeEstimateRangeGB: number[] }>> }).ItemCollectionMetrics;
  t.same(metrics?.[TABLE]?.map((m) => m.ItemCollectionKey).sort((x, y) => canonical(x).localeCompare(canonical(y))), [{ pk: { S: 'a' } }, { pk: { S: 'b' } }], 'one entry per collection written');
  t.same(metrics?.[TABLE]?.[0]?.SizeEstimateRangeGB, [0, 1]);
  // Fill collection 'a' to the limit with single writes, then a transaction that grows it.
  let sk = 2;
  for (;;) {
    const grown = await db.putItem({ TableName: TABLE, Item: big(sk) }).then(() => true, (e: unknown) => {
      if (e instanceof DynamoDbError && e.name === 'ItemCollectionSizeLimitExceededException') return false;
      throw e;
    });
    if (!grown) break;
    sk += 1;
  }
  const before = await state(db);
  const error = await db.transactWriteItems({
    TransactItems: [{ Put: { TableName: TABLE, Item: item('c', 1, 'red', 1) } }, { Put: { TableName: TABLE, Item: big(sk) } }],
  }).then(() => undefined, (e: unknown) => e as DynamoDbError & { cancellationReasons?: Array<{ Code: string; Message?: string }> });
  t.equal(error?.name, 'TransactionCanceledException');
  t.same(error?.cancellationReasons, [{ Code: 'None' }, { Code: 'ItemCollectionSizeLimitExceeded', Message: 'Collection size exceeded.' }]);
  t.equal((await db.getItem({ TableName: TABLE, Key: key('c', 1) })).Item, undefined, 'nothing applied');
  t.same(await state(db), before, 'indexes and stream unchanged');
  // A transaction that shrinks the full collection is allowed.
  await db.transactWriteItems({ TransactItems: [{ Delete: { TableName: TABLE, Key: key('a', 1) } }] });
  t.equal((await db.getItem({ TableName: TABLE, Key: key('a', 1) })).Item, undefined);
});
