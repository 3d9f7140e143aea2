/**
 * TransactWriteItems as a pure core: validation in DynamoDB's order, each
 * action's decision on the item as it is, the cancellation and the answer
 * (API reference: TransactWriteItems, TransactionCanceledException;
 * reference §9). The protocol that runs it is transaction-coordinator.ts.
 *
 * Validation (Coral's constraints, recorded against DynamoDB by ScyllaDB
 * Alternator's test/alternator/test_transact.py and by a conformance suite
 * run in us-east-1 and eu-west-2):
 * - TransactItems 1..100, each with exactly one of Put, Update, Delete,
 *   ConditionCheck; per action the member constraints at
 *   'transactItems.N.member.put.tableName' and so on; ClientRequestToken 1..36.
 * - Expressions, attribute values and empty key values: a ValidationException
 *   for the whole request (test_transact.py `test_transact_write_items_missing_name`,
 *   `..._unused_value`, `..._syntax_error`); an unknown table: ResourceNotFoundException.
 * - A key of the wrong type or shape, a missing key attribute or an item over
 *   400 KB: TransactionCanceledException whose reason for that action is
 *   ValidationError with the single-item operation's message, "None" for
 *   every other (only the first such action is reported:
 *   `test_transact_write_cancellation_reasons_validationerror`).
 * - Two actions on one item: "Transaction request cannot include multiple
 *   operations on one item" (reference §9).
 * - The request's items over 4 MB: the payload counts, not the items the
 *   actions touch (`test_transact_write_items_delete_5MB`).
 *
 * Each action is decided by the single-item cores (write-item.ts) on the
 * committed item: Put, Update and Delete as PutItem, UpdateItem and
 * DeleteItem would; a ConditionCheck as a DeleteItem whose write is dropped.
 */
import { createHash } from 'node:crypto';
import type { AttributeMap } from '../attribute-value.js';
import { consumedCapacity, readCapacityUnits, writeItemCapacity, type ConsumedCapacity, type ReturnConsumedCapacity } from '../capacity-units.js';
import { DynamoDbError, validationError } from '../dynamodb-error.js';
import { itemSize } from '../item-size.js';
import { keyIdentity } from '../batch-get-item.js';
import type { Request } from '../item-request.js';
import {
  constraintMessages,
  RETURN_CONSUMED_CAPACITY,
  RETURN_ITEM_COLLECTION_METRICS,
  RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
  throwConstraintErrors,
  type FieldRule,
} from '../request-constraints.js';
import type { TableRecord } from '../table-catalog.js';
import type { PrimaryKeyValues } from '../table-schema.js';
import { CONDITIONAL_REQUEST_FAILED, prepareDeleteItem, preparePutItem, prepareUpdateItem, type WritePlan } from '../write-item.js';
import type { PreparedAction } from './prepared-item.js';

export const TRANSACT_ITEMS_MAX = 100;
export const TRANSACTION_PAYLOAD_BYTES_MAX = 4 * 1024 * 1024;
export const CLIENT_REQUEST_TOKEN_LENGTH_MAX = 36;
export const MULTIPLE_OPERATIONS_ON_ONE_ITEM = 'Transaction request cannot include multiple operations on one item';
// Not in dynalite (which has no transactions); the wording of public emulators, matching Alternator's /size cannot exceed/.
export const TRANSACTION_TOO_LARGE = 'Transaction failed: The total size of all items in the transaction request cannot exceed 4 MB';
/** CancellationReasons' message for TransactionConflict (API reference: TransactionCanceledException). */
export const TRANSACTION_IS_ONGOING = 'Transaction is ongoing for the item';

const ACTION_KINDS: readonly PreparedAction[] = ['Put', 'Update', 'Delete', 'ConditionCheck'];

/** Each action's members in the service model's order, with Coral's constraints. */
const ACTION_RULES: Readonly<Record<PreparedAction, readonly FieldRule[]>> = {
  Put: [{ field: 'Item', notNull: true }, { field: 'TableName', notNull: true, name: true }, RETURN_VALUES_ON_CONDITION_CHECK_FAILURE],
  Update: [{ field: 'Key', notNull: true }, { field: 'UpdateExpression', notNull: true }, { field: 'TableName', notNull: true, name: true }, RETURN_VALUES_ON_CONDITION_CHECK_FAILURE],
  Delete: [{ field: 'Key', notNull: true }, { field: 'TableName', notNull: true, name: true }, RETURN_VALUES_ON_CONDITION_CHECK_FAILURE],
  ConditionCheck: [
    { field: 'Key', notNull: true },
    { field: 'TableName', notNull: true, name: true },
    { field: 'ConditionExpression', notNull: true },
    RETURN_VALUES_ON_CONDITION_CHECK_FAILURE,
  ],
};

/** Messages of the single-item checks that DynamoDB reports as an action's ValidationError reason instead of for the request. */
const REASON_MESSAGES = [
  /^One or more parameter values were invalid: Type mismatch for key /,
  /^One or more parameter values were invalid: Missing the key /,
  /^The provided key element does not match the schema$/,
  /^One or more parameter values were invalid: Size of hashkey /,
  /^One or more parameter values were invalid: Aggregated size of all range keys /,
  /^Item size has exceeded the maximum allowed size$/,
];

export interface TransactWriteAction {
  /** Position in TransactItems (0-based). */
  readonly index: number;
  readonly kind: PreparedAction;
  readonly tableName: string;
  readonly key: PrimaryKeyValues;
  readonly plan: WritePlan;
}

/** What one action makes of the item as it is. */
export type ActionOutcome =
  /** The action may proceed: `next` is the item after it (undefined: none), and the sizes for capacity and the catalog. */
  | { readonly kind: 'ready'; readonly next: AttributeMap | undefined; readonly oldBytes: number | undefined; readonly newBytes: number | undefined }
  | { readonly kind: 'conditionFailed'; readonly item: AttributeMap | undefined }
  | { readonly kind: 'validation'; readonly message: string }
  /** The item is prepared by another transaction in flight. */
  | { readonly kind: 'conflict' }
  /**
   * The change was refused before it was prepared: a full item collection
   * (ItemCollectionSizeLimitExceeded) or a throttle (ProvisionedThroughputExceeded,
   * ThrottlingError), with the refusing error's message (API:TransactionCanceledException).
   */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

export interface TransactWriteItemsOutput {
  ConsumedCapacity?: TransactionConsumedCapacity[];
}

export type TransactionConsumedCapacity = ConsumedCapacity & { ReadCapacityUnits?: number; WriteCapacityUnits?: number };

export interface TransactWritePlan {
  readonly actions: readonly TransactWriteAction[];
  readonly token: string | undefined;
  /** The request's canonical digest, compared when its token is reused. */
  readonly digest: string;
  readonly capacityMode: ReturnConsumedCapacity | undefined;
}

/** One action's decision on the committed item. */
export function decideAction(action: TransactWriteAction, current: AttributeMap | undefined): ActionOutcome {
  let decision;
  try {
    decision = action.plan.decide(current);
  } catch (error) {
    // UpdateItem's evaluation errors (an operand's type, the new item's size) are the action's ValidationError.
    if (error instanceof DynamoDbError && error.name === 'ValidationException') return { kind: 'validation', message: error.message };
    throw error;
  }
  if (decision.kind === 'conditionFailed') return { kind: 'conditionFailed', item: decision.error.item };
  const oldBytes = current === undefined ? undefined : itemSize(current);
  if (action.kind === 'ConditionCheck') return { kind: 'ready', next: current, oldBytes, newBytes: oldBytes };
  if (decision.kind === 'none') return { kind: 'ready', next: undefined, oldBytes: undefined, newBytes: undefined };
  return { kind: 'ready', next: decision.item, oldBytes: decision.oldBytes, newBytes: decision.newBytes };
}

/** A CancellationReasons entry for one action's outcome ('None' when it was not the cause). */
export function cancellationReason(outcome: ActionOutcome | undefined): { Code: string; Message?: string; Item?: AttributeMap } {
  switch (outcome?.kind) {
    case 'conditionFailed':
      return outcome.item === undefined
        ? { Code: 'ConditionalCheckFailed', Message: CONDITIONAL_REQUEST_FAILED }
        : { Code: 'ConditionalCheckFailed', Message: CONDITIONAL_REQUEST_FAILED, Item: outcome.item };
    case 'validation':
      return { Code: 'ValidationError', Message: outcome.message };
    case 'conflict':
      return { Code: 'TransactionConflict', Message: TRANSACTION_IS_ONGOING };
    case 'refused':
      return { Code: outcome.code, Message: outcome.message };
    default:
      return { Code: 'None' };
  }
}

/** TransactionCanceledException with one reason per action, in action order (reference §9). */
export function transactionCanceled(outcomes: ReadonlyArray<ActionOutcome | undefined>): DynamoDbError {
  const reasons = outcomes.map(cancellationReason);
  const message = `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`;
  return new DynamoDbError('TransactionCanceledException', message, { cancellationReasons: reasons });
}

/** Whether the outcomes let the transaction commit. */
export function allReady(outcomes: readonly ActionOutcome[]): boolean {
  return outcomes.every((outcome) => outcome.kind === 'ready');
}

/** Transactional writes cost double (reference §3): each action's item, summed per table. */
export function transactWriteAnswer(plan: TransactWritePlan, outcomes: readonly ActionOutcome[]): TransactWriteItemsOutput {
  const units = new Map<string, number>();
  plan.actions.forEach((action, i) => {
    const outcome = outcomes[i]!;
    const bytes = outcome.kind === 'ready' ? [outcome.oldBytes, outcome.newBytes] : [undefined, undefined];
    units.set(action.tableName, (units.get(action.tableName) ?? 0) + writeItemCapacity(bytes[0], bytes[1], true));
  });
  return capacityOutput(plan.capacityMode, units, 'WriteCapacityUnits');
}

/** Read units a repeat of the request under its token reports, per table (DG:transaction-apis#transaction-capacity-handling). */
export function replayReadUnits(plan: TransactWritePlan, outcomes: readonly ActionOutcome[]): Record<string, number> {
  const units: Record<string, number> = {};
  plan.actions.forEach((action, i) => {
    const outcome = outcomes[i]!;
    const bytes = outcome.kind === 'ready' ? Math.max(outcome.oldBytes ?? 0, outcome.newBytes ?? 0) : 0;
    units[action.tableName] = (units[action.tableName] ?? 0) + readCapacityUnits(bytes, 'transactional');
  });
  return units;
}

export function replayAnswer(plan: TransactWritePlan, readUnits: Readonly<Record<string, number>>): TransactWriteItemsOutput {
  return capacityOutput(plan.capacityMode, new Map(Object.entries(readUnits)), 'ReadCapacityUnits');
}

export function capacityOutput(mode: ReturnConsumedCapacity | undefined, units: ReadonlyMap<string, number>, kind: 'ReadCapacityUnits' | 'WriteCapacityUnits'): { ConsumedCapacity?: TransactionConsumedCapacity[] } {
  if (mode === undefined || mode === 'NONE') return {};
  const consumed: TransactionConsumedCapacity[] = [];
  for (const [tableName, tableUnits] of units) {
    const capacity = consumedCapacity(mode, tableName, { table: tableUnits }) as TransactionConsumedCapacity;
    capacity[kind] = tableUnits;
    consumed.push(capacity);
  }
  return { ConsumedCapacity: consumed };
}

// ---------------------------------------------------------------------------- validation

function lowerFirst(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

/** The one operation of a TransactItems entry, or undefined when it has none or several. */
export function actionOf(entry: unknown): { kind: PreparedAction; request: Request } | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const present = ACTION_KINDS.filter((kind) => (entry as Record<string, unknown>)[kind] !== undefined && (entry as Record<string, unknown>)[kind] !== null);
  if (present.length !== 1) return undefined;
  return { kind: present[0]!, request: (entry as Record<string, Request>)[present[0]!]! };
}

/** Coral's constraints of the request and of every action (top-level ValidationException). */
function checkRequestConstraints(request: Request): void {
  const items = request['TransactItems'];
  const messages = constraintMessages(items, { field: 'TransactItems', notNull: true, lengthMin: 1, lengthMax: TRANSACT_ITEMS_MAX });
  if (Array.isArray(items)) {
    items.forEach((entry, i) => {
      const action = actionOf(entry);
      if (action === undefined) return;
      for (const rule of ACTION_RULES[action.kind]) {
        messages.push(...constraintMessages(action.request[rule.field], rule, `transactItems.${i + 1}.member.${lowerFirst(action.kind)}.${lowerFirst(rule.field)}`));
      }
    });
  }
  messages.push(...constraintMessages(request['ReturnConsumedCapacity'], RETURN_CONSUMED_CAPACITY));
  messages.push(...constraintMessages(request['ReturnItemCollectionMetrics'], RETURN_ITEM_COLLECTION_METRICS));
  messages.push(...constraintMessages(request['ClientRequestToken'], { field: 'ClientRequestToken', lengthMin: 1, lengthMax: CLIENT_REQUEST_TOKEN_LENGTH_MAX }));
  throwConstraintErrors(messages);
  if ((items as unknown[]).some((entry) => actionOf(entry) === undefined)) {
    // eu-west-2's Coral wording (the conformance suite above); us-east-1 still says "Invalid Request: ...".
    throw validationError("1 validation error detected: Value '' at 'transactItems' failed to satisfy constraint: TransactWriteRequest should contain Delete or Put or Update or ConditionCheck");
  }
}

function isReasonError(error: unknown): error is DynamoDbError {
  return error instanceof DynamoDbError && error.name === 'ValidationException' && REASON_MESSAGES.some((pattern) => pattern.test(error.message));
}

function prepareAction(kind: PreparedAction, request: Request, table: (name: string) => TableRecord): WritePlan {
  // No ReturnValues in a transaction's actions: the cores then return no Attributes.
  switch (kind) {
    case 'Put':
      return preparePutItem(request, table);
    case 'Update':
      return prepareUpdateItem(request, table);
    default:
      return prepareDeleteItem(request, table);
  }
}

/** The bytes an action adds to the transaction's payload: its item or key and its expression values. */
function payloadBytes(request: Request): number {
  const maps = [request['Item'], request['Key'], request['ExpressionAttributeValues']].filter((map) => typeof map === 'object' && map !== null) as AttributeMap[];
  return maps.reduce((sum, map) => sum + itemSize(map), 0);
}

export function prepareTransactWriteItems(request: Request, table: (name: string) => TableRecord): TransactWritePlan {
  checkRequestConstraints(request);
  const entries = request['TransactItems'] as unknown[];
  const actions: TransactWriteAction[] = [];
  let reason: { index: number; message: string } | undefined;
  entries.forEach((entry, index) => {
    const { kind, request: actionRequest } = actionOf(entry)!;
    try {
      const plan = prepareAction(kind, actionRequest, table);
      actions.push({ index, kind, tableName: plan.tableName, key: plan.key, plan });
    } catch (error) {
      if (!isReasonError(error)) throw error;
      reason ??= { index, message: error.message };
    }
  });
  const seen = new Set<string>();
  for (const action of actions) {
    const identity = `${action.tableName}\u0000${keyIdentity(keyMapOf(action.key))}`;
    if (seen.has(identity)) throw validationError(MULTIPLE_OPERATIONS_ON_ONE_ITEM);
    seen.add(identity);
  }
  const bytes = entries.reduce<number>((sum, entry) => sum + payloadBytes(actionOf(entry)!.request), 0);
  if (bytes > TRANSACTION_PAYLOAD_BYTES_MAX) throw validationError(TRANSACTION_TOO_LARGE);
  if (reason !== undefined) {
    const outcomes = entries.map((_, i): ActionOutcome | undefined => (i === reason!.index ? { kind: 'validation', message: reason!.message } : undefined));
    throw transactionCanceled(outcomes);
  }
  const token = request['ClientRequestToken'] as string | undefined | null;
  return { actions, token: token ?? undefined, digest: requestDigest(request), capacityMode: request['ReturnConsumedCapacity'] as ReturnConsumedCapacity | undefined };
}

function keyMapOf(key: PrimaryKeyValues): AttributeMap {
  return key.sort === undefined ? { p: key.partition } : { p: key.partition, s: key.sort };
}

/**
 * SHA-256 of the request's TransactItems, members in sorted order and binary
 * values in base64: equal for requests that would make the same changes.
 * ReturnConsumedCapacity and ReturnItemCollectionMetrics only shape the
 * answer, and a repeat may ask for capacity to see the read units it costs
 * (DG:transaction-apis#transaction-capacity-handling), so they are left out.
 */
export function requestDigest(request: Request): string {
  return createHash('sha256').update(canonicalJson(request['TransactItems'])).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify({ $b: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
