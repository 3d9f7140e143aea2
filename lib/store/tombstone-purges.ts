/**
 * Tombstones waiting to be purged. The rule (documented in the README): a
 * tombstone is purged once every replica of the key's preference list is known
 * to hold it (all N acknowledged the delete, or a read of all N found the same
 * tombstone everywhere) and `tombstoneGraceMs` has passed, so a write still in
 * flight cannot be resurrected by a stale replica; it is sent only once no
 * node can still hold an older copy (purge-rule.ts: hints owed, ranges moving,
 * copies stranded outside the key's preference list not yet swept; a purge
 * that must wait is queued again). A node drops the key only if
 * nothing newer than the purged version has arrived. Bounded: beyond
 * PURGES_PENDING_MAX the tombstone simply stays (safe, only space is spent).
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

export class TombstonePurges {
  private queue: PendingPurge[] = [];
  private head = 0;
  private timer: TimerHandle | undefined;
  purged = 0;
  skipped = 0;

  constructor(
    private readonly graceMs: number,
    private readonly host: Pick<CoordinatorHost, 'monotonicMs' | 'setTimer' | 'clearTimer'>,
    private readonly purge: (key: WireKey, replicas: readonly number[], objectBytes: Uint8Array) => void,
  ) {}

  schedule(key: WireKey, replicas: readonly number[], objectBytes: Uint8Array, nowMs: number): void {
    if (this.queue.length - this.head >= PURGES_PENDING_MAX) {
      this.skipped++;
      return;
    }
    this.queue.push({ dueMs: nowMs + this.graceMs, key, replicas, objectBytes });
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.head === this.queue.length) return;
    const delayMs = Math.max(0, this.queue[this.head]!.dueMs - this.host.monotonicMs());
    this.timer = this.host.setTimer(delayMs, () => this.run());
  }

  private run(): void {
    this.timer = undefined;
    const nowMs = this.host.monotonicMs();
    // Due times are monotonic (constant grace), so the queue is in due order.
    while (this.head < this.queue.length && this.queue[this.head]!.dueMs <= nowMs) {
      const due = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as PendingPurge;
      this.purged++;
      this.purge(due.key, due.replicas, due.objectBytes);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  clear(): void {
    if (this.timer !== undefined) this.host.clearTimer(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }
}
