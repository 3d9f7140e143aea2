/**
 * Applies a validated UpdateExpression to an item, purely: the old item is
 * never changed, a new one is returned with the paths the update touched
 * (for ReturnValues UPDATED_OLD/UPDATED_NEW and the key-attribute check of
 * the operation layer).
 *
 * Semantics (DG: Expressions.UpdateExpressions; reference §6 "UpdateExpression"):
 * - every SET value is computed from the item as it was before the update;
 * - SET of a list index past the end appends; SET below a missing or
 *   non-container parent fails;
 * - REMOVE of list indexes refers to the original list (all removed at once,
 *   unlike dynalite's one-by-one splice, reference §18); removing something
 *   absent does nothing;
 * - ADD: a missing attribute counts as 0 or the empty set; numbers add
 *   exactly (number.ts), sets union (and lists append, for the legacy
 *   AttributeUpdates); DELETE takes a set difference and removes a set left
 *   empty.
 */
import { typeOf, type AttributeMap, type AttributeValue } from '../attribute-value.js';
import { validationError } from '../dynamodb-error.js';
import { addNumbers, subtractNumbers } from '../number.js';
import type { Operand, ResolvedPath, UpdateAction } from './ast.js';
import { stepInto, valueAtPath } from './document-path.js';
import { lookupValue, resolvedPath, type ExpressionAttributes } from './expression-attributes.js';
import { setHas } from './value-compare.js';

/** actions/updateItem.js messages, which dynalite's suite checks against DynamoDB (reference §17 #47-#49). */
export const MISSING_ATTRIBUTE_MESSAGE = 'The provided expression refers to an attribute that does not exist in the item';
export const INCORRECT_DATA_TYPE_MESSAGE = 'An operand in the update expression has an incorrect data type';
export const INVALID_PATH_MESSAGE = 'The document path provided in the update expression is invalid for update';

export interface UpdateResult {
  readonly item: AttributeMap;
  /** The target path of every action, in the expression's order. */
  readonly paths: readonly ResolvedPath[];
}

export function applyUpdate(
  actions: readonly UpdateAction[],
  oldItem: Readonly<AttributeMap> | undefined,
  attributes: ExpressionAttributes,
): UpdateResult {
  const before: Readonly<AttributeMap> = oldItem ?? {};
  const resolved = actions.map((action) => ({ action, path: resolvedPath(action.path, attributes) }));
  // Every SET value first, from the item as it was.
  const setValues = resolved.map(({ action }) => (action.kind === 'SET' ? operandValue(action.value, before, attributes) : undefined));
  const item = structuredClone(before) as AttributeMap;
  // Several SETs past the end of one list append in the order of their indexes (Alternator
  // test_update_expression.py `test_nested_attribute_update_array_out_of_bounds`), so indexed
  // targets go last and in ascending order; other targets cannot overlap, so their order is free.
  const sets = resolved.map((entry, index) => ({ ...entry, value: setValues[index] })).filter(({ action }) => action.kind === 'SET');
  const lastIndex = (path: ResolvedPath): number => (typeof path[path.length - 1] === 'number' ? (path[path.length - 1] as number) : -1);
  sets.sort((a, b) => lastIndex(a.path) - lastIndex(b.path));
  for (const { path, value } of sets) setAt(item, path, value!);
  removePaths(
    item,
    resolved.filter(({ action }) => action.kind === 'REMOVE').map(({ path }) => path),
    oldItem !== undefined,
  );
  for (const { action, path } of resolved) {
    if (action.kind === 'ADD') addAt(item, path, lookupValue(attributes, action.valueRef)!);
    if (action.kind === 'DELETE') deleteAt(item, path, lookupValue(attributes, action.valueRef)!);
  }
  return { item, paths: resolved.map(({ path }) => path) };
}

/** The distinct top-level attribute names of some paths: what an update changes, for the key check and ReturnValues. */
export function topLevelNames(paths: readonly ResolvedPath[]): string[] {
  return [...new Set(paths.map((path) => path[0] as string))];
}

function operandValue(operand: Operand, item: Readonly<AttributeMap>, attributes: ExpressionAttributes): AttributeValue {
  switch (operand.kind) {
    case 'value':
      return lookupValue(attributes, operand.ref)!;
    case 'path': {
      const value = valueAtPath(item, resolvedPath(operand.steps, attributes));
      if (value === undefined) throw validationError(MISSING_ATTRIBUTE_MESSAGE);
      return value;
    }
    case 'arithmetic': {
      const left = operandValue(operand.left, item, attributes);
      const right = operandValue(operand.right, item, attributes);
      if (!('N' in left) || !('N' in right)) throw validationError(INCORRECT_DATA_TYPE_MESSAGE);
      return { N: operand.operator === '+' ? addNumbers(left.N, right.N) : subtractNumbers(left.N, right.N) };
    }
    case 'call': {
      if (operand.name === 'if_not_exists') {
        const existing = valueAtPath(item, resolvedPath((operand.args[0] as { steps: UpdateAction['path'] }).steps, attributes));
        return existing ?? operandValue(operand.args[1]!, item, attributes);
      }
      const first = operandValue(operand.args[0]!, item, attributes);
      const second = operandValue(operand.args[1]!, item, attributes);
      if (!('L' in first) || !('L' in second)) throw validationError(INCORRECT_DATA_TYPE_MESSAGE);
      return { L: [...first.L, ...second.L] };
    }
  }
}

/** The container holding the path's last step, or undefined when a step before it is missing. */
function parentOf(item: AttributeMap, path: ResolvedPath): AttributeValue | AttributeMap | undefined {
  if (path.length === 1) return item;
  let value = valueAtPath(item, path.slice(0, 1));
  for (let index = 1; index < path.length - 1 && value !== undefined; index++) value = stepInto(value, path[index]!);
  return value;
}

function setAt(item: AttributeMap, path: ResolvedPath, value: AttributeValue): void {
  const parent = parentOf(item, path);
  const last = path[path.length - 1]!;
  if (parent === item) {
    item[last as string] = value;
  } else if (typeof last === 'string' && parent !== undefined && 'M' in parent) {
    (parent.M as AttributeMap)[last] = value;
  } else if (typeof last === 'number' && parent !== undefined && 'L' in parent) {
    const list = parent.L as AttributeValue[];
    if (last < list.length) list[last] = value;
    else list.push(value);
  } else {
    throw validationError(INVALID_PATH_MESSAGE);
  }
}

/**
 * All REMOVEs at once: list indexes refer to the original list, so each list
 * loses its indexes from the highest down. An index past the end is ignored;
 * a missing or non-container parent is an error, except on an item that does
 * not exist, where DynamoDB ignores it (Alternator test_update_expression.py
 * `test_nested_attribute_update_bad_path_dot`, `..._remove_from_missing_item`).
 */
function removePaths(item: AttributeMap, paths: readonly ResolvedPath[], itemExists: boolean): void {
  const lastStep = (path: ResolvedPath): string | number => path[path.length - 1]!;
  const named = paths.filter((path) => typeof lastStep(path) === 'string');
  const indexed = paths.filter((path) => typeof lastStep(path) === 'number');
  indexed.sort((a, b) => (lastStep(b) as number) - (lastStep(a) as number));
  for (const path of [...named, ...indexed]) {
    const parent = parentOf(item, path);
    const last = path[path.length - 1]!;
    if (parent === item) delete item[last as string];
    else if (parent === undefined && !itemExists) continue;
    else if (parent === undefined) throw validationError(INVALID_PATH_MESSAGE);
    else if (typeof last === 'string' && 'M' in parent) delete (parent.M as AttributeMap)[last];
    else if (typeof last === 'number' && 'L' in parent) (parent.L as AttributeValue[]).splice(last, 1);
    else throw validationError(INVALID_PATH_MESSAGE);
  }
}

function addAt(item: AttributeMap, path: ResolvedPath, operand: AttributeValue): void {
  const current = valueAtPath(item, path);
  if (current === undefined) {
    setAt(item, path, 'N' in operand ? { N: addNumbers('0', operand.N) } : structuredClone(operand));
    return;
  }
  if ('N' in current && 'N' in operand) return setAt(item, path, { N: addNumbers(current.N, operand.N) });
  // Only AttributeUpdates' ADD takes a list (appending); UpdateExpression's ADD refuses one at validation.
  if ('L' in current && 'L' in operand) return setAt(item, path, { L: [...current.L, ...structuredClone(operand.L)] });
  if (typeOf(current) !== typeOf(operand) || !isSet(current)) throw validationError(INCORRECT_DATA_TYPE_MESSAGE);
  setAt(item, path, union(current, operand));
}

function deleteAt(item: AttributeMap, path: ResolvedPath, operand: AttributeValue): void {
  const current = valueAtPath(item, path);
  if (current === undefined) return;
  if (typeOf(current) !== typeOf(operand) || !isSet(current)) throw validationError(INCORRECT_DATA_TYPE_MESSAGE);
  const remaining = difference(current, operand);
  if (remaining === undefined) removePaths(item, [path], true);
  else setAt(item, path, remaining);
}

function isSet(value: AttributeValue): boolean {
  return 'SS' in value || 'NS' in value || 'BS' in value;
}

function members(set: AttributeValue): AttributeValue[] {
  if ('SS' in set) return set.SS.map((S) => ({ S }));
  if ('NS' in set) return set.NS.map((N) => ({ N }));
  if ('BS' in set) return set.BS.map((B) => ({ B }));
  return [];
}

function fromMembers(type: 'SS' | 'NS' | 'BS', values: AttributeValue[]): AttributeValue {
  if (type === 'SS') return { SS: values.map((value) => (value as { S: string }).S) };
  if (type === 'NS') return { NS: values.map((value) => (value as { N: string }).N) };
  return { BS: values.map((value) => (value as { B: Uint8Array }).B) };
}

/** Set union keeping the current order, then the operand's new members. */
function union(current: AttributeValue, operand: AttributeValue): AttributeValue {
  const added = members(operand).filter((member) => !setHas(current, member));
  return fromMembers(typeOf(current) as 'SS' | 'NS' | 'BS', [...members(current), ...added]);
}

function difference(current: AttributeValue, operand: AttributeValue): AttributeValue | undefined {
  const kept = members(current).filter((member) => !setHas(operand, member));
  return kept.length === 0 ? undefined : fromMembers(typeOf(current) as 'SS' | 'NS' | 'BS', kept);
}

