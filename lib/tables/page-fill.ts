/**
 * Filling a Query or Scan page from the engine's range reads: the one loop
 * the table's and the indexes' reads share (database.ts, indexes/
 * secondary-indexes.ts). Each chunk asks for what the page can still take
 * (chunkLimit), and the caller's `take` decides what an entry stands for (an
 * item, an index entry, a prepared transaction's committed image) and offers
 * it to the page.
 */
import { keyAfter } from '../bytes.js';
import { chunkLimit, type PageAssembler } from './read-page.js';
import type { RangeEntry, RangePage, RangeRequest } from './table-engine.js';

export type RangeRead = (request: RangeRequest) => Promise<RangePage>;
export type TakeEntry = (entry: RangeEntry) => void | Promise<void>;

export interface QueryRead {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  readonly reverse: boolean;
  readonly consistent: boolean;
  readonly limit: number | undefined;
}

/** A Query's one key range, in either direction, until the page is full or the range ends (then the page knows it ended). */
export async function fillQueryPage(read: RangeRead, request: QueryRead, page: PageAssembler, take: TakeEntry): Promise<void> {
  let { start, end } = request;
  for (;;) {
    if (Buffer.compare(start, end) >= 0) return page.end();
    const chunk = await read({ start, end, reverse: request.reverse, limit: chunkLimit(request.limit, page), consistent: request.consistent });
    for (const entry of chunk.entries) {
      const taken = take(entry);
      if (taken !== undefined) await taken; // a synchronous take costs no microtask per entry
      if (page.full) return;
    }
    const last = chunk.entries[chunk.entries.length - 1];
    if (!chunk.more || last === undefined) return page.end();
    if (request.reverse) end = last.key;
    else start = keyAfter(last.key);
  }
}

export interface ScanRead {
  /** A segment's key ranges, one per ring partition, in key order (scan.ts segmentRanges). */
  readonly ranges: ReadonlyArray<{ readonly start: Uint8Array; readonly end: Uint8Array }>;
  /** ExclusiveStartKey's engine key: reading resumes after it. */
  readonly startAfter: Uint8Array | undefined;
  readonly consistent: boolean;
  readonly limit: number | undefined;
}

/** A Scan segment's ranges in key order until the page is full; the engine key of each item the page evaluated, in order (its capacity is charged per logical partition: capacity/scan-charge.ts). */
export async function fillScanPage(read: RangeRead, request: ScanRead, page: PageAssembler, take: TakeEntry): Promise<Uint8Array[]> {
  const evaluatedKeys: Uint8Array[] = [];
  for (const range of request.ranges) {
    let start = range.start;
    if (request.startAfter !== undefined) {
      if (Buffer.compare(request.startAfter, range.end) >= 0) continue;
      if (Buffer.compare(request.startAfter, start) >= 0) start = keyAfter(request.startAfter);
    }
    while (!page.full && Buffer.compare(start, range.end) < 0) {
      const chunk = await read({ start, end: range.end, limit: chunkLimit(request.limit, page), consistent: request.consistent });
      for (const entry of chunk.entries) {
        const taken = take(entry);
        if (taken !== undefined) await taken;
        if (evaluatedKeys.length < page.evaluated.length) evaluatedKeys.push(entry.key);
        if (page.full) break;
      }
      const last = chunk.entries[chunk.entries.length - 1];
      if (!chunk.more || last === undefined) break;
      start = keyAfter(last.key);
    }
    if (page.full) break;
  }
  return evaluatedKeys;
}
