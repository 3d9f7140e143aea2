/**
 * The Database's read consistency against real storage nodes (issue 11 §3,
 * §6): ConsistentRead after a write always sees it; an eventually consistent
 * read is stale when a replica lags (the lag is a fault that withholds the
 * write from one replica until anti-entropy releases it, so the staleness is
 * certain, not a matter of timing); a leader crash during conditional writes
 * loses no acknowledged write and decides no condition on stale state.
 */
import t, { type Test } from 'tap';
import { Database, DynamoDbError, type AttributeMap } from '../lib/index.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { eventually, outcome, tempDir } from './helpers/temp-store.js';
import type { DatabaseOptions } from '../lib/index.js';

const TABLE = {
  TableName: 'items',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'N' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

/** The first table of a new database has id 1 (table-catalog.ts: ids start at 1 and only grow). */
const FIRST_TABLE_ID = 1;

async function open(t: Test, options: Omit<DatabaseOptions, 'path'>): Promise<Database> {
  const db = await Database.open({ path: tempDir(t), durability: 'none', ...options });
  t.teardown(() => db.close());
  await db.createTable(TABLE);
  return db;
}

/** The engine key of item (pk, sk) of the first table, checked against what the Database stored there. */
async function engineKeyOf(t: Test, db: Database, pk: string, sk: number): Promise<Uint8Array> {
  const key = encodeItemKey(FIRST_TABLE_ID, { S: pk }, { N: String(sk) }).key;
  const stored = await db.store.getOrdered(key, { consistent: true });
  t.same((stored?.value as AttributeMap | undefined)?.['pk'], { S: pk }, 'the engine key is where the Database keeps the item');
  return key;
}

const valueOf = (item: AttributeMap | undefined): string | undefined => (item?.['v'] as { S: string } | undefined)?.S;

t.test('ConsistentRead after a write always sees it: GetItem and Query', async (t) => {
  const db = await open(t, { nodes: 5 });
  for (let i = 0; i < 150; i++) {
    const key = { pk: { S: `p${i % 7}` }, sk: { N: String(i % 11) } };
    const v = { S: `w${i}` };
    if (i % 3 === 0) await db.putItem({ TableName: 'items', Item: { ...key, v } });
    else await db.updateItem({ TableName: 'items', Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': v } });
    const got = await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true });
    const queried = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p AND sk = :s', ExpressionAttributeValues: { ':p': key.pk, ':s': key.sk }, ConsistentRead: true });
    if (valueOf(got.Item) !== v.S || valueOf(queried.Items![0]) !== v.S) {
      t.fail(`write ${i}: GetItem read ${JSON.stringify(got.Item)}, Query read ${JSON.stringify(queried.Items)}`);
      return;
    }
  }
  t.pass('150 writes, each seen by the ConsistentRead GetItem and Query after it');
});

t.test('an eventually consistent read is stale under replica lag; ConsistentRead never is', async (t) => {
  // Anti-entropy off: only the explicit repair below may release the withheld write.
  const db = await open(t, { nodes: 3, antiEntropyIntervalMs: 0 });
  const key = { pk: { S: 'lag' }, sk: { N: '1' } };
  await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'old' } } });
  const engineKey = await engineKeyOf(t, db, 'lag', 1);
  const replicas = db.store.preferenceList(engineKey);
  t.equal(replicas.length, 3, 'three replicas');
  // The leader is the first up node of the preference list (DESIGN.md §3); the last replica lags.
  const lagging = replicas[2]!;
  // Every replica holds 'old' before the fault (three eventual reads in a row ask each replica once).
  const everywhere = await eventually(async () => {
    const reads = await Promise.all([0, 1, 2].map(() => db.getItem({ TableName: 'items', Key: key })));
    return reads.every((read) => valueOf(read.Item) === 'old');
  }, 10_000);
  t.ok(everywhere, "every replica holds 'old'");

  // Every request to the lagging replica is lost while the write is made: the leader and the
  // other replica acknowledge it (W = 2), the lagging replica never receives it.
  db.store.faults.drop(lagging, 1);
  await db.putItem({ TableName: 'items', Item: { ...key, v: { S: 'new' } } });
  db.store.faults.clear(lagging);

  // An eventual read goes to the next up replica in rotation (routing.ts singleReadTarget), so
  // any three in a row include the lagging one; it still holds 'old' until repaired.
  const eventual: (string | undefined)[] = [];
  const eventualQueries: (string | undefined)[] = [];
  for (let i = 0; i < 6; i++) {
    eventual.push(valueOf((await db.getItem({ TableName: 'items', Key: key })).Item));
    const consistent = await db.getItem({ TableName: 'items', Key: key, ConsistentRead: true });
    t.equal(valueOf(consistent.Item), 'new', `ConsistentRead ${i} sees the write`);
  }
  for (let i = 0; i < 6; i++) {
    const page = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': key.pk } });
    eventualQueries.push(valueOf(page.Items![0]));
    const consistent = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': key.pk }, ConsistentRead: true });
    t.equal(valueOf(consistent.Items![0]), 'new', `consistent Query ${i} sees the write`);
  }
  t.ok(eventual.includes('old'), `an eventually consistent GetItem was stale (${eventual.join(', ')})`);
  t.ok(eventual.includes('new'), 'and another one saw the write');
  t.ok(eventualQueries.includes('old'), `an eventually consistent Query was stale (${eventualQueries.join(', ')})`);
  t.same(new Set([...eventual, ...eventualQueries]), new Set(['old', 'new']), 'nothing but the two versions');

  // Released: anti-entropy brings the lagging replica up to date, and every replica then answers 'new'.
  await db.store.repair();
  for (let i = 0; i < 6; i++) t.equal(valueOf((await db.getItem({ TableName: 'items', Key: key })).Item), 'new', `eventual read ${i} after repair`);
});

t.test('a leader crash during conditional writes loses no acknowledged write', async (t) => {
  const db = await open(t, { nodes: 5, failureTimeoutMs: 300 });
  await db.putItem({ TableName: 'items', Item: { pk: { S: 'orders' }, sk: { N: '0' }, c: { N: '0' } } });
  const leader = db.store.preferenceList(await engineKeyOf(t, db, 'orders', 0))[0]!;
  const created = new Set<number>();
  let incremented = 0;
  let attempted = 0;
  let crashed = false;
  const writer = async (id: number): Promise<void> => {
    for (let i = 0; i < 40; i++) {
      const sk = 1 + id * 1000 + i;
      // A conditional create of a new item, and a conditional increment of one shared item.
      const put = await outcome(() => db.putItem({ TableName: 'items', Item: { pk: { S: 'orders' }, sk: { N: String(sk) }, by: { N: String(id) } }, ConditionExpression: 'attribute_not_exists(pk)' }));
      if (put.ok) created.add(sk);
      attempted += 1;
      const add = await outcome(() =>
        db.updateItem({ TableName: 'items', Key: { pk: { S: 'orders' }, sk: { N: '0' } }, UpdateExpression: 'SET c = c + :one', ConditionExpression: 'attribute_exists(c)', ExpressionAttributeValues: { ':one': { N: '1' } } }),
      );
      if (add.ok) incremented += 1;
      else if (add.error instanceof DynamoDbError && add.error.name === 'ConditionalCheckFailedException') t.fail('the counter exists: its condition cannot fail');
      if (id === 0 && i === 15 && !crashed) {
        crashed = true;
        db.store.crashNode(leader);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  t.ok(crashed, 'the leader crashed mid-run');
  t.ok(created.size > 80, `${created.size} conditional creates acknowledged`);

  const check = async (when: string): Promise<void> => {
    for (const sk of created) {
      const got = await db.getItem({ TableName: 'items', Key: { pk: { S: 'orders' }, sk: { N: String(sk) } }, ConsistentRead: true });
      if (got.Item === undefined) return void t.fail(`${when}: acknowledged create of ${sk} is missing`);
    }
    const counter = await db.getItem({ TableName: 'items', Key: { pk: { S: 'orders' }, sk: { N: '0' } }, ConsistentRead: true });
    const c = Number((counter.Item!['c'] as { N: string }).N);
    // A failed increment may have landed; an acknowledged one may not be missing.
    t.ok(c >= incremented && c <= attempted, `${when}: counter ${c} within [${incremented} acknowledged, ${attempted} attempted] increments`);
    // A condition decided after the crash sees every acknowledged create: creating one again fails.
    const again = await outcome(() => db.putItem({ TableName: 'items', Item: { pk: { S: 'orders' }, sk: { N: String([...created][0]!) } }, ConditionExpression: 'attribute_not_exists(pk)' }));
    t.ok(!again.ok && again.error instanceof DynamoDbError && again.error.name === 'ConditionalCheckFailedException', `${when}: a second create of an acknowledged item fails its condition`);
  };
  await check('from the new leader');
  // The old leader comes back on its data, leads again after catching up, and has them too.
  await db.store.startNode(leader);
  await check('from the old leader, back');
  const query = await db.query({ TableName: 'items', KeyConditionExpression: 'pk = :p AND sk > :z', ExpressionAttributeValues: { ':p': { S: 'orders' }, ':z': { N: '0' } }, ConsistentRead: true });
  const listed = new Set(query.Items!.map((item) => Number((item['sk'] as { N: string }).N)));
  t.ok([...created].every((sk) => listed.has(sk)), 'a consistent Query lists every acknowledged create');
});
