/**
 * An in-memory StorageEngine for the simulation (storage-engine.ts names it).
 * What it promises mirrors LMDB under the node: a write transaction is all or
 * nothing, and once `write` returns the batch is committed, so it survives a
 * crash of the node. What a crash loses is the work the node had not yet
 * committed (the Replica's queued group-commit batch); the simulated node
 * (sim-node.ts) only answers writes once their commit ran, as the real node does.
 *
 * Key order is insertion order (a Map), not LMDB's byte order: nothing in the
 * Replica depends on it, and iteration for handoff and repair is sorted by the
 * callers that need a stable order.
 */
import assert from 'node:assert/strict';
import type { ExpiryCandidate, StorageEngine, WriteBatch } from '../../lib/storage/storage-engine.js';
import { copyBytes } from '../../lib/transport/wire.js';

/** Bug injection for the checker tests: a storage engine that is wrong on purpose. */
export interface StorageFaults {
  /** Return true to make `batch.put(key, bytes)` silently do nothing. */
  dropPut?: (key: string, bytes: Uint8Array) => boolean;
}

/** Map keys: the key's bytes as a latin1 string, one char per byte, so distinct bytes stay distinct. */
export function keyText(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export class MemoryStorage implements StorageEngine {
  private readonly objects = new Map<string, Uint8Array>();
  private readonly expiries = new Map<string, ExpiryCandidate>();
  private epoch = 0;
  private readonly faults: StorageFaults;
  /** Transactions committed: with writeCount, what the trace reports. */
  commits = 0;

  constructor(faults: StorageFaults = {}) {
    this.faults = faults;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.objects.get(keyText(key));
  }

  /** The stored bytes of a key given as its map text (handoff and repair read a node's store this way). */
  getText(key: string): Uint8Array | undefined {
    return this.objects.get(key);
  }

  /** Every stored key, as map text, sorted so callers iterate in a seed-independent order. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  write(apply: (batch: WriteBatch) => void): Promise<void> | undefined {
    // Writes go to an overlay and land together once `apply` returned: a
    // throwing `apply` leaves the committed state untouched, as an aborted
    // LMDB transaction does.
    const puts = new Map<string, Uint8Array | null>();
    const expiryPuts = new Map<string, ExpiryCandidate | null>();
    let epoch: number | undefined;
    const batch: WriteBatch = {
      get: (key) => {
        const text = keyText(key);
        const pending = puts.get(text);
        if (pending !== undefined) return pending ?? undefined;
        return this.objects.get(text);
      },
      put: (key, bytes) => {
        const text = keyText(key);
        if (this.faults.dropPut?.(text, bytes) === true) return;
        // The Replica may hand a transient buffer (encodeObjectTransient): own a copy.
        puts.set(text, copyBytes(bytes));
      },
      remove: (key) => void puts.set(keyText(key), null),
      indexExpiry: (key, expiresAtMs) => {
        const candidate = { key: copyBytes(key), expiresAtMs };
        expiryPuts.set(`${expiresAtMs}:${keyText(key)}`, candidate);
      },
      removeExpiry: (candidate) => void expiryPuts.set(`${candidate.expiresAtMs}:${keyText(candidate.key)}`, null),
      writeEpoch: (value) => {
        assert.ok(Number.isSafeInteger(value) && value >= 0);
        epoch = value;
      },
    };
    apply(batch);
    for (const [text, bytes] of puts) {
      if (bytes === null) this.objects.delete(text);
      else this.objects.set(text, bytes);
    }
    for (const [text, candidate] of expiryPuts) {
      if (candidate === null) this.expiries.delete(text);
      else this.expiries.set(text, candidate);
    }
    if (epoch !== undefined) this.epoch = epoch;
    this.commits++;
    return undefined;
  }

  dueExpiries(nowMs: number, limit: number): ExpiryCandidate[] {
    return [...this.expiries.values()]
      .filter((candidate) => candidate.expiresAtMs <= nowMs)
      .sort((a, b) => a.expiresAtMs - b.expiresAtMs)
      .slice(0, limit);
  }

  readEpoch(): number {
    return this.epoch;
  }

  counts(): { keys: number; bytes: number } {
    let bytes = 0;
    for (const value of this.objects.values()) bytes += value.byteLength;
    return { keys: this.objects.size, bytes };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
