/**
 * A failed write's change-log records (version-keyed also keys: a GSI queue
 * record, a stream record; lib/tables/DESIGN.md §3, §6) against real
 * storage-node workers: the leader makes the item and its record, the
 * followers drop the replication, the write fails. The record is a new key,
 * so it was not in doubt: a consistent range read of the log (the GSI
 * applier's) was served it while the item was on the leader alone, and a
 * crash of the leader then took back the item and the record (a change
 * applied that never happened); and a consistent read of the item committed
 * the item alone, so the crash lost the record (a change never logged).
 */
import t, { type Test } from 'tap';
import { ErrorCode, RingtableError, type Store, partitionedKey } from '../lib/index.js';
import { openTemp, outcome } from './helpers/temp-store.js';

const text = new TextEncoder();
const ITEM_SPACE = 9;
const LOG_SPACE = 11;
const SETUP = { nodes: 3, timeoutMs: 400, failureTimeoutMs: 300 };

function codeOf(result: { ok: boolean; error?: unknown }): string | undefined {
  return result.ok ? 'ok' : result.error instanceof RingtableError ? result.error.code : String(result.error);
}

function logRange(part: string): { start: Uint8Array; end: Uint8Array } {
  const start = partitionedKey(LOG_SPACE, text.encode(part), new Uint8Array(0));
  const end = new Uint8Array(start.byteLength + 9).fill(0xff);
  end.set(start);
  return { start, end };
}

async function logValues(store: Store, part: string): Promise<unknown[]> {
  const page = await store.range({ ...logRange(part), consistent: true });
  return page.entries.map((entry) => entry.value);
}

/** Write 'before' with its record (acknowledged), then 'after' with its record while both followers drop every request. */
async function writeInDoubt(t: Test, store: Store, part: string): Promise<{ key: Uint8Array; leader: number }> {
  const key = partitionedKey(ITEM_SPACE, text.encode(part), text.encode('item'));
  const record = partitionedKey(LOG_SPACE, text.encode(part), new Uint8Array(0));
  const [leader, ...followers] = store.preferenceList(key) as [number, ...number[]];
  const { version } = await store.writeOrdered({ key, value: 'before', also: [{ key: record, value: 'logged before', appendVersion: true }] });
  for (const follower of followers) store.faults.drop(follower, 1);
  const failed = await outcome(() => store.writeOrdered({ key, value: 'after', expect: version, also: [{ key: record, value: 'logged after', appendVersion: true }] }));
  t.ok(codeOf(failed) === ErrorCode.TIMEOUT || codeOf(failed) === ErrorCode.QUORUM, `the write that reached only the leader failed (${codeOf(failed)})`);
  store.faults.clear();
  return { key, leader };
}

t.test('a range read of the log commits a failed write’s record with its item: a crash of the leader then keeps both', async (t) => {
  const store = await openTemp(t, SETUP);
  const { key, leader } = await writeInDoubt(t, store, 'account#1');
  const shown = await logValues(store, 'account#1');
  store.crashNode(leader);
  t.same(await logValues(store, 'account#1'), shown, `the records a consistent range read showed (${shown.join(', ')}) stay`);
  const item = await store.getOrdered(key, { consistent: true });
  t.equal(item?.value, shown.includes('logged after') ? 'after' : 'before', 'and the item agrees with its log');
});

t.test('a consistent read of the item commits its record too: a crash of the leader loses neither', async (t) => {
  const store = await openTemp(t, SETUP);
  const { key, leader } = await writeInDoubt(t, store, 'account#2');
  const item = await store.getOrdered(key, { consistent: true });
  t.equal(item?.value, 'after', "the leader's copy, committed before it was served");
  store.crashNode(leader);
  t.same(await logValues(store, 'account#2'), ['logged before', 'logged after'], 'the change is logged on the next leader');
});
