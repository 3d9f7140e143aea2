/**
 * ProjectionExpression: a comma-separated list of document paths (DG:
 * Expressions.ProjectionExpressions). The only grammar error besides syntax is
 * a reserved word used as a bare name.
 */
import type { PathStep } from './ast.js';
import { ParserBase } from './parser-base.js';

export interface ParsedProjection {
  readonly paths: ReadonlyArray<readonly PathStep[]>;
}

export function parseProjection(source: string): ParsedProjection | string {
  return new ProjectionParser(source).parse();
}

class ProjectionParser extends ParserBase {
  constructor(source: string) {
    super(source, new Set());
  }

  parse(): ParsedProjection | string {
    const result = this.run(() => {
      const paths = [this.parsePath()];
      while (this.isOperator(',')) {
        this.index++;
        paths.push(this.parsePath());
      }
      this.expectEnd();
      return paths;
    });
    if (typeof result === 'string') return result;
    return this.firstError(['reserved']) ?? { paths: result };
  }
}
