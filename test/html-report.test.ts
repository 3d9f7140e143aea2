/**
 * The HTML report reflects its input: one bar per node with heights in
 * proportion, one heat cell per partition, rows in the input's order, cells
 * formatted from the input's numbers, every baseline and fault shown; every
 * string escaped; nothing fetched from anywhere; degenerate inputs render
 * without NaN or broken SVG. Pure and fast: no browser (see
 * html-report-chromium.test.ts for that).
 */
import t, { type Test } from 'tap';
import type { BenchReport, OpKind } from '../bench/ycsb/bench-report.js';
import { renderHtmlReport, SECTION_IDS, PERCENTILE_COLUMNS } from '../bench/report/html-report.js';
import { escapeText } from '../bench/report/escape.js';
import { formatCount, formatDurationMs, formatLatencyUs, formatPercent, formatRate, formatRatio, MISSING } from '../bench/report/format.js';
import { heatColour, OP_LABELS } from '../bench/report/palette.js';
import { reportProblems } from '../bench/report/render-report.js';
import { logDomain, logTicks, niceTicks, percentileToNines } from '../bench/report/scale.js';
import { bucketSamples } from '../bench/report/timeline-chart.js';
import { sampleBenchReport } from './helpers/sample-bench-report.js';
import { bodyRows, chartsOf, findAll, parseXml, sectionOf, tableOf, textOf, type XmlNode } from './helpers/xml-tree.js';

const CHARTS = ['throughput-timeline', 'latency-cdf', 'node-load', 'partition-heat', 'baselines'];
const HOSTILE = '<script>alert(1)</script>';

function chart(html: string, name: string): XmlNode {
  const svg = chartsOf(html).get(name);
  if (svg === undefined) throw new Error(`chart ${name} missing`);
  return parseXml(svg);
}

const byAttr = (name: string) => (n: XmlNode) => n.attrs[name] !== undefined;

/** Every invariant a rendered page must hold whatever its input. */
function checkPage(t: Test, html: string): void {
  t.notMatch(html, /NaN|Infinity|undefined|\[object Object\]/, 'no NaN, Infinity or undefined printed');
  const charts = chartsOf(html);
  t.same([...charts.keys()].sort(), [...CHARTS].sort(), 'every chart present once');
  for (const [name, svg] of charts) {
    const root = parseXml(svg);
    t.equal(root.attrs.role, 'img', `${name}: role img`);
    t.ok(root.children.some((c) => c.tag === 'title' && textOf(c).length > 0), `${name}: has a <title>`);
    t.match(root.attrs['aria-labelledby'], new RegExp(`${name}-title`), `${name}: labelled by its title`);
    t.match(root.attrs.viewBox, /^0 0 \d+(\.\d)? \d+(\.\d)?$/, `${name}: numeric viewBox`);
  }
  for (const id of SECTION_IDS) t.match(html, new RegExp(`<section id="${id}"`), `section #${id}`);
  t.notMatch(html, /<script/i, 'no script element');
  t.notMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:|\/\/)/i, 'no src/href to another origin');
  t.notMatch(html, /<link\b|@import|url\(\s*["']?(?:https?:|\/\/)/i, 'no stylesheet, import or url() from elsewhere');
  for (const href of html.matchAll(/\bhref="([^"]*)"/g)) t.match(href[1], /^#[a-z-]+$/, `link ${href[1]} stays in the page`);
}

t.test('sample report: structure reflects the input', async (t) => {
  const report = sampleBenchReport({ seed: 7, nodes: 5, vnodes: 8, ops: ['read', 'update', 'scan'] });
  const html = renderHtmlReport(report);
  checkPage(t, html);
  t.match(html.slice(html.indexOf('<title>'), html.indexOf('</title>')), escapeText(formatRate(report.run.throughputPerSec)), 'page title shows the throughput');
  t.match(sectionOf(html, 'summary'), formatRate(report.run.throughputPerSec), 'summary shows the throughput');
  t.match(sectionOf(html, 'summary'), escapeText(report.command), 'summary shows the command line');
  t.match(sectionOf(html, 'summary'), 'zipfian (θ = 0.99)', 'distribution with theta');
});

t.test('node load: one bar per node, heights proportional to operations, mean line at the mean', async (t) => {
  const report = sampleBenchReport({ seed: 3, nodes: 6 });
  report.nodes[2]!.operations *= 3; // a skewed node, so proportions are not all alike
  const svg = chart(renderHtmlReport(report), 'node-load');
  const bars = findAll(svg, (n) => n.attrs.class === 'node-bar');
  t.equal(bars.length, report.nodes.length, 'one bar per node');
  t.same(bars.map((b) => Number(b.attrs['data-node'])), report.nodes.map((n) => n.id), 'bars in the input order');
  const heights = bars.map((b) => Number(b.attrs['data-bar-height']));
  const perOp = heights.map((h, i) => h / report.nodes[i]!.operations);
  for (const ratio of perOp) t.ok(Math.abs(ratio - perOp[0]!) / perOp[0]! < 0.01, 'height / operations is the same for every bar');
  bars.forEach((bar, i) => {
    const segments = findAll(bar, (n) => n.tag === 'rect');
    const total = segments.reduce((sum, r) => sum + Number(r.attrs.height), 0);
    t.ok(Math.abs(total - heights[i]!) <= 0.3, `node ${report.nodes[i]!.id}: segments add up to the bar`);
    const reads = segments.find((r) => r.attrs['data-segment'] === 'reads')!;
    t.ok(Math.abs(Number(reads.attrs.height) / heights[i]! - report.nodes[i]!.reads / report.nodes[i]!.operations) < 0.01, 'reads segment in proportion');
  });
  const mean = report.nodes.reduce((s, n) => s + n.operations, 0) / report.nodes.length;
  const meanLine = findAll(svg, (n) => n.attrs.class === 'mean-line')[0]!;
  t.ok(Math.abs(Number(meanLine.attrs['data-mean']) - mean) < 1e-6, 'mean line at the mean');
  const lineY = Number(meanLine.children.find((c) => c.tag === 'line')!.attrs.y1);
  const barBottom = Number(findAll(bars[0]!, (n) => n.attrs['data-segment'] === 'reads')[0]!.attrs.y) + Number(findAll(bars[0]!, (n) => n.attrs['data-segment'] === 'reads')[0]!.attrs.height);
  t.ok(Math.abs(barBottom - lineY - mean * perOp[0]!) < 0.5, 'mean line height on the bars’ scale');
  t.match(sectionOf(renderHtmlReport(report), 'node-load'), escapeText(formatRatio(report.imbalance)), 'imbalance printed');
});

t.test('partition heat: one cell per partition, grouped by owner, darkest at the hottest', async (t) => {
  const report = sampleBenchReport({ seed: 11, nodes: 4, vnodes: 32 });
  const svg = chart(renderHtmlReport(report), 'partition-heat');
  const cells = findAll(svg, byAttr('data-partition'));
  t.equal(cells.length, report.partitionHeat.length, 'one cell per partition');
  t.same(cells.map((c) => Number(c.attrs['data-partition'])).sort((a, b) => a - b), report.partitionHeat.map((_, i) => i), 'each partition exactly once');
  for (const band of findAll(svg, (n) => n.attrs.class === 'owner-band')) {
    const owner = Number(band.attrs['data-owner']);
    const partitions = findAll(band, byAttr('data-partition')).map((c) => Number(c.attrs['data-partition']));
    t.ok(partitions.every((p) => report.partitionOwners[p] === owner), `band n${owner} holds only its partitions`);
    t.same(partitions, [...partitions].sort((a, b) => a - b), `band n${owner} in ring order`);
  }
  const hottest = report.partitionHeat.indexOf(Math.max(...report.partitionHeat));
  t.equal(cells.find((c) => Number(c.attrs['data-partition']) === hottest)!.attrs.fill, heatColour(1), 'hottest partition has the darkest colour');
  for (const cell of cells) t.equal(Number(cell.attrs['data-accesses']), report.partitionHeat[Number(cell.attrs['data-partition'])], 'cell carries its count');
});

t.test('partition heat wraps a long band and stays one cell per partition', async (t) => {
  const report = sampleBenchReport({ seed: 2, nodes: 1, vnodes: 1024 });
  const svg = chart(renderHtmlReport(report), 'partition-heat');
  const cells = findAll(svg, byAttr('data-partition'));
  t.equal(cells.length, report.partitionHeat.length);
  const widths = new Set(cells.map((c) => c.attrs.width));
  t.equal(widths.size, 1, 'cells of equal width');
  t.ok(Number([...widths][0]) >= 3, 'cells no thinner than the minimum');
});

t.test('latency: percentile cells are the input numbers as formatted; one CDF series per sampled op', async (t) => {
  const ops: OpKind[] = ['read', 'update', 'insert', 'scan', 'readModifyWrite'];
  const report = sampleBenchReport({ seed: 5, ops });
  const html = renderHtmlReport(report);
  const rows = bodyRows(tableOf(html, 'latency')!);
  t.equal(rows.length, ops.length, 'one row per op type');
  rows.forEach((row, i) => {
    const summary = report.latency[ops[i]!]!;
    t.equal(row[0], OP_LABELS[ops[i]!]);
    t.equal(row[1], formatCount(summary.count));
    t.equal(row[2], formatLatencyUs(summary.meanUs));
    t.same(row.slice(3), PERCENTILE_COLUMNS.map(([, field]) => formatLatencyUs(summary[field])), `${ops[i]} percentiles`);
  });
  const svg = chart(html, 'latency-cdf');
  const series = findAll(svg, (n) => n.attrs.class === 'series');
  t.same(series.map((s) => s.attrs['data-series']), ops, 'a series per op type, in order');
  for (const s of series) t.equal(Number(s.attrs['data-points']), report.latency[s.attrs['data-series'] as OpKind]!.cdf.length, 'every CDF point drawn');
});

t.test('hot keys: rows in the input order with count, share, error and nodes', async (t) => {
  const report = sampleBenchReport({ seed: 9, hotKeys: 12 });
  const rows = bodyRows(tableOf(renderHtmlReport(report), 'hot-keys')!);
  t.equal(rows.length, report.hotKeys.length);
  rows.forEach((row, i) => {
    const hot = report.hotKeys[i]!;
    t.same(row, [String(i + 1), hot.key, formatCount(hot.count), formatPercent(hot.count / report.run.operations, 2), formatCount(hot.errorMax), hot.nodes.map((n) => `n${n}`).join(' · ')], `row ${i + 1}`);
  });
});

t.test('baselines: every one present; one that did not run shows its note, not a bar', async (t) => {
  const report = sampleBenchReport({ seed: 4 });
  const html = renderHtmlReport(report);
  const svg = chart(html, 'baselines');
  const groups = findAll(svg, (n) => n.attrs.class === 'baseline').sort((a, b) => Number(a.attrs['data-row']) - Number(b.attrs['data-row']));
  t.same(groups.map((g) => g.attrs['data-baseline']), report.baselines.map((b) => b.name), 'a row per baseline');
  const rowYs = groups.map((g) => Number(g.children.find((c) => c.tag === 'text')!.attrs.y));
  t.same(rowYs, [...rowYs].sort((a, b) => a - b), 'rows top to bottom in the input order');
  groups.forEach((group, i) => {
    const baseline = report.baselines[i]!;
    const rects = findAll(group, (n) => n.attrs.class === 'bar');
    if (baseline.ran) {
      t.equal(rects.length, 1, `${baseline.name}: one bar`);
      t.match(textOf(group), formatRatio(baseline.ratioToRingtable), `${baseline.name}: ratio printed`);
    } else {
      t.equal(rects.length, 0, `${baseline.name}: no bar`);
      t.match(textOf(group), baseline.note!, `${baseline.name}: note shown`);
    }
  });
  const ran = report.baselines.filter((b) => b.ran);
  const widths = ran.map((b) => Number(findAll(groups[report.baselines.indexOf(b)]!, (n) => n.attrs.class === 'bar')[0]!.attrs.width));
  ran.forEach((b, i) => t.ok(Math.abs(widths[i]! / b.throughputPerSec - widths[0]! / ran[0]!.throughputPerSec) < 0.01 * (widths[0]! / ran[0]!.throughputPerSec), `${b.name}: bar length in proportion`));
  const rows = bodyRows(tableOf(html, 'baselines')!);
  t.same(rows.map((r) => r[0]), report.baselines.map((b) => b.name));
  rows.forEach((row, i) => {
    const b = report.baselines[i]!;
    t.equal(row[3], b.ran ? formatRate(b.throughputPerSec) : MISSING);
    t.equal(row[4], b.ran ? formatRatio(b.ratioToRingtable) : MISSING);
  });
});

t.test('timeline buckets keep the mean throughput, the errors and the peaks of levels', async (t) => {
  const timeline = sampleBenchReport({ seed: 15, timelinePoints: 10 }).run.timeline;
  const buckets = bucketSamples(timeline, 4);
  t.equal(buckets.length, 3);
  t.equal(buckets[2]!.atMs, timeline[9]!.atMs, 'a bucket ends where its last sample does');
  t.ok(Math.abs(buckets[0]!.opsPerSec - timeline.slice(0, 4).reduce((s, p) => s + p.opsPerSec, 0) / 4) < 1e-9, 'mean throughput');
  t.equal(buckets.reduce((s, b) => s + b.errors, 0), timeline.reduce((s, p) => s + p.errors, 0), 'errors summed');
  t.equal(buckets[1]!.nodesDown, Math.max(...timeline.slice(4, 8).map((p) => p.nodesDown)), 'levels at their highest');
  t.equal(bucketSamples(timeline, 1), timeline, 'one per bucket is the timeline itself');
});

t.test('timeline: a point per sample, fault markers, panels only for what happened', async (t) => {
  const faults = [
    { atMs: 5000, action: 'crash', node: 2 },
    { atMs: 5200, action: 'stop', node: 3 },
    { atMs: 15_000, action: 'restart', node: 2 },
    { atMs: 16_000, action: 'start', node: 3 },
  ];
  const report = sampleBenchReport({ seed: 8, nodes: 5, faults, timelinePoints: 25 });
  const svg = chart(renderHtmlReport(report), 'throughput-timeline');
  const line = findAll(svg, (n) => n.attrs['data-series'] === 'throughput')[0]!;
  t.equal(Number(line.attrs['data-points']), report.run.timeline.length);
  const path = findAll(line, (n) => n.tag === 'path' && n.attrs.fill === 'none')[0]!;
  t.equal(path.attrs.d!.split(/[ML]/).filter((p) => p.trim()).length, report.run.timeline.length, 'the line has a vertex per sample');
  const markers = findAll(svg, (n) => n.attrs.class === 'fault');
  t.same(markers.map((m) => [m.attrs['data-action'], Number(m.attrs['data-node'])]), faults.map((f) => [f.action, f.node]), 'a marker per fault');
  for (const marker of markers) t.match(textOf(marker), `${marker.attrs['data-action']} n${marker.attrs['data-node']}`, 'marker labelled with action and node');
  const labelYs = markers.map((m) => Number(m.children.find((c) => c.tag === 'text')!.attrs.y));
  t.not(labelYs[0], labelYs[1], 'labels of faults 200 ms apart go on different rows');
  const errorBars = findAll(findAll(svg, (n) => n.attrs['data-series'] === 'errors')[0]!, (n) => n.tag === 'rect');
  t.equal(errorBars.length, report.run.timeline.filter((p) => p.errors > 0).length, 'an error column per interval with errors');
  t.ok(findAll(svg, (n) => n.attrs['data-series'] === 'hints-pending').length === 1, 'hints panel when hints were pending');
  t.ok(findAll(svg, (n) => n.attrs['data-series'] === 'nodes-down').length === 1, 'nodes-down panel when nodes were down');

  const calm = sampleBenchReport({ seed: 8, faults: [], errors: false });
  const calmSvg = chart(renderHtmlReport(calm), 'throughput-timeline');
  t.equal(findAll(calmSvg, (n) => n.attrs['data-series'] === 'hints-pending').length, 0, 'no hints panel without hints');
  t.equal(findAll(calmSvg, (n) => n.attrs['data-series'] === 'nodes-down').length, 0, 'no nodes-down panel without faults');
  t.equal(findAll(calmSvg, (n) => n.attrs.class === 'fault').length, 0, 'no fault markers');
});

t.test('errors by code: a row per code, largest first', async (t) => {
  const report = sampleBenchReport({ seed: 6 });
  report.errors.byCode = { ERR_QUORUM: 3, ERR_TIMEOUT: 10, ERR_OVERLOADED: 1 };
  report.errors.total = 14;
  const rows = bodyRows(tableOf(renderHtmlReport(report), 'errors')!);
  t.same(rows.map((r) => r[0]), ['ERR_TIMEOUT', 'ERR_QUORUM', 'ERR_OVERLOADED']);
  t.same(rows.map((r) => r[1]), ['10', '3', '1']);
  t.equal(rows[0]![2], formatPercent(10 / 14));
});

t.test('every string from the report is escaped', async (t) => {
  const report = sampleBenchReport({ seed: 1 });
  report.hotKeys[0]!.key = HOSTILE;
  report.notes.push(HOSTILE, 'a & b "quoted" \'single\'');
  report.command = `ringtable bench --note '${HOSTILE}'`;
  report.workload.name = HOSTILE;
  report.baselines.push({ name: HOSTILE, description: HOSTILE, ran: false, note: HOSTILE, throughputPerSec: 0, ratioToRingtable: 0 });
  report.baselines.push({ name: `"><svg onload=alert(1)>`, description: 'x', ran: true, throughputPerSec: 10, ratioToRingtable: 0.1 });
  report.faults.push({ atMs: 1000, action: HOSTILE, node: 1 });
  report.errors.byCode[HOSTILE] = 1;
  report.machine.cpuModel = HOSTILE;
  report.machine.git = 'abc\u0000\u0007def';
  const html = renderHtmlReport(report);
  checkPage(t, html);
  t.notMatch(html, /<script>alert/, 'no live script tag');
  t.notMatch(html, /<svg onload/, 'no injected element');
  t.match(html, escapeText(HOSTILE), 'hostile text shown escaped');
  t.notMatch(html, /[\u0000-\u0008]/, 'control characters dropped');
  t.equal(bodyRows(tableOf(html, 'hot-keys')!)[0]![1], HOSTILE, 'the key reads back as the same text');
  t.match(textOf(chart(html, 'throughput-timeline')), HOSTILE, 'fault label reads back as text');
});

t.test('degenerate inputs render without NaN or broken SVG', async (t) => {
  const cases: Array<[string, (r: BenchReport) => void]> = [
    ['no timeline points', (r) => (r.run.timeline = [])],
    ['one timeline point', (r) => (r.run.timeline = r.run.timeline.slice(0, 1))],
    ['an op type with no samples', (r) => (r.latency.insert = { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, cdf: [] })],
    ['no latency at all', (r) => (r.latency = {})],
    ['one CDF point', (r) => (r.latency.read!.cdf = [[50, 40]])],
    ['zero throughput', (r) => {
      r.run.throughputPerSec = 0;
      r.run.operations = 0;
      for (const p of r.run.timeline) p.opsPerSec = 0;
      for (const b of r.baselines) b.throughputPerSec = 0;
    }],
    ['no baselines', (r) => (r.baselines = [])],
    ['no nodes', (r) => ((r.nodes = []), (r.imbalance = Number.NaN))],
    ['all nodes idle', (r) => (r.nodes = r.nodes.map((n) => ({ ...n, operations: 0, reads: 0, writes: 0 })))],
    ['no partitions', (r) => ((r.partitionHeat = []), (r.partitionOwners = []))],
    ['all partitions cold', (r) => (r.partitionHeat = r.partitionHeat.map(() => 0))],
    ['owners shorter than heat', (r) => (r.partitionOwners = r.partitionOwners.slice(0, 3))],
    ['no hot keys, errors, faults or notes', (r) => ((r.hotKeys = []), (r.errors = { total: 0, timeouts: 0, byCode: {} }), (r.faults = []), (r.notes = []))],
    ['nulls where JSON had NaN', (r) => {
      const nan = null as unknown as number;
      r.imbalance = nan;
      r.run.throughputPerSec = nan;
      r.run.timeline[0]!.opsPerSec = nan;
      r.nodes[0]!.operations = nan;
      r.partitionHeat[0] = nan;
      r.latency.read!.p99Us = nan;
      r.latency.read!.cdf.push([nan, nan]);
      r.baselines[1]!.ratioToRingtable = nan;
    }],
    ['fault after the last sample and at zero', (r) => (r.faults = [{ atMs: 0, action: 'crash', node: 0 }, { atMs: 10 * r.run.durationMs, action: 'restart', node: 0 }])],
  ];
  for (const [name, mutate] of cases) {
    await t.test(name, async (t) => {
      const report = sampleBenchReport({ seed: 12 });
      mutate(report);
      checkPage(t, renderHtmlReport(report));
    });
  }
  await t.test('one node', async (t) => {
    const report = sampleBenchReport({ seed: 12, nodes: 1, ops: ['read'] });
    const html = renderHtmlReport(report);
    checkPage(t, html);
    t.equal(findAll(chart(html, 'node-load'), (n) => n.attrs.class === 'node-bar').length, 1);
  });
  await t.test('empty charts say why instead of vanishing', async (t) => {
    const report = sampleBenchReport({ seed: 12 });
    report.run.timeline = [];
    report.latency = {};
    const html = renderHtmlReport(report);
    t.equal(chart(html, 'throughput-timeline').attrs['data-empty'], 'true');
    t.equal(chart(html, 'latency-cdf').attrs['data-empty'], 'true');
    t.equal(chart(html, 'node-load').attrs['data-empty'], undefined, 'charts with data are not marked empty');
  });
  await t.test('an op with no samples prints dashes, not zeros', async (t) => {
    const report = sampleBenchReport({ seed: 12, ops: ['read', 'insert'] });
    report.latency.insert = { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0, cdf: [] };
    const html = renderHtmlReport(report);
    const rows = bodyRows(tableOf(html, 'latency')!);
    t.same(rows[1], [OP_LABELS.insert, '0', MISSING, MISSING, MISSING, MISSING, MISSING, MISSING]);
    t.same(findAll(chart(html, 'latency-cdf'), (n) => n.attrs.class === 'series').map((s) => s.attrs['data-series']), ['read'], 'no CDF line for it');
  });
});

t.test('a long run and a large ring render within bounds', async (t) => {
  const report = sampleBenchReport({ seed: 14, nodes: 16, vnodes: 1024, timelinePoints: 86_400, faults: [{ atMs: 3_600_000, action: 'crash', node: 3 }] });
  const html = renderHtmlReport(report);
  checkPage(t, html);
  const timeline = chart(html, 'throughput-timeline');
  const line = findAll(timeline, (n) => n.attrs['data-series'] === 'throughput')[0]!;
  t.equal(Number(line.attrs['data-samples']), 86_400, 'every sample counted');
  const perPoint = Number(line.attrs['data-samples-per-point']);
  t.ok(Number(line.attrs['data-points']) <= 2000 && Number(line.attrs['data-points']) === Math.ceil(86_400 / perPoint), `drawn from buckets of ${perPoint} samples`);
  t.equal(findAll(findAll(timeline, (n) => n.attrs['data-series'] === 'errors')[0]!, (n) => n.tag === 'rect').length, bucketSamples(report.run.timeline, perPoint).filter((b) => b.errors > 0).length, 'an error column per bucket with errors');
  t.match(textOf(timeline), `errors per ${formatDurationMs(perPoint * report.run.intervalMs)}`, 'the errors panel says what a column covers');
  t.equal(findAll(chart(html, 'partition-heat'), byAttr('data-partition')).length, report.partitionHeat.length, 'a cell per partition');
  t.ok(html.length < 16 * 2 ** 20, `page stays under 16 MiB (${(html.length / 2 ** 20).toFixed(1)} MiB)`);
});

t.test('the same seed renders the same page; another seed another', async (t) => {
  t.equal(renderHtmlReport(sampleBenchReport({ seed: 21 })), renderHtmlReport(sampleBenchReport({ seed: 21 })));
  t.not(renderHtmlReport(sampleBenchReport({ seed: 21 })), renderHtmlReport(sampleBenchReport({ seed: 22 })));
});

t.test('scales: ticks cover the domain with nice steps', async (t) => {
  for (const [min, max] of [[0, 1], [0, 7], [0, 48_213], [0, 0.003], [10, 990], [0, 1e9 + 1]] as const) {
    const ticks = niceTicks(min, max, 5);
    t.ok(ticks[0]! <= min && ticks[ticks.length - 1]! >= max, `${min}..${max} covered by ${ticks.join(',')}`);
    const step = ticks[1]! - ticks[0]!;
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    t.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${step} is 1, 2 or 5 × 10^k`);
    t.ok(ticks.length >= 3 && ticks.length <= 12, 'a readable number of ticks');
  }
  const { major, minor } = logTicks(5, 5000);
  t.same(major, [10, 100, 1000], 'decades labelled over three decades');
  t.ok(minor.includes(5) && minor.includes(5000) && !minor.includes(4), 'minor ticks inside the domain');
  t.same(logTicks(20, 800).major, [20, 50, 100, 200, 500], '2 and 5 labelled over two decades');
  for (const [min, max] of [[5, 3340], [50, 50], [1, 1], [0.3, 2e7]] as const) {
    const [lo, hi] = logDomain(min, max);
    t.ok(lo <= min && hi >= max && hi / lo >= 10, `log domain ${lo}..${hi} covers ${min}..${max}`);
  }
  t.equal(percentileToNines(0, 4), 0);
  t.ok(Math.abs(percentileToNines(99, 4) - 2) < 1e-9);
  t.equal(percentileToNines(100, 4), 4, 'p100 at the top');
});

t.test('render-report checks the shape before rendering', async (t) => {
  t.same(reportProblems(JSON.parse(JSON.stringify(sampleBenchReport()))), [], 'a saved sample is accepted');
  t.same(reportProblems(null), ['not a JSON object']);
  const old = { ...sampleBenchReport(), schemaVersion: 2 } as unknown;
  t.match(reportProblems(old).join(), /schemaVersion/);
  const broken = { ...sampleBenchReport(), nodes: undefined } as unknown;
  t.match(reportProblems(broken).join(), /nodes is not an array/);
  const saved = JSON.parse(JSON.stringify({ ...sampleBenchReport(), imbalance: Number.NaN })) as BenchReport;
  checkPage(t, renderHtmlReport(saved));
});
