/**
 * The grammar of UpdateExpression (DG: Expressions.UpdateExpressions;
 * API: UpdateItem `UpdateExpression`):
 *
 *   update ::= section+            each of SET, REMOVE, ADD, DELETE at most once, in any order
 *   SET    path = value (, path = value)*     value ::= term | term + term | term - term
 *   REMOVE path (, path)*                     term  ::= operand | ( value )
 *   ADD    path :value (, path :value)*       operand ::= path | :value | if_not_exists(path, operand)
 *   DELETE path :value (, path :value)*                 | list_append(operand, operand) | ( operand )
 *
 * Errors the grammar alone decides are returned here in dynalite's order
 * (dyn:db/updateParser.pegjs `checkErrors`: reserved word, unknown function,
 * repeated section); the rest need the placeholders (update-validation.ts).
 */
import type { Operand, PathStep, UpdateAction } from './ast.js';
import { ParserBase } from './parser-base.js';

/** Update functions and their operand counts (dyn:db/updateParser.pegjs `checkFunction`). */
export const UPDATE_FUNCTIONS: Readonly<Record<string, number>> = { if_not_exists: 2, list_append: 2 };

const SECTIONS = ['SET', 'REMOVE', 'ADD', 'DELETE'] as const;
type Section = (typeof SECTIONS)[number];
const KEYWORDS: ReadonlySet<string> = new Set(SECTIONS);
const CONDITION_FUNCTION_NAMES: ReadonlySet<string> = new Set([
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
  'size',
]);

export interface ParsedUpdate {
  readonly actions: readonly UpdateAction[];
}

export function parseUpdate(source: string): ParsedUpdate | string {
  return new UpdateParser(source).parse();
}

class UpdateParser extends ParserBase {
  private readonly seen = new Set<Section>();

  constructor(source: string) {
    super(source, KEYWORDS);
  }

  parse(): ParsedUpdate | string {
    const result = this.run(() => {
      const actions: UpdateAction[] = [];
      do actions.push(...this.parseSection());
      while (this.peek().type !== 'eof');
      return actions;
    });
    if (typeof result === 'string') return result;
    const error = this.operatorLimitError() ?? this.firstError(['reserved', 'unknownFunction', 'misusedFunction', 'section']);
    return error ?? { actions: result };
  }

  private parseSection(): UpdateAction[] {
    const section = SECTIONS.find((name) => this.isKeyword(name));
    if (section === undefined) return this.fail();
    this.index++;
    if (this.seen.has(section)) {
      this.note('section', `The "${section}" section can only be used once in an update expression;`);
    }
    this.seen.add(section);
    const actions = [this.parseAction(section)];
    while (this.isOperator(',')) {
      this.index++;
      actions.push(this.parseAction(section));
    }
    return actions;
  }

  private parseAction(section: Section): UpdateAction {
    const path = this.parsePath();
    switch (section) {
      case 'SET': {
        this.expectOperator('=');
        return { kind: 'SET', path, value: this.parseValue() };
      }
      case 'REMOVE':
        return { kind: 'REMOVE', path };
      case 'ADD':
      case 'DELETE': {
        const token = this.peek();
        if (token.type !== 'valueRef') this.fail();
        this.index++;
        return { kind: section, path, valueRef: token.text };
      }
    }
  }

  /**
   * value ::= '(' bare ')' | bare, bare ::= operand | operand '+' operand | operand '-' operand.
   * Exactly two operands: ":a + :b + :c" and "f(:a + :b)" are syntax errors (Alternator
   * test_update_expression.py `test_update_expression_plus_basic`, `..._function_plus_nesting`).
   */
  private parseValue(): Operand {
    if (this.isOperator('(')) {
      const grouped = this.attempt(() => {
        this.index++;
        const value = this.parseBareValue();
        this.expectOperator(')');
        if (this.isOperator('+') || this.isOperator('-')) this.fail();
        return value;
      });
      if (grouped !== undefined) return grouped;
    }
    return this.parseBareValue();
  }

  private parseBareValue(): Operand {
    const left = this.parseOperand();
    if (this.isOperator('+') || this.isOperator('-')) {
      const operator = this.next().text as '+' | '-';
      this.operatorCount++;
      return { kind: 'arithmetic', operator, left, right: this.parseOperand() };
    }
    return left;
  }

  private parseOperand(): Operand {
    const token = this.peek();
    if (token.type === 'operator' && token.text === '(') {
      this.index++;
      const operand = this.parseOperand();
      this.expectOperator(')');
      return operand;
    }
    if (token.type === 'valueRef') {
      this.index++;
      return { kind: 'value', ref: token.text };
    }
    if (token.type === 'name' && this.isOperator('(', 1) && !KEYWORDS.has(token.text.toUpperCase())) {
      const call = this.parseCall(() => this.parseOperand());
      if (CONDITION_FUNCTION_NAMES.has(call.name)) {
        // The mirror of conditions refusing if_not_exists (Alternator test_condition_expression.py);
        // assumed, not recorded: dynalite says "Invalid function name" here.
        this.note('misusedFunction', `The function is not allowed to be used this way in an expression; function: ${call.name}`);
      } else if (!Object.hasOwn(UPDATE_FUNCTIONS, call.name)) {
        this.note('unknownFunction', `Invalid function name; function: ${call.name}`);
      }
      return call;
    }
    const steps: PathStep[] = this.parsePath();
    return { kind: 'path', steps };
  }
}
