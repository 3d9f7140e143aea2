/**
 * Where the run's accesses went, computed after the measured phase from the
 * operations it executed (the stream is deterministic, so nothing is counted
 * inside the timed loop): accesses per ring partition (virtual node heat),
 * the hottest keys by Space-Saving with bounded memory, and how unevenly the
 * writes alone load the nodes when each reaches its key's N replicas.
 */
import assert from 'node:assert/strict';
import type { HotKey } from './bench-report.js';
import { forEachAccess } from './key-space.js';
import { OpCode, type OperationStream } from './operation-stream.js';
import { SpaceSaving } from '../../lib/stats/space-saving.js';

/** Counters Space-Saving keeps: its counts are exact for any key with more than total/capacity accesses. */
export const HOT_KEY_CAPACITY = 1000;
export const HOT_KEYS_SHOWN = 20;

export interface AccessStats {
  partitionHeat: number[];
  hotKeys: HotKey[];
  /** Keys touched: one per read, update, insert and read-modify-write, each record of a scan. */
  keyAccesses: number;
  /**
   * max/mean over the nodes of the copies the run's writes (updates, inserts,
   * read-modify-writes) make, each write counted once on every node of its
   * key's preference list (N home replicas): the node load the writes alone
   * set, whatever reads do. With reads served in place (readPath 'direct')
   * the node threads serve nothing else, so this is the floor of the
   * measured imbalance for any design that keeps a key's copies on its
   * preference list (Dynamo §4.5: a write goes to all N). 0 when the run
   * wrote nothing.
   */
  writeCopiesImbalance: number;
}

export interface AccessInput {
  stream: OperationStream;
  operations: number;
  recordCount: number;
  /** Partition of every key number (Store.partitionOf), computed before the run. */
  partitionOfKey: Int32Array;
  partitionCount: number;
  /** Nodes of the store: node ids are 0..nodeCount-1. */
  nodeCount: number;
  names: readonly string[];
  preferenceList: (key: string) => number[];
}

export function accessStats(input: AccessInput): AccessStats {
  const heat = new Array<number>(input.partitionCount).fill(0);
  const sketch = new SpaceSaving(HOT_KEY_CAPACITY);
  const keyAccesses = forEachAccess(input.stream, input.operations, input.recordCount, (keyNumber) => {
    heat[input.partitionOfKey[keyNumber]!]!++;
    sketch.offer(input.names[keyNumber]!);
  });
  assert.equal(heat.reduce((sum, n) => sum + n, 0), keyAccesses, 'every access lands in one partition');
  const hotKeys = sketch.top(HOT_KEYS_SHOWN).map((entry) => ({ key: entry.key, count: entry.count, errorMax: entry.errorMax, nodes: input.preferenceList(entry.key) }));
  return { partitionHeat: heat, hotKeys, keyAccesses, writeCopiesImbalance: writeCopiesImbalance(input) };
}

function writeCopiesImbalance(input: AccessInput): number {
  const copies = new Float64Array(input.nodeCount);
  const { codes, keyNumbers } = input.stream;
  for (let i = 0; i < input.operations; i++) {
    const code = codes[i];
    if (code !== OpCode.UPDATE && code !== OpCode.INSERT && code !== OpCode.READ_MODIFY_WRITE) continue;
    for (const node of input.preferenceList(input.names[keyNumbers[i]!]!)) {
      assert.ok(node >= 0 && node < input.nodeCount, 'a preference list names nodes of the store');
      copies[node]!++;
    }
  }
  let total = 0;
  let max = 0;
  for (const count of copies) {
    total += count;
    if (count > max) max = count;
  }
  return total === 0 ? 0 : max / (total / input.nodeCount);
}
