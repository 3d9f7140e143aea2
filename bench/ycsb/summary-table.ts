/**
 * The terminal summary of a BenchReport: the configuration and machine first
 * (every figure with what produced it), then tables (cli-table3) of
 * latency, nodes, hot keys and baselines.
 */
import Table from 'cli-table3';
import { OP_KINDS, type BenchReport, type OperationMix } from './bench-report.js';

const HOT_KEYS_PRINTED = 10;
const TABLE_STYLE = { head: [] as string[], border: [] as string[], compact: true };

function rate(perSec: number): string {
  if (!Number.isFinite(perSec)) return String(perSec);
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}K`;
  return perSec.toFixed(0);
}

function micros(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e4) return `${(us / 1e3).toFixed(1)} ms`;
  return `${Math.round(us)} us`;
}

function mixText(mix: OperationMix): string {
  return OP_KINDS.filter((kind) => mix[kind] > 0).map((kind) => `${kind} ${mix[kind]}`).join(', ');
}

function table(head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  const t = new Table({ head, style: TABLE_STYLE, colAligns: align ?? head.map((_, i) => (i === 0 ? 'left' : 'right')) });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

export function headerLines(report: BenchReport): string[] {
  const w = report.workload;
  const s = report.store;
  const m = report.machine;
  const skew = w.distribution === 'hotspot' ? `hotspot ${w.hotspotOpFraction} of ops on ${w.hotspotDataFraction} of keys` : w.distribution === 'uniform' ? 'uniform' : `${w.distribution} theta ${w.theta}`;
  const warmup = (w.warmupMs ?? 0) > 0 ? ` after a ${w.warmupMs! / 1000} s unmeasured warm-up` : '';
  const limit = (w.durationMs > 0 ? `${w.operationCount} operations or ${w.durationMs / 1000} s` : `${w.operationCount} operations`) + warmup;
  const share = w.targetPercentOfPeak === undefined ? '' : ` = ${w.targetPercentOfPeak}% of the peak ${report.peak === undefined ? '(not measured)' : `${rate(report.peak.throughputPerSec)} ops/s`}`;
  const pace = w.targetPerSec > 0 ? `target ${w.targetPerSec} ops/s${share} (latency from intended start)` : 'unthrottled';
  return [
    `command:   ${report.command}`,
    `workload:  YCSB ${w.name === 'custom' ? 'custom mix' : w.name.toUpperCase()} (${mixText(w.mix)}), ${skew}; ${w.recordCount} records x ${w.valueBytes} B; ${limit}; ${w.concurrency} in flight, ${pace}; seed ${w.seed}${report.keyForm === undefined ? '' : `; keys as ${report.keyForm}`}`,
    `store:     ${s.nodes} nodes x ${s.vnodes} vnodes, N=${s.n} R=${s.r} W=${s.w}, durability ${s.durability}, conflicts ${s.conflicts}, transport ${s.transport}${s.readPath === undefined ? '' : `, reads ${s.readPath}`}${s.readBalance === undefined ? '' : ` ${s.readBalance}`}${s.hotKeyCacheEntries === undefined ? '' : `, hot-key cache ${s.hotKeyCacheEntries}`}${s.nodeThreadNice === undefined ? '' : `, node threads at nice +${s.nodeThreadNice}`}`,
    `machine:   ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, ${m.platform}; ringtable ${m.packageVersion} (git ${m.git}); load average ${m.loadAverageAtStart} at start, ${m.loadAverageAtEnd} at end`,
  ];
}

export function formatSummary(report: BenchReport): string {
  const out: string[] = ['', '=== ringtable bench ===', ...headerLines(report), ''];
  const run = report.run;
  out.push(`load:       ${report.load.records} records in ${(report.load.durationMs / 1000).toFixed(2)} s (${rate(report.load.throughputPerSec)} records/s)`);
  if (report.peak !== undefined) out.push(`peak:       ${report.peak.operations} operations in ${(report.peak.durationMs / 1000).toFixed(2)} s unthrottled: ${rate(report.peak.throughputPerSec)} ops/s; the run's target ${report.workload.targetPercentOfPeak}% of it: ${rate(report.workload.targetPerSec)} ops/s`);
  out.push(`run:        ${run.operations} operations in ${(run.durationMs / 1000).toFixed(2)} s: ${rate(run.throughputPerSec)} ops/s`);
  const e = report.errors;
  const codes = Object.entries(e.byCode).map(([code, count]) => `${code} ${count}`).join(', ');
  out.push(`errors:     ${e.total} (timeouts ${e.timeouts})${codes.length > 0 ? `: ${codes}` : ''}`);
  const rates = run.timeline.map((point) => rate(point.opsPerSec));
  out.push(`per ${run.intervalMs / 1000} s:    ${rates.join(' ')}`);

  out.push('', 'latency per operation type (HdrHistogram):');
  out.push(table(['op', 'count', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'], OP_KINDS.filter((kind) => report.latency[kind] !== undefined).map((kind) => {
    const l = report.latency[kind]!;
    return [kind, l.count, micros(l.meanUs), micros(l.p50Us), micros(l.p90Us), micros(l.p99Us), micros(l.p999Us), micros(l.maxUs)];
  })));

  const total = report.nodes.reduce((sum, node) => sum + node.operations, 0);
  const writesAlone = (report.writeCopiesImbalance ?? 0) > 0 ? ` (the writes alone, each on its key's ${report.store.n} home replicas: ${report.writeCopiesImbalance!.toFixed(3)}; reads served in place are not counted)` : '';
  out.push('', `requests served per node in the run (reads + writes + replications); imbalance max/mean = ${report.imbalance.toFixed(3)}${writesAlone}:`);
  out.push(table(['node', 'requests', 'reads', 'writes', 'share'], report.nodes.map((node) => [node.id, node.operations, node.reads, node.writes, total > 0 ? `${((100 * node.operations) / total).toFixed(1)}%` : '-'])));

  const heat = report.partitionHeat;
  if (heat.length > 0) {
    const accesses = heat.reduce((sum, n) => sum + n, 0);
    const hottest = Math.max(...heat);
    out.push('', `partition heat: ${heat.length} partitions, ${accesses} key accesses; hottest partition ${heat.indexOf(hottest)} (node ${report.partitionOwners[heat.indexOf(hottest)]}) took ${hottest} = ${((hottest * heat.length) / Math.max(1, accesses)).toFixed(2)}x the mean`);
  }

  if (report.hotKeys.length > 0) {
    out.push('', `hottest keys (Space-Saving estimates, top ${Math.min(HOT_KEYS_PRINTED, report.hotKeys.length)} of ${report.hotKeys.length} kept):`);
    out.push(table(['key', 'accesses', '+/-', 'share', 'nodes (primary first)'], report.hotKeys.slice(0, HOT_KEYS_PRINTED).map((hot) => [hot.key, hot.count, hot.errorMax, `${((100 * hot.count) / Math.max(1, report.run.keyAccesses ?? report.run.operations)).toFixed(2)}%`, hot.nodes.join(' ')]), ['left', 'right', 'right', 'right', 'left']));
  }

  if (report.baselines.length > 0) {
    const rounds = report.baselines[0]?.ratioPerRound?.length ?? 1;
    out.push('', rounds > 1 ? `baselines (same records, same operation stream, in this process; ${rounds} rounds of ringtable then each baseline, interleaved; ops/s, p50 and p99 of round 1):` : 'baselines (same records, same operation stream, one after another in this process):');
    const headers = ['name', 'ops/s', 'x ringtable', 'p50', 'p99', ...(rounds > 1 ? ['median x (per round)'] : [])];
    out.push(table(headers, report.baselines.map((b) => {
      const perRound = rounds > 1 ? [b.ratioPerRound === undefined ? '-' : `${b.medianRatioToRingtable!.toFixed(2)}x (${b.ratioPerRound.map((ratio) => ratio.toFixed(2)).join(' ')})`] : [];
      if (!b.ran) return [b.name, 'not run', '-', '-', '-', ...perRound];
      const ops = Object.values(b.latency ?? {});
      const worst = (pick: (l: (typeof ops)[number]) => number) => (ops.length > 0 ? micros(Math.max(...ops.map(pick))) : '-');
      return [b.name, rate(b.throughputPerSec), `${b.ratioToRingtable.toFixed(2)}x`, worst((l) => l.p50Us), worst((l) => l.p99Us), ...perRound];
    })));
    out.push('  (p50 and p99 are the slowest operation type\'s)');
  }

  if (report.notes.length > 0) out.push('', ...report.notes.map((note) => `note: ${note}`));
  return out.join('\n');
}
