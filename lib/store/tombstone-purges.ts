/**
 * Tombstones waiting to be purged. The rule (documented in the README): a
 * tombstone is purged once every replica of the key's preference list is known
 * to hold it (all N acknowledged the delete, or a read of all N found the same
 * tombstone everywhere) and `tombstoneGraceMs` has passed, so a write still in
 * flight cannot be resurrected by a stale replica; it is sent only once no
 * node can still hold an older copy (purge-rule.ts: hints owed, ranges moving,
 * copies stranded outside the key's preference list not yet swept; a purge
 * that must wait for sweeps is tried again `retryMs` later). A node drops the
 * key only if nothing newer than the purged version has arrived. Bounded:
 * beyond PURGES_PENDING_MAX (both queues) the tombstone simply stays (safe,
 * only space is spent).
 */
import type { WireKey } from '../transport/wire.js';
import type { CoordinatorHost, TimerHandle } from './coordinator-host.js';

const PURGES_PENDING_MAX = 65_536;

interface PendingPurge {
  dueMs: number;
  key: WireKey;
  replicas: readonly number[];
  objectBytes: Uint8Array;
}

/** A FIFO of purges with one constant delay, so it is in due order. */
class DueQueue {
  private items: PendingPurge[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: PendingPurge): void {
    this.items.push(item);
  }

  peek(): PendingPurge | undefined {
    return this.items[this.head];
  }

  shift(): PendingPurge {
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as PendingPurge;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class TombstonePurges {
  /** Purges waiting out the grace period. */
  private readonly grace = new DueQueue();
  /** Purges tried once and waiting for sweeps or handoff (`retry`): a shorter, constant delay of their own. */
  private readonly retries = new DueQueue();
  private timer: TimerHandle | undefined;
  /** Purges sent (tombstonesPurged in stats()). */
  purged = 0;
  skipped = 0;

  constructor(
    private readonly graceMs: number,
    private readonly host: Pick<CoordinatorHost, 'monotonicMs' | 'setTimer' | 'clearTimer'>,
    /** Sends a due purge; false if it was not sent (held back again, or dropped: the tombstone stays). */
    private readonly purge: (key: WireKey, replicas: readonly number[], objectBytes: Uint8Array) => boolean,
    private readonly retryMs = graceMs,
  ) {}

  schedule(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array, nowMs: number): void {
    this.enqueue(this.grace, { dueMs: nowMs + this.graceMs, key, replicas, objectBytes });
  }

  /** A due purge that may not be sent yet: try again `retryMs` from `nowMs` (its grace has passed already). */
  retry(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array, nowMs: number): void {
    this.enqueue(this.retries, { dueMs: nowMs + this.retryMs, key, replicas, objectBytes });
  }

  private enqueue(queue: DueQueue, purge: PendingPurge): void {
    if (this.grace.size + this.retries.size >= PURGES_PENDING_MAX) {
      this.skipped++;
      return;
    }
    queue.push(purge);
    this.arm();
  }

  private nextDueMs(): number | undefined {
    const a = this.grace.peek()?.dueMs;
    const b = this.retries.peek()?.dueMs;
    if (a === undefined) return b;
    return b === undefined ? a : Math.min(a, b);
  }

  private arm(): void {
    const dueMs = this.nextDueMs();
    if (this.timer !== undefined || dueMs === undefined) return;
    this.timer = this.host.setTimer(Math.max(0, dueMs - this.host.monotonicMs()), () => this.run());
  }

  private run(): void {
    this.timer = undefined;
    const nowMs = this.host.monotonicMs();
    // Each queue has one constant delay, so each is in due order. What is due
    // now is taken first: a purge that must wait again goes to the back of `retries`.
    const due: PendingPurge[] = [];
    while ((this.grace.peek()?.dueMs ?? Infinity) <= nowMs) due.push(this.grace.shift());
    while ((this.retries.peek()?.dueMs ?? Infinity) <= nowMs) due.push(this.retries.shift());
    for (const purge of due) if (this.purge(purge.key, purge.replicas, purge.objectBytes)) this.purged++;
    this.arm();
  }

  clear(): void {
    if (this.timer !== undefined) this.host.clearTimer(this.timer);
    this.timer = undefined;
    this.grace.clear();
    this.retries.clear();
  }
}
