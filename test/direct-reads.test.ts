/**
 * Reads without messages (readPath 'direct', issue 15): a get reads up
 * replicas' LMDB environments in the calling thread. What must hold: it
 * answers what a message would (read-your-writes after an acknowledged put or
 * delete, the same values as readPath 'messages'), and nodes that are down,
 * crashed, stopped, paused or fault-injected are never read in place: they
 * behave exactly as before. The read decision itself is also run by the
 * simulation (test/simulation.test.ts, readPath 'direct').
 */
import t from 'tap';
import { ErrorCode, type Store } from '../lib/index.js';
import { failsWith, openTemp, outcome } from './helpers/temp-store.js';

const keysOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

t.test("readPath 'direct' is the default and answers as 'messages' does", async (t) => {
  // W = N: the R = 1 reads below must see every acknowledged write, whichever replica answers (W = 2 would not promise it).
  const direct = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 } });
  const messages = await openTemp(t, { nodes: 4, replication: { n: 3, r: 2, w: 3 }, readPath: 'messages' });
  t.equal(direct.options.readPath, 'direct');
  const keys = keysOf('same', 300);
  for (const store of [direct, messages]) {
    await store.putMany(keys.map((key, i) => [key, { i, text: `value ${i}` }] as const));
    await store.delete(keys[7]!);
  }
  const fromDirect = await Promise.all(keys.map((key) => direct.get(key)));
  const fromMessages = await Promise.all(keys.map((key) => messages.get(key)));
  t.same(fromDirect.map((r) => r?.value), fromMessages.map((r) => r?.value), 'the same values, the deleted key absent in both');
  t.equal(fromDirect[7], undefined);
  // 600 replica reads issued in one turn: up to READS_IN_PLACE_PER_TURN_MAX in place, the rest by message.
  t.ok(direct.stats().readsInPlace > 0, `R = 2 reads served in place (${direct.stats().readsInPlace})`);
  t.equal(messages.stats().readsInPlace, 0, "none with readPath 'messages'");
  const many = await direct.getMany(keys, { r: 1 });
  t.same(many.map((r) => r?.value), fromMessages.map((r) => r?.value), 'getMany R = 1 answers the same');
  const manyR2 = await direct.getMany(keys, { r: 2 });
  t.same(manyR2.map((r) => r?.value), fromMessages.map((r) => r?.value), 'getMany R = 2 answers the same');
  const binaryKey = new Uint8Array([0, 1, 2, 250]);
  await direct.put('ключ-é-🔑', 'utf-8 key');
  await direct.put(binaryKey, 'binary key');
  t.equal((await direct.get('ключ-é-🔑', { r: 1 }))?.value, 'utf-8 key', 'a non-ASCII string key, read in place');
  t.equal((await direct.get(binaryKey, { r: 1 }))?.value, 'binary key', 'a byte key, read in place');
  t.equal(await direct.get('ключ-é', { r: 1 }), undefined, 'a prefix of it is another key');
  await failsWith(t, () => openTemp(t, { readPath: 'mmap' as never }), ErrorCode.INVALID_OPTIONS, 'an unknown readPath');
});

t.test('string keys read in place: ASCII or not, at any length, the same key as its UTF-8 bytes', async (t) => {
  // A string key is hashed (ring/hash.ts) and written into lmdb-js's key buffer (lmdb-reader.ts) as its UTF-8 bytes, each by
  // its own code path (xxhash-wasm's h32 and Buffer#write, not the byte key's): the key and its bytes must be one key, on the same replicas.
  const store = await openTemp(t, { nodes: 4, replication: { n: 3, r: 1, w: 3 } });
  const ascii = Array.from({ length: 40 }, (_, i) => 'k' + 'abcdefghijklmnopqrstuvwxyz0123456789~ \x7f\x01'.slice(0, i));
  const others = ['\u0080', 'é', 'é-then-ascii', 'ascii-then-é', 'mid-\u07ff-dle', 'ключ', '日本語のキー', 'emoji-🔑', 'a\u0100b', 'ab\uffff'];
  const keys = [...ascii, ...others, ...ascii.map((key) => key + 'é')];
  await store.putMany(keys.map((key, i) => [key, i] as const));
  const before = store.stats().readsInPlace;
  // One at a time, longest first: each key is written over the bytes of a longer one in lmdb-js's key buffer.
  const order = [...keys.keys()].sort((a, b) => keys[b]!.length - keys[a]!.length);
  for (const i of order) {
    const key = keys[i]!;
    t.equal((await store.get(key))?.value, i, `${JSON.stringify(key)}, read in place`);
    t.equal((await store.get(Buffer.from(key, 'utf8')))?.value, i, `${JSON.stringify(key)} as its UTF-8 bytes`);
  }
  t.equal(store.stats().readsInPlace - before, keys.length * 2, 'every get read in place');
  t.equal(await store.get('ascii-then-'), undefined, 'a prefix of a key is another key');
  t.equal(await store.get('ascii-then-e'), undefined, 'and so is its ASCII look-alike');
});

t.test('read-your-writes: a get right after an acknowledged put or delete sees it, from every replica', async (t) => {
  // W = 3 and R = 1 (in place: the key's first live replica): a replica read in place whose
  // snapshot predates the acknowledgement would show the older value.
  // A long timeout: this checks what reads see, not latency, on a shared machine.
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 3 }, timeoutMs: 60_000, failureTimeoutMs: 30_000 });
  for (let i = 0; i < 300; i++) {
    await store.put('ryw', i);
    const read = await store.get('ryw');
    if (read?.value !== i) return t.fail(`iteration ${i}: read ${String(read?.value)}`);
  }
  await store.delete('ryw');
  for (let i = 0; i < 3; i++) t.equal(await store.get('ryw'), undefined, `deleted, replica read ${i}`);
  t.ok(store.stats().readsInPlace >= 300, 'served in place');
  // A batch far larger than any stack: answered in place, the batch loops rather than recursing.
  const keys = keysOf('big', 30_000);
  await store.putMany(keys.map((key, i) => [key, i] as const));
  const results = await store.getMany(keys);
  t.ok(results.every((r, i) => r?.value === i), '30,000 keys answered in order');
});

/** Put `before` everywhere, take node `down` out with `takeOut`, then put `after` (the rest acknowledge it). */
async function writtenAround(store: Store, keys: string[], takeOut: () => unknown): Promise<void> {
  await store.putMany(keys.map((key) => [key, 'before'] as const));
  await takeOut();
  await store.putMany(keys.map((key) => [key, 'after'] as const), { w: 2 });
}

for (const how of ['crashed', 'stopped'] as const) {
  t.test(`a ${how} node's environment is not read in place (its older copy never answers)`, async (t) => {
    const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 3 }, sloppy: false });
    const keys = keysOf(how, 100);
    await writtenAround(store, keys, () => (how === 'crashed' ? store.crashNode(0) : store.stopNode(0)));
    // R = 1 reads the first live replica in place (node 0 would be the first for some keys): node 0 still holds 'before' in its environment.
    for (let round = 0; round < 3; round++) {
      const values = (await Promise.all(keys.map((key) => store.get(key)))).map((r) => r?.value);
      t.ok(values.every((value) => value === 'after'), `round ${round}: every read answered by a live replica`);
    }
    await store.startNode(0);
    const values = (await store.getMany(keys, { r: 3 })).map((r) => r?.value);
    t.ok(values.every((value) => value === 'after'), 'restarted, R = 3 merges (and repairs) to the new value');
  });
}

t.test('a paused or fault-injected node is asked by message, as before: its faults act', async (t) => {
  const store = await openTemp(t, { nodes: 3, replication: { n: 3, r: 1, w: 1 }, timeoutMs: 300, failureTimeoutMs: 60_000 });
  await store.put('faulty', 'value');
  t.equal((await store.get('faulty'))?.value, 'value');
  for (const node of [0, 1, 2]) store.faults.drop(node, 1);
  await failsWith(t, () => store.get('faulty'), ErrorCode.TIMEOUT, 'every replica drops requests: the get times out');
  store.faults.clear();
  t.equal((await store.get('faulty'))?.value, 'value', 'faults cleared: answered');
  for (const node of [0, 1, 2]) store.faults.pause(node);
  const paused = await outcome(() => store.get('faulty'));
  t.notOk(paused.ok, 'every replica paused (not yet marked down): the get does not answer from their environments');
  for (const node of [0, 1, 2]) store.faults.resume(node);
  t.equal((await store.get('faulty'))?.value, 'value', 'resumed: answered');
});
