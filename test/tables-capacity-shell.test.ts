/**
 * TableCapacity (lib/tables/table-capacity.ts), the shell between the
 * catalog and the pure capacity model, without storage nodes: it follows
 * the catalog (a changed throughput, as UpdateTable will make it; a table
 * recreated under the same name; a deleted table), defines GSIs with their
 * own throughput and charges their writes together with the table's (GSI
 * back-pressure), and its snapshots and updates hand out each event once.
 */
import t from 'tap';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { createTable, EMPTY_CATALOG, type CatalogState, type TableRecord } from '../lib/tables/table-catalog.js';
import { capacityUpdates, TableCapacity } from '../lib/tables/table-capacity.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { PROVISIONED_INDEX_MESSAGE } from '../lib/tables/capacity/capacity-model.js';
import type { CapacitySnapshot } from '../lib/tables/capacity/capacity-snapshot.js';

const KEY_SCHEMA = { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] };

function harness(): { capacity: TableCapacity; clock: { nowMs: number }; catalog: { state: CatalogState } } {
  const clock = { nowMs: 1_700_000_000_000 };
  const catalog = { state: EMPTY_CATALOG };
  const capacity = new TableCapacity({ mode: 'enforce', capacityScale: 0.01, clock: () => clock.nowMs, region: 'ddblocal', accountId: '000000000000', tables: () => Object.values(catalog.state.tables) });
  return { capacity, clock, catalog };
}

function create(catalog: { state: CatalogState }, input: Record<string, unknown>): TableRecord {
  const attributes = [{ AttributeName: 'pk', AttributeType: 'S' }, ...(input['GlobalSecondaryIndexes'] === undefined ? [] : [{ AttributeName: 'g', AttributeType: 'S' }])];
  const decision = createTable(catalog.state, { ...KEY_SCHEMA, AttributeDefinitions: attributes, ...input }, { nowMs: 0, tableUuid: 'u' });
  catalog.state = decision.state;
  return decision.record;
}

const keyOf = (record: TableRecord, pk: string) => encodeItemKey(record.id, { S: pk }).key;

function resource(snapshot: CapacitySnapshot, table: string, index?: string) {
  const found = snapshot.resources.find((r) => r.table === table && r.index === index);
  if (found === undefined) throw new Error(`no ${table} ${index ?? ''}`);
  return found;
}

/** Writes of one unit on `pk` at the current instant until one throttles; returns how many were admitted (at most `max`). */
function admittedWrites(capacity: TableCapacity, record: TableRecord, pk: string, max: number): number {
  for (let i = 0; i < max; i++) {
    try {
      capacity.chargeWrite(record, keyOf(record, pk), pk, 1);
    } catch (error) {
      if (error instanceof DynamoDbError && error.name === 'ProvisionedThroughputExceededException') return i;
      throw error;
    }
  }
  return max;
}

t.test('a changed throughput in the catalog record is re-read (the UpdateTable path)', async (t) => {
  const { capacity, clock, catalog } = harness();
  const record = create(catalog, { TableName: 'orders', ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 } });
  t.equal(resource(capacity.snapshot(), 'orders').writeUnitsPerSecond, 1, '100 WCU × 0.01');
  t.equal(admittedWrites(capacity, record, 'a', 10), 1, 'one second banked at definition: 1 WCU');

  // What UpdateTable leaves in the catalog: a new schema object with the new throughput.
  const updated: TableRecord = { ...record, schema: { ...record.schema, provisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 500 } } };
  catalog.state = { ...catalog.state, tables: { orders: updated } };
  capacity.syncTable(updated);
  t.equal(resource(capacity.snapshot(), 'orders').writeUnitsPerSecond, 5, 'the model follows: 500 WCU × 0.01');
  clock.nowMs += 1000;
  t.equal(admittedWrites(capacity, updated, 'a', 10), 5, 'one second of the new rate');
  t.equal(resource(capacity.snapshot(), 'orders').provisioned?.writeCapacityUnits, 500);

  // A record with only its size changed (every write makes one) keeps the model's state.
  const written: TableRecord = { ...updated, itemCount: 1, sizeBytes: 100 };
  t.equal(admittedWrites(capacity, written, 'a', 10), 0, 'the same second: nothing left');
});

t.test('a table recreated under the same name starts afresh; a deleted one leaves the metrics', async (t) => {
  const { capacity, clock, catalog } = harness();
  const first = create(catalog, { TableName: 'orders', ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 300 } });
  t.equal(admittedWrites(capacity, first, 'a', 10), 3);
  t.equal(resource(capacity.snapshot(), 'orders').throttledTotal, 1);
  catalog.state = { ...catalog.state, tables: {} };
  t.equal(capacity.snapshot().resources.length, 0, 'deleted: gone from the metrics');
  clock.nowMs += 10;
  const second = create(catalog, { TableName: 'orders', ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 300 } });
  t.not(second.id, first.id);
  t.equal(resource(capacity.snapshot(), 'orders').throttledTotal, 0, 'the new table has no history');
});

t.test('GSIs are defined with their own throughput; an index without capacity throttles the base write (back-pressure)', async (t) => {
  const { capacity, catalog } = harness();
  const record = create(catalog, {
    TableName: 'orders',
    ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 1000 },
    GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 200 } }],
  });
  const snapshot = capacity.snapshot();
  t.equal(resource(snapshot, 'orders', 'byG').writeUnitsPerSecond, 2);
  t.equal(resource(snapshot, 'orders', 'byG').arn, 'arn:aws:dynamodb:ddblocal:000000000000:table/orders/index/byG');
  const indexKey = { partitionKeyHash: 7, itemKey: 'g1' };
  let admitted = 0;
  let refusal: DynamoDbError | undefined;
  for (let i = 0; i < 5 && refusal === undefined; i++) {
    try {
      capacity.chargeWrite(record, keyOf(record, `p${i}`), `p${i}`, 1, [{ index: 'byG', key: indexKey, writeUnits: 1 }]);
      admitted++;
    } catch (error) {
      if (!(error instanceof DynamoDbError)) throw error;
      refusal = error;
    }
  }
  t.equal(admitted, 2, 'the table has 10 WCU, the index 2: two writes');
  t.equal(refusal?.name, 'ProvisionedThroughputExceededException');
  t.equal(refusal?.message, PROVISIONED_INDEX_MESSAGE);
  t.same(refusal?.throttlingReasons, [{ reason: 'IndexWriteProvisionedThroughputExceeded', resource: 'arn:aws:dynamodb:ddblocal:000000000000:table/orders/index/byG' }]);
  const after = capacity.snapshot();
  t.equal(resource(after, 'orders').consumedWriteUnits.at(-1), 2, 'the refused write consumed nothing on the table either');
  t.equal(resource(after, 'orders', 'byG').mostThrottledKeys[0]?.key, 'g1', 'the throttle is counted on the index, with its key');
});

t.test('capacityUpdates hands out each event once', async (t) => {
  const { capacity, clock, catalog } = harness();
  // Raising the throughput to 3,000 WCU adds partitions: a 'partitions-added' event.
  const record = create(catalog, { TableName: 'events', ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 } });
  admittedWrites(capacity, record, 'a', 1);
  const updated: TableRecord = { ...record, schema: { ...record.schema, provisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 3000 } } };
  catalog.state = { ...catalog.state, tables: { events: updated } };
  const controller = new AbortController();
  const seen: number[] = [];
  let snapshots = 0;
  for await (const snapshot of capacityUpdates((o) => capacity.snapshot(o), undefined, { intervalMs: 50, signal: controller.signal })) {
    snapshots++;
    seen.push(...snapshot.events.map((e) => e.seq));
    if (snapshots === 1) {
      capacity.syncTable(updated); // 3,000 WCU: three partitions, an event
      clock.nowMs += 1000;
    }
    if (snapshots === 3) controller.abort();
  }
  t.equal(snapshots, 3);
  t.ok(seen.length >= 1, 'the partitions-added event arrived');
  t.same(seen, [...new Set(seen)], 'and no event twice');
  t.equal(capacity.snapshot({ sinceEventSeq: seen.at(-1) }).events.length, 0);
});
