/**
 * What each storage node served during the measured phase: the difference of
 * two snapshots of its counters, and how uneven that is (max/mean, the
 * figure the Dynamo and "Small Cache, Big Effect" skew discussions use).
 */
import assert from 'node:assert/strict';
import type { NodeStats } from '../../lib/index.js';
import type { NodeLoad } from './bench-report.js';

export function nodeLoads(before: readonly NodeStats[], after: readonly NodeStats[]): NodeLoad[] {
  assert.equal(before.length, after.length, 'snapshots of the same nodes');
  return after.map((end, i) => {
    const start = before[i]!;
    assert.equal(start.id, end.id, 'snapshots list nodes in the same order');
    const reads = end.gets - start.gets;
    const writes = end.puts - start.puts + (end.replicates - start.replicates);
    assert.ok(reads >= 0 && writes >= 0, 'node counters only grow');
    return { id: end.id, operations: reads + writes, reads, writes };
  });
}

/** max/mean of the nodes' operations; 1 when nothing was served (no imbalance to speak of). */
export function imbalanceOf(loads: readonly NodeLoad[]): number {
  if (loads.length === 0) return 1;
  const total = loads.reduce((sum, load) => sum + load.operations, 0);
  if (total === 0) return 1;
  const max = Math.max(...loads.map((load) => load.operations));
  return max / (total / loads.length);
}
