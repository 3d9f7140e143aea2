/**
 * The checks of a parsed condition that need the request's placeholders, in
 * dynalite's order (dyn:db/conditionParser.pegjs `checkConditionErrors`):
 * an undefined `#name` or `:value`, a wrong operand count (found by the
 * parser), operands that are the same path, then operand types that the
 * expression itself fixes (values and size()). The types of attributes read
 * from an item are never errors: a mismatch there makes the condition false.
 */
import { ATTRIBUTE_TYPES, typeOf, type AttributeType, type AttributeValue } from '../attribute-value.js';
import { pathText, type Condition, type Operand, type ResolvedPath } from './ast.js';
import {
  lookupValue,
  resolvePath,
  undefinedNameMessage,
  undefinedValueMessage,
  type ExpressionAttributes,
  type PlaceholderUse,
} from './expression-attributes.js';
import type { ParsedCondition } from './condition-parser.js';
import { compareScalars } from './value-compare.js';

/** Returns the message (without "Invalid XExpression: ") of the first error, or undefined. */
export function validateCondition(
  parsed: ParsedCondition,
  attributes: ExpressionAttributes,
  use: PlaceholderUse,
): string | undefined {
  const check = new ConditionCheck(attributes, use);
  check.condition(parsed.condition);
  return check.placeholder ?? parsed.operandError ?? check.distinct ?? check.operandType;
}

class ConditionCheck {
  placeholder: string | undefined;
  distinct: string | undefined;
  operandType: string | undefined;

  constructor(
    private readonly attributes: ExpressionAttributes,
    private readonly use: PlaceholderUse,
  ) {}

  condition(condition: Condition): void {
    switch (condition.kind) {
      case 'and':
      case 'or':
        this.condition(condition.left);
        this.condition(condition.right);
        return;
      case 'not':
        this.condition(condition.operand);
        return;
      case 'compare':
        this.operands([condition.left, condition.right]);
        this.checkDistinct(condition.operator, condition.left, condition.right);
        if (condition.operator !== '=' && condition.operator !== '<>') {
          this.checkOrderable(condition.operator, [condition.left, condition.right]);
        }
        return;
      case 'between':
        this.operands([condition.operand, condition.lower, condition.upper]);
        this.checkOrderable('BETWEEN', [condition.operand, condition.lower, condition.upper]);
        this.checkBetween(condition.lower, condition.upper);
        return;
      case 'in':
        this.operands([condition.operand, ...condition.list]);
        return;
      case 'call':
        this.call(condition.name, condition.args);
        return;
    }
  }

  private operands(operands: readonly Operand[]): void {
    for (const operand of operands) this.operand(operand);
  }

  private operand(operand: Operand): void {
    switch (operand.kind) {
      case 'path':
        this.path(operand);
        return;
      case 'value':
        this.value(operand.ref);
        return;
      case 'call':
        this.call(operand.name, operand.args);
        return;
      case 'arithmetic':
        this.operands([operand.left, operand.right]);
        return;
    }
  }

  private path(operand: Operand & { kind: 'path' }): ResolvedPath | undefined {
    const path = resolvePath(operand.steps, this.attributes, this.use);
    if (!Array.isArray(path)) {
      this.placeholder ??= undefinedNameMessage((path as { undefinedName: string }).undefinedName);
      return undefined;
    }
    return path as ResolvedPath;
  }

  private value(ref: string): AttributeValue | undefined {
    const value = lookupValue(this.attributes, ref);
    if (value === undefined) this.placeholder ??= undefinedValueMessage(ref);
    else this.use.values.add(ref);
    return value;
  }

  private call(name: string, args: readonly Operand[]): void {
    this.operands(args);
    if (args.length === 2) this.checkDistinct(name, args[0]!, args[1]!);
    if (this.operandType !== undefined) return;
    switch (name) {
      case 'attribute_exists':
      case 'attribute_not_exists':
        if (args[0]?.kind !== 'path') {
          this.operandType = `Operator or function requires a document path; operator or function: ${name}`;
        }
        return;
      case 'begins_with':
        for (const arg of args) {
          const type = this.staticType(arg);
          if (type !== undefined && type !== 'S' && type !== 'B') {
            this.operandType = incorrectOperandType(name, type);
            return;
          }
        }
        return;
      case 'attribute_type':
        this.checkAttributeType(args[1]);
        return;
      case 'size': {
        const type = args[0] === undefined ? undefined : this.staticType(args[0]);
        if (type === 'N' || type === 'BOOL' || type === 'NULL') this.operandType = incorrectOperandType(name, type);
        return;
      }
    }
  }

  /** attribute_type's second operand must be an S value naming a type (dyn:db/conditionParser.pegjs `checkFunction`). */
  private checkAttributeType(operand: Operand | undefined): void {
    const type = operand === undefined ? undefined : this.staticType(operand);
    if (type !== 'S') {
      this.operandType = incorrectOperandType('attribute_type', type ?? '{NS,SS,L,BS,N,M,B,BOOL,NULL,S}');
      return;
    }
    const named = (lookupValue(this.attributes, (operand as { ref: string }).ref) as { S: string }).S;
    if (!ATTRIBUTE_TYPES.includes(named as AttributeType)) {
      this.operandType = `Invalid attribute type name found; type: ${named}, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}`;
    }
  }

  /** The type an operand has whatever the item: a value's, or N for size(). Paths are unknown until evaluation. */
  private staticType(operand: Operand): AttributeType | undefined {
    if (operand.kind === 'value') {
      const value = lookupValue(this.attributes, operand.ref);
      return value === undefined ? undefined : typeOf(value);
    }
    if (operand.kind === 'call' && operand.name === 'size') return 'N';
    return undefined;
  }

  /**
   * "a = a", "contains(a, a)": DynamoDB rejects two operands that are the same
   * path, after placeholders are resolved (dyn:db/conditionParser.pegjs
   * `checkDistinct`; Alternator test_condition_expression.py).
   */
  private checkDistinct(operator: string, left: Operand, right: Operand): void {
    if (this.distinct !== undefined || left.kind !== 'path' || right.kind !== 'path') return;
    const a = resolvePath(left.steps, this.attributes, this.use);
    const b = resolvePath(right.steps, this.attributes, this.use);
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return;
    if (!a.every((step, index) => step === b[index])) return;
    this.distinct =
      'The first operand must be distinct from the remaining operands for this operator or function; ' +
      `operator: ${operator}, first operand: ${pathText(a as ResolvedPath)}`;
  }

  /**
   * An ordering operand that the request itself gives (a `:value`) must be S,
   * N or B: a list there is a ValidationException, while a list read from the
   * item only makes the comparison false (Alternator test_condition_expression.py
   * `test_update_condition_ge`, `_between`, recorded against DynamoDB). The
   * wording follows the functions' operand-type message; not recorded.
   */
  private checkOrderable(operator: string, operands: readonly Operand[]): void {
    if (this.operandType !== undefined) return;
    for (const operand of operands) {
      const type = this.staticType(operand);
      if (type !== undefined && type !== 'S' && type !== 'N' && type !== 'B') {
        this.operandType = incorrectOperandType(operator, type);
        return;
      }
    }
  }

  /** Two value bounds must have one type and be in order (dyn:db/conditionParser.pegjs `checkBetweenArgs`). */
  private checkBetween(lower: Operand, upper: Operand): void {
    if (this.operandType !== undefined || lower.kind !== 'value' || upper.kind !== 'value') return;
    const low = lookupValue(this.attributes, lower.ref);
    const high = lookupValue(this.attributes, upper.ref);
    if (low === undefined || high === undefined) return;
    const bounds = `lower bound operand: AttributeValue: ${valueText(low)}, upper bound operand: AttributeValue: ${valueText(high)}`;
    if (typeOf(low) !== typeOf(high)) {
      this.operandType = `The BETWEEN operator requires same data type for lower and upper bounds; ${bounds}`;
    } else if (compareScalars(low, high) === 1) {
      this.operandType = `The BETWEEN operator requires upper bound to be greater than or equal to lower bound; ${bounds}`;
    }
  }
}

export function incorrectOperandType(name: string, type: string): string {
  return `Incorrect operand type for operator or function; operator or function: ${name}, operand type: ${type}`;
}

/** "{N:5}", as DynamoDB prints a value in the BETWEEN messages (binary as base64). */
function valueText(value: AttributeValue): string {
  const type = typeOf(value);
  const raw = (value as Record<string, unknown>)[type];
  const text = raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : String(raw);
  return `{${type}:${text}}`;
}
