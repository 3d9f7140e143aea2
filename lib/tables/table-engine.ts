/**
 * What the tables layer needs from the engine: the Store API contract of
 * DESIGN.md §5, in key-value words. The Store satisfies this interface
 * structurally; declaring it here keeps the tables layer compiling against
 * the contract alone, and lets the operation cores be driven by any
 * implementation of it (the real Store, or a test's).
 */

/** Opaque version of a leader-ordered value; compare only for equality. */
export type OrderedVersion = string;

export interface OrderedValue {
  value: unknown;
  version: OrderedVersion;
  /** Node id of the replica that answered. */
  replica: number;
}

export interface OrderedWrite {
  key: Uint8Array;
  /** undefined deletes. */
  value?: unknown;
  /** Compare-and-set at the leader: apply only if the current version is this one, or ('absent') if there is no live value. */
  expect?: OrderedVersion | 'absent';
  ttlMs?: number;
}

export interface RangeRequest {
  /** Inclusive lower bound (at least the 9 bytes up to the token). */
  start: Uint8Array;
  /** Exclusive upper bound, in start's ring partition. */
  end: Uint8Array;
  reverse?: boolean;
  /** 1..10,000; default 1,000. */
  limit?: number;
  bytesMax?: number;
  consistent?: boolean;
}

export interface RangeEntry {
  key: Uint8Array;
  value: unknown;
  version: OrderedVersion;
  valueBytes: number;
}

export interface RangePage {
  entries: RangeEntry[];
  /** More keys after the last entry: resume with start = last key ‖ 0x00, or end = last key when reverse. */
  more: boolean;
  replica: number;
}

export interface TokenRange {
  partition: number;
  tokenStart: number;
  /** Exclusive, up to 2^32. */
  tokenEnd: number;
}

/** The Store methods the tables layer calls (DESIGN.md §5). */
export interface TableEngine {
  getOrdered(key: Uint8Array, options?: { consistent?: boolean }): Promise<OrderedValue | undefined>;
  writeOrdered(write: OrderedWrite): Promise<{ version: OrderedVersion }>;
  range(request: RangeRequest): Promise<RangePage>;
  tokenRanges(): TokenRange[];
  dropSpace(space: number): Promise<void>;
  close(): Promise<void>;
}

/** The engine's compare-and-set failure (DESIGN.md §5 `writeOrdered`). */
export const CONFLICT_CODE = 'ERR_CONFLICT';

export function isConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === CONFLICT_CODE;
}

/** The engine's range read is bounded to this many entries (DESIGN.md §5). */
export const RANGE_LIMIT_MAX = 10_000;
export const TOKEN_SPACE = 2 ** 32;
