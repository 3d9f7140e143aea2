/**
 * Time to Live: UpdateTimeToLive's and DescribeTimeToLive's decisions and
 * exact messages (pure, time-to-live.ts), which items count as expired, and
 * the background sweep against real storage nodes: expired items are
 * readable until swept, then gone; items that are not eligible stay; an
 * item updated after it was found expired is not deleted; the setting
 * survives a reopen; and the SDK reaches both operations in process.
 */
import t, { type Test } from 'tap';
import { DescribeTimeToLiveCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { Database, ErrorCode, RingtableError, createRequestHandler, type AttributeMap } from '../lib/index.js';
import { createTable, EMPTY_CATALOG, withStatus, type CatalogState } from '../lib/tables/table-catalog.js';
import {
  describeTimeToLive,
  expiredAt,
  sweepDeleteCondition,
  TIME_TO_LIVE_PAST_SECONDS_MAX,
  updateTimeToLive,
  withTimeToLive,
} from '../lib/tables/time-to-live.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';
import { tempDir } from './helpers/temp-store.js';

const TABLE = {
  TableName: 'sessions',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'S' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

function catalogWithTable(): CatalogState {
  const created = createTable(EMPTY_CATALOG, TABLE, { nowMs: 0, tableUuid: 'uuid' });
  return withStatus(created.state, 'sessions', 'ACTIVE');
}

const HOUR_MS = 3_600_000;

t.test('UpdateTimeToLive: request checks in DynamoDB order and words', async (t) => {
  const state = catalogWithTable();
  const fail = (input: Record<string, unknown>) => dynamoDbFailure(() => updateTimeToLive(state, input, { nowMs: 0, cooldownMs: HOUR_MS }));
  t.same(fail({ TableName: 'sessions' }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
  });
  t.same(fail({ TableName: 'sessions', TimeToLiveSpecification: {} }), {
    name: 'ValidationException',
    message:
      "2 validation errors detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null; " +
      "Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null",
  });
  // Null members are listed in the order the request gives them (dynalite's recorded test).
  t.same(fail({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: null, Enabled: null } }).message,
    "2 validation errors detected: Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null; " +
    "Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null");
  t.match(fail({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: '', Enabled: true } }).message, /attributeName.*length greater than or equal to 1/);
  t.match(fail({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'x'.repeat(256), Enabled: true } }).message, /attributeName.*length less than or equal to 255/);
  t.same(fail({ TableName: 'missing', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }), {
    name: 'ResourceNotFoundException',
    message: 'Requested resource not found: Table: missing not found',
  });
  t.match(fail({ TableName: 'a;', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }).message, /at 'tableName' failed to satisfy constraint/);
});

t.test('UpdateTimeToLive: one attribute, already enabled/disabled, the cooldown after the content checks', async (t) => {
  let state = catalogWithTable();
  const context = (nowMs: number) => ({ nowMs, cooldownMs: HOUR_MS });
  t.same(describeTimeToLive(state, { TableName: 'sessions' }), { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } });
  t.same(dynamoDbFailure(() => updateTimeToLive(state, { TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: false } }, context(0))), {
    name: 'ValidationException',
    message: 'TimeToLive is already disabled',
  });

  const enable = updateTimeToLive(state, { TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }, context(1000));
  t.same(enable.output, { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
  state = withTimeToLive(state, enable);
  t.same(describeTimeToLive(state, { TableName: 'sessions' }), { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' } });

  const again = (spec: Record<string, unknown>, nowMs: number) =>
    dynamoDbFailure(() => updateTimeToLive(state, { TableName: 'sessions', TimeToLiveSpecification: spec }, context(nowMs))).message;
  // Content errors come before the cooldown, even inside it.
  t.equal(again({ AttributeName: 'ttl', Enabled: true }, 2000), 'TimeToLive is already enabled');
  t.equal(again({ AttributeName: 'other', Enabled: true }, 2000), 'TimeToLive is active on a different AttributeName: current AttributeName is ttl');
  t.equal(again({ AttributeName: 'other', Enabled: false }, 2000), 'TimeToLive is active on a different AttributeName: current AttributeName is ttl');
  t.equal(again({ AttributeName: 'ttl', Enabled: false }, 1000 + HOUR_MS - 1), 'Time to live has been modified multiple times within a fixed interval');

  const disable = updateTimeToLive(state, { TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: false } }, context(1000 + HOUR_MS));
  t.same(disable.output, { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: false } });
  state = withTimeToLive(state, disable);
  t.same(describeTimeToLive(state, { TableName: 'sessions' }), { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } });
  // A disable starts a new cooldown too; after it another attribute may be enabled.
  t.equal(again({ AttributeName: 'other', Enabled: true }, 1000 + HOUR_MS + 1), 'Time to live has been modified multiple times within a fixed interval');
  t.same(updateTimeToLive(state, { TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'other', Enabled: true } }, context(1000 + 2 * HOUR_MS)).setting, {
    attributeName: 'other',
    enabled: true,
    changedAtMs: 1000 + 2 * HOUR_MS,
  });
});

t.test('which items are expired', async (t) => {
  const nowMs = 1_700_000_000_500;
  const nowSeconds = 1_700_000_000;
  const item = (ttl: AttributeMap[string] | undefined): AttributeMap => (ttl === undefined ? { pk: { S: 'a' } } : { pk: { S: 'a' }, ttl });
  t.equal(expiredAt(item({ N: String(nowSeconds - 1) }), 'ttl', nowMs), String(nowSeconds - 1));
  t.equal(expiredAt(item({ N: `${nowSeconds - 1}.75` }), 'ttl', nowMs), `${nowSeconds - 1}.75`, 'fractions compare exactly');
  t.equal(expiredAt(item({ N: String(nowSeconds) }), 'ttl', nowMs), undefined, 'expires after its second, not at it');
  t.equal(expiredAt(item({ N: String(nowSeconds + 60) }), 'ttl', nowMs), undefined, 'in the future');
  t.equal(expiredAt(item({ N: String(nowSeconds - TIME_TO_LIVE_PAST_SECONDS_MAX) }), 'ttl', nowMs), String(nowSeconds - TIME_TO_LIVE_PAST_SECONDS_MAX));
  t.equal(expiredAt(item({ N: String(nowSeconds - TIME_TO_LIVE_PAST_SECONDS_MAX - 1) }), 'ttl', nowMs), undefined, 'more than five years past is ignored');
  t.equal(expiredAt(item({ N: String(nowMs) }), 'ttl', nowMs), undefined, 'milliseconds are far in the future: never expire');
  t.equal(expiredAt(item({ S: String(nowSeconds - 1) }), 'ttl', nowMs), undefined, 'a String is ignored');
  t.equal(expiredAt(item({ NS: [String(nowSeconds - 1)] }), 'ttl', nowMs), undefined, 'a number set is ignored');
  t.equal(expiredAt(item(undefined), 'ttl', nowMs), undefined, 'no attribute');
});

async function open(t: Test, path: string, sweepIntervalMs: number): Promise<Database> {
  const db = await Database.open({ path, nodes: 3, durability: 'none', timeToLive: { sweepIntervalMs, changeCooldownMs: 0 } });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await db.close();
  });
  const close = db.close.bind(db);
  db.close = async () => {
    closed = true;
    await close();
  };
  return db;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('the sweep deletes expired items, keeps the rest, and leaves updated items alone', async (t) => {
  const path = tempDir(t);
  // A long interval first: expired items must stay readable until a sweep runs.
  let db = await open(t, path, 3_600_000);
  await db.createTable(TABLE);
  t.same(await db.updateTimeToLive({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true } }), {
    TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true },
  });
  const nowSeconds = Math.floor(Date.now() / 1000);
  const expired: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < 60; i += 1) {
    const sk = `item-${String(i).padStart(3, '0')}`;
    let expires: AttributeMap[string] | undefined;
    if (i % 3 === 0) {
      expires = { N: String(nowSeconds - 10 - i) };
      expired.push(sk);
    } else {
      kept.push(sk);
      if (i % 3 === 1) expires = { N: String(nowSeconds + 3600) };
      else if (i % 6 === 2) expires = { S: String(nowSeconds - 10) };
      else expires = { N: String(nowSeconds - TIME_TO_LIVE_PAST_SECONDS_MAX - 100) };
    }
    await db.putItem({ TableName: 'sessions', Item: { pk: { S: `p${i % 4}` }, sk: { S: sk }, expires } });
  }
  const firstExpired = { pk: { S: 'p0' }, sk: { S: expired[0]! } };
  t.ok((await db.getItem({ TableName: 'sessions', Key: firstExpired, ConsistentRead: true })).Item, 'an expired item stays readable until it is swept');
  await db.close();

  // Reopen with a fast sweep: the setting survived, and the sweep runs.
  db = await open(t, path, 20);
  t.same(await db.describeTimeToLive({ TableName: 'sessions' }), { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' } });
  const present = async (): Promise<string[]> => {
    const items: AttributeMap[] = [];
    let start: AttributeMap | undefined;
    do {
      const page = await db.scan({ TableName: 'sessions', ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) });
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.map((item) => (item['sk'] as { S: string }).S).sort();
  };
  await until(async () => (await present()).length === kept.length, 'the expired items to be swept');
  t.same(await present(), kept.sort(), 'exactly the eligible expired items are gone');
  t.same((await db.describeTable({ TableName: 'sessions' })).Table.ItemCount, kept.length, 'sweeps are deletes: the item count follows');
  await db.close();
});

t.test('an item renewed before the sweep reaches it is kept', async (t) => {
  const db = await open(t, tempDir(t), 3_600_000);
  await db.createTable(TABLE);
  await db.updateTimeToLive({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true } });
  const nowSeconds = Math.floor(Date.now() / 1000);
  const key = { pk: { S: 'p' }, sk: { S: 'renewed' } };
  await db.putItem({ TableName: 'sessions', Item: { ...key, expires: { N: String(nowSeconds - 5) } } });
  // The sweep's delete is conditional on the expiry it saw: simulate the race by deleting with that condition after a renewal.
  await db.updateItem({ TableName: 'sessions', Key: key, UpdateExpression: 'SET expires = :later', ExpressionAttributeValues: { ':later': { N: String(nowSeconds + 3600) } } });
  const failure = await db.deleteItem({ TableName: 'sessions', Key: key, ...sweepDeleteCondition('expires', String(nowSeconds - 5)) }).then(
    () => undefined,
    (error: Error) => error.name,
  );
  t.equal(failure, 'ConditionalCheckFailedException');
  t.ok((await db.getItem({ TableName: 'sessions', Key: key, ConsistentRead: true })).Item, 'the renewed item is still there');
});

t.test('the AWS SDK reaches UpdateTimeToLive and DescribeTimeToLive', async (t) => {
  const db = await open(t, tempDir(t), 3_600_000);
  await db.createTable(TABLE);
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    requestHandler: createRequestHandler({ dispatcher: db }),
  });
  t.teardown(() => client.destroy());
  const update = await client.send(new UpdateTimeToLiveCommand({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true } }));
  t.same(update.TimeToLiveSpecification, { AttributeName: 'expires', Enabled: true });
  const described = await client.send(new DescribeTimeToLiveCommand({ TableName: 'sessions' }));
  t.same(described.TimeToLiveDescription, { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' });
  const error = await client.send(new UpdateTimeToLiveCommand({ TableName: 'sessions', TimeToLiveSpecification: { AttributeName: 'expires', Enabled: true } })).then(
    () => undefined,
    (failed: Error) => failed,
  );
  t.equal(error?.name, 'ValidationException');
  t.equal(error?.message, 'TimeToLive is already enabled');
});

t.test('a bad sweep option is ERR_INVALID_OPTIONS, and the failed open leaves nothing running', async (t) => {
  const path = tempDir(t);
  const failure = await Database.open({ path, nodes: 2, durability: 'none', timeToLive: { sweepIntervalMs: 0 } }).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(failure instanceof RingtableError, 'a RingtableError');
  t.equal((failure as RingtableError).code, ErrorCode.INVALID_OPTIONS);
  // The failed open closed its store: the directory is not locked (ERR_IN_USE) and opens again.
  const db = await Database.open({ path, nodes: 2, durability: 'none' });
  t.teardown(() => db.close());
  t.same(await db.listTables({}), { TableNames: [] });
});
