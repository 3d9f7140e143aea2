/**
 * Evaluates a validated condition (ConditionExpression, FilterExpression)
 * against an item, purely. Missing attributes and type mismatches make a
 * comparison false, never an error (reference §6 "Comparisons"); `<>` is the
 * negation of `=`, so it holds when the attribute is missing or of another
 * type (Alternator test_filter_expression.py `test_filter_expression_r_neq`,
 * recorded against DynamoDB).
 */
import { Buffer } from 'node:buffer';
import { typeOf, type AttributeMap, type AttributeValue } from '../attribute-value.js';
import type { Comparator, Condition, Operand } from './ast.js';
import { valueAtPath } from './document-path.js';
import { lookupValue, resolvedPath, type ExpressionAttributes } from './expression-attributes.js';
import { compareBinaries, compareScalars, setHas, sizeOf, valuesEqual } from './value-compare.js';

/** `item` undefined means no item (a conditional put of a new key): every attribute is missing. */
export function evaluateCondition(
  condition: Condition,
  item: Readonly<AttributeMap> | undefined,
  attributes: ExpressionAttributes,
): boolean {
  const operand = (op: Operand): AttributeValue | undefined => operandValue(op, item ?? {}, attributes);
  switch (condition.kind) {
    case 'and':
      return evaluateCondition(condition.left, item, attributes) && evaluateCondition(condition.right, item, attributes);
    case 'or':
      return evaluateCondition(condition.left, item, attributes) || evaluateCondition(condition.right, item, attributes);
    case 'not':
      return !evaluateCondition(condition.operand, item, attributes);
    case 'compare':
      return compare(condition.operator, operand(condition.left), operand(condition.right));
    case 'between': {
      const value = operand(condition.operand);
      const lower = operand(condition.lower);
      const upper = operand(condition.upper);
      if (value === undefined || lower === undefined || upper === undefined) return false;
      const fromLower = compareScalars(value, lower);
      const toUpper = compareScalars(value, upper);
      return fromLower !== undefined && toUpper !== undefined && fromLower >= 0 && toUpper <= 0;
    }
    case 'in': {
      const value = operand(condition.operand);
      if (value === undefined) return false;
      return condition.list.some((candidate) => {
        const other = operand(candidate);
        return other !== undefined && valuesEqual(value, other);
      });
    }
    case 'call':
      return evaluateFunction(condition.name, condition.args.map(operand));
  }
}

function compare(operator: Comparator, left: AttributeValue | undefined, right: AttributeValue | undefined): boolean {
  const equal = left !== undefined && right !== undefined && valuesEqual(left, right);
  if (operator === '=') return equal;
  if (operator === '<>') return !equal;
  const order = left === undefined || right === undefined ? undefined : compareScalars(left, right);
  if (order === undefined) return false;
  if (operator === '<') return order < 0;
  if (operator === '<=') return order <= 0;
  if (operator === '>') return order > 0;
  return order >= 0;
}

function evaluateFunction(name: string, args: ReadonlyArray<AttributeValue | undefined>): boolean {
  const [first, second] = args;
  switch (name) {
    case 'attribute_exists':
      return first !== undefined;
    case 'attribute_not_exists':
      return first === undefined;
    case 'attribute_type':
      return first !== undefined && second !== undefined && 'S' in second && typeOf(first) === second.S;
    case 'begins_with':
      if (first === undefined || second === undefined) return false;
      if ('S' in first && 'S' in second) return first.S.startsWith(second.S);
      if ('B' in first && 'B' in second) {
        return first.B.length >= second.B.length && compareBinaries(first.B.subarray(0, second.B.length), second.B) === 0;
      }
      return false;
    case 'contains':
      if (first === undefined || second === undefined) return false;
      // A substring of an S or a B, or a member of a set or L; never a map's key or value
      // (Alternator test_filter_expression.py `..._contains` tests, recorded against DynamoDB).
      if ('S' in first) return 'S' in second && first.S.includes(second.S);
      if ('B' in first) return 'B' in second && Buffer.from(first.B).includes(Buffer.from(second.B));
      if ('L' in first) return first.L.some((element) => valuesEqual(element, second));
      return setHas(first, second);
    default:
      throw new Error(`evaluateFunction: ${name} is not a condition function (validation lets none through)`);
  }
}

/** The value of an operand for one item, or undefined when it has none. */
export function operandValue(
  operand: Operand,
  item: Readonly<AttributeMap>,
  attributes: ExpressionAttributes,
): AttributeValue | undefined {
  switch (operand.kind) {
    case 'path':
      return valueAtPath(item, resolvedPath(operand.steps, attributes));
    case 'value':
      return lookupValue(attributes, operand.ref);
    case 'call': {
      if (operand.name !== 'size') throw new Error(`operandValue: ${operand.name} is not an operand function`);
      const value = operandValue(operand.args[0]!, item, attributes);
      const size = value === undefined ? undefined : sizeOf(value);
      return size === undefined ? undefined : { N: String(size) };
    }
    case 'arithmetic':
      throw new Error('operandValue: arithmetic appears only in UpdateExpression');
  }
}
