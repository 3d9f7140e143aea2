/**
 * `npm run demo`: a short tour of ringtable. Opens a store (in a temporary
 * directory unless --path is given), then: put and get, where a key lives,
 * a conflict between two writers and its resolution, a TTL, a delete, a
 * putMany/getMany of 100k keys with throughput, and per-node statistics.
 *
 *   npm run demo
 *   npm run demo -- --path ./data --keys 100k --nodes 4
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GetResult, Store, type PutManyEntry } from '../lib/index.js';
import { formatRate, formatSeconds, timed } from './lib/measure.js';
import { choice, int, parseOptions, text } from './lib/options.js';
import { Prng } from '../lib/prng.js';
import { makeTempDir, removeTempDir } from './lib/temp-dir.js';

const args = parseOptions('npm run demo --', 'A few seconds with ringtable: quorum reads and writes, conflicts, TTL, bulk operations, statistics.', {
  path: text('keep the store in this directory (default: a temporary directory, removed at the end)', 'DIR'),
  nodes: int(4, 'storage nodes (worker threads)'),
  keys: int(100_000, 'keys for the putMany/getMany step'),
  durability: choice('async', ['none', 'async', 'sync'] as const, 'when a write is acknowledged'),
});

const step = (title: string) => console.log(`\n-- ${title} ${'-'.repeat(Math.max(0, 66 - title.length))}`);
const show = (label: string, value: unknown) => console.log(`   ${label.padEnd(32)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const shortContext = (context: string) => (context.length > 24 ? `${context.slice(0, 24)}... (${context.length} chars)` : context);

async function main(): Promise<void> {
  const path = args.path ?? makeTempDir('ringtable-demo-');
  const options = { path, nodes: args.nodes, replication: { n: Math.min(3, args.nodes), r: Math.min(2, args.nodes), w: Math.min(2, args.nodes) }, durability: args.durability };
  console.log('ringtable demo: an embedded Dynamo-style key-value store');
  console.log(`opening ${options.nodes} storage nodes (worker threads, one LMDB environment each) at ${path}`);
  const openedMs = performance.now();
  const store = await Store.open(options);
  const o = store.options;
  console.log(`open in ${(performance.now() - openedMs).toFixed(0)} ms: N=${o.n} copies of every key, reads wait for R=${o.r}, writes for W=${o.w}; durability '${o.durability}', conflicts '${o.conflicts}', ${o.vnodes} vnodes per node`);

  try {
    step('put and get');
    const context = await store.put('greeting', { text: 'hello, ring', lang: 'en' });
    show("put('greeting', {...}) ->", `context ${shortContext(context)}`);
    const greeting = await store.get('greeting');
    show("get('greeting').value", greeting?.value);
    show("has('nobody')", await store.has('nobody'));
    show("get('greeting', { r: 1 })", (await store.get('greeting', { r: 1 }))?.value);
    show("get(..., { consistent: true })", (await store.get('greeting', { consistent: true }))?.value);

    step('where a key lives');
    for (const key of ['greeting', 'cart:alice', 'user:42']) show(`preferenceList('${key}')`, `nodes ${JSON.stringify(store.preferenceList(key))} (coordinator first)`);

    step('a conflict: two writers, one stale context');
    await store.put('cart:alice', { items: ['apple'] });
    const seen = (await store.get('cart:alice'))!;
    show('both clients read', seen.value);
    await store.put('cart:alice', { items: ['apple', 'pear'] }, { context: seen.context });
    show('client A writes', { items: ['apple', 'pear'] });
    await store.put('cart:alice', { items: ['apple', 'milk'] }, { context: seen.context });
    show('client B writes (same context)', { items: ['apple', 'milk'] });
    const conflicted = (await store.get('cart:alice'))!;
    show('get -> siblings', conflicted.siblings);
    show('get -> value (newest wins)', conflicted.value);
    const merged = { items: [...new Set(conflicted.siblings.flatMap((s) => (s as { items: string[] }).items))].sort() };
    await store.put('cart:alice', merged, { context: conflicted.context });
    show('client merges, writes with', `the context of that get: ${JSON.stringify(merged)}`);
    const resolved = (await store.get('cart:alice'))!;
    show('get -> siblings', resolved.siblings);

    step('time to live');
    await store.put('session:7f3a', { user: 'alice' }, { ttlMs: 300 });
    show("put('session:7f3a', ttlMs: 300)", 'ok');
    show('get right away', (await store.get('session:7f3a'))?.value);
    await sleep(400);
    show('get 400 ms later', (await store.get('session:7f3a'))?.value ?? 'undefined (expired)');

    step('delete');
    await store.put('user:42', { name: 'Ada' });
    show("has('user:42')", await store.has('user:42'));
    await store.delete('user:42');
    show("delete('user:42'); has(...)", await store.has('user:42'));

    await bulk(store, args.keys);

    step('statistics per node');
    const stats = store.stats();
    console.table(stats.nodes.map((n) => ({ node: n.id, keys: n.keys, 'MiB on disk': +(n.bytes / 2 ** 20).toFixed(1), gets: n.gets, puts: n.puts, replicates: n.replicates, commits: n.commits, errors: n.errors, queue: n.queueDepth })));
    show('read repairs', stats.readRepairs);
    show('gets that saw siblings', stats.siblingsSeen);
    show('timeouts / overloaded', `${stats.timeouts} / ${stats.overloaded}`);
  } finally {
    await store.close();
    if (args.path === undefined) removeTempDir(path);
  }
  console.log(args.path === undefined ? '\nclosed; the temporary directory is removed.' : `\nclosed; the data stays in ${path} (reopen it with the same --nodes).`);
}

async function bulk(store: Store, count: number): Promise<void> {
  step(`putMany / getMany of ${count} keys`);
  const prng = new Prng(7);
  const entries: PutManyEntry[] = [];
  for (let i = 0; i < count; i++) entries.push([`item:${i.toString().padStart(7, '0')}`, { id: i, score: prng.nextBelow(1000), tags: ['demo'] }]);
  const putRun = await timed(count, () => store.putMany(entries));
  show(`putMany(${count})`, `${formatSeconds(putRun.seconds)}, ${formatRate(putRun.opsPerSecond)} keys/s (each written to N replicas, W acked)`);
  const keys = entries.map((entry) => entry[0]);
  let results: (GetResult | undefined)[] = [];
  const getRun = await timed(count, async () => {
    results = await store.getMany(keys, { r: 1 });
  });
  const found = results.filter((r) => r !== undefined).length;
  show(`getMany(${count}, { r: 1 })`, `${formatSeconds(getRun.seconds)}, ${formatRate(getRun.opsPerSecond)} keys/s, ${found} found`);
  show('a sample', { key: keys[12_345 % count], value: results[12_345 % count]?.value });
}

await main();
