/**
 * The report's header: what ran (workload, mix, distribution), on what
 * (store shape, machine), how it was started (command line), and the
 * headline figures. Everything a reader needs to judge the charts below.
 */
import { type BenchReport, OP_KINDS, type WorkloadConfig } from '../ycsb/bench-report.js';
import { formatCount, formatDurationMs, formatPercent, formatRate, formatShare, formatRatio, isFiniteNumber } from './format.js';
import { facts, markup, tag } from './html.js';
import { OP_LABELS } from './palette.js';

export function workloadTitle(workload: WorkloadConfig): string {
  return /^[a-f]$/i.test(workload.name) ? `YCSB workload ${workload.name.toUpperCase()}` : `workload ${workload.name}`;
}

/** "read 50% · update 50%": the non-zero shares, in YCSB's order. */
export function describeMix(workload: WorkloadConfig): string {
  const parts = OP_KINDS.filter((op) => isFiniteNumber(workload.mix?.[op]) && workload.mix[op] > 0).map((op) => `${OP_LABELS[op]} ${formatShare(workload.mix[op])}`);
  return parts.length > 0 ? parts.join(' · ') : 'no operations';
}

/** The key distribution with the parameters that shape it. */
export function describeDistribution(workload: WorkloadConfig): string {
  switch (workload.distribution) {
    case 'zipfian':
    case 'scrambled-zipfian':
    case 'latest':
      return `${workload.distribution} (θ = ${workload.theta})`;
    case 'hotspot':
      return `hotspot (${formatShare(workload.hotspotOpFraction)} of operations on ${formatShare(workload.hotspotDataFraction)} of keys)`;
    default:
      return String(workload.distribution);
  }
}

/** The run's pace; with `--target P%`, the measured peak it was derived from too. */
function describeTarget(report: BenchReport): string {
  const { workload, peak } = report;
  if (!(workload.targetPerSec > 0)) return 'as fast as possible';
  const corrected = `${formatRate(workload.targetPerSec)} (latency corrected for coordinated omission)`;
  if (workload.targetPercentOfPeak === undefined || peak === undefined) return corrected;
  return `${corrected}: ${workload.targetPercentOfPeak}% of the peak, ${formatRate(peak.throughputPerSec)} in an unthrottled pass of ${formatDurationMs(peak.durationMs)} before the run`;
}

function headline(name: string, value: string, detail: string): string {
  return tag('div', { class: 'figure', 'data-figure': name }, markup(tag('div', { class: 'figure-value' }, value)), markup(tag('div', { class: 'figure-name' }, detail)));
}

export function summarySection(report: BenchReport): string {
  const { workload, store, machine, run, errors } = report;
  const errorShare = run.operations > 0 ? ` · ${formatPercent(errors.total / run.operations, 3)} of operations` : '';
  const figures = tag(
    'div',
    { class: 'figures' },
    markup(headline('throughput', formatRate(run.throughputPerSec), 'throughput, measured phase')),
    markup(headline('operations', formatCount(run.operations), `operations in ${formatDurationMs(run.durationMs)}`)),
    markup(headline('errors', formatCount(errors.total), `errors (${formatCount(errors.timeouts)} timeouts)${errorShare}`)),
    markup(headline('imbalance', formatRatio(report.imbalance), 'node load max / mean')),
    markup(headline('load', formatRate(report.load.throughputPerSec), `loading ${formatCount(report.load.records)} records in ${formatDurationMs(report.load.durationMs)}`)),
  );
  const workloadFacts = facts([
    ['workload', workloadTitle(workload)],
    ['mix', describeMix(workload)],
    ['distribution', describeDistribution(workload)],
    ['records', `${formatCount(workload.recordCount)} × ${formatCount(workload.valueBytes)} B`],
    ['scan length', `1..${formatCount(workload.scanLengthMax)}`],
    ['stop after', `${formatCount(workload.operationCount)} operations${workload.durationMs > 0 ? ` or ${formatDurationMs(workload.durationMs)}` : ''}`],
    ['concurrency', formatCount(workload.concurrency)],
    ['target', describeTarget(report)],
    ['seed', String(workload.seed)],
  ]);
  const storeFacts = facts([
    ['nodes', `${formatCount(store.nodes)} × ${formatCount(store.vnodes)} vnodes`],
    ['N / R / W', `${store.n} / ${store.r} / ${store.w}`],
    ['durability', store.durability],
    ['conflicts', store.conflicts],
    ['transport', store.transport],
  ]);
  const machineFacts = facts([
    ['cpu', `${formatCount(machine.cpus)} × ${machine.cpuModel}`],
    ['memory', `${machine.memoryGiB} GiB`],
    ['node', machine.node],
    ['platform', machine.platform],
    ['ringtable', `${machine.packageVersion} (git ${machine.git})`],
    ['load average', `${machine.loadAverageAtStart} at start, ${machine.loadAverageAtEnd} at end`],
    ['started', machine.startedAt],
  ]);
  const group = (heading: string, body: string) => tag('div', { class: 'fact-group' }, markup(tag('h3', {}, heading)), markup(body));
  return tag(
    'section',
    { id: 'summary', class: 'summary', 'aria-label': 'summary' },
    markup(tag('h1', {}, `ringtable bench · ${workloadTitle(workload)}`)),
    markup(tag('p', { class: 'subtitle' }, `${describeMix(workload)} · ${describeDistribution(workload)} · ${formatCount(store.nodes)} nodes, N=${store.n} R=${store.r} W=${store.w}`)),
    markup(figures),
    markup(tag('div', { class: 'fact-groups' }, markup(group('Workload', workloadFacts)), markup(group('Store', storeFacts)), markup(group('Machine', machineFacts)))),
    markup(tag('div', { class: 'command' }, markup(tag('h3', {}, 'Command')), markup(tag('pre', {}, markup(tag('code', { 'data-command': '' }, report.command)))))),
  );
}
