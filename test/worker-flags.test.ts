/**
 * Node threads start under whatever flags the application was started with:
 * V8's (`--max-old-space-size`, the most common flag a service runs with)
 * and the process's (`--title`) are refused in a worker's execArgv, so the
 * store leaves them out (node-link.ts startWorker) instead of failing to open.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { refusedExecArgv, workerExecArgv } from '../lib/transport/node-link.js';

const run = promisify(execFile);

t.test('the flags a refusal names, among those asked for', async (t) => {
  const asked = ['--max-old-space-size=4096', '--no-warnings', '--title=x'];
  t.same(refusedExecArgv('Initiated Worker with invalid execArgv flags: --max-old-space-size=4096, --title=x', asked), ['--max-old-space-size=4096', '--title=x']);
  t.same(refusedExecArgv('Initiated Worker with invalid execArgv flags: --trace-gc', asked), [], 'a flag not asked for is not taken');
  t.same(refusedExecArgv('something else', asked), [], 'a message in another form names nothing: the refusal is thrown as it came');
});

t.test("the main script's flags stay with it", async (t) => {
  t.same(workerExecArgv(['--import', 'tsx', '--no-warnings', '-e', 'code', '--max-old-space-size=64']), ['--no-warnings', '--max-old-space-size=64']);
});

t.test('a store opens, writes and reads in a process started with V8 and process flags', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtable-flags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'app.mjs');
  const index = new URL('../lib/index.js', import.meta.url).href;
  writeFileSync(
    script,
    `import { Store } from ${JSON.stringify(index)};
const store = await Store.open({ path: ${JSON.stringify(join(dir, 'store'))}, nodes: 2, replication: { n: 2, r: 2, w: 2 } });
await store.put('k', 'v');
const first = await store.get('k');
await store.repair();
await store.close();
console.log(JSON.stringify({ value: first?.value }));
`,
  );
  const flags = ['--max-old-space-size=512', '--max-semi-space-size=8', '--title=ringtable-flags-test'];
  const { stdout } = await run(process.execPath, [...flags, script], { timeout: 60_000 });
  t.match(stdout, /"value":"v"/, `the store answered under ${flags.join(' ')}`);
});
