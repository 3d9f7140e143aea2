/**
 * Attached stores (store.handle(), Store.attach): application threads that
 * coordinate over the owner's node threads on rings of their own. From a
 * worker_thread and from a piscina pool: what one thread puts another gets,
 * a membership change and a restarted node are followed, the owner-only calls
 * are refused, the owner's close fails them with ERR_CLOSED, and the bound on
 * attached stores holds.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { Piscina } from 'piscina';
import { ErrorCode, RingtableError, Store, type StoreHandle } from '../lib/index.js';
import { eventually, failsWith, openTemp } from './helpers/temp-store.js';
import type { AttachedAnswer, AttachedTask } from './helpers/attached-store-worker.js';

const WORKER_URL = new URL('./helpers/attached-store-worker.js', import.meta.url);
/** Without the test runner's preloaded hooks: they cost a thread seconds at start and instrument nothing it runs. */
const EXEC_ARGV: string[] = [];

/** A worker thread with an attached store, asked one task at a time. */
class AttachedThread {
  private readonly worker = new Worker(WORKER_URL, { workerData: { attachedStoreWorker: true }, execArgv: EXEC_ARGV });
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: AttachedAnswer) => void>();

  constructor() {
    this.worker.on('message', ({ id, answer }: { id: number; answer: AttachedAnswer }) => {
      this.waiting.get(id)?.(answer);
      this.waiting.delete(id);
    });
  }

  ask(task: AttachedTask): Promise<AttachedAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, task });
    });
  }

  async value(task: AttachedTask): Promise<unknown> {
    const answer = await this.ask(task);
    if (!answer.ok) throw new Error(`attached thread failed: ${answer.code} ${answer.message}`);
    return answer.value;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  exited(): Promise<number> {
    return new Promise((resolve) => this.worker.once('exit', resolve));
  }
}

const keysOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

t.test('a worker thread attaches: each thread reads what the other wrote, one by one and in batches', async (t) => {
  const owner = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 2 }, durability: 'none' });
  const handle = owner.handle();
  const thread = new AttachedThread();
  t.teardown(() => thread.terminate());

  const theirs = keysOf('from-thread', 50);
  t.equal(await thread.value({ op: 'put', handle, entries: theirs.map((key, i) => [key, { i }]) }), 50);
  t.same((await owner.getMany(theirs)).map((result) => result?.value), theirs.map((_, i) => ({ i })), "the owner reads the attached thread's puts");

  const ours = keysOf('from-owner', 50);
  await owner.putMany(ours.map((key, i) => [key, `v${i}`]));
  t.same(await thread.value({ op: 'get', handle, keys: ours }), ours.map((_, i) => `v${i}`), "the attached thread reads the owner's puts");
  t.same(await thread.value({ op: 'getMany', handle, keys: [...ours, 'absent'], r: 1 }), [...ours.map((_, i) => `v${i}`), undefined], 'and in one getMany, absent keys undefined');

  const batch = keysOf('batch', 200);
  await thread.value({ op: 'putMany', handle, entries: batch.map((key) => [key, key.length]) });
  t.same((await owner.getMany(batch)).map((result) => result?.value), batch.map((key) => key.length), "the attached thread's putMany reached W");

  const refused = await thread.ask({ op: 'addNode', handle });
  t.same(refused.ok ? undefined : refused.code, ErrorCode.INVALID_STATE, 'membership changes are the owner’s: an attached store refuses them');
  await thread.value({ op: 'close', handle });
  await owner.close();
});

t.test('each write acknowledged in one thread is read by the next read in the other, turn by turn', async (t) => {
  const owner = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none' });
  const handle = owner.handle();
  const thread = new AttachedThread();
  t.teardown(() => thread.terminate());
  await thread.value({ op: 'get', handle, keys: ['turn-a', 'turn-b'] }); // the thread reads (and holds its read snapshots) from the start
  const seenByThread: unknown[] = [];
  const seenByOwner: unknown[] = [];
  // Each thread only reads while the other writes: nothing of its own renews its read snapshots.
  for (let turn = 0; turn < 20; turn++) {
    await owner.put('turn-a', turn);
    seenByThread.push(((await thread.value({ op: 'get', handle, keys: ['turn-a'] })) as unknown[])[0]);
  }
  await owner.get('turn-b');
  for (let turn = 0; turn < 20; turn++) {
    await thread.value({ op: 'put', handle, entries: [['turn-b', turn]] });
    seenByOwner.push((await owner.get('turn-b'))?.value);
  }
  const turns = Array.from({ length: 20 }, (_, turn) => turn);
  t.same(seenByThread, turns, "the attached thread's reads (in place) see the owner's acknowledged writes");
  t.same(seenByOwner, turns, "the owner's reads see the attached thread's");
  await thread.value({ op: 'close', handle });
  await owner.close();
});

t.test('a piscina pool attaches once per thread, and its threads read each other’s writes', async (t) => {
  const owner = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none' });
  const handle = owner.handle();
  const pool = new Piscina({ filename: WORKER_URL.href, minThreads: 2, maxThreads: 2, execArgv: EXEC_ARGV });
  t.teardown(() => pool.destroy());
  // The first two tasks wait for each other: a pool thread runs one task at a time, so they run on both threads.
  const barrier = new Int32Array(new SharedArrayBuffer(8));
  barrier[1] = 2;
  const writes = Array.from({ length: 8 }, (_, task) => pool.run({ op: 'put', handle, entries: keysOf(`task${task}`, 25).map((key) => [key, task]), barrier: task < 2 ? barrier.buffer : undefined } satisfies AttachedTask) as Promise<AttachedAnswer>);
  const answers = await Promise.all(writes);
  t.ok(answers.every((answer) => answer.ok), 'every task put its keys through its thread’s attached store');
  const threads = new Set(answers.map((answer) => (answer.ok ? answer.threadId : -1)));
  t.equal(threads.size, 2, 'on both pool threads');
  const everyKey = Array.from({ length: 8 }, (_, task) => keysOf(`task${task}`, 25)).flat();
  const expected = Array.from({ length: 8 }, (_, task) => Array<number>(25).fill(task)).flat();
  const reads = await Promise.all(Array.from({ length: 4 }, () => pool.run({ op: 'getMany', handle, keys: everyKey } satisfies AttachedTask) as Promise<AttachedAnswer>));
  for (const read of reads) t.same(read.ok ? read.value : read, expected, 'a pool thread reads every task’s writes');
  t.same((await owner.getMany(everyKey)).map((result) => result?.value), expected, 'and so does the owner');
  await pool.destroy();
  await owner.close();
});

t.test('an attached store follows the owner: an added node, a crashed and restarted one', async (t) => {
  const owner = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none', vnodes: 16 });
  const handle = owner.handle();
  const thread = new AttachedThread();
  t.teardown(() => thread.terminate());
  const keys = keysOf('follow', 200);
  await thread.value({ op: 'put', handle, entries: keys.map((key) => [key, 'before']) });

  const added = await owner.addNode();
  const theirs = (await thread.value({ op: 'preferenceLists', handle, keys })) as number[][];
  t.same(theirs, keys.map((key) => owner.preferenceList(key)), 'the attached store routes by the ring the membership change switched to');
  t.ok(theirs.some((list) => list.includes(added)), 'which includes the added node');
  await thread.value({ op: 'put', handle, entries: keys.map((key) => [key, 'after']) });
  for (const key of keys.filter((_, i) => i % 20 === 0)) {
    const list = owner.preferenceList(key);
    t.same((await owner.getMany([key], { r: 3 }))[0]?.value, 'after', `${key}: its replicas ${list.join(',')} (the added node among them or not) answer the attached write`);
  }

  owner.crashNode(0);
  t.same(await thread.value({ op: 'get', handle, keys: keys.slice(0, 5) }), Array(5).fill('after'), 'reads go on with a node crashed');
  await owner.startNode(0);
  await thread.value({ op: 'put', handle, entries: keys.slice(0, 5).map((key) => [key, 'restarted']) });
  t.same((await owner.getMany(keys.slice(0, 5), { r: 3 })).map((result) => result?.value), Array(5).fill('restarted'), 'the attached store writes to the restarted node’s new thread too');
  await thread.value({ op: 'close', handle });
  await owner.close();
});

t.test("the owner's close fails its attached stores with ERR_CLOSED", async (t) => {
  const owner = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none' });
  const handle = owner.handle();
  const thread = new AttachedThread();
  t.teardown(() => thread.terminate());
  await thread.value({ op: 'put', handle, entries: [['k', 1]] });
  const inFlight = thread.ask({ op: 'put', handle, entries: keysOf('late', 500).map((key) => [key, 1]) });
  await owner.close();
  const late = await inFlight;
  t.ok(late.ok || late.code === ErrorCode.CLOSED, `a call in flight at the owner's close either finished or failed with ERR_CLOSED (${late.ok ? 'finished' : late.code})`);
  const after = await thread.ask({ op: 'get', handle, keys: ['k'] });
  t.same(after.ok ? 'answered' : after.code, ErrorCode.CLOSED, 'a call after it fails with ERR_CLOSED');
  const latecomer = new AttachedThread();
  t.teardown(() => latecomer.terminate());
  const again = await latecomer.ask({ op: 'get', handle, keys: ['k'] });
  t.same(again.ok ? 'answered' : again.code, ErrorCode.CLOSED, 'and attaching after it fails with ERR_CLOSED');
});

t.test('at most 15 attached stores at once; a closed one frees its slot', async (t) => {
  const owner = await openTemp(t, { nodes: 2, replication: { n: 2, r: 1, w: 1 }, durability: 'none', ringBytes: 1 << 16 });
  const handle: StoreHandle = owner.handle();
  const attached: Store[] = [];
  for (let i = 0; i < 15; i++) attached.push(await Store.attach(handle));
  await failsWith(t, () => Store.attach(handle), ErrorCode.OVERLOADED, 'a store takes at most 15 attached stores at once');
  await failsWith(t, () => Store.attach({} as StoreHandle), ErrorCode.INVALID_OPTIONS, 'Store.attach takes what store.handle() returned');
  await attached[3]!.put('slot', 3);
  await attached[3]!.close();
  await failsWith(t, () => attached[3]!.get('slot'), ErrorCode.CLOSED, 'the store is closed');
  // The owner frees the slot when its detach arrives, on its event loop.
  let again: Store | undefined;
  for (let tries = 0; again === undefined && tries < 100; tries++) {
    again = await Store.attach(handle).catch((error: unknown) => {
      if (error instanceof RingtableError && error.code === ErrorCode.OVERLOADED) return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10));
      throw error;
    });
  }
  t.ok(again !== undefined, 'a new store attaches in the freed slot');
  t.equal((await again!.get('slot'))?.value, 3, 'and reads through its own rings');
  await failsWith(t, () => again!.crashNode(0), ErrorCode.INVALID_STATE, 'crashNode is the owner store\'s to do: an attached store (Store.attach) only reads and writes');
  for (const store of [...attached, again!]) await store.close();
  await owner.close();
});

t.test('a thread that ends without closing its attached store gives its slot back', async (t) => {
  const owner = await openTemp(t, { nodes: 2, replication: { n: 2, r: 1, w: 1 }, durability: 'none', ringBytes: 1 << 16 });
  const handle: StoreHandle = owner.handle();
  const thread = new AttachedThread();
  t.equal(await thread.value({ op: 'put', handle, entries: [['left', 1]] }), 1, 'the thread attached and wrote');
  const exited = thread.exited();
  await thread.value({ op: 'exit', handle });
  t.equal(await exited, 0, 'the thread ended with process.exit, its store not closed');
  const attached: Store[] = [];
  for (let i = 0; i < 15; i++) attached.push(await Store.attach(handle));
  t.equal(attached.length, 15, "all 15 slots attach: the ended thread's is free again");
  t.equal((await attached[14]!.get('left'))?.value, 1, 'and what it wrote is there');
  await owner.addNode(); // closes the rings of the given-back slot (reap) and does not wait for it
  t.equal((await attached[0]!.get('left'))?.value, 1, 'read after the membership change');
  for (const store of attached) await store.close();
  await owner.close();
});

t.test("an attached store's deletes are purged by its owner, which sweeps (purge-rule.ts), not left as tombstones", async (t) => {
  const owner = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 }, durability: 'none', tombstoneGraceMs: 0 });
  const attached = await Store.attach(owner.handle());
  t.teardown(() => attached.close());
  const keys = Array.from({ length: 20 }, (_, i) => `gone-${i}`);
  for (const key of keys) await attached.put(key, 'v');
  const keysOnNodes = () => owner.stats().nodes.reduce((sum, node) => sum + node.keys, 0);
  t.ok(await eventually(() => keysOnNodes() === keys.length * 3, 5000), `every key on its three replicas (${keysOnNodes()})`);
  for (const key of keys) await attached.delete(key); // W = 3: every replica holds the tombstone
  t.ok(
    await eventually(() => keysOnNodes() === 0, 10_000),
    `the owner purged the attached store's tombstones on every replica (${keysOnNodes()} keys left, ${owner.stats().tombstonesPurged} purges sent)`,
  );
  t.ok(owner.stats().tombstonesPurged >= keys.length, 'the owner sent the purges');
  for (const key of keys) t.equal(await attached.get(key), undefined);
});

t.test("an attached store's call that waits for the owner's ring change takes the caller's keys and values when it is made", async (t) => {
  // README: a Uint8Array key is copied, and a value encoded, when the call is
  // made, so the caller may reuse them at once. An attached store whose owner
  // changed membership since its last call first reloads the ring
  // (attachment.ts call), a wait in which the caller has already moved on.
  const owner = await openTemp(t, { nodes: 3, replication: { n: 3, r: 2, w: 2 }, durability: 'none', vnodes: 16 });
  const attached = await Store.attach(owner.handle());
  const encoder = new TextEncoder();

  await owner.addNode();
  const key = encoder.encode('deferred:put');
  const value = { state: 'as called' };
  const putting = attached.put(key, value);
  key.set(encoder.encode('deferred:PUT'));
  value.state = 'changed after';
  await putting;

  await owner.addNode();
  const entries: [Uint8Array, { n: number }][] = [0, 1, 2].map((i) => [encoder.encode(`deferred:many${i}`), { n: i }]);
  const puttingMany = attached.putMany(entries);
  for (const [entryKey, entryValue] of entries) {
    entryKey[entryKey.length - 1] = 0x58; // 'X'
    entryValue.n = -1;
  }
  await puttingMany;

  t.same((await owner.get('deferred:put', { r: 3 }))?.value, { state: 'as called' }, 'a put stores the key and value it was called with');
  t.equal(await owner.get('deferred:PUT', { r: 3 }), undefined, 'not the key the caller wrote into its buffer afterwards');
  t.same((await owner.getMany(['deferred:many0', 'deferred:many1', 'deferred:many2'], { r: 3 })).map((result) => result?.value), [{ n: 0 }, { n: 1 }, { n: 2 }], 'a putMany stores its entries as they were called');
  t.equal(await owner.get('deferred:manyX', { r: 3 }), undefined, 'and none under the changed keys');

  await owner.addNode();
  const readKey = encoder.encode('deferred:put');
  const reading = attached.get(readKey);
  readKey.set(encoder.encode('deferred:PUT'));
  t.same((await reading)?.value, { state: 'as called' }, 'a get reads the key it was called with');

  await owner.addNode();
  const manyKeys = [encoder.encode('deferred:many1'), encoder.encode('deferred:put')];
  const readingMany = attached.getMany(manyKeys);
  for (const manyKey of manyKeys) manyKey.fill(0x61);
  t.same((await readingMany).map((result) => result?.value), [{ n: 1 }, { state: 'as called' }], 'a getMany reads the keys it was called with');
  await attached.close();
});
