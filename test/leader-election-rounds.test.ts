/**
 * A fresh or reopened store elects a leader for each ring partition at its
 * first use; one election round catches up many partitions at once
 * (PartitionLeaders.electionBatch, electLeaders in
 * lib/store/leader-election.ts), against real storage-node workers and LMDB.
 * Before, every partition's first consistent read or ordered write ran an
 * election round of its own: its fences and a partition scan per replica.
 * Counters only, never time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Database, ErrorCode, RingtableError, type Store, partitionedKey } from '../lib/index.js';
import { openAt, outcome, tempDir } from './helpers/temp-store.js';

const ITEMS = 200;
const TABLE = 'accounts';

async function openDatabase(path: string): Promise<Database> {
  return Database.open({ path, nodes: 4, durability: 'none', antiEntropyIntervalMs: 0 });
}

/** Run `count` calls, `inFlight` at a time. */
async function inParallel(count: number, inFlight: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await call(next++);
  }));
}

t.test("a reopened Database's first consistent reads across many partitions take far fewer election rounds than partitions", async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-elect-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const first = await openDatabase(path);
  await first.createTable({ TableName: TABLE, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' });
  await inParallel(ITEMS, 16, async (i) => {
    await first.putItem({ TableName: TABLE, Item: { pk: { S: `account#${i}` }, n: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' });
  });
  const written = first.store.stats();
  t.ok(written.leaderElectionRounds * 8 <= written.leaderTerms, `the writes of a fresh Database: ${written.leaderElectionRounds} rounds for ${written.leaderTerms} terms`);
  await first.close();

  const db = await openDatabase(path);
  t.teardown(() => db.close());
  const read: (string | undefined)[] = [];
  await inParallel(ITEMS, 16, async (i) => {
    const { Item } = await db.getItem({ TableName: TABLE, Key: { pk: { S: `account#${i}` } }, ConsistentRead: true });
    const n = Item?.['n'];
    read[i] = n !== undefined && 'N' in n ? n.N : undefined;
  });
  t.same(read, Array.from({ length: ITEMS }, (_, i) => String(i)), 'every item read back, from a leader that caught up');
  const stats = db.store.stats();
  const led = db.store.partitions().filter((partition) => partition.leader?.ready === true).length;
  t.ok(led >= 100, `${led} partitions have a leader that serves`);
  t.ok(stats.leaderTerms >= led, `a term for each (${stats.leaderTerms})`);
  t.ok(stats.leaderElectionRounds * 8 <= stats.leaderTerms, `caught up in ${stats.leaderElectionRounds} rounds`);
});

const text = new TextEncoder();
const SETUP = { nodes: 3, vnodes: 16, timeoutMs: 400, failureTimeoutMs: 300 };
const KEYS = 12;

function codeOf(result: { ok: boolean; error?: unknown }): string | undefined {
  return result.ok ? 'ok' : result.error instanceof RingtableError ? result.error.code : String(result.error);
}

/** `KEYS` keys whose partitions one node leads, spread over its partitions. */
function keysLedBy(store: Store): { leader: number; keys: Uint8Array[] } {
  const keys: Uint8Array[] = [];
  let leader = -1;
  for (let i = 0; keys.length < KEYS; i++) {
    const key = partitionedKey(9, text.encode(`account#${i}`), text.encode('balance'));
    const first = store.preferenceList(key)[0]!;
    if (leader < 0) leader = first;
    if (first === leader) keys.push(key);
  }
  return { leader, keys };
}

t.test("one round's companions commit the leader's copies before they serve: writes that reached only the leader survive its crash", async (t) => {
  const path = tempDir(t);
  const first = await openAt(t, path, SETUP);
  const { leader, keys } = keysLedBy(first);
  const versions = await Promise.all(keys.map((key) => first.writeOrdered({ key, value: 'before' })));
  const followers = first.preferenceList(keys[0]!).slice(1);
  for (const follower of followers) first.faults.drop(follower, 1);
  const failed = await Promise.all(keys.map((key, i) => outcome(() => first.writeOrdered({ key, value: 'after', expect: versions[i]!.version }))));
  t.ok(failed.every((result) => codeOf(result) === ErrorCode.TIMEOUT || codeOf(result) === ErrorCode.QUORUM), 'every write that reached only the leader failed');
  await first.close();

  const store = await openAt(t, path, SETUP);
  const reads = [];
  for (const key of keys) reads.push(await store.getOrdered(key, { consistent: true })); // one at a time: only the first elects
  t.same(reads.map((read) => read?.value), keys.map(() => 'after'), "each read the leader's copy, committed by its round's catch-up");
  const { leaderElectionRounds, leaderTerms } = store.stats();
  t.equal(leaderElectionRounds, 1, `one round elected the leader of every one of the keys' partitions (${leaderTerms} terms)`);
  store.crashNode(leader);
  const afterCrash = await Promise.all(keys.map((key) => store.getOrdered(key, { consistent: true })));
  t.same(afterCrash.map((read) => [read?.value, read?.version]), reads.map((read) => [read?.value, read?.version]), 'the next leader has every copy the first consistent reads showed');
});
