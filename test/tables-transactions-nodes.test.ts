/**
 * Transactions against real storage nodes (Database.open: node threads, LMDB,
 * leader-ordered compare-and-set):
 * - concurrent transfers between accounts spread over the ring while nodes
 *   crash and restart under them (crashNode / startNode): once everything is
 *   back and the stale transactions are recovered, every balance equals the
 *   start plus exactly the receipts present (each transfer all or nothing),
 *   the total is conserved, and every transfer acknowledged to a client is
 *   there;
 * - the same after kill -9 of a child process running transfers
 *   (helpers/transaction-writer.ts), reopened on its directory;
 * - a single write meeting a transaction in flight gets
 *   TransactionConflictException.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { Database } from '../lib/index.js';
import { Prng } from '../lib/prng.js';
import { tempDir } from './helpers/temp-store.js';
import { createAccounts, ledgerOfBalances, runTransfer, transferRequest } from './helpers/transfer-workload.js';

const WRITER = fileURLToPath(new URL('./helpers/transaction-writer.js', import.meta.url));
const ACCOUNTS = 8;
const BALANCE = 1000;
const TIMEOUT_MS = 300;

async function open(t: Test, path: string): Promise<Database> {
  const db = await Database.open({ path, nodes: 4, durability: 'none', transactionTimeoutMs: TIMEOUT_MS });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await db.close();
  });
  const close = db.close.bind(db);
  db.close = async () => {
    closed = true;
    await close();
  };
  return db;
}

async function checkAfterRecovery(t: Test, db: Database, acknowledged: readonly number[]): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 11));
  await db.recoverTransactions();
  const { expected, actual, receipts } = await ledgerOfBalances(db, ACCOUNTS, BALANCE);
  t.same(actual, expected, 'every balance is the start plus exactly the receipts present: each transfer all or nothing');
  t.equal(actual.reduce((sum, value) => sum + value, 0), ACCOUNTS * BALANCE, 'the total is conserved');
  const present = new Set(receipts);
  const missing = acknowledged.filter((id) => !present.has(id));
  t.same(missing, [], `every acknowledged transfer is visible (${acknowledged.length} acknowledged, ${receipts.length} present)`);
  t.equal(await db.recoverTransactions(), 0, 'no transaction is left open');
}

t.test('concurrent transfers across nodes while nodes crash and restart', async (t) => {
  const db = await open(t, tempDir(t));
  await createAccounts(db, ACCOUNTS, BALANCE);
  const prng = new Prng(7);
  const acknowledged: number[] = [];
  const unknown: number[] = [];
  let receipt = 0;
  let running = true;
  let crashes = 0;
  const CRASHES_MIN = 6;
  const client = async (): Promise<void> => {
    // Transfers go on until the nodes crashed CRASHES_MIN times under them (bounded).
    for (let n = 0; n < 400 && (n < 20 || crashes < CRASHES_MIN); n += 1) {
      const from = prng.nextBelow(ACCOUNTS);
      const to = (from + 1 + prng.nextBelow(ACCOUNTS - 1)) % ACCOUNTS;
      const id = ++receipt;
      const outcome = await runTransfer(db, transferRequest(from, to, 1 + prng.nextBelow(50), id, `nodes-${id}`), 200, () => 5 + prng.nextBelow(30));
      if (outcome === 'committed') acknowledged.push(id);
      if (outcome === 'unknown') unknown.push(id);
    }
  };
  const chaos = async (): Promise<void> => {
    while (running) {
      const node = prng.nextBelow(4);
      db.store.crashNode(node);
      crashes += 1;
      await new Promise((resolve) => setTimeout(resolve, 50 + prng.nextBelow(150)));
      await db.store.startNode(node);
      await new Promise((resolve) => setTimeout(resolve, 20 + prng.nextBelow(80)));
    }
  };
  const crashing = chaos();
  await Promise.all(Array.from({ length: 5 }, client));
  running = false;
  await crashing;
  t.ok(crashes >= CRASHES_MIN, `${crashes} node crashes during the run`);
  t.same(unknown, [], 'every transfer reached an outcome (committed, or refused by its condition)');
  t.ok(acknowledged.length > 20, `${acknowledged.length} transfers committed`);
  await checkAfterRecovery(t, db, acknowledged);
});

t.test('kill -9 of a process mid-transactions: reopened, every transfer is all or nothing', async (t) => {
  const path = tempDir(t);
  const setup = await open(t, path);
  await createAccounts(setup, ACCOUNTS, BALANCE);
  await setup.close();
  const child = spawn(process.execPath, [WRITER, JSON.stringify({ path, seed: 11, accounts: ACCOUNTS, clients: 6, transactionTimeoutMs: TIMEOUT_MS })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
  const acknowledged: number[] = [];
  const killAt = 40 + new Prng(11).nextBelow(40);
  const lines = readline.createInterface({ input: child.stdout });
  const deadline = setTimeout(() => child.kill('SIGKILL'), 120_000);
  for await (const line of lines) {
    if (line.startsWith('ack ')) acknowledged.push(Number(line.slice(4)));
    if (acknowledged.length >= killAt) {
      child.kill('SIGKILL');
      break;
    }
  }
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  clearTimeout(deadline);
  t.equal(child.signalCode, 'SIGKILL', `killed mid-load after ${acknowledged.length} acknowledgements ${stderr}`);
  t.ok(acknowledged.length >= killAt, 'the writer made progress before the kill');
  const db = await open(t, path);
  await checkAfterRecovery(t, db, acknowledged);
});

t.test('a single write meeting a transaction in flight gets TransactionConflictException; the transaction then commits', async (t) => {
  const db = await open(t, tempDir(t));
  await createAccounts(db, 2, 100);
  // Many actions make the prepare phase long enough to meet; retried until a put lands inside it.
  const items = Array.from({ length: 100 }, (_, i) => ({ Put: { TableName: 'receipts', Item: { pk: { S: 'bulk' }, sk: { N: String(i) } } } }));
  let conflicts = 0;
  for (let round = 0; round < 20 && conflicts === 0; round += 1) {
    const transaction = db.transactWriteItems({ TransactItems: [{ Update: { TableName: 'accounts', Key: { id: { S: 'a0' } }, UpdateExpression: 'SET n = if_not_exists(n, :z) + :one', ExpressionAttributeValues: { ':z': { N: '0' }, ':one': { N: '1' } } } }, ...items.slice(1)] } as never);
    for (let i = 0; i < 200; i += 1) {
      try {
        await db.updateItem({ TableName: 'accounts', Key: { id: { S: 'a0' } }, UpdateExpression: 'SET touched = :t', ExpressionAttributeValues: { ':t': { N: String(i) } } });
      } catch (error) {
        t.equal((error as Error).name, 'TransactionConflictException');
        t.equal((error as Error).message, 'Transaction is ongoing for the item');
        conflicts += 1;
        break;
      }
    }
    await transaction;
  }
  t.ok(conflicts > 0, 'a single write met the transaction and was refused');
  const got = await db.getItem({ TableName: 'accounts', Key: { id: { S: 'a0' } }, ConsistentRead: true });
  t.ok(Number((got.Item?.['n'] as { N: string }).N) >= 1, 'the transaction committed after the refused write');
});
