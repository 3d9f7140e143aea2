/**
 * Pieces every item operation's validation shares, in the order
 * dyn:validations/<operation>.js `custom` runs them after Coral's
 * constraints: the expression/legacy mixing rules, the AttributeValues of
 * the request, then the expressions with their placeholders (reference §6,
 * §17; expressions.ts documents the expression module's own order).
 */
import type { AttributeMap } from './attribute-value.js';
import { validateAttributeMap, validateAttributeValue, type NestingMessageForm } from './attribute-validation.js';
import { validationError } from './dynamodb-error.js';
import type { Condition, ResolvedPath } from './expression/ast.js';
import type { ExpressionAttributes } from './expression/expression-attributes.js';
import { prepareExpressions, type PreparedExpressions } from './expression/expressions.js';
import {
  conditionFromExpected,
  projectionFromAttributesToGet,
  type ConditionalOperator,
  type ExpectedAttributeValue,
} from './expression/legacy-parameters.js';
import type { ReturnConsumedCapacity } from './capacity-units.js';

export type Request = Readonly<Record<string, unknown>>;

/** A condition with the attributes its placeholders resolve against (expression or translated legacy parameter). */
export interface BoundCondition {
  readonly condition: Condition;
  readonly attributes: ExpressionAttributes;
}

/** "Duplicate value in attribute name" of AttributesToGet (dyn:validations/getItem.js, query.js, scan.js). */
export function checkAttributesToGet(names: unknown): void {
  if (!Array.isArray(names)) return;
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw validationError(`One or more parameter values were invalid: Duplicate value in attribute name: ${String(duplicate)}`);
}

/** The values of ExpressionAttributeValues, each validated and normalised ("... for key :v"). */
export function validatedExpressionValues(values: unknown, nesting?: NestingMessageForm): AttributeMap | undefined {
  if (values === undefined || values === null) return undefined;
  const out: AttributeMap = {};
  for (const [placeholder, value] of Object.entries(values as Record<string, unknown>)) {
    out[placeholder] = validateAttributeValue(value, nesting === undefined ? { parameter: 'ExpressionAttributeValues', placeholder } : { parameter: 'ExpressionAttributeValues', placeholder, nesting });
  }
  return out;
}

/** Validates the request's expressions with its (validated) ExpressionAttributeValues. */
export function requestExpressions(request: Request, values: AttributeMap | undefined): PreparedExpressions {
  return prepareExpressions({
    UpdateExpression: request['UpdateExpression'] as string | undefined,
    ConditionExpression: request['ConditionExpression'] as string | undefined,
    KeyConditionExpression: request['KeyConditionExpression'] as string | undefined,
    FilterExpression: request['FilterExpression'] as string | undefined,
    ProjectionExpression: request['ProjectionExpression'] as string | undefined,
    ExpressionAttributeNames: request['ExpressionAttributeNames'] as Record<string, string> | undefined,
    ExpressionAttributeValues: values,
  });
}

/** Expected (with its AttributeValues validated) as a condition, or undefined. */
export function expectedCondition(request: Request): BoundCondition | undefined {
  const expected = request['Expected'] as Record<string, ExpectedAttributeValue> | undefined;
  if (expected === undefined || expected === null) return undefined;
  const validated: Record<string, ExpectedAttributeValue> = {};
  for (const [name, entry] of Object.entries(expected)) {
    const copy: { -readonly [K in keyof ExpectedAttributeValue]: ExpectedAttributeValue[K] } = { ...entry };
    if (entry.Value !== undefined && entry.Value !== null) copy.Value = validateAttributeValue(entry.Value, { parameter: 'AttributeValueList' });
    if (entry.AttributeValueList !== undefined && entry.AttributeValueList !== null) {
      copy.AttributeValueList = entry.AttributeValueList.map((value) => validateAttributeValue(value, { parameter: 'AttributeValueList' }));
    }
    validated[name] = copy;
  }
  const translated = conditionFromExpected(validated, request['ConditionalOperator'] as ConditionalOperator | undefined);
  return translated.condition === undefined ? undefined : { condition: translated.condition, attributes: translated.attributes };
}

/** The projection of a read: ProjectionExpression's paths or AttributesToGet's names. */
export function requestProjection(request: Request, prepared: PreparedExpressions): readonly ResolvedPath[] | undefined {
  if (prepared.projection !== undefined) return prepared.projection;
  const names = request['AttributesToGet'] as string[] | undefined;
  return names === undefined || names === null ? undefined : projectionFromAttributesToGet(names);
}

export function validatedItem(item: unknown, nesting?: NestingMessageForm): AttributeMap {
  return validateAttributeMap(item, nesting === undefined ? { parameter: 'Item' } : { parameter: 'Item', nesting });
}

export function validatedKey(key: unknown): AttributeMap {
  return validateAttributeMap(key, { parameter: 'Key' });
}

export function capacityMode(request: Request): ReturnConsumedCapacity | undefined {
  return request['ReturnConsumedCapacity'] as ReturnConsumedCapacity | undefined;
}

/** The key attributes of an item, as a Key map (LastEvaluatedKey, the key of an update's new item). */
export function keyOf(item: AttributeMap, names: readonly string[]): AttributeMap {
  const key: AttributeMap = {};
  for (const name of names) if (Object.hasOwn(item, name)) key[name] = item[name]!;
  return key;
}
