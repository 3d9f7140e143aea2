/**
 * What happened in one run, as the checkers see it: every client invocation
 * with its outcome (the history a linearizability checker would read), and
 * the oracle's record of which writes took effect where. A write "took
 * effect" when a node coordinated it: the tap on the node's answers
 * (sim-node.ts) sees the resulting object even when the network then loses
 * the answer, so writes that failed for the client but landed are known too.
 *
 * A putMany item's version is stored only by REPLICATE: its node mints it
 * by MINT_ONLY and answers before storing anything (wire.ts RequestFlag.
 * MINT_ONLY), or in 'lww' the coordinator mints it (writer-version.ts). Such
 * a mint took effect once a node stored it: the tap on REPLICATE answers
 * (given after their commit) learns it then. A mint no node stored (its
 * batch retried the item elsewhere, or every REPLICATE was lost) took no effect.
 */
import { type CausalContext, type VersionedObject, join } from '../../lib/version/dotted-version-vector.js';
import { decodeObject } from '../../lib/version/object-codec.js';

export type Dot = readonly [actor: number, counter: number];

export interface Effect {
  atMs: number;
  node: number;
  object: VersionedObject;
  /** The dot the coordinator gave the write; undefined if its value lost last-writer-wins at once. */
  dot: Dot | undefined;
  /**
   * What the write superseded: the client's context, or for a blind write
   * what the coordinator held (its resulting clock less the new dot), since
   * a blind write overwrites exactly that (replica.ts coordinate).
   */
  supersedes: CausalContext;
}

export interface WriteRecord {
  id: number;
  client: number;
  key: string;
  /** Unique per write (deletes carry one too), so a stored sibling names its write. */
  value: string;
  valueBytes: Uint8Array;
  tombstone: boolean;
  blind: boolean;
  context: CausalContext | undefined;
  w: number;
  /** The putMany call it was an item of (Run's count of batches), or -1 for a put or delete. */
  batch: number;
  timestampMs: number;
  invokedMs: number;
  completedMs: number;
  outcome: 'pending' | 'ok' | 'error';
  error: string | undefined;
  /**
   * Every coordination of the write: usually one; two when the store retried
   * it after its first coordinator failed (store.ts startPut), which may have
   * committed it all the same (the version then shows as two siblings).
   */
  effects: Effect[];
  /**
   * The dot of the version the client was acknowledged with. Only that one
   * must stay visible: a dot from a coordination the client never heard of
   * (a retried put's first try) is like an unacknowledged write.
   */
  ackedDot: Dot | undefined;
  /** Earliest time some write that took effect superseded this one (Infinity: never). */
  supersededAtMs: number;
}

export interface ReadRecord {
  id: number;
  client: number;
  key: string;
  r: number;
  invokedMs: number;
  completedMs: number;
  outcome: 'pending' | 'ok' | 'error';
  /** Live sibling values returned (write values), empty when not found. */
  values: string[];
  /** Issued after healing and repair, to check the converged state through the read path. */
  final: boolean;
}

export class History {
  readonly writes: WriteRecord[] = [];
  readonly reads: ReadRecord[] = [];
  private readonly writesByValue = new Map<string, WriteRecord>();
  private readonly writesByBytes = new Map<string, WriteRecord>();
  /** Coordinator request id of a PUT -> its write. */
  private readonly putRequests = new Map<number, WriteRecord>();
  /** Keys putMany wrote: their REPLICATEs may store a putMany item's mint. */
  private readonly batchKeys = new Set<string>();
  /** Request id of a REPLICATE of such a key -> the object it carries (a copy). */
  private readonly replicateRequests = new Map<number, Uint8Array>();
  /** Fault-free checks skip gets overlapping these [start, end] windows. */
  readonly exemptWindows: [number, number][] = [];
  /** Findings of the oracle itself (an ack without an effect). */
  readonly anomalies: string[] = [];
  /** Reads the R + W > N check applied to (set by checkers.ts). */
  readsChecked = 0;

  invokeWrite(record: Omit<WriteRecord, 'id' | 'completedMs' | 'outcome' | 'error' | 'effects' | 'supersededAtMs'>): WriteRecord {
    const write: WriteRecord = { ...record, id: this.writes.length, completedMs: -1, outcome: 'pending', error: undefined, effects: [], ackedDot: undefined, supersededAtMs: Infinity };
    this.writes.push(write);
    this.writesByValue.set(write.value, write);
    this.writesByBytes.set(valueText(write.valueBytes), write);
    if (write.batch >= 0) this.batchKeys.add(write.key);
    return write;
  }

  invokeRead(record: Omit<ReadRecord, 'id' | 'completedMs' | 'outcome' | 'values'>): ReadRecord {
    const read: ReadRecord = { ...record, id: this.reads.length, completedMs: -1, outcome: 'pending', values: [] };
    this.reads.push(read);
    return read;
  }

  writeOfValue(value: string): WriteRecord | undefined {
    return this.writesByValue.get(value);
  }

  /** A PUT went out; a MINT_ONLY's answer stores nothing, so its mint is learned from the REPLICATEs that store it (replicateApplied). */
  putSent(requestId: number, valueBytes: Uint8Array, mintOnly: boolean): void {
    if (mintOnly) return;
    const write = this.writesByBytes.get(valueText(valueBytes));
    if (write !== undefined) this.putRequests.set(requestId, write);
  }

  /** A REPLICATE of `key` carrying `object` went out: kept, if the key has putMany items, until a node answers it. */
  replicateSent(requestId: number, key: string, object: Uint8Array): void {
    // A copy (Buffer#slice would be a view of a frame the coordinator reuses).
    if (this.batchKeys.has(key)) this.replicateRequests.set(requestId, Uint8Array.prototype.slice.call(object));
  }

  /**
   * Node `node` stored REPLICATE `requestId` (its answer comes after the
   * commit): a putMany item's dot it carries that no coordination of the
   * item showed before took effect now, on that node. Only PutBatch sends
   * such a dot first (anything else replicates what some node stored), so
   * `object` is the object its minting node, or the coordinator, minted.
   */
  replicateApplied(requestId: number, node: number, atMs: number): void {
    const bytes = this.replicateRequests.get(requestId);
    if (bytes === undefined) return;
    this.replicateRequests.delete(requestId);
    const object = decodeObject(bytes);
    for (const entry of object.entries) {
      for (let k = 0; k < entry.siblings.length; k++) {
        const write = this.writesByBytes.get(valueText(entry.siblings[k]!.value));
        if (write === undefined || write.batch < 0) continue;
        const dot: Dot = [entry.actor, entry.counter - k];
        if (write.effects.some((effect) => effect.dot !== undefined && effect.dot[0] === dot[0] && effect.dot[1] === dot[1])) continue;
        write.effects.push({ atMs, node, object, dot, supersedes: write.blind ? clockWithout(object, dot) : (write.context ?? []) });
      }
    }
  }

  /** The tap saw node `node` answer PUT `requestId` with `object`. */
  putApplied(requestId: number, node: number, object: VersionedObject, atMs: number): void {
    const write = this.putRequests.get(requestId);
    if (write === undefined) return;
    this.putRequests.delete(requestId);
    // A retry's coordinator may already hold the first try's dot of the same
    // value (replicated before the first coordinator was lost): the new dot
    // is the one no earlier coordination of this write produced.
    const known = dotsOf(write);
    const dot = dotsOfValue(object, write.valueBytes).find((d) => !known.some((k) => k[0] === d[0] && k[1] === d[1]));
    write.effects.push({ atMs, node, object, dot, supersedes: write.blind ? clockWithout(object, dot) : (write.context ?? []) });
  }

  /** Writes grouped by key, in invocation order. */
  writesByKey(): Map<string, WriteRecord[]> {
    const byKey = new Map<string, WriteRecord[]>();
    for (const write of this.writes) {
      const list = byKey.get(write.key);
      if (list === undefined) byKey.set(write.key, [write]);
      else list.push(write);
    }
    return byKey;
  }

  /**
   * Fill in supersededAtMs: when the acknowledged dot (for an unacknowledged
   * write, every dot it got) was covered by what some other write that took
   * effect superseded (the latest of those times).
   */
  computeSupersession(): void {
    for (const writes of this.writesByKey().values()) {
      for (const a of writes) {
        const dots = a.ackedDot !== undefined ? [a.ackedDot] : dotsOf(a);
        if (dots.length === 0) continue;
        let latestMs = -Infinity;
        for (const dot of dots) {
          let firstMs = Infinity;
          for (const x of writes) {
            if (x === a) continue;
            for (const effect of x.effects) if (effect.atMs < firstMs && covers(effect.supersedes, dot)) firstMs = effect.atMs;
          }
          latestMs = Math.max(latestMs, firstMs);
        }
        a.supersededAtMs = latestMs;
      }
    }
  }

  isExempt(fromMs: number, toMs: number): boolean {
    return this.exemptWindows.some(([start, end]) => start <= toMs && fromMs <= end);
  }
}

export function valueText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function covers(context: CausalContext, dot: Dot): boolean {
  for (const [actor, counter] of context) if (actor === dot[0]) return counter >= dot[1];
  return false;
}

/** The dots a write got, one per coordination that kept its value. */
export function dotsOf(write: WriteRecord): Dot[] {
  const dots: Dot[] = [];
  for (const effect of write.effects) if (effect.dot !== undefined) dots.push(effect.dot);
  return dots;
}

/** Some coordination of `x` superseded `dot`. */
export function supersededBy(x: WriteRecord, dot: Dot): boolean {
  return x.effects.some((effect) => covers(effect.supersedes, dot));
}

/** Every dot of `v` was superseded by `a`: `v` may never be live where `a` is known. */
export function whollySupersededBy(v: WriteRecord, a: WriteRecord): boolean {
  const dots = dotsOf(v);
  return v !== a && dots.length > 0 && dots.every((dot) => supersededBy(a, dot));
}

/**
 * Every dot of `v` was superseded by the version `a` was acknowledged with.
 * A read may still show what only an unacknowledged coordination of `a`
 * superseded (that coordination may not have reached anyone yet).
 */
export function supersededByAcknowledged(v: WriteRecord, a: WriteRecord): boolean {
  const acked = a.ackedDot;
  if (acked === undefined) return false;
  const effect = a.effects.find((e) => e.dot !== undefined && e.dot[0] === acked[0] && e.dot[1] === acked[1]);
  const dots = dotsOf(v);
  return effect !== undefined && v !== a && dots.length > 0 && dots.every((dot) => covers(effect.supersedes, dot));
}

/** Two writes neither of which superseded any dot of the other. */
export function concurrent(a: WriteRecord, b: WriteRecord): boolean {
  const dotsA = dotsOf(a);
  const dotsB = dotsOf(b);
  if (dotsA.length === 0 || dotsB.length === 0) return false;
  return !dotsB.some((dot) => supersededBy(a, dot)) && !dotsA.some((dot) => supersededBy(b, dot));
}

/** The dots under which `object` holds the value, by actor ascending. */
export function dotsOfValue(object: VersionedObject, valueBytes: Uint8Array): Dot[] {
  const dots: Dot[] = [];
  for (const entry of object.entries) {
    for (let k = 0; k < entry.siblings.length; k++) {
      if (Buffer.compare(entry.siblings[k]!.value, valueBytes) === 0) dots.push([entry.actor, entry.counter - k]);
    }
  }
  return dots;
}

/** The dot of the acknowledged version: of the value's dots there, the one its coordination produced. */
export function ackedDotOf(write: WriteRecord, object: VersionedObject): Dot | undefined {
  const dots = dotsOfValue(object, write.valueBytes);
  for (let i = write.effects.length - 1; i >= 0; i--) {
    const dot = write.effects[i]!.dot;
    if (dot !== undefined && dots.some((d) => d[0] === dot[0] && d[1] === dot[1])) return dot;
  }
  return dots[0];
}

function clockWithout(object: VersionedObject, dot: Dot | undefined): CausalContext {
  return join(object).map(([actor, counter]): readonly [number, number] => (dot !== undefined && actor === dot[0] ? [actor, counter - 1] : [actor, counter]));
}
