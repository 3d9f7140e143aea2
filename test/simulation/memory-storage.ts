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
import type { ExpiryCandidate, StorageEngine, StoredEntry, WriteBatch } from '../../lib/storage/storage-engine.js';
import { copyBytes } from '../../lib/transport/wire.js';
import { selectsKey, skipTarget, type PartitionSelection } from '../../lib/ring/partition-selection.js';
import { isWellFormedPartitionedKey } from '../../lib/ring/partitioned-key.js';

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
  /** The hints keyspace, by owner: objects held for a down node (sloppy quorum), apart from the node's own. */
  private readonly hints = new Map<number, Map<string, Uint8Array>>();
  private epoch = 0;
  private readonly terms = new Map<number, number>();
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

  /** Owners this node holds hints for, sorted, and the keys of each (the checkers look for undelivered hints). */
  hintOwners(): number[] {
    return [...this.hints.keys()].filter((owner) => this.hints.get(owner)!.size > 0).sort((a, b) => a - b);
  }

  hintKeys(owner: number): string[] {
    return [...(this.hints.get(owner)?.keys() ?? [])].sort();
  }

  getHint(owner: number, key: Uint8Array): Uint8Array | undefined {
    return this.hints.get(owner)?.get(keyText(key));
  }

  hintsOf(owner: number, afterKey: Uint8Array, limit: number): StoredEntry[] {
    const held = this.hints.get(owner);
    if (held === undefined) return [];
    const after = keyText(afterKey);
    // latin1 text compares char by char, one char per byte: LMDB's byte order.
    return [...held.keys()]
      .filter((text) => afterKey.byteLength === 0 || text > after)
      .sort()
      .slice(0, limit)
      .map((text) => ({ key: Buffer.from(text, 'latin1'), object: copyBytes(held.get(text)!) }));
  }

  hintCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [owner, held] of this.hints) if (held.size > 0) counts.set(owner, held.size);
    return counts;
  }

  /** As LmdbStorage.scan: `next` is the last key examined when cut short by `limit` or `examineMax`; a seek over partitions not wanted counts as one key examined. */
  scan(afterKey: Uint8Array, selection: PartitionSelection, limit: number, examineMax: number): { entries: StoredEntry[]; next: Uint8Array | undefined } {
    const after = keyText(afterKey);
    const keys = [...this.objects.keys()].filter((text) => afterKey.byteLength === 0 || text > after).sort();
    const entries: StoredEntry[] = [];
    let examined = 0;
    for (let at = 0; at < keys.length; ) {
      const text = keys[at]!;
      const key = Buffer.from(text, 'latin1');
      examined++;
      at++;
      if (selectsKey(selection, key)) entries.push({ key, object: copyBytes(this.objects.get(text)!) });
      else if (isWellFormedPartitionedKey(key)) {
        const target = skipTarget(selection, key);
        if (target === undefined) at = keys.length;
        else {
          const bound = keyText(target);
          while (at < keys.length && keys[at]! < bound) at++;
        }
      }
      if (entries.length >= limit || examined >= examineMax) return { entries, next: key };
    }
    return { entries, next: undefined };
  }

  write(apply: (batch: WriteBatch) => void): Promise<void> | undefined {
    // Writes go to an overlay and land together once `apply` returned: a
    // throwing `apply` leaves the committed state untouched, as an aborted
    // LMDB transaction does.
    const puts = new Map<string, Uint8Array | null>();
    const hintPuts = new Map<string, { owner: number; text: string; bytes: Uint8Array | null }>();
    const expiryPuts = new Map<string, ExpiryCandidate | null>();
    let epoch: number | undefined;
    const terms = new Map<number, number>();
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
      putAt: (key, bytes, at, length) => {
        const text = keyText(key);
        const value = copyBytes(bytes, at, at + length);
        if (this.faults.dropPut?.(text, value) === true) return;
        puts.set(text, value);
      },
      remove: (key) => void puts.set(keyText(key), null),
      indexExpiry: (key, expiresAtMs) => {
        const candidate = { key: copyBytes(key), expiresAtMs };
        expiryPuts.set(`${expiresAtMs}:${keyText(key)}`, candidate);
      },
      removeExpiry: (candidate) => void expiryPuts.set(`${candidate.expiresAtMs}:${keyText(candidate.key)}`, null),
      getHint: (owner, key) => {
        const text = keyText(key);
        const pending = hintPuts.get(`${owner}:${text}`);
        if (pending !== undefined) return pending.bytes ?? undefined;
        return this.hints.get(owner)?.get(text);
      },
      putHint: (owner, key, bytes) => {
        const text = keyText(key);
        if (this.faults.dropPut?.(text, bytes) === true) return;
        hintPuts.set(`${owner}:${text}`, { owner, text, bytes: copyBytes(bytes) });
      },
      removeHint: (owner, key) => {
        const text = keyText(key);
        hintPuts.set(`${owner}:${text}`, { owner, text, bytes: null });
      },
      writeEpoch: (value) => {
        assert.ok(Number.isSafeInteger(value) && value >= 0);
        epoch = value;
      },
      writeTerm: (partition, term) => void terms.set(partition, term),
      removeSpace: (space, keysMax) => {
        const [start, end] = spaceRange(space);
        const doomed = [...this.objects.keys()].filter((text) => text >= start && text < end && puts.get(text) !== null);
        for (const text of doomed.slice(0, keysMax)) puts.set(text, null);
        if (doomed.length > keysMax) return true;
        const hinted = [...this.hints].flatMap(([owner, held]) => [...held.keys()].filter((text) => text >= start && text < end).map((text) => ({ owner, text })));
        for (const { owner, text } of hinted.slice(0, keysMax)) hintPuts.set(`${owner}:${text}`, { owner, text, bytes: null });
        return hinted.length > keysMax;
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
    for (const { owner, text, bytes } of hintPuts.values()) {
      let held = this.hints.get(owner);
      if (held === undefined) this.hints.set(owner, (held = new Map()));
      if (bytes === null) held.delete(text);
      else held.set(text, bytes);
    }
    if (epoch !== undefined) this.epoch = epoch;
    for (const [partition, term] of terms) this.terms.set(partition, term);
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

  readTerms(): Map<number, number> {
    return new Map(this.terms);
  }

  /** As LmdbStorage.range: latin1 text order is byte order. */
  range(start: Uint8Array, end: Uint8Array, reverse: boolean, limit: number, bytesMax: number, measure: (object: Uint8Array) => number): { entries: StoredEntry[]; more: boolean } {
    const low = keyText(start);
    const high = keyText(end);
    const keys = [...this.objects.keys()].filter((text) => text >= low && text < high).sort();
    if (reverse) keys.reverse();
    const entries: StoredEntry[] = [];
    let bytes = 0;
    for (const text of keys) {
      const object = this.objects.get(text)!;
      const valueBytes = measure(object);
      if (valueBytes < 0) continue;
      if (entries.length >= limit || (bytes >= bytesMax && entries.length > 0)) return { entries, more: true };
      entries.push({ key: Buffer.from(text, 'latin1'), object: copyBytes(object) });
      bytes += valueBytes;
    }
    return { entries, more: false };
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

/** A space's keys as map text: [0xFF][space u32] up to the next space (ring/partitioned-key.ts). */
function spaceRange(space: number): [string, string] {
  const bound = (value: number) => {
    const bytes = new Uint8Array(5);
    bytes[0] = 0xff;
    new DataView(bytes.buffer).setUint32(1, value);
    return keyText(bytes);
  };
  return [bound(space), space === 0xffff_ffff ? keyText(new Uint8Array(6).fill(0xff)) : bound(space + 1)];
}
