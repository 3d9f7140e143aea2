/**
 * The expression language's surface for the operation layer: compile an
 * expression (parsed once, cached), validate a request's expressions against
 * its ExpressionAttributeNames/Values in DynamoDB's order, then evaluate them.
 *
 * Order of a request's checks (dyn:validations/index.js `validateExpressions`):
 * the two maps, then UpdateExpression, ConditionExpression,
 * KeyConditionExpression, FilterExpression, ProjectionExpression (each:
 * empty, size, syntax, grammar errors, placeholder and type errors), then
 * unused names, then unused values. Messages are "Invalid <Kind>: <message>".
 *
 * The operation layer's order: legacy-parameters.ts `checkExpressionParameters`
 * (mixing rules), then the attribute validation of ExpressionAttributeValues,
 * then `prepareExpressions`; then, per item, the evaluators
 * (condition-evaluator.ts, key-condition.ts `keyConditionFor`, projection.ts
 * `projectItem`, update-evaluator.ts `applyUpdate`) with `attributes`.
 */
import { Buffer } from 'node:buffer';
import type { AttributeMap } from '../attribute-value.js';
import { validationError } from '../dynamodb-error.js';
import type { Condition, ExpressionKind, Operand, ResolvedPath, UpdateAction } from './ast.js';
import { parseCondition, type ParsedCondition } from './condition-parser.js';
import { validateCondition } from './condition-validation.js';
import { ExpressionCache } from './expression-cache.js';
import {
  checkExpressionAttributeMaps,
  checkUnusedPlaceholders,
  PlaceholderUse,
  resolvedPath,
  type ExpressionAttributes,
} from './expression-attributes.js';
import { parseProjection, type ParsedProjection } from './projection-parser.js';
import { validateProjection } from './projection.js';
import { parseUpdate, type ParsedUpdate } from './update-parser.js';
import { validateUpdate } from './update-validation.js';

/** DynamoDB's limit on one expression string, in bytes (DG: ServiceQuotas, "Expression parameters": 4 KB). */
export const EXPRESSION_BYTES_MAX = 4096;

type Parsed = ParsedCondition | ParsedUpdate | ParsedProjection;

/** A cache of parses (or of the messages of expressions that do not parse). */
export type ParseCache = ExpressionCache<Parsed | string>;

export function newParseCache(entriesMax?: number): ParseCache {
  return new ExpressionCache<Parsed | string>(entriesMax);
}

/** One cache for every kind; the key starts with the kind, so equal texts of two kinds never mix. */
const defaultCache: ParseCache = newParseCache();

function compile<T extends Parsed>(
  kind: ExpressionKind,
  source: string,
  parse: (source: string) => T | string,
  cache: ParseCache,
): T {
  const result = cache.get(`${kind}\u0000${source}`, () => checkSource(kind, source) ?? parse(source));
  if (typeof result === 'string') throw validationError(`Invalid ${kind}: ${result}`);
  return result as T;
}

/**
 * "The expression can not be empty;" (dyn:validations/index.js `parse`;
 * whitespace only counts as empty, as the emulators that match DynamoDB's
 * messages treat it) and the 4 KB limit on the raw text. DynamoDB words it
 * "Expression size has exceeded the maximum allowed size;" and adds
 * " expression size: N" for FilterExpression and ConditionExpression only
 * (aws-sdk-java-v2 issue 4597 for UpdateExpression, PynamoDB issue 979 for
 * FilterExpression, both quoting DynamoDB; ExtendDB's notes on captured messages).
 */
function checkSource(kind: ExpressionKind, source: string): string | undefined {
  if (source.trim() === '') return 'The expression can not be empty;';
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes <= EXPRESSION_BYTES_MAX) return undefined;
  const withSize = kind === 'FilterExpression' || kind === 'ConditionExpression';
  return `Expression size has exceeded the maximum allowed size;${withSize ? ` expression size: ${bytes}` : ''}`;
}

export function compileCondition(
  kind: 'ConditionExpression' | 'FilterExpression' | 'KeyConditionExpression',
  source: string,
  cache: ParseCache = defaultCache,
): ParsedCondition {
  return compile(kind, source, parseCondition, cache);
}

export function compileUpdate(source: string, cache: ParseCache = defaultCache): ParsedUpdate {
  return compile('UpdateExpression', source, parseUpdate, cache);
}

export function compileProjection(source: string, cache: ParseCache = defaultCache): ParsedProjection {
  return compile('ProjectionExpression', source, parseProjection, cache);
}

/** The expression parameters of a request, as DynamoDB's API names them. */
export interface ExpressionRequest {
  readonly UpdateExpression?: string | undefined;
  readonly ConditionExpression?: string | undefined;
  readonly KeyConditionExpression?: string | undefined;
  readonly FilterExpression?: string | undefined;
  readonly ProjectionExpression?: string | undefined;
  readonly ExpressionAttributeNames?: Readonly<Record<string, string>> | undefined;
  readonly ExpressionAttributeValues?: Readonly<AttributeMap> | undefined;
}

export interface PreparedUpdate {
  readonly actions: readonly UpdateAction[];
  /** The target path of each action, placeholders resolved (the key check and ReturnValues use them). */
  readonly paths: readonly ResolvedPath[];
}

/** A request's expressions, validated; evaluate them with `attributes`. */
export interface PreparedExpressions {
  readonly attributes: ExpressionAttributes;
  readonly update: PreparedUpdate | undefined;
  readonly condition: Condition | undefined;
  readonly keyCondition: Condition | undefined;
  readonly filter: Condition | undefined;
  readonly projection: readonly ResolvedPath[] | undefined;
}

/** A request without expressions or placeholder maps (most GetItems and PutItems): nothing to parse, check or record, and nothing allocated per request. */
const NO_EXPRESSIONS: PreparedExpressions = Object.freeze({
  attributes: Object.freeze({ names: undefined, values: undefined }),
  update: undefined,
  condition: undefined,
  keyCondition: undefined,
  filter: undefined,
  projection: undefined,
});

function hasNoExpressions(request: ExpressionRequest): boolean {
  return (
    request.UpdateExpression === undefined &&
    request.ConditionExpression === undefined &&
    request.KeyConditionExpression === undefined &&
    request.FilterExpression === undefined &&
    request.ProjectionExpression === undefined &&
    request.ExpressionAttributeNames === undefined &&
    request.ExpressionAttributeValues === undefined
  );
}

/**
 * Validates every expression of a request; throws DynamoDB's
 * ValidationException for the first problem. The values' own validity
 * (numbers, empty sets) is checked by the operation layer before this.
 */
export function prepareExpressions(
  request: ExpressionRequest,
  cache: ParseCache = defaultCache,
): PreparedExpressions {
  if (hasNoExpressions(request)) return NO_EXPRESSIONS;
  const attributes: ExpressionAttributes = { names: request.ExpressionAttributeNames, values: request.ExpressionAttributeValues };
  checkExpressionAttributeMaps(attributes);
  const use = new PlaceholderUse();
  const fail = (kind: ExpressionKind, message: string): never => {
    throw validationError(`Invalid ${kind}: ${message}`);
  };

  let update: PreparedUpdate | undefined;
  if (request.UpdateExpression !== undefined) {
    const parsed = compileUpdate(request.UpdateExpression, cache);
    const paths = validateUpdate(parsed, attributes, use);
    if (typeof paths === 'string') fail('UpdateExpression', paths);
    update = { actions: parsed.actions, paths: paths as ResolvedPath[] };
  }
  const condition = (kind: 'ConditionExpression' | 'KeyConditionExpression' | 'FilterExpression'): Condition | undefined => {
    const source = request[kind];
    if (source === undefined) return undefined;
    const parsed = compileCondition(kind, source, cache);
    const error = validateCondition(parsed, attributes, use);
    if (error !== undefined) fail(kind, error);
    return parsed.condition;
  };
  const conditionExpression = condition('ConditionExpression');
  const keyCondition = condition('KeyConditionExpression');
  const filter = condition('FilterExpression');
  let projection: ResolvedPath[] | undefined;
  if (request.ProjectionExpression !== undefined) {
    const paths = validateProjection(compileProjection(request.ProjectionExpression, cache), attributes, use);
    if (typeof paths === 'string') fail('ProjectionExpression', paths);
    projection = paths as ResolvedPath[];
  }
  checkUnusedPlaceholders(attributes, use);
  return { attributes, update, condition: conditionExpression, keyCondition, filter, projection };
}

/**
 * The top-level attribute names a condition reads, for Query's "Filter
 * Expression can only contain non-primary key attributes: Primary key
 * attribute: K" (reference §4).
 */
export function conditionAttributeNames(condition: Condition, attributes: ExpressionAttributes): string[] {
  const names = new Set<string>();
  const operand = (op: Operand): void => {
    if (op.kind === 'path') names.add(resolvedPath(op.steps, attributes)[0] as string);
    else if (op.kind === 'call') op.args.forEach(operand);
    else if (op.kind === 'arithmetic') [op.left, op.right].forEach(operand);
  };
  const walk = (node: Condition): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        walk(node.left);
        walk(node.right);
        return;
      case 'not':
        walk(node.operand);
        return;
      case 'compare':
        [node.left, node.right].forEach(operand);
        return;
      case 'between':
        [node.operand, node.lower, node.upper].forEach(operand);
        return;
      case 'in':
        [node.operand, ...node.list].forEach(operand);
        return;
      case 'call':
        node.args.forEach(operand);
        return;
    }
  };
  walk(condition);
  return [...names];
}
