/**
 * putMany in 'lww' stores mints its versions in the coordinator
 * (lib/version/writer-version.ts) and sends them to every replica at once:
 * the pure minting and its merge laws, then the store path against real nodes
 * (values, contexts, mixing with node-minted puts, a crashed replica). In
 * 'siblings' stores the first replica mints each item (RequestFlag.MINT_ONLY)
 * and the object goes to every replica, it included.
 */
import t from 'tap';
import fc from 'fast-check';
import { type VersionedObject, join, lastWriterWins, siblingsOf, sync } from '../lib/version/dotted-version-vector.js';
import { WRITER_NODE_SLOT, WriterVersions, writerEpochOf } from '../lib/version/writer-version.js';
import { ACTOR_NODE_RANGE, EPOCH_MAX, actorOf, nodeOfActor } from '../lib/version/actor.js';
import { CONTEXT_COUNTER_MAX, decodeContext, decodeObject, encodeObject } from '../lib/version/object-codec.js';
import { eventually, openTemp } from './helpers/temp-store.js';

const sibling = (text: string, timestampMs: number) => ({ value: new TextEncoder().encode(text), timestampMs, expiresAtMs: 0, tombstone: false });
const textOf = (object: VersionedObject) => siblingsOf(object).map((s) => new TextDecoder().decode(s.value));

t.test('writer epochs and actors', async (t) => {
  t.equal(writerEpochOf(0), 1, 'epoch 0 is never drawn');
  t.equal(writerEpochOf(EPOCH_MAX - 1), EPOCH_MAX);
  t.equal(writerEpochOf(EPOCH_MAX), 1, 'the draw wraps inside the range');
  const writer = new WriterVersions(7);
  t.equal(writer.actor, actorOf(WRITER_NODE_SLOT, 7));
  t.ok(nodeOfActor(writer.actor) >= 256 && WRITER_NODE_SLOT < ACTOR_NODE_RANGE - 1, 'a slot no node id takes, apart from the ordered actor');
  t.throws(() => new WriterVersions(0), 'epoch 0 is refused');
});

t.test('mint: one dot per write, the context as entries without values', async (t) => {
  const writer = new WriterVersions(3);
  const a = writer.mint(undefined, sibling('a', 10))!;
  const b = writer.mint([], sibling('b', 11))!;
  t.same(join(a), [[writer.actor, 1]]);
  t.same(join(b), [[writer.actor, 2]], 'the counter grows by one per minted version');
  t.same(textOf(b), ['b']);
  const low = actorOf(1, 2);
  const high = actorOf(2, 9);
  const c = writer.mint(
    [
      [low, 4],
      [writer.actor, 2],
      [high, 9],
    ],
    sibling('c', 12),
  )!;
  t.same(join(c), [
    [low, 4],
    [writer.actor, 3],
    [high, 9],
  ], 'sorted by actor; the writer\'s own entry takes the next counter');
  t.same(textOf(c), ['c'], 'the context entries hold no values');
  t.same(join(writer.mint([[low, 0]], sibling('d', 13))!), [[writer.actor, 4]], 'a counter of 0 adds no entry');
  t.equal(writer.mint([[writer.actor, 5]], sibling('e', 14)), undefined, 'a context past the next counter (forged) is not minted here');
  t.same(join(writer.mint(undefined, sibling('f', 15))!), [[writer.actor, 5]], 'and used no counter');
  t.same(decodeObject(encodeObject(c)), c, 'a minted object is well formed (it round-trips its checks)');
  t.ok(CONTEXT_COUNTER_MAX > 2 ** 40, 'counters stay within what contexts carry');
});

t.test('mint then sync: the context discards what it covers, as update() would', async (t) => {
  const other = actorOf(2, 9);
  const stored: VersionedObject = { entries: [{ actor: other, counter: 3, timestampMs: 5, siblings: [sibling('old', 5)] }] };
  const writer = new WriterVersions(11);
  const covering = writer.mint([[other, 3]], sibling('new', 6))!;
  t.same(textOf(sync(stored, covering)), ['new'], 'the covered value goes, even in siblings order');
  const blind = writer.mint(undefined, sibling('blind', 7))!;
  t.same(textOf(lastWriterWins(sync(stored, blind))), ['blind'], 'a blind one wins by timestamp');
});

// Replicas that receive the same minted objects in any order, duplicated,
// merged pairwise in any order, end with the same value: the one with the
// highest timestamp, ties broken by actor then counter.
t.test('property: replicas converge on the latest write, whatever the order', async (t) => {
  const write = fc.record({ writer: fc.integer({ min: 0, max: 2 }), timestampMs: fc.integer({ min: 1, max: 6 }) });
  fc.assert(
    fc.property(fc.array(write, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), (writes, seeds) => {
      const writers = [new WriterVersions(1), new WriterVersions(2), new WriterVersions(3)];
      // One writer's clock only grows (hybrid-logical-clock.ts): its timestamps are non-decreasing.
      const lastMs = [0, 0, 0];
      const objects = writes.map((w, i) => {
        lastMs[w.writer] = Math.max(lastMs[w.writer]!, w.timestampMs);
        return writers[w.writer]!.mint(undefined, sibling(`v${i}`, lastMs[w.writer]!))!;
      });
      const replicas = seeds.map((seed) => {
        const order = objects.map((object, i) => ({ object, key: (i * 7919 + seed * 104729) % 1009 }));
        order.sort((x, y) => x.key - y.key);
        let state: VersionedObject = { entries: [] };
        for (const { object } of [...order, order[0]!]) state = lastWriterWins(sync(state, object));
        return state;
      });
      const winner = objects.reduce((best, object) => {
        const [x, y] = [object.entries[0]!, best.entries[0]!];
        const later = x.timestampMs > y.timestampMs || (x.timestampMs === y.timestampMs && (x.actor > y.actor || (x.actor === y.actor && x.counter > y.counter)));
        return later ? object : best;
      });
      for (const replica of replicas) {
        if (JSON.stringify(textOf(replica)) !== JSON.stringify(textOf(winner))) return false;
        if (JSON.stringify(join(replica)) !== JSON.stringify(join(replicas[0]!))) return false;
      }
      const merged = lastWriterWins(sync(replicas[1]!, replicas[2]!));
      return JSON.stringify(textOf(merged)) === JSON.stringify(textOf(winner));
    }),
    { numRuns: 300 },
  );
  t.pass('300 histories converged');
});

t.test("a store with conflicts: 'lww' (putMany minted by the coordinator)", async (t) => {
  const store = await openTemp(t, { conflicts: 'lww', replication: { n: 3, r: 2, w: 2 } });
  const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
  await store.putMany(keys.map((key) => [key, `${key}:1`]));
  t.same((await store.getMany(keys, { r: 3 })).map((r) => r?.value), keys.map((key) => `${key}:1`), 'every value, on all three replicas');
  t.same((await store.get('k1', { r: 3 }))?.siblings, ['k1:1'], 'one value per key');

  await store.put('k2', 'put after');
  await store.putMany([['k2', 'putMany after put']]);
  t.equal((await store.get('k2', { r: 3 }))?.value, 'putMany after put', 'a putMany after a put wins (a later timestamp)');
  await store.put('k2', 'put after putMany');
  t.equal((await store.get('k2', { r: 3 }))?.value, 'put after putMany', 'and a put after a putMany');

  const read = await store.get('k3');
  await store.putMany([['k3', 'with context', { context: read!.context }]]);
  const got = await store.get('k3', { r: 3 });
  t.same(got?.siblings, ['with context'], 'a context rides along');
  await store.putMany([['k3', 'again', { context: got!.context }]]);
  t.equal((await store.get('k3', { r: 3 }))?.value, 'again', 'a context a minted version gave is taken back');

  await store.putMany([
    ['dup', 'first'],
    ['dup', 'second'],
  ]);
  t.equal((await store.get('dup', { r: 3 }))?.value, 'second', 'one key twice in a batch: the later entry wins');
  const coordinated = store.stats().nodes.reduce((sum, node) => sum + node.puts, 0);
  t.equal(coordinated, 2, 'nodes coordinated only the two puts, none of the putMany items');
});

t.test("a store with conflicts: 'siblings': the first replica only mints (MINT_ONLY), and every replica, it included, stores the REPLICATE", async (t) => {
  const store = await openTemp(t, { replication: { n: 3, r: 2, w: 2 } });
  const keys = Array.from({ length: 600 }, (_, i) => `s${i}`);
  await store.putMany(keys.map((key) => [key, `${key}:1`]));
  const nodes = () => store.stats().nodes;
  // W = 2: the third replica's REPLICATE may still be on its way when putMany resolves. Counted before the
  // R = 3 read, whose read repair of a lagging replica would be one REPLICATE more (CI of session s15).
  t.ok(await eventually(() => nodes().reduce((sum, node) => sum + node.replicates, 0) === 3 * keys.length, 5000), 'three REPLICATEs per key: the minting node stores its object as the others do');
  t.same((await store.getMany(keys, { r: 3 })).map((r) => r?.value), keys.map((key) => `${key}:1`), 'every value, on all three replicas');
  t.equal(nodes().reduce((sum, node) => sum + node.puts, 0), keys.length, 'one mint per key');

  // Written again with its context: the minting node reuses its actor (no fresh epoch per write), one value per key.
  const read = await store.getMany(keys.slice(0, 50), { r: 3 });
  await store.putMany(read.map((result, i) => [keys[i]!, `${keys[i]}:2`, { context: result!.context }]));
  const again = await store.getMany(keys.slice(0, 50), { r: 3 });
  t.same(again.map((r) => r?.siblings), keys.slice(0, 50).map((key) => [`${key}:2`]), 'the context superseded the first values');
  const entries = again.map((r) => decodeContext(r!.context).length);
  t.ok(entries.every((count) => count === 1), `one clock entry per key, the actor reused: ${[...new Set(entries)].join(', ')}`);
});

t.test('lww putMany: one key several times in a batch, the later entry wins, however each is minted', async (t) => {
  const store = await openTemp(t, { conflicts: 'lww', replication: { n: 3, r: 2, w: 2 } });
  // Minted as the batch reads it: a small value without a context. Minted as it is sent: a value larger than a
  // slab chunk takes (put-many-items.ts), or one with a context.
  const large = (fill: number) => new Uint8Array(40_000).fill(fill);
  const small = (fill: number) => new Uint8Array(100).fill(fill);
  await store.put('ctx', 'seed');
  const context = (await store.get('ctx'))!.context;
  const cases: [string, unknown, unknown, unknown?][] = [
    ['large then small', large(1), small(2)],
    ['small then large', small(3), large(4)],
    ['context then plain', 'with context', 'plain', { context }],
    ['plain then context', 'plain', 'with context', undefined],
  ];
  await store.putMany(
    cases.flatMap(([name, first, second, firstOptions]) => [
      firstOptions === undefined ? [name, first] : [name, first, firstOptions],
      second === 'with context' ? [name, second, { context }] : [name, second],
    ]) as never,
  );
  for (const [name, , second] of cases) {
    const got = await store.get(name, { r: 3 });
    t.same(got?.siblings.length, 1, `${name}: one value`);
    t.same(got?.value, second, `${name}: the later entry's, on all three replicas`);
  }
});

t.test('siblings putMany: a stored key twice in a batch, blind, the later entry wins (as with two puts)', async (t) => {
  const store = await openTemp(t, { replication: { n: 3, r: 2, w: 2 } });
  const keys = ['held', 'also held'];
  for (const key of keys) await store.put(key, 'old', { w: 3 });
  // Both items of a key are minted by its first replica before either is stored there: the second chains on the first.
  await store.putMany(keys.flatMap((key) => [[key, `${key}: first`], [`other:${key}`, 0], [key, `${key}: second`]]) as never);
  for (const key of keys) {
    const got = await store.get(key, { r: 3 });
    t.same(got?.siblings, [`${key}: second`], `${key}: one value, the later entry's, on all three replicas`);
  }
  // A key new on its node is minted by a fresh actor per item (replica.ts chainedBlindMint): its two blind items stay concurrent.
  await store.putMany([['new', 'first'], ['new', 'second']]);
  t.same((await store.get('new', { r: 3 }))?.siblings.slice().sort(), ['first', 'second'], 'a new key twice: both, as siblings');
});

t.test("lww putMany with a replica crashed: the stand-ins' hints reach it", async (t) => {
  const store = await openTemp(t, { conflicts: 'lww', replication: { n: 3, r: 2, w: 2 } });
  store.crashNode(1);
  const keys = Array.from({ length: 300 }, (_, i) => `h${i}`);
  await store.putMany(keys.map((key) => [key, `${key}:v`]));
  t.ok(store.nodes().some((node) => node.hintsHeld > 0), 'stand-ins hold hints for the crashed node');
  await store.startNode(1);
  t.ok(await eventually(() => store.nodes().every((node) => node.hintsHeld === 0), 20_000), 'hints handed back');
  const results = await store.getMany(keys, { r: 3 });
  t.same(results.map((r) => r?.value), keys.map((key) => `${key}:v`), 'every replica holds every value');
});

// putMany borrows the caller's binary keys and values while it sends (client-requests.ts):
// whatever it still sends once the call returned must be its own copy.
for (const conflicts of ['lww', 'siblings'] as const) {
  t.test(`${conflicts} putMany: the caller reuses its key buffers as soon as the call returns`, async (t) => {
    // pendingMax 64: a window of at most 64 items, so most of the batch is sent after the call returned.
    const store = await openTemp(t, { conflicts, replication: { n: 3, r: 2, w: 2 }, pendingMax: 64 });
    const count = 400;
    const buffer = new Uint8Array(count * 8);
    const keyOf = (i: number) => new TextEncoder().encode(`key${String(i).padStart(5, '0')}`);
    for (let i = 0; i < count; i++) buffer.set(keyOf(i), i * 8);
    // Half the values are strings, half bytes in one reused buffer too.
    const values = new Uint8Array(count * 4);
    const valueOf = (i: number) => (i % 2 === 0 ? `v${i}` : new TextEncoder().encode(`b${String(i).padStart(3, '0')}`));
    for (let i = 1; i < count; i += 2) values.set(valueOf(i) as Uint8Array, i * 4);
    const entries = Array.from({ length: count }, (_, i) => [buffer.subarray(i * 8, i * 8 + 8), i % 2 === 0 ? valueOf(i) : values.subarray(i * 4, i * 4 + 4)] as const);
    const written = store.putMany(entries);
    buffer.fill(0x61);
    values.fill(0x62);
    await written;
    t.equal((await store.get(new Uint8Array(8).fill(0x61)))?.value, undefined, 'no item was sent under the reused bytes');
    const results = await store.getMany(Array.from({ length: count }, (_, i) => keyOf(i)), { r: 3 });
    t.same(results.map((r) => r?.value), Array.from({ length: count }, (_, i) => valueOf(i)), 'every key and value as they were at the call, on all three replicas');
  });
}
