/**
 * ConditionExpression and FilterExpression: the grammar, DynamoDB's
 * validation messages (each with its source) and the pure evaluator.
 * Sources: "Alternator" = ScyllaDB's test/alternator/*.py, recorded against
 * DynamoDB; "dyn" = dynalite's parsers and validations/index.js, whose suite
 * runs against DynamoDB; "moto" = moto's tests recorded against DynamoDB;
 * "ref" = /work/shared/dynamodb-reference.md.
 */
import t from 'tap';
import type { AttributeMap, AttributeValue } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { evaluateCondition } from '../lib/tables/expression/condition-evaluator.js';
import { IN_OPERANDS_MAX } from '../lib/tables/expression/condition-parser.js';
import { conditionAttributeNames, prepareExpressions, type ExpressionRequest } from '../lib/tables/expression/expressions.js';

const N = (N: string): AttributeValue => ({ N });
const S = (S: string): AttributeValue => ({ S });
const B = (...bytes: number[]): AttributeValue => ({ B: Uint8Array.from(bytes) });

/** The ValidationException message a request's expressions give, or undefined when they are valid. */
function messageOf(request: ExpressionRequest): string | undefined {
  try {
    prepareExpressions(request);
    return undefined;
  } catch (error) {
    if (!(error instanceof DynamoDbError)) throw error;
    if (error.name !== 'ValidationException') throw new Error(`unexpected ${error.name}`);
    return error.message;
  }
}

function holds(
  expression: string,
  item: AttributeMap | undefined,
  values?: Record<string, AttributeValue>,
  names?: Record<string, string>,
): boolean {
  const prepared = prepareExpressions({ ConditionExpression: expression, ExpressionAttributeValues: values, ExpressionAttributeNames: names });
  return evaluateCondition(prepared.condition!, item, prepared.attributes);
}

// ------------------------------------------------------------------ errors

interface ErrorCase {
  request: ExpressionRequest;
  message: string;
  source: string;
}

const C = (ConditionExpression: string, ExpressionAttributeValues?: Record<string, AttributeValue>, ExpressionAttributeNames?: Record<string, string>): ExpressionRequest => ({
  ConditionExpression,
  ExpressionAttributeValues,
  ExpressionAttributeNames,
});

const errorCases: ErrorCase[] = [
  // Syntax errors: token and near (tokenizer.ts `syntaxErrorText`).
  { request: C('foo'), message: 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "foo"', source: 'DynamoDB as recorded in a public suite: token "<EOF>", near "foo"' },
  { request: C('book-price'), message: 'Invalid ConditionExpression: Syntax error; token: "-", near: "book-price"', source: 'ref §17 #32' },
  { request: C('attribute_not_exists('), message: 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "("', source: 'DynamoDB as recorded by a TransactWriteItems suite' },
  { request: { FilterExpression: 'NOT (#a)', ExpressionAttributeNames: { '#a': 'a' } }, message: 'Invalid FilterExpression: Syntax error; token: "<EOF>", near: ")"', source: 'DynamoDB as quoted for a bare boolean attribute' },
  { request: C('a = 3'), message: 'Invalid ConditionExpression: Syntax error; token: "3", near: "= 3"', source: 'no literals in expressions (DG); near rule' },
  { request: C('a = :v)', { ':v': N('1') }), message: 'Invalid ConditionExpression: Syntax error; token: ")", near: ":v)"', source: 'near rule' },
  { request: C('a = = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Syntax error; token: "=", near: "= = :v"', source: 'near rule' },
  { request: C('a = :v AND', { ':v': N('1') }), message: 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"', source: 'near rule' },
  { request: C('a IN ()'), message: 'Invalid ConditionExpression: Syntax error; token: ")", near: "()"', source: 'IN needs one operand at least (DG grammar)' },
  { request: C('a[x] = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Syntax error; token: "x", near: "[x]"', source: 'list index is digits (Alternator test_update_expression.py)' },
  { request: C('_a = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Syntax error; token: "_", near: "_a"', source: 'names start with a letter (Alternator)' },
  { request: C('a = :v', { ':v': N('1') }, {}), message: 'ExpressionAttributeNames must not be empty', source: 'dyn validations/index.js' },
  { request: C('a = :v', {}), message: 'ExpressionAttributeValues must not be empty', source: 'dyn validations/index.js' },
  { request: C('a = :v', { ':v': N('1') }, { a: 'x' }), message: 'ExpressionAttributeNames contains invalid key: Syntax error; key: "a"', source: 'dyn validations/index.js' },
  { request: C('a = :v', { v: N('1') }), message: 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"', source: 'dyn validations/index.js' },
  { request: C(''), message: 'Invalid ConditionExpression: The expression can not be empty;', source: 'dyn validations/index.js `parse`' },
  { request: C('a = :v AND '.repeat(400) + 'a = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4406', source: 'DG ServiceQuotas 4 KB; PynamoDB issue 979 quoting DynamoDB' },
  { request: { FilterExpression: `a = :${'v'.repeat(4092)}` }, message: 'Invalid FilterExpression: Expression size has exceeded the maximum allowed size; expression size: 4097', source: '4096 bytes pass, 4097 fail (dynoxide issue 146 capture)' },
  { request: { ProjectionExpression: 'é'.repeat(2049) }, message: 'Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size;', source: 'bytes, not characters; no size suffix for projections' },
  // Grammar errors, in dynalite's order: parentheses, function name, misuse, reserved word.
  { request: C('name = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name', source: 'dyn conditionParser.pegjs `checkReserved`' },
  { request: C('a.Status = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Status', source: 'reserved words apply to nested names too' },
  { request: C('((a = :v))', { ':v': N('1') }), message: 'Invalid ConditionExpression: The expression has redundant parentheses;', source: 'dyn `redundantParensError`; DynamoDB (dynongo issue 35)' },
  { request: C('((a)) = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: The expression has redundant parentheses;', source: 'dyn `OperandParens`' },
  { request: C('dog(a) = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Invalid function name; function: dog', source: 'dyn `checkFunction`; Alternator test_update_condition_other_funcs' },
  { request: C('BEGINS_WITH(a, :v)', { ':v': S('x') }), message: 'Invalid ConditionExpression: Invalid function name; function: BEGINS_WITH', source: 'function names are case-sensitive (DG)' },
  { request: C('if_not_exists(a, b) = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: if_not_exists', source: 'Alternator test_update_condition_other_funcs ("not allowed")' },
  { request: C('list_append(a, b) = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: list_append', source: 'Alternator test_update_condition_other_funcs' },
  { request: C('size(a)'), message: 'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size', source: 'dyn `checkMisusedSize`; Alternator test_update_condition_size_alone' },
  { request: C('attribute_exists(a) < :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists', source: 'Alternator test_update_condition_attribute_exists_in_comparison' },
  { request: C('begins_with(contains(a, :v), :v)', { ':v': S('x') }), message: 'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: contains', source: 'dyn `checkMisusedFunction` on arguments' },
  // Placeholders, operand counts, distinct operands, operand types.
  { request: C('#n = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #n', source: 'dyn `resolveAttrName`' },
  { request: C('a = :v'), message: 'Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :v', source: 'dyn `resolveAttrVal`' },
  { request: C('begins_with(a)'), message: 'Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1', source: 'dyn `checkFunction`; brief' },
  { request: C('size(a, b) = :v', { ':v': N('1') }), message: 'Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: size, number of operands: 2', source: 'Alternator test_update_condition_size ("ValidationException.*2")' },
  { request: C('attribute_exists(a, b)'), message: 'Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2', source: 'dyn `checkFunction`' },
  { request: C('a = a'), message: 'Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]', source: 'dyn `checkDistinct`' },
  { request: C('contains(a, a)'), message: 'Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a]', source: 'Alternator test_update_condition_contains' },
  { request: C('#x.b[1] < a.b[1]', undefined, { '#x': 'a' }), message: 'Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: <, first operand: [a, b, [1]]', source: 'dyn `checkDistinct`, `pathStr`' },
  { request: C('begins_with(a, :n)', { ':n': N('1') }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N', source: 'ref §17 #38' },
  { request: C('attribute_exists(:v)', { ':v': S('x') }), message: 'Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists', source: 'ref §17 #39' },
  { request: C('attribute_not_exists(size(a))'), message: 'Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_not_exists', source: 'dyn `checkFunction`' },
  { request: C('attribute_type(a, :t)', { ':t': S('X') }), message: 'Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}', source: 'dyn `checkFunction`' },
  { request: C('attribute_type(a, :t)', { ':t': N('1') }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N', source: 'dyn `checkFunction`' },
  { request: C('attribute_type(a, b)'), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}', source: 'dyn `checkFunction`' },
  { request: C('size(:n) > :m', { ':n': N('1'), ':m': N('1') }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N', source: 'Alternator issue 14592 (DynamoDB message quoted)' },
  { request: C('size(size(a)) > :m', { ':m': N('1') }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N', source: 'Alternator issue 14592' },
  { request: C('a BETWEEN :h AND :l', { ':h': N('5'), ':l': N('1') }), message: 'Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}', source: 'ref §17 #43' },
  { request: C('a BETWEEN :s AND :n', { ':s': S('a'), ':n': N('1') }), message: 'Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {S:a}, upper bound operand: AttributeValue: {N:1}', source: 'dyn `checkBetweenArgs`' },
  { request: C('a >= :v', { ':v': { L: [N('1')] } }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: >=, operand type: L', source: 'Alternator test_update_condition_ge: a list value is a ValidationException (wording unconfirmed)' },
  { request: C(':v < a', { ':v': { SS: ['x'] } }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: SS', source: 'as above, value on the left' },
  { request: C('a BETWEEN :l AND :h', { ':l': { L: [N('1')] }, ':h': { L: [N('2')] } }), message: 'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: L', source: 'Alternator test_update_condition_between (wording unconfirmed)' },
  // Unused placeholders, after every expression is valid: names before values.
  { request: C('a = :v', { ':v': N('1'), ':x': N('2') }), message: 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}', source: 'ref §17 #30; brief' },
  { request: C('a = :v', { ':v': N('1'), ':x': N('2') }, { '#a': 'a', '#b': 'b' }), message: 'Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}', source: 'dyn `validateExpressions` (names first)' },
  // Priorities between categories (dyn `checkErrors`, `checkConditionErrors`).
  { request: C('name = = :v'), message: 'Invalid ConditionExpression: Syntax error; token: "=", near: "= = :v"', source: 'syntax first' },
  { request: C('name = :missing'), message: 'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name', source: 'reserved before placeholders' },
  { request: C('begins_with(a) AND b = :missing'), message: 'Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing', source: 'placeholders before operand counts' },
  { request: C('((a = :v)) AND dog(b)', { ':v': N('1') }), message: 'Invalid ConditionExpression: The expression has redundant parentheses;', source: 'parentheses before function names' },
];

t.test('condition errors: DynamoDB messages', async (t) => {
  for (const { request, message, source } of errorCases) {
    t.equal(messageOf(request), message, `${JSON.stringify((request.ConditionExpression ?? request.FilterExpression ?? request.ProjectionExpression ?? '').slice(0, 60))} (${source})`);
  }
});

t.test('IN takes at most 100 operands (DG: ServiceQuotas)', async (t) => {
  const values: Record<string, AttributeValue> = {};
  const refs: string[] = [];
  for (let index = 0; index <= IN_OPERANDS_MAX; index++) {
    values[`:v${index}`] = N(String(index));
    refs.push(`:v${index}`);
  }
  t.equal(messageOf(C(`a IN (${refs.slice(0, IN_OPERANDS_MAX).join(', ')})`, Object.fromEntries(Object.entries(values).slice(0, IN_OPERANDS_MAX)))), undefined, '100 operands');
  t.equal(
    messageOf(C(`a IN (${refs.join(', ')})`, values)),
    'Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101',
    '101 operands (wording: reapit/foundations issue 8255, a DynamoDB log)',
  );
});

t.test('at most 300 operators and functions; AND, OR, NOT do not count (ScyllaDB issue 14473 quoting DynamoDB)', async (t) => {
  const v = { ':v': N('1') };
  t.equal(messageOf(C(Array.from({ length: 300 }, () => 'a = :v').join(' AND '), v)), undefined, '300 comparisons joined by 299 ANDs');
  t.equal(
    messageOf(C(Array.from({ length: 301 }, () => 'a = :v').join(' AND '), v)),
    'Invalid ConditionExpression: The expression contains too many operators; operator count: 301',
  );
  t.equal(
    messageOf(C(Array.from({ length: 151 }, () => 'size(a) = :v').join(' OR '), v)),
    'Invalid ConditionExpression: The expression contains too many operators; operator count: 302',
    'functions count',
  );
});

t.test('valid forms parse: keywords in any case, spaces, placeholders of any [0-9a-zA-Z_]', async (t) => {
  const valid: ExpressionRequest[] = [
    C('a < b aNd b < c'),
    C('a < b oR b < c'),
    C('nOt a < b'),
    C('NOT NOT NOT NOT a < b'),
    C('a bEtWeEn :x AnD :y', { ':x': N('1'), ':y': N('2') }),
    C('a in (:x, :y)', { ':x': N('1'), ':y': N('2') }),
    C('  a=:x  ', { ':x': N('1') }),
    C('#123 = :_', { ':_': N('1') }, { '#123': 'x' }),
    C('(size(a)) > :n', { ':n': N('1') }),
    C('(a) = :v', { ':v': N('1') }),
    C('(a = :v)', { ':v': N('1') }),
    C('attribute_exists (b.x)'),
    C('a.b[3].c = :v', { ':v': N('1') }),
    C('size(:s) = :n', { ':s': S('abc'), ':n': N('3') }),
    C('#name1.#name2 = :two', { ':two': N('2') }, { '#name1': 'and', '#name2': 'or' }),
    C('a = :l', { ':l': { L: [N('1')] } }),
    C('a IN (:x, :y)', { ':x': S('dog'), ':y': N('174') }),
    C('attribute_type(:v, :t)', { ':v': N('0'), ':t': S('N') }),
  ];
  for (const request of valid) t.equal(messageOf(request), undefined, request.ConditionExpression!);
});

// ------------------------------------------------------------------ evaluation

t.test('precedence: NOT over AND over OR; parentheses group', async (t) => {
  const item = { a: N('1'), b: N('2'), c: N('3') };
  const one = { ':one': N('1') };
  t.ok(holds('a = :one OR b = :one AND c = :one', item, one), 'AND binds tighter: a=1 OR (false AND false)');
  t.notOk(holds('(a = :one OR b = :one) AND c = :one', item, one), 'parentheses override');
  t.notOk(holds('NOT a = :one AND b = :one', item, one), '(NOT a=1) AND b=1');
  t.ok(holds('NOT b = :one OR a = :one', item, one));
  t.ok(holds('NOT NOT NOT NOT a < b', item), 'Alternator test_update_condition_not');
  t.notOk(holds('NOT a < b', item));
  t.ok(holds('(a < b OR b < a) AND (b < c AND (a < b OR b < c))', item), 'Alternator test_update_condition_parentheses');
  const complex = '(((a=:a) AND b=:b) OR a=:c oR a=:c) or NoT a<:c';
  t.ok(holds(complex, item, { ':a': N('1'), ':b': N('2'), ':c': N('9') }), 'Alternator test_filter_expression_complex');
  t.notOk(holds(complex, item, { ':a': N('0'), ':b': N('2'), ':c': N('9') }));
  t.ok(holds('a < b AND b < c OR c < a AND b < a', item));
  t.ok(holds('a < b OR c < b AND b < c', item), 'Alternator test_update_condition_and_before_or');
  t.notOk(holds('NOT a < b AND c < b', item), 'Alternator test_update_condition_not_before_and');
  t.ok(holds('b BETWEEN a AND c AND a < b', item), 'Alternator test_update_condition_between_before_and');
  const all = { ':x': N('1'), ':y': N('5'), ':d': N('3') };
  const range = (expression: string): Record<string, AttributeValue> =>
    Object.fromEntries(Object.entries(all).filter(([ref]) => expression.includes(ref)));
  t.ok(holds('a BETWEEN :x AND :y AND c = :d', item, range('a BETWEEN :x AND :y AND c = :d')), "BETWEEN's AND is its own; the next AND joins");
  t.ok(holds('NOT a BETWEEN :d AND :y OR c = :d', item, range('NOT a BETWEEN :d AND :y OR c = :d')), '(NOT (a BETWEEN)) OR c = 3');
  t.notOk(holds('c = :d AND a BETWEEN :y AND :y OR a IN (:d, :y)', item, range('c = :d AND a BETWEEN :y AND :y OR a IN (:d, :y)')), '(c=3 AND false) OR a IN (3, 5)');
  t.ok(holds('a between :x and :y and not c <> :d', item, range('a between :x and :y and not c <> :d')), 'lower-case keywords');
  t.notOk(holds('c < a AND b < a OR a > b', item));
});

t.test('comparators on each orderable type', async (t) => {
  const cases: Array<[string, AttributeValue, AttributeValue, boolean]> = [
    ['a < :v', N('9'), N('10'), true], // numerically, not as strings
    ['a = :v', N('0.1'), N('0.10'), true],
    ['a = :v', N('-0'), N('0'), true],
    ['a > :v', N('12345678901234567890123456789012345678'), N('12345678901234567890123456789012345677'), true],
    ['a < :v', N('-1E+125'), N('1E-130'), true],
    ['a >= :v', N('5'), N('5'), true],
    ['a <= :v', N('5.0001'), N('5'), false],
    ['a > :v', S('\u{10000}'), S('\uFFFF'), true], // UTF-8 order: U+10000 after U+FFFF (JS order says before)
    ['a < :v', S('Z'), S('a'), true],
    ['a < :v', S('ab'), S('abc'), true],
    ['a > :v', B(0x80), B(0x7f), true], // unsigned bytes
    ['a < :v', B(1, 2), B(1, 2, 0), true],
    ['a = :v', B(1, 2), B(1, 2), true],
    ['a <> :v', S('x'), S('y'), true],
    ['a < :v', S('1'), N('2'), false], // different types: false, not an error
    ['a > :v', S('1'), N('0'), false],
    ['a = :v', S('1'), N('1'), false],
    ['a <> :v', S('1'), N('1'), true],
    ['a < :v', { BOOL: false }, N('1'), false], // a BOOL read from the item is not ordered: false
    ['a = :v', { BOOL: true }, { BOOL: true }, true],
    ['a = :v', { NULL: true }, { NULL: true }, true],
    ['a = :v', { SS: ['x', 'y'] }, { SS: ['y', 'x'] }, true], // sets ignore order
    ['a = :v', { NS: ['1', '2.0'] }, { NS: ['2', '1'] }, true],
    ['a = :v', { SS: ['x'] }, { SS: ['x', 'y'] }, false],
    ['a = :v', { L: [N('1'), S('x')] }, { L: [N('1.0'), S('x')] }, true],
    ['a = :v', { L: [N('1'), S('x')] }, { L: [S('x'), N('1')] }, false], // lists keep order
    ['a = :v', { M: { x: N('1'), y: { L: [] } } }, { M: { y: { L: [] }, x: N('1') } }, true],
    ['a = :v', { M: { x: N('1') } }, { M: { x: N('1'), y: N('2') } }, false],
    ['a = :v', { BS: [Uint8Array.of(1), Uint8Array.of(2)] }, { BS: [Uint8Array.of(2), Uint8Array.of(1)] }, true],
  ];
  for (const [expression, a, v, expected] of cases) {
    t.equal(holds(expression, { a }, { ':v': v }), expected, `${JSON.stringify(a)} ${expression} ${JSON.stringify(v)}`);
  }
});

t.test('placeholders count as used when parsed, not when evaluated (Alternator test_update_condition_unused_entries_short_circuit)', async (t) => {
  const prepared = prepareExpressions({
    ConditionExpression: '#name1 = :val1 OR #name2 = :val2',
    UpdateExpression: 'SET #name1 = :val3',
    ExpressionAttributeValues: { ':val1': N('1'), ':val2': N('2'), ':val3': N('3') },
    ExpressionAttributeNames: { '#name1': 'a', '#name2': 'b' },
  });
  t.ok(evaluateCondition(prepared.condition!, { a: N('1') }, prepared.attributes));
});

t.test('missing attributes: comparisons false, <> true', async (t) => {
  t.ok(holds('p <> :p', undefined, { ':p': S('k') }), 'the create-unless-exists idiom (Alternator test_update_item_condition_key_ne)');
  t.notOk(holds('p <> :p', { p: S('k') }, { ':p': S('k') }));
  t.ok(holds('attribute_not_exists(p)', undefined));
  const v = { ':v': N('1') };
  t.notOk(holds('a = :v', {}, v));
  t.ok(holds('a <> :v', {}, v), 'a <> :v holds when a is missing (Alternator test_filter_expression_r_neq)');
  t.notOk(holds('a < :v', {}, v));
  t.notOk(holds('a >= :v', undefined, v), 'no item at all');
  t.notOk(holds('b.z < b.y[100]', { b: { M: { y: { L: [N('1')] } } } }), 'Alternator test_update_condition_nested_attributes');
  t.notOk(holds('a BETWEEN :v AND :w', {}, { ':v': N('1'), ':w': N('2') }));
  t.notOk(holds('a IN (:v)', {}, v));
});

t.test('BETWEEN and IN', async (t) => {
  const bounds = { ':lo': N('1'), ':hi': N('10') };
  t.ok(holds('a BETWEEN :lo AND :hi', { a: N('1') }, bounds), 'inclusive lower');
  t.ok(holds('a BETWEEN :lo AND :hi', { a: N('10') }, bounds), 'inclusive upper');
  t.ok(holds('a BETWEEN :lo AND :hi', { a: N('9.99') }, bounds));
  t.notOk(holds('a BETWEEN :lo AND :hi', { a: N('10.01') }, bounds));
  t.notOk(holds('a BETWEEN :lo AND :hi', { a: S('5') }, bounds), 'type mismatch');
  t.ok(holds('a BETWEEN :lo AND :hi', { a: S('b') }, { ':lo': S('a'), ':hi': S('c') }));
  t.notOk(holds('a BETWEEN b AND c', { a: N('5'), b: N('6'), c: N('4') }), 'bounds out of order at run time: false');
  t.notOk(holds('a BETWEEN x AND y', { a: N('1'), x: { L: [] }, y: { L: [] } }), 'list bounds from the item: false, not an error');
  t.notOk(holds('x >= :v', { x: { L: [N('1')] } }, { ':v': N('1') }), 'a list read from the item: false');
  t.ok(holds('attribute_type(:v, :t)', {}, { ':v': N('0'), ':t': S('N') }), 'attribute_type of a value (Alternator test_update_condition_attribute_type)');
  const list = { ':x': S('x'), ':n': N('2') };
  t.ok(holds('a IN (:x, :n)', { a: N('2.0') }, list));
  t.ok(holds('a IN (:x, :n)', { a: S('x') }, list));
  t.notOk(holds('a IN (:x, :n)', { a: S('2') }, list));
  t.ok(holds('a IN (b, c)', { a: N('3'), b: N('4'), c: N('3') }), 'IN operands may be paths');
});

t.test('functions', async (t) => {
  const item: AttributeMap = {
    s: S('hello world'),
    n: N('5'),
    b: B(1, 2, 3),
    ss: { SS: ['dog', 'cat'] },
    ns: { NS: ['1', '20'] },
    bs: { BS: [Uint8Array.of(9)] },
    l: { L: [N('1'), S('dog'), { M: { k: S('v') } }] },
    m: { M: { x: N('2'), y: { M: { m: N('3'), n: N('4') } } } },
    t: { BOOL: true },
    z: { NULL: true },
    u: S('é𝄞'),
  };
  const cases: Array<[string, Record<string, AttributeValue> | undefined, boolean, string]> = [
    ['attribute_exists(s)', undefined, true, ''],
    ['attribute_exists(q)', undefined, false, ''],
    ['attribute_not_exists(q)', undefined, true, ''],
    ['attribute_exists(m.y.n)', undefined, true, 'nested'],
    ['attribute_exists(l[2].k)', undefined, true, 'list index then map'],
    ['attribute_exists(l[3])', undefined, false, 'index past the end'],
    ['attribute_exists(s.x)', undefined, false, 'a step into a scalar'],
    ['attribute_exists(m[0])', undefined, false, 'an index into a map'],
    ['attribute_type(s, :t)', { ':t': S('S') }, true, ''],
    ['attribute_type(n, :t)', { ':t': S('S') }, false, ''],
    ['attribute_type(ns, :t)', { ':t': S('NS') }, true, ''],
    ['attribute_type(z, :t)', { ':t': S('NULL') }, true, ''],
    ['attribute_type(q, :t)', { ':t': S('NULL') }, false, 'missing attribute'],
    ['begins_with(s, :p)', { ':p': S('hello') }, true, ''],
    ['begins_with(s, :p)', { ':p': S('world') }, false, ''],
    ['begins_with(b, :p)', { ':p': B(1, 2) }, true, 'binary prefix'],
    ['begins_with(b, :p)', { ':p': B(2) }, false, ''],
    ['begins_with(s, :p)', { ':p': B(1) }, false, 'S against B'],
    ['begins_with(n, :p)', { ':p': S('5') }, false, 'N attribute: false'],
    ['contains(s, :p)', { ':p': S('o w') }, true, 'substring'],
    ['contains(ss, :p)', { ':p': S('cat') }, true, 'set member'],
    ['contains(ss, :p)', { ':p': S('ca') }, false, 'not a substring of set members'],
    ['contains(ns, :p)', { ':p': N('20.0') }, true, 'numeric member'],
    ['contains(bs, :p)', { ':p': B(9) }, true, ''],
    ['contains(l, :p)', { ':p': S('dog') }, true, 'list element'],
    ['contains(l, :p)', { ':p': { M: { k: S('v') } } }, true, 'list element that is a map'],
    ['contains(n, :p)', { ':p': N('5') }, false, 'N has no contains'],
    ['contains(b, :p)', { ':p': B(2, 3) }, true, 'binary substring (Alternator test_filter_expression_bytes_contains)'],
    ['contains(b, :p)', { ':p': B(3, 2) }, false, ''],
    ['contains(m, :p)', { ':p': S('x') }, false, 'not a map key (Alternator test_filter_expression_map_contains)'],
    ['contains(m, :p)', { ':p': N('2') }, false, 'not a map value'],
    ['contains(t, :p)', { ':p': { BOOL: true } }, false, 'not an equality (Alternator test_filter_expression_bool_contains)'],
    ['contains(ns, :p)', { ':p': { NS: ['1', '20'] } }, false, 'a set is not its own member (Alternator test_filter_expression_set_contains)'],
    ['contains(ss, :p)', { ':p': N('1') }, false, 'wrong element type'],
    ['size(s) = :n', { ':n': N('11') }, true, 'S length'],
    ['size(u) = :n', { ':n': N('3') }, true, 'UTF-16 code units (ExtendDB PR 67, checked against DynamoDB)'],
    ['size(b) = :n', { ':n': N('3') }, true, 'B bytes'],
    ['size(ss) = :n', { ':n': N('2') }, true, 'set count'],
    ['size(l) = :n', { ':n': N('3') }, true, 'list length'],
    ['size(m) = :n', { ':n': N('2') }, true, 'map entries (Alternator test_update_condition_size)'],
    ['size(n) = :n', { ':n': N('1') }, false, 'N has no size: false, not an error'],
    ['size(t) = :n', { ':n': N('1') }, false, 'BOOL'],
    ['size(z) = :n', { ':n': N('1') }, false, 'NULL'],
    ['size(s) = :n', { ':n': S('dog') }, false, 'compared with a non-number'],
    ['size(m) = m.x', undefined, true, 'compared with an attribute'],
    ['size(s) > :n', { ':n': N('2') }, true, ''],
    ['size(q) >= :n', { ':n': N('0') }, false, 'missing'],
  ];
  for (const [expression, values, expected, note] of cases) {
    t.equal(holds(expression, item, values), expected, `${expression} ${note}`);
  }
});

t.test('names: placeholders for reserved words and any characters', async (t) => {
  t.ok(holds('attribute_exists(#name)', { and: N('1') }, undefined, { '#name': 'and' }), 'Alternator test_update_condition_attribute_reference');
  t.ok(holds('#a = :v', { 'a.b': N('1') }, { ':v': N('1') }, { '#a': 'a.b' }), 'a dot in a name is literal');
  t.notOk(holds('#a = :v', { a: { M: { b: N('1') } } }, { ':v': N('1') }, { '#a': 'a.b' }));
  t.ok(holds('#a.#b = :v', { a: { M: { b: N('1') } } }, { ':v': N('1') }, { '#a': 'a', '#b': 'b' }));
  t.notOk(holds('toString = :v', {}, { ':v': N('1') }), 'no prototype lookups');
});

t.test('conditionAttributeNames lists the top-level names read (Query filter check)', async (t) => {
  const prepared = prepareExpressions({
    FilterExpression: '#p = :v OR size(a.b) > :v AND begins_with(c[1], :s) OR d IN (e, :v)',
    ExpressionAttributeNames: { '#p': 'pk' },
    ExpressionAttributeValues: { ':v': N('1'), ':s': S('x') },
  });
  t.same(conditionAttributeNames(prepared.filter!, prepared.attributes).sort(), ['a', 'c', 'd', 'e', 'pk']);
});
