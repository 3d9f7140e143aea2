/**
 * The parsed forms of DynamoDB's expressions. They keep placeholders
 * unresolved (`#n`, `:v`), so one parse of an expression string serves every
 * request that uses it with other ExpressionAttributeNames/Values; names and
 * values are looked up when a request is validated and evaluated.
 */

/** One step of a document path: a name as written, a `#name` placeholder, or a list index. */
export type PathStep =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'nameRef'; readonly ref: string }
  | { readonly kind: 'index'; readonly index: number };

/** A document path with its placeholders resolved: names are strings, list indexes numbers. */
export type ResolvedPath = ReadonlyArray<string | number>;

export type Operand =
  | { readonly kind: 'path'; readonly steps: readonly PathStep[] }
  | { readonly kind: 'value'; readonly ref: string }
  /** A function call used as an operand; only size (conditions) and if_not_exists, list_append (updates) are valid there. */
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Operand[] }
  /** SET's arithmetic: operand + operand, operand - operand. */
  | { readonly kind: 'arithmetic'; readonly operator: '+' | '-'; readonly left: Operand; readonly right: Operand };

export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { readonly kind: 'compare'; readonly operator: Comparator; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'between'; readonly operand: Operand; readonly lower: Operand; readonly upper: Operand }
  | { readonly kind: 'in'; readonly operand: Operand; readonly list: readonly Operand[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Operand[] }
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly operand: Condition };

export type UpdateAction =
  | { readonly kind: 'SET'; readonly path: readonly PathStep[]; readonly value: Operand }
  | { readonly kind: 'REMOVE'; readonly path: readonly PathStep[] }
  | { readonly kind: 'ADD'; readonly path: readonly PathStep[]; readonly valueRef: string }
  | { readonly kind: 'DELETE'; readonly path: readonly PathStep[]; readonly valueRef: string };

/** The parameter names DynamoDB puts in front of an expression's errors ("Invalid UpdateExpression: ..."). */
export type ExpressionKind =
  | 'ConditionExpression'
  | 'FilterExpression'
  | 'KeyConditionExpression'
  | 'ProjectionExpression'
  | 'UpdateExpression';

/** "[a, b, [3]]": how DynamoDB prints a document path in its messages (dyn:db/updateParser.pegjs `pathStr`). */
export function pathText(path: ResolvedPath): string {
  return `[${path.map((step) => (typeof step === 'number' ? `[${step}]` : step)).join(', ')}]`;
}
