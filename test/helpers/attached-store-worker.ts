/**
 * An application thread that attaches to a store (Store.attach) and runs what
 * the test asks: a worker_threads script (workerData.attachedStoreWorker) and a
 * piscina task file (its default export) at once. Answers are plain data, and
 * failures come back as { code } so that their stable codes survive the clone.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Store, type StoreHandle } from '../../lib/index.js';

export type AttachedTask =
  | { op: 'put'; handle: StoreHandle; entries: [string, unknown][]; barrier?: SharedArrayBuffer }
  | { op: 'get'; handle: StoreHandle; keys: string[] }
  | { op: 'getMany'; handle: StoreHandle; keys: string[]; r?: number }
  | { op: 'putMany'; handle: StoreHandle; entries: [string, unknown][] }
  | { op: 'preferenceLists'; handle: StoreHandle; keys: string[] }
  | { op: 'addNode'; handle: StoreHandle }
  | { op: 'close'; handle: StoreHandle }
  /** Ends the thread with process.exit, without closing the store. */
  | { op: 'exit'; handle: StoreHandle };

export type AttachedAnswer = { ok: true; value: unknown; threadId: number } | { ok: false; code: string | undefined; message: string };

let store: Store | undefined;

async function run(task: AttachedTask): Promise<unknown> {
  if (task.op === 'close') {
    await store?.close();
    store = undefined;
    return null;
  }
  store ??= await Store.attach(task.handle);
  switch (task.op) {
    case 'put':
      if (task.barrier !== undefined) await meet(new Int32Array(task.barrier));
      for (const [key, value] of task.entries) await store.put(key, value);
      return task.entries.length;
    case 'get':
      return (await Promise.all(task.keys.map((key) => store!.get(key)))).map((result) => result?.value);
    case 'getMany':
      return (await store.getMany(task.keys, task.r === undefined ? undefined : { r: task.r })).map((result) => result?.value);
    case 'putMany':
      await store.putMany(task.entries);
      return task.entries.length;
    case 'preferenceLists':
      // A call first: routing follows the owner as of the last call (README, "Many coordinators").
      await store.get(task.keys[0]!);
      return task.keys.map((key) => store!.preferenceList(key));
    case 'addNode':
      return store.addNode();
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

/** Wait until as many tasks as the barrier's second word arrived: they run at once, so on as many threads. */
async function meet(barrier: Int32Array): Promise<void> {
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  for (let arrived = Atomics.load(barrier, 0); arrived < barrier[1]!; arrived = Atomics.load(barrier, 0)) {
    const waited = Atomics.waitAsync(barrier, 0, arrived, 1000);
    if (waited.async) await waited.value;
  }
}

/** The piscina task. */
export default async function attachedTask(task: AttachedTask): Promise<AttachedAnswer> {
  try {
    const { threadId } = await import('node:worker_threads');
    return { ok: true, value: await run(task), threadId };
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code, message: (error as Error).message };
  }
}

if (!isMainThread && (workerData as { attachedStoreWorker?: boolean } | undefined)?.attachedStoreWorker === true) {
  parentPort!.on('message', (message: { id: number; task: AttachedTask }) => {
    void attachedTask(message.task).then((answer) => parentPort!.postMessage({ id: message.id, answer }));
  });
}
