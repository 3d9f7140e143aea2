/**
 * BatchWriteItem as a pure core (API: BatchWriteItem; reference §8;
 * dyn:validations/batchWriteItem.js and dyn:actions/batchWriteItem.js,
 * recorded against DynamoDB): Coral's constraints on RequestItems (at least
 * one table, names, 1..25 requests per table); a request with neither or
 * both of PutRequest and DeleteRequest is "Supplied AttributeValue has more
 * than one datatypes set, must contain exactly one of the supported
 * datatypes"; each item's or key's AttributeValues and each item's size;
 * then the 25-request total over all tables (DynamoDB counts per request,
 * dynalite per table: reference §18; the total's text is another
 * emulator's, "Too many items requested for the BatchWriteItem call",
 * unverified); then the tables, each key against its schema (a PutRequest
 * key of the wrong type is "The provided key element does not match the
 * schema"), and duplicates ("Provided list of item keys contains
 * duplicates"). The whole batch is refused on any of these.
 *
 * Each put or delete is then its own write, not atomic as a whole; a write
 * the engine could not make is an UnprocessedItems entry, and only when
 * nothing was written is the failure the answer. Capacity: each write
 * rounded on its own (the larger of the old and the new item), then summed
 * per table.
 */
import { addIndexUnits, NO_INDEX_UNITS, withIndexParts, type IndexUnits } from './indexes/index-capacity.js';
import type { AttributeMap } from './attribute-value.js';
import { consumedCapacity, writeItemCapacity, type ConsumedCapacity } from './capacity-units.js';
import { validationError } from './dynamodb-error.js';
import { checkItemSize, itemSize } from './item-size.js';
import { capacityMode, validatedItem, type Request } from './item-request.js';
import { validateAttributeMap } from './attribute-validation.js';
import { encodeItemKey, type KeyValue } from './key-encoding.js';
import {
  checkConstraints,
  constraintMessages,
  RETURN_CONSUMED_CAPACITY,
  RETURN_ITEM_COLLECTION_METRICS,
  throwConstraintErrors,
} from './request-constraints.js';
import type { TableRecord } from './table-catalog.js';
import { checkIndexKeyTypes, extractItemKey, extractKey, type PrimaryKeyValues } from './table-schema.js';

export const BATCH_WRITE_REQUESTS_MAX = 25;

export interface BatchWrite {
  readonly tableName: string;
  readonly key: PrimaryKeyValues;
  /** The item to put, or undefined to delete. */
  readonly item: AttributeMap | undefined;
  /** The request as given, for UnprocessedItems. */
  readonly original: Record<string, unknown>;
}

/** What the shell did for one write: the old item's size (undefined: there was none), or a failure. */
/** A write done (the item it replaced, and what it cost the table's secondary indexes, index-capacity.ts) or failed. */
export type BatchWriteResult = { readonly oldBytes: number | undefined; readonly indexUnits?: IndexUnits } | { readonly failed: unknown };

export interface BatchWriteItemOutput {
  UnprocessedItems: Record<string, Array<Record<string, unknown>>>;
  ConsumedCapacity?: ConsumedCapacity[];
}

export interface BatchWriteItemPlan {
  readonly writes: readonly BatchWrite[];
  answer(results: readonly BatchWriteResult[]): BatchWriteItemOutput;
}

interface WriteRequest {
  readonly PutRequest?: { readonly Item?: unknown } | null;
  readonly DeleteRequest?: { readonly Key?: unknown } | null;
}

const MORE_THAN_ONE_DATATYPE = 'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';

export function prepareBatchWriteItem(request: Request, table: (name: string) => TableRecord): BatchWriteItemPlan {
  checkConstraints(request, [RETURN_CONSUMED_CAPACITY, RETURN_ITEM_COLLECTION_METRICS, { field: 'RequestItems', notNull: true, lengthMin: 1 }]);
  const requestItems = request['RequestItems'] as Record<string, WriteRequest[]>;
  const messages: string[] = [];
  for (const [name, writes] of Object.entries(requestItems)) {
    messages.push(...constraintMessages(name, { field: 'RequestItems', name: true }, 'requestItems'));
    const count = Array.isArray(writes) ? writes.length : 0;
    if (count < 1 || count > BATCH_WRITE_REQUESTS_MAX) {
      messages.push(
        `Value '${JSON.stringify(requestItems)}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to ${BATCH_WRITE_REQUESTS_MAX}, Member must have length greater than or equal to 1]`,
      );
    }
  }
  throwConstraintErrors(messages);

  const parsed: Array<{ name: string; original: WriteRequest; item: AttributeMap | undefined; key: AttributeMap | undefined }> = [];
  for (const [name, writes] of Object.entries(requestItems)) {
    for (const write of writes) {
      const put = write.PutRequest !== undefined && write.PutRequest !== null;
      const del = write.DeleteRequest !== undefined && write.DeleteRequest !== null;
      if (put === del) throw validationError(MORE_THAN_ONE_DATATYPE);
      if (put) {
        const item = validatedItem(write.PutRequest.Item, 'bare');
        checkItemSize(item, 'put');
        parsed.push({ name, original: write, item, key: undefined });
      } else {
        parsed.push({ name, original: write, item: undefined, key: validateAttributeMap(write.DeleteRequest!.Key, { parameter: 'Key' }) });
      }
    }
  }
  if (parsed.length > BATCH_WRITE_REQUESTS_MAX) throw validationError('Too many items requested for the BatchWriteItem call');

  const writes: BatchWrite[] = [];
  const seen = new Set<string>();
  for (const { name, original, item, key } of parsed) {
    const record = table(name);
    const primaryKey = item !== undefined ? extractItemKey(item, record.schema, 'schemaMismatch') : extractKey(key!, record.schema);
    if (item !== undefined) checkIndexKeyTypes(item, record.schema);
    const identity = `${record.id}:${Buffer.from(encodeItemKey(record.id, primaryKey.partition, primaryKey.sort as KeyValue | undefined).key).toString('base64')}`;
    if (seen.has(identity)) throw validationError('Provided list of item keys contains duplicates');
    seen.add(identity);
    writes.push({ tableName: name, key: primaryKey, item, original: original as Record<string, unknown> });
  }
  const mode = capacityMode(request);
  const tableNames = Object.keys(requestItems);
  return {
    writes,
    answer(results) {
      const output: BatchWriteItemOutput = { UnprocessedItems: {} };
      const units = new Map(tableNames.map((name) => [name, 0]));
      const indexUnits = new Map<string, IndexUnits>(tableNames.map((name) => [name, NO_INDEX_UNITS]));
      let written = 0;
      let firstFailure: unknown;
      results.forEach((result, i) => {
        const write = writes[i]!;
        if ('failed' in result) {
          firstFailure ??= result.failed;
          (output.UnprocessedItems[write.tableName] ??= []).push(write.original);
          return;
        }
        written += 1;
        const newBytes = write.item === undefined ? undefined : itemSize(write.item);
        units.set(write.tableName, units.get(write.tableName)! + writeItemCapacity(write.item === undefined ? result.oldBytes : undefined, newBytes));
        if (result.indexUnits !== undefined) indexUnits.set(write.tableName, addIndexUnits(indexUnits.get(write.tableName)!, result.indexUnits));
      });
      if (written === 0 && firstFailure !== undefined) throw firstFailure;
      if (mode !== undefined && mode !== 'NONE') output.ConsumedCapacity = tableNames.map((name) => withIndexParts(consumedCapacity(mode, name, { table: units.get(name)! })!, indexUnits.get(name)!));
      return output;
    },
  };
}
