/**
 * The records a run touches: the YCSB key of every key number that the load
 * or the operation stream can reach, and a pool of seeded values. Keys are
 * computed once, outside the timed loop; values come from a fixed pool so a
 * million records do not cost a million buffers (style rule 7: a bound).
 */
import assert from 'node:assert/strict';
import { Prng, deriveSeed } from '../../lib/prng.js';
import { keyName } from './key-name.js';
import type { KeyForm } from './bench-report.js';
import { OpCode, type OperationStream } from './operation-stream.js';

/** Distinct values in the pool: enough that neighbouring records differ, small enough to stay in cache. */
export const VALUE_POOL_SIZE = 1024;
/** deriveSeed stream numbers of the bench (the workload generator uses its own). */
const VALUES_STREAM = 101;

/** The records a scan starting at `start` reads: [start, end), at most `length` and never past what was inserted. */
export function scanEnd(start: number, length: number, insertedCount: number): number {
  return Math.max(start, Math.min(start + length, insertedCount));
}

/**
 * Walk the key numbers that operations [0, operations) touch, in stream
 * order: one per read, update, insert and read-modify-write, and every record
 * of a scan's range. Inserts are counted as they come, so a scan is clipped to
 * the records inserted before it, as the run did.
 */
export function forEachAccess(stream: OperationStream, operations: number, recordCount: number, visit: (keyNumber: number) => void): number {
  let inserted = recordCount;
  let accesses = 0;
  for (let i = 0; i < operations; i++) {
    const code = stream.codes[i]!;
    const keyNumber = stream.keyNumbers[i]!;
    if (code === OpCode.SCAN) {
      const end = scanEnd(keyNumber, stream.scanLengths[i]!, inserted);
      for (let k = keyNumber; k < end; k++) visit(k);
      accesses += end - keyNumber;
    } else {
      if (code === OpCode.INSERT) inserted++;
      visit(keyNumber);
      accesses++;
    }
  }
  return accesses;
}

export class KeySpace {
  /** keyName(k) for every reachable key number k. */
  readonly names: string[];
  readonly recordCount: number;
  readonly valueBytes: number;
  readonly keyForm: KeyForm;
  private readonly values: Uint8Array[];
  /** UTF-8 bytes of every name, made on first use and shared by every target that reads them. */
  private encodedNames: Buffer[] | undefined;

  constructor(keyCount: number, recordCount: number, valueBytes: number, seed: number, keyForm: KeyForm = 'strings') {
    assert.ok(Number.isSafeInteger(keyCount) && keyCount >= recordCount, 'every record has a key');
    this.recordCount = recordCount;
    this.valueBytes = valueBytes;
    this.keyForm = keyForm;
    this.names = new Array<string>(keyCount);
    for (let k = 0; k < keyCount; k++) this.names[k] = keyName(k);
    const prng = new Prng(deriveSeed(seed, VALUES_STREAM));
    const pool = prng.fill(new Uint8Array(VALUE_POOL_SIZE * valueBytes));
    this.values = Array.from({ length: VALUE_POOL_SIZE }, (_, i) => pool.subarray(i * valueBytes, (i + 1) * valueBytes));
  }

  /** The UTF-8 bytes of every key name, index = key number (made once, outside the timed loops). */
  bytes(): readonly Buffer[] {
    this.encodedNames ??= this.names.map((name) => Buffer.from(name, 'utf8'));
    return this.encodedNames;
  }

  /** What a target that takes either form is given for each key number, by `keyForm`. */
  keysInForm(): readonly (string | Buffer)[] {
    return this.keyForm === 'bytes' ? this.bytes() : this.names;
  }

  /** The value loaded for record `keyNumber`. */
  loadValue(keyNumber: number): Uint8Array {
    return this.values[keyNumber % VALUE_POOL_SIZE]!;
  }

  /** The value written by operation `index` (a different one than the loaded value, most of the time). */
  writeValue(index: number): Uint8Array {
    return this.values[(index * 7 + 3) % VALUE_POOL_SIZE]!;
  }
}
