/**
 * The checks of a parsed UpdateExpression that need the request's
 * placeholders, in dynalite's order (dyn:db/updateParser.pegjs
 * `checkErrors`, after the grammar's own): an undefined `#name`, an
 * undefined `:value`, overlapping then conflicting target paths, ADD/DELETE
 * operands of a type they cannot take, then the functions' and arithmetic's
 * operand counts and types where the expression fixes them.
 */
import { typeOf, type AttributeType } from '../attribute-value.js';
import type { Operand, PathStep, ResolvedPath, UpdateAction } from './ast.js';
import { incorrectOperandType } from './condition-validation.js';
import { pathOverlapError } from './document-path-overlap.js';
import {
  lookupValue,
  resolvePath,
  undefinedNameMessage,
  undefinedValueMessage,
  type ExpressionAttributes,
  type PlaceholderUse,
} from './expression-attributes.js';
import type { ParsedUpdate } from './update-parser.js';
import { UPDATE_FUNCTIONS } from './update-parser.js';

/** DynamoDB's names for value types in "operator: ADD, operand type: STRING" (dyn:db/updateParser.pegjs `checkOperator`). */
const OPERAND_TYPE_NAMES: Partial<Record<AttributeType, string>> = {
  S: 'STRING',
  N: 'NUMBER',
  B: 'BINARY',
  NULL: 'NULL',
  BOOL: 'BOOLEAN',
  L: 'LIST',
  M: 'MAP',
};

/** The resolved target path of each action, or the message of the first error. */
export function validateUpdate(parsed: ParsedUpdate, attributes: ExpressionAttributes, use: PlaceholderUse): ResolvedPath[] | string {
  const check = new UpdateCheck(attributes, use);
  const paths: ResolvedPath[] = [];
  for (const action of parsed.actions) {
    const path = check.path(action.path);
    if (path !== undefined) paths.push(path);
    if (action.kind === 'SET') check.operand(action.value);
    if (action.kind === 'ADD' || action.kind === 'DELETE') check.setOperand(action);
  }
  const overlap = check.undefinedName === undefined && check.undefinedValue === undefined ? pathOverlapError(paths) : undefined;
  return check.undefinedName ?? check.undefinedValue ?? overlap ?? check.operandType ?? check.functionError ?? paths;
}

class UpdateCheck {
  undefinedName: string | undefined;
  undefinedValue: string | undefined;
  operandType: string | undefined;
  functionError: string | undefined;

  constructor(
    private readonly attributes: ExpressionAttributes,
    private readonly use: PlaceholderUse,
  ) {}

  path(steps: readonly PathStep[]): ResolvedPath | undefined {
    const path = resolvePath(steps, this.attributes, this.use);
    if (!Array.isArray(path)) {
      this.undefinedName ??= undefinedNameMessage((path as { undefinedName: string }).undefinedName);
      return undefined;
    }
    return path as ResolvedPath;
  }

  private value(ref: string): AttributeType | undefined {
    const value = lookupValue(this.attributes, ref);
    if (value === undefined) {
      this.undefinedValue ??= undefinedValueMessage(ref);
      return undefined;
    }
    this.use.values.add(ref);
    return typeOf(value);
  }

  /** ADD takes N or a set, DELETE a set. */
  setOperand(action: UpdateAction & { kind: 'ADD' | 'DELETE' }): void {
    const type = this.value(action.valueRef);
    if (type === undefined || this.operandType !== undefined) return;
    const name = OPERAND_TYPE_NAMES[type];
    if (name !== undefined && !(action.kind === 'ADD' && type === 'N')) {
      this.operandType = `Incorrect operand type for operator or function; operator: ${action.kind}, operand type: ${name}`;
    }
  }

  /** Walks a SET value; returns the type the expression fixes for it (values, list_append, arithmetic), if any. */
  operand(operand: Operand): AttributeType | undefined {
    switch (operand.kind) {
      case 'path':
        this.path(operand.steps);
        return undefined;
      case 'value':
        return this.value(operand.ref);
      case 'arithmetic': {
        this.operand(operand.left);
        this.operand(operand.right);
        this.requireTypes(operand.operator, [operand.left, operand.right], 'N');
        return 'N';
      }
      case 'call': {
        const types = operand.args.map((arg) => this.operand(arg));
        // "list_append(list_append(:a, :b), :c)" is refused (Alternator test_update_expression.py
        // `test_update_expression_function_nesting`, recording DynamoDB's message).
        const nested = operand.args.find((arg) => arg.kind === 'call' && arg.name === 'list_append');
        if (nested !== undefined) {
          this.functionError ??= 'The function is not allowed to be used this way in an expression; function: list_append';
        }
        if (operand.args.length !== UPDATE_FUNCTIONS[operand.name]) {
          this.functionError ??=
            `Incorrect number of operands for operator or function; operator or function: ${operand.name}, number of operands: ${operand.args.length}`;
          return undefined;
        }
        if (operand.name === 'if_not_exists') {
          if (operand.args[0]!.kind !== 'path') {
            this.functionError ??= `Operator or function requires a document path; operator or function: ${operand.name}`;
          }
          return types[1];
        }
        this.requireTypes(operand.name, operand.args, 'L');
        return 'L';
      }
    }
  }

  /** Only values are checked here, as dynalite does (`getImmediateType`); an attribute's type is checked when applied. */
  private requireTypes(name: string, operands: readonly Operand[], required: AttributeType): void {
    for (const operand of operands) {
      const value = operand.kind === 'value' ? lookupValue(this.attributes, operand.ref) : undefined;
      if (value !== undefined && typeOf(value) !== required) {
        this.functionError ??= incorrectOperandType(name, typeOf(value));
        return;
      }
    }
  }
}
