/**
 * Transactions in the deterministic simulation (test/simulation/, scenario
 * 'transactions'): the shipped two-phase commit (lib/tables/transactions/)
 * runs over the real coordinator and replicas under storage-node crashes,
 * partitions and lossy links, while its own coordinators are killed at random
 * instants and after their k-th engine call. Checkers: every transfer all or
 * nothing, the total conserved, acknowledged transfers present and cancelled
 * ones absent, nothing left prepared after recovery, and one serial order of
 * the committed transfers and snapshots consistent with what was observed.
 * Longer runs: `node dist/test/simulation/long-run.js --scenario transactions --seeds 5000`.
 */
import t from 'tap';
import { plantedBug } from './simulation/bugs.js';
import { scenarioNamed } from './simulation/scenario.js';
import { type RunResult, runSeed } from './simulation/simulation.js';
import { type FinalTransactionState, TransactionHistory, type TransferRecord } from './simulation/transaction-history.js';

const CI_SEEDS = 200;
const PLANTED_SEEDS_MAX = 20;

function replay(result: RunResult, bug?: string): string {
  return `node dist/test/simulation/long-run.js --scenario ${result.scenario} --seed ${result.seed}${bug === undefined ? '' : ` --bug ${bug}`} --trace`;
}

function transfer(id: string, from: number, to: number, amount: number, outcome: TransferRecord['outcome'], invokedMs = 0, completedMs = 1): TransferRecord {
  return { id, from, to, amount, invokedMs, completedMs, outcome, attempts: 1 };
}

t.test('the checkers: a clean history passes; a torn, a lost, a cancelled-yet-applied transfer and an order that no serial run gives fail', async (t) => {
  const clean = new TransactionHistory(2, 100);
  clean.transfers.push(transfer('t0', 0, 1, 30, 'committed'), transfer('t1', 1, 0, 50, 'unknown'), transfer('t2', 0, 1, 90, 'notApplied'));
  clean.snapshots.push({ id: 's0', invokedMs: 2, completedMs: 3, accounts: [{ balance: 70, log: ['t0'] }, { balance: 130, log: ['t0'] }] });
  const cleanFinal: FinalTransactionState = { accounts: [{ balance: 120, log: ['t0', 't1'] }, { balance: 80, log: ['t0', 't1'] }], preparedLeft: [], ledgerLeft: 0 };
  t.same(clean.check(cleanFinal), [], 'committed, unknown-but-applied and cancelled transfers, a snapshot between them');

  const kinds = (history: TransactionHistory, final: typeof cleanFinal) => history.check(final).map((failure) => `${failure.kind}: ${failure.message}`);
  const torn = new TransactionHistory(2, 100);
  torn.transfers.push(transfer('t0', 0, 1, 30, 'unknown'));
  t.match(kinds(torn, { ...cleanFinal, accounts: [{ balance: 70, log: ['t0'] }, { balance: 100, log: [] }] }).join('\n'), /txn-atomicity: transfer t0 .* applied in part[\s\S]*money was lost/, 'a transfer in one log only');

  const lost = new TransactionHistory(2, 100);
  lost.transfers.push(transfer('t0', 0, 1, 30, 'committed'));
  t.match(kinds(lost, { ...cleanFinal, accounts: [{ balance: 100, log: [] }, { balance: 100, log: [] }] }).join('\n'), /acknowledged .* but is in no log/);

  const cancelled = new TransactionHistory(2, 100);
  cancelled.transfers.push(transfer('t0', 0, 1, 30, 'notApplied'));
  t.match(kinds(cancelled, { ...cleanFinal, accounts: [{ balance: 70, log: ['t0'] }, { balance: 130, log: ['t0'] }] }).join('\n'), /t0 was cancelled .* yet it is in the logs/);

  // t0 before t1 on a0, t1 before t0 on a1: no serial order.
  const cycle = new TransactionHistory(2, 100);
  cycle.transfers.push(transfer('t0', 0, 1, 10, 'committed'), transfer('t1', 1, 0, 20, 'committed'));
  t.match(kinds(cycle, { ...cleanFinal, accounts: [{ balance: 110, log: ['t0', 't1'] }, { balance: 90, log: ['t1', 't0'] }] }).join('\n'), /txn-serializability: no serial order exists/);

  // A snapshot that saw t1 but not t0, though t0 came first in t1's account: a read no serial order explains.
  const skewed = new TransactionHistory(2, 100);
  skewed.transfers.push(transfer('t0', 0, 1, 10, 'committed', 0, 1), transfer('t1', 1, 0, 20, 'committed', 0, 1));
  skewed.snapshots.push({ id: 's0', invokedMs: 0, completedMs: 5, accounts: [{ balance: 90, log: ['t0'] }, { balance: 80, log: ['t1'] }] });
  t.match(kinds(skewed, { ...cleanFinal, accounts: [{ balance: 110, log: ['t0', 't1'] }, { balance: 90, log: ['t0', 't1'] }] }).join('\n'), /txn-serializability: snapshot s0 saw a1's log \[t1\], not a prefix/);

  // A snapshot invoked after t0 was acknowledged must see it.
  const stale = new TransactionHistory(2, 100);
  stale.transfers.push(transfer('t0', 0, 1, 10, 'committed', 0, 1));
  stale.snapshots.push({ id: 's0', invokedMs: 2, completedMs: 3, accounts: [{ balance: 100, log: [] }, { balance: 100, log: [] }] });
  t.match(kinds(stale, { ...cleanFinal, accounts: [{ balance: 90, log: ['t0'] }, { balance: 110, log: ['t0'] }] }).join('\n'), /no serial order exists: .*real time/);

  // A debit whose condition (balance >= amount) did not hold where its log puts it.
  const overdraft = new TransactionHistory(2, 100);
  overdraft.transfers.push(transfer('t0', 0, 1, 80, 'committed'), transfer('t1', 0, 1, 80, 'committed'));
  t.match(kinds(overdraft, { ...cleanFinal, accounts: [{ balance: -60, log: ['t0', 't1'] }, { balance: 260, log: ['t0', 't1'] }] }).join('\n'), /t1 debited a0 of 80 when, in its log's order, it held 20/);

  const leftovers = new TransactionHistory(2, 100);
  t.match(kinds(leftovers, { accounts: [{ balance: 100, log: [] }, { balance: 100, log: [] }], preparedLeft: [1], ledgerLeft: 2 }).join('\n'), /a1 are still prepared[\s\S]*finds 2 ledger records/);
});

t.test(`scenario transactions: seeds 0-${CI_SEEDS - 1} keep every transfer all or nothing and serializable`, async (t) => {
  const scenario = scenarioNamed('transactions');
  const totals = { committed: 0, notApplied: 0, unknown: 0, snapshots: 0, processesKilled: 0, crashes: 0, partitions: 0, elections: 0, lost: 0 };
  const attempts = new Map<string, number>();
  let failed = 0;
  for (let seed = 0; seed < CI_SEEDS; seed++) {
    const result = await runSeed(seed, scenario);
    if (result.failures.length > 0) {
      failed++;
      t.fail(`seed=${seed} failed:\n${result.failures.slice(0, 5).map((f) => `  ${f.kind}: ${f.message}`).join('\n')}\nreplay: ${replay(result)}`);
    }
    const stats = result.transactions!;
    totals.committed += stats.transfers['committed'] ?? 0;
    totals.notApplied += stats.transfers['notApplied'] ?? 0;
    totals.unknown += stats.transfers['unknown'] ?? 0;
    totals.snapshots += stats.snapshots;
    totals.processesKilled += stats.processesKilled;
    totals.crashes += result.stats.crashes;
    totals.partitions += result.stats.partitions;
    totals.elections += result.stats.elections;
    totals.lost += result.stats.lost;
    for (const [outcome, count] of Object.entries(stats.attempts)) attempts.set(outcome, (attempts.get(outcome) ?? 0) + count);
  }
  t.equal(failed, 0, `${CI_SEEDS} seeds, none failed`);
  t.comment(`totals: ${JSON.stringify(totals)}; attempts: ${JSON.stringify(Object.fromEntries(attempts))}`);
  // The runs must exercise what the scenario names, or passing proves little.
  t.ok(totals.committed > CI_SEEDS, 'transfers committed');
  t.ok(totals.notApplied > 0 && (attempts.get('cancelled conflict') ?? 0) > 0 && (attempts.get('cancelled condition') ?? 0) > 0, 'transfers cancelled, by conflicts and by failed conditions');
  t.ok(totals.unknown > 0, 'transfers whose coordinator died or whose outcome stayed unknown (left to recovery)');
  t.ok(totals.snapshots > CI_SEEDS, 'snapshots (TransactGetItems of every account) answered');
  t.ok(totals.processesKilled > CI_SEEDS, 'transaction coordinators killed');
  t.ok(totals.crashes > 0 && totals.partitions > 0 && totals.elections > CI_SEEDS && totals.lost > 0, 'storage nodes crashed and were cut off, leaders changed, messages were lost');
});

t.test('the checkers catch the planted bug apply-at-prepare', async (t) => {
  const bug = plantedBug('apply-at-prepare');
  let caught: RunResult | undefined;
  for (let seed = 0; seed < PLANTED_SEEDS_MAX && caught === undefined; seed++) {
    const result = await runSeed(seed, scenarioNamed(bug.scenario), { bugs: bug.bugs });
    if (result.failures.some((failure) => failure.kind === bug.caughtAs)) caught = result;
  }
  t.ok(caught !== undefined, `${bug.name} (${bug.description}) is caught as ${bug.caughtAs}`);
  if (caught !== undefined) t.comment(`seed ${caught.seed}: ${caught.failures.find((f) => f.kind === bug.caughtAs)!.message}\n  replay: ${replay(caught, bug.name)}`);
});
