/**
 * ProjectionExpression: messages (with sources) and the projected copy.
 * "Alternator" = ScyllaDB's test/alternator/test_projection_expression.py,
 * recorded against DynamoDB.
 */
import t from 'tap';
import type { AttributeMap, AttributeValue } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { prepareExpressions, type ExpressionRequest } from '../lib/tables/expression/expressions.js';
import { projectItem } from '../lib/tables/expression/projection.js';

const N = (N: string): AttributeValue => ({ N });
const S = (S: string): AttributeValue => ({ S });
const L = (...L: AttributeValue[]): AttributeValue => ({ L });
const M = (M: AttributeMap): AttributeValue => ({ M });

const P = (ProjectionExpression: string, ExpressionAttributeNames?: Record<string, string>): ExpressionRequest => ({
  ProjectionExpression,
  ExpressionAttributeNames,
});

function messageOf(request: ExpressionRequest): string | undefined {
  try {
    prepareExpressions(request);
    return undefined;
  } catch (error) {
    if (!(error instanceof DynamoDbError) || error.name !== 'ValidationException') throw error;
    return error.message;
  }
}

function project(item: AttributeMap, expression: string, names?: Record<string, string>): AttributeMap {
  const prepared = prepareExpressions(P(expression, names));
  return projectItem(item, prepared.projection!);
}

const overlap = (one: string, two: string): string =>
  `Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${one}, path two: ${two}`;
const conflict = (one: string, two: string): string =>
  `Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: ${one}, path two: ${two}`;

t.test('projection errors: DynamoDB messages', async (t) => {
  const cases: Array<[ExpressionRequest, string, string]> = [
    [P(''), 'Invalid ProjectionExpression: The expression can not be empty;', 'Alternator (quoted)'],
    [P('a,'), 'Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ","', 'Alternator: trailing comma'],
    [P(',a'), 'Invalid ProjectionExpression: Syntax error; token: ",", near: ",a"', 'Alternator: leading comma'],
    [P('a,,b'), 'Invalid ProjectionExpression: Syntax error; token: ",", near: ",,b"', 'Alternator: double comma'],
    [P('a b'), 'Invalid ProjectionExpression: Syntax error; token: "b", near: "a b"', 'paths need commas'],
    [P('a[]'), 'Invalid ProjectionExpression: Syntax error; token: "]", near: "[]"', 'an index needs digits'],
    [P('name'), 'Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name', 'ref §17 #33'],
    [P('#name', { '#wrong': 'a' }), 'Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #name', 'Alternator'],
    [P('#name', { '#name': 'a', '#unused': 'b' }), 'Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}', 'Alternator'],
    [P('a,a'), overlap('[a]', '[a]'), 'Alternator test_projection_expression_toplevel_syntax (quoted)'],
    [P('a.b[0],a.b[0]'), overlap('[a, b, [0]]', '[a, b, [0]]'), 'Alternator test_projection_expression_path (quoted)'],
    [P('a, a.b[2].c'), overlap('[a]', '[a, b, [2], c]'), 'Alternator test_projection_expression_path_overlap'],
    [P('a.b.d.e, a.b'), overlap('[a, b, d, e]', '[a, b]'), 'Alternator'],
    [P('a.b, a[1]'), conflict('[a, b]', '[a, [1]]'), 'Alternator test_projection_expression_path_conflict (quoted)'],
    [P('a.b.c, a.b[1]'), conflict('[a, b, c]', '[a, b, [1]]'), 'Alternator'],
    [{ ProjectionExpression: 'a', ExpressionAttributeValues: { ':v': N('1') } }, 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}', 'dyn validateExpressions'],
  ];
  for (const [request, message, source] of cases) t.equal(messageOf(request), message, `${request.ProjectionExpression} (${source})`);
  for (const valid of ['a, b', 'a.b, a.c', 'a.b.d, a.b.e', 'a[1], a[2]', 'a.b, a.c[2]', ' a  ,   b  ']) {
    t.equal(messageOf(P(valid)), undefined, `${valid} is valid (Alternator)`);
  }
});

t.test('projected copies (Alternator test_projection_expression_path)', async (t) => {
  const item: AttributeMap = { p: S('k'), a: M({ b: L(N('2'), N('4'), M({ x: S('hi'), y: S('yo') })), c: N('5') }), b: S('hello') };
  const cases: Array<[string, AttributeMap]> = [
    ['a', { a: item.a! }],
    ['a.b', { a: M({ b: L(N('2'), N('4'), M({ x: S('hi'), y: S('yo') })) }) }],
    ['a.b[0]', { a: M({ b: L(N('2')) }) }],
    ['a.b[2]', { a: M({ b: L(M({ x: S('hi'), y: S('yo') })) }) }],
    ['a.b[2].y', { a: M({ b: L(M({ y: S('yo') })) }) }],
    ['x', {}],
    ['a.b[3]', {}],
    ['a.x', {}],
    ['a.x.y', {}],
    ['a.b[3].x', {}],
    ['a.b.x', {}],
    ['a[0]', {}],
    ['a.b[0].x', {}],
    ['a.b[0][0]', {}],
    ['a.b[0],a.b[1]', { a: M({ b: L(N('2'), N('4')) }) }],
    ['a.b[2],a.b[0]', { a: M({ b: L(N('2'), M({ x: S('hi'), y: S('yo') })) }) }],
    ['a.b[0],a.c', { a: M({ b: L(N('2')), c: N('5') }) }],
    ['a.c,b', { a: M({ c: N('5') }), b: S('hello') }],
    ['a.x, a.b[0], x, a.b[3].x', { a: M({ b: L(N('2')) }) }],
    ['p, b', { p: S('k'), b: S('hello') }],
  ];
  for (const [expression, expected] of cases) t.same(project(item, expression), expected, expression);
});

t.test('names in projections (Alternator test_projection_expression_path_references, _path_dot)', async (t) => {
  const item: AttributeMap = { 'a.b': S('hi'), a: M({ b: S('yo'), c: S('jo') }) };
  t.same(project(item, 'a.b'), { a: M({ b: S('yo') }) });
  t.same(project(item, '#n1.#n2', { '#n1': 'a', '#n2': 'b' }), { a: M({ b: S('yo') }) });
  t.same(project(item, '#name', { '#name': 'a.b' }), { 'a.b': S('hi') });
});

t.test('a projection copies: changing it leaves the item alone', async (t) => {
  const item: AttributeMap = { a: M({ b: L(N('1')) }) };
  const projected = project(item, 'a');
  (projected.a as { M: AttributeMap }).M.b = N('2');
  t.same(item, { a: M({ b: L(N('1')) }) });
});
