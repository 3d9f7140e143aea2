/**
 * The transactions scenario's clients: database processes, each running the
 * shipped transaction protocol (lib/tables/transactions/transaction-coordinator.ts:
 * ledger, two-phase commit, recovery sweep) over the simulated cluster
 * (sim-table-engine.ts), on the virtual clock, with its transaction ids
 * from the seed. Each process runs one client: transfers between accounts
 * (TransactWriteItems, retried under their ClientRequestToken) and snapshots
 * of every account (TransactGetItems), and its own recovery sweep.
 *
 * Faults of the coordinators, besides the storage nodes' crashes and
 * partitions: a process is killed (kill -9) at a random instant, or just
 * after sending its k-th engine call of a life, and a new process takes its
 * place after a while. What it had in flight is left to the recovery of
 * the others (whoever meets its prepared items, and the sweeps).
 */
import { Prng } from '../../lib/prng.js';
import type { AttributeMap } from '../../lib/tables/attribute-value.js';
import { DynamoDbError } from '../../lib/tables/dynamodb-error.js';
import { encodeItemKey, type KeyValue } from '../../lib/tables/key-encoding.js';
import { createTable, EMPTY_CATALOG, type TableRecord } from '../../lib/tables/table-catalog.js';
import type { TableEngine } from '../../lib/tables/table-engine.js';
import { preparedOf } from '../../lib/tables/transactions/prepared-item.js';
import { prepareTransactGetItems } from '../../lib/tables/transactions/transact-get-items.js';
import { prepareTransactWriteItems } from '../../lib/tables/transactions/transact-write-items.js';
import { TransactionCoordinator } from '../../lib/tables/transactions/transaction-coordinator.js';
import type { EventQueue } from './event-queue.js';
import type { SimHost } from './sim-host.js';
import { MortalEngine } from './sim-table-engine.js';
import { type AccountState, type FinalTransactionState, type TransferRecord, TransactionHistory } from './transaction-history.js';
import type { Trace } from './trace.js';

export interface TransactionWorkloadConfig {
  /** Database processes, one client each. */
  processes: number;
  accounts: number;
  /** Every account's starting balance. */
  balance: number;
  amountMax: number;
  thinkMinMs: number;
  thinkMaxMs: number;
  /** Probability that a client's next operation is a snapshot (TransactGetItems of every account) rather than a transfer. */
  snapshotProbability: number;
  /** Attempts of one transfer under its token. */
  attemptsMax: number;
  retryMaxMs: number;
  /** The protocol's timeoutMs: a PENDING transaction older than this may be cancelled by anyone. */
  timeoutMs: number;
  sweepIntervalMs: number;
  /** Mean time between kills of a random process (kill -9 of its coordinator). */
  killMeanGapMs: number;
  /** Probability that a process's life ends just after it sends its k-th engine call, k in 1..dieAfterCallsMax. */
  dieAfterCallsProbability: number;
  dieAfterCallsMax: number;
  restartMinMs: number;
  restartMaxMs: number;
}

/** A planted bug in the transaction path (bugs.ts). */
export interface TransactionFaults {
  /** Participants apply an action's change when they are asked to prepare it, before the decision is durable. */
  applyAtPrepare?: boolean;
}

const TABLE = {
  TableName: 'accounts',
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

/** The ledger of a process killed mid-call may still hold a record this many timeouts later (transaction-coordinator.ts keeps cancelled ones 10). */
const LEDGER_KEPT_TIMEOUTS = 10;

interface Process {
  readonly id: number;
  readonly engine: MortalEngine;
  readonly coordinator: TransactionCoordinator;
}

export class TransactionWorkload {
  readonly history: TransactionHistory;
  private readonly table: TableRecord;
  private readonly processes: Array<Process | undefined>;
  private nextProcessId = 0;
  private nextTransfer = 0;
  private nextSnapshot = 0;
  private stopped = false;
  kills = 0;

  constructor(
    private readonly config: TransactionWorkloadConfig,
    private readonly queue: EventQueue,
    private readonly host: SimHost,
    /** A fresh engine over the cluster (one per process). */
    private readonly newEngine: () => TableEngine,
    private readonly prng: Prng,
    private readonly chaosMs: number,
    private readonly trace: Trace,
    private readonly faults: TransactionFaults = {},
  ) {
    this.history = new TransactionHistory(config.accounts, config.balance);
    this.table = { ...createTable(EMPTY_CATALOG, TABLE, { nowMs: 0, tableUuid: 'accounts' }).record, status: 'ACTIVE' };
    this.processes = Array.from({ length: config.processes }, () => undefined);
  }

  /** Creates the accounts (one transaction of Puts), through a process that lives for it alone. */
  async setup(): Promise<void> {
    const process = this.newProcess(false);
    const items = Array.from({ length: this.config.accounts }, (_, i) => ({ Put: { TableName: 'accounts', Item: { id: { S: `a${i}` }, balance: { N: String(this.config.balance) }, log: { L: [] } } } }));
    for (let attempt = 0; ; attempt += 1) {
      try {
        await process.coordinator.transactWrite(prepareTransactWriteItems({ TransactItems: items, ClientRequestToken: 'setup' }, () => this.table));
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await this.host.sleep(this.config.retryMaxMs);
      }
    }
  }

  /** Starts every process and the kills of processes. */
  start(): void {
    for (let slot = 0; slot < this.config.processes; slot += 1) this.startProcess(slot);
    this.queue.after(this.uniform(0, 2 * this.config.killMeanGapMs), () => this.killStep());
  }

  /** The chaos is over: no new work, no more kills, every sweep stopped (the final recovery runs by itself). */
  stop(): void {
    this.stopped = true;
    for (const process of this.processes) void process?.coordinator.stop();
  }

  /**
   * After healing: once every transaction is stale and every cancelled
   * ledger record past its keeping, one recovery sweep, then a snapshot
   * (which resolves any item a dead coordinator prepared after its ledger
   * was gone), then the raw state and a second sweep that must find nothing.
   * `settle` runs the simulation until the promise settles.
   */
  async recoverAndRead(settle: <T>(promise: Promise<T>) => Promise<T>): Promise<FinalTransactionState> {
    await settle(this.host.sleep(this.config.timeoutMs * (LEDGER_KEPT_TIMEOUTS + 1)));
    const recovery = this.newProcess(false);
    await settle(recovery.coordinator.recover());
    await settle(this.snapshot(recovery.coordinator, 'final').catch(() => undefined));
    const accounts: AccountState[] = [];
    const preparedLeft: number[] = [];
    for (let i = 0; i < this.config.accounts; i += 1) {
      const stored = await settle(recovery.engine.getOrdered(this.accountKey(i), { consistent: true }));
      if (preparedOf(stored?.value) !== undefined) preparedLeft.push(i);
      accounts.push(accountState((preparedOf(stored?.value)?.prior ?? stored?.value) as AttributeMap | undefined));
    }
    const ledgerLeft = await settle(recovery.coordinator.recover());
    return { accounts, preparedLeft, ledgerLeft };
  }

  private accountKey(account: number): Uint8Array {
    return encodeItemKey(this.table.id, { S: `a${account}` } as KeyValue).key;
  }

  // ---- processes -------------------------------------------------------------------

  private newProcess(mortal: boolean, onDeath: () => void = () => {}): Process {
    const id = this.nextProcessId++;
    const cfg = this.config;
    const callsBeforeDeath = mortal && this.prng.nextUint32() / 4294967296 < cfg.dieAfterCallsProbability ? 1 + this.prng.nextBelow(cfg.dieAfterCallsMax) : Infinity;
    const cluster = this.faults.applyAtPrepare === true ? new ApplyAtPrepare(this.newEngine()) : this.newEngine();
    const engine = new MortalEngine(this.trace.enabled ? tracingEngine(cluster, `p${id}`, this.trace) : cluster, callsBeforeDeath, () => {
      this.kills += 1;
      if (this.trace.enabled) this.trace.log(`txn: process p${id} dies${callsBeforeDeath === Infinity ? '' : ` after its call ${callsBeforeDeath}`}`);
      onDeath();
    });
    let transactionIds = 0;
    const coordinator = new TransactionCoordinator({
      engine,
      nowMs: () => this.host.wallClockMs(),
      newTransactionId: () => `p${id}.${transactionIds++}`,
      sleep: (ms) => this.host.sleep(ms),
      every: (intervalMs, run) => {
        let on = true;
        const tick = () => {
          if (!on || engine.dead) return;
          run();
          this.queue.after(intervalMs, tick);
        };
        this.queue.after(intervalMs, tick);
        return () => (on = false);
      },
      itemKey: (_tableName, key) => encodeItemKey(this.table.id, key.partition as KeyValue).key,
      onItemChange: () => {},
      timeoutMs: cfg.timeoutMs,
    });
    return { id, engine, coordinator };
  }

  private startProcess(slot: number): void {
    if (this.stopped) return;
    const process: Process = this.newProcess(true, () => {
      // Its client's calls never answer: the slot gets a new process after a while.
      if (this.processes[slot] !== process) return;
      this.processes[slot] = undefined;
      this.queue.after(this.uniform(this.config.restartMinMs, this.config.restartMaxMs), () => this.startProcess(slot));
    });
    this.processes[slot] = process;
    if (this.trace.enabled) this.trace.log(`txn: process p${process.id} starts in slot ${slot}`);
    process.coordinator.start(this.config.sweepIntervalMs);
    this.queue.after(this.uniform(0, this.config.thinkMaxMs), () => this.clientStep(slot, process));
  }

  private killStep(): void {
    if (this.stopped || this.queue.nowMs >= this.chaosMs) return;
    this.queue.after(this.uniform(0, 2 * this.config.killMeanGapMs), () => this.killStep());
    const slot = this.prng.nextBelow(this.config.processes);
    const process = this.processes[slot];
    if (process === undefined || process.engine.dead) return;
    process.engine.die();
  }

  // ---- clients ---------------------------------------------------------------------

  private clientStep(slot: number, process: Process): void {
    if (this.stopped || this.queue.nowMs >= this.chaosMs || process.engine.dead) return;
    const next = () => {
      if (process.engine.dead) return;
      this.queue.after(this.uniform(this.config.thinkMinMs, this.config.thinkMaxMs), () => this.clientStep(slot, process));
    };
    const work = this.prng.nextUint32() / 4294967296 < this.config.snapshotProbability ? this.snapshot(process.coordinator, `s${this.nextSnapshot++}`) : this.transfer(process);
    // A process that died mid-call never gets here: its calls never answer.
    void work.catch(() => undefined).then(next);
  }

  private async transfer(process: Process): Promise<void> {
    const cfg = this.config;
    const from = this.prng.nextBelow(cfg.accounts);
    const to = (from + 1 + this.prng.nextBelow(cfg.accounts - 1)) % cfg.accounts;
    const amount = 1 + this.prng.nextBelow(cfg.amountMax);
    const id = `t${this.nextTransfer++}`;
    const record: TransferRecord = { id, from, to, amount, invokedMs: this.queue.nowMs, completedMs: undefined, outcome: 'unknown', attempts: 0 };
    this.history.transfers.push(record);
    const entry = { S: id };
    const request = {
      ClientRequestToken: id,
      TransactItems: [
        { Update: { TableName: 'accounts', Key: { id: { S: `a${from}` } }, UpdateExpression: 'SET balance = balance - :a, #l = list_append(#l, :t)', ConditionExpression: 'balance >= :a', ExpressionAttributeNames: { '#l': 'log' }, ExpressionAttributeValues: { ':a': { N: String(amount) }, ':t': { L: [entry] } } } },
        { Update: { TableName: 'accounts', Key: { id: { S: `a${to}` } }, UpdateExpression: 'SET balance = balance + :a, #l = list_append(#l, :t)', ExpressionAttributeNames: { '#l': 'log' }, ExpressionAttributeValues: { ':a': { N: String(amount) }, ':t': { L: [entry] } } } },
      ],
    };
    if (this.trace.enabled) this.trace.log(`txn: p${process.id} transfer ${id}: a${from} -> a${to}, ${amount}`);
    let everyAttemptCancelled = true;
    for (let attempt = 0; attempt < cfg.attemptsMax; attempt += 1) {
      record.attempts += 1;
      record.outcome = 'unknown'; // until this attempt answers (its process may die first)
      try {
        await process.coordinator.transactWrite(prepareTransactWriteItems(request, () => this.table));
        record.outcome = 'committed';
        record.completedMs = this.queue.nowMs;
        this.history.countAttempt('committed');
        if (this.trace.enabled) this.trace.log(`txn: transfer ${id} committed`);
        return;
      } catch (error) {
        const reasons = error instanceof DynamoDbError ? (error.cancellationReasons ?? []).map((reason) => reason.Code) : [];
        const cancelled = error instanceof DynamoDbError && error.name === 'TransactionCanceledException';
        const label = cancelled ? `cancelled [${reasons.join(', ')}]` : error instanceof DynamoDbError ? error.name : ((error as { code?: string }).code ?? String(error));
        this.history.countAttempt(cancelled ? `cancelled ${reasons.includes('ConditionalCheckFailed') ? 'condition' : 'conflict'}` : label);
        if (this.trace.enabled) this.trace.log(`txn: transfer ${id} attempt ${attempt + 1}: ${label}`);
        if (!cancelled) everyAttemptCancelled = false;
        record.outcome = everyAttemptCancelled ? 'notApplied' : 'unknown';
        record.completedMs = this.queue.nowMs;
        if (cancelled && reasons.includes('ConditionalCheckFailed') && !reasons.includes('TransactionConflict')) return;
        await this.host.sleep(this.uniform(0, cfg.retryMaxMs));
      }
    }
  }

  private async snapshot(coordinator: TransactionCoordinator, id: string): Promise<void> {
    const invokedMs = this.queue.nowMs;
    const request = { TransactItems: Array.from({ length: this.config.accounts }, (_, i) => ({ Get: { TableName: 'accounts', Key: { id: { S: `a${i}` } } } })) };
    const output = await coordinator.transactGet(prepareTransactGetItems(request, () => this.table));
    const accounts = output.Responses.map((response) => accountState(response.Item));
    this.history.snapshots.push({ id, invokedMs, completedMs: this.queue.nowMs, accounts });
    if (this.trace.enabled) this.trace.log(`txn: snapshot ${id}: ${accounts.map((account, i) => `a${i}=${account.balance}[${account.log.join(' ')}]`).join(', ')}`);
  }

  private uniform(min: number, max: number): number {
    return min + (max - min) * (this.prng.nextUint32() / 4294967296);
  }
}

/** The trace's name of an engine key: its last printable run (an account, a ledger name, a token). */
function keyName(key: Uint8Array): string {
  const text = Buffer.from(key).toString('latin1');
  const runs = text.match(/[a-z0-9.]+/g) ?? [];
  return runs[runs.length - 1] ?? '?';
}

function valueText(value: unknown): string {
  if (value === undefined) return 'absent';
  const prepared = preparedOf(value);
  if (prepared !== undefined) return `prepared(${prepared.transactionId} ${prepared.action} ${valueText(prepared.prior ?? undefined)} => ${valueText(prepared.next ?? undefined)})`;
  const record = value as Record<string, unknown>;
  if (typeof record['state'] === 'string') return `ledger(${String(record['transactionId'])} ${record['state']})`;
  if (record['balance'] !== undefined) {
    const account = accountState(value as AttributeMap);
    return `${account.balance}[${account.log.join(' ')}]`;
  }
  return 'token';
}

/** Every engine call of a process and its answer, in the trace (`--trace`). */
function tracingEngine(engine: TableEngine, name: string, trace: Trace): TableEngine {
  const answer = <T>(what: string, call: Promise<T>, text: (value: T) => string): Promise<T> => {
    trace.log(`txn: ${name} ${what}`);
    call.then(
      (value) => trace.log(`txn: ${name} ${what} -> ${text(value)}`),
      (error: unknown) => trace.log(`txn: ${name} ${what} -> ${(error as { code?: string }).code ?? String(error)}`),
    );
    return call;
  };
  return {
    getOrdered: (key, options) => answer(`get ${keyName(key)}`, engine.getOrdered(key, options), (value) => (value === undefined ? 'absent' : `${valueText(value.value)} at ${value.version}`)),
    writeOrdered: (write) => answer(`write ${keyName(write.key as Uint8Array)} = ${valueText(write.value)} expect ${write.expect ?? 'none'}`, engine.writeOrdered(write), (value) => `version ${value.version}`),
    range: (request) => answer('range', engine.range(request), (page) => `${page.entries.length} entries`),
    tokenRanges: () => engine.tokenRanges(),
    dropSpace: (space) => engine.dropSpace(space),
    close: () => engine.close(),
  };
}

function accountState(item: AttributeMap | undefined): AccountState {
  if (item === undefined) return { balance: 0, log: [] };
  const balance = Number((item['balance'] as { N: string }).N);
  const log = ((item['log'] as { L: Array<{ S: string }> }).L ?? []).map((entry) => entry.S);
  return { balance, log };
}

/**
 * The planted bug `apply-at-prepare`: the engine writes an action's next
 * image where the protocol writes the prepared item, so a participant
 * applies the change before the transaction's decision is durable (and the
 * item is never marked as held).
 */
class ApplyAtPrepare implements TableEngine {
  constructor(private readonly engine: TableEngine) {}

  getOrdered(...args: Parameters<TableEngine['getOrdered']>) {
    return this.engine.getOrdered(...args);
  }

  writeOrdered(write: Parameters<TableEngine['writeOrdered']>[0]) {
    const prepared = preparedOf(write.value);
    if (prepared === undefined || prepared.action === 'ConditionCheck') return this.engine.writeOrdered(write);
    return this.engine.writeOrdered({ ...write, value: prepared.next ?? undefined });
  }

  range(...args: Parameters<TableEngine['range']>) {
    return this.engine.range(...args);
  }

  tokenRanges() {
    return this.engine.tokenRanges();
  }

  dropSpace(space: number) {
    return this.engine.dropSpace(space);
  }

  close() {
    return this.engine.close();
  }
}
