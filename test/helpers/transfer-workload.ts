/**
 * A transfer workload for the transaction tests against real storage nodes:
 * accounts and receipts tables, a transfer as one TransactWriteItems (debit
 * with a condition, credit, and a receipt that records it), clients that
 * retry under the same ClientRequestToken until the outcome is known, and the
 * all-or-nothing check (balances equal the start plus exactly the receipts
 * present). Shared by test/tables-transactions-nodes.test.ts and its child
 * process (transaction-writer.ts). Not a *.test.ts: tap does not run it.
 */
import { Database, DynamoDbError, type AttributeMap } from '../../lib/index.js';

export const ACCOUNTS_TABLE = {
  TableName: 'accounts',
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

export const RECEIPTS_TABLE = {
  TableName: 'receipts',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'N' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

export async function createAccounts(db: Database, accounts: number, balance: number): Promise<void> {
  await db.createTable(ACCOUNTS_TABLE);
  await db.createTable(RECEIPTS_TABLE);
  for (let i = 0; i < accounts; i += 1) await db.putItem({ TableName: 'accounts', Item: { id: { S: `a${i}` }, balance: { N: String(balance) } } });
}

export function transferRequest(from: number, to: number, amount: number, receipt: number, token: string): Record<string, unknown> {
  return {
    ClientRequestToken: token,
    TransactItems: [
      { Update: { TableName: 'accounts', Key: { id: { S: `a${from}` } }, UpdateExpression: 'SET balance = balance - :a', ConditionExpression: 'balance >= :a', ExpressionAttributeValues: { ':a': { N: String(amount) } } } },
      { Update: { TableName: 'accounts', Key: { id: { S: `a${to}` } }, UpdateExpression: 'SET balance = balance + :a', ExpressionAttributeValues: { ':a': { N: String(amount) } } } },
      { Put: { TableName: 'receipts', Item: { pk: { S: 'r' }, sk: { N: String(receipt) }, from: { S: `a${from}` }, to: { S: `a${to}` }, amount: { N: String(amount) } }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ],
  };
}

export type TransferOutcome = 'committed' | 'refused' | 'unknown';

/**
 * Runs one transfer to a known outcome: retried under its token (so a retry
 * never applies it twice) on conflicts, on a transaction still in progress
 * and on engine failures while nodes come and go; 'refused' when the debit's
 * condition failed; 'unknown' when `attemptsMax` ran out.
 */
export async function runTransfer(db: Database, request: Record<string, unknown>, attemptsMax: number, backoffMs: () => number): Promise<TransferOutcome> {
  for (let attempt = 0; attempt < attemptsMax; attempt += 1) {
    try {
      await db.transactWriteItems(request as never);
      return 'committed';
    } catch (error) {
      const codes = error instanceof DynamoDbError ? (error.cancellationReasons ?? []).map((reason) => reason.Code) : [];
      if (error instanceof DynamoDbError && error.name === 'TransactionCanceledException' && codes.includes('ConditionalCheckFailed') && !codes.includes('TransactionConflict')) return 'refused';
      await new Promise((resolve) => setTimeout(resolve, backoffMs()));
    }
  }
  return 'unknown';
}

export async function receiptsOf(db: Database): Promise<AttributeMap[]> {
  const items: AttributeMap[] = [];
  let start: AttributeMap | undefined;
  do {
    const page = await db.query({ TableName: 'receipts', KeyConditionExpression: 'pk = :r', ExpressionAttributeValues: { ':r': { S: 'r' } }, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) });
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The balances the receipts present imply, and the balances read: equal when every transfer is all or nothing. */
export async function ledgerOfBalances(db: Database, accounts: number, balance: number): Promise<{ expected: number[]; actual: number[]; receipts: number[] }> {
  const expected = Array.from({ length: accounts }, () => balance);
  const receipts = await receiptsOf(db);
  for (const receipt of receipts) {
    const amount = Number((receipt['amount'] as { N: string }).N);
    expected[Number((receipt['from'] as { S: string }).S.slice(1))]! -= amount;
    expected[Number((receipt['to'] as { S: string }).S.slice(1))]! += amount;
  }
  const actual: number[] = [];
  for (let i = 0; i < accounts; i += 1) {
    const got = await db.getItem({ TableName: 'accounts', Key: { id: { S: `a${i}` } }, ConsistentRead: true });
    actual.push(Number((got.Item?.['balance'] as { N: string } | undefined)?.N ?? NaN));
  }
  return { expected, actual, receipts: receipts.map((item) => Number((item['sk'] as { N: string }).N)).sort((a, b) => a - b) };
}
