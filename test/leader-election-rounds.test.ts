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
import { ELECTION_BATCH_MAX } from '../lib/store/partition-leaders.js';
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

/**
 * The fewest rounds that elect every led partition: a round takes partitions
 * with the same replicas and leader, at most ELECTION_BATCH_MAX of them.
 */
function fewestRounds(store: Store): number {
  const groups = new Map<string, number>();
  for (const { replicas, leader } of store.partitions()) {
    if (leader?.ready !== true) continue;
    const group = `${[...replicas].sort().join(',')}|${leader.node}`;
    groups.set(group, (groups.get(group) ?? 0) + 1);
  }
  let rounds = 0;
  for (const count of groups.values()) rounds += Math.ceil(count / ELECTION_BATCH_MAX);
  return rounds;
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
  // Not in the order written: the partitions are elected in another order than before the reopen, so the terms
  // this coordinator would open from 1 differ from those the nodes remember (in the same order they would be equal).
  await inParallel(ITEMS, 16, async (j) => {
    const i = ITEMS - 1 - j;
    const { Item } = await db.getItem({ TableName: TABLE, Key: { pk: { S: `account#${i}` } }, ConsistentRead: true });
    const n = Item?.['n'];
    read[i] = n !== undefined && 'N' in n ? n.N : undefined;
  });
  t.same(read, Array.from({ length: ITEMS }, (_, i) => String(i)), 'every item read back, from a leader that caught up');
  const stats = db.store.stats();
  const led = db.store.partitions().filter((partition) => partition.leader?.ready === true).length;
  t.ok(led >= 100, `${led} partitions have a leader that serves`);
  // The nodes remember the terms of the first Database: new terms start above them (NodeStat.TERM_MAX). Before,
  // each round's first terms were refused as stale and opened again (a scratch run: 1,996 terms for 1,024 partitions, 38 rounds).
  t.equal(stats.leaderTerms, led, `one term for each partition, none refused as stale (${stats.leaderTerms} terms)`);
  const fewest = fewestRounds(db.store);
  t.ok(stats.leaderElectionRounds <= fewest + 2, `caught up in ${stats.leaderElectionRounds} rounds; ${fewest} is the fewest ELECTION_BATCH_MAX allows`);
});

t.test("a restarted leader's partitions elect again in a few rounds, not one each", async (t) => {
  const path = mkdtempSync(join(tmpdir(), 'ringtable-elect-'));
  t.teardown(() => rmSync(path, { recursive: true, force: true }));
  const db = await openDatabase(path);
  t.teardown(() => db.close());
  await db.createTable({ TableName: TABLE, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' });
  await inParallel(ITEMS, 16, async (i) => {
    await db.putItem({ TableName: TABLE, Item: { pk: { S: `account#${i}` }, n: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' });
  });
  const readAll = async () => {
    const read: (string | undefined)[] = [];
    await inParallel(ITEMS, 16, async (i) => {
      const { Item } = await db.getItem({ TableName: TABLE, Key: { pk: { S: `account#${i}` } }, ConsistentRead: true });
      const n = Item?.['n'];
      read[i] = n !== undefined && 'N' in n ? n.N : undefined;
    });
    return read;
  };
  await readAll();
  const leader = 1;
  const ledBefore = db.store.partitions().filter((partition) => partition.leader?.node === leader && partition.leader.ready).length;
  t.ok(ledBefore >= 100, `node ${leader} leads ${ledBefore} partitions`);
  db.store.crashNode(leader);
  await db.store.startNode(leader);
  const before = db.store.stats();
  t.same(await readAll(), Array.from({ length: ITEMS }, (_, i) => String(i)), 'every item read back after the restart');
  const after = db.store.stats();
  const terms = after.leaderTerms - before.leaderTerms;
  const rounds = after.leaderElectionRounds - before.leaderElectionRounds;
  t.ok(terms >= 20, `the restarted leader's partitions read took new terms (${terms})`);
  // Before, each of them elected in a round of its own at its next request (rounds = terms).
  t.ok(rounds * 8 <= terms, `in ${rounds} rounds`);
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
