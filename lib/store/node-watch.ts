/**
 * The Store's watch over its node threads: the failure detector
 * (failure-detector.ts) and the handoff pacer, on one timer of the Node host.
 */
import { NodeStat } from '../node/replica.js';
import { FailureDetector } from './failure-detector.js';
import type { TimerHandle } from './coordinator-host.js';
import type { NodeHost } from './node-host.js';

/**
 * A node is down when its worker exited, or when its heartbeat
 * (stats[HEARTBEAT_MS], one store per turn of its loop, and at least every
 * 100 ms while idle) has not changed for failureTimeoutMs. So a failure is
 * detected within failureTimeoutMs + one check interval (failureTimeoutMs /
 * 4, at most 100 ms): documented in the README. A node marked down by its
 * heartbeat alone comes back up when the heartbeat resumes; one that exited,
 * crashed or was stopped needs startNode. Returns the timer (NodeHost.clearRepeat).
 */
export function watchNodes(host: NodeHost, failureTimeoutMs: number, nodeIds: () => readonly number[], markDown: (id: number, reason: string) => void, tick: () => void): TimerHandle {
  const intervalMs = Math.max(10, Math.min(100, Math.floor(failureTimeoutMs / 4)));
  const detector = new FailureDetector(failureTimeoutMs, intervalMs);
  return host.repeat(intervalMs, () => {
    const nowMs = host.monotonicMs();
    const judging = detector.beginRound(nowMs);
    for (const id of nodeIds()) {
      const link = host.links[id];
      if (link === undefined) continue;
      const reason = host.downReasons[id];
      if (link.failed !== undefined) {
        if (reason === undefined) markDown(id, link.failed.message);
        detector.forget(id);
        continue;
      }
      const heartbeat = detector.observe(id, link.stats[NodeStat.HEARTBEAT_MS]!, nowMs);
      if (heartbeat === 'silent' && judging && reason === undefined) markDown(id, `no heartbeat for ${failureTimeoutMs} ms`);
      else if (heartbeat === 'beating' && reason !== undefined && reason.startsWith('no heartbeat')) host.downReasons[id] = undefined;
    }
    tick();
  });
}
