/**
 * Time to Live, purely: UpdateTimeToLive's and DescribeTimeToLive's decisions
 * and which items are expired. Time is passed in; the sweeper
 * (time-to-live-sweeper.ts) and the Database are the shell.
 *
 * DynamoDB's behaviour (reference §12; API: UpdateTimeToLive,
 * DescribeTimeToLive; DG: Time to Live):
 * - A table has at most one TTL attribute. Enabling when enabled is
 *   "TimeToLive is already enabled" (same attribute) or "TimeToLive is active
 *   on a different AttributeName: current AttributeName is X" (another one);
 *   disabling when disabled is "TimeToLive is already disabled"; disabling
 *   names the current attribute or gets the "different AttributeName" error.
 *   These content checks come before the cooldown check (a conformance
 *   suite recorded against DynamoDB, found with the search tool; Alternator's
 *   test_ttl.py asserts the same words against AWS).
 * - After a successful change, another UpdateTimeToLive on the table within
 *   the cooldown is "Time to live has been modified multiple times within a
 *   fixed interval" (API: "up to one hour"; measured about 31 minutes by the
 *   same suite). The cooldown is a Database option so tests can shorten it.
 * - DescribeTimeToLive: ENABLED with the attribute, or DISABLED without one.
 *   The change takes effect here at once, so ENABLING and DISABLING are never
 *   shown (Alternator's test_ttl_enable sees ENABLED right after enabling on
 *   AWS too).
 * - An item is eligible when its TTL attribute is a Number of epoch seconds
 *   no more than five years in the past; any other type or value is ignored.
 *   It is expired once that time is before now, and stays readable until the
 *   background sweep deletes it.
 */
import { DynamoDbError, validationError } from './dynamodb-error.js';
import { compareNumbers } from './number.js';
import { anyTable, type CatalogState, type TableRecord } from './table-catalog.js';
import { checkConstraints, constraintMessages, throwConstraintErrors, TABLE_NAME } from './request-constraints.js';
import type { AttributeMap } from './attribute-value.js';

/** The table's setting; `changedAtMs` is when the last successful UpdateTimeToLive ran (the cooldown counts from it). */
export type TimeToLiveSetting = NonNullable<TableRecord['timeToLive']>;

export interface TimeToLiveSpecification {
  AttributeName: string;
  Enabled: boolean;
}

export interface TimeToLiveDescription {
  TimeToLiveStatus: 'ENABLED' | 'DISABLED';
  AttributeName?: string;
}

/** DynamoDB's "up to one hour" (API: UpdateTimeToLive). */
export const TIME_TO_LIVE_COOLDOWN_MS_DEFAULT = 3_600_000;
/** Items whose TTL is further in the past than this are ignored (DG: TTL, before you start). */
export const TIME_TO_LIVE_PAST_SECONDS_MAX = 5 * 365 * 24 * 3600;
export const ATTRIBUTE_NAME_BYTES_MAX = 255;

export interface UpdateTimeToLiveContext {
  readonly nowMs: number;
  readonly cooldownMs: number;
}

export interface UpdateTimeToLiveDecision {
  readonly tableName: string;
  readonly setting: TimeToLiveSetting;
  readonly output: { TimeToLiveSpecification: TimeToLiveSpecification };
}

/** UpdateTimeToLive: request checks, then the table, then the content checks, then the cooldown. */
export function updateTimeToLive(state: CatalogState, input: Readonly<Record<string, unknown>>, context: UpdateTimeToLiveContext): UpdateTimeToLiveDecision {
  checkConstraints(input, [TABLE_NAME, { field: 'TimeToLiveSpecification', notNull: true }]);
  const specification = input['TimeToLiveSpecification'] as Readonly<Record<string, unknown>>;
  throwConstraintErrors(specificationMessages(specification));
  const attributeName = specification['AttributeName'] as string;
  const enabled = specification['Enabled'] as boolean;
  const tableName = input['TableName'] as string;
  const record = anyTable(state, tableName);
  const current = record.timeToLive;
  const active = current?.enabled === true;
  if (active && current.attributeName !== attributeName) {
    throw validationError(`TimeToLive is active on a different AttributeName: current AttributeName is ${current.attributeName}`);
  }
  if (active && enabled) throw validationError('TimeToLive is already enabled');
  if (!active && !enabled) throw validationError('TimeToLive is already disabled');
  if (current !== undefined && context.nowMs - current.changedAtMs < context.cooldownMs) {
    throw validationError('Time to live has been modified multiple times within a fixed interval');
  }
  return {
    tableName,
    setting: { attributeName, enabled, changedAtMs: context.nowMs },
    output: { TimeToLiveSpecification: { AttributeName: attributeName, Enabled: enabled } },
  };
}

/**
 * The specification's members: null ones in the order the request gives
 * them, then missing ones in the model's order (dynalite's
 * test/updateTimeToLive.js, recorded against DynamoDB, shows both orders).
 */
function specificationMessages(specification: Readonly<Record<string, unknown>>): string[] {
  const rules = {
    Enabled: { field: 'Enabled', notNull: true },
    AttributeName: { field: 'AttributeName', notNull: true, lengthMin: 1, lengthMax: ATTRIBUTE_NAME_BYTES_MAX },
  } as const;
  const given = Object.keys(specification).filter((name): name is keyof typeof rules => Object.hasOwn(rules, name));
  const order = [...given, ...(['Enabled', 'AttributeName'] as const).filter((name) => !given.includes(name))];
  return order.flatMap((name) => constraintMessages(specification[name], rules[name], `timeToLiveSpecification.${name[0]!.toLowerCase()}${name.slice(1)}`));
}

export function withTimeToLive(state: CatalogState, decision: UpdateTimeToLiveDecision): CatalogState {
  const record = anyTable(state, decision.tableName);
  return { ...state, tables: { ...state.tables, [decision.tableName]: { ...record, timeToLive: decision.setting } } };
}

/** DescribeTimeToLive. */
export function describeTimeToLive(state: CatalogState, input: Readonly<Record<string, unknown>>): { TimeToLiveDescription: TimeToLiveDescription } {
  checkConstraints(input, [TABLE_NAME]);
  const record = anyTable(state, input['TableName'] as string);
  const setting = record.timeToLive;
  if (setting === undefined || !setting.enabled) return { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } };
  return { TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: setting.attributeName } };
}

/** The attribute to sweep for, when the table's TTL is on. */
export function sweptAttribute(record: TableRecord): string | undefined {
  return record.status === 'ACTIVE' && record.timeToLive?.enabled === true ? record.timeToLive.attributeName : undefined;
}

/**
 * The Number value an item expired at, or undefined when it is not expired
 * at `nowMs` (no such attribute, not a Number, in the future, or more than
 * five years in the past). Exact decimal comparison: TTL values may carry
 * fractions.
 */
export function expiredAt(item: AttributeMap, attributeName: string, nowMs: number): string | undefined {
  const value = item[attributeName];
  if (value === undefined || !('N' in value) || typeof value.N !== 'string') return undefined;
  const nowSeconds = Math.floor(nowMs / 1000);
  if (compareNumbers(value.N, String(nowSeconds)) >= 0) return undefined;
  if (compareNumbers(value.N, String(nowSeconds - TIME_TO_LIVE_PAST_SECONDS_MAX)) < 0) return undefined;
  return value.N;
}

/** A sweep's delete is conditional on the item still carrying the expiry it was found with. */
export function sweepDeleteCondition(attributeName: string, expiry: string): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, { N: string }>;
} {
  return {
    ConditionExpression: '#ttl = :expiry',
    ExpressionAttributeNames: { '#ttl': attributeName },
    ExpressionAttributeValues: { ':expiry': { N: expiry } },
  };
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof DynamoDbError && error.name === 'ConditionalCheckFailedException';
}
