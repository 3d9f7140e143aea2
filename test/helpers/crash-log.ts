/**
 * The crash writer's log, and what it allows a store to hold after the writer
 * is killed (test/crash-durability.test.ts). Pure: the writer encodes lines
 * with it, the test parses them; no I/O here.
 *
 * One JSON object per line, each written with a single write() of less than
 * PIPE_BUF bytes to a blocking pipe, so a line is in the kernel, whole, before
 * the writer goes on; a SIGKILL cannot take back a line or cut one in half.
 *
 *   {"t":"ready"}                                   the store is open; load starts
 *   {"t":"begin","op":7,"kind":"put","writes":[["k12","<digest>"]]}
 *                                                   written before the call is made
 *   {"t":"begin","op":8,"kind":"delete","writes":[["k3",null]]}
 *   {"t":"begin","op":9,"kind":"putMany","writes":[["k20","<digest>"],["k4","<digest>"]]}
 *   {"t":"ack","op":7}                              written after the call resolved
 *   {"t":"error","op":8,"message":"..."}            the call rejected (the test fails)
 *   {"t":"done"}                                    every op acknowledged (the kill came too late)
 *
 * The writer keeps at most one operation per key in flight, so each key's
 * operations are totally ordered by the log; the model asserts it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

export type OpKind = 'put' | 'overwrite' | 'delete' | 'putMany';
/** A key and the digest of the value written, or null for a delete. */
export type LoggedWrite = readonly [key: string, digest: string | null];

export type LogLine =
  | { t: 'ready' }
  | { t: 'begin'; op: number; kind: OpKind; writes: LoggedWrite[] }
  | { t: 'ack'; op: number }
  | { t: 'error'; op: number; message: string }
  | { t: 'done' };

/** The state of a key that has no live value: never written, deleted, or its tombstone purged. */
export const ABSENT = '(absent)';

/** The value's identity in the log: 16 hex digits of its SHA-256, enough to tell a few thousand values apart. */
export function digestOf(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

export function encodeLine(line: LogLine): string {
  return JSON.stringify(line) + '\n';
}

export function parseLine(text: string): LogLine {
  const line = JSON.parse(text) as LogLine;
  assert(typeof line === 'object' && line !== null && typeof line.t === 'string', `not a log line: ${text.slice(0, 200)}`);
  return line;
}

interface KeyEvent {
  readonly op: number;
  /** ABSENT for a delete. */
  readonly state: string;
}

/** Every operation the writer began and which of them it saw acknowledged. */
export class CrashLog {
  ready = false;
  done = false;
  readonly errors: string[] = [];
  opsBegun = 0;
  opsAcked = 0;
  /** Key writes (a putMany counts each entry) whose call resolved. */
  writesAcked = 0;
  readonly kindsAcked: Record<OpKind, number> = { put: 0, overwrite: 0, delete: 0, putMany: 0 };
  private readonly ops = new Map<number, { kind: OpKind; writes: LoggedWrite[]; acked: boolean }>();
  /** Per key, its operations in the order they began. */
  private readonly history = new Map<string, KeyEvent[]>();
  /** Per key, the op in flight on it, if any. */
  private readonly busy = new Map<string, number>();

  get opsInFlight(): number {
    return this.opsBegun - this.opsAcked;
  }

  keys(): string[] {
    return [...this.history.keys()];
  }

  record(line: LogLine): void {
    switch (line.t) {
      case 'ready':
        this.ready = true;
        return;
      case 'done':
        this.done = true;
        return;
      case 'error':
        this.errors.push(`op ${line.op}: ${line.message}`);
        return;
      case 'begin':
        return this.begin(line.op, line.kind, line.writes);
      case 'ack':
        return this.ack(line.op);
    }
  }

  private begin(op: number, kind: OpKind, writes: LoggedWrite[]): void {
    assert(!this.ops.has(op), `op ${op} began twice`);
    assert(writes.length > 0, `op ${op} writes nothing`);
    assert.equal(new Set(writes.map(([key]) => key)).size, writes.length, `op ${op} writes a key twice`);
    for (const [key] of writes) {
      const inFlight = this.busy.get(key);
      assert(inFlight === undefined, `key ${key}: op ${op} began while op ${inFlight} was in flight`);
    }
    this.ops.set(op, { kind, writes, acked: false });
    this.opsBegun++;
    for (const [key, digest] of writes) {
      this.busy.set(key, op);
      const events = this.history.get(key) ?? [];
      events.push({ op, state: digest ?? ABSENT });
      this.history.set(key, events);
    }
  }

  private ack(op: number): void {
    const entry = this.ops.get(op);
    assert(entry !== undefined, `ack of op ${op}, which never began`);
    assert(!entry.acked, `op ${op} acknowledged twice`);
    entry.acked = true;
    this.opsAcked++;
    this.writesAcked += entry.writes.length;
    this.kindsAcked[entry.kind]++;
    for (const [key] of entry.writes) this.busy.delete(key);
  }

  private isAcked(op: number): boolean {
    return this.ops.get(op)!.acked;
  }

  /** Whether some operation on `key` was acknowledged: then the crash must not lose it. */
  hasAckedWrite(key: string): boolean {
    return (this.history.get(key) ?? []).some((event) => this.isAcked(event.op));
  }

  /**
   * What `key` may read as after a crash: the state its last acknowledged
   * operation left (ABSENT after a delete, or if nothing was acknowledged),
   * or the state of any operation begun after that one, which was in flight
   * at the kill and may or may not have reached enough replicas. Nothing
   * older than the last acknowledgement: that would be a lost write.
   */
  allowedAfterCrash(key: string): Set<string> {
    const events = this.history.get(key) ?? [];
    let lastAcked = -1;
    for (let i = 0; i < events.length; i++) if (this.isAcked(events[i]!.op)) lastAcked = i;
    const allowed = new Set<string>([lastAcked < 0 ? ABSENT : events[lastAcked]!.state]);
    for (let i = lastAcked + 1; i < events.length; i++) allowed.add(events[i]!.state);
    return allowed;
  }

  /** Every state `key` ever legitimately had: a replica that missed later writes may still show any of them. */
  everWritten(key: string): Set<string> {
    return new Set([ABSENT, ...(this.history.get(key) ?? []).map((event) => event.state)]);
  }
}
