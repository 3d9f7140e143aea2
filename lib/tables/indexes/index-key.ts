/**
 * Engine keys of index entries, purely. An index key need not be unique
 * (DG: GSI, LSI), so an entry's key is the index's item key (key-encoding.ts:
 * space = the index's entry space, partition part = the index partition
 * value, rest = the index sort value) followed by a 16-byte digest of the
 * base item's primary key:
 *
 *   [0xFF][entry space][token][part length] ‖ index partition ‖ index sort ‖ digest(base key)
 *
 * Entries of one index partition are then ordered by index sort value, and
 * entries with equal index keys by base-key digest (DynamoDB leaves their
 * order unspecified). An LSI's partition value is the table's, so its entries
 * share the base item's token: one leader writes both in one transaction.
 *
 * The digest makes a key 16 bytes longer than the item key; an index whose
 * partition value and sort value are both near DynamoDB's maximum sizes can
 * exceed the engine's key bound (key-encoding.ts), which is refused.
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { encodeItemKey, encodeKeyValue, prefixEnd, sortPrefixRange, sortValueRange, ENGINE_KEY_BYTES_MAX, type KeyRange, type KeyValue } from '../key-encoding.js';
import type { SortKeyCondition } from '../expression/key-condition.js';
import type { PrimaryKeyValues } from '../table-schema.js';

export const BASE_DIGEST_BYTES = 16;

/** The digest that orders and distinguishes entries with equal index keys. */
export function baseKeyDigest(baseKey: PrimaryKeyValues): Uint8Array {
  const hash = createHash('sha256').update(encodeKeyValue(baseKey.partition));
  if (baseKey.sort !== undefined) hash.update(encodeKeyValue(baseKey.sort));
  return new Uint8Array(hash.digest().subarray(0, BASE_DIGEST_BYTES));
}

export interface EncodedIndexKey {
  key: Uint8Array;
  /** Header ‖ index partition part: every entry of the index partition begins with it. */
  partitionPrefix: Uint8Array;
  partitionPart: Uint8Array;
}

export function encodeIndexKey(space: number, indexKey: PrimaryKeyValues, baseKey: PrimaryKeyValues): EncodedIndexKey {
  const item = encodeItemKey(space, indexKey.partition, indexKey.sort);
  const digest = baseKeyDigest(baseKey);
  const key = new Uint8Array(item.key.byteLength + BASE_DIGEST_BYTES);
  key.set(item.key, 0);
  key.set(digest, item.key.byteLength);
  return { key, partitionPrefix: item.partitionPrefix, partitionPart: item.partitionPart };
}

/** Whether an index key fits the engine (see the header). */
export function fitsEngine(key: Uint8Array): boolean {
  return key.byteLength <= ENGINE_KEY_BYTES_MAX;
}

/** The entries that may hold one index sort value: every digest after its item-key bytes (its whole tie group when truncated). */
export function indexValueRange(partitionPrefix: Uint8Array, sortValue: KeyValue): { start: Uint8Array; end: Uint8Array } {
  const range = sortValueRange(partitionPrefix, sortValue);
  return { start: range.start, end: prefixEnd(range.start)! };
}

/** The entries a sort-key condition may select within one index partition (query.ts `sortConditionRange`, digest-aware). */
export function indexConditionRange(partitionPrefix: Uint8Array, condition: SortKeyCondition | undefined): { start: Uint8Array; end: Uint8Array } {
  const partitionEnd = prefixEnd(partitionPrefix)!;
  if (condition === undefined) return { start: partitionPrefix, end: partitionEnd };
  const [first, second] = condition.values as KeyValue[];
  const of = (value: KeyValue) => indexValueRange(partitionPrefix, value);
  switch (condition.operator) {
    case 'EQ':
      return of(first!);
    case 'LT':
    case 'LE':
      return { start: partitionPrefix, end: of(first!).end };
    case 'GT':
    case 'GE':
      return { start: of(first!).start, end: partitionEnd };
    case 'BETWEEN':
      return { start: of(first!).start, end: of(second!).end };
    case 'BEGINS_WITH': {
      const range: KeyRange = sortPrefixRange(partitionPrefix, first as { S: string } | { B: Uint8Array });
      return { start: range.start, end: range.end ?? partitionEnd };
    }
  }
}

/** DynamoDB's order of two entries with equal index sort values: by base-key digest, as the keys are. */
export function compareDigests(a: PrimaryKeyValues, b: PrimaryKeyValues): number {
  return Math.sign(Buffer.compare(baseKeyDigest(a), baseKeyDigest(b)));
}
