/**
 * The grammar of ConditionExpression, FilterExpression and
 * KeyConditionExpression (DG: Expressions.OperatorsAndFunctions#Syntax):
 *
 *   condition ::= operand comparator operand | operand BETWEEN operand AND operand
 *               | operand IN ( operand (, operand)* ) | function
 *               | condition AND condition | condition OR condition
 *               | NOT condition | ( condition )
 *
 * with the precedence, highest first, comparators, IN, BETWEEN, functions,
 * parentheses, NOT, AND, OR (DG: #Precedence). Keywords are case-insensitive,
 * function names case-sensitive. An operand is a path, a `:value`, a
 * function call (only size() is valid there) or an operand in parentheses.
 *
 * Errors the grammar alone decides are raised here, in dynalite's order
 * (dyn:db/conditionParser.pegjs `checkErrors`: redundant parentheses,
 * unknown function, misused function, reserved word); a function's operand
 * count is kept for the validation against placeholders, which reports it
 * after undefined placeholders (`checkConditionErrors`).
 */
import type { Comparator, Condition, Operand } from './ast.js';
import { ParserBase } from './parser-base.js';

/** Condition functions and their operand counts (dyn:db/conditionParser.pegjs `checkFunction`). */
export const CONDITION_FUNCTIONS: Readonly<Record<string, number>> = {
  attribute_exists: 1,
  attribute_not_exists: 1,
  attribute_type: 2,
  begins_with: 2,
  contains: 2,
  size: 1,
};

/** DynamoDB's limit on IN's right-hand list (DG: ServiceQuotas, "Expression parameters"). */
export const IN_OPERANDS_MAX = 100;

const KEYWORDS: ReadonlySet<string> = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN']);
/** The update functions, known to DynamoDB's parser but refused in conditions. */
const UPDATE_FUNCTION_NAMES: ReadonlySet<string> = new Set(['if_not_exists', 'list_append']);
const COMPARATORS: ReadonlySet<string> = new Set(['=', '<>', '<', '<=', '>', '>=']);

export interface ParsedCondition {
  readonly condition: Condition;
  /** "Incorrect number of operands ..." found by the grammar, reported after undefined placeholders. */
  readonly operandError: string | undefined;
}

/** Parses a condition; returns DynamoDB's message (without "Invalid XExpression: ") on error. */
export function parseCondition(source: string): ParsedCondition | string {
  return new ConditionParser(source).parse();
}

class ConditionParser extends ParserBase {
  constructor(source: string) {
    super(source, KEYWORDS);
  }

  parse(): ParsedCondition | string {
    const result = this.run(() => {
      const condition = this.parseOr();
      this.expectEnd();
      return condition;
    });
    if (typeof result === 'string') return result;
    const error = this.operatorLimitError() ?? this.firstError(['inOperands', 'parens', 'unknownFunction', 'misusedFunction', 'reserved']);
    if (error !== undefined) return error;
    return { condition: result, operandError: this.errors['operand'] };
  }

  private parseOr(): Condition {
    let left = this.parseAnd();
    while (this.isKeyword('OR')) {
      this.index++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Condition {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      this.index++;
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Condition {
    if (this.isKeyword('NOT')) {
      this.index++;
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Condition {
    if (this.isOperator('(')) {
      // "(" opens either a condition or an operand ("(a) = :v", "(size(a)) > :n"): try the condition first.
      const grouped = this.attempt(() => {
        this.index++;
        const condition = this.parseOr();
        this.expectOperator(')');
        // "(size(a)) > :n": what follows shows the parentheses held an operand.
        if (this.startsComparison()) this.fail();
        return this.wrapInParentheses(condition);
      });
      if (grouped !== undefined) return grouped;
    }
    return this.parseComparison();
  }

  private startsComparison(): boolean {
    const token = this.peek();
    return (token.type === 'operator' && COMPARATORS.has(token.text)) || this.isKeyword('BETWEEN') || this.isKeyword('IN');
  }

  private parseComparison(): Condition {
    const parenthesized = this.isOperator('(');
    const left = this.parseOperand();
    const token = this.peek();
    if (token.type === 'operator' && COMPARATORS.has(token.text)) {
      this.index++;
      this.operatorCount++;
      const right = this.parseOperand();
      this.checkMisused([left, right]);
      return { kind: 'compare', operator: token.text as Comparator, left, right };
    }
    if (this.isKeyword('BETWEEN')) {
      this.index++;
      this.operatorCount++;
      const lower = this.parseOperand();
      if (!this.isKeyword('AND')) this.fail();
      this.index++;
      const upper = this.parseOperand();
      this.checkMisused([left, lower, upper]);
      return { kind: 'between', operand: left, lower, upper };
    }
    if (this.isKeyword('IN')) {
      this.index++;
      this.operatorCount++;
      this.expectOperator('(');
      const list = [this.parseOperand()];
      while (this.isOperator(',')) {
        this.index++;
        list.push(this.parseOperand());
      }
      this.expectOperator(')');
      this.checkMisused([left, ...list]);
      if (list.length > IN_OPERANDS_MAX) {
        // The wording as DynamoDB logged it (reapit/foundations issue 8255: "Invalid FilterExpression: ...: 163").
        this.note('inOperands', `The IN operator is provided with too many operands; number of operands: ${list.length}`);
      }
      return { kind: 'in', operand: left, list };
    }
    if (left.kind === 'call' && !parenthesized) {
      // A function standing as a condition; size() gives a number, not a truth value.
      if (left.name === 'size') {
        this.note('misusedFunction', 'The function is not allowed to be used this way in an expression; function: size');
      }
      return { kind: 'call', name: left.name, args: left.args };
    }
    return this.fail();
  }

  private parseOperand(): Operand {
    const token = this.peek();
    if (token.type === 'operator' && token.text === '(') {
      this.index++;
      const operand = this.parseOperand();
      this.expectOperator(')');
      return this.wrapInParentheses(operand);
    }
    if (token.type === 'valueRef') {
      this.index++;
      return { kind: 'value', ref: token.text };
    }
    if (token.type === 'name' && this.isOperator('(', 1) && !KEYWORDS.has(token.text.toUpperCase())) {
      const call = this.parseCall(() => this.parseOperand());
      this.checkMisused(call.args);
      this.checkFunction(call.name, call.args.length);
      return call;
    }
    return { kind: 'path', steps: this.parsePath() };
  }

  /** Only size() may be an operand (dyn:db/conditionParser.pegjs `checkMisusedFunction`). */
  private checkMisused(operands: readonly Operand[]): void {
    for (const operand of operands) {
      if (operand.kind === 'call' && operand.name !== 'size') {
        this.note('misusedFunction', `The function is not allowed to be used this way in an expression; function: ${operand.name}`);
        return;
      }
    }
  }

  private checkFunction(name: string, operandCount: number): void {
    const expected = Object.hasOwn(CONDITION_FUNCTIONS, name) ? CONDITION_FUNCTIONS[name] : undefined;
    if (expected === undefined && UPDATE_FUNCTION_NAMES.has(name)) {
      // DynamoDB knows if_not_exists and list_append, but not in a condition: "not allowed"
      // (Alternator test_condition_expression.py `test_update_condition_other_funcs`; dynalite says
      // "Invalid function name" here, Alternator records DynamoDB).
      this.note('misusedFunction', `The function is not allowed to be used this way in an expression; function: ${name}`);
    } else if (expected === undefined) {
      this.note('unknownFunction', `Invalid function name; function: ${name}`);
    } else if (expected !== operandCount) {
      this.note(
        'operand',
        `Incorrect number of operands for operator or function; operator or function: ${name}, number of operands: ${operandCount}`,
      );
    }
  }
}
