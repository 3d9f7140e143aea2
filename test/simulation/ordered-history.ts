/**
 * Leader-ordered keys in the simulation (lib/tables/DESIGN.md §3): what
 * clients asked and were told, what the leaders applied (a tap on their
 * answers, before the network can lose them), and the three checkers:
 *
 * (a) lost-ordered-write: the converged final state of every ordered key is
 *     at least its greatest acknowledged version: the value of that version,
 *     or of a greater one some leader applied (an unacknowledged write may
 *     land), or absent after an applied delete at least as great.
 * (b) stale-consistent-read: a consistent read invoked after a write was
 *     acknowledged returns that write's version or a greater one, and the
 *     value the leader applied with the version it returns. A consistent
 *     range read counts as a read of every key of its range: a key it lists
 *     at the version it lists, a key it leaves out (of a complete page) as
 *     absent, so a leader's range that misses an acknowledged write fails.
 * (c) cas-race: of concurrent compare-and-sets expecting 'absent' on one key,
 *     at most one is acknowledged (exactly one when none failed otherwise).
 * (e) unstable-consistent-read: a consistent read never returns a version
 *     that a later consistent read (invoked after it answered) neither
 *     returns nor supersedes: what a consistent read showed was on W
 *     replicas, so no failover can take it back (Raft's "commit before
 *     serving"; DynamoDB's strongly consistent reads). A tombstone counts at
 *     its version; a later absent read after a purge counts only if a delete
 *     at least that great was applied. A compare-and-set that failed with
 *     ERR_CONFLICT showed the current version it names: it counts as a read.
 * (d) multi-key-torn: every ordered write also writes a companion key in the
 *     same atomic multi-key write (writeOrdered's `also`, same token), with
 *     the same value; once converged, a key that holds a live value holds it
 *     in its companion too, on every replica that has both at one version
 *     order: a write is never half applied.
 */
import { hashKey32 } from '../../lib/ring/hash.js';
import { preferenceList } from '../../lib/ring/preference-list.js';
import type { Ring } from '../../lib/ring/ring.js';
import { type VersionedObject, sync } from '../../lib/version/dotted-version-vector.js';
import { decodeObject } from '../../lib/version/object-codec.js';
import { orderedEntryOf } from '../../lib/version/ordered-version.js';
import { decodeValue } from '../../lib/store/value-codec.js';
import { encodePartitionedKey } from '../../lib/ring/partitioned-key.js';

/** The space of the companion keys (d). */
const COMPANION_SPACE = 77;

/** A key's companion: a partitioned key of its token, so one leader writes both in one transaction. */
export function companionKey(key: string): Uint8Array {
  const bytes = Buffer.from(key, 'utf8');
  return encodePartitionedKey(() => hashKey32(bytes), COMPANION_SPACE, bytes, Uint8Array.of(0x63));
}
import type { Failure } from './checkers.js';
import type { MemoryStorage } from './memory-storage.js';

export interface OrderedWriteRecord {
  id: number;
  client: number;
  key: string;
  value: string;
  tombstone: boolean;
  expect: 'none' | 'absent' | number;
  /** The race this write is part of (concurrent expect-'absent' writes of one key), or -1. */
  race: number;
  invokedMs: number;
  completedMs: number;
  outcome: 'pending' | 'ok' | 'conflict' | 'error';
  version: number;
}

export interface OrderedReadRecord {
  client: number;
  /** A getOrdered of the key, a range read whose page covered it, or a compare-and-set's ERR_CONFLICT naming its current version (checker (e) only). */
  via: 'get' | 'range' | 'verdict';
  key: string;
  invokedMs: number;
  completedMs: number;
  outcome: 'pending' | 'ok' | 'error';
  /** 0: absent. */
  version: number;
  value: string | undefined;
  /** The version of what the read saw, a tombstone's too (0: nothing): what checker (e) compares. */
  seenVersion: number;
}

const FAILURES_PER_CHECK_MAX = 20;

export class OrderedHistory {
  readonly writes: OrderedWriteRecord[] = [];
  readonly reads: OrderedReadRecord[] = [];
  /** Every leader-applied write, by its (unique) value. */
  private readonly applied = new Map<string, { version: number; tombstone: boolean }>();
  private readonly byValue = new Map<string, OrderedWriteRecord>();
  /** The engine key of a key's name (a plain key is its name's UTF-8; range keys are partitioned keys). */
  private readonly keyBytes: (key: string) => Uint8Array;

  constructor(keyBytes: (key: string) => Uint8Array = (key) => Buffer.from(key, 'utf8')) {
    this.keyBytes = keyBytes;
  }

  invokeWrite(record: Omit<OrderedWriteRecord, 'id' | 'completedMs' | 'outcome' | 'version'>): OrderedWriteRecord {
    const write: OrderedWriteRecord = { ...record, id: this.writes.length, completedMs: -1, outcome: 'pending', version: 0 };
    this.writes.push(write);
    this.byValue.set(write.value, write);
    return write;
  }

  invokeRead(record: Pick<OrderedReadRecord, 'client' | 'key' | 'invokedMs' | 'via'>): OrderedReadRecord {
    const read: OrderedReadRecord = { ...record, completedMs: -1, outcome: 'pending', version: 0, value: undefined, seenVersion: 0 };
    this.reads.push(read);
    return read;
  }

  /** A compare-and-set failed with ERR_CONFLICT naming `version` as the key's current one. */
  observedByVerdict(client: number, key: string, invokedMs: number, completedMs: number, version: number): void {
    this.reads.push({ client, via: 'verdict', key, invokedMs, completedMs, outcome: 'ok', version, value: undefined, seenVersion: version });
  }

  /** The tap: a leader answered ORDERED_WRITE with this object. */
  leaderApplied(objectBytes: Uint8Array): void {
    const entry = orderedEntryOf(decodeObject(objectBytes));
    if (entry === undefined) return;
    this.applied.set(String(decodeValue(entry.sibling.value)), { version: entry.version, tombstone: entry.sibling.tombstone });
  }

  get acknowledged(): number {
    return this.writes.filter((write) => write.outcome === 'ok').length;
  }

  check(ring: Ring, n: number, engines: ReadonlyMap<number, MemoryStorage>): Failure[] {
    return [...this.checkFinal(ring, n, engines), ...this.checkReads(), ...this.checkReadsStable(), ...this.checkRaces()];
  }

  /** The greatest version acknowledged for `key` before `beforeMs` (every one when beforeMs is Infinity). */
  private greatestAcked(key: string, beforeMs: number): OrderedWriteRecord | undefined {
    let greatest: OrderedWriteRecord | undefined;
    for (const write of this.writes) {
      if (write.key !== key || write.outcome !== 'ok' || write.completedMs >= beforeMs) continue;
      if (greatest === undefined || write.version > greatest.version) greatest = write;
    }
    return greatest;
  }

  /** Absent is right at `version` or above only if a delete at least that great was applied (its tombstone may be purged). */
  private deletedAtLeast(key: string, version: number): boolean {
    for (const write of this.writes) {
      const applied = this.applied.get(write.value);
      if (write.key === key && applied !== undefined && applied.tombstone && applied.version >= version) return true;
    }
    return false;
  }

  /** (a) */
  private checkFinal(ring: Ring, n: number, engines: ReadonlyMap<number, MemoryStorage>): Failure[] {
    const failures: Failure[] = [];
    for (const key of [...new Set(this.writes.map((write) => write.key))].sort()) {
      const acked = this.greatestAcked(key, Infinity);
      if (acked === undefined) continue;
      const keyBytes = this.keyBytes(key);
      const replicas = preferenceList(ring, ring.partitionOf(hashKey32(keyBytes)), n);
      let merged: VersionedObject | undefined;
      for (const node of replicas) {
        const bytes = engines.get(node)?.get(keyBytes);
        if (bytes !== undefined) merged = merged === undefined ? decodeObject(bytes) : sync(merged, decodeObject(bytes));
      }
      const entry = merged === undefined ? undefined : orderedEntryOf(merged);
      const finalVersion = entry?.version ?? 0;
      const finalValue = entry === undefined ? undefined : String(decodeValue(entry.sibling.value));
      const why = this.explain(key, finalVersion, finalValue, acked, entry === undefined || entry.sibling.tombstone);
      if (why !== undefined) failures.push({ kind: 'lost-ordered-write', message: `key ${key}: ${why}` });
      if (entry !== undefined && !entry.sibling.tombstone) {
        let companion: VersionedObject | undefined;
        for (const node of replicas) {
          const bytes = engines.get(node)?.get(companionKey(key));
          if (bytes !== undefined) companion = companion === undefined ? decodeObject(bytes) : sync(companion, decodeObject(bytes));
        }
        const companionEntry = companion === undefined ? undefined : orderedEntryOf(companion);
        const companionValue = companionEntry === undefined ? undefined : String(decodeValue(companionEntry.sibling.value));
        if (companionValue !== finalValue) failures.push({ kind: 'multi-key-torn', message: `key ${key} holds ${finalValue}, its companion ${String(companionValue)}` });
      }
      if (failures.length >= FAILURES_PER_CHECK_MAX) break;
    }
    return failures;
  }

  private explain(key: string, version: number, value: string | undefined, acked: OrderedWriteRecord, absent: boolean): string | undefined {
    const ackedText = `write #${acked.id} ${acked.value}${acked.tombstone ? ' (delete)' : ''} acknowledged at version ${acked.version}`;
    if (version === 0) return this.deletedAtLeast(key, acked.version) ? undefined : `nothing stored, but ${ackedText}`;
    if (version < acked.version) return `stored version ${version} (${value}) is older than ${ackedText}`;
    const applied = value === undefined ? undefined : this.applied.get(value);
    if (applied === undefined || applied.version !== version) return `stored version ${version} holds ${value}, which no leader applied at that version`;
    if (absent && !applied.tombstone) return `stored version ${version} is a delete, but its write was not`;
    return undefined;
  }

  /** (b) */
  private checkReads(): Failure[] {
    const failures: Failure[] = [];
    for (const read of this.reads) {
      if (read.outcome !== 'ok' || read.via === 'verdict') continue;
      const acked = this.greatestAcked(read.key, read.invokedMs);
      let why: string | undefined;
      if (read.version === 0) {
        if (acked !== undefined && !this.deletedAtLeast(read.key, acked.version)) why = `absent, after write #${acked.id} (${acked.value}) was acknowledged at version ${acked.version}`;
      } else {
        const applied = this.applied.get(read.value!);
        if (applied === undefined || applied.version !== read.version) why = `version ${read.version} with ${read.value}, which no leader applied at that version`;
        else if (acked !== undefined && read.version < acked.version) why = `version ${read.version} (${read.value}), older than write #${acked.id} (${acked.value}) acknowledged at ${acked.completedMs.toFixed(2)}ms at version ${acked.version}`;
      }
      if (why !== undefined) failures.push({ kind: 'stale-consistent-read', message: `consistent ${read.via === 'range' ? 'range read' : 'read'} of ${read.key} invoked at ${read.invokedMs.toFixed(2)}ms returned ${why}` });
      if (failures.length >= FAILURES_PER_CHECK_MAX) break;
    }
    return failures;
  }

  /** (e) */
  private checkReadsStable(): Failure[] {
    const failures: Failure[] = [];
    const byKey = new Map<string, OrderedReadRecord[]>();
    for (const read of this.reads) if (read.outcome === 'ok') byKey.set(read.key, [...(byKey.get(read.key) ?? []), read]);
    for (const [key, reads] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const answered = [...reads].sort((a, b) => a.completedMs - b.completedMs);
      const invoked = [...reads].sort((a, b) => a.invokedMs - b.invokedMs);
      // The read with the greatest version among those answered before each read was invoked.
      let greatest: OrderedReadRecord | undefined;
      let next = 0;
      for (const read of invoked) {
        while (next < answered.length && answered[next]!.completedMs < read.invokedMs) {
          const earlier = answered[next++]!;
          if (greatest === undefined || earlier.seenVersion > greatest.seenVersion) greatest = earlier;
        }
        if (greatest === undefined || greatest.seenVersion === 0 || read.seenVersion >= greatest.seenVersion) continue;
        if (read.seenVersion === 0 && this.deletedAtLeast(key, greatest.seenVersion)) continue;
        const shown = (r: OrderedReadRecord): string => `${r.via === 'verdict' ? 'a conflict' : (r.value ?? 'absent')} at version ${r.seenVersion}`;
        const what = (r: OrderedReadRecord): string => (r.via === 'range' ? 'consistent range read' : r.via === 'verdict' ? "compare-and-set's verdict" : 'consistent read');
        failures.push({
          kind: 'unstable-consistent-read',
          message: `${what(read)} of ${key} invoked at ${read.invokedMs.toFixed(2)}ms returned ${shown(read)}, older than what a ${what(greatest)} answered at ${greatest.completedMs.toFixed(2)}ms (${shown(greatest)})`,
        });
        if (failures.length >= FAILURES_PER_CHECK_MAX) return failures;
      }
    }
    return failures;
  }

  /** (c) */
  private checkRaces(): Failure[] {
    const failures: Failure[] = [];
    const races = new Map<number, OrderedWriteRecord[]>();
    for (const write of this.writes) if (write.race >= 0) races.set(write.race, [...(races.get(write.race) ?? []), write]);
    for (const [race, writes] of races) {
      const winners = writes.filter((write) => write.outcome === 'ok');
      const clean = writes.every((write) => write.outcome === 'ok' || write.outcome === 'conflict');
      if (winners.length > 1 || (clean && winners.length !== 1)) {
        failures.push({ kind: 'cas-race', message: `race ${race} on ${writes[0]!.key}: ${winners.length} of ${writes.length} compare-and-sets expecting 'absent' acknowledged (${writes.map((w) => `#${w.id} ${w.outcome}`).join(', ')})` });
      }
      if (failures.length >= FAILURES_PER_CHECK_MAX) break;
    }
    return failures;
  }
}
