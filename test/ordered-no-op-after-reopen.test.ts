/**
 * A new leader commits its own copies before it serves (Raft §5.4.2's no-op
 * entry at the start of a term; lib/store/leader-election.ts), against real
 * storage-node workers and LMDB. Which keys are in doubt lives in the
 * coordinator's memory (uncommitted-keys.ts), so after the store is closed
 * and reopened a write that reached only the leader is not known to be in
 * doubt. Before the new leader's catch-up committed its own copies, the
 * first consistent read after the reopen returned that write ('after'), and
 * after a crash of the leader the next one returned the value before it: a
 * read taken back.
 */
import t, { type Test } from 'tap';
import { ErrorCode, RingtableError, type Store, partitionedKey } from '../lib/index.js';
import { openAt, outcome, tempDir } from './helpers/temp-store.js';

const text = new TextEncoder();
const itemKey = (part: string, rest: string) => partitionedKey(9, text.encode(part), text.encode(rest));
const SETUP = { nodes: 3, timeoutMs: 400, failureTimeoutMs: 300 };

function codeOf(result: { ok: boolean; error?: unknown }): string | undefined {
  return result.ok ? 'ok' : result.error instanceof RingtableError ? result.error.code : String(result.error);
}

/** Write 'before' (acknowledged), then 'after' while both followers drop every request: it fails, and only the leader holds it. */
async function writeInDoubt(t: Test, store: Store, key: Uint8Array): Promise<{ leader: number; before: string }> {
  const [leader, ...followers] = store.preferenceList(key) as [number, ...number[]];
  const { version: before } = await store.writeOrdered({ key, value: 'before' });
  for (const follower of followers) store.faults.drop(follower, 1);
  const failed = await outcome(() => store.writeOrdered({ key, value: 'after', expect: before }));
  t.ok(codeOf(failed) === ErrorCode.TIMEOUT || codeOf(failed) === ErrorCode.QUORUM, `the write that reached only the leader failed (${codeOf(failed)})`);
  return { leader, before };
}

t.test('after a reopen, a write that reached only the leader is committed by the new leader before a consistent read shows it: a crash of the leader keeps it', async (t) => {
  const path = tempDir(t);
  const first = await openAt(t, path, SETUP);
  const key = itemKey('account#1', 'balance');
  const { leader } = await writeInDoubt(t, first, key);
  await first.close(); // with the key still in doubt: the followers dropped everything until now

  const store = await openAt(t, path, SETUP);
  t.same(store.preferenceList(key)[0], leader, 'the same node leads the key after the reopen');
  const read = await store.getOrdered(key, { consistent: true });
  store.crashNode(leader);
  const afterCrash = await store.getOrdered(key, { consistent: true });
  t.same([afterCrash?.value, afterCrash?.version], [read?.value, read?.version], `what the first consistent read showed (${String(read?.value)}) is what the next leader has`);
  t.equal(read?.value, 'after', "the leader's copy, committed by its catch-up (a failed write may take effect)");
  await store.startNode(leader);
  const back = await store.getOrdered(key, { consistent: true });
  t.same([back?.value, back?.version], [read?.value, read?.version], 'and it stays when the old leader is back');
});

t.test('after a reopen with a follower down, the new leader commits its copy to the other follower (W = 2) before serving', async (t) => {
  const path = tempDir(t);
  const first = await openAt(t, path, SETUP);
  const key = itemKey('account#2', 'balance');
  const { leader } = await writeInDoubt(t, first, key);
  await first.close();

  const store = await openAt(t, path, SETUP);
  const [, down, other] = store.preferenceList(key) as [number, number, number];
  store.crashNode(down);
  const read = await store.getOrdered(key, { consistent: true });
  t.equal(read?.value, 'after', "the leader's copy, committed to the up follower");
  store.crashNode(leader);
  await store.startNode(down);
  const afterCrash = await store.getOrdered(key, { consistent: true });
  t.same([afterCrash?.value, afterCrash?.version], [read?.value, read?.version], `node ${other} had it: the next leader caught up from it`);
});
