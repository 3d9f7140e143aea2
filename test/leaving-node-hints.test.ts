/**
 * A node being removed holds no hint when it stops (Dynamo §4.6, §4.9),
 * against real storage nodes. A write routed just before the removal began
 * may have picked the leaving node as the stand-in of a down owner, and its
 * copy may still be on its way: the store's fault injection holds it back
 * (a delay) until the removal runs. The hint it lands is a copy the write
 * counted (W = 3 of N = 3 with the owner down), so it must reach the owner
 * before the node leaves, not leave with it.
 */
import t from 'tap';
import { storedAt } from './helpers/replica-objects.js';
import { eventually, openTemp } from './helpers/temp-store.js';

/** How long the stand-in's copy is held back: longer than a node thread takes to start, even on a loaded machine. */
const COPY_DELAY_MS = 5_000;
const KEY = 'k';

t.test('a hint that lands on the leaving node after the removal began is handed to its owner before the node stops', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, timeoutMs: 30_000, antiEntropyIntervalMs: 0 });
  const owners = store.preferenceList(KEY);
  const [first, second, owner] = owners as [number, number, number];
  // Four nodes, N = 3: the one outside the key's preference list is the down owner's stand-in.
  const leaving = [0, 1, 2, 3].find((id) => !owners.includes(id))!;

  store.crashNode(owner);
  store.faults.delay(leaving, { minMs: COPY_DELAY_MS, maxMs: COPY_DELAY_MS });
  let acknowledged = false;
  const put = store.put(KEY, 'v', { w: 3 }).then(() => void (acknowledged = true));
  // The other owners' copies went out with the stand-in's (one turn): once the second holds it, the hint is on its way.
  t.ok(await eventually(async () => (await storedAt(store, second, KEY)) !== undefined, 10_000), `node ${second} holds the put`);
  store.faults.clear(leaving);
  await store.startNode(owner);

  t.notOk(acknowledged, 'precondition: the put waits for the hint on the leaving node when the removal begins');
  t.equal(store.nodes().find((node) => node.id === leaving)!.hintsHeld, 0, 'precondition: no hint on the leaving node yet');
  const removal = store.removeNode(leaving);
  await put;
  t.pass(`precondition: the put was acknowledged by 3 copies, nodes ${first} and ${second} and the hint on node ${leaving} for node ${owner}`);
  await removal;

  t.notOk(store.nodes().some((node) => node.id === leaving), `node ${leaving} left`);
  t.ok(await storedAt(store, owner, KEY), `node ${owner}, the owner, holds the put: the hint reached it before node ${leaving} stopped`);
  t.equal(store.stats().hintsDelivered, 1, 'the hint was handed off');
  const read = await store.get(KEY, { r: 3 });
  t.same(read?.siblings, ['v'], 'an R = 3 read sees it');
});

t.test('a node holding a hint for an owner that stays down is not removed: the removal is refused, the hint kept, and it is handed off once the owner is back', async (t) => {
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, antiEntropyIntervalMs: 0 });
  const owners = store.preferenceList(KEY);
  const owner = owners[2]!;
  const standIn = [0, 1, 2, 3].find((id) => !owners.includes(id))!;
  store.crashNode(owner);
  await store.put(KEY, 'v', { w: 3 });
  t.equal(store.nodes().find((node) => node.id === standIn)!.hintsHeld, 1, `precondition: node ${standIn} holds the hint for node ${owner}`);

  const refusal = await store.removeNode(standIn).then(
    () => undefined,
    (error: unknown) => error as { code?: string; message: string },
  );
  t.equal(refusal?.code, 'ERR_INVALID_OPTIONS', 'the removal is refused');
  t.match(refusal?.message ?? '', /still holds 1 hints after \d+ ms: their owners are down \(start them first\) or refused them/, 'and says why');
  t.ok(store.nodes().some((node) => node.id === standIn), `node ${standIn} stays in the ring`);
  t.equal(store.nodes().find((node) => node.id === standIn)!.hintsHeld, 1, 'with its hint');

  await store.startNode(owner);
  t.ok(await eventually(async () => (await storedAt(store, owner, KEY)) !== undefined, 15_000), `the hint reached node ${owner} once it was back`);
  await store.removeNode(standIn);
  t.notOk(store.nodes().some((node) => node.id === standIn), `node ${standIn} left once it held no hint`);
  t.same((await store.get(KEY, { r: 3 }))?.siblings, ['v'], 'an R = 3 read sees the put');
});
