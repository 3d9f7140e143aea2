/**
 * BatchGetItem as a pure core (API: BatchGetItem; reference §8;
 * dyn:validations/batchGetItem.js, whose tests are recorded against
 * DynamoDB): Coral's constraints on RequestItems (at least one table, names,
 * 1..100 keys per table); then per table, in order: the expression/legacy
 * mixing, each key's AttributeValues, duplicates ("Provided list of item
 * keys contains duplicates"), the 100-key total ("Too many items requested
 * for the BatchGetItem call"), AttributesToGet duplicates, the expressions;
 * then every table must exist and every key match its schema.
 *
 * The answer: items in no particular order, missing items absent; once the
 * items returned pass 16 MB the remaining keys are UnprocessedKeys (with
 * their table's other parameters); keys whose read failed are unprocessed
 * too. ConsumedCapacity is one entry per table, never with indexes.
 */
import type { AttributeMap } from './attribute-value.js';
import { consumedCapacity, getItemCapacity, type ConsumedCapacity } from './capacity-units.js';
import { validationError } from './dynamodb-error.js';
import type { ResolvedPath } from './expression/ast.js';
import { checkExpressionParameters } from './expression/legacy-parameters.js';
import { projectItem } from './expression/projection.js';
import { itemSize } from './item-size.js';
import {
  capacityMode,
  checkAttributesToGet,
  requestExpressions,
  requestProjection,
  validatedKey,
  type Request,
} from './item-request.js';
import { checkConstraints, constraintMessages, RETURN_CONSUMED_CAPACITY, throwConstraintErrors } from './request-constraints.js';
import type { TableRecord } from './table-catalog.js';
import { extractKey, type PrimaryKeyValues } from './table-schema.js';

export const BATCH_GET_KEYS_MAX = 100;
/**
 * The response is at most 16 MB (API: BatchGetItem). Its example, 100 items
 * of 300 KB of which 52 come back, fixes the reading: 16,000,000 bytes, and
 * an item that would take the total past it is left unprocessed
 * (52 × 307,200 = 15,974,400; 53 items would be 16,281,600).
 */
export const BATCH_GET_RESPONSE_BYTES_MAX = 16_000_000;

export interface BatchGetRead {
  readonly tableName: string;
  readonly keyMap: AttributeMap;
  readonly key: PrimaryKeyValues;
  readonly consistent: boolean;
}

/** What the shell got for one read: the item, its absence, or a failure. */
export type BatchGetResult = { readonly item: AttributeMap | undefined } | { readonly failed: unknown };

export interface BatchGetItemOutput {
  Responses: Record<string, AttributeMap[]>;
  UnprocessedKeys: Record<string, Record<string, unknown>>;
  ConsumedCapacity?: ConsumedCapacity[];
}

export interface BatchGetItemPlan {
  readonly reads: readonly BatchGetRead[];
  answer(results: readonly BatchGetResult[]): BatchGetItemOutput;
}

/** A canonical text of a key's values, for duplicate detection before the table is known (values already normalised). */
export function keyIdentity(key: AttributeMap): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((name) => [name, key[name], 'B' in key[name]! ? Buffer.from((key[name] as { B: Uint8Array }).B).toString('base64') : undefined]),
  );
}

interface TableRequest {
  readonly Keys: unknown[];
  readonly ConsistentRead?: boolean;
  readonly [parameter: string]: unknown;
}

export function prepareBatchGetItem(request: Request, table: (name: string) => TableRecord): BatchGetItemPlan {
  checkConstraints(request, [RETURN_CONSUMED_CAPACITY, { field: 'RequestItems', notNull: true, lengthMin: 1 }]);
  const requestItems = request['RequestItems'] as Record<string, TableRequest>;
  const messages: string[] = [];
  for (const [name, tableRequest] of Object.entries(requestItems)) {
    messages.push(...constraintMessages(name, { field: 'RequestItems', name: true }, 'requestItems'));
    messages.push(...constraintMessages(tableRequest?.Keys, { field: 'Keys', notNull: true, lengthMin: 1, lengthMax: BATCH_GET_KEYS_MAX }, `requestItems.${name}.member.keys`));
  }
  throwConstraintErrors(messages);

  let keyCount = 0;
  const perTable: Array<{ name: string; tableRequest: TableRequest; keys: AttributeMap[]; projection: readonly ResolvedPath[] | undefined }> = [];
  for (const [name, tableRequest] of Object.entries(requestItems)) {
    checkExpressionParameters('GetItem', tableRequest);
    const seen = new Set<string>();
    const keys: AttributeMap[] = [];
    for (const raw of tableRequest.Keys) {
      const key = validatedKey(raw);
      const identity = keyIdentity(key);
      if (seen.has(identity)) throw validationError('Provided list of item keys contains duplicates');
      seen.add(identity);
      keyCount += 1;
      if (keyCount > BATCH_GET_KEYS_MAX) throw validationError('Too many items requested for the BatchGetItem call');
      keys.push(key);
    }
    checkAttributesToGet(tableRequest['AttributesToGet']);
    const prepared = requestExpressions(tableRequest, undefined);
    perTable.push({ name, tableRequest, keys, projection: requestProjection(tableRequest, prepared) });
  }

  const reads: BatchGetRead[] = [];
  for (const { name, tableRequest, keys } of perTable) {
    const record = table(name);
    for (const keyMap of keys) reads.push({ tableName: name, keyMap, key: extractKey(keyMap, record.schema), consistent: tableRequest.ConsistentRead === true });
  }
  const mode = capacityMode(request);
  return {
    reads,
    answer(results) {
      const output: BatchGetItemOutput = { Responses: {}, UnprocessedKeys: {} };
      const units = new Map<string, number>();
      for (const { name } of perTable) {
        output.Responses[name] = [];
        units.set(name, 0);
      }
      let bytes = 0;
      let responseFull = false;
      let processed = 0;
      let firstFailure: unknown;
      results.forEach((result, i) => {
        const read = reads[i]!;
        const table = perTable.find((entry) => entry.name === read.tableName)!;
        const size = 'failed' in result || result.item === undefined ? undefined : itemSize(result.item);
        if (size !== undefined && bytes + size > BATCH_GET_RESPONSE_BYTES_MAX) responseFull = true;
        if ('failed' in result || responseFull) {
          if ('failed' in result) firstFailure ??= result.failed;
          const unprocessed = (output.UnprocessedKeys[read.tableName] ??= { ...withoutKeys(table.tableRequest), Keys: [] }) as { Keys: AttributeMap[] };
          unprocessed.Keys.push(read.keyMap);
          return;
        }
        processed += 1;
        units.set(read.tableName, units.get(read.tableName)! + getItemCapacity(size, read.consistent ? 'strong' : 'eventual'));
        if (result.item === undefined) return;
        bytes += size!;
        // Each item is its read's own copy (table-engine.ts), and a batch reads no key twice.
        output.Responses[read.tableName]!.push(table.projection === undefined ? result.item : projectItem(result.item, table.projection));
      });
      // Only when nothing could be read is the failure itself the answer (API: BatchGetItem).
      if (processed === 0 && firstFailure !== undefined) throw firstFailure;
      if (mode !== undefined && mode !== 'NONE') {
        output.ConsumedCapacity = perTable.map(({ name }) => consumedCapacity(mode, name, { table: units.get(name)! })!);
      }
      return output;
    },
  };
}

function withoutKeys(tableRequest: TableRequest): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...tableRequest };
  delete copy['Keys'];
  return copy;
}
