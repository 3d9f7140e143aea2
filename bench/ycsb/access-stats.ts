/**
 * Where the run's accesses went, computed after the measured phase from the
 * operations it executed (the stream is deterministic, so nothing is counted
 * inside the timed loop): accesses per ring partition (virtual node heat),
 * and the hottest keys by Space-Saving with bounded memory.
 */
import assert from 'node:assert/strict';
import type { HotKey } from './bench-report.js';
import { forEachAccess } from './key-space.js';
import type { OperationStream } from './operation-stream.js';
import { SpaceSaving } from '../../lib/stats/space-saving.js';

/** Counters Space-Saving keeps: its counts are exact for any key with more than total/capacity accesses. */
export const HOT_KEY_CAPACITY = 1000;
export const HOT_KEYS_SHOWN = 20;

export interface AccessStats {
  partitionHeat: number[];
  hotKeys: HotKey[];
  /** Keys touched: one per read, update, insert and read-modify-write, each record of a scan. */
  keyAccesses: number;
}

export interface AccessInput {
  stream: OperationStream;
  operations: number;
  recordCount: number;
  /** Partition of every key number (Store.partitionOf), computed before the run. */
  partitionOfKey: Int32Array;
  partitionCount: number;
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
  return { partitionHeat: heat, hotKeys, keyAccesses };
}
