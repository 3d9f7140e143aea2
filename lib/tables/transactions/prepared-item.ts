/**
 * The stored form of an item that a TransactWriteItems has prepared (locked)
 * and not yet resolved: the item's committed image before the transaction
 * (`prior`), the change it will make if it commits (`next`), and the
 * transaction that holds it. DynamoDB's two-phase commit marks each item of a
 * transaction during prepare and rewrites it at commit ("Distributed
 * Transactions at Scale in Amazon DynamoDB", USENIX ATC 2023, §3.2: "the
 * transaction coordinator ... sends a prepare message to each storage node
 * ... [which] records the transaction as accepted"). Here that mark is the
 * item's own stored value, written by the leader's compare-and-set
 * (DESIGN.md §3), so nothing below the tables layer knows about it.
 *
 * Every read path decodes a stored value with `committedItem`: a prepared
 * item reads as its prior image (the transaction is not visible until it is
 * applied), and an item the transaction creates reads as absent.
 *
 * The mark is the member named '' (empty): DynamoDB attribute names are at
 * least one byte long (reference §1), so no item ever has it.
 */
import type { AttributeMap } from '../attribute-value.js';

/** What the transaction does to the item once committed. */
export type PreparedAction = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';

export interface PreparedItem {
  /** The transaction's id, unique to this attempt. */
  readonly transactionId: string;
  /** The name of its ledger record (transaction-ledger.ts `ledgerKey`): the ClientRequestToken, else the id. */
  readonly ledgerName: string;
  /** When the transaction began, by its coordinator's clock: the age past which others may resolve it. */
  readonly startedMs: number;
  readonly action: PreparedAction;
  /** The committed image before the transaction; null when the item did not exist. */
  readonly prior: AttributeMap | null;
  /** The image after the transaction; null when it deletes (or never creates) the item. */
  readonly next: AttributeMap | null;
}

const MARK = '';

export function preparedValue(prepared: PreparedItem): Record<string, unknown> {
  return { [MARK]: prepared };
}

/** The prepared form of a stored value, or undefined for an ordinary item. */
export function preparedOf(value: unknown): PreparedItem | undefined {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, MARK)) return undefined;
  return (value as Record<string, PreparedItem>)[MARK];
}

/** The committed item a stored value stands for: the value itself, or a prepared item's prior image (undefined: no item). */
export function committedItem(value: unknown): AttributeMap | undefined {
  if (value === undefined || value === null) return undefined;
  const prepared = preparedOf(value);
  if (prepared === undefined) return value as AttributeMap;
  return prepared.prior ?? undefined;
}

/** The image to store when the prepared item's transaction resolves: `next` if it committed, `prior` if it was cancelled. */
export function resolvedImage(prepared: PreparedItem, committed: boolean): AttributeMap | undefined {
  return (committed ? prepared.next : prepared.prior) ?? undefined;
}
