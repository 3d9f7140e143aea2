/**
 * The HTML report in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (which never downloads a browser of its own). The page
 * loads from file:// with no console or page errors and no request but the
 * file itself; every chart is drawn with a non-zero box and parses as XML;
 * tables have their rows; labels on axes and legends do not overlap; a
 * hostile key stays text.
 *
 * Without /usr/bin/chromium (or $RINGTABLE_CHROMIUM) the test skips with the reason printed, unless
 * RINGTABLE_REQUIRE_CHROMIUM=1 (set by .ci/run), which makes it fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { renderHtmlReport } from '../bench/report/html-report.js';
import { formatRate } from '../bench/report/format.js';
import type { BenchReport } from '../bench/ycsb/bench-report.js';
import { sampleBenchReport } from './helpers/sample-bench-report.js';
import { chartsOf } from './helpers/xml-tree.js';

/** Debian's chromium; RINGTABLE_CHROMIUM points elsewhere (another distribution, a local Chrome). */
const CHROMIUM = process.env.RINGTABLE_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.RINGTABLE_REQUIRE_CHROMIUM === '1';
const CHARTS = ['throughput-timeline', 'latency-cdf', 'node-load', 'partition-heat', 'baselines'];
const HOSTILE = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">';

// The page's globals, typed just enough for the functions evaluated there (tsconfig has no DOM lib).
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
interface PageElement {
  getBoundingClientRect(): Box;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getAttribute(name: string): string | null;
  textContent: string | null;
}
interface PageGlobals {
  document: PageElement;
  DOMParser: new () => { parseFromString(source: string, type: string): { getElementsByTagName(name: string): { length: number; item(i: number): PageElement | null } } };
  pwned?: number;
}

const missing = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (install Debian's chromium: apt-get install chromium)`;
if (missing !== undefined && REQUIRED) t.fail(`RINGTABLE_REQUIRE_CHROMIUM=1 but ${missing}`);
else if (missing !== undefined) console.log(`# skipping the Chromium report test: ${missing}`);

interface Loaded {
  page: Page;
  url: string;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
}

async function launch(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium refuses to start as root with its sandbox on, and CI runs as
    // root in a container without the user namespaces the sandbox needs.
    // The page is our own file with scripts forbidden by its CSP.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  t.teardown(() => browser.close());
  return browser;
}

async function open(t: Test, browser: Browser, report: BenchReport): Promise<Loaded> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringtable-report-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, renderHtmlReport(report));
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  t.teardown(() => page.close());
  const loaded: Loaded = { page, url, consoleErrors: [], pageErrors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') loaded.consoleErrors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => loaded.pageErrors.push(String(error)));
  page.on('request', (request) => loaded.requests.push(request.url()));
  await page.goto(url, { waitUntil: 'load' });
  return loaded;
}

/** What every rendered report must satisfy in the browser. */
async function checkLoaded(t: Test, loaded: Loaded, report: BenchReport): Promise<void> {
  const { page } = loaded;
  t.same(loaded.consoleErrors, [], 'no console errors or warnings');
  t.same(loaded.pageErrors, [], 'no page errors');
  t.same(loaded.requests, [loaded.url], 'no request but the file itself');

  for (const name of CHARTS) {
    const svg = page.locator(`svg[data-chart="${name}"]`);
    t.equal(await svg.count(), 1, `${name}: one chart`);
    const box = await svg.boundingBox();
    t.ok(box !== null && box.width > 0 && box.height > 0, `${name}: drawn with a non-zero box (${box?.width}×${box?.height})`);
  }

  // The charts as written, through the browser's XML parser: a stray `&` or `<` is a parsererror there.
  const sources = [...chartsOf(renderHtmlReport(report)).values()];
  t.equal(sources.length, CHARTS.length, 'every chart in the file');
  const parseErrors = await page.evaluate((svgs) => {
    const g = globalThis as unknown as PageGlobals;
    const errors: string[] = [];
    for (const svg of svgs) {
      const error = new g.DOMParser().parseFromString(svg, 'image/svg+xml').getElementsByTagName('parsererror').item(0);
      if (error !== null) errors.push(error.textContent ?? 'parsererror');
    }
    return errors;
  }, sources);
  t.same(parseErrors, [], 'every chart parses as XML in the browser');

  const overlaps = await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const found: string[] = [];
    const groups = g.document.querySelectorAll('svg .axis, svg .legend, svg .faults');
    for (let i = 0; i < groups.length; i++) {
      const texts = Array.from(groups[i]!.querySelectorAll('text'));
      const boxes = texts.map((text) => text.getBoundingClientRect());
      for (let a = 0; a < boxes.length; a++) {
        for (let b = a + 1; b < boxes.length; b++) {
          const [p, q] = [boxes[a]!, boxes[b]!];
          const width = Math.min(p.right, q.right) - Math.max(p.left, q.left);
          const height = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
          if (width > 1 && height > 1) found.push(`${texts[a]!.textContent} / ${texts[b]!.textContent}`);
        }
      }
    }
    return found;
  });
  t.same(overlaps, [], 'no two labels of an axis, legend or fault row overlap');
  t.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).pwned), undefined, 'no script ran');
}

t.test('the HTML report in headless Chromium', { skip: missing ?? false }, async (t) => {
  const browser = await launch(t);

  await t.test('a full report', async (t) => {
    const report = sampleBenchReport({ seed: 31, nodes: 6, vnodes: 64, ops: ['read', 'update', 'scan'], hotKeys: 8 });
    report.hotKeys[2]!.key = HOSTILE;
    report.notes.push(HOSTILE);
    report.faults.push({ atMs: 10_300, action: 'stop', node: 4 });
    const loaded = await open(t, browser, report);
    await checkLoaded(t, loaded, report);
    const { page } = loaded;
    const throughput = formatRate(report.run.throughputPerSec);
    t.match(await page.title(), throughput, 'title shows the throughput');
    t.equal((await page.locator('[data-figure="throughput"] .figure-value').textContent())?.trim(), throughput, 'summary shows the throughput');
    t.equal(await page.locator('table[data-table="latency"] tbody tr').count(), 3, 'a latency row per op type');
    t.equal(await page.locator('table[data-table="hot-keys"] tbody tr').count(), report.hotKeys.length, 'a row per hot key');
    t.equal(await page.locator('table[data-table="baselines"] tbody tr').count(), report.baselines.length, 'a row per baseline');
    t.equal(await page.locator('table[data-table="errors"] tbody tr').count(), Object.keys(report.errors.byCode).length, 'a row per error code');
    t.equal(await page.locator('table[data-table="hot-keys"] tbody tr').nth(2).locator('td').nth(1).textContent(), HOSTILE, 'the hostile key shows as text');
    t.equal(await page.locator('svg[data-chart="node-load"] .node-bar').count(), report.nodes.length, 'a bar per node');
    t.equal(await page.locator('svg[data-chart="partition-heat"] [data-partition]').count(), report.partitionHeat.length, 'a cell per partition');
    t.equal(await page.locator('svg[data-chart="throughput-timeline"] .fault').count(), report.faults.length, 'a marker per fault');
    const visible = await page.locator('svg[data-chart="node-load"] .node-bar rect[data-segment="reads"]').first().boundingBox();
    t.ok(visible !== null && visible.height > 0, 'bars have height on screen');
  });

  await t.test('a degenerate report', async (t) => {
    const report = sampleBenchReport({ seed: 32, nodes: 1, ops: ['read'], baselines: [], faults: [], hotKeys: 0, errors: false });
    report.run.timeline = [];
    report.partitionHeat = report.partitionHeat.map(() => 0);
    const loaded = await open(t, browser, report);
    await checkLoaded(t, loaded, report);
    t.equal(await loaded.page.locator('svg[data-empty="true"]').count(), 2, 'timeline and baselines say they are empty');
    t.equal(await loaded.page.locator('table[data-table="hot-keys"]').count(), 0, 'no hot-key table without hot keys');
  });

  await t.test('a narrow window still fits the charts to its width', async (t) => {
    const report = sampleBenchReport({ seed: 33 });
    const loaded = await open(t, browser, report);
    await loaded.page.setViewportSize({ width: 420, height: 800 });
    for (const name of CHARTS) {
      const box = await loaded.page.locator(`svg[data-chart="${name}"]`).boundingBox();
      t.ok(box !== null && box.width > 0 && box.x + box.width <= 420, `${name}: within the window`);
    }
  });
});
