/**
 * KeyConditionExpression → the partition key's value and at most one
 * sort-key condition, checked against the key schema of the table or index
 * queried (API: Query `KeyConditionExpression`; reference §4). The shape
 * checks follow dyn:validations/index.js `checkExpr` (messages without the
 * "Invalid KeyConditionExpression: " prefix, as DynamoDB gives them); the
 * schema checks follow DynamoDB as recorded by moto's test_dynamodb.py
 * ("Query condition missed key schema element: <the missing key>",
 * "Query key condition not supported").
 */
import { typeOf, type AttributeValue } from '../attribute-value.js';
import { validationError } from '../dynamodb-error.js';
import type { Condition, Operand } from './ast.js';
import { lookupValue, resolvedPath, type ExpressionAttributes } from './expression-attributes.js';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface KeySchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute | undefined;
}

export type SortKeyOperator = 'EQ' | 'LT' | 'LE' | 'GT' | 'GE' | 'BETWEEN' | 'BEGINS_WITH';

export interface SortKeyCondition {
  readonly name: string;
  readonly operator: SortKeyOperator;
  /** One value, or two for BETWEEN (lower, upper). */
  readonly values: readonly AttributeValue[];
}

export interface KeyCondition {
  readonly partitionKey: { readonly name: string; readonly value: AttributeValue };
  readonly sortKey: SortKeyCondition | undefined;
}

interface Part {
  readonly name: string;
  readonly operator: SortKeyOperator;
  readonly values: AttributeValue[];
}

/** Operands written value-first ("<= " in ":v <= sk") flip to key-first. */
const FLIPPED: Readonly<Record<string, SortKeyOperator>> = { '=': 'EQ', '<': 'GT', '<=': 'GE', '>': 'LT', '>=': 'LE' };
const DIRECT: Readonly<Record<string, SortKeyOperator>> = { '=': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

/** A validated key condition (placeholders checked) → its key parts, or DynamoDB's ValidationException. */
export function keyConditionFor(condition: Condition, attributes: ExpressionAttributes, schema: KeySchema): KeyCondition {
  const parts = new Map<string, Part>();
  collectParts(condition, attributes, parts);
  const { partitionKey, sortKey } = schema;
  for (const name of parts.keys()) {
    if (name !== partitionKey.name && name !== sortKey?.name) {
      throw validationError(`Query condition missed key schema element: ${parts.has(partitionKey.name) ? sortKey?.name ?? partitionKey.name : partitionKey.name}`);
    }
  }
  const hash = parts.get(partitionKey.name);
  if (hash === undefined) throw validationError(`Query condition missed key schema element: ${partitionKey.name}`);
  if (hash.operator !== 'EQ') throw validationError('Query key condition not supported');
  checkTypes(hash, partitionKey);
  const range = sortKey === undefined ? undefined : parts.get(sortKey.name);
  if (range !== undefined && sortKey !== undefined) {
    if (range.operator === 'BEGINS_WITH' && sortKey.type === 'N') {
      // API: Query: begins_with is not for N sort keys. The wording is the operand-type check's
      // (an N value gives it at validation); which check DynamoDB runs first is not recorded.
      throw validationError(
        'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
      );
    }
    checkTypes(range, sortKey);
  }
  return {
    partitionKey: { name: hash.name, value: hash.values[0]! },
    sortKey: range === undefined ? undefined : { name: range.name, operator: range.operator, values: range.values },
  };
}

/** A key's values must have the key's type (dynalite actions/query.js; wording not recorded against DynamoDB here). */
function checkTypes(part: Part, key: KeyAttribute): void {
  for (const value of part.values) {
    if (typeOf(value) !== key.type) {
      throw validationError('One or more parameter values were invalid: Condition parameter type does not match schema type');
    }
  }
}

function collectParts(condition: Condition, attributes: ExpressionAttributes, parts: Map<string, Part>): void {
  switch (condition.kind) {
    case 'and':
      collectParts(condition.left, attributes, parts);
      collectParts(condition.right, attributes, parts);
      return;
    case 'or':
    case 'not':
    case 'in':
      throw validationError(`Invalid operator used in KeyConditionExpression: ${condition.kind.toUpperCase()}`);
    case 'compare':
      if (condition.operator === '<>') throw validationError('Invalid operator used in KeyConditionExpression: <>');
      addPart(condition.operator, [condition.left, condition.right], attributes, parts);
      return;
    case 'between':
      if (condition.operand.kind !== 'path') {
        throw validationError('Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand');
      }
      addPart('between', [condition.operand, condition.lower, condition.upper], attributes, parts);
      return;
    case 'call':
      if (condition.name === 'begins_with') {
        if (condition.args[0]?.kind !== 'path') {
          throw validationError('Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand');
        }
        addPart('begins_with', condition.args, attributes, parts);
        return;
      }
      throw validationError(`Invalid operator used in KeyConditionExpression: ${condition.name}`);
  }
}

function addPart(operator: string, operands: readonly Operand[], attributes: ExpressionAttributes, parts: Map<string, Part>): void {
  let name: string | undefined;
  let keyIndex = 0;
  const values: AttributeValue[] = [];
  operands.forEach((operand, index) => {
    if (operand.kind === 'call') throw validationError('KeyConditionExpressions cannot contain nested operations');
    if (operand.kind === 'path') {
      if (name !== undefined) throw validationError('Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition');
      const path = resolvedPath(operand.steps, attributes);
      if (path.length > 1) throw validationError('KeyConditionExpressions cannot have conditions on nested attributes');
      name = path[0] as string;
      keyIndex = index;
    } else if (operand.kind === 'value') {
      values.push(lookupValue(attributes, operand.ref)!);
    }
  });
  if (name === undefined) throw validationError('Invalid condition in KeyConditionExpression: No key attribute specified');
  if (parts.has(name)) throw validationError('KeyConditionExpressions must only contain one condition per key');
  const mapped =
    operator === 'between' ? 'BETWEEN' : operator === 'begins_with' ? 'BEGINS_WITH' : keyIndex === 0 ? DIRECT[operator]! : FLIPPED[operator]!;
  parts.set(name, { name, operator: mapped, values });
}
