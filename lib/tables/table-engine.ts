/**
 * What the tables layer needs from the engine: the Store API contract of
 * DESIGN.md §5, in key-value words, with the engine's own types. The Store
 * satisfies this interface (database.ts assigns one to the other, so the
 * compiler checks it), and the operation cores can be driven by any
 * implementation of it (the real Store, or a test's).
 */

import type { OrderedValue, OrderedVersion, OrderedWrite, RangePage, RangeRequest, TokenRange } from '../store/ordered-types.js';
import { ErrorCode } from '../errors.js';

export { ALSO_WRITES_MAX } from '../store/ordered-types.js';
export type { AlsoKeyWrite, OrderedValue, OrderedVersion, OrderedWrite, RangeEntry, RangePage, RangeRequest, TokenRange } from '../store/ordered-types.js';

/**
 * The Store methods the tables layer calls (DESIGN.md §5). Values read
 * (getOrdered, range) belong to the caller: each read decodes its own copy
 * (the Store decodes msgpack per read), so a Query's page hands its items
 * out without copying them again.
 */
export interface TableEngine {
  getOrdered(key: Uint8Array, options?: { consistent?: boolean }): Promise<OrderedValue | undefined>;
  writeOrdered(write: OrderedWrite): Promise<{ version: OrderedVersion }>;
  range(request: RangeRequest): Promise<RangePage>;
  tokenRanges(): TokenRange[];
  dropSpace(space: number): Promise<void>;
  close(): Promise<void>;
}

/** The engine's compare-and-set failure (DESIGN.md §5 `writeOrdered`). */
export function isConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ErrorCode.CONFLICT;
}

/** The engine's range read is bounded to this many entries (DESIGN.md §5). */
export const RANGE_LIMIT_MAX = 10_000;
export const TOKEN_SPACE = 2 ** 32;
