/**
 * ProjectionExpression: validation against the placeholders, and the
 * projected copy of an item. The copy keeps the nested structure of each
 * path; list elements keep their original order and are compacted (a[2], a[0]
 * of [x, y, z] gives [x, z]); a path that finds nothing contributes nothing,
 * not even its parents (DG: Expressions.ProjectionExpressions; reference §6
 * "ProjectionExpression", dyn:db/index.js `mapPaths`).
 */
import type { AttributeMap, AttributeValue } from '../attribute-value.js';
import type { ResolvedPath } from './ast.js';
import { pathOverlapError } from './document-path-overlap.js';
import { resolvePath, undefinedNameMessage, type ExpressionAttributes, type PlaceholderUse } from './expression-attributes.js';
import type { ParsedProjection } from './projection-parser.js';

/** The resolved paths, or the message of the first error (undefined name, then overlap or conflict). */
export function validateProjection(
  parsed: ParsedProjection,
  attributes: ExpressionAttributes,
  use: PlaceholderUse,
): ResolvedPath[] | string {
  const paths: ResolvedPath[] = [];
  for (const steps of parsed.paths) {
    const path = resolvePath(steps, attributes, use);
    if (!Array.isArray(path)) return undefinedNameMessage((path as { undefinedName: string }).undefinedName);
    paths.push(path as ResolvedPath);
  }
  return pathOverlapError(paths) ?? paths;
}

interface Selection {
  whole: boolean;
  readonly children: Map<string | number, Selection>;
}

/** The attributes of `item` that `paths` select. */
export function projectItem(item: Readonly<AttributeMap>, paths: readonly ResolvedPath[]): AttributeMap {
  const root: Selection = { whole: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const step of path) {
      let child = node.children.get(step);
      if (child === undefined) {
        child = { whole: false, children: new Map() };
        node.children.set(step, child);
      }
      node = child;
    }
    node.whole = true;
  }
  const result: AttributeMap = {};
  for (const [name, selection] of root.children) {
    if (typeof name !== 'string' || !Object.hasOwn(item, name)) continue;
    const projected = project(item[name]!, selection);
    if (projected !== undefined) result[name] = projected;
  }
  return result;
}

function project(value: AttributeValue, selection: Selection): AttributeValue | undefined {
  if (selection.whole) return structuredClone(value);
  if ('M' in value) {
    const map: AttributeMap = {};
    let found = false;
    for (const [step, child] of selection.children) {
      if (typeof step !== 'string' || !Object.hasOwn(value.M, step)) continue;
      const projected = project(value.M[step]!, child);
      if (projected !== undefined) {
        map[step] = projected;
        found = true;
      }
    }
    return found ? { M: map } : undefined;
  }
  if ('L' in value) {
    const indexes = [...selection.children.keys()].filter((step): step is number => typeof step === 'number').sort((a, b) => a - b);
    const list: AttributeValue[] = [];
    for (const index of indexes) {
      if (index >= value.L.length) continue;
      const projected = project(value.L[index]!, selection.children.get(index)!);
      if (projected !== undefined) list.push(projected);
    }
    return list.length > 0 ? { L: list } : undefined;
  }
  return undefined;
}
