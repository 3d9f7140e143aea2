/**
 * An in-memory implementation of the tables layer's engine contract
 * (lib/tables/table-engine.ts, DESIGN.md §5), for testing the Database
 * shell without storage nodes: one sorted key space, versions from a
 * counter, compare-and-set checked at write time, ring partitions as equal
 * token ranges. It enforces the contract's preconditions (a range within one
 * ring partition, limits) so the shell's use of them is checked too.
 */
import { Buffer } from 'node:buffer';
import { isWellFormedPartitionedKey, splitPartitionedKey, tokenOf } from '../../lib/ring/partitioned-key.js';
import type { OrderedValue, OrderedWrite, RangePage, RangeRequest, TableEngine, TokenRange } from '../../lib/tables/table-engine.js';
import { RANGE_LIMIT_MAX, TOKEN_SPACE } from '../../lib/tables/table-engine.js';

interface Entry {
  key: Uint8Array;
  value: unknown;
  version: string;
}

export class MemoryTableEngine implements TableEngine {
  private readonly entries = new Map<string, Entry>();
  private sorted: string[] | undefined;
  private sequence = 0;
  readonly partitions: TokenRange[];
  /** Awaited before each write's compare-and-set: lets a test interleave concurrent writers. */
  writeDelay: () => Promise<void> = async () => {};
  rangeCalls = 0;
  closed = false;

  constructor(partitionCount = 8) {
    this.partitions = Array.from({ length: partitionCount }, (_, partition) => ({
      partition,
      tokenStart: Math.floor((partition * TOKEN_SPACE) / partitionCount),
      tokenEnd: Math.floor(((partition + 1) * TOKEN_SPACE) / partitionCount),
    }));
  }

  private static id(key: Uint8Array): string {
    return Buffer.from(key).toString('hex');
  }

  async getOrdered(key: Uint8Array): Promise<OrderedValue | undefined> {
    const entry = this.entries.get(MemoryTableEngine.id(key));
    return entry === undefined ? undefined : { value: structuredClone(entry.value), version: entry.version, replica: 0 };
  }

  async writeOrdered(write: OrderedWrite): Promise<{ version: string }> {
    // The tables layer only writes partitioned (binary) keys.
    if (!(write.key instanceof Uint8Array) || !isWellFormedPartitionedKey(write.key) || write.key.byteLength > 1970) throw new Error('malformed table key');
    const key = write.key;
    await this.writeDelay();
    const id = MemoryTableEngine.id(key);
    const current = this.entries.get(id);
    if (write.expect !== undefined && write.expect !== (current?.version ?? 'absent')) {
      throw Object.assign(new Error('compare-and-set failed'), { code: 'ERR_CONFLICT', details: { current: current?.version ?? 'absent' } });
    }
    const version = `v${++this.sequence}`;
    if (write.value === undefined) this.entries.delete(id);
    else this.entries.set(id, { key: Uint8Array.from(key), value: structuredClone(write.value), version });
    // A multi-key write: the other keys at once (the engine's `also`), a log key suffixed with the version's number.
    for (const also of write.also ?? []) {
      let alsoKey = Uint8Array.from(also.key);
      if (also.appendVersion === true) {
        alsoKey = new Uint8Array(also.key.byteLength + 8);
        alsoKey.set(also.key, 0);
        new DataView(alsoKey.buffer).setBigUint64(also.key.byteLength, BigInt(this.sequence));
      }
      const alsoId = MemoryTableEngine.id(alsoKey);
      if (also.value === undefined) this.entries.delete(alsoId);
      else this.entries.set(alsoId, { key: alsoKey, value: structuredClone(also.value), version });
    }
    this.sorted = undefined;
    return { version };
  }

  private keysInOrder(): string[] {
    // Hex of bytes sorts as the bytes do.
    this.sorted ??= [...this.entries.keys()].sort();
    return this.sorted;
  }

  async range(request: RangeRequest): Promise<RangePage> {
    this.rangeCalls += 1;
    const limit = request.limit ?? 1000;
    if (limit < 1 || limit > RANGE_LIMIT_MAX) throw new Error('range limit out of bounds');
    if (request.start.byteLength < 9) throw new Error('range start must include the token');
    const partitionOf = (token: number) => this.partitions.find((p) => token >= p.tokenStart && token < p.tokenEnd)!.partition;
    const startPartition = partitionOf(tokenOf(request.start));
    const lastKey = request.end;
    // The end is exclusive: its token may be the next partition's first only when nothing of that partition is included.
    const endToken = lastKey.byteLength >= 9 && lastKey[0] === 0xff && splitSpace(lastKey) === splitSpace(request.start) ? tokenOf(lastKey) : undefined;
    if (endToken !== undefined && partitionOf(endToken) !== startPartition && !isPartitionBound(lastKey, this.partitions)) {
      throw new Error('a range must lie within one ring partition');
    }
    const start = MemoryTableEngine.id(request.start);
    const end = MemoryTableEngine.id(request.end);
    const inRange = this.keysInOrder().filter((id) => id >= start && id < end);
    if (request.reverse) inRange.reverse();
    const bytesMax = request.bytesMax ?? 1024 * 1024;
    const entries: RangePage['entries'] = [];
    let bytes = 0;
    for (const id of inRange) {
      if (entries.length >= limit || (entries.length > 0 && bytes >= bytesMax)) break;
      const entry = this.entries.get(id)!;
      const valueBytes = JSON.stringify(entry.value, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)).length;
      bytes += valueBytes;
      entries.push({ key: Uint8Array.from(entry.key), value: structuredClone(entry.value), version: entry.version, valueBytes });
    }
    return { entries, more: entries.length < inRange.length, replica: 0 };
  }

  tokenRanges(): TokenRange[] {
    return this.partitions.map((p) => ({ ...p }));
  }

  async dropSpace(space: number): Promise<void> {
    for (const [id, entry] of this.entries) if (splitPartitionedKey(entry.key).space === space) this.entries.delete(id);
    this.sorted = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Every key, for tests that look at the engine's contents. */
  keys(): Uint8Array[] {
    return this.keysInOrder().map((id) => this.entries.get(id)!.key);
  }
}

function splitSpace(key: Uint8Array): number {
  return ((key[1]! << 24) | (key[2]! << 16) | (key[3]! << 8) | key[4]!) >>> 0;
}

/** [0xFF][space][token] exactly at a partition's first token: an exclusive bound at the next partition. */
function isPartitionBound(key: Uint8Array, partitions: readonly TokenRange[]): boolean {
  return key.byteLength === 9 && partitions.some((p) => p.tokenStart === tokenOf(key));
}
