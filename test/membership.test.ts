/**
 * Membership changes against real storage nodes: addNode and removeNode move
 * only the ranges whose replicas change, while traffic continues, and no key
 * is lost or unreadable during or after the move (Dynamo §4.9).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ErrorCode, type Store } from '../lib/index.js';
import { eventually, failsWith, openAt, tempDir } from './helpers/temp-store.js';

const KEYS = 3000;
const keyOf = (i: number) => `m:${i}`;

/** Reads and overwrites keys until stopped; records the last acknowledged value per key and any failure. */
function traffic(store: Store): { stop: () => Promise<void>; acked: Map<string, string>; begun: Map<string, string[]>; failures: unknown[]; readsWrong: string[] } {
  const acked = new Map<string, string>();
  /** Every value each key was written with, in order of the writes' start. */
  const begun = new Map<string, string[]>();
  const failures: unknown[] = [];
  const readsWrong: string[] = [];
  let running = true;
  const loop = async (worker: number) => {
    for (let round = 0; running; round++) {
      const key = keyOf((round * 37 + worker * 1001) % KEYS);
      const value = `w${worker}:${round}`;
      begun.set(key, [...(begun.get(key) ?? []), value]);
      try {
        await store.put(key, value, { w: 3 });
        acked.set(key, value);
        // R = 3 with W = 3: the read must see this write (R + W > N), moving range or not.
        const read = await store.get(key, { r: 3 });
        if (!read?.siblings.includes(value)) readsWrong.push(`${key}: wrote ${value}, read ${JSON.stringify(read?.siblings)}`);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  return {
    acked,
    begun,
    failures,
    readsWrong,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function checkAll(t: Test, store: Store, acked: Map<string, string>, label: string, begun = new Map<string, string[]>()): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => keyOf(i));
  // Traffic may still run: a key may also hold a value whose write began after
  // the last acknowledgement seen here (in flight, or acknowledged since).
  const before = new Map(acked);
  const results = await store.getMany(keys, { r: 3 });
  const wrong = keys.filter((key, i) => {
    const siblings = results[i]?.siblings ?? [];
    const last = before.get(key) ?? `v:${key}`;
    const values = begun.get(key) ?? [];
    // Values are unique per write: those begun after the last acknowledged one (all of them if it was the preload).
    const newer = values.slice(values.indexOf(last) + 1);
    return !siblings.includes(last) && !newer.some((value) => siblings.includes(value));
  });
  t.same(wrong.slice(0, 5), [], `${label}: every key has its last acknowledged value on all three replicas (${wrong.length} wrong)`);
}


t.test('addNode then removeNode with traffic: only changing ranges move, nothing is lost', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 4, replication: { n: 3, r: 2, w: 2 } });
  await store.putMany(Array.from({ length: KEYS }, (_, i) => [keyOf(i), `v:${keyOf(i)}`] as const));
  const before = new Map(Array.from({ length: KEYS }, (_, i) => [keyOf(i), store.preferenceList(keyOf(i))]));

  const load = traffic(store);
  const added = await store.addNode();
  const duringAdd = store.nodes();
  t.equal(added, 4, 'the new node takes the next id');
  const change = store.stats().membership.lastChange!;
  t.equal(change.kind, 'add');
  t.ok(Math.abs(change.movedFraction - 1 / 5) < 0.03, `about 1/(nodes+1) = 0.2 of the partitions changed primary (${change.movedFraction.toFixed(4)})`);
  t.ok(change.keysCopied > 0 && change.keysDropped > 0, `keys were copied (${change.keysCopied}) and dropped from the losing nodes (${change.keysDropped})`);

  // Keys whose primary moved went to the new node, and only those moved.
  let primaryMoved = 0;
  let movedElsewhere = 0;
  for (const [key, list] of before) {
    const now = store.preferenceList(key);
    if (now[0] !== list[0]) {
      primaryMoved++;
      if (now[0] !== added) movedElsewhere++;
    }
  }
  t.equal(movedElsewhere, 0, 'every key whose primary changed now has the new node as primary');
  t.ok(Math.abs(primaryMoved / KEYS - 0.2) < 0.04, `${primaryMoved} of ${KEYS} keys changed primary`);
  t.ok(duringAdd.every((node) => node.status === 'up'), 'all five up after the add');

  await checkAll(t, store, load.acked, 'after addNode', load.begun);
  await store.removeNode(1);
  t.same(store.nodes().map((node) => node.id), [0, 2, 3, 4], 'node 1 is gone');
  t.equal(store.stats().membership.lastChange!.kind, 'remove');
  await load.stop();
  t.same(load.failures.slice(0, 3), [], `no request failed during the moves (${load.failures.length} failed)`);
  t.same(load.readsWrong.slice(0, 3), [], 'every R = 3 read after a W = 3 write saw it, during the moves too');
  t.ok(load.acked.size > 50, `${load.acked.size} keys were overwritten during the moves`);
  await checkAll(t, store, load.acked, 'after removeNode', load.begun);
  t.ok(await eventually(() => store.nodes().reduce((sum, node) => sum + node.keys, 0) === 3 * KEYS, 5000), 'exactly N copies of each key remain: moved-away copies were dropped');
  t.ok(fs.existsSync(join(path, 'node-1.removed')), "the removed node's directory is kept aside");

  await failsWith(t, () => store.removeNode(1), ErrorCode.INVALID_OPTIONS, 'removing a removed node');
  const acked = new Map(load.acked);
  await store.close();

  const reopened = await openAt(t, path, { replication: { n: 3, r: 2, w: 2 } });
  t.same(reopened.nodes().map((node) => node.id), [0, 2, 3, 4], 'the membership persists');
  await checkAll(t, reopened, acked, 'after reopening');
  const next = await reopened.addNode();
  t.equal(next, 5, 'ids are never reused');
});

t.test('removing a crashed node: its data moves from the other replicas, and hints held for it go to the new replicas', async (t) => {
  const path = tempDir(t);
  const store = await openAt(t, path, { nodes: 5, replication: { n: 3, r: 2, w: 3 } });
  await store.putMany(Array.from({ length: KEYS }, (_, i) => [keyOf(i), `v:${keyOf(i)}`] as const));
  const gone = 2;
  store.crashNode(gone);
  const owned = Array.from({ length: KEYS }, (_, i) => keyOf(i)).filter((key) => store.preferenceList(key).includes(gone));
  await store.putMany(owned.slice(0, 200).map((key) => [key, 'while-down'] as const));
  t.equal(store.nodes().find((node) => node.id === gone)!.hintsPending, 200, 'stand-ins hold hints for the crashed node');
  await store.removeNode(gone);
  t.ok(await eventually(() => store.nodes().every((node) => node.hintsHeld === 0), 10_000), 'the hints were handed to the keys’ new replicas and dropped');
  const acked = new Map(owned.slice(0, 200).map((key) => [key, 'while-down']));
  await checkAll(t, store, acked, 'after removing a crashed node');
  t.ok(await eventually(() => store.nodes().reduce((sum, node) => sum + node.keys, 0) === 3 * KEYS, 5000), 'N copies of every key');
});

t.test('membership refusals', async (t) => {
  const store = await openAt(t, tempDir(t), { nodes: 3, replication: { n: 3, r: 2, w: 2 } });
  await failsWith(t, () => store.removeNode(0), ErrorCode.INVALID_OPTIONS, 'fewer than N nodes would remain');
  await failsWith(t, () => store.removeNode(9), ErrorCode.INVALID_OPTIONS, 'unknown node');
  const adding = store.addNode();
  await failsWith(t, () => store.addNode(), ErrorCode.INVALID_STATE, 'one change at a time');
  t.equal(await adding, 3);
  t.equal(store.nodes().length, 4);
});
