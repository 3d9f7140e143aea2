/**
 * The transaction ledger and its state machine, pure. DynamoDB's transaction
 * coordinators keep "a durable ledger" of each transaction's state, so that
 * a recovery manager can finish a transaction whose coordinator died ("Distributed
 * Transactions at Scale in Amazon DynamoDB", USENIX ATC 2023, §3.3 and §4.3).
 * Here the ledger record is one leader-ordered key per transaction, in a
 * space of its own, and every change of it is a compare-and-set at its
 * partition's leader (DESIGN.md §3), so of two parties racing to decide a
 * transaction exactly one wins:
 *
 *   PENDING --commit (the coordinator: the commit point)--> COMMITTED
 *   PENDING --cancel (the coordinator, or anyone once it is stale)--> CANCELLED
 *
 * Nothing leaves COMMITTED or CANCELLED; once every item is resolved the
 * record is deleted. A PENDING transaction is never rolled forward by
 * anyone but its coordinator, which alone knows that every item prepared.
 * Whoever meets a prepared item asks `resolutionOf` what to do.
 *
 * Client request tokens (API reference: TransactWriteItems
 * `ClientRequestToken`; DG:transaction-apis#transaction-apis-txwriteitems-idempotency):
 * the ledger record of a transaction with a token is named by the token, so
 * a repeat that arrives while it runs meets it (TransactionInProgressException,
 * or IdempotentParameterMismatchException for another request); a committed
 * one leaves a token record, in another space, kept TOKEN_WINDOW_MS after
 * completion, that a repeat answers from.
 */
import { partitionedKey } from '../../ring/hash.js';
import { SPACE_MAX } from '../../ring/partitioned-key.js';

export type TransactionState = 'PENDING' | 'COMMITTED' | 'CANCELLED';

/**
 * Engine spaces reserved for the ledger and the tokens: table ids count up
 * from 1 (table-catalog.ts) and are never reused, so these, at the top of the
 * uint32 range, are never a table's.
 */
export const LEDGER_SPACE = SPACE_MAX - 0x100;
export const TOKEN_RECORD_SPACE = SPACE_MAX - 0x101;

/** A token is honoured this long after the request that used it completed (DG:transaction-apis). */
export const TOKEN_WINDOW_MS = 10 * 60 * 1000;
/** Default age after which a transaction's prepared items may be resolved by anyone who meets them. */
export const TRANSACTION_TIMEOUT_MS_DEFAULT = 5000;

export interface LedgerItem {
  /** The item's engine key. */
  readonly key: Uint8Array;
  readonly tableName: string;
}

export interface LedgerRecord {
  /** The attempt this record decides; a prepared item of another id is not this record's. */
  readonly transactionId: string;
  readonly state: TransactionState;
  readonly startedMs: number;
  /** Every item the transaction prepares, so that a recovery can resolve them all. */
  readonly items: readonly LedgerItem[];
  /** The ClientRequestToken, whose record is written before the ledger record is deleted. */
  readonly token: string | null;
  /** The request's digest (transact-write-items.ts `requestDigest`), to tell a repeat from another request under one token. */
  readonly digest: string;
  /** What a repeat of a committed request reports: read units per table. */
  readonly readUnits: Readonly<Record<string, number>>;
}

const utf8 = new TextEncoder();

/** The ledger record of a transaction: named by its ClientRequestToken when it has one, so two attempts under one token meet at one key. */
export function ledgerKey(ledgerName: string): Uint8Array {
  return partitionedKey(LEDGER_SPACE, utf8.encode(ledgerName));
}

export function tokenKey(token: string): Uint8Array {
  return partitionedKey(TOKEN_RECORD_SPACE, utf8.encode(token));
}

/** The only transitions of a ledger record. */
export function canTransition(from: TransactionState, to: TransactionState): boolean {
  return from === 'PENDING' && (to === 'COMMITTED' || to === 'CANCELLED');
}

export function withState(record: LedgerRecord, state: TransactionState): LedgerRecord {
  if (!canTransition(record.state, state)) throw new Error(`ledger transition ${record.state} -> ${state} is not allowed`);
  return { ...record, state };
}

export function isStale(startedMs: number, nowMs: number, timeoutMs: number): boolean {
  return nowMs - startedMs >= timeoutMs;
}

export type Resolution =
  /** The transaction is young and undecided: its items are locked (TransactionConflict). */
  | { readonly kind: 'locked' }
  /** Stale and undecided: cancel it by compare-and-set on the ledger, then resolve. */
  | { readonly kind: 'cancel' }
  /** Decided: rewrite each prepared item to its next (committed) or prior (cancelled) image. */
  | { readonly kind: 'resolve'; readonly committed: boolean }
  /**
   * No ledger record: it was deleted after every item was resolved (or never
   * written, and then nothing was prepared under it), so an item still
   * marked was never part of a committed outcome: restore its prior image.
   */
  | { readonly kind: 'restore' };

/** What to do about an item prepared by `transactionId`, given its ledger record as read. */
export function resolutionOf(transactionId: string, ledger: LedgerRecord | undefined, nowMs: number, timeoutMs: number): Resolution {
  if (ledger === undefined || ledger.transactionId !== transactionId) return { kind: 'restore' };
  if (ledger.state === 'COMMITTED') return { kind: 'resolve', committed: true };
  if (ledger.state === 'CANCELLED') return { kind: 'resolve', committed: false };
  return isStale(ledger.startedMs, nowMs, timeoutMs) ? { kind: 'cancel' } : { kind: 'locked' };
}

// ---------------------------------------------------------------------------- ClientRequestToken

/** Written when a transaction under a token commits, before its ledger record is deleted; kept TOKEN_WINDOW_MS. */
export interface TokenRecord {
  readonly digest: string;
  readonly completedMs: number;
  readonly readUnits: Readonly<Record<string, number>>;
}

export type TokenDecision =
  /** No committed request under the token in the window: run the transaction under it. */
  | { readonly kind: 'run' }
  /** The same request already committed: answer success without changing anything. */
  | { readonly kind: 'replay'; readonly record: TokenRecord }
  /** Another request committed under the token: IdempotentParameterMismatchException. */
  | { readonly kind: 'mismatch' };

export function tokenDecision(record: TokenRecord | undefined, digest: string, nowMs: number): TokenDecision {
  if (record === undefined || nowMs - record.completedMs >= TOKEN_WINDOW_MS) return { kind: 'run' };
  return record.digest === digest ? { kind: 'replay', record } : { kind: 'mismatch' };
}

/** A ledger record met under the same token: the request still runs, or another one does. */
export function inFlightDecision(ledger: LedgerRecord, digest: string, nowMs: number, timeoutMs: number): 'inProgress' | 'mismatch' | 'recover' {
  if (ledger.state !== 'PENDING' || isStale(ledger.startedMs, nowMs, timeoutMs)) return 'recover';
  return ledger.digest === digest ? 'inProgress' : 'mismatch';
}
