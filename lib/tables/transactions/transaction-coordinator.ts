/**
 * The transaction coordinator: TransactWriteItems and TransactGetItems over
 * the engine's leader-ordered compare-and-set (DESIGN.md §3, §5), with no
 * engine change. The protocol is DynamoDB's two-phase commit with a durable
 * ledger ("Distributed Transactions at Scale in Amazon DynamoDB", Idziorek et
 * al., USENIX ATC 2023, §3-§4):
 *
 * 1. Ledger: write the transaction's record, PENDING, listing every item
 *    (compare-and-set on 'absent': two attempts under one ClientRequestToken
 *    meet here).
 * 2. Prepare, all items at once: read the item at its leader; an item another
 *    transaction holds is a TransactionConflict (resolved first if that one is
 *    stale or decided); evaluate the action's condition on the committed item;
 *    then compare-and-set the item, on the version read, into its prepared
 *    form (prepared-item.ts: prior image, next image, transaction). The
 *    version check is the paper's "the item has not been written since"
 *    test, done by the leader (§3.2); a lost race re-reads and decides again.
 * 3. Commit point: compare-and-set the ledger PENDING -> COMMITTED. Or, if any
 *    action failed, PENDING -> CANCELLED.
 * 4. Resolve: rewrite each prepared item to its next image (committed) or its
 *    prior one (cancelled), each a compare-and-set on the prepared version;
 *    write the token record; delete the ledger record.
 *
 * Recovery (§4.3's recovery manager): whoever meets a prepared item (a single
 * write, a transaction, TransactGetItems, the sweep) reads its ledger record
 * and asks transaction-ledger.ts `resolutionOf`: a decided transaction is
 * finished by step 4; a PENDING one older than `timeoutMs` is cancelled by
 * compare-and-set on its ledger (never rolled forward: only its coordinator
 * knows that every item prepared), then finished. The ledger's
 * compare-and-set makes the coordinator's commit and a recoverer's cancel
 * mutually exclusive, so a transaction is all or nothing whoever dies when.
 * The sweep (`recover`) walks the ledger space for transactions whose
 * coordinator died (a crash, kill -9), every `timeoutMs` while the database
 * is open.
 *
 * Isolation: an item prepared by a transaction reads as its prior image
 * (committedItem), single writes and other transactions meet it as locked
 * (TransactionConflictException / reason TransactionConflict), and
 * TransactGetItems reads every item twice, answering only when no version
 * changed in between, so its items held those values at one instant.
 */
import type { AttributeMap } from '../attribute-value.js';
import { DynamoDbError } from '../dynamodb-error.js';
import { itemSize } from '../item-size.js';
import { segmentRanges } from '../scan.js';
import { isConflict, TOKEN_SPACE as TOKEN_VALUES, type AlsoKeyWrite, type OrderedValue, type TableEngine } from '../table-engine.js';
import type { PrimaryKeyValues } from '../table-schema.js';
import { committedItem, preparedOf, preparedValue, resolvedImage, type PreparedItem } from './prepared-item.js';
import type { TransactGetItemsOutput, TransactGetPlan } from './transact-get-items.js';
import {
  allReady,
  decideAction,
  replayAnswer,
  replayReadUnits,
  TRANSACTION_IS_ONGOING,
  transactionCanceled,
  transactWriteAnswer,
  type ActionOutcome,
  type TransactWriteAction,
  type TransactWriteItemsOutput,
  type TransactWritePlan,
} from './transact-write-items.js';
import {
  inFlightDecision,
  isStale,
  LEDGER_SPACE,
  ledgerKey,
  resolutionOf,
  tokenDecision,
  tokenKey,
  TOKEN_WINDOW_MS,
  withState,
  type LedgerRecord,
  type TokenRecord,
} from './transaction-ledger.js';

/** Rounds of one item's prepare (read, decide, compare-and-set) before giving up under contention. */
const PREPARE_ATTEMPTS_MAX = 32;
/** Retries of an engine call that failed for another reason than a lost compare-and-set (a node down, a leader change). */
const ENGINE_RETRIES_MAX = 8;
const ENGINE_RETRY_DELAY_MS = 50;
/** Rounds of TransactGetItems' read-and-verify before it reports a conflict. */
const GET_ROUNDS_MAX = 8;
/** A CANCELLED record a recoverer finished is kept until the transaction is this many timeouts old. */
const CANCELLED_LEDGER_KEPT_TIMEOUTS = 10;
/** Ledger records the sweep reads per engine call. */
const SWEEP_PAGE_ENTRIES = 100;
/** The sweep runs every timeoutMs, but not more often than this (a short timeout must not make it a busy loop). */
const SWEEP_INTERVAL_MS_MIN = 1000;
/**
 * While the last sweep found the ledger empty and this coordinator began no
 * transaction since, the sweep runs this seldom instead. A sweep reads every
 * ring partition of the ledger space from its leader: about 200 range reads a
 * second on 3 nodes, each waking a node thread, which kept an idle Database at
 * ~20% of a core (measured, bench/dynamodb-cost.bench.ts --idle). Records only
 * appear through a coordinator's own transactions (one process holds the
 * store), and a dead transaction's items are also recovered by whoever meets
 * them; the seldom sweep still catches a record that a late write made visible.
 */
export const SWEEP_IDLE_INTERVAL_MS = 60_000;

export interface TransactionHost {
  readonly engine: TableEngine;
  nowMs(): number;
  /** A fresh unique id for each transaction attempt. */
  newTransactionId(): string;
  sleep(ms: number): Promise<void>;
  /**
   * Runs `run` every `intervalMs` until the returned function is called: the
   * sweep's timer. The Database's never keeps the process alive; the
   * simulation's (test/simulation/) runs on its virtual clock.
   */
  every(intervalMs: number, run: () => void): () => void;
  /** An item's engine key. */
  itemKey(tableName: string, key: PrimaryKeyValues): Uint8Array;
  /** An item's committed change, for the catalog's item count and size. */
  onItemChange(tableName: string, oldBytes: number | undefined, newBytes: number | undefined): void;
  /** Age after which a PENDING transaction's items may be taken back by anyone. */
  readonly timeoutMs: number;
  /**
   * What an item's committed change (prior -> next image) carries in its own
   * atomic write: its LSI entries, GSI change records and stream record
   * (indexes/base-write.ts), and what to do once it is written. Absent: nothing.
   */
  changeWrites?(tableName: string, prior: AttributeMap | undefined, next: AttributeMap | undefined): Promise<ChangeWrites>;
  /**
   * Admits one action's change before it is prepared, or throws the
   * DynamoDbError that refuses it: a full LSI item collection, a throttle of
   * the table or one of its GSIs (a transactional write costs double).
   */
  admitWrite?(action: TransactWriteAction, prior: AttributeMap | undefined, next: AttributeMap | undefined): Promise<void>;
  /** Charges one TransactGetItems read (double units), or throws the throttle. */
  admitRead?(tableName: string, key: PrimaryKeyValues, item: AttributeMap | undefined): void;
}

/** An item write's extra keys (writeOrdered's `also`) and what to do once it committed. */
export interface ChangeWrites {
  readonly also: AlsoKeyWrite[];
  committed(): void;
}

/** CancellationReasons codes of the errors that refuse an action before it is prepared (API:TransactionCanceledException). */
const REFUSAL_CODES: Readonly<Record<string, string>> = {
  ItemCollectionSizeLimitExceededException: 'ItemCollectionSizeLimitExceeded',
  ProvisionedThroughputExceededException: 'ProvisionedThroughputExceeded',
  ThrottlingException: 'ThrottlingError',
};

/** The action's refusal for a refusing error, undefined for any other error. */
function refusalOf(error: unknown): ActionOutcome | undefined {
  if (!(error instanceof DynamoDbError)) return undefined;
  const code = REFUSAL_CODES[error.name];
  return code === undefined ? undefined : { kind: 'refused', code, message: error.message };
}

interface PrepareResult {
  readonly outcome: ActionOutcome;
  /** The prepared item as written and its version, when it was prepared. */
  readonly prepared?: KnownPrepared;
}

/** What the coordinator knows of an item it prepared: resolving it then needs no read first. */
interface KnownPrepared {
  readonly held: PreparedItem;
  readonly version: string;
}

export function transactionConflict(): DynamoDbError {
  return new DynamoDbError('TransactionConflictException', TRANSACTION_IS_ONGOING);
}

export class TransactionCoordinator {
  private readonly host: TransactionHost;
  private readonly engine: TableEngine;
  private stopSweep: (() => void) | undefined;
  private sweeping: Promise<unknown> | undefined;
  /** Transactions this coordinator began (ledger records it may have written) and has in flight. */
  private transactionsBegun = 0;
  private transactionsInFlight = 0;
  /** transactionsBegun when a sweep that started with none in flight found the ledger empty; undefined until one did. */
  private emptyAtBegun: number | undefined;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(host: TransactionHost) {
    this.host = host;
    this.engine = host.engine;
  }

  // ------------------------------------------------------------------ TransactWriteItems

  async transactWrite(plan: TransactWritePlan): Promise<TransactWriteItemsOutput> {
    this.transactionsBegun += 1;
    this.transactionsInFlight += 1;
    try {
      return await this.transactWriteNow(plan);
    } finally {
      this.transactionsInFlight -= 1;
    }
  }

  private async transactWriteNow(plan: TransactWritePlan): Promise<TransactWriteItemsOutput> {
    const keys = plan.actions.map((action) => this.host.itemKey(action.tableName, action.key));
    for (let attempt = 0; attempt < PREPARE_ATTEMPTS_MAX; attempt += 1) {
      if (plan.token !== undefined) {
        const replay = await this.tokenReplay(plan);
        if (replay !== undefined) return replay;
      }
      const transactionId = this.host.newTransactionId();
      const ledgerName = plan.token ?? transactionId;
      const ledger: LedgerRecord = {
        transactionId,
        state: 'PENDING',
        startedMs: this.host.nowMs(),
        items: plan.actions.map((action, i) => ({ key: keys[i]!, tableName: action.tableName })),
        token: plan.token ?? null,
        digest: plan.digest,
        readUnits: {},
      };
      const created = await this.createLedger(ledgerName, ledger, plan.digest);
      if (created === undefined) continue; // an earlier attempt under the token was recovered: look again
      if (plan.token !== undefined) {
        // An earlier attempt that committed between the first look and our ledger: undo ours, answer as a repeat.
        const again = await this.tokenReplay(plan).catch(async (error: unknown) => {
          await this.deleteLedger(ledgerName, created);
          throw error;
        });
        if (again !== undefined) {
          await this.deleteLedger(ledgerName, created);
          return again;
        }
      }
      return this.run(plan, keys, ledgerName, ledger, created);
    }
    throw new DynamoDbError('TransactionInProgressException', 'Transaction is in progress');
  }

  /** The answer to a repeat of a committed request, or undefined to run it. */
  private async tokenReplay(plan: TransactWritePlan): Promise<TransactWriteItemsOutput | undefined> {
    const stored = await this.read(tokenKey(plan.token!));
    const decision = tokenDecision(stored?.value as TokenRecord | undefined, plan.digest, this.host.nowMs());
    if (decision.kind === 'mismatch') throw idempotentParameterMismatch();
    return decision.kind === 'replay' ? replayAnswer(plan, decision.record.readUnits) : undefined;
  }

  /** Writes the PENDING record; undefined when another attempt's record had to be recovered first. */
  private async createLedger(ledgerName: string, ledger: LedgerRecord, digest: string): Promise<string | undefined> {
    try {
      return (await this.write({ key: ledgerKey(ledgerName), value: ledger, expect: 'absent' })).version;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const existing = await this.read(ledgerKey(ledgerName));
    if (existing === undefined) return undefined;
    if ((existing.value as LedgerRecord).transactionId === ledger.transactionId) {
      // Our own write, whose answer was lost and whose retry then met it: only read, so made durable before we
      // prepare under it. Unless a recoverer found it stale meanwhile and cancelled it: then it is not ours to
      // commit (its items may already be taken back); a new attempt takes its place, as below.
      if ((existing.value as LedgerRecord).state === 'PENDING') return (await this.confirm(ledgerName, existing))?.version;
      return undefined;
    }
    const decision = inFlightDecision(existing.value as LedgerRecord, digest, this.host.nowMs(), this.host.timeoutMs);
    if (decision === 'inProgress') throw new DynamoDbError('TransactionInProgressException', 'Transaction is in progress');
    if (decision === 'mismatch') throw idempotentParameterMismatch();
    await this.recoverLedger(ledgerName, existing);
    // A CANCELLED record a recoverer keeps (finish) is over: the new attempt takes its place.
    const after = await this.read(ledgerKey(ledgerName));
    if (after === undefined || (after.value as LedgerRecord).state !== 'CANCELLED') return undefined;
    try {
      return (await this.write({ key: ledgerKey(ledgerName), value: ledger, expect: after.version })).version;
    } catch (error) {
      if (!isConflict(error)) throw error;
      return undefined;
    }
  }

  private async run(plan: TransactWritePlan, keys: readonly Uint8Array[], ledgerName: string, ledger: LedgerRecord, ledgerVersion: string): Promise<TransactWriteItemsOutput> {
    let results: PrepareResult[];
    try {
      // allSettled: on a failure, no prepare of ours may still be in flight when the ledger is finished.
      const settled = await Promise.allSettled(plan.actions.map((_, i) => this.prepare(plan, i, keys[i]!, ledgerName, ledger)));
      const failed = settled.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      results = settled.map((result) => (result as PromiseFulfilledResult<PrepareResult>).value);
    } catch (error) {
      // An engine failure in prepare: cancel what was prepared (finish re-reads every item of the ledger).
      await this.decide(ledgerName, ledger, ledgerVersion, 'CANCELLED').catch(() => undefined);
      throw error;
    }
    const outcomes = results.map((result) => result.outcome);
    const known = results.map((result) => result.prepared);
    if (!allReady(outcomes)) {
      await this.decide(ledgerName, ledger, ledgerVersion, 'CANCELLED', known);
      throw transactionCanceled(outcomes.map((outcome) => (outcome.kind === 'ready' ? undefined : outcome)));
    }
    const committed = { ...withState(ledger, 'COMMITTED'), readUnits: replayReadUnits(plan, outcomes) };
    const decided = await this.decide(ledgerName, committed, ledgerVersion, 'COMMITTED', known);
    if (decided !== 'COMMITTED') {
      // A recoverer found this transaction stale and cancelled it first: nothing was applied.
      throw transactionCanceled(outcomes.map(() => ({ kind: 'conflict' }) as const));
    }
    return transactWriteAnswer(plan, outcomes);
  }

  /** Phase one for one action: read, decide on the committed item, and compare-and-set it into its prepared form. */
  private async prepare(plan: TransactWritePlan, index: number, key: Uint8Array, ledgerName: string, ledger: LedgerRecord): Promise<PrepareResult> {
    const action = plan.actions[index]!;
    let admitted = false; // once per action, not per compare-and-set round
    for (let attempt = 0; attempt < PREPARE_ATTEMPTS_MAX; attempt += 1) {
      const current = await this.read(key);
      const held = preparedOf(current?.value);
      if (held !== undefined && held.transactionId === ledger.transactionId) {
        // Our own write, whose answer was lost: made durable (it was only read), then decided again on the same prior image.
        const confirmed = await this.confirmItem(key, current!);
        if (confirmed === undefined) continue;
        return { outcome: decideAction(action, held.prior ?? undefined), prepared: { held, version: confirmed } };
      }
      if (held !== undefined) {
        if ((await this.meet(held, key, current!)) === 'locked') return { outcome: { kind: 'conflict' } };
        continue;
      }
      const item = committedItem(current?.value);
      const outcome = decideAction(action, item);
      if (outcome.kind !== 'ready') return { outcome };
      if (!admitted && this.host.admitWrite !== undefined) {
        try {
          await this.host.admitWrite(action, item, outcome.next);
        } catch (error) {
          const refused = refusalOf(error);
          if (refused === undefined) throw error;
          return { outcome: refused };
        }
        admitted = true;
      }
      const prepared: PreparedItem = {
        transactionId: ledger.transactionId,
        ledgerName,
        startedMs: ledger.startedMs,
        action: action.kind,
        prior: item ?? null,
        next: outcome.next ?? null,
      };
      try {
        const { version } = await this.write({ key, value: preparedValue(prepared), expect: current?.version ?? 'absent' });
        return { outcome, prepared: { held: prepared, version } };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    return { outcome: { kind: 'conflict' } };
  }

  /**
   * The commit point (or the cancel): compare-and-set the ledger from PENDING,
   * then finish. Returns the state the transaction ended in, which is not
   * `state` when a recoverer decided first.
   */
  private async decide(
    ledgerName: string,
    next: LedgerRecord,
    pendingVersion: string,
    state: 'COMMITTED' | 'CANCELLED',
    known: ReadonlyArray<KnownPrepared | undefined> = [],
  ): Promise<'COMMITTED' | 'CANCELLED'> {
    const record: LedgerRecord = { ...next, state };
    const key = ledgerKey(ledgerName);
    let version: string;
    try {
      version = (await this.write({ key, value: record, expect: pendingVersion })).version;
    } catch (error) {
      if (!isConflict(error)) throw error;
      // Lost: a recoverer decided first, or our own write landed and its answer was lost (the retry then conflicts).
      for (let attempt = 0; attempt < PREPARE_ATTEMPTS_MAX; attempt += 1) {
        const current = await this.read(key);
        const found = current?.value as LedgerRecord | undefined;
        if (found === undefined) {
          if (state === 'CANCELLED') {
            await this.resolveItems(record, false, known); // a recoverer cancelled and finished it: take back what we prepared after its pass
            return 'CANCELLED';
          }
          // Our commit landed (its answer lost) and another party finished it, or a recoverer cancelled it and
          // the record is gone. Whoever finishes a committed transaction writes its token record before deleting
          // the ledger; a recoverer that cancels keeps the record CANCELLED_LEDGER_KEPT_TIMEOUTS (finish).
          const committed =
            record.token !== null
              ? ((await this.read(tokenKey(record.token)))?.value as TokenRecord | undefined)?.digest === record.digest
              : isStale(record.startedMs, this.host.nowMs(), this.host.timeoutMs * CANCELLED_LEDGER_KEPT_TIMEOUTS)
                ? undefined // too old to tell
                : true;
          if (committed === true) return 'COMMITTED';
          if (committed === false) {
            await this.resolveItems(record, false, known);
            return 'CANCELLED';
          }
          throw new DynamoDbError('InternalServerError', 'The outcome of the transaction is unknown: another party finished it');
        }
        if (found.transactionId !== record.transactionId) {
          // A later attempt under our token took the place of a CANCELLED record: we were cancelled.
          await this.resolveItems(record, false, known);
          return 'CANCELLED';
        }
        if (found.state === 'PENDING') throw error; // not ours to take over: only a recoverer moves it, and it did not
        const confirmed = await this.confirm(ledgerName, current!);
        if (confirmed === undefined) continue; // it changed meanwhile: look again
        await this.finish(ledgerName, confirmed, true, known);
        return found.state;
      }
      throw error;
    }
    await this.finish(ledgerName, { value: record, version, replica: 0 }, true, known);
    return state;
  }

  /**
   * Makes a ledger record that was read (not acknowledged to us) durable
   * before anyone acts on it, by writing it again on the version read: a
   * partition's leader may answer a consistent read with a write it has not
   * yet replicated to W replicas (one whose writer timed out), and a failover
   * then loses that write, so that acting on it would resolve items by a
   * decision the ledger no longer holds (found by the seeded simulation,
   * test/simulation-transactions.test.ts). Once this write is acknowledged the
   * decision is on W replicas. Undefined when the record changed meanwhile.
   */
  private async confirm(ledgerName: string, stored: OrderedValue): Promise<OrderedValue | undefined> {
    try {
      const { version } = await this.write({ key: ledgerKey(ledgerName), value: stored.value, expect: stored.version });
      return { value: stored.value, version, replica: stored.replica };
    } catch (error) {
      if (!isConflict(error)) throw error;
      return undefined;
    }
  }

  /** Step 4 for a decided ledger record: resolve every item still prepared by it, write the token record, delete the ledger. */
  private async finish(ledgerName: string, stored: OrderedValue, byCoordinator: boolean, known: ReadonlyArray<KnownPrepared | undefined> = []): Promise<void> {
    const ledger = stored.value as LedgerRecord;
    const committed = ledger.state === 'COMMITTED';
    await this.resolveItems(ledger, committed, known);
    if (committed && ledger.token !== null) {
      const token: TokenRecord = { digest: ledger.digest, completedMs: this.host.nowMs(), readUnits: ledger.readUnits };
      await this.write({ key: tokenKey(ledger.token), value: token, ttlMs: TOKEN_WINDOW_MS });
    }
    // A recoverer that cancelled keeps the record a while: its coordinator may still be preparing
    // (slow, not dead), and a prepare that lands after this pass is then found by the next sweep.
    const keep = !byCoordinator && !committed && !isStale(ledger.startedMs, this.host.nowMs(), this.host.timeoutMs * CANCELLED_LEDGER_KEPT_TIMEOUTS);
    if (!keep) await this.deleteLedger(ledgerName, stored.version);
  }

  private async deleteLedger(ledgerName: string, version: string): Promise<void> {
    try {
      await this.write({ key: ledgerKey(ledgerName), value: undefined, expect: version });
    } catch (error) {
      if (!isConflict(error)) throw error; // someone else finished it
    }
  }

  private async resolveItems(ledger: LedgerRecord, committed: boolean, known: ReadonlyArray<KnownPrepared | undefined> = []): Promise<void> {
    await Promise.all(ledger.items.map((item, i) => this.resolveItem(item.key, item.tableName, ledger.transactionId, committed, known[i])));
  }

  /**
   * Rewrites one item to its resolved image if `transactionId` still holds
   * it. What the coordinator prepared it tries first without reading (a lost
   * compare-and-set then reads, as a recoverer does).
   */
  private async resolveItem(key: Uint8Array, tableName: string, transactionId: string, committed: boolean, known: KnownPrepared | undefined): Promise<void> {
    for (let attempt = 0; attempt < PREPARE_ATTEMPTS_MAX; attempt += 1) {
      let held: PreparedItem | undefined;
      let version: string | undefined;
      if (attempt === 0 && known !== undefined) {
        ({ held, version } = known);
      } else {
        const current = await this.read(key);
        held = preparedOf(current?.value);
        version = current?.version;
        if (held === undefined || held.transactionId !== transactionId) {
          // Resolved already, perhaps by our own write whose answer was lost: the ledger record goes once every
          // item's resolution is durable, so make what we read durable (as `confirm` does for the ledger).
          if (current === undefined || (await this.confirmItem(key, current)) !== undefined) return;
          continue;
        }
      }
      const image = resolvedImage(held, committed);
      // The committed change reaches the indexes and the stream in the item's own write, so exactly once
      // (this compare-and-set on the prepared version succeeds once). The prepared form was never indexed,
      // so a cancellation, which restores the prior image, changes nothing indexed.
      const changed = committed && held.action !== 'ConditionCheck' ? await this.changeWritesOf(tableName, held) : undefined;
      try {
        await this.write({ key, value: image, expect: version!, ...(changed === undefined ? {} : { also: changed.also }) });
      } catch (error) {
        if (isConflict(error)) continue;
        throw error;
      }
      changed?.committed();
      if (committed && held.action !== 'ConditionCheck') {
        this.host.onItemChange(tableName, held.prior === null ? undefined : itemSize(held.prior), image === undefined ? undefined : itemSize(image));
      }
      return;
    }
  }

  /** Writes an item again as read, so that it is durable (see `confirm`): its new version, or undefined when it changed meanwhile. */
  private async confirmItem(key: Uint8Array, stored: OrderedValue): Promise<string | undefined> {
    try {
      return (await this.write({ key, value: stored.value, expect: stored.version })).version;
    } catch (error) {
      if (!isConflict(error)) throw error;
      return undefined;
    }
  }

  /** The index and stream writes of a committed change; none once its table is gone (DeleteTable dropped its spaces). */
  private async changeWritesOf(tableName: string, held: PreparedItem): Promise<ChangeWrites | undefined> {
    if (this.host.changeWrites === undefined) return undefined;
    try {
      return await this.host.changeWrites(tableName, held.prior ?? undefined, held.next ?? undefined);
    } catch (error) {
      if (error instanceof DynamoDbError && error.name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  // ------------------------------------------------------------------ meeting a prepared item

  /**
   * What anyone does on meeting an item another transaction holds: finish
   * that transaction if it is decided or stale ('resolved': read again), or
   * leave it ('locked').
   */
  async meet(held: PreparedItem, key: Uint8Array, current: OrderedValue): Promise<'locked' | 'resolved'> {
    const stored = await this.read(ledgerKey(held.ledgerName));
    const ledger = stored?.value as LedgerRecord | undefined;
    const resolution = resolutionOf(held.transactionId, ledger, this.host.nowMs(), this.host.timeoutMs);
    switch (resolution.kind) {
      case 'locked':
        return 'locked';
      case 'restore':
        try {
          await this.write({ key, value: resolvedImage(held, false), expect: current.version });
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
        return 'resolved';
      default:
        await this.recoverLedger(held.ledgerName, stored!);
        return 'resolved';
    }
  }

  /**
   * A single write (PutItem, UpdateItem, DeleteItem, BatchWriteItem) meeting
   * the item it read: false when no transaction holds it, true when one did
   * and was finished (read again), TransactionConflictException while one is
   * in flight (DG:transaction-apis#transaction-conflict-handling).
   */
  async meetForWrite(key: Uint8Array, current: OrderedValue): Promise<boolean> {
    const held = preparedOf(current.value);
    if (held === undefined) return false;
    if ((await this.meet(held, key, current)) === 'locked') throw transactionConflict();
    return true;
  }

  /** Finishes a decided ledger record, or cancels a stale PENDING one and finishes it. */
  private async recoverLedger(ledgerName: string, stored: OrderedValue): Promise<void> {
    const ledger = stored.value as LedgerRecord;
    if (ledger.state !== 'PENDING') {
      const confirmed = await this.confirm(ledgerName, stored);
      // Changed meanwhile: whoever meets the items next (or the next sweep) looks again.
      if (confirmed !== undefined) await this.finish(ledgerName, confirmed, false);
      return;
    }
    const resolution = resolutionOf(ledger.transactionId, ledger, this.host.nowMs(), this.host.timeoutMs);
    if (resolution.kind !== 'cancel') return;
    const cancelled = withState(ledger, 'CANCELLED');
    try {
      const { version } = await this.write({ key: ledgerKey(ledgerName), value: cancelled, expect: stored.version });
      await this.finish(ledgerName, { value: cancelled, version, replica: stored.replica }, false);
    } catch (error) {
      if (!isConflict(error)) throw error; // its coordinator decided first; whoever meets it next finishes it
    }
  }

  // ------------------------------------------------------------------ TransactGetItems

  async transactGet(plan: TransactGetPlan): Promise<TransactGetItemsOutput> {
    const keys = plan.gets.map((get) => this.host.itemKey(get.tableName, get.key));
    let changed: boolean[] = [];
    for (let round = 0; round < GET_ROUNDS_MAX; round += 1) {
      const first = await Promise.all(keys.map((key) => this.read(key)));
      const locked = new Array<boolean>(keys.length).fill(false);
      let resolved = false;
      await Promise.all(
        first.map(async (current, i) => {
          const held = preparedOf(current?.value);
          if (held === undefined) return;
          if ((await this.meet(held, keys[i]!, current!)) === 'locked') locked[i] = true;
          else resolved = true;
        }),
      );
      if (locked.some(Boolean)) throw transactionCanceled(locked.map((conflict) => (conflict ? { kind: 'conflict' } : undefined)));
      if (resolved) continue;
      const second = await Promise.all(keys.map((key) => this.read(key)));
      changed = second.map((current, i) => current?.version !== first[i]?.version);
      if (!changed.some(Boolean)) {
        const items = first.map((current) => committedItem(current?.value));
        this.admitReads(plan, items);
        return plan.answer(items);
      }
    }
    throw transactionCanceled(changed.map((conflict) => (conflict ? { kind: 'conflict' } : undefined)));
  }

  /** Charges every read of a TransactGetItems; a throttled read cancels it (its reason, the others None). */
  private admitReads(plan: TransactGetPlan, items: ReadonlyArray<AttributeMap | undefined>): void {
    if (this.host.admitRead === undefined) return;
    const reasons: Array<ActionOutcome | undefined> = plan.gets.map((get, i) => {
      try {
        this.host.admitRead!(get.tableName, get.key, items[i]);
        return undefined;
      } catch (error) {
        const refused = refusalOf(error);
        if (refused === undefined) throw error;
        return refused;
      }
    });
    if (reasons.some((reason) => reason !== undefined)) throw transactionCanceled(reasons);
  }

  // ------------------------------------------------------------------ the sweep

  /** Resolves every transaction in the ledger whose coordinator is gone (decided, or PENDING past the timeout). Returns how many were open. */
  async recover(): Promise<number> {
    let open = 0;
    for (const range of segmentRanges(LEDGER_SPACE, this.engine.tokenRanges(), { tokenStart: 0, tokenEnd: TOKEN_VALUES })) {
      let start = range.start;
      for (;;) {
        const page = await this.engine.range({ start, end: range.end, limit: SWEEP_PAGE_ENTRIES, consistent: true });
        for (const entry of page.entries) {
          open += 1;
          const ledger = entry.value as LedgerRecord;
          await this.recoverLedger(ledger.token ?? ledger.transactionId, { value: entry.value, version: entry.version, replica: page.replica });
        }
        const last = page.entries[page.entries.length - 1];
        if (!page.more || last === undefined) break;
        start = Uint8Array.from([...last.key, 0]);
      }
    }
    return open;
  }

  /** Runs `recover` every `intervalMs` (on the host's timer) until `stop`. */
  start(intervalMs = Math.max(this.host.timeoutMs, SWEEP_INTERVAL_MS_MIN)): void {
    if (this.stopSweep !== undefined) return;
    this.stopSweep = this.host.every(intervalMs, () => {
      if (this.sweeping !== undefined) return;
      const nowMs = this.host.nowMs();
      if (this.emptyAtBegun === this.transactionsBegun && nowMs - this.lastSweepMs < SWEEP_IDLE_INTERVAL_MS) return;
      this.lastSweepMs = nowMs;
      // Only a sweep that started with no transaction of ours in flight can find the ledger empty for good.
      const begun = this.transactionsInFlight === 0 ? this.transactionsBegun : undefined;
      this.sweeping = this.recover()
        .then((open) => { this.emptyAtBegun = open === 0 && begun === this.transactionsBegun ? begun : undefined; })
        .catch(() => { this.emptyAtBegun = undefined; }) // a node down: the next sweep tries again
        .finally(() => (this.sweeping = undefined));
    });
  }

  async stop(): Promise<void> {
    this.stopSweep?.();
    this.stopSweep = undefined;
    await this.sweeping;
  }

  // ------------------------------------------------------------------ engine calls, retried while nodes come and go

  private read(key: Uint8Array): Promise<OrderedValue | undefined> {
    return this.retried(() => this.engine.getOrdered(key, { consistent: true }));
  }

  private write(write: { key: Uint8Array; value: unknown; expect?: string; ttlMs?: number; also?: AlsoKeyWrite[] }): Promise<{ version: string }> {
    return this.retried(() => this.engine.writeOrdered(write));
  }

  /**
   * Retries an engine call that failed for another reason than a lost
   * compare-and-set. A retried compare-and-set whose first try did land
   * fails as a conflict; every caller re-reads on a conflict, so that is safe.
   */
  private async retried<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (isConflict(error) || error instanceof DynamoDbError || attempt + 1 >= ENGINE_RETRIES_MAX) throw error;
        await this.host.sleep(ENGINE_RETRY_DELAY_MS * (attempt + 1));
      }
    }
  }
}

// Not in the reference (no emulator implements the token): the wording of AWS's IdempotentParameterMismatch elsewhere.
function idempotentParameterMismatch(): DynamoDbError {
  return new DynamoDbError('IdempotentParameterMismatchException', 'The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.');
}

export type { AttributeMap };
