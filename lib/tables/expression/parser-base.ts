/**
 * What the three recursive-descent parsers (condition, update, projection)
 * share: a cursor over the tokens, backtracking that remembers the furthest
 * token any attempt failed at (that token is DynamoDB's syntax error token),
 * document paths, and the errors a parse collects before it can report them
 * in DynamoDB's order.
 */
import type { Operand, PathStep } from './ast.js';
import { isReservedWord } from './reserved-words.js';
import { syntaxErrorText, tokenize, type Token } from './tokenizer.js';

export const OPERATORS_MAX = 300;

/** Thrown inside a parse attempt; caught by a backtracking point or turned into the syntax error at the end. */
class ParseFailure {
  static readonly instance = new ParseFailure();
}

/** Errors found while parsing, kept as the first of each category. */
export type ParseErrors = Record<string, string>;

export class ParserBase {
  protected readonly tokens: Token[];
  protected index = 0;
  /** The furthest token index at which some attempt failed. */
  private furthestFailure = -1;
  protected errors: ParseErrors = {};
  /** Nodes that were written inside their own parentheses, to find "((x))". */
  protected parenthesized = new Set<object>();
  /** Comparators, BETWEEN, IN, functions, + and -: what DynamoDB's 300-operator limit counts (AND, OR, NOT are not). */
  protected operatorCount = 0;

  constructor(
    protected readonly source: string,
    /** Words of this grammar that cannot be attribute names (AND, OR, ... or SET, REMOVE, ...). */
    private readonly keywords: ReadonlySet<string>,
  ) {
    this.tokens = tokenize(source);
  }

  /** Runs the whole parse; a syntax error wins over every other error (DynamoDB stops at the grammar). */
  protected run<T>(parse: () => T): T | string {
    try {
      return parse();
    } catch (error) {
      if (error !== ParseFailure.instance) throw error;
      return syntaxErrorText(this.source, this.tokens, this.furthestFailure);
    }
  }

  protected peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  protected fail(): never {
    if (this.index > this.furthestFailure) this.furthestFailure = this.index;
    throw ParseFailure.instance;
  }

  protected next(): Token {
    const token = this.peek();
    if (token.type !== 'eof') this.index++;
    return token;
  }

  protected isOperator(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.type === 'operator' && token.text === text;
  }

  protected expectOperator(text: string): void {
    if (!this.isOperator(text)) this.fail();
    this.index++;
  }

  /** Keywords are case-insensitive (dyn:db/conditionParser.pegjs `'AND'i`). */
  protected isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.type === 'name' && token.text.toUpperCase() === word;
  }

  protected expectEnd(): void {
    if (this.peek().type !== 'eof') this.fail();
  }

  /**
   * Tries `attempt`; if it fails, puts the cursor and the collected errors
   * back and returns undefined, so that the caller can try another reading
   * of the same tokens (DynamoDB's '(' starts either a condition or an operand).
   */
  protected attempt<T>(attempt: () => T): T | undefined {
    const index = this.index;
    const errors = { ...this.errors };
    const parenthesized = new Set(this.parenthesized);
    const operatorCount = this.operatorCount;
    try {
      return attempt();
    } catch (error) {
      if (error !== ParseFailure.instance) throw error;
      this.index = index;
      this.errors = errors;
      this.parenthesized = parenthesized;
      this.operatorCount = operatorCount;
      return undefined;
    }
  }

  protected note(category: string, message: string): void {
    if (this.errors[category] === undefined) this.errors[category] = message;
  }

  /** Marks `node` as written in parentheses; a second pair directly around it is DynamoDB's "redundant parentheses". */
  protected wrapInParentheses<T extends object>(node: T): T {
    if (this.parenthesized.has(node)) this.note('parens', 'The expression has redundant parentheses;');
    this.parenthesized.add(node);
    return node;
  }

  /** path ::= step ('[' digits ']' | '.' step)*, step ::= name | #name. */
  protected parsePath(): PathStep[] {
    const steps: PathStep[] = [this.parsePathStep()];
    for (;;) {
      if (this.isOperator('[')) {
        this.index++;
        const token = this.peek();
        if (token.type !== 'number') this.fail();
        this.index++;
        this.expectOperator(']');
        steps.push({ kind: 'index', index: Number(token.text) });
      } else if (this.isOperator('.')) {
        this.index++;
        steps.push(this.parsePathStep());
      } else {
        return steps;
      }
    }
  }

  private parsePathStep(): PathStep {
    const token = this.peek();
    if (token.type === 'nameRef') {
      this.index++;
      return { kind: 'nameRef', ref: token.text };
    }
    if (token.type !== 'name' || this.keywords.has(token.text.toUpperCase())) this.fail();
    this.index++;
    if (isReservedWord(token.text)) {
      this.note('reserved', `Attribute name is a reserved keyword; reserved keyword: ${token.text}`);
    }
    return { kind: 'name', name: token.text };
  }

  /** name '(' operand (',' operand)* ')', with `parseArgument` for each operand. */
  protected parseCall(parseArgument: () => Operand): Operand & { kind: 'call' } {
    const name = this.next().text;
    this.expectOperator('(');
    this.operatorCount++;
    const args = [parseArgument()];
    while (this.isOperator(',')) {
      this.index++;
      args.push(parseArgument());
    }
    this.expectOperator(')');
    return { kind: 'call', name, args };
  }

  /**
   * DynamoDB's limit of 300 operators and functions in one expression (DG:
   * ServiceQuotas says UpdateExpression; DynamoDB applies it to conditions
   * too, and does not count AND: "Invalid ConditionExpression: The expression
   * contains too many operators; operator count: 301", quoted in ScyllaDB
   * issue 14473 and aws-sdk-js issue 3721).
   */
  protected operatorLimitError(): string | undefined {
    return this.operatorCount > OPERATORS_MAX
      ? `The expression contains too many operators; operator count: ${this.operatorCount}`
      : undefined;
  }

  /** The first collected error in `order`, or undefined. */
  protected firstError(order: readonly string[]): string | undefined {
    for (const category of order) {
      const message = this.errors[category];
      if (message !== undefined) return message;
    }
    return undefined;
  }
}
