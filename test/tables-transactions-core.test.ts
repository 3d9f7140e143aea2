/**
 * The pure parts of transactions: the ledger's state machine and what a
 * party that meets a prepared item does (transaction-ledger.ts), the
 * prepared form's decoding (prepared-item.ts), ClientRequestToken decisions,
 * and TransactWriteItems / TransactGetItems validation with DynamoDB's texts
 * (transact-write-items.ts, transact-get-items.ts; sources cited there).
 */
import t from 'tap';
import fc from 'fast-check';
import type { AttributeMap } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { activeTable, createTable, EMPTY_CATALOG, type CatalogState } from '../lib/tables/table-catalog.js';
import { committedItem, preparedOf, preparedValue, resolvedImage, type PreparedItem } from '../lib/tables/transactions/prepared-item.js';
import {
  canTransition,
  inFlightDecision,
  isStale,
  resolutionOf,
  tokenDecision,
  TOKEN_WINDOW_MS,
  withState,
  type LedgerRecord,
  type TransactionState,
} from '../lib/tables/transactions/transaction-ledger.js';
import {
  cancellationReason,
  decideAction,
  prepareTransactWriteItems,
  requestDigest,
  transactionCanceled,
  transactWriteAnswer,
} from '../lib/tables/transactions/transact-write-items.js';
import { prepareTransactGetItems } from '../lib/tables/transactions/transact-get-items.js';
import { dynamoDbFailure } from './helpers/dynamodb-failure.js';

const STATES: TransactionState[] = ['PENDING', 'COMMITTED', 'CANCELLED'];

function ledger(state: TransactionState, startedMs = 1000, transactionId = 'tx'): LedgerRecord {
  return { transactionId, state, startedMs, items: [], token: null, digest: 'd', readUnits: {} };
}

t.test('the ledger moves only from PENDING, to COMMITTED or CANCELLED', async (t) => {
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = from === 'PENDING' && to !== 'PENDING';
      t.equal(canTransition(from, to), allowed, `${from} -> ${to}`);
      if (allowed) t.equal(withState(ledger(from), to).state, to);
      else t.throws(() => withState(ledger(from), to));
    }
  }
});

t.test('what a party meeting a prepared item does', async (t) => {
  const timeoutMs = 500;
  t.same(resolutionOf('tx', undefined, 2000, timeoutMs), { kind: 'restore' }, 'no ledger: the transaction is over, the mark is stale');
  t.same(resolutionOf('tx', ledger('COMMITTED', 1000, 'other'), 2000, timeoutMs), { kind: 'restore' }, 'a later attempt under the same token');
  t.same(resolutionOf('tx', ledger('COMMITTED'), 1001, timeoutMs), { kind: 'resolve', committed: true }, 'committed: roll forward, however young');
  t.same(resolutionOf('tx', ledger('CANCELLED'), 1001, timeoutMs), { kind: 'resolve', committed: false });
  t.same(resolutionOf('tx', ledger('PENDING'), 1499, timeoutMs), { kind: 'locked' }, 'young and undecided: locked');
  t.same(resolutionOf('tx', ledger('PENDING'), 1500, timeoutMs), { kind: 'cancel' }, 'stale and undecided: cancel, never commit');
  // Property: a PENDING transaction is never resolved forward by anyone but its coordinator.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), (startedMs, nowMs, timeout) => {
      const resolution = resolutionOf('tx', ledger('PENDING', startedMs), nowMs, timeout);
      return resolution.kind === (isStale(startedMs, nowMs, timeout) ? 'cancel' : 'locked');
    }),
  );
});

t.test('ClientRequestToken: replay, mismatch, expiry after ten minutes, and a repeat meeting the running request', async (t) => {
  const record = { digest: 'abc', completedMs: 10_000, readUnits: { a: 2 } };
  t.same(tokenDecision(undefined, 'abc', 0), { kind: 'run' });
  t.same(tokenDecision(record, 'abc', 10_001), { kind: 'replay', record });
  t.same(tokenDecision(record, 'xyz', 10_001), { kind: 'mismatch' });
  t.same(tokenDecision(record, 'xyz', 10_000 + TOKEN_WINDOW_MS - 1), { kind: 'mismatch' });
  t.same(tokenDecision(record, 'xyz', 10_000 + TOKEN_WINDOW_MS), { kind: 'run' }, 'the window has passed');
  t.equal(inFlightDecision({ ...ledger('PENDING'), digest: 'abc' }, 'abc', 1100, 500), 'inProgress');
  t.equal(inFlightDecision({ ...ledger('PENDING'), digest: 'abc' }, 'xyz', 1100, 500), 'mismatch');
  t.equal(inFlightDecision({ ...ledger('PENDING'), digest: 'abc' }, 'abc', 1500, 500), 'recover');
  t.equal(inFlightDecision({ ...ledger('COMMITTED'), digest: 'abc' }, 'abc', 1100, 500), 'recover');
});

t.test('a prepared item reads as its prior image; items never look prepared', async (t) => {
  const prior: AttributeMap = { pk: { S: 'a' }, v: { N: '1' } };
  const next: AttributeMap = { pk: { S: 'a' }, v: { N: '2' } };
  const held: PreparedItem = { transactionId: 'tx', ledgerName: 'tx', startedMs: 1, action: 'Update', prior, next };
  const stored = structuredClone(preparedValue(held));
  t.same(preparedOf(stored), held);
  t.same(committedItem(stored), prior);
  t.same(resolvedImage(held, true), next);
  t.same(resolvedImage(held, false), prior);
  t.equal(committedItem(preparedValue({ ...held, prior: null })), undefined, 'an item the transaction creates is absent until applied');
  t.equal(resolvedImage({ ...held, next: null }, true), undefined, 'a delete');
  t.same(committedItem(next), next);
  t.equal(preparedOf(next), undefined);
  t.equal(committedItem(undefined), undefined);
});

// ---------------------------------------------------------------------------- validation

const SIMPLE = { TableName: 'accounts', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] };
const COMPOSITE = {
  TableName: 'orders',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
};

function catalog(): CatalogState {
  let state = EMPTY_CATALOG;
  for (const input of [SIMPLE, COMPOSITE]) state = createTable(state, { ...input, BillingMode: 'PAY_PER_REQUEST' }, { nowMs: 0, tableUuid: input.TableName }).state;
  return state;
}
const state = catalog();
const table = (name: string) => activeTable({ ...state, tables: Object.fromEntries(Object.entries(state.tables).map(([k, v]) => [k, { ...v, status: 'ACTIVE' as const }])) }, name);
const writeFailure = (request: Record<string, unknown>) => dynamoDbFailure(() => prepareTransactWriteItems(request, table));
const put = (id: string, extra: Record<string, unknown> = {}) => ({ Put: { TableName: 'accounts', Item: { id: { S: id } }, ...extra } });

t.test('TransactWriteItems: request-level validation with DynamoDB texts', async (t) => {
  t.same(writeFailure({ TransactItems: [] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
  });
  const tooMany = writeFailure({ TransactItems: Array.from({ length: 101 }, (_, i) => put(`a${i}`)) });
  t.match(tooMany.message, /^1 validation error detected: Value '\[.+\]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100$/s);
  t.same(writeFailure({ TransactItems: [put('a'), put('a')] }), { name: 'ValidationException', message: 'Transaction request cannot include multiple operations on one item' });
  t.same(
    writeFailure({ TransactItems: [put('a'), { ConditionCheck: { TableName: 'accounts', Key: { id: { S: 'a' } }, ConditionExpression: 'attribute_exists(id)' } }] }),
    { name: 'ValidationException', message: 'Transaction request cannot include multiple operations on one item' },
    'a ConditionCheck counts as an operation on its item',
  );
  t.same(writeFailure({ TransactItems: [{ ConditionCheck: { TableName: 'accounts', Key: { id: { S: 'a' } } } }] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null",
  });
  t.same(writeFailure({ TransactItems: [put('a'), { Update: { TableName: 'bad!name', Key: { id: { S: 'a' } }, UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': { S: 'x' } } } }] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value 'bad!name' at 'transactItems.2.member.update.tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
  });
  t.same(writeFailure({ TransactItems: [{}] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value '' at 'transactItems' failed to satisfy constraint: TransactWriteRequest should contain Delete or Put or Update or ConditionCheck",
  });
  t.match(writeFailure({ TransactItems: [put('a')], ClientRequestToken: 'x'.repeat(37) }).message, /at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36/);
  t.same(writeFailure({ TransactItems: [put('a', { ReturnValuesOnConditionCheckFailure: 'dog' })] }), {
    name: 'ValidationException',
    message: "1 validation error detected: Value 'dog' at 'transactItems.1.member.put.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
  });
  t.same(writeFailure({ TransactItems: [put('a', { ConditionExpression: 'attribute_exists(p)', ExpressionAttributeValues: { ':v': { S: 'x' } } })] }), {
    name: 'ValidationException',
    message: 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}',
  });
  t.same(writeFailure({ TransactItems: [put('a', { ConditionExpression: '' })] }), { name: 'ValidationException', message: 'Invalid ConditionExpression: The expression can not be empty;' });
  t.same(writeFailure({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { S: '' } } } }] }), {
    name: 'ValidationException',
    message: 'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id',
  });
  t.same(writeFailure({ TransactItems: [{ Put: { TableName: 'missing', Item: { id: { S: 'a' } } } }] }), { name: 'ResourceNotFoundException', message: 'Requested resource not found' });
  const big = 'x'.repeat(100_000);
  t.match(writeFailure({ TransactItems: Array.from({ length: 50 }, (_, i) => ({ Put: { TableName: 'accounts', Item: { id: { S: `a${i}` }, x: { S: big } } } })) }).message, /cannot exceed 4 MB$/);
  t.doesNotThrow(() => prepareTransactWriteItems({ TransactItems: Array.from({ length: 30 }, (_, i) => ({ Put: { TableName: 'accounts', Item: { id: { S: `a${i}` }, x: { S: big } } } })) }, table), '3 MB is allowed');
  t.doesNotThrow(() => prepareTransactWriteItems({ TransactItems: Array.from({ length: 100 }, (_, i) => put(`a${i}`)) }, table), '100 actions are allowed');
});

t.test('TransactWriteItems: key errors cancel with the first ValidationError reason, None for the others', async (t) => {
  const cancelled = (request: Record<string, unknown>) => {
    try {
      prepareTransactWriteItems(request, table);
    } catch (error) {
      if (error instanceof DynamoDbError) return error;
      throw error;
    }
    throw new Error('expected a cancellation');
  };
  const typed = cancelled({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { N: '7' } } } }, { Put: { TableName: 'accounts', Item: { id: { N: '8' } } } }, put('c', { ConditionExpression: 'attribute_exists(id)' })] });
  t.equal(typed.name, 'TransactionCanceledException');
  t.equal(typed.message, 'Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError, None, None]');
  t.same(typed.cancellationReasons, [{ Code: 'ValidationError', Message: 'One or more parameter values were invalid: Type mismatch for key id expected: S actual: N' }, { Code: 'None' }, { Code: 'None' }]);
  for (const action of ['Update', 'Delete', 'ConditionCheck'] as const) {
    const extra = action === 'Update' ? { UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': { S: 'x' } } } : action === 'ConditionCheck' ? { ConditionExpression: 'attribute_not_exists(id)' } : {};
    const error = cancelled({ TransactItems: [{ [action]: { TableName: 'accounts', Key: { id: { N: '5' } }, ...extra } }] });
    t.same(error.cancellationReasons, [{ Code: 'ValidationError', Message: 'The provided key element does not match the schema' }], action);
  }
});

t.test('TransactWriteItems: decisions, reasons and doubled capacity', async (t) => {
  const plan = prepareTransactWriteItems(
    {
      TransactItems: [
        put('a', { ConditionExpression: 'attribute_not_exists(id)' }),
        { Update: { TableName: 'accounts', Key: { id: { S: 'b' } }, UpdateExpression: 'SET v = v + :one', ConditionExpression: 'v >= :one', ExpressionAttributeValues: { ':one': { N: '1' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
        { ConditionCheck: { TableName: 'orders', Key: { pk: { S: 'x' }, sk: { N: '1' } }, ConditionExpression: 'attribute_exists(pk)' } },
        { Delete: { TableName: 'orders', Key: { pk: { S: 'y' }, sk: { N: '1' } } } },
      ],
      ReturnConsumedCapacity: 'TOTAL',
    },
    table,
  );
  const b = { id: { S: 'b' }, v: { N: '0' } };
  const outcomes = [decideAction(plan.actions[0]!, undefined), decideAction(plan.actions[1]!, b), decideAction(plan.actions[2]!, undefined), decideAction(plan.actions[3]!, undefined)];
  t.same(outcomes.map((o) => o.kind), ['ready', 'conditionFailed', 'conditionFailed', 'ready']);
  t.same(outcomes[1], { kind: 'conditionFailed', item: b }, 'ALL_OLD returns the item');
  t.same(outcomes[2], { kind: 'conditionFailed', item: undefined });
  const error = transactionCanceled(outcomes.map((o) => (o.kind === 'ready' ? undefined : o)));
  t.equal(error.message, 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed, None]');
  t.same(error.cancellationReasons, [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: b }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }, { Code: 'None' }]);
  t.same(cancellationReason({ kind: 'conflict' }), { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' });

  const ok = [decideAction(plan.actions[0]!, undefined), decideAction(plan.actions[1]!, { id: { S: 'b' }, v: { N: '5' } }), decideAction(plan.actions[2]!, { pk: { S: 'x' }, sk: { N: '1' } }), decideAction(plan.actions[3]!, undefined)];
  t.same(ok.map((o) => o.kind), ['ready', 'ready', 'ready', 'ready']);
  t.same(ok[1]!.kind === 'ready' && ok[1]!.next, { id: { S: 'b' }, v: { N: '6' } });
  t.same(ok[2]!.kind === 'ready' && ok[2]!.next, { pk: { S: 'x' }, sk: { N: '1' } }, 'a ConditionCheck leaves the item as it is');
  // Each action is one 1 KB write, doubled: accounts 2 + 2, orders 2 + 2.
  t.same(transactWriteAnswer(plan, ok), {
    ConsumedCapacity: [
      { TableName: 'accounts', CapacityUnits: 4, WriteCapacityUnits: 4 },
      { TableName: 'orders', CapacityUnits: 4, WriteCapacityUnits: 4 },
    ],
  });
});

t.test('the request digest ignores the token, capacity options and member order, and sees every value', async (t) => {
  const one = { TransactItems: [put('a')], ClientRequestToken: 't1' };
  const reordered = { ClientRequestToken: 't2', ReturnConsumedCapacity: 'TOTAL', TransactItems: [{ Put: { Item: { id: { S: 'a' } }, TableName: 'accounts' } }] };
  t.equal(requestDigest(one), requestDigest(reordered));
  t.not(requestDigest(one), requestDigest({ TransactItems: [put('b')] }));
  t.not(requestDigest({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { S: 'a' }, b: { B: Uint8Array.of(1) } } } }] }), requestDigest({ TransactItems: [{ Put: { TableName: 'accounts', Item: { id: { S: 'a' }, b: { B: Uint8Array.of(2) } } } }] }));
});

t.test('TransactGetItems: validation, projection and doubled read capacity', async (t) => {
  t.same(dynamoDbFailure(() => prepareTransactGetItems({ TransactItems: Array.from({ length: 101 }, (_, i) => ({ Get: { TableName: 'accounts', Key: { id: { S: `a${i}` } } } })) }, table)).name, 'ValidationException');
  t.same(dynamoDbFailure(() => prepareTransactGetItems({ TransactItems: [{ Get: { TableName: 'bad!name', Key: { id: { S: 'a' } } } }] }, table)), {
    name: 'ValidationException',
    message: "1 validation error detected: Value 'bad!name' at 'transactItems.1.member.get.tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
  });
  t.match(
    dynamoDbFailure(() => prepareTransactGetItems({ TransactItems: [{ Get: { TableName: 'accounts', Key: { id: { S: 'a' } }, ProjectionExpression: '#xx,#zz', ExpressionAttributeNames: { '#xx': 'x' } } }] }, table)).message,
    /#zz/,
  );
  const plan = prepareTransactGetItems(
    {
      TransactItems: [
        { Get: { TableName: 'accounts', Key: { id: { S: 'a' } }, ProjectionExpression: 'x' } },
        { Get: { TableName: 'accounts', Key: { id: { S: 'b' } } } },
      ],
      ReturnConsumedCapacity: 'TOTAL',
    },
    table,
  );
  const answer = plan.answer([{ id: { S: 'a' }, x: { N: '1' }, y: { N: '2' } }, undefined]);
  t.same(answer, { Responses: [{ Item: { x: { N: '1' } } }, {}], ConsumedCapacity: [{ TableName: 'accounts', CapacityUnits: 4, ReadCapacityUnits: 4 }] });
});
