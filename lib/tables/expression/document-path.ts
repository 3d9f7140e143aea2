/**
 * Reading a document path (a.b[3].c) out of an item: a name step looks into an
 * M (or the item at the top), an index step into an L. Any step that meets a
 * missing attribute, another type, or an index past the end finds nothing
 * (DG: Expressions.Attributes "Document paths").
 */
import type { AttributeMap, AttributeValue } from '../attribute-value.js';
import type { ResolvedPath } from './ast.js';

export function valueAtPath(item: Readonly<AttributeMap>, path: ResolvedPath): AttributeValue | undefined {
  const first = path[0];
  if (typeof first !== 'string' || !Object.hasOwn(item, first)) return undefined;
  let value: AttributeValue | undefined = item[first];
  for (let index = 1; index < path.length && value !== undefined; index++) {
    value = stepInto(value, path[index]!);
  }
  return value;
}

export function stepInto(value: AttributeValue, step: string | number): AttributeValue | undefined {
  if (typeof step === 'number') return 'L' in value ? value.L[step] : undefined;
  return 'M' in value && Object.hasOwn(value.M, step) ? value.M[step] : undefined;
}
