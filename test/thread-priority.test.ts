/**
 * Node threads and the anti-entropy pool's threads run below the priority of
 * the thread that opened the store (node/thread-priority.ts): checked on real worker threads through Linux's
 * own view of each thread (/proc/self/task/<tid>/stat), plus the option's
 * bounds and the pure guard.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { resolveOptions } from '../lib/config/options.js';
import { lowerThreadPriority } from '../lib/node/thread-priority.js';
import { ErrorCode } from '../lib/index.js';
import { openTemp } from './helpers/temp-store.js';

/** The nice value of every thread of this process, by thread id. */
function nicesByThread(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After the command's closing parenthesis, field 19 (nice) is the 17th.
      nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nices;
}

t.test('nodeThreadNice: an integer in [0, 19], 10 by default', async (t) => {
  t.equal(resolveOptions({ path: 'x' }).nodeThreadNice, 10);
  t.equal(resolveOptions({ path: 'x', nodeThreadNice: 0 }).nodeThreadNice, 0);
  t.equal(resolveOptions({ path: 'x', nodeThreadNice: 19 }).nodeThreadNice, 19);
  for (const bad of [-1, 20, 2.5, Number.NaN, '5']) {
    t.throws(() => resolveOptions({ path: 'x', nodeThreadNice: bad as never }), { code: ErrorCode.INVALID_OPTIONS }, String(bad));
  }
  t.throws(() => lowerThreadPriority(20), RangeError);
  t.equal(lowerThreadPriority(0), undefined, 'an increment of 0 does nothing');
  t.equal(lowerThreadPriority(5, 'darwin'), undefined, 'elsewhere than Linux nothing is done: there it would lower the whole process');
});

t.test('the node threads run at the opening thread\'s nice plus nodeThreadNice, the opening thread unchanged', { skip: process.platform === 'linux' ? false : 'nice is per thread only on Linux' }, async (t) => {
  const mainNice = nicesByThread().get(process.pid)!;
  const before = new Set(nicesByThread().keys());
  const store = await openTemp(t, { nodes: 3, durability: 'none', nodeThreadNice: 7 });
  await store.put('k', 'v');
  const started = [...nicesByThread()].filter(([tid]) => !before.has(tid));
  const lowered = started.filter(([, nice]) => nice === Math.min(19, mainNice + 7));
  t.equal(lowered.length, 3, `one thread per node at nice ${mainNice + 7} (threads started: ${JSON.stringify(started)})`);
  t.equal(nicesByThread().get(process.pid), mainNice, 'the opening thread keeps its priority');
  t.equal(await store.get('k').then((result) => result?.value), 'v', 'and the store serves');
});

/**
 * The nices of the threads an anti-entropy pass starts: the pool's (it starts
 * its threads on demand, at most antiEntropyThreads, and keeps them a while
 * after), and others the process may start meanwhile at the opening thread's
 * nice (under the tap runner, two more per pass).
 */
async function passThreadNices(t: Test, nodeThreadNice: number): Promise<number[]> {
  const store = await openTemp(t, { nodes: 3, durability: 'none', nodeThreadNice, antiEntropyThreads: POOL_THREADS, antiEntropyIntervalMs: 0 });
  await store.put('k', 'v');
  // libuv's threads start on its first queued work, at this thread's nice: start them before the count.
  await stat('.');
  const before = new Set(nicesByThread().keys());
  await store.repair();
  return [...nicesByThread()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
}

const POOL_THREADS = 2;

t.test('the anti-entropy pool\'s threads run at the opening thread\'s nice plus nodeThreadNice', { skip: process.platform === 'linux' ? false : 'nice is per thread only on Linux' }, async (t) => {
  const mainNice = nicesByThread().get(process.pid)!;
  const loweredNice = Math.min(19, mainNice + 7);
  const started = await passThreadNices(t, 7);
  const lowered = started.filter((nice) => nice === loweredNice).length;
  t.ok(lowered >= 1 && lowered <= POOL_THREADS, `the pool's threads (1 to ${POOL_THREADS}) at nice ${loweredNice} (threads started: ${JSON.stringify(started)})`);
  t.same(started.filter((nice) => nice !== loweredNice && nice !== mainNice), [], 'no thread at any other nice');
  const same = await passThreadNices(t, 0);
  t.ok(same.length > 0, `the pass started threads (${same.length})`);
  t.same(same.filter((nice) => nice !== mainNice), [], 'with nodeThreadNice 0 every thread keeps the opening thread\'s nice');
  t.equal(nicesByThread().get(process.pid), mainNice, 'the opening thread keeps its priority');
});
