/**
 * The GSI applier applies a queue page per base item (index-applier.ts,
 * change-fold.ts): many changes of one item cost one locator write, a lost
 * locator write (its entries already written) is applied again to the same
 * end, and the index and its counts end as a recomputation from the table.
 */
import t, { type Test } from 'tap';
import { Database } from '../lib/tables/database.js';
import { itemSize } from '../lib/tables/item-size.js';
import type { OrderedWrite } from '../lib/tables/table-engine.js';
import { MemoryTableEngine } from './helpers/memory-table-engine.js';
import { tempDir } from './helpers/temp-store.js';

/** Counts the engine's calls, and fails the first `failLocatorWrites` locator writes (a compare-and-set carrying record removals). */
class CountingEngine extends MemoryTableEngine {
  writes = 0;
  /** Point reads (range reads not counted: the queue's pages and each base partition's locators). */
  reads = 0;
  failLocatorWrites = 0;
  override async writeOrdered(write: OrderedWrite) {
    this.writes += 1;
    if (write.expect !== undefined && write.value !== undefined && (write.also?.length ?? 0) > 0 && this.failLocatorWrites > 0) {
      this.failLocatorWrites -= 1;
      throw Object.assign(new Error('timed out'), { code: 'ERR_TIMEOUT' });
    }
    return super.writeOrdered(write);
  }
  override async getOrdered(key: Uint8Array) {
    this.reads += 1;
    return super.getOrdered(key);
  }
}

const TABLE = {
  TableName: 'orders',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' }, { AttributeName: 'status', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  BillingMode: 'PAY_PER_REQUEST',
  GlobalSecondaryIndexes: [{ IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
} as const;

const ITEMS = 10;
const UPDATES = 6;
/** Longer than the test. */
const HOLD_MS = 3_600_000;

async function setUp(t: Test) {
  const engine = new CountingEngine();
  const path = tempDir(t);
  // Every change is held back, then the database closed: the next one's applier meets them all in one queue page.
  const writer = Database.openOnEngine(engine, { path, gsiLagMs: HOLD_MS });
  await writer.createTable(structuredClone(TABLE) as never);
  for (let update = 0; update < UPDATES; update += 1) {
    for (let sk = 0; sk < ITEMS; sk += 1) {
      // The last round leaves odd items out of the index (sparse), the others move between statuses.
      const item: Record<string, { S: string } | { N: string }> = { pk: { S: 'p' }, sk: { N: String(sk) }, round: { N: String(update) } };
      if (!(update === UPDATES - 1 && sk % 2 === 1)) item['status'] = { S: `s${(sk + update) % 3}` };
      await writer.putItem({ TableName: 'orders', Item: item });
    }
  }
  await writer.close();
  const before = { writes: engine.writes, reads: engine.reads };
  const db = Database.openOnEngine(engine, { path });
  t.teardown(() => db.close());
  const calls = () => ({ writes: engine.writes - before.writes, reads: engine.reads - before.reads });
  /** The index as the table says it should be, and as it is. */
  const expected = async () => ((await db.scan({ TableName: 'orders', ConsistentRead: true })).Items ?? []).filter((item) => item['status'] !== undefined).map((item) => JSON.stringify(item)).sort();
  const actual = async () => ((await db.scan({ TableName: 'orders', IndexName: 'byStatus' })).Items ?? []).map((item) => JSON.stringify(item)).sort();
  const settled = async () => {
    for (let pass = 0; pass < 50; pass += 1) {
      try {
        if ((await db.indexes.settle()) === 0) return;
      } catch {
        // a failed pass: the partition is retried
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the index queue did not drain');
  };
  return { db, engine, expected, actual, settled, calls };
}

t.test('one page of many changes per item: one write set per item, and the index as the table says', async (t) => {
  const { db, expected, actual, settled, calls } = await setUp(t);
  await settled();
  const { writes, reads } = calls();
  t.same(await actual(), await expected());
  t.equal((await expected()).length, ITEMS / 2);
  // Per item: the entry, the removal of each other entry it went through (three statuses: two), and the locator with the
  // records' removal; one change at a time was a read and a write per entry touched, a locator read and write, and a removal per change.
  t.ok(writes <= 4 * ITEMS, `${writes} writes for ${ITEMS * UPDATES} changes of ${ITEMS} items`);
  t.equal(reads, 0, 'the locators of the base partition read with its one range read, none alone');
  const described = (await db.describeTable({ TableName: 'orders' })).Table.GlobalSecondaryIndexes![0]!;
  t.equal(described.ItemCount, ITEMS / 2, 'the count follows the entries');
  const entries = (await db.scan({ TableName: 'orders', IndexName: 'byStatus' })).Items!;
  t.equal(described.IndexSizeBytes, entries.reduce((sum, entry) => sum + itemSize(entry), 0), 'the bytes follow the entries (kept in the locators)');
});

t.test('a locator write lost after its entries were written: applied again, to the same end', async (t) => {
  const { db, engine, expected, actual, settled } = await setUp(t);
  engine.failLocatorWrites = 3;
  await settled();
  t.equal(engine.failLocatorWrites, 0, 'the locator writes failed');
  t.same(await actual(), await expected());
  const described = (await db.describeTable({ TableName: 'orders' })).Table.GlobalSecondaryIndexes![0]!;
  t.equal(described.ItemCount, ITEMS / 2, 'counted once');
  t.equal(described.IndexSizeBytes, ((await db.scan({ TableName: 'orders', IndexName: 'byStatus' })).Items ?? []).reduce((sum, entry) => sum + itemSize(entry), 0), 'bytes counted once');
  // More changes after the failures: still in order per item.
  for (let sk = 0; sk < ITEMS; sk += 1) await db.putItem({ TableName: 'orders', Item: { pk: { S: 'p' }, sk: { N: String(sk) }, status: { S: 'done' } } });
  await settled();
  t.same(await actual(), await expected());
  t.equal((await expected()).length, ITEMS);
});
