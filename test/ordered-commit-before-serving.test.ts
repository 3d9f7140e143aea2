/**
 * Commit before serving, against real storage-node workers and LMDB
 * (lib/store/uncommitted-keys.ts): a leader applies an ordered write, then
 * replicates it; when the replication cannot reach W (fault injection drops
 * every request to both followers) the write fails for its caller, yet the
 * leader holds it. A consistent read, or a compare-and-set, must not be
 * decided on that copy until it is on W replicas: served, a crash of the
 * leader would take it back (the new leader catches up from replicas that
 * never had it), so a later consistent read would return the older value. On
 * main at 1becd6b the first consistent read returned the failed write and the
 * one after the crash the value before it.
 */
import t, { type Test } from 'tap';
import { ErrorCode, RingtableError, type Store, partitionedKey } from '../lib/index.js';
import { openTemp, outcome } from './helpers/temp-store.js';

const text = new TextEncoder();
const itemKey = (part: string, rest: string) => partitionedKey(9, text.encode(part), text.encode(rest));

function codeOf(result: { ok: boolean; error?: unknown }): string | undefined {
  return result.ok ? 'ok' : result.error instanceof RingtableError ? result.error.code : String(result.error);
}

/** Write `before` (acknowledged), then `after` while both followers drop every request: it fails, and only the leader holds it. */
async function writeInDoubt(t: Test, store: Store, key: Uint8Array): Promise<{ leader: number; followers: number[]; before: string }> {
  const [leader, ...followers] = store.preferenceList(key) as [number, ...number[]];
  const { version: before } = await store.writeOrdered({ key, value: 'before' });
  for (const follower of followers) store.faults.drop(follower, 1);
  const failed = await outcome(() => store.writeOrdered({ key, value: 'after', expect: before }));
  t.ok(codeOf(failed) === ErrorCode.TIMEOUT || codeOf(failed) === ErrorCode.QUORUM, `the write that reached only the leader failed (${codeOf(failed)})`);
  return { leader, followers, before };
}

t.test('a write only the leader holds is not served while it cannot reach W, and a crash of the leader takes back nothing a read showed', async (t) => {
  const store = await openTemp(t, { nodes: 3, timeoutMs: 400, failureTimeoutMs: 300 });
  const key = itemKey('account#1', 'balance');
  const { leader, before } = await writeInDoubt(t, store, key);

  const read = await outcome(() => store.getOrdered(key, { consistent: true }));
  t.ok(codeOf(read) === ErrorCode.TIMEOUT || codeOf(read) === ErrorCode.QUORUM, `the consistent read fails as a write would, rather than show the leader's copy (${codeOf(read)}${read.ok ? `: ${JSON.stringify(read.value)}` : ''})`);
  const cas = await outcome(() => store.writeOrdered({ key, value: 'cas', expect: before }));
  t.ok(codeOf(cas) === ErrorCode.TIMEOUT || codeOf(cas) === ErrorCode.QUORUM, `a compare-and-set is not decided on the leader's copy either (${codeOf(cas)}, not ${ErrorCode.CONFLICT})`);

  store.crashNode(leader);
  store.faults.clear();
  const afterCrash = await store.getOrdered(key, { consistent: true });
  t.same([afterCrash?.value, afterCrash?.version], ['before', before], 'after the crash the new leader has the value before: no read had shown the failed write');
  await store.startNode(leader);
  const again = await store.getOrdered(key, { consistent: true });
  t.ok(again?.value === 'before' || again?.value === 'after', `the restarted leader may bring the failed write back (${String(again?.value)}): a failed write may take effect`);
  const settled = await store.getOrdered(key, { consistent: true });
  t.same(settled?.version, again?.version, 'and what a consistent read showed stays');
});

t.test('once the followers are reachable, a consistent read commits the leader’s copy to W replicas first: a crash of the leader then keeps it', async (t) => {
  const store = await openTemp(t, { nodes: 3, timeoutMs: 400, failureTimeoutMs: 300 });
  const key = itemKey('account#2', 'balance');
  const { leader } = await writeInDoubt(t, store, key);
  store.faults.clear();

  const read = await store.getOrdered(key, { consistent: true });
  t.equal(read?.value, 'after', "the leader's copy, committed before it was served");
  store.crashNode(leader);
  const afterCrash = await store.getOrdered(key, { consistent: true });
  t.same([afterCrash?.value, afterCrash?.version], ['after', read?.version], 'the new leader has it: what the read showed was on W replicas');
  const cas = await store.writeOrdered({ key, value: 'next', expect: read!.version });
  t.type(cas.version, 'string', 'a compare-and-set on the version read succeeds');
});

t.test('a consistent read of a key whose write is in flight waits for it and sees it (no extra round when nothing is in doubt)', async (t) => {
  const store = await openTemp(t, { nodes: 3 });
  const key = itemKey('account#3', 'balance');
  const [, ...followers] = store.preferenceList(key);
  await store.writeOrdered({ key, value: 0 });
  for (const follower of followers) store.faults.delay(follower, { minMs: 50, maxMs: 80 });
  const writes: Promise<unknown>[] = [];
  const reads: Promise<unknown>[] = [];
  for (let i = 1; i <= 20; i++) {
    writes.push(store.writeOrdered({ key, value: i }));
    reads.push(store.getOrdered(key, { consistent: true }).then((r) => r?.value));
  }
  await Promise.all(writes);
  const seen = (await Promise.all(reads)) as number[];
  t.ok(seen.every((value, i) => typeof value === 'number' && value >= i + 1), `each read answered after the write sent before it was on W replicas (${seen.join(',')})`);
  store.faults.clear();
  t.equal((await store.getOrdered(key, { consistent: true }))?.value, 20);
});

t.test('a key in doubt that no one reads is committed by a background pass once its followers are reachable', async (t) => {
  const store = await openTemp(t, { nodes: 3, timeoutMs: 400, failureTimeoutMs: 300 });
  const key = itemKey('account#4', 'balance');
  const { leader } = await writeInDoubt(t, store, key);
  t.equal(store.stats().orderedKeysInDoubt, 1, 'the failed write leaves its key in doubt');
  store.faults.clear();
  // No read of the key: the pass (every max(1 s, timeoutMs)) commits the leader's copy.
  for (let waitedMs = 0; store.stats().orderedKeysInDoubt > 0 && waitedMs < 20_000; waitedMs += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(store.stats().orderedKeysInDoubt, 0, 'no key is left in doubt');
  store.crashNode(leader);
  const afterCrash = await store.getOrdered(key, { consistent: true });
  t.equal(afterCrash?.value, 'after', "the leader's copy was committed to W replicas: the next leader has it");
});
