/**
 * Backfilling a GSI added to a live table (DG: GSI.OnlineOps: "Backfilling"),
 * the shell. Every item of the table is rewritten unchanged, with
 * compare-and-set on the version read, together with the new index's change
 * record (one atomic multi-key write): the applier then builds the index from
 * the queue like any other change, in order per item.
 *
 * Why a rewrite and not a direct index write: the rewrite is ordered with
 * the item's other writes by its leader. A concurrent write either came
 * before it (the rewrite then carries the newer item) or after it, and then
 * read the rewrite's version, so it looked up the catalog after the index
 * was added (database.ts computes a write's extra keys after reading the
 * item) and logged its own change for the index. A write that read the item
 * before the rewrite loses its compare-and-set and reads again. So no
 * change is missed and none is applied out of order.
 *
 * The index becomes ACTIVE once the table was read through and the index's
 * queue is empty. A restart resumes a CREATING index from the start (the
 * rewrite is idempotent).
 */
import { splitPartitionedKey, tokenOf } from '../../ring/partitioned-key.js';
import { segmentRanges } from '../scan.js';
import type { TableRecord } from '../table-catalog.js';
import { isConflict, TOKEN_SPACE, type TableEngine } from '../table-engine.js';
import { logKeyPrefix, queueRecord } from './change-log.js';
import { indexChangeOf } from './index-entry.js';
import { committedItem } from '../transactions/prepared-item.js';
import { keyAfter } from '../../bytes.js';
import { boundedAll } from '../bounded-all.js';

const PAGE = 500;
const REWRITE_ATTEMPTS_MAX = 64;
const DRAIN_WAIT_MS = 20;
const RANGES_AT_ONCE = 4;
const REWRITES_AT_ONCE = 16;

export interface BackfillHost {
  readonly engine: TableEngine;
  /** The table's record as the catalog holds it now. */
  record(): TableRecord | undefined;
  stopped(): boolean;
  /** A change was queued in the ring partition of `token`. */
  logged(token: number): void;
  /** A pass over the index's queue; the changes left. */
  drained(): Promise<number>;
}

export async function backfillIndex(host: BackfillHost, indexName: string): Promise<void> {
  const first = host.record();
  if (first === undefined) return;
  const ranges = segmentRanges(first.id, host.engine.tokenRanges(), { tokenStart: 0, tokenEnd: TOKEN_SPACE });
  // Ring partitions, and the items of a page, are independent: rewritten several at a time.
  await boundedAll(ranges, RANGES_AT_ONCE, async (range) => {
    let start = range.start;
    for (;;) {
      if (host.stopped() || !creating(host.record(), indexName)) return;
      const page = await host.engine.range({ start, end: range.end, limit: PAGE, consistent: true });
      await boundedAll(page.entries, REWRITES_AT_ONCE, (entry) => rewrite(host, indexName, entry.key, entry.value, entry.version));
      const last = page.entries[page.entries.length - 1];
      if (!page.more || last === undefined) break;
      start = keyAfter(last.key);
    }
  });
  while (!host.stopped() && creating(host.record(), indexName) && (await host.drained()) > 0) await new Promise((resolve) => setTimeout(resolve, DRAIN_WAIT_MS));
}

function creating(record: TableRecord | undefined, indexName: string): boolean {
  return record?.status === 'ACTIVE' && record.indexes?.spaces[indexName]?.status === 'CREATING';
}

/**
 * Logs one stored item's entry. A transaction's prepared item (transactions/
 * prepared-item.ts) is logged as its committed (prior) image and rewritten
 * as it is, still prepared: its commit then logs prior -> next, its
 * cancellation changes nothing indexed.
 */
async function rewrite(host: BackfillHost, indexName: string, key: Uint8Array, value: unknown, version: string): Promise<void> {
  let current = { value, version };
  for (let attempt = 0; attempt < REWRITE_ATTEMPTS_MAX; attempt += 1) {
    const record = host.record();
    const index = record?.schema.globalSecondaryIndexes.find((candidate) => candidate.indexName === indexName);
    const queueSpace = record?.indexes?.spaces[indexName]?.queueSpace;
    if (record === undefined || index === undefined || queueSpace === undefined || !creating(record, indexName)) return;
    const item = committedItem(current.value);
    const change = item === undefined ? undefined : indexChangeOf(record.schema, index, undefined, item);
    if (change === undefined) return; // not in the (sparse) index
    const also = [{ key: logKeyPrefix(queueSpace, splitPartitionedKey(key).partitionPart), value: queueRecord(change, Date.now()), appendVersion: true }];
    try {
      await host.engine.writeOrdered({ key, value: current.value, expect: current.version, also });
      host.logged(tokenOf(key));
      return;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const stored = await host.engine.getOrdered(key, { consistent: true });
    if (stored === undefined) return; // deleted meanwhile: nothing to index
    current = { value: stored.value, version: stored.version };
  }
  throw new Error(`backfill of ${indexName}: an item lost every compare-and-set round`);
}

