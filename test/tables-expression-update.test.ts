/**
 * UpdateExpression: grammar, DynamoDB's validation messages (each with its
 * source) and the pure application to an item. Sources as in
 * tables-expression-condition.test.ts; "Alternator" here is
 * test/alternator/test_update_expression.py unless named otherwise.
 */
import t from 'tap';
import type { AttributeMap, AttributeValue } from '../lib/tables/attribute-value.js';
import { DynamoDbError } from '../lib/tables/dynamodb-error.js';
import { prepareExpressions, type ExpressionRequest } from '../lib/tables/expression/expressions.js';
import {
  applyUpdate,
  INCORRECT_DATA_TYPE_MESSAGE,
  INVALID_PATH_MESSAGE,
  MISSING_ATTRIBUTE_MESSAGE,
  topLevelNames,
} from '../lib/tables/expression/update-evaluator.js';

const N = (N: string): AttributeValue => ({ N });
const S = (S: string): AttributeValue => ({ S });
const L = (...L: AttributeValue[]): AttributeValue => ({ L });

function messageOf(request: ExpressionRequest): string | undefined {
  try {
    prepareExpressions(request);
    return undefined;
  } catch (error) {
    if (!(error instanceof DynamoDbError) || error.name !== 'ValidationException') throw error;
    return error.message;
  }
}

const U = (UpdateExpression: string, ExpressionAttributeValues?: Record<string, AttributeValue>, ExpressionAttributeNames?: Record<string, string>): ExpressionRequest => ({
  UpdateExpression,
  ExpressionAttributeValues,
  ExpressionAttributeNames,
});

/** Applies an update to an item (undefined: no item) and returns the new item. */
function update(
  expression: string,
  item: AttributeMap | undefined,
  values?: Record<string, AttributeValue>,
  names?: Record<string, string>,
): AttributeMap {
  const prepared = prepareExpressions(U(expression, values, names));
  return applyUpdate(prepared.update!.actions, item, prepared.attributes).item;
}

function runtimeMessage(expression: string, item: AttributeMap | undefined, values?: Record<string, AttributeValue>): string | undefined {
  try {
    update(expression, item, values);
    return undefined;
  } catch (error) {
    if (!(error instanceof DynamoDbError) || error.name !== 'ValidationException') throw error;
    return error.message;
  }
}

const one = { ':v': N('1') };

const errorCases: Array<[ExpressionRequest, string, string]> = [
  [U('SET _123 = :v', one), 'Invalid UpdateExpression: Syntax error; token: "_", near: "SET _123"', 'Alternator test_update_expression_name_token (DynamoDB message quoted)'],
  [U('SET a = :v, ', one), 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","', 'moto test_dynamodb.py, recorded against DynamoDB'],
  [U('SET MyStr = NoExist + - :v', one), 'Invalid UpdateExpression: Syntax error; token: "-", near: "+ - :v"', "moto's parser test: token \"-\", near \"+ - :_val\""],
  [U('SET book-price = :v', one), 'Invalid UpdateExpression: Syntax error; token: "-", near: "book-price"', 'ref §17 #32'],
  [U('HELLO b = :v', one), 'Invalid UpdateExpression: Syntax error; token: "HELLO", near: "HELLO b"', 'Alternator test_update_expression_non_existent_clause'],
  [U('SET b = :v + :v + :v', one), 'Invalid UpdateExpression: Syntax error; token: "+", near: ":v + :v"', 'Alternator test_update_expression_plus_basic (only two operands)'],
  [U('SET c = if_not_exists(c, :v + :v)', one), 'Invalid UpdateExpression: Syntax error; token: "+", near: ":v + :v"', 'Alternator test_update_expression_function_plus_nesting'],
  [U('SET a[:v] = :v', one), 'Invalid UpdateExpression: Syntax error; token: ":v", near: "[:v]"', 'Alternator test_update_expression_nested_attribute_index_reference'],
  [U('SET :v = :v', one), 'Invalid UpdateExpression: Syntax error; token: ":v", near: "SET :v ="', 'Alternator: a value on the left is a syntax error'],
  [U('SET a = :', one), 'Invalid UpdateExpression: Syntax error; token: ":", near: "= :"', 'Alternator: ":" alone is no token'],
  [U('REMOVE a + :v', one), 'Invalid UpdateExpression: Syntax error; token: "+", near: "a + :v"', "moto's parser test (REMOVE takes no operations)"],
  [U('ADD a b', one), 'Invalid UpdateExpression: Syntax error; token: "b", near: "a b"', 'ADD takes a value'],
  [U(''), 'Invalid UpdateExpression: The expression can not be empty;', 'dyn validations/index.js `parse`; Alternator test_update_expression_empty'],
  [U('SET a = :v SET b = :v', one), 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;', 'ref §17 #44; Alternator test_update_expression_multi'],
  [U('SET a = :v REMOVE c SET b = :v', one), 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;', 'Alternator test_update_expression_multi (interleaved)'],
  [U('REMOVE a REMOVE b'), 'Invalid UpdateExpression: The "REMOVE" section can only be used once in an update expression;', 'moto, recorded against DynamoDB'],
  [U('SET status = :v', one), 'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status', 'dyn updateParser.pegjs `checkReserved`'],
  [U('SET a = f(b, c, d)'), 'Invalid UpdateExpression: Invalid function name; function: f', 'Alternator test_update_expression_unknown_function'],
  [U('SET a = LIST_APPEND(:v, :v)', one), 'Invalid UpdateExpression: Invalid function name; function: LIST_APPEND', 'Alternator: function names are case-sensitive'],
  [U('SET #n = :v', one), 'Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #n', 'dyn `resolveAttrName`; Alternator test_update_expression_set_missing_name'],
  [U('SET b = :val1', { ':val2': N('4') }), 'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :val1', 'Alternator test_update_expression_set_missing_value'],
  [U('SET a = :v REMOVE a', one), 'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]', 'Alternator test_update_expression_multi_overlap (DynamoDB message quoted)'],
  [U('SET #a1 = :v, #a2 = :v', one, { '#a1': 'a', '#a2': 'a' }), 'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]', 'Alternator: compared after names resolve'],
  [U('SET a[1][1] = :v, a[1] = :v', one), 'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1], [1]], path two: [a, [1]]', 'Alternator test_update_expression_multi_overlap_nested'],
  [U('SET a.b = :v, a[1] = :v', one), 'Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]', 'Alternator test_update_expression_multi_conflict_nested'],
  [U('SET a.b.c = :v, a.b[2] = :v', one), 'Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b, c], path two: [a, b, [2]]', 'Alternator test_update_expression_multi_conflict_nested'],
  [U('ADD a :v', { ':v': S('hello') }), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING', 'ref §17 #46; Alternator test_update_expression_add_numbers'],
  [U('ADD a :v', { ':v': L() }), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: LIST', 'dyn `checkOperator`'],
  [U('DELETE a :v', { ':v': S('hello') }), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: STRING', 'Alternator test_update_expression_delete_sets'],
  [U('DELETE a :v', one), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER', 'dyn `checkOperator`: DELETE takes sets only'],
  [U('SET a = :s + :v', { ':s': S('dog'), ':v': N('3') }), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S', 'Alternator test_update_expression_plus_basic (DynamoDB message quoted)'],
  [U('SET a = list_append(:v)', { ':v': L(S('a')) }), 'Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1', 'Alternator test_update_expression_list_append_basic (quoted)'],
  [U('SET a = list_append(:l, :s)', { ':l': L(N('4')), ':s': S('hi') }), 'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S', 'Alternator test_update_expression_list_append_basic (quoted)'],
  [U('SET b = if_not_exists(:v, :v)', one), 'Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists', 'Alternator test_update_expression_if_not_exists (quoted)'],
  [U('SET b = if_not_exists(if_not_exists(a, :v), :v)', one), 'Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists', 'Alternator test_update_expression_if_not_exists'],
  [U('SET a = list_append(list_append(:l, :l), :l)', { ':l': L(S('a')) }), 'Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append', 'Alternator test_update_expression_function_nesting (quoted)'],
  [U('SET a = :v', { ':v': N('1'), ':w': N('2') }), 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}', 'Alternator test_update_expression_spurious_value (quoted)'],
  [U('SET #a = :v', one, { '#a': 'hello', '#b': 'hi' }), 'Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}', 'Alternator test_update_expression_spurious_name (quoted)'],
  // Priorities (dyn updateParser.pegjs `checkErrors`).
  [U('SET status = f(:v) SET b = :v', one), 'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status', 'reserved first'],
  [U('SET a = f(:v) SET b = :v', one), 'Invalid UpdateExpression: Invalid function name; function: f', 'function name before section'],
  [U('SET a = :missing, #missing = :v', one), 'Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #missing', 'names before values'],
  [U('SET a = :v, a = :s', { ':v': N('1'), ':s': S('x') }), 'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]', 'overlap before operand types'],
];

t.test('update errors: DynamoDB messages', async (t) => {
  for (const [request, message, source] of errorCases) t.equal(messageOf(request), message, `${request.UpdateExpression} (${source})`);
});

t.test('at most 300 operators and functions in an UpdateExpression (DG: ServiceQuotas)', async (t) => {
  const sets = (count: number): string => `SET ${Array.from({ length: count }, (_, index) => `a${index}=:v+:v`).join(',')}`;
  t.equal(messageOf(U(sets(300), one)), undefined);
  t.equal(messageOf(U(sets(301), one)), 'Invalid UpdateExpression: The expression contains too many operators; operator count: 301');
});

t.test('valid update forms', async (t) => {
  const valid: ExpressionRequest[] = [
    U('set b = :v', one),
    U('sEt b = :v', one),
    U('  set   b=:v  ', one),
    U('SET Alpha_Numeric_123 = :v', one),
    U('SET #123a = :v', one, { '#123a': '3can include any character!.#=' }),
    U('SET a = :123', { ':123': N('1') }),
    U('REMOVE a SET b = :v', one),
    U('SET b = if_not_exists(b, :v)+:v', one),
    U('SET b = (:v + :v)', one),
    U('SET b = (:v)', one),
    U('ADD a :v DELETE b :s', { ':v': N('1'), ':s': { SS: ['x'] } }),
    U('SET a.b = :v, a.c.d = :v, b.x = :v REMOVE a.x, b.y', one),
  ];
  for (const request of valid) t.equal(messageOf(request), undefined, request.UpdateExpression!);
});

t.test('SET: values come from the item before the update', async (t) => {
  const item = { p: S('k'), a: S('hello'), n: N('2') };
  t.same(update('SET b = a', item), { ...item, b: S('hello') }, 'copy');
  t.same(update('REMOVE a SET b = a', item), { p: S('k'), n: N('2'), b: S('hello') }, 'Alternator test_update_expression_multi_with_copy');
  t.same(update('SET #nn = :seven - #n', item, { ':seven': N('7') }, { '#nn': 'nn', '#n': 'n' }).nn, N('5'));
  t.same(update('SET n = n + :v', item, { ':v': N('0.5') }).n, N('2.5'), 'exact decimal');
  t.same(update('SET n = :v - n', item, { ':v': N('0.1') }).n, N('-1.9'));
  t.same(update('SET m = :a + :b', item, { ':a': N('12345678901234567890123456789012345678'), ':b': N('-12345678901234567890123456789012345677') }).m, N('1'));
  t.same(update('SET a = if_not_exists(a, :v)', item, one).a, S('hello'), 'exists: kept');
  t.same(update('SET z = if_not_exists(q, :v)', item, one).z, N('1'), 'missing: the default');
  t.same(update('SET x = :v, y = :v', {}, one), { x: N('1'), y: N('1') });
  t.same(update('SET a = :v', undefined, one), { a: N('1') }, 'no item: a new one');
});

t.test('SET: list_append and nested paths', async (t) => {
  const item = { a: L(S('hi'), N('2')), m: { M: { b: N('3'), c: { M: { x: N('7') } } } } };
  t.same(update('SET a = list_append(a, :v)', item, { ':v': L(N('4')) }).a, L(S('hi'), N('2'), N('4')));
  t.same(update('SET a = list_append(:v, a)', item, { ':v': L(S('dog')) }).a, L(S('dog'), S('hi'), N('2')));
  t.same(update('SET z = m.c.x', item).z, N('7'), 'nested right-hand side');
  t.same(update('SET m.c.y = :v', item, one).m, { M: { b: N('3'), c: { M: { x: N('7'), y: N('1') } } } }, 'a new member');
  t.same(update('SET m.c = :v', item, one).m, { M: { b: N('3'), c: N('1') } }, 'replaced by another type');
  t.same(update('SET a[1] = :v', item, { ':v': S('hello') }).a, L(S('hi'), S('hello')));
  t.same(update('SET a[7] = :v', item, { ':v': S('end') }).a, L(S('hi'), N('2'), S('end')), 'past the end appends');
  t.same(
    update('SET a[84] = :a1, a[37] = :a2, a[17] = :a3, a[50] = :a4', item, { ':a1': S('a1'), ':a2': S('a2'), ':a3': S('a3'), ':a4': S('a4') }).a,
    L(S('hi'), N('2'), S('a3'), S('a2'), S('a4'), S('a1')),
    'appends in index order (Alternator test_nested_attribute_update_array_out_of_bounds)',
  );
  const deep = { a: { M: { b: N('3'), c: L(S('hi'), { M: { x: { M: { y: L(N('3'), N('5'), N('7')) } } } }) } } };
  t.same(
    update('SET a.c[1].#name.y[1] = :v', deep, { ':v': N('9') }, { '#name': 'x' }).a,
    { M: { b: N('3'), c: L(S('hi'), { M: { x: { M: { y: L(N('3'), N('9'), N('7')) } } } }) } },
    'Alternator test_update_expression_nested_deep',
  );
  t.same(update('SET #a = :v', {}, one, { '#a': 'a.b' }), { 'a.b': N('1') }, 'a dot in a name is literal');
});

t.test('REMOVE', async (t) => {
  t.same(update('REMOVE a', { a: S('hello'), b: S('hi') }), { b: S('hi') });
  t.same(update('REMOVE q', { a: S('x') }), { a: S('x') }, 'absent: nothing');
  const nested = { a: { M: { b: N('3'), c: L(S('hi'), { M: { x: { M: { y: L(N('3'), N('5'), N('7')) } }, q: N('2') } }) } } };
  t.same(update('REMOVE a.c[1].x.y[1], a.c[1].q', nested).a, { M: { b: N('3'), c: L(S('hi'), { M: { x: { M: { y: L(N('3'), N('7')) } } } }) } }, 'Alternator test_update_expression_nested_remove');
  t.same(update('REMOVE a[17]', { a: L(N('4'), N('5')) }).a, L(N('4'), N('5')), 'past the end: ignored');
  t.same(update('REMOVE a[1], a[2]', { a: L(N('0'), N('1'), N('2'), N('3')) }).a, L(N('0'), N('3')), 'indexes of the original list (DG example)');
  t.same(update('REMOVE a[2], a[1]', { a: L(N('0'), N('1'), N('2'), N('3')) }).a, L(N('0'), N('3')), 'in any order');
  t.same(
    update('REMOVE a[1] SET a[3] = :v', { a: L(N('2'), N('3'), N('4'), N('5'), N('6'), N('7')) }, { ':v': N('17') }).a,
    L(N('2'), N('4'), N('17'), N('6'), N('7')),
    'SET indexes refer to the original list too (Alternator test_update_expression_nested_remove_list_item_original_number)',
  );
  t.same(update('REMOVE a.b', { a: { M: { b: N('1') } } }).a, { M: {} }, 'an empty map stays');
  t.same(update('REMOVE a[0]', { a: L(N('1')) }).a, L(), 'an empty list stays');
  t.same(update('REMOVE x.y', undefined), {}, 'no item: ignored (Alternator test_nested_attribute_remove_from_missing_item)');
});

t.test('ADD and DELETE', async (t) => {
  t.same(update('ADD a :v', { a: N('3') }, { ':v': N('4') }).a, N('7'));
  t.same(update('ADD a :v', { a: N('0.1') }, { ':v': N('0.2') }).a, N('0.3'), 'exact decimal, no float');
  t.same(update('ADD b :v', { a: S('hello') }, { ':v': N('7') }).b, N('7'), 'missing counts as 0');
  t.same(update('ADD b :v', undefined, { ':v': N('-0.50') }).b, N('-0.5'), 'canonical');
  t.same(update('ADD a :v', { a: { SS: ['dog', 'cat'] } }, { ':v': { SS: ['pig', 'cat'] } }).a, { SS: ['dog', 'cat', 'pig'] }, 'union');
  t.same(update('ADD a :v', { a: { NS: ['1', '2'] } }, { ':v': { NS: ['2.0', '3'] } }).a, { NS: ['1', '2', '3'] }, 'numeric union');
  t.same(update('ADD b :v', {}, { ':v': { SS: ['dog'] } }).b, { SS: ['dog'] }, 'a new set');
  t.same(update('DELETE a :v', { a: { SS: ['dog', 'cat', 'mouse'] } }, { ':v': { SS: ['cat', 'mouse'] } }).a, { SS: ['dog'] });
  t.same(update('DELETE a :v', { a: { SS: ['dog'] } }, { ':v': { SS: ['pig'] } }).a, { SS: ['dog'] }, 'absent member: nothing');
  t.same(update('DELETE a :v', { a: { SS: ['dog'] }, b: S('hi') }, { ':v': { SS: ['dog'] } }), { b: S('hi') }, 'an emptied set is removed');
  t.same(update('DELETE a :v', { b: S('hi') }, { ':v': { SS: ['dog'] } }), { b: S('hi') }, 'missing attribute: nothing');
  t.same(update('DELETE a :v', { a: { BS: [Uint8Array.of(1), Uint8Array.of(2)] } }, { ':v': { BS: [Uint8Array.of(2)] } }).a, { BS: [Uint8Array.of(1)] });
});

t.test('runtime errors', async (t) => {
  const item = { p: S('k'), a: S('hello'), b: L(S('hi')), n: N('1') };
  const cases: Array<[string, AttributeMap | undefined, Record<string, AttributeValue> | undefined, string, string]> = [
    ['SET c = z', item, undefined, MISSING_ATTRIBUTE_MESSAGE, 'Alternator test_update_expression_set_copy'],
    ['SET x = :v, y = x', item, one, MISSING_ATTRIBUTE_MESSAGE, 'reads happen before writes'],
    ['SET z = z', item, undefined, MISSING_ATTRIBUTE_MESSAGE, 'Alternator'],
    ['SET c = q + :v', item, one, MISSING_ATTRIBUTE_MESSAGE, 'inside arithmetic'],
    ['SET c = a + :v', item, one, INCORRECT_DATA_TYPE_MESSAGE, 'S in arithmetic'],
    ['SET c = list_append(a, :l)', item, { ':l': L() }, INCORRECT_DATA_TYPE_MESSAGE, 'S in list_append'],
    ['ADD a :v', item, one, INCORRECT_DATA_TYPE_MESSAGE, 'Alternator test_update_expression_add_numbers'],
    ['ADD n :v', item, { ':v': { SS: ['x'] } }, INCORRECT_DATA_TYPE_MESSAGE, 'set added to a number'],
    ['DELETE a :v', item, { ':v': { SS: ['x'] } }, INCORRECT_DATA_TYPE_MESSAGE, 'set removed from a string'],
    ['DELETE b :v', { b: { NS: ['1'] } }, { ':v': { SS: ['x'] } }, INCORRECT_DATA_TYPE_MESSAGE, 'set types differ'],
    ['SET a.c = :v', item, one, INVALID_PATH_MESSAGE, 'Alternator test_nested_attribute_update_bad_path_dot'],
    ['SET b.c = :v', item, one, INVALID_PATH_MESSAGE, 'Alternator'],
    ['SET c.c = :v', item, one, INVALID_PATH_MESSAGE, 'Alternator'],
    ['SET c.c = :v', undefined, one, INVALID_PATH_MESSAGE, 'Alternator: no item'],
    ['REMOVE a.c', item, undefined, INVALID_PATH_MESSAGE, 'Alternator'],
    ['REMOVE c.c', item, undefined, INVALID_PATH_MESSAGE, 'Alternator'],
    ['SET a[0] = :v', item, one, INVALID_PATH_MESSAGE, 'Alternator test_nested_attribute_update_bad_path_array'],
    ['SET q[0] = :v', item, one, INVALID_PATH_MESSAGE, 'Alternator'],
    ['REMOVE a[0]', item, undefined, INVALID_PATH_MESSAGE, 'Alternator'],
    ['SET m = :a + :b', item, { ':a': N('9.9999999999999999999999999999999999999E+125'), ':b': N('9.9999999999999999999999999999999999999E+125') }, 'Number overflow. Attempting to store a number with magnitude larger than supported range', 'number.ts'],
  ];
  for (const [expression, before, values, message, source] of cases) {
    t.equal(runtimeMessage(expression, before, values), message, `${expression} (${source})`);
  }
});

t.test('the paths an update touches, for the key check and ReturnValues', async (t) => {
  const prepared = prepareExpressions(U('SET a.b = :v, #c = :v REMOVE d[1] ADD e :v DELETE f :s', { ':v': N('1'), ':s': { SS: ['x'] } }, { '#c': 'pk' }));
  t.same(prepared.update!.paths, [['a', 'b'], ['pk'], ['d', 1], ['e'], ['f']]);
  t.same(topLevelNames(prepared.update!.paths), ['a', 'pk', 'd', 'e', 'f']);
  const result = applyUpdate(prepared.update!.actions, { a: { M: {} }, d: L(N('1'), N('2')) }, prepared.attributes);
  t.same(result.paths, prepared.update!.paths);
  t.same(result.item, { a: { M: { b: N('1') } }, pk: N('1'), d: L(N('1')), e: N('1') });
});

t.test('an update never changes the item it was given', async (t) => {
  const item: AttributeMap = { a: L(N('1'), N('2')), m: { M: { x: N('1') } }, s: { SS: ['a'] } };
  const copy = structuredClone(item);
  update('SET a[0] = :v, m.y = :v REMOVE a[1] ADD s :s', item, { ':v': N('9'), ':s': { SS: ['b'] } });
  t.same(item, copy);
});
