/**
 * The transactions scenario's history and its checkers (README.md, checkers
 * 8 and 9). Accounts are items { id, balance, log }; a transfer is one
 * TransactWriteItems that debits one account (on the condition balance >=
 * amount), credits another, and appends its own id to both accounts' `log`
 * lists. The final log of an account is then the order in which committed
 * transfers wrote it, and a TransactGetItems of every account (a snapshot)
 * names exactly which writes it saw: a prefix of each log.
 *
 * txn-atomicity: every transfer is in both its accounts' logs or in neither,
 * at most once; an acknowledged one is there, one that every attempt of
 * which was cancelled is not; each account's balance is its start plus
 * exactly the amounts of its log, so the total is conserved; after
 * recovery nothing is left prepared and the ledger is empty.
 *
 * txn-serializability: one serial order exists of the committed transfers
 * and the snapshots consistent with everything observed: the order of each
 * account's log, what each snapshot saw (every account's log seen is a
 * prefix of the final one, and the snapshot lies after the last write it saw
 * and before the first it did not), and real time (a snapshot or transfer
 * invoked after another was acknowledged lies after it). The precedence
 * graph of those constraints must be acyclic (Adya's direct serialization
 * graph, with the version order known from the logs). In that order every
 * debit found its balance at least its amount (the condition held where it
 * serialized) and every snapshot's balances sum to the total.
 */
import type { Failure } from './checkers.js';

export interface TransferRecord {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly amount: number;
  readonly invokedMs: number;
  completedMs: number | undefined;
  /**
   * 'committed': acknowledged. 'notApplied': every attempt ended in
   * TransactionCanceledException (a cancelled transaction changes nothing).
   * 'unknown': an attempt failed otherwise (its process died, the engine
   * failed), so it may or may not have committed.
   */
  outcome: 'committed' | 'notApplied' | 'unknown';
  attempts: number;
}

export interface AccountState {
  readonly balance: number;
  readonly log: readonly string[];
}

export interface SnapshotRecord {
  readonly id: string;
  readonly invokedMs: number;
  readonly completedMs: number;
  /** Every account as the TransactGetItems answered it, in account order. */
  readonly accounts: readonly AccountState[];
}

export interface FinalTransactionState {
  readonly accounts: readonly AccountState[];
  /** Accounts still stored in their prepared form after recovery. */
  readonly preparedLeft: readonly number[];
  /** Ledger records the last recovery sweep still found. */
  readonly ledgerLeft: number;
}

const FAILURES_MAX = 20;

export class TransactionHistory {
  readonly transfers: TransferRecord[] = [];
  readonly snapshots: SnapshotRecord[] = [];
  /** Attempts by outcome, for the run's stats. */
  readonly attemptOutcomes = new Map<string, number>();

  constructor(
    readonly accounts: number,
    readonly balance: number,
  ) {}

  countAttempt(outcome: string): void {
    this.attemptOutcomes.set(outcome, (this.attemptOutcomes.get(outcome) ?? 0) + 1);
  }

  check(final: FinalTransactionState): Failure[] {
    const failures = [...this.checkAtomicity(final), ...this.checkSerializability(final)];
    return failures.slice(0, FAILURES_MAX);
  }

  private checkAtomicity(final: FinalTransactionState): Failure[] {
    const failures: Failure[] = [];
    const fail = (message: string) => failures.push({ kind: 'txn-atomicity', message });
    const byId = new Map(this.transfers.map((transfer) => [transfer.id, transfer]));
    /** Per transfer, the accounts whose log holds it (with repeats). */
    const seenIn = new Map<string, number[]>();
    final.accounts.forEach((account, index) => {
      for (const id of account.log) {
        if (!byId.has(id)) fail(`account a${index}'s log holds ${id}, which no client ran`);
        seenIn.set(id, [...(seenIn.get(id) ?? []), index]);
      }
    });
    for (const [id, accounts] of seenIn) {
      const transfer = byId.get(id);
      if (transfer === undefined) continue;
      const expected = [transfer.from, transfer.to].sort((a, b) => a - b);
      const seen = [...accounts].sort((a, b) => a - b);
      if (seen.join() !== expected.join()) {
        fail(`transfer ${id} (a${transfer.from} -> a${transfer.to}, ${transfer.amount}, ${transfer.outcome}) is in the logs of ${seen.map((a) => `a${a}`).join(', ')}: applied in part or more than once`);
      }
      if (transfer.outcome === 'notApplied') fail(`transfer ${id} was cancelled (every attempt: TransactionCanceledException) yet it is in the logs of ${seen.map((a) => `a${a}`).join(', ')}`);
    }
    for (const transfer of this.transfers) {
      if (transfer.outcome === 'committed' && !seenIn.has(transfer.id)) fail(`transfer ${transfer.id} (a${transfer.from} -> a${transfer.to}, ${transfer.amount}) was acknowledged at ${transfer.completedMs?.toFixed(2)}ms but is in no log`);
    }
    let total = 0;
    final.accounts.forEach((account, index) => {
      total += account.balance;
      const expected = this.balanceAfter(index, account.log);
      if (expected !== undefined && expected !== account.balance) fail(`account a${index} holds ${account.balance}, but its start plus the transfers of its log make ${expected}`);
    });
    const start = this.accounts * this.balance;
    if (total !== start) fail(`the balances sum to ${total}, not ${start}: money was ${total > start ? 'made' : 'lost'}`);
    if (final.preparedLeft.length > 0) fail(`after recovery, ${final.preparedLeft.map((a) => `a${a}`).join(', ')} are still prepared`);
    if (final.ledgerLeft > 0) fail(`after recovery, the sweep still finds ${final.ledgerLeft} ledger records`);
    return failures;
  }

  /** An account's balance after the transfers of `log`, in that order; undefined if the log names an unknown transfer. */
  private balanceAfter(account: number, log: readonly string[]): number | undefined {
    const byId = new Map(this.transfers.map((transfer) => [transfer.id, transfer]));
    let balance = this.balance;
    for (const id of log) {
      const transfer = byId.get(id);
      if (transfer === undefined) return undefined;
      balance += transfer.to === account ? transfer.amount : -transfer.amount;
    }
    return balance;
  }

  private checkSerializability(final: FinalTransactionState): Failure[] {
    const failures: Failure[] = [];
    const fail = (message: string) => failures.push({ kind: 'txn-serializability', message });
    const byId = new Map(this.transfers.map((transfer) => [transfer.id, transfer]));
    const graph = new PrecedenceGraph();
    // The version order: each account's log.
    final.accounts.forEach((account) => {
      for (let i = 0; i + 1 < account.log.length; i += 1) graph.edge(account.log[i]!, account.log[i + 1]!, 'log order');
      for (const id of account.log) graph.node(id);
    });
    // The condition held where each debit serialized (its account's log order fixes the balance before it).
    final.accounts.forEach((account, index) => {
      let balance = this.balance;
      for (const id of account.log) {
        const transfer = byId.get(id);
        if (transfer === undefined) break;
        if (transfer.from === index && balance < transfer.amount) fail(`transfer ${id} debited a${index} of ${transfer.amount} when, in its log's order, it held ${balance}: its condition balance >= amount did not hold where it serialized`);
        balance += transfer.to === index ? transfer.amount : -transfer.amount;
      }
    });
    // What each snapshot saw.
    for (const snapshot of this.snapshots) {
      graph.node(snapshot.id);
      let sum = 0;
      snapshot.accounts.forEach((seen, index) => {
        sum += seen.balance;
        const log = final.accounts[index]!.log;
        const prefix = seen.log.length <= log.length && seen.log.every((id, i) => log[i] === id);
        if (!prefix) {
          fail(`snapshot ${snapshot.id} saw a${index}'s log [${seen.log.join(', ')}], not a prefix of the committed [${log.join(', ')}]: it read a write no committed transaction made`);
          return;
        }
        if (seen.log.length > 0) graph.edge(seen.log[seen.log.length - 1]!, snapshot.id, `a${index}: seen`);
        if (seen.log.length < log.length) graph.edge(snapshot.id, log[seen.log.length]!, `a${index}: not yet seen`);
        const expected = this.balanceAfter(index, seen.log);
        if (expected !== undefined && expected !== seen.balance) fail(`snapshot ${snapshot.id} saw a${index} at ${seen.balance}, but the transfers of the log it saw make ${expected}`);
      });
      if (sum !== this.accounts * this.balance) fail(`snapshot ${snapshot.id} saw balances summing to ${sum}, not ${this.accounts * this.balance}`);
    }
    // Real time: what was acknowledged before another began lies before it.
    const committed = this.transfers.filter((transfer) => transfer.outcome === 'committed' && graph.has(transfer.id));
    const events: Array<{ id: string; invokedMs: number; completedMs: number }> = [
      ...committed.map((transfer) => ({ id: transfer.id, invokedMs: transfer.invokedMs, completedMs: transfer.completedMs! })),
      ...this.snapshots,
    ];
    for (const earlier of events) {
      for (const later of events) {
        if (earlier !== later && earlier.completedMs < later.invokedMs) graph.edge(earlier.id, later.id, 'real time');
      }
    }
    const cycle = graph.cycle();
    if (cycle !== undefined) fail(`no serial order exists: ${cycle}`);
    return failures;
  }
}

/** A directed graph of "must come before", with a reason per edge, for cycle detection. */
class PrecedenceGraph {
  private readonly out = new Map<string, Map<string, string>>();

  node(id: string): void {
    if (!this.out.has(id)) this.out.set(id, new Map());
  }

  has(id: string): boolean {
    return this.out.has(id);
  }

  edge(from: string, to: string, why: string): void {
    this.node(from);
    this.node(to);
    const edges = this.out.get(from)!;
    if (!edges.has(to)) edges.set(to, why);
  }

  /** One cycle, described edge by edge, or undefined if the graph is acyclic (iterative DFS). */
  cycle(): string | undefined {
    const state = new Map<string, 'open' | 'done'>();
    for (const root of this.out.keys()) {
      if (state.has(root)) continue;
      const stack: Array<{ id: string; next: Iterator<string> }> = [{ id: root, next: this.out.get(root)!.keys() }];
      state.set(root, 'open');
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const step = top.next.next();
        if (step.done) {
          state.set(top.id, 'done');
          stack.pop();
          continue;
        }
        const child = step.value;
        if (state.get(child) === 'open') {
          const path = stack.slice(stack.findIndex((frame) => frame.id === child)).map((frame) => frame.id);
          return [...path, child].map((id, i, all) => (i === 0 ? id : `-(${this.out.get(all[i - 1]!)!.get(id)})-> ${id}`)).join(' ');
        }
        if (state.has(child)) continue;
        state.set(child, 'open');
        stack.push({ id: child, next: this.out.get(child)!.keys() });
      }
    }
    return undefined;
  }
}
