/**
 * TransactGetItems as a pure core (API reference: TransactGetItems;
 * reference §9): up to 100 Gets, each a GetItem with Key, TableName,
 * ProjectionExpression and ExpressionAttributeNames, answered in request
 * order, all as of one instant. Validation: Coral's constraints
 * ('transactItems.N.member.get.tableName', recorded against DynamoDB by the
 * conformance suite cited in transact-write-items.ts), then each Get as
 * GetItem's core checks it (a bad expression is a ValidationException for
 * the whole request: Alternator's test_transact.py
 * `test_transact_get_items_missing_expressionattributenames`), then two Gets
 * of one item. A Get of an item that an unfinished transaction is writing
 * cancels the read with reason TransactionConflict (DG:transaction-apis#transaction-conflict-handling).
 * Transactional reads cost double (reference §3): each item rounded to 4 KB.
 */
import type { AttributeMap } from '../attribute-value.js';
import { getItemCapacity, type ReturnConsumedCapacity } from '../capacity-units.js';
import { validationError } from '../dynamodb-error.js';
import { prepareGetItem, type GetItemPlan } from '../get-item.js';
import { keyIdentity } from '../batch-get-item.js';
import { itemSize } from '../item-size.js';
import type { Request } from '../item-request.js';
import { constraintMessages, RETURN_CONSUMED_CAPACITY, throwConstraintErrors } from '../request-constraints.js';
import type { TableRecord } from '../table-catalog.js';
import { capacityOutput, MULTIPLE_OPERATIONS_ON_ONE_ITEM, TRANSACT_ITEMS_MAX, type TransactionConsumedCapacity } from './transact-write-items.js';

export interface TransactGetItemsOutput {
  Responses: Array<{ Item?: AttributeMap }>;
  ConsumedCapacity?: TransactionConsumedCapacity[];
}

export interface TransactGetPlan {
  readonly gets: readonly GetItemPlan[];
  answer(items: ReadonlyArray<AttributeMap | undefined>): TransactGetItemsOutput;
}

export function prepareTransactGetItems(request: Request, table: (name: string) => TableRecord): TransactGetPlan {
  const entries = request['TransactItems'];
  const messages = constraintMessages(entries, { field: 'TransactItems', notNull: true, lengthMin: 1, lengthMax: TRANSACT_ITEMS_MAX });
  if (Array.isArray(entries)) {
    entries.forEach((entry, i) => {
      const get = (entry as { Get?: Request } | null)?.Get;
      const path = `transactItems.${i + 1}.member.get`;
      messages.push(...constraintMessages(get, { field: 'Get', notNull: true }, path));
      if (get === undefined || get === null) return;
      messages.push(...constraintMessages(get['Key'], { field: 'Key', notNull: true }, `${path}.key`));
      messages.push(...constraintMessages(get['TableName'], { field: 'TableName', notNull: true, name: true }, `${path}.tableName`));
    });
  }
  messages.push(...constraintMessages(request['ReturnConsumedCapacity'], RETURN_CONSUMED_CAPACITY));
  throwConstraintErrors(messages);

  const gets = (entries as Array<{ Get: Request }>).map((entry) => prepareGetItem({ ...entry.Get, ConsistentRead: true }, table));
  const seen = new Set<string>();
  for (const get of gets) {
    const key: AttributeMap = get.key.sort === undefined ? { p: get.key.partition } : { p: get.key.partition, s: get.key.sort };
    const identity = `${get.tableName}\u0000${keyIdentity(key)}`;
    if (seen.has(identity)) throw validationError(MULTIPLE_OPERATIONS_ON_ONE_ITEM);
    seen.add(identity);
  }
  const mode = request['ReturnConsumedCapacity'] as ReturnConsumedCapacity | undefined;
  return {
    gets,
    answer(items) {
      const units = new Map<string, number>();
      const responses = gets.map((get, i) => {
        const item = items[i];
        units.set(get.tableName, (units.get(get.tableName) ?? 0) + getItemCapacity(item === undefined ? undefined : itemSize(item), 'transactional'));
        // GetItem's answer projects; its own capacity is not the transaction's.
        const { Item } = get.answer(item);
        return Item === undefined ? {} : { Item };
      });
      return { Responses: responses, ...capacityOutput(mode, units, 'ReadCapacityUnits') };
    },
  };
}
