/**
 * The inspector in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (which never downloads a browser of its own), against a
 * real Database of storage-node threads.
 *
 * - The page loads with no console or page errors and requests nothing but
 *   its own server; panels whose data is not there say so.
 * - Live updates arrive: a crashed node shows down, with the hints other
 *   nodes hold for it, and up again after its restart.
 * - The consistent/eventual panel shows both answers, with the replica and
 *   the version the Database reports; browse and query show their items and
 *   consumed capacity.
 * - The capacity panels draw a Database's capacity metrics under a hot key
 *   (capacity 'observe'), and the index-lag chart moves while a GSI applied
 *   behind its table (gsiLagMs) catches up.
 * - Under a ~10k ops/s load of the engine's gets and puts, driven from this
 *   process, live updates keep arriving and an on-demand read answers within
 *   a bound, and the rate actually served is reported and checked.
 *
 * Screenshots go to $RINGTABLE_SCREENSHOTS (the README's are made with
 * RINGTABLE_SCREENSHOTS=docs), else to a temporary directory.
 *
 * Without /usr/bin/chromium (or $RINGTABLE_CHROMIUM) the test skips with the reason printed, unless
 * RINGTABLE_REQUIRE_CHROMIUM=1 (set by .ci/run), which makes it fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { Database, type InspectorServer } from '../lib/index.js';
import { eventually, sleep } from './helpers/temp-store.js';
import { startPacedLoad } from './helpers/paced-load.js';

const CHROMIUM = process.env.RINGTABLE_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.RINGTABLE_REQUIRE_CHROMIUM === '1';
/** Generous: CI machines are slow and shared; nothing here measures time. */
const EVENTUALLY_MS = 30_000;
const TABLE = 'orders';
const HOSTILE = '<img src="x" onerror="window.pwned = 1">';
/** The load the page must stay responsive under (issue 14 §2: "a 10k ops/s load"). */
const LOAD_OPS_PER_SECOND = 10_000;
/**
 * What a loaded 2-core CI machine serves for sure: this process serves the page, drives the
 * load and runs the nodes' coordinator while Chromium renders. Measured on a 2-core machine
 * with seven other builds running (load average near 30): 5,000 to 11,500 ops/s without the
 * browser, 2,500 to 2,830 ops/s in this test; the bound leaves room below that.
 */
const LOAD_OPS_PER_SECOND_MIN = 1_500;
/** A bound on the page's answers under that load: generous, as a shared CI machine needs. */
const RESPONSIVE_MS = 15_000;

const missing = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (install Debian's chromium: apt-get install chromium)`;
if (missing !== undefined && REQUIRED) t.fail(`RINGTABLE_REQUIRE_CHROMIUM=1 but ${missing}`);
else if (missing !== undefined) console.log(`# skipping the Chromium inspector test: ${missing}`);

interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  foreignRequests: string[];
}

function screenshotDirectory(t: Test): string {
  const wanted = process.env.RINGTABLE_SCREENSHOTS;
  if (wanted !== undefined && wanted !== '') {
    fs.mkdirSync(wanted, { recursive: true });
    return wanted;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-inspector-shots-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function launch(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As in html-report-chromium.test.ts: CI runs as root in a container without user namespaces.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  return browser;
}

async function open(t: Test, browser: Browser, server: InspectorServer): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  t.teardown(() => page.close());
  const origin = new URL(server.url).origin;
  const opened: Opened = { page, consoleErrors: [], pageErrors: [], foreignRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') opened.consoleErrors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => opened.pageErrors.push(String(error)));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) opened.foreignRequests.push(url);
  });
  await page.goto(server.url, { waitUntil: 'load' });
  return opened;
}

async function snapshotsSeen(page: Page): Promise<number> {
  return Number((await page.locator('body').getAttribute('data-snapshots')) ?? '0');
}

async function waitFor(t: Test, what: string, probe: () => Promise<boolean>): Promise<void> {
  t.ok(await eventually(async () => probe().catch(() => false), EVENTUALLY_MS, 100), what);
}

function checkClean(t: Test, opened: Opened): void {
  t.same(opened.consoleErrors, [], 'no console errors or warnings');
  t.same(opened.pageErrors, [], 'no page errors');
  t.same(opened.foreignRequests, [], 'no request outside the server');
}

async function putOrder(db: Database, customer: string, n: number, note = 'ok'): Promise<void> {
  await db.putItem({ TableName: TABLE, Item: { customer: { S: customer }, n: { N: String(n) }, note: { S: note } } });
}

t.test('the inspector in headless Chromium', { skip: missing ?? false }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-inspector-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Four nodes and N = 3: a node down leaves a stand-in, which holds hints for it (sloppy quorum).
  // 32 partitions per node: 128 arcs, each wide enough to see its owner's colour in the screenshot.
  const db = await Database.open({ path: dir, nodes: 4, vnodes: 32, antiEntropyIntervalMs: 0 });
  t.teardown(() => db.close());
  await db.createTable({
    TableName: TABLE,
    KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }, { AttributeName: 'n', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' }, { AttributeName: 'n', AttributeType: 'N' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  for (let n = 0; n < 12; n++) await putOrder(db, 'alice', n, n === 3 ? HOSTILE : 'ok');
  for (let n = 0; n < 4; n++) await putOrder(db, 'bob', n);

  const browser = await launch(t);
  const shots = screenshotDirectory(t);
  const server = await db.inspector({ port: 0 });
  t.teardown(() => server.close());

  await t.test('loads cleanly and says what it does not have', async (t) => {
    const opened = await open(t, browser, server);
    const { page } = opened;
    await waitFor(t, 'a snapshot arrived', async () => (await snapshotsSeen(page)) > 0);
    t.equal(await page.locator('#connection').getAttribute('data-state'), 'live', 'the event stream is open');
    t.equal(await page.locator('#nodes-table tbody tr').count(), 4, 'a row per node');
    t.equal(await page.locator('#nodes-table tbody tr[data-status="up"]').count(), 4, 'every node up');
    t.equal(await page.locator('#ring-chart .partition-arc').count(), db.store.partitions().length, 'an arc per ring partition');
    t.equal(await page.locator(`[data-table-name="${TABLE}"]`).count(), 1, 'the table is listed');
    t.match(await page.locator('[data-empty="capacity"]').textContent(), /capacity model off/, 'the capacity panel says the model is off');
    t.match(await page.locator('#hot-keys-body [data-empty="hot-keys"]').textContent(), /capacity model off/, 'so does the hot-keys panel');
    t.match(await page.locator('[data-empty="index-lag"]').textContent(), /no indexes/, 'the lag panel says there are no indexes');
    t.equal(await page.locator('svg[data-chart="capacity-heat"]').count(), 0, 'and no heat map is drawn from nothing');
    checkClean(t, opened);
  });

  await t.test('live: a crashed node shows down with hints held for it, then up again', async (t) => {
    const opened = await open(t, browser, server);
    const { page } = opened;
    const node = 1;
    db.store.crashNode(node);
    await waitFor(t, `node ${node} shows down`, async () => (await page.locator(`#nodes-table tr[data-node="${node}"]`).getAttribute('data-status')) === 'down');
    // Plain puts while it is down: stand-ins take its copies as hints (Dynamo §4.6).
    for (let i = 0; i < 64; i++) await db.store.put(`hinted-${i}`, { i });
    await waitFor(t, `hints pending for node ${node} show`, async () => Number(await page.locator(`#nodes-table tr[data-node="${node}"] td[data-hints-pending]`).getAttribute('data-hints-pending')) > 0);
    await page.screenshot({ path: path.join(shots, 'inspector-ring.png'), fullPage: false });
    await db.store.startNode(node);
    await waitFor(t, `node ${node} shows up again`, async () => (await page.locator(`#nodes-table tr[data-node="${node}"]`).getAttribute('data-status')) === 'up');
    await waitFor(t, 'and its hints are handed back', async () => Number(await page.locator(`#nodes-table tr[data-node="${node}"] td[data-hints-pending]`).getAttribute('data-hints-pending')) === 0);
    checkClean(t, opened);
  });

  await t.test('consistent and eventual reads side by side; browse and query', async (t) => {
    const opened = await open(t, browser, server);
    const { page } = opened;
    await waitFor(t, 'the table is offered', async () => (await page.locator('#read-form select[name="table"] option').count()) > 0);
    await page.locator('#read-form select[name="table"]').selectOption(TABLE);
    await page.locator('#read-form input[name="partitionKey"]').fill('alice');
    await page.locator('#read-form input[name="sortKey"]').fill('5');
    await page.locator('#read-form button[type="submit"]').click();
    await waitFor(t, 'both answers show', async () => (await page.locator('#read-verdict').getAttribute('data-state')) === 'same' || (await page.locator('#read-verdict').getAttribute('data-state')) === 'stale');
    const expected = await db.inspectItem({ TableName: TABLE, Key: { customer: { S: 'alice' }, n: { N: '5' } }, ConsistentRead: true });
    for (const side of ['consistent', 'eventual']) {
      const answer = page.locator(`[data-read="${side}"]`);
      t.match(await answer.locator('[data-field="replica"]').textContent(), /^node \d+$/, `${side}: the replica that answered`);
      t.equal(await answer.locator('[data-field="version"]').textContent(), expected.version, `${side}: the item's version`);
      t.match(await answer.locator('[data-field="item"]').textContent(), /"alice"/, `${side}: the item`);
      t.match(await answer.locator('[data-field="capacity"]').textContent(), /consumed capacity \(orders\): [\d.]+ capacity units/, `${side}: its consumed capacity`);
    }
    t.match(await page.locator('[data-read="consistent"] [data-field="capacity"]').textContent(), /: 1 capacity units/, 'a consistent read of a small item is 1 RCU');
    t.match(await page.locator('[data-read="eventual"] [data-field="capacity"]').textContent(), /: 0\.5 capacity units/, 'an eventual one 0.5');
    await page.locator('#read-panel').screenshot({ path: path.join(shots, 'inspector-reads.png') });

    // Browse: a click on the table scans its first page; a click on an item reads it.
    await page.locator(`[data-table-name="${TABLE}"]`).click();
    await waitFor(t, 'the scan shows items', async () => (await page.locator('#items-body table[data-table="items"] tbody tr').count()) === 16);
    t.match(await page.locator('#query-summary [data-field="capacity"]').textContent(), /consumed capacity \(orders\)/, 'the scan shows its consumed capacity');
    // One partition key's items in sort order, from a row of the scan.
    await page.locator('#items-body tbody tr', { has: page.locator('td.key', { hasText: /^bob$/ }) }).first().locator('button.partition-button').click();
    await waitFor(t, "a row's partition key queries its items", async () => /query: 4 items/.test((await page.locator('#query-summary').textContent()) ?? ''));
    const bobKeys = await page.locator('#items-body tbody tr').evaluateAll((rows) => rows.map((row) => (row as unknown as { cells: ArrayLike<{ textContent: string }> }).cells[1]!.textContent));
    t.same(bobKeys, ['0', '1', '2', '3'], 'in sort order');
    // Query: one partition key, a sort key condition, descending.
    await page.locator('#query-form input[name="partitionKey"]').fill('alice');
    await page.locator('#query-form select[name="sortCondition"]').selectOption('between');
    await page.locator('#query-form input[name="sortValue"]').fill('2');
    await page.locator('#query-form input[name="sortValueTo"]').fill('6');
    await page.locator('#query-form input[name="descending"]').check();
    await page.locator('#query-form button[name="query"]').click();
    await waitFor(t, 'the query shows its items', async () => /query: 5 items/.test((await page.locator('#query-summary').textContent()) ?? ''));
    const sortKeys = await page.locator('#items-body tbody tr').evaluateAll((rows) => rows.map((row) => (row as unknown as { cells: ArrayLike<{ textContent: string }> }).cells[1]!.textContent));
    t.same(sortKeys, ['6', '5', '4', '3', '2'], 'in descending sort order');
    t.ok((await page.locator('#items-body').textContent())?.includes(JSON.stringify(HOSTILE)), 'an attribute holding markup shows as text');
    t.equal(await page.locator('#items-body img').count(), 0, 'and makes no element');
    t.equal(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined, 'and runs nothing');
    await page.locator('#items-body tbody tr').first().click();
    await waitFor(t, 'a click on an item reads it', async () => /"6"/.test((await page.locator('[data-read="eventual"] [data-field="item"]').textContent()) ?? ''));
    // A DynamoDB error shows as DynamoDB's exception.
    await page.locator('#query-form input[name="sortValue"]').fill('not a number');
    await page.locator('#query-form button[name="query"]').click();
    await waitFor(t, 'a bad query shows the ValidationException', async () => /ValidationException/.test((await page.locator('#query-summary').textContent()) ?? ''));
    // The browser logs the action's 400 answer itself; nothing else may be logged.
    t.same(opened.consoleErrors.filter((line) => !/status of 400/.test(line)), [], 'no console errors but the 400 of the bad query');
    t.same(opened.pageErrors, [], 'no page errors');
    t.same(opened.foreignRequests, [], 'no request outside the server');
  });

  await t.test('capacity heat map and hottest keys from the capacity model; a GSI\'s lag while it catches up', async (t) => {
    // A second Database under the capacity model (observe: it reports would-be throttles and refuses nothing),
    // 3,000 RCU/WCU scaled by 0.01: four logical partitions of 7.5 WCU each, one of them written hot.
    const hotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-inspector-hot-'));
    t.teardown(() => fs.rmSync(hotDir, { recursive: true, force: true }));
    const hotDb = await Database.open({ path: hotDir, nodes: 3, vnodes: 32, antiEntropyIntervalMs: 0, capacity: 'observe', capacityScale: 0.01, gsiLagMs: 1500 });
    t.teardown(() => hotDb.close());
    await hotDb.createTable({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }, { AttributeName: 'n', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' }, { AttributeName: 'n', AttributeType: 'N' }, { AttributeName: 'note', AttributeType: 'S' }],
      ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 3000 },
      // A GSI applied 1.5 s behind its table (gsiLagMs): its lag shows while writes arrive, and drains after.
      GlobalSecondaryIndexes: [{
        IndexName: 'by-note',
        KeySchema: [{ AttributeName: 'note', KeyType: 'HASH' }, { AttributeName: 'n', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
        ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 3000 },
      }],
    });
    const partitions = hotDb.capacityMetrics().resources.find((r) => r.table === TABLE)?.partitions.length ?? 0;
    t.ok(partitions > 1, `the table has ${partitions} logical partitions`);
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing; n++) {
        await putOrder(hotDb, 'hot', n % 20);
        if (n % 4 === 0) await putOrder(hotDb, `cool-${n % 40}`, n);
        if (n % 20 === 0) await sleep(10);
      }
    })();
    t.teardown(async () => {
      writing = false;
      await writer;
    });
    const shaped = await hotDb.inspector({ port: 0 });
    t.teardown(() => shaped.close());
    const opened = await open(t, browser, shaped);
    const { page } = opened;
    const heat = page.locator(`svg[data-chart="capacity-heat"][data-resource="${TABLE}"]`);
    await waitFor(t, 'a heat map for the table', async () => (await heat.count()) === 1);
    t.equal(await heat.locator('g.heat-row').count(), partitions, 'a row per logical partition');
    await waitFor(t, 'throttled seconds are marked', async () => (await heat.locator('.throttle-mark').count()) > 0);
    await waitFor(t, 'the hot key leads the most consumed keys', async () => /hot/.test((await page.locator('#hot-keys-body table[data-table="hot-keys"] tbody tr td.key').first().textContent()) ?? ''));
    const lag = page.locator('svg[data-chart="index-lag"] polyline.lag-line[data-index="orders / by-note"]');
    await waitFor(t, 'a lag line for the index', async () => (await lag.count()) === 1);
    const pending = page.locator('table[data-table="index-lag"] tbody tr[data-index="orders / by-note"] td.n').first();
    await waitFor(t, 'changes pending while writes arrive', async () => Number((await pending.textContent())?.replace(/,/g, '')) > 0);
    const before = await lag.getAttribute('points');
    await waitFor(t, 'the lag line moves', async () => (await lag.getAttribute('points')) !== before);
    // A few more seconds of history for the screenshot.
    const seen = await snapshotsSeen(page);
    await waitFor(t, 'more snapshots', async () => (await snapshotsSeen(page)) >= seen + 6);
    await page.screenshot({ path: path.join(shots, 'inspector-capacity.png'), fullPage: true });
    writing = false;
    await writer;
    await waitFor(t, 'until the index caught up', async () => (await pending.textContent()) === '0');
    checkClean(t, opened);
  });

  await t.test('stays responsive under a ~10k ops/s load of the engine\'s own gets and puts', async (t) => {
    const opened = await open(t, browser, server);
    const { page } = opened;
    // The 10k ops/s, from this process (the one serving the page): nine gets to a put on db.store.
    const load = await startPacedLoad(db.store, { opsPerSecond: LOAD_OPS_PER_SECOND, concurrency: 64, putEvery: 10, keys: 1_000, keyPrefix: 'inspector-load-' });
    t.teardown(() => load.stop());
    await waitFor(t, 'the load is under way', async () => load.served() > LOAD_OPS_PER_SECOND_MIN);
    const liveFrom = performance.now();
    const seen = await snapshotsSeen(page);
    await waitFor(t, 'live updates keep arriving', async () => (await snapshotsSeen(page)) >= seen + 3);
    const liveMs = performance.now() - liveFrom;
    const readFrom = performance.now();
    await page.locator('#read-form select[name="table"]').selectOption(TABLE);
    await page.locator('#read-form input[name="partitionKey"]').fill('alice');
    await page.locator('#read-form input[name="sortKey"]').fill('1');
    await page.locator('#read-form button[type="submit"]').click();
    await waitFor(t, 'an on-demand read answers meanwhile', async () => ['same', 'stale'].includes((await page.locator('#read-verdict').getAttribute('data-state')) ?? ''));
    const readMs = performance.now() - readFrom;
    t.match(await page.locator('[data-read="consistent"] [data-field="replica"]').textContent(), /^node \d+$/, 'with its replica');
    t.ok(load.running, 'the load ran throughout');
    const result = await load.stop();
    console.log(`# inspector under load: ${Math.round(result.opsPerSecond)} ops/s served (${result.gets} gets, ${result.puts} puts in ${result.seconds.toFixed(1)} s, target ${LOAD_OPS_PER_SECOND}); 3 live updates in ${Math.round(liveMs)} ms, a read in ${Math.round(readMs)} ms`);
    t.ok(result.opsPerSecond >= LOAD_OPS_PER_SECOND_MIN, `at least ${LOAD_OPS_PER_SECOND_MIN} ops/s were served: ${Math.round(result.opsPerSecond)} (target ${LOAD_OPS_PER_SECOND})`);
    t.ok(liveMs <= RESPONSIVE_MS, `three live updates (one a second) within ${RESPONSIVE_MS} ms under the load: ${Math.round(liveMs)} ms`);
    t.ok(readMs <= RESPONSIVE_MS, `the on-demand read within ${RESPONSIVE_MS} ms under the load: ${Math.round(readMs)} ms`);
    checkClean(t, opened);
  });
});
