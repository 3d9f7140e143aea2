/**
 * The child process of test/tables-transactions-nodes.test.ts's kill -9
 * round: opens a Database on the given directory (already holding the
 * accounts), runs transfers from several clients at once, and prints
 * "ack <receipt>" for every committed one, until the test SIGKILLs it. Not a
 * *.test.ts: tap does not run it.
 *
 *   node dist/test/helpers/transaction-writer.js '{"path":...,"seed":1,"accounts":8,"clients":6}'
 */
import { Database } from '../../lib/index.js';
import { Prng } from '../../lib/prng.js';
import { runTransfer, transferRequest } from './transfer-workload.js';

const config = JSON.parse(process.argv[2]!) as { path: string; seed: number; accounts: number; clients: number; transactionTimeoutMs: number };
const db = await Database.open({ path: config.path, nodes: 4, durability: 'async', transactionTimeoutMs: config.transactionTimeoutMs });
const prng = new Prng(config.seed);
let receipt = 0;

async function client(): Promise<void> {
  for (;;) {
    const from = prng.nextBelow(config.accounts);
    const to = (from + 1 + prng.nextBelow(config.accounts - 1)) % config.accounts;
    const id = ++receipt;
    const outcome = await runTransfer(db, transferRequest(from, to, 1 + prng.nextBelow(20), id, `kill-${config.seed}-${id}`), 1000, () => 5 + prng.nextBelow(20));
    if (outcome === 'committed') process.stdout.write(`ack ${id}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: config.clients }, client));
