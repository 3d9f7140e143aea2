/**
 * ExpressionAttributeNames and ExpressionAttributeValues: resolving `#name`
 * and `:value` placeholders, recording which were used, and DynamoDB's
 * request-level checks on the two maps (dyn:validations/index.js
 * `validateExpressions`; reference §6 "ExpressionAttributeNames/Values").
 */
import type { AttributeMap, AttributeValue } from '../attribute-value.js';
import { validationError } from '../dynamodb-error.js';
import type { PathStep, ResolvedPath } from './ast.js';

export interface ExpressionAttributes {
  readonly names?: Readonly<Record<string, string>> | undefined;
  readonly values?: Readonly<AttributeMap> | undefined;
}

/** The placeholders one request's expressions used, to find the unused ones. */
export class PlaceholderUse {
  readonly names = new Set<string>();
  readonly values = new Set<string>();
}

export function undefinedNameMessage(ref: string): string {
  return `An expression attribute name used in the document path is not defined; attribute name: ${ref}`;
}

export function undefinedValueMessage(ref: string): string {
  return `An expression attribute value used in expression is not defined; attribute value: ${ref}`;
}

/** A path with its `#name` steps replaced, or the message for the first undefined one. */
export function resolvePath(
  steps: readonly PathStep[],
  attributes: ExpressionAttributes,
  use: PlaceholderUse,
): ResolvedPath | { undefinedName: string } {
  const path: Array<string | number> = [];
  for (const step of steps) {
    if (step.kind === 'name') path.push(step.name);
    else if (step.kind === 'index') path.push(step.index);
    else {
      const name = lookup(attributes.names, step.ref);
      if (name === undefined) return { undefinedName: step.ref };
      use.names.add(step.ref);
      path.push(name);
    }
  }
  return path;
}

/** A path already validated by the expression's validation; throws if it was not. */
export function resolvedPath(steps: readonly PathStep[], attributes: ExpressionAttributes): ResolvedPath {
  const path = resolvePath(steps, attributes, new PlaceholderUse());
  if (!Array.isArray(path)) throw validationError(undefinedNameMessage((path as { undefinedName: string }).undefinedName));
  return path as ResolvedPath;
}

export function lookupValue(attributes: ExpressionAttributes, ref: string): AttributeValue | undefined {
  return lookup(attributes.values, ref);
}

/** An own property only: a placeholder named like Object.prototype's members must not resolve. */
function lookup<T>(map: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

const NAME_KEY = /^#[0-9a-zA-Z_]+$/;
const VALUE_KEY = /^:[0-9a-zA-Z_]+$/;

/**
 * The checks on the maps themselves, before any expression is parsed
 * (dyn:validations/index.js `validateExpressions`, in its order). The values'
 * own validity ("ExpressionAttributeValues contains invalid value: <message>
 * for key :v") is the attribute validation's, which the operation layer runs.
 */
export function checkExpressionAttributeMaps(attributes: ExpressionAttributes): void {
  if (attributes.names !== undefined) {
    const keys = Object.keys(attributes.names);
    if (keys.length === 0) throw validationError('ExpressionAttributeNames must not be empty');
    for (const key of keys) {
      if (!NAME_KEY.test(key)) throw validationError(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${key}"`);
    }
  }
  if (attributes.values !== undefined) {
    const keys = Object.keys(attributes.values);
    if (keys.length === 0) throw validationError('ExpressionAttributeValues must not be empty');
    for (const key of keys) {
      if (!VALUE_KEY.test(key)) throw validationError(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${key}"`);
    }
  }
}

/**
 * After every expression of a request was validated: names, then values,
 * that none used (dyn:validations/index.js `validateExpressions`; reference
 * §17 #30), listed in the order the request gave them.
 */
export function checkUnusedPlaceholders(attributes: ExpressionAttributes, use: PlaceholderUse): void {
  if (attributes.names !== undefined) {
    const unused = Object.keys(attributes.names).filter((key) => !use.names.has(key));
    if (unused.length > 0) {
      throw validationError(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unused.join(', ')}}`);
    }
  }
  if (attributes.values !== undefined) {
    const unused = Object.keys(attributes.values).filter((key) => !use.values.has(key));
    if (unused.length > 0) {
      throw validationError(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${unused.join(', ')}}`);
    }
  }
}
