/**
 * One page of a Query or Scan, purely: the items the page evaluates, in
 * DynamoDB's order, and where it stops (API: Query, Scan; reference §4, §5).
 *
 * - `Limit` is the number of items evaluated, counted before the filter;
 *   the page also stops once the items evaluated reach 1 MB (DynamoDB's item
 *   sizes, item-size.ts; the item that reaches it is the last one). A page
 *   that stopped on either has a LastEvaluatedKey, even when nothing
 *   follows (API: QueryOutput `LastEvaluatedKey`: "does not necessarily mean
 *   that there is more data").
 * - Tie groups (key-encoding.ts): entries whose sort keys were truncated to
 *   the same cut arrive in digest order; the assembler holds a group until
 *   it is complete, sorts it by full sort value, then evaluates it. A page
 *   may stop inside a group: the next page starts at the group's first key
 *   and skips by full value what the previous page returned.
 * - Then the filter (Count counts what passes it, ScannedCount what was
 *   evaluated), the projection, Select COUNT (no Items), and the capacity:
 *   the bytes evaluated summed, then rounded once (capacity-units.ts).
 */
import type { AttributeMap } from './attribute-value.js';
import { consumedCapacity, queryCapacity, type ConsumedCapacity, type ReturnConsumedCapacity } from './capacity-units.js';
import type { ResolvedPath } from './expression/ast.js';
import { projectItem } from './expression/projection.js';
import { itemSize } from './item-size.js';
import { validationError } from './dynamodb-error.js';
import { RANGE_LIMIT_MAX } from './table-engine.js';

/** 1 MB of data read per page (DG: Query.Pagination, Scan.Pagination). */
export const PAGE_BYTES_MAX = 1024 * 1024;

export interface PageLimits {
  /** Items evaluated at most (the request's Limit). */
  readonly limit: number | undefined;
  readonly bytesMax: number;
  /** DynamoDB's order of two items of one tie group, in the read's direction. */
  readonly compareInGroup: (a: AttributeMap, b: AttributeMap) => number;
}

export class PageAssembler {
  readonly evaluated: AttributeMap[] = [];
  readonly evaluatedBytes: number[] = [];
  private bytes = 0;
  private stopped = false;
  private pending: { group: string; items: AttributeMap[] } | undefined;

  constructor(private readonly limits: PageLimits) {}

  /** Whether the page stopped on Limit or on its bytes: it has a LastEvaluatedKey. */
  get full(): boolean {
    return this.stopped;
  }

  /** The next entry in key order; `tieGroup` identifies its tie group when its sort key is truncated. */
  offer(item: AttributeMap, tieGroup: string | undefined): void {
    if (this.stopped) return;
    if (this.pending !== undefined && this.pending.group !== tieGroup) this.flush();
    if (this.stopped) return;
    if (tieGroup === undefined) {
      this.evaluate(item);
      return;
    }
    this.pending ??= { group: tieGroup, items: [] };
    this.pending.items.push(item);
  }

  /** The range is exhausted: evaluate the group still held. */
  end(): void {
    this.flush();
  }

  get lastEvaluated(): AttributeMap | undefined {
    return this.stopped ? this.evaluated[this.evaluated.length - 1] : undefined;
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined) return;
    pending.items.sort(this.limits.compareInGroup);
    for (const item of pending.items) {
      if (this.stopped) return;
      this.evaluate(item);
    }
  }

  private evaluate(item: AttributeMap): void {
    const size = itemSize(item);
    this.evaluated.push(item);
    this.evaluatedBytes.push(size);
    this.bytes += size;
    if ((this.limits.limit !== undefined && this.evaluated.length >= this.limits.limit) || this.bytes >= this.limits.bytesMax) this.stopped = true;
  }
}

export type Select = 'ALL_ATTRIBUTES' | 'ALL_PROJECTED_ATTRIBUTES' | 'SPECIFIC_ATTRIBUTES' | 'COUNT';

export interface ReadOutput {
  Items?: AttributeMap[];
  Count: number;
  ScannedCount: number;
  LastEvaluatedKey?: AttributeMap;
  ConsumedCapacity?: ConsumedCapacity;
}

export interface PageAnswer {
  readonly tableName: string;
  readonly keyNames: readonly string[];
  readonly filter: ((item: AttributeMap) => boolean) | undefined;
  readonly projection: readonly ResolvedPath[] | undefined;
  readonly select: Select;
  readonly consistent: boolean;
  readonly capacityMode: ReturnConsumedCapacity | undefined;
}

/** A page read from a secondary index. */
export interface IndexPage {
  readonly name: string;
  readonly global: boolean;
  /**
   * The sizes of the index entries evaluated, when the page's items were
   * fetched from the table (an LSI asked for attributes it does not keep);
   * otherwise the items evaluated are the entries.
   */
  readonly entryBytes?: readonly number[] | undefined;
}

/** A page's read units: the table's part and, for an index read, the index's (dynalite db/index.js queryTable; index-capacity.ts). */
export interface PageUnits {
  table: number;
  index: number;
}

export function pageUnits(answer: Pick<PageAnswer, 'consistent'>, page: PageAssembler, index?: IndexPage): PageUnits {
  const consistency = answer.consistent ? 'strong' : 'eventual';
  const read = queryCapacity(page.evaluatedBytes, consistency);
  if (index === undefined) return { table: read, index: 0 };
  if (index.entryBytes === undefined) return { table: 0, index: read };
  // An LSI that fetched items: its entries, and the table's items fetched (none fetched: nothing of the table).
  return { table: page.evaluatedBytes.length === 0 ? 0 : read, index: queryCapacity(index.entryBytes, consistency) };
}

/** The Query or Scan response for the items a page evaluated (read from the table, or from `index`). */
export function pageOutput(answer: PageAnswer, page: PageAssembler, index?: IndexPage): ReadOutput {
  const matched = answer.filter === undefined ? page.evaluated.slice() : page.evaluated.filter(answer.filter);
  const output: ReadOutput = { Count: matched.length, ScannedCount: page.evaluated.length };
  if (answer.select !== 'COUNT') {
    // The items are this read's own (table-engine.ts): no copy, unless projected.
    output.Items = answer.projection === undefined ? matched : matched.map((item) => projectItem(item, answer.projection!));
  }
  const last = page.lastEvaluated;
  if (last !== undefined) {
    const key: AttributeMap = {};
    for (const name of answer.keyNames) key[name] = structuredClone(last[name]!);
    output.LastEvaluatedKey = key;
  }
  const units = pageUnits(answer, page, index);
  const parts = index === undefined ? { table: units.table }
    : { table: units.table, [index.global ? 'globalSecondaryIndexes' : 'localSecondaryIndexes']: { [index.name]: units.index } };
  const capacity = consumedCapacity(answer.capacityMode, answer.tableName, parts);
  if (capacity !== undefined) output.ConsumedCapacity = capacity;
  return output;
}

/**
 * Select's rules with a projection (ProjectionExpression or AttributesToGet)
 * and an index (API: Query `Select`; texts recorded against DynamoDB by
 * ExtendDB's and another emulator's tests: Query's COUNT error carries
 * Coral's "1 validation error detected: " prefix, Scan's does not).
 */
export function selectOf(
  select: Select | undefined,
  projection: 'ProjectionExpression' | 'AttributesToGet' | undefined,
  indexName: string | undefined,
  operation: 'Query' | 'Scan',
): Select {
  const chosen: Select = select ?? (projection !== undefined ? 'SPECIFIC_ATTRIBUTES' : indexName !== undefined ? 'ALL_PROJECTED_ATTRIBUTES' : 'ALL_ATTRIBUTES');
  switch (chosen) {
    case 'COUNT':
      if (projection !== undefined) {
        throw validationError(`${operation === 'Query' ? '1 validation error detected: ' : ''}Cannot specify the ${projection} when choosing to get only the Count`);
      }
      break;
    case 'ALL_ATTRIBUTES':
      if (select !== undefined && projection !== undefined) throw validationError(`Cannot specify the ${projection} when choosing to get ALL_ATTRIBUTES`);
      break;
    case 'ALL_PROJECTED_ATTRIBUTES':
      // Both rules broken at once: DynamoDB reports the projection one.
      if (select !== undefined && projection !== undefined) throw validationError(`Cannot specify the ${projection} when choosing to get ALL_PROJECTED_ATTRIBUTES`);
      if (indexName === undefined) throw validationError('ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName');
      break;
    case 'SPECIFIC_ATTRIBUTES':
      if (projection === undefined) throw validationError('Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES');
      break;
  }
  return chosen;
}

/** How many entries to ask the engine for: what Limit still allows (filtered-out entries cost another round), within its bound. */
export function chunkLimit(limit: number | undefined, page: PageAssembler): number {
  const remaining = limit === undefined ? RANGE_LIMIT_MAX : limit - page.evaluated.length;
  return Math.max(1, Math.min(RANGE_LIMIT_MAX, remaining + 1));
}
