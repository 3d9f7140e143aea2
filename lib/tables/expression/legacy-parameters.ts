/**
 * DynamoDB's legacy parameters (Expected, ConditionalOperator, QueryFilter,
 * ScanFilter, KeyConditions, AttributesToGet, AttributeUpdates), translated
 * to the same parsed forms as the expressions, so that one evaluator serves
 * both (DG: LegacyConditionalParameters; reference §6 "Legacy parameters").
 *
 * A translation names attributes and values through synthetic placeholders
 * (`#legacy0`, `:legacy0`) in the attributes it returns; evaluate the
 * condition or update with those attributes.
 */
import { typeOf, type AttributeMap, type AttributeValue } from '../attribute-value.js';
import { validationError } from '../dynamodb-error.js';
import type { Condition, Operand, ResolvedPath, UpdateAction } from './ast.js';
import type { ExpressionAttributes } from './expression-attributes.js';
import type { KeyCondition, KeySchema, SortKeyOperator } from './key-condition.js';
import { compareScalars } from './value-compare.js';

export type ComparisonOperator =
  | 'EQ'
  | 'NE'
  | 'LE'
  | 'LT'
  | 'GE'
  | 'GT'
  | 'NOT_NULL'
  | 'NULL'
  | 'CONTAINS'
  | 'NOT_CONTAINS'
  | 'BEGINS_WITH'
  | 'IN'
  | 'BETWEEN';

/** An entry of QueryFilter, ScanFilter or KeyConditions (API: Condition). */
export interface LegacyCondition {
  readonly ComparisonOperator: ComparisonOperator;
  readonly AttributeValueList?: readonly AttributeValue[] | undefined;
}

/** An entry of Expected (API: ExpectedAttributeValue). */
export interface ExpectedAttributeValue {
  readonly Value?: AttributeValue | undefined;
  readonly Exists?: boolean | undefined;
  readonly ComparisonOperator?: ComparisonOperator | undefined;
  readonly AttributeValueList?: readonly AttributeValue[] | undefined;
}

/** An entry of AttributeUpdates (API: AttributeValueUpdate). */
export interface AttributeValueUpdate {
  readonly Action?: 'PUT' | 'ADD' | 'DELETE' | undefined;
  readonly Value?: AttributeValue | undefined;
}

export type ConditionalOperator = 'AND' | 'OR';

// ------------------------------------------------------------ mixing rules

/** Each operation's expression and legacy parameters, in dynalite's order (dyn:validations/<operation>.js). */
export const EXPRESSION_PARAMETERS = {
  PutItem: { expressions: ['ConditionExpression'], legacy: ['Expected'] },
  DeleteItem: { expressions: ['ConditionExpression'], legacy: ['Expected'] },
  UpdateItem: { expressions: ['UpdateExpression', 'ConditionExpression'], legacy: ['AttributeUpdates', 'Expected'] },
  GetItem: { expressions: ['ProjectionExpression'], legacy: ['AttributesToGet'] },
  Query: {
    expressions: ['ProjectionExpression', 'FilterExpression', 'KeyConditionExpression'],
    legacy: ['AttributesToGet', 'QueryFilter', 'ConditionalOperator', 'KeyConditions'],
  },
  Scan: { expressions: ['ProjectionExpression', 'FilterExpression'], legacy: ['AttributesToGet', 'ScanFilter', 'ConditionalOperator'] },
} as const satisfies Record<string, { expressions: readonly string[]; legacy: readonly string[] }>;

export type ExpressionOperation = keyof typeof EXPRESSION_PARAMETERS;

/**
 * The request-level rules between expressions and legacy parameters
 * (dyn:validations/index.js `validateExpressionParams`; reference §17 #24-#26):
 * not both kinds in one request (KeyConditions may join the other
 * expressions when KeyConditionExpression is absent); ExpressionAttributeNames
 * only with an expression; ExpressionAttributeValues only with an expression
 * that takes values.
 */
export function checkExpressionParameters(operation: ExpressionOperation, request: Readonly<Record<string, unknown>>): void {
  const { expressions, legacy } = EXPRESSION_PARAMETERS[operation];
  const present = (name: string): boolean => request[name] !== undefined && request[name] !== null;
  const used = expressions.filter(present);
  if (used.length > 0) {
    const legacyUsed = legacy.filter(
      (name) => present(name) && !(name === 'KeyConditions' && !present('KeyConditionExpression')),
    );
    if (legacyUsed.length > 0) {
      throw validationError(
        'Can not use both expression and non-expression parameters in the same request: ' +
          `Non-expression parameters: {${legacyUsed.join(', ')}} Expression parameters: {${used.join(', ')}}`,
      );
    }
  }
  if (present('ExpressionAttributeNames') && used.length === 0) {
    throw validationError('ExpressionAttributeNames can only be specified when using expressions');
  }
  const valueExpressions = expressions.filter((name) => name !== 'ProjectionExpression');
  if (valueExpressions.length > 0 && present('ExpressionAttributeValues') && !valueExpressions.some(present)) {
    throw validationError(
      `ExpressionAttributeValues can only be specified when using expressions: ${valueExpressions.join(' and ')} ${valueExpressions.length > 1 ? 'are' : 'is'} null`,
    );
  }
}

// ------------------------------------------------------------ validation

const INVALID = 'One or more parameter values were invalid: ';

/** Operand counts per operator: an exact count, or [minimum] for IN (dyn:validations/index.js `validateConditions`). */
const OPERAND_COUNTS: Record<ComparisonOperator, number | 'one or more'> = {
  NULL: 0,
  NOT_NULL: 0,
  EQ: 1,
  NE: 1,
  LE: 1,
  LT: 1,
  GE: 1,
  GT: 1,
  CONTAINS: 1,
  NOT_CONTAINS: 1,
  BEGINS_WITH: 1,
  IN: 'one or more',
  BETWEEN: 2,
};

/** The value types each operator takes (same source). */
const OPERAND_TYPES: Partial<Record<ComparisonOperator, readonly string[]>> = {
  EQ: ['S', 'N', 'B', 'SS', 'NS', 'BS'],
  NE: ['S', 'N', 'B', 'SS', 'NS', 'BS'],
  LE: ['S', 'N', 'B'],
  LT: ['S', 'N', 'B'],
  GE: ['S', 'N', 'B'],
  GT: ['S', 'N', 'B'],
  CONTAINS: ['S', 'N', 'B'],
  NOT_CONTAINS: ['S', 'N', 'B'],
  BEGINS_WITH: ['S', 'B'],
  IN: ['S', 'N', 'B'],
  BETWEEN: ['S', 'N', 'B'],
};

/** QueryFilter, ScanFilter and KeyConditions entries (dyn:validations/index.js `validateConditions`). */
export function checkLegacyConditions(conditions: Readonly<Record<string, LegacyCondition>>): void {
  for (const condition of Object.values(conditions)) {
    const operator = condition.ComparisonOperator;
    const values = condition.AttributeValueList ?? [];
    const count = OPERAND_COUNTS[operator];
    if (count === 'one or more' ? values.length < 1 : values.length !== count) {
      throw validationError(`${INVALID}Invalid number of argument(s) for the ${operator} ComparisonOperator`);
    }
    checkSameTypes(values);
    const types = OPERAND_TYPES[operator];
    for (const value of values) {
      if (types !== undefined && !types.includes(typeOf(value))) {
        throw validationError(`${INVALID}ComparisonOperator ${operator} is not valid for ${typeOf(value)} AttributeValue type`);
      }
    }
    checkBetweenOrder(operator, values);
  }
}

/** Expected entries (dyn:validations/index.js `validateAttributeConditions`). */
export function checkExpected(expected: Readonly<Record<string, ExpectedAttributeValue>>): void {
  for (const [name, condition] of Object.entries(expected)) {
    if (condition.AttributeValueList !== undefined && condition.Value !== undefined) {
      throw validationError(`${INVALID}Value and AttributeValueList cannot be used together for Attribute: ${name}`);
    }
    if (condition.ComparisonOperator !== undefined) {
      if (condition.Exists !== undefined) {
        throw validationError(`${INVALID}Exists and ComparisonOperator cannot be used together for Attribute: ${name}`);
      }
      const operator = condition.ComparisonOperator;
      if (operator !== 'NULL' && operator !== 'NOT_NULL' && condition.AttributeValueList === undefined && condition.Value === undefined) {
        throw validationError(`${INVALID}Value or AttributeValueList must be used with ComparisonOperator: ${operator} for Attribute: ${name}`);
      }
      const values = condition.AttributeValueList ?? (condition.Value !== undefined ? [condition.Value] : []);
      const count = OPERAND_COUNTS[operator];
      if (count === 'one or more' ? values.length < 1 : values.length !== count) {
        throw validationError(`${INVALID}Invalid number of argument(s) for the ${operator} ComparisonOperator`);
      }
      checkSameTypes(values);
      checkBetweenOrder(operator, values);
    } else if (condition.AttributeValueList !== undefined) {
      throw validationError(`${INVALID}AttributeValueList can only be used with a ComparisonOperator for Attribute: ${name}`);
    } else {
      const exists = condition.Exists ?? true;
      if (exists && condition.Value === undefined) {
        throw validationError(`${INVALID}Value must be provided when Exists is ${condition.Exists ?? 'null'} for Attribute: ${name}`);
      }
      if (!exists && condition.Value !== undefined) {
        throw validationError(`${INVALID}Value cannot be used when Exists is false for Attribute: ${name}`);
      }
    }
  }
}

function checkSameTypes(values: readonly AttributeValue[]): void {
  if (values.length > 0 && values.some((value) => typeOf(value) !== typeOf(values[0]!))) {
    throw validationError(`${INVALID}AttributeValues inside AttributeValueList must be of same type`);
  }
}

function checkBetweenOrder(operator: ComparisonOperator, values: readonly AttributeValue[]): void {
  if (operator === 'BETWEEN' && compareScalars(values[0]!, values[1]!) === 1) {
    throw validationError('The BETWEEN condition was provided a range where the lower bound is greater than the upper bound');
  }
}

// ------------------------------------------------------------ translation

/** Collects synthetic placeholders while building a parsed form. */
class Placeholders {
  readonly names: Record<string, string> = {};
  readonly values: AttributeMap = {};
  private count = 0;

  path(name: string): Operand {
    const ref = `#legacy${this.count++}`;
    this.names[ref] = name;
    return { kind: 'path', steps: [{ kind: 'nameRef', ref }] };
  }

  value(value: AttributeValue): Operand & { kind: 'value' } {
    const ref = `:legacy${this.count++}`;
    this.values[ref] = value;
    return { kind: 'value', ref };
  }

  attributes(): ExpressionAttributes {
    return { names: this.names, values: this.values };
  }
}

export interface TranslatedCondition {
  readonly condition: Condition | undefined;
  readonly attributes: ExpressionAttributes;
}

/** One attribute's legacy comparison as a condition (DG: LegacyConditionalParameters.Conditions). */
function comparison(placeholders: Placeholders, name: string, operator: ComparisonOperator, values: readonly AttributeValue[]): Condition {
  const path = placeholders.path(name);
  const value = (index: number): Operand => placeholders.value(values[index]!);
  switch (operator) {
    case 'EQ':
      return { kind: 'compare', operator: '=', left: path, right: value(0) };
    case 'NE':
      return { kind: 'compare', operator: '<>', left: path, right: value(0) };
    case 'LE':
      return { kind: 'compare', operator: '<=', left: path, right: value(0) };
    case 'LT':
      return { kind: 'compare', operator: '<', left: path, right: value(0) };
    case 'GE':
      return { kind: 'compare', operator: '>=', left: path, right: value(0) };
    case 'GT':
      return { kind: 'compare', operator: '>', left: path, right: value(0) };
    case 'NOT_NULL':
      return { kind: 'call', name: 'attribute_exists', args: [path] };
    case 'NULL':
      return { kind: 'call', name: 'attribute_not_exists', args: [path] };
    case 'CONTAINS':
      return { kind: 'call', name: 'contains', args: [path, value(0)] };
    case 'NOT_CONTAINS':
      // A missing attribute does not satisfy NOT_CONTAINS (assumed, as ScyllaDB Alternator implements it).
      return {
        kind: 'and',
        left: { kind: 'call', name: 'attribute_exists', args: [path] },
        right: { kind: 'not', operand: { kind: 'call', name: 'contains', args: [path, value(0)] } },
      };
    case 'BEGINS_WITH':
      return { kind: 'call', name: 'begins_with', args: [path, value(0)] };
    case 'IN':
      return { kind: 'in', operand: path, list: values.map((_, index) => value(index)) };
    case 'BETWEEN':
      return { kind: 'between', operand: path, lower: value(0), upper: value(1) };
  }
}

function combine(conditions: Condition[], operator: ConditionalOperator | undefined): Condition | undefined {
  const kind = operator === 'OR' ? 'or' : 'and';
  return conditions.reduce<Condition | undefined>((left, right) => (left === undefined ? right : { kind, left, right }), undefined);
}

/** QueryFilter or ScanFilter, joined by ConditionalOperator (AND by default). */
export function conditionFromFilter(
  filter: Readonly<Record<string, LegacyCondition>>,
  conditionalOperator?: ConditionalOperator,
): TranslatedCondition {
  checkLegacyConditions(filter);
  const placeholders = new Placeholders();
  const conditions = Object.entries(filter).map(([name, entry]) =>
    comparison(placeholders, name, entry.ComparisonOperator, entry.AttributeValueList ?? []),
  );
  return { condition: combine(conditions, conditionalOperator), attributes: placeholders.attributes() };
}

/** Expected, joined by ConditionalOperator: Value alone is EQ, Exists false is NULL. */
export function conditionFromExpected(
  expected: Readonly<Record<string, ExpectedAttributeValue>>,
  conditionalOperator?: ConditionalOperator,
): TranslatedCondition {
  checkExpected(expected);
  const placeholders = new Placeholders();
  const conditions = Object.entries(expected).map(([name, entry]) => {
    if (entry.ComparisonOperator !== undefined) {
      const values = entry.AttributeValueList ?? (entry.Value !== undefined ? [entry.Value] : []);
      return comparison(placeholders, name, entry.ComparisonOperator, values);
    }
    if (entry.Exists === false) return comparison(placeholders, name, 'NULL', []);
    return comparison(placeholders, name, 'EQ', [entry.Value!]);
  });
  return { condition: combine(conditions, conditionalOperator), attributes: placeholders.attributes() };
}

const SORT_KEY_OPERATORS: ReadonlySet<string> = new Set(['EQ', 'LE', 'LT', 'GE', 'GT', 'BEGINS_WITH', 'BETWEEN']);

/**
 * KeyConditions → the same structured key condition as KeyConditionExpression.
 * Messages: "Query condition missed key schema element" and "Query key
 * condition not supported" as for expressions; an operator no key can use
 * gives dynalite's "Attempted conditional constraint is not an indexable
 * operation" (actions/query.js; not in a recorded suite here).
 */
export function keyConditionFromKeyConditions(
  keyConditions: Readonly<Record<string, LegacyCondition>>,
  schema: KeySchema,
): KeyCondition {
  checkLegacyConditions(keyConditions);
  const { partitionKey, sortKey } = schema;
  for (const [name, entry] of Object.entries(keyConditions)) {
    if (!SORT_KEY_OPERATORS.has(entry.ComparisonOperator)) {
      throw validationError('Attempted conditional constraint is not an indexable operation');
    }
    if (name !== partitionKey.name && name !== sortKey?.name) {
      throw validationError(`Query condition missed key schema element: ${Object.hasOwn(keyConditions, partitionKey.name) ? sortKey?.name ?? partitionKey.name : partitionKey.name}`);
    }
  }
  const hash = Object.hasOwn(keyConditions, partitionKey.name) ? keyConditions[partitionKey.name] : undefined;
  if (hash === undefined) throw validationError(`Query condition missed key schema element: ${partitionKey.name}`);
  if (hash.ComparisonOperator !== 'EQ') throw validationError('Query key condition not supported');
  const range = sortKey !== undefined && Object.hasOwn(keyConditions, sortKey.name) ? keyConditions[sortKey.name] : undefined;
  return {
    partitionKey: { name: partitionKey.name, value: hash.AttributeValueList![0]! },
    sortKey:
      range === undefined || sortKey === undefined
        ? undefined
        : { name: sortKey.name, operator: range.ComparisonOperator as SortKeyOperator, values: range.AttributeValueList ?? [] },
  };
}

/** AttributesToGet → projection paths (top-level names only). */
export function projectionFromAttributesToGet(names: readonly string[]): ResolvedPath[] {
  return names.map((name) => [name]);
}

export interface TranslatedUpdate {
  readonly actions: readonly UpdateAction[];
  readonly attributes: ExpressionAttributes;
  readonly paths: readonly ResolvedPath[];
}

/**
 * AttributeUpdates → update actions: PUT is SET, DELETE without a value is
 * REMOVE, DELETE with a set is DELETE, ADD is ADD (numbers, sets, and lists,
 * which it appends to) (API: UpdateItem `AttributeUpdates`; the default
 * Action is PUT). Checks and messages: dyn:validations/updateItem.js.
 */
export function updateFromAttributeUpdates(updates: Readonly<Record<string, AttributeValueUpdate>>): TranslatedUpdate {
  const placeholders = new Placeholders();
  const actions: UpdateAction[] = [];
  for (const [name, update] of Object.entries(updates)) {
    const action = update.Action ?? 'PUT';
    const type = update.Value === undefined ? undefined : typeOf(update.Value);
    if (type === undefined && action !== 'DELETE') {
      throw validationError(`${INVALID}Only DELETE action is allowed when no attribute value is specified`);
    }
    if (type !== undefined && action === 'DELETE' && type !== 'SS' && type !== 'NS' && type !== 'BS') {
      throw validationError(`${INVALID}DELETE action with value is not supported for the type ${type}`);
    }
    if (type !== undefined && action === 'ADD' && !['L', 'SS', 'NS', 'BS', 'N'].includes(type)) {
      throw validationError(`${INVALID}ADD action is not supported for the type ${type}`);
    }
    const path = (placeholders.path(name) as { steps: UpdateAction['path'] }).steps;
    if (action === 'PUT') actions.push({ kind: 'SET', path, value: placeholders.value(update.Value!) });
    else if (update.Value === undefined) actions.push({ kind: 'REMOVE', path });
    else actions.push({ kind: action, path, valueRef: placeholders.value(update.Value).ref });
  }
  return { actions, attributes: placeholders.attributes(), paths: Object.keys(updates).map((name) => [name]) };
}
