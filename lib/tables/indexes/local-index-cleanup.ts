/**
 * The clean-up of LSI entries a read found stale (local-entry-check.ts), in
 * the background: a read only skips such an entry; this deletes it (or
 * rewrites one whose key is right and attributes are not), so it stops
 * costing reads and item collection bytes.
 *
 * A read may have been eventual (entry and item from replicas that lag
 * differently), so nothing is deleted on its word: the entry is read again
 * at the leader, then its item, and the entry is deleted or rewritten with
 * compare-and-set on the version read. That order makes it safe against a
 * concurrent write of the item: a write that points the item back at this
 * entry before the item was read is seen in the item; one after it rewrites
 * the entry (a multi-key write's keys take new versions), so the
 * compare-and-set fails and the entry stays.
 *
 * Bounded: at most PENDING_MAX entries wait, one repaired at a time; an
 * entry reported beyond the bound is dropped, and the next read that meets
 * it reports it again.
 */
import { Buffer } from 'node:buffer';
import { isConflict, type TableEngine } from '../table-engine.js';
import type { IndexSchema, PrimaryKeySchema } from '../table-schema.js';
import { committedItem } from '../transactions/prepared-item.js';
import type { IndexEntryValue } from './index-entry.js';
import { entryRepair } from './local-entry-check.js';

export const PENDING_MAX = 1024;

export interface StaleEntry {
  readonly entryKey: Uint8Array;
  /** The engine key of the item the entry names. */
  readonly itemKey: Uint8Array;
  readonly table: PrimaryKeySchema;
  readonly index: IndexSchema;
}

export interface CleanupCounts {
  readonly deleted: number;
  readonly rewritten: number;
}

export class LocalIndexCleanup {
  private readonly pending = new Map<string, StaleEntry>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private deleted = 0;
  private rewritten = 0;

  constructor(private readonly engine: TableEngine) {}

  report(entry: StaleEntry): void {
    if (this.stopped || this.pending.size >= PENDING_MAX) return;
    const id = Buffer.from(entry.entryKey.buffer, entry.entryKey.byteOffset, entry.entryKey.byteLength).toString('latin1');
    if (this.pending.has(id)) return;
    this.pending.set(id, entry);
    // drain() reaches its first await with this entry pending, so it never settles before `running` is set.
    if (this.running === undefined) this.running = this.drain();
  }

  counts(): CleanupCounts {
    return { deleted: this.deleted, rewritten: this.rewritten };
  }

  /** Every entry reported so far repaired (tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const next = this.pending.entries().next();
      if (next.done === true) break;
      const [id, entry] = next.value;
      // A failed repair (a leader change, a closing store) is left for the next read that meets the entry.
      await this.repair(entry).catch(() => undefined);
      this.pending.delete(id);
    }
    this.running = undefined;
  }

  private async repair(entry: StaleEntry): Promise<void> {
    const stored = await this.engine.getOrdered(entry.entryKey, { consistent: true });
    if (stored === undefined) return;
    const item = await this.engine.getOrdered(entry.itemKey, { consistent: true });
    const repair = entryRepair(entry.table, entry.index, (stored.value as IndexEntryValue).item, committedItem(item?.value));
    if (repair.kind === 'none') return;
    const value: IndexEntryValue | undefined = repair.kind === 'delete' ? undefined : { item: repair.item, baseVersion: 0 };
    try {
      await this.engine.writeOrdered({ key: entry.entryKey, value, expect: stored.version });
    } catch (error) {
      if (isConflict(error)) return; // the entry changed since it was read: the item's own write decided it
      throw error;
    }
    if (repair.kind === 'delete') this.deleted += 1;
    else this.rewritten += 1;
  }
}
