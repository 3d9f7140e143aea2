/**
 * Transactions through the real AWS SDK v3 and ringtable's in-process wire
 * handler, over a Database on the in-memory engine: the SDK's
 * TransactionCanceledException carries CancellationReasons (with the item,
 * binary values decoded), a repeat under the SDK's ClientRequestToken applies
 * once, and TransactGetItems answers in request order.
 */
import t from 'tap';
import { GetItemCommand, TransactGetItemsCommand, TransactWriteItemsCommand, TransactionCanceledException, IdempotentParameterMismatchException } from '@aws-sdk/client-dynamodb';
import { inProcessTransport } from './helpers/dynamodb-transports.js';
import { openOnMemory } from './helpers/memory-database.js';

t.test('TransactWriteItems and TransactGetItems through the AWS SDK', async (t) => {
  const { db } = openOnMemory(t);
  await db.createTable({ TableName: 'accounts', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' });
  const transport = inProcessTransport(db);
  t.teardown(() => transport.close());
  const client = transport.client();
  const blob = Uint8Array.of(0, 1, 255);
  await db.putItem({ TableName: 'accounts', Item: { id: { S: 'a' }, balance: { N: '10' }, tag: { B: blob } } });

  const debit = (amount: number, token: string) =>
    new TransactWriteItemsCommand({
      ClientRequestToken: token,
      TransactItems: [
        { Put: { TableName: 'accounts', Item: { id: { S: 'log' }, last: { N: String(amount) } } } },
        { Update: { TableName: 'accounts', Key: { id: { S: 'a' } }, UpdateExpression: 'SET balance = balance - :a', ConditionExpression: 'balance >= :a', ExpressionAttributeValues: { ':a': { N: String(amount) } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      ],
    });
  try {
    await client.send(debit(50, 'first'));
    t.fail('expected a cancellation');
  } catch (error) {
    t.ok(error instanceof TransactionCanceledException, (error as Error).name);
    const cancelled = error as TransactionCanceledException;
    t.equal(cancelled.message, 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]');
    t.same(cancelled.CancellationReasons, [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { id: { S: 'a' }, balance: { N: '10' }, tag: { B: blob } } }]);
  }
  await client.send(debit(4, 'second'));
  await client.send(debit(4, 'second'));
  const got = await client.send(new GetItemCommand({ TableName: 'accounts', Key: { id: { S: 'a' } }, ConsistentRead: true }));
  t.same(got.Item?.['balance'], { N: '6' }, 'the repeat under the token applied nothing');
  await t.rejects(client.send(debit(5, 'second')), IdempotentParameterMismatchException);
  const read = await client.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: 'accounts', Key: { id: { S: 'log' } } } }, { Get: { TableName: 'accounts', Key: { id: { S: 'a' } }, ProjectionExpression: 'balance' } }] }));
  t.same(read.Responses, [{ Item: { id: { S: 'log' }, last: { N: '4' } } }, { Item: { balance: { N: '6' } } }]);
});
