/**
 * `--fault`: node failures scheduled during the measured run, e.g.
 * `crash:2@5s,restart:2@12s`. Actions: crash (terminate abruptly), restart
 * (startNode on its data), stop / start (graceful), pause / resume (the node
 * stops draining and heartbeating). Pure: parsing, and what the timeline says
 * about a crash (the dip and the recovery time).
 */
import type { FaultEvent, TimelinePoint } from './bench-report.js';

export const FAULT_ACTIONS = ['crash', 'restart', 'stop', 'start', 'pause', 'resume'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export interface FaultStep {
  atMs: number;
  action: FaultAction;
  node: number;
}

const STEPS_MAX = 64;

/** Throws Error with a message for the CLI (exit 2) on anything malformed. */
export function parseFaultPlan(text: string, nodes: number): FaultStep[] {
  const steps: FaultStep[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const match = /^([a-z]+):(\d+)@(\d+(?:\.\d+)?)(s|ms)$/.exec(part);
    if (match === null) throw new Error(`--fault: '${part}' is not action:node@time (e.g. crash:2@5s, restart:2@12s, pause:1@1500ms)`);
    const action = match[1] as FaultAction;
    if (!FAULT_ACTIONS.includes(action)) throw new Error(`--fault: unknown action '${match[1]}'; expected ${FAULT_ACTIONS.join(', ')}`);
    const node = Number(match[2]);
    if (node >= nodes) throw new Error(`--fault: node ${node} does not exist (nodes are 0..${nodes - 1})`);
    const atMs = Number(match[3]) * (match[4] === 's' ? 1000 : 1);
    steps.push({ atMs, action, node });
  }
  if (steps.length === 0) throw new Error('--fault: no step given');
  if (steps.length > STEPS_MAX) throw new Error(`--fault: at most ${STEPS_MAX} steps`);
  return steps.sort((a, b) => a.atMs - b.atMs);
}

/** Steps due at `elapsedMs` that have not run yet (`done` steps are skipped). */
export function dueSteps(steps: readonly FaultStep[], elapsedMs: number, done: number): FaultStep[] {
  const due: FaultStep[] = [];
  for (let i = done; i < steps.length && steps[i]!.atMs <= elapsedMs; i++) due.push(steps[i]!);
  return due;
}

export interface CrashImpact {
  node: number;
  crashAtMs: number;
  /** Mean throughput of the intervals before the crash. */
  beforePerSec: number;
  /** Lowest interval throughput from the crash on. */
  lowestPerSec: number;
  /** 1 - lowest/before. */
  dip: number;
  /** From the crash to the end of the first interval back at >= `recoveredShare` of before; undefined if never. */
  recoveryMs: number | undefined;
}

/** What each crash (or stop, or pause) did to throughput, read from the timeline. */
export function crashImpacts(timeline: readonly TimelinePoint[], faults: readonly FaultEvent[], recoveredShare = 0.9): CrashImpact[] {
  const impacts: CrashImpact[] = [];
  for (const fault of faults) {
    if (fault.action !== 'crash' && fault.action !== 'stop' && fault.action !== 'pause') continue;
    const before = timeline.filter((point) => point.atMs <= fault.atMs);
    const after = timeline.filter((point) => point.atMs > fault.atMs);
    if (before.length === 0 || after.length === 0) continue;
    const beforePerSec = before.reduce((sum, point) => sum + point.opsPerSec, 0) / before.length;
    let lowestAt = 0;
    for (let i = 1; i < after.length; i++) if (after[i]!.opsPerSec < after[lowestAt]!.opsPerSec) lowestAt = i;
    const lowestPerSec = after[lowestAt]!.opsPerSec;
    const threshold = recoveredShare * beforePerSec;
    // Recovered: the first interval after the lowest one back at the threshold.
    const back = after.slice(lowestAt).find((point) => point.opsPerSec >= threshold);
    impacts.push({
      node: fault.node,
      crashAtMs: fault.atMs,
      beforePerSec,
      lowestPerSec,
      dip: beforePerSec > 0 ? 1 - lowestPerSec / beforePerSec : 0,
      recoveryMs: lowestPerSec >= threshold ? 0 : back === undefined ? undefined : back.atMs - fault.atMs,
    });
  }
  return impacts;
}
