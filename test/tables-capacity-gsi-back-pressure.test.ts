/**
 * GSI back-pressure admits what the index's provisioned write capacity
 * allows, and no more (DG GSI, "Provisioned throughput considerations":
 * "the provisioned throughput settings for the table and all of its global
 * secondary indexes must have enough write capacity to accommodate the
 * write"; a new indexed item is one write to the index).
 *
 * A scaled GSI's rate can be below one unit per second (5 WCU at
 * capacityScale 0.01 is 0.05 WCU/s): it used to admit about twice that,
 * because the index's one-second pool of unused throughput could never hold
 * a 1 WCU write, lent it through the overdraft rule, and was full again a
 * second after each write its partition's share admitted
 * (adaptive-capacity.ts lendingWindowSeconds, token-bucket.ts drain).
 *
 * The bounds: over T seconds from the index's creation, rate × T units
 * (the provisioned rate, scaled), plus the one second of capacity a new
 * bucket starts with and at most one write admitted in debt. Nothing here
 * depends on timing: the model's clock is the test's.
 */
import t, { type Test } from 'tap';
import { CapacityModel, type ChargeRequest } from '../lib/tables/capacity/capacity-model.js';
import { lendingWindowSeconds } from '../lib/tables/capacity/adaptive-capacity.js';
import { HASH_SPACE } from '../lib/tables/capacity/logical-partitions.js';
import { Database, DynamoDbError } from '../lib/index.js';
import { tempDir } from './helpers/temp-store.js';

const SCALE = 0.01;

/** A base-table hash spread over the whole key space (the table itself never limits these writes). */
const spread = (i: number): number => Math.imul(i + 1, 2_654_435_761) >>> 0;

function modelWithIndex(indexWcu: number, indexRcu = 1): CapacityModel {
  const model = new CapacityModel({ mode: 'enforce', capacityScale: SCALE });
  model.defineTable({
    table: 'T',
    billingMode: 'PROVISIONED',
    provisioned: { readCapacityUnits: 3000, writeCapacityUnits: 3900 },
    globalSecondaryIndexes: [{ index: 'g', provisioned: { readCapacityUnits: indexRcu, writeCapacityUnits: indexWcu } }],
  }, 0);
  return model;
}

const indexedWrite = (i: number, indexHash: number, nowMs: number): ChargeRequest => ({
  table: 'T', partitionKeyHash: spread(i), writeUnits: 1, nowMs,
  indexWrites: [{ index: 'g', partitionKeyHash: indexHash, writeUnits: 1 }],
});

t.test('the lending window holds one unit when a second of the rate holds less', async (t) => {
  t.equal(lendingWindowSeconds(30), 1, 'a second of 30 WCU: "instantly"');
  t.equal(lendingWindowSeconds(1), 1);
  t.equal(lendingWindowSeconds(0.5), 2);
  t.equal(lendingWindowSeconds(0.05), 20, '5 WCU at capacityScale 0.01');
  t.equal(lendingWindowSeconds(0.001), 300, 'never more than the 300 s of burst');
});

t.test('a GSI provisioned below one unit per second (scaled) admits its rate, not twice it', async (t) => {
  // 5 WCU × 0.01 = 0.05 WCU/s on the index; the table's 39 WCU/s never limit.
  const rate = 5 * SCALE;
  const seconds = 1000;
  const model = modelWithIndex(5);
  let admitted = 0;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < 2; i++) if (model.charge(indexedWrite(s * 2 + i, 111, s * 1000 + i)).admitted) admitted++;
  }
  t.ok(admitted >= Math.floor(rate * seconds), `at least the provisioned rate × time (${admitted})`);
  t.ok(admitted <= rate * seconds + 1, `at most one write beyond it (${admitted} of ${rate * seconds})`);
});

t.test('several index partitions below one unit per second each: the index\'s total, not each share plus lending', async (t) => {
  // RCU 6,000 × 0.01 = 60 makes three index partitions (60/30 + 0.05/10 rounds up to 3), sharing 0.05 WCU/s.
  const model = modelWithIndex(5, 6000);
  const partitions = model.describe('T', 0, 'g').partitions.length;
  t.equal(partitions, 3);
  const hashes = [Math.floor(HASH_SPACE / 6), Math.floor((HASH_SPACE * 5) / 6)]; // two hot index keys on two partitions
  const seconds = 1000;
  let admitted = 0;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < 2; i++) if (model.charge(indexedWrite(s * 2 + i, hashes[i]!, s * 1000 + i)).admitted) admitted++;
  }
  const rate = 5 * SCALE;
  t.ok(admitted >= Math.floor(rate * seconds) - 1, `about the index's rate (${admitted})`);
  t.ok(admitted <= rate * seconds + partitions, `never the ~1.4x that per-partition lending let through (${admitted} of ${rate * seconds})`);
});

t.test('a GSI at a few units per second: its rate each second, the first second\'s bank once', async (t) => {
  const model = modelWithIndex(500); // 5 WCU/s
  const perSecond: number[] = [];
  for (let s = 1; s <= 10; s++) {
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (model.charge(indexedWrite(s * 20 + i, 111, s * 1000 + i)).admitted) admitted++;
    perSecond.push(admitted);
  }
  // Created at 0 with one second banked, a second of refill before the first write: 10, then 5 a second.
  t.same(perSecond, [10, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
});

// ---------------------------------------------------------------- real storage nodes

class TestClock {
  nowMs = 1_700_000_000_000;
  readonly now = (): number => this.nowMs;
}

async function openWithIndex(t: Test, indexWcu: number): Promise<{ db: Database; clock: TestClock }> {
  const clock = new TestClock();
  const db = await Database.open({ path: tempDir(t), nodes: 2, durability: 'none', capacity: 'enforce', capacityScale: SCALE, capacityClock: clock.now });
  t.teardown(() => db.close());
  await db.createTable({
    TableName: 'orders',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'status', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 3900 },
    GlobalSecondaryIndexes: [{
      IndexName: 'byStatus',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: indexWcu },
    }],
  });
  return { db, clock };
}

/** Puts `count` new items with a status (each one new index entry: 1 WCU on the index); returns how many were admitted. */
async function putIndexed(db: Database, from: number, count: number, arn: string): Promise<number> {
  let admitted = 0;
  for (let i = from; i < from + count; i++) {
    try {
      await db.putItem({ TableName: 'orders', Item: { pk: { S: `order-${i}` }, status: { S: 'PENDING' } } });
      admitted++;
    } catch (error) {
      if (!(error instanceof DynamoDbError) || error.name !== 'ProvisionedThroughputExceededException') throw error;
      if (error.throttlingReasons?.[0]?.resource !== arn) throw error;
    }
  }
  return admitted;
}

t.test('real nodes: a GSI of 5 WCU at capacityScale 0.01 admits 0.05 writes per second', async (t) => {
  const { db, clock } = await openWithIndex(t, 5);
  const arn = `${(await db.describeTable({ TableName: 'orders' })).Table.TableArn}/index/byStatus`;
  const seconds = 200;
  let admitted = 0;
  for (let s = 1; s <= seconds; s++) {
    clock.nowMs += 1000;
    admitted += await putIndexed(db, s, 1, arn); // one write a second, each 1 WCU on the index
  }
  const rate = 5 * SCALE;
  // 200 s × 0.05 = 10, plus the 0.05 the bucket started with: 10 (and at most one write in debt).
  t.ok(admitted >= rate * seconds && admitted <= rate * (seconds + 1) + 1, `${admitted} admitted of ${seconds}: the documented ${rate * seconds} (+1), not about twice`);
  t.equal(db.capacityMetrics().resources.find((r) => r.index === 'byStatus')?.throttledTotal, seconds - admitted, 'every refusal is the index\'s');
});

t.test('real nodes: a GSI of 500 WCU at capacityScale 0.01 admits 5 writes a second under 20', async (t) => {
  const { db, clock } = await openWithIndex(t, 500);
  const arn = `${(await db.describeTable({ TableName: 'orders' })).Table.TableArn}/index/byStatus`;
  const perSecond: number[] = [];
  for (let s = 1; s <= 6; s++) {
    clock.nowMs += 1000;
    perSecond.push(await putIndexed(db, s * 100, 20, arn));
  }
  // The model defines the table at its first request (table-capacity.ts syncTable), with one second banked: the rate every second.
  t.same(perSecond, [5, 5, 5, 5, 5, 5]);
});
