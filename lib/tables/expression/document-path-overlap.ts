/**
 * Two document paths of one UpdateExpression or ProjectionExpression may not
 * overlap (one is a prefix of the other, or equal) or conflict (one indexes a
 * list where the other names a map member) (dyn:db/updateParser.pegjs
 * `checkPaths`; reference §17 #45). Each path is compared with those before it.
 */
import { pathText, type ResolvedPath } from './ast.js';

export function pathOverlapError(paths: readonly ResolvedPath[]): string | undefined {
  let conflict: string | undefined;
  for (let second = 1; second < paths.length; second++) {
    for (let first = 0; first < second; first++) {
      const verdict = comparePaths(paths[first]!, paths[second]!);
      if (verdict === 'overlap') return message('overlap', paths[first]!, paths[second]!);
      if (verdict === 'conflict') conflict ??= message('conflict', paths[first]!, paths[second]!);
    }
  }
  return conflict;
}

function comparePaths(a: ResolvedPath, b: ResolvedPath): 'overlap' | 'conflict' | 'distinct' {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    if (typeof a[index] !== typeof b[index]) return 'conflict';
    if (a[index] !== b[index]) return 'distinct';
  }
  return 'overlap';
}

function message(kind: 'overlap' | 'conflict', one: ResolvedPath, two: ResolvedPath): string {
  return `Two document paths ${kind} with each other; must remove or rewrite one of these paths; path one: ${pathText(one)}, path two: ${pathText(two)}`;
}
