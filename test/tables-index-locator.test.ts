/**
 * GSI locators (lib/tables/indexes/index-locator.ts): a change record whose
 * old image is not the item the index holds (a failed write that committed
 * on one replica and came back through anti-entropy, with the next leader's
 * write logged from the older image) must not leave an entry behind, in
 * either order of arrival. The pure decision, then the applier over the
 * in-memory engine, where such a record can be placed exactly.
 */
import t, { type Test } from 'tap';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { readCatalog } from '../lib/tables/catalog-file.js';
import { encodeItemKey } from '../lib/tables/key-encoding.js';
import { logKeyPrefix, queueRecord, VERSION_SUFFIX_BYTES } from '../lib/tables/indexes/change-log.js';
import { locateChange } from '../lib/tables/indexes/index-locator.js';
import { openOnMemory } from './helpers/memory-database.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

t.test('locateChange: older changes are dropped, a newer one removes the located entry and the imaged one', async (t) => {
  t.equal(locateChange({ entryKey: bytes(1), baseVersion: 7 }, 7, undefined, bytes(2)), undefined, 'the same version again: nothing');
  t.equal(locateChange({ entryKey: bytes(1), baseVersion: 9 }, 7, bytes(1), bytes(2)), undefined, 'an older version: nothing');
  t.same(locateChange(undefined, 3, bytes(1), bytes(2)), { remove: [bytes(1)], write: bytes(2), locator: { entryKey: bytes(2), baseVersion: 3 } }, 'no locator: the image alone');
  t.same(locateChange({ entryKey: bytes(5), baseVersion: 2 }, 3, bytes(1), bytes(2)), { remove: [bytes(5), bytes(1)], write: bytes(2), locator: { entryKey: bytes(2), baseVersion: 3 } }, 'both the located and the imaged entry go');
  t.same(locateChange({ entryKey: bytes(2), baseVersion: 2 }, 3, bytes(2), bytes(2)), { remove: [], write: bytes(2), locator: { entryKey: bytes(2), baseVersion: 3 } }, 'the entry written is never removed');
  t.same(locateChange({ entryKey: bytes(2), baseVersion: 2 }, 3, bytes(2), undefined), { remove: [bytes(2)], locator: { baseVersion: 3 } }, 'the item left the index: removed once, and the locator remembers the version');
  t.equal(locateChange({ baseVersion: 4 }, 3, undefined, bytes(2)), undefined, 'a removed item is not brought back by an older change');
});


const TABLE = {
  TableName: 'accounts',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'owner', AttributeType: 'S' }, { AttributeName: 'balance', AttributeType: 'N' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
  GlobalSecondaryIndexes: [{ IndexName: 'byOwner', KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }, { AttributeName: 'balance', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
} as const;

async function setUp(t: Test) {
  const { db, engine, dir } = openOnMemory(t);
  await db.createTable(structuredClone(TABLE) as never);
  const record = readCatalog(dir).tables['accounts']!;
  const queueSpace = record.indexes!.spaces['byOwner']!.queueSpace!;
  const partitionPart = encodeItemKey(record.id, { S: 'a0' }).partitionPart;
  /** A change record of item a0 at exactly `version`, as anti-entropy would bring one back. */
  const plantRecord = async (old: AttributeMap | undefined, next: AttributeMap, version: number) => {
    const prefix = logKeyPrefix(queueSpace, partitionPart);
    const key = new Uint8Array(prefix.byteLength + VERSION_SUFFIX_BYTES);
    key.set(prefix, 0);
    new DataView(key.buffer).setBigUint64(prefix.byteLength, BigInt(version));
    await engine.writeOrdered({ key, value: queueRecord(old === undefined ? { new: next } : { old, new: next }, Date.now()) });
  };
  /** The version of a0's last write: the memory engine numbers writes ('v12'), and a change record's key ends in that number. */
  const itemVersion = async () => Number((await engine.getOrdered(encodeItemKey(record.id, { S: 'a0' }).key))!.version.slice(1));
  const index = async () => ((await db.scan({ TableName: 'accounts', IndexName: 'byOwner' })).Items ?? []).map((item) => [item['pk'], item['owner'], item['balance']].map((value) => Object.values(value as object)[0]).join(':')).sort();
  return { db, engine, plantRecord, itemVersion, index };
}

const A = { pk: { S: 'a0' }, owner: { S: 'o1' }, balance: { N: '1' } };
const X = { pk: { S: 'a0' }, owner: { S: 'o5' }, balance: { N: '14' } };
const Y = { pk: { S: 'a0' }, owner: { S: 'o7' }, balance: { N: '20' } };

t.test('a failed write\'s record applied before the next leader\'s write, which was logged from the older image', async (t) => {
  const { db, plantRecord, index } = await setUp(t);
  await db.putItem({ TableName: 'accounts', Item: A });
  await db.indexes.settle();
  t.same(await index(), ['a0:o1:1']);
  // X committed on one replica only (version below the next write's), logged A -> X; Y is then written from A.
  const { Attributes } = await db.getItem({ TableName: 'accounts', Key: { pk: { S: 'a0' } } }).then((got) => ({ Attributes: got.Item }));
  t.same(Attributes, A);
  await plantRecord(A, X, 2 ** 40);
  await db.putItem({ TableName: 'accounts', Item: Y });
  // Y's record: the memory engine's version of that write is far below 2^40, so give Y a record above X's too.
  await plantRecord(A, Y, 2 ** 40 + 1);
  await db.indexes.settle();
  t.same(await index(), ['a0:o7:20'], 'only the item the table holds: X\'s entry was removed by the newer change');
});

t.test('a failed write\'s record that comes back after the newer write was applied changes nothing', async (t) => {
  const { db, plantRecord, itemVersion, index } = await setUp(t);
  await db.putItem({ TableName: 'accounts', Item: A });
  await db.putItem({ TableName: 'accounts', Item: Y });
  const yVersion = await itemVersion();
  t.ok(yVersion > 1, 'Y has a version above A\'s');
  await db.indexes.settle();
  t.same(await index(), ['a0:o7:20']);
  await plantRecord(A, X, yVersion - 1);
  t.equal(await db.indexes.settle(), 0, 'the late record was taken off the queue');
  t.same(await index(), ['a0:o7:20'], 'the older change did not add an entry');
  await db.deleteItem({ TableName: 'accounts', Key: { pk: { S: 'a0' } } });
  await db.indexes.settle();
  t.same(await index(), []);
  await plantRecord(A, X, yVersion + 1);
  await db.indexes.settle();
  t.same(await index(), [], 'a removed item is not brought back by a change older than its removal');
});

t.test("a failed write's record that comes back after a newer write that left the entry as it was changes nothing", async (t) => {
  const { db, plantRecord, itemVersion, index } = await setUp(t);
  await db.putItem({ TableName: 'accounts', Item: A });
  await db.putItem({ TableName: 'accounts', Item: { pk: { S: 'other' }, owner: { S: 'o2' }, balance: { N: '2' } } }); // versions move on
  await db.putItem({ TableName: 'accounts', Item: A }); // the newer write: same item, same entry
  const newer = await itemVersion();
  await db.indexes.settle();
  t.same(await index(), ['a0:o1:1', 'other:o2:2']);
  // X committed on one replica only, below the newer write's version and above A's first one, logged A -> X.
  await plantRecord(A, X, newer - 1);
  await db.indexes.settle();
  t.same(await index(), ['a0:o1:1', 'other:o2:2'], "the table holds A: the index keeps A's entry, and X's is not added");
});

t.test("a failed write's record that comes back after a newer write that kept the item out of the index changes nothing", async (t) => {
  const { db, plantRecord, itemVersion, index } = await setUp(t);
  const unindexed = { pk: { S: 'a0' }, note: { S: 'no owner' } };
  await db.putItem({ TableName: 'accounts', Item: unindexed });
  await db.putItem({ TableName: 'accounts', Item: { pk: { S: 'other' }, owner: { S: 'o2' }, balance: { N: '2' } } });
  await db.putItem({ TableName: 'accounts', Item: { ...unindexed, note: { S: 'still no owner' } } });
  const newer = await itemVersion();
  await db.indexes.settle();
  t.same(await index(), ['other:o2:2']);
  await plantRecord(undefined, X, newer - 1);
  await db.indexes.settle();
  t.same(await index(), ['other:o2:2'], 'the item the table holds is not in the index, so X is not either');
});
