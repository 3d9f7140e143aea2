/**
 * Consumed capacity arithmetic (lib/tables/capacity-units.ts), with the
 * worked examples of the DynamoDB Developer Guide as collected in
 * ../shared/dynamodb-reference.md §3.
 */
import t from 'tap';
import {
  READ_UNIT_BYTES,
  WRITE_UNIT_BYTES,
  batchGetItemCapacity,
  batchWriteItemCapacity,
  conditionalCheckFailedCapacity,
  consumedCapacity,
  getItemCapacity,
  indexWriteCapacity,
  queryCapacity,
  readCapacityUnits,
  writeCapacityUnits,
  writeItemCapacity,
} from '../lib/tables/capacity-units.js';

const KB = 1024;

t.test('read units: 4 KB each, eventual half, transactional double', async (t) => {
  t.equal(READ_UNIT_BYTES, 4096);
  t.equal(readCapacityUnits(1, 'strong'), 1);
  t.equal(readCapacityUnits(4 * KB, 'strong'), 1);
  t.equal(readCapacityUnits(4 * KB + 1, 'strong'), 2);
  t.equal(readCapacityUnits(4 * KB + 1, 'eventual'), 1);
  t.equal(readCapacityUnits(4 * KB + 1, 'transactional'), 4);
  t.equal(readCapacityUnits(400 * KB, 'eventual'), 50);
});

t.test('write units: 1 KB each, transactional double', async (t) => {
  t.equal(WRITE_UNIT_BYTES, 1024);
  t.equal(writeCapacityUnits(1), 1);
  t.equal(writeCapacityUnits(KB), 1);
  t.equal(writeCapacityUnits(KB + 1), 2);
  t.equal(writeCapacityUnits(KB + 1, true), 4);
  t.equal(writeCapacityUnits(0), 1, 'at least one unit');
});

t.test('GetItem and BatchGetItem', async (t) => {
  t.equal(getItemCapacity(undefined, 'strong'), 1, 'a missing item costs 1');
  t.equal(getItemCapacity(undefined, 'eventual'), 0.5);
  t.equal(getItemCapacity(3500, 'strong'), 1);
  t.equal(getItemCapacity(10 * KB, 'eventual'), 1.5);
  // 1.5 KB + 6.5 KB count as 4 KB + 8 KB = 12 KB, not 8 KB.
  t.equal(batchGetItemCapacity([1.5 * KB, 6.5 * KB], 'strong'), 3);
  t.equal(batchGetItemCapacity([1.5 * KB, 6.5 * KB], 'eventual'), 1.5);
  t.equal(batchGetItemCapacity([], 'strong'), 0);
});

t.test('Query and Scan: summed, rounded once, a minimum per partition', async (t) => {
  // Ten items of 40.8 KB in total count as 44 KB.
  const tenItems = Array.from({ length: 10 }, () => 4.08 * KB);
  t.equal(queryCapacity(tenItems, 'strong'), 11);
  t.equal(queryCapacity(tenItems, 'eventual'), 5.5);
  // 1,500 items of 64 bytes count as 96 KB, not 1,500 x 4 KB.
  const small = Array.from({ length: 1500 }, () => 64);
  t.equal(queryCapacity(small, 'strong'), 24);
  t.equal(queryCapacity(small, 'eventual'), 12);
  t.equal(queryCapacity([], 'strong'), 1, 'an empty partition still costs the minimum');
  t.equal(queryCapacity([], 'eventual'), 0.5);
  t.equal(queryCapacity([100], 'eventual', 4), 2, 'a scan page over 4 partitions');
  t.equal(queryCapacity(Array.from({ length: 5 }, () => 4 * KB), 'strong', 2), 5, 'the bytes dominate the minimum');
});

t.test('writes: larger of old and new, deletes, failed conditions, batches', async (t) => {
  t.equal(writeItemCapacity(undefined, 500), 1);
  t.equal(writeItemCapacity(3 * KB, 500), 3, 'an update that shrinks an item pays for the old one');
  t.equal(writeItemCapacity(500, 2.5 * KB), 3);
  t.equal(writeItemCapacity(2 * KB, undefined), 2, 'delete');
  t.equal(writeItemCapacity(undefined, undefined), 1, 'delete of a missing item');
  t.equal(writeItemCapacity(500, 2.5 * KB, true), 6, 'transactional');
  t.equal(conditionalCheckFailedCapacity(2.5 * KB, true), 3);
  t.equal(conditionalCheckFailedCapacity(2.5 * KB, false), 1);
  t.equal(batchWriteItemCapacity([500, 1.5 * KB, undefined]), 1 + 2 + 1);
});

t.test('secondary index writes', async (t) => {
  t.equal(indexWriteCapacity(undefined, undefined), 0, 'not in the index before or after');
  t.equal(indexWriteCapacity(undefined, { key: 'k', bytes: 100 }), 1, 'new entry');
  t.equal(indexWriteCapacity({ key: 'k', bytes: 2 * KB }, undefined), 2, 'removed entry');
  t.equal(indexWriteCapacity({ key: 'k', bytes: 100 }, { key: 'k', bytes: 100 }), 1, 'same key, new projection');
  t.equal(indexWriteCapacity({ key: 'k', bytes: 100 }, { key: 'j', bytes: 100 }), 2, 'key changed: delete and put');
});

t.test('ConsumedCapacity shapes', async (t) => {
  t.equal(consumedCapacity(undefined, 'T', { table: 1 }), undefined);
  t.equal(consumedCapacity('NONE', 'T', { table: 1 }), undefined);
  t.same(consumedCapacity('TOTAL', 'T', { table: 1, globalSecondaryIndexes: { g: 2 } }), { TableName: 'T', CapacityUnits: 3 });
  t.same(consumedCapacity('INDEXES', 'T', { table: 0.5 }), { TableName: 'T', CapacityUnits: 0.5, Table: { CapacityUnits: 0.5 } });
  t.same(consumedCapacity('INDEXES', 'T', { table: 2, localSecondaryIndexes: { l: 1 }, globalSecondaryIndexes: { g1: 1, g2: 2 } }), {
    TableName: 'T',
    CapacityUnits: 6,
    Table: { CapacityUnits: 2 },
    LocalSecondaryIndexes: { l: { CapacityUnits: 1 } },
    GlobalSecondaryIndexes: { g1: { CapacityUnits: 1 }, g2: { CapacityUnits: 2 } },
  });
  const noIndexMaps = consumedCapacity('INDEXES', 'T', { table: 1, globalSecondaryIndexes: {} })!;
  t.notOk('GlobalSecondaryIndexes' in noIndexMaps);
});
