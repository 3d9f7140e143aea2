/**
 * The pieces under the expression language: the parse cache, the reserved
 * words, the tokenizer's syntax error text and the value order (property
 * tests against a reference built from UTF-8 bytes and exact decimals).
 */
import fc from 'fast-check';
import t from 'tap';
import type { AttributeValue } from '../lib/tables/attribute-value.js';
import { ExpressionCache } from '../lib/tables/expression/expression-cache.js';
import { compileCondition, compileUpdate, newParseCache, prepareExpressions } from '../lib/tables/expression/expressions.js';
import { evaluateCondition } from '../lib/tables/expression/condition-evaluator.js';
import { isReservedWord, RESERVED_WORD_COUNT, reservedWordCount } from '../lib/tables/expression/reserved-words.js';
import { syntaxErrorText, tokenize } from '../lib/tables/expression/tokenizer.js';
import { compareBinaries, compareStrings, sizeOf, valuesEqual } from '../lib/tables/expression/value-compare.js';

t.test('ExpressionCache: least recently used out first, bounded by count', async (t) => {
  const cache = new ExpressionCache<number>(2);
  let computed = 0;
  const compute = (value: number) => () => {
    computed++;
    return value;
  };
  t.equal(cache.get('a', compute(1)), 1);
  t.equal(cache.get('b', compute(2)), 2);
  t.equal(cache.get('a', compute(99)), 1, 'a hit does not recompute');
  t.equal(computed, 2);
  t.equal(cache.get('c', compute(3)), 3, 'a third key evicts the least recently used (b)');
  t.equal(cache.size, 2);
  t.ok(cache.has('a'));
  t.notOk(cache.has('b'));
  t.equal(cache.get('b', compute(4)), 4, 'b is computed again');
  t.throws(() => new ExpressionCache(0), 'a bound is required');
});

t.test('an expression is parsed once; placeholders are resolved per request', async (t) => {
  const cache = newParseCache(10);
  const first = compileCondition('ConditionExpression', '#a = :v', cache);
  const second = compileCondition('ConditionExpression', '#a = :v', cache);
  t.equal(first, second, 'the same parse');
  t.equal(cache.size, 1);
  compileCondition('FilterExpression', '#a = :v', cache);
  t.equal(cache.size, 2, 'the kind is part of the key');
  t.throws(() => compileUpdate('SET', cache), { message: 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"' });
  t.throws(() => compileUpdate('SET', cache), { message: 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"' }, 'errors are cached too');
  t.equal(cache.size, 3);
  const item = { x: { N: '1' }, y: { N: '2' } };
  const one = prepareExpressions({ ConditionExpression: '#a = :v', ExpressionAttributeNames: { '#a': 'x' }, ExpressionAttributeValues: { ':v': { N: '1' } } }, cache);
  const two = prepareExpressions({ ConditionExpression: '#a = :v', ExpressionAttributeNames: { '#a': 'y' }, ExpressionAttributeValues: { ':v': { N: '1' } } }, cache);
  t.equal(one.condition, two.condition, 'one parse shared by two requests');
  t.ok(evaluateCondition(one.condition!, item, one.attributes));
  t.notOk(evaluateCondition(two.condition!, item, two.attributes), 'with its own names');
  t.equal(cache.size, 3);
});

t.test('reserved words: DynamoDB list of 573, case-insensitive', async (t) => {
  t.equal(reservedWordCount(), RESERVED_WORD_COUNT);
  for (const word of ['NAME', 'name', 'Status', 'DATA', 'date', 'TIMESTAMP', 'count', 'SIZE', 'value', 'TTL', 'user', 'KEY', 'type', 'ABORT', 'ZONE']) {
    t.ok(isReservedWord(word), word);
  }
  for (const word of ['pk', 'sk', 'price', 'title', 'id', 'attribute_exists']) t.notOk(isReservedWord(word), word);
});

t.test('tokenizer and the near text', async (t) => {
  const source = 'SET a.b[12] = :v1 + #n';
  t.same(
    tokenize(source).map((token) => [token.type, token.text]),
    [
      ['name', 'SET'], ['name', 'a'], ['operator', '.'], ['name', 'b'], ['operator', '['], ['number', '12'], ['operator', ']'],
      ['operator', '='], ['valueRef', ':v1'], ['operator', '+'], ['nameRef', '#n'], ['eof', '<EOF>'],
    ],
  );
  t.same(tokenize('a<=b<>c>=d').map((token) => token.text), ['a', '<=', 'b', '<>', 'c', '>=', 'd', '<EOF>']);
  t.same(tokenize('# : $').map((token) => token.type), ['unknown', 'unknown', 'unknown', 'eof'], 'bare # and : are no placeholders');
  const tokens = tokenize('a  -  b');
  t.equal(syntaxErrorText('a  -  b', tokens, 1), 'Syntax error; token: "-", near: "a  -  b"', 'the source as written, spaces kept');
  t.equal(syntaxErrorText('', tokenize(''), 0), 'Syntax error; token: "<EOF>", near: ""');
});

// --------------------------------------------------------------- value order

/** Reference: UTF-8 bytes compared unsigned. */
function utf8Order(a: string, b: string): number {
  return Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

t.test('strings order by UTF-8 bytes', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => compareStrings(a, b) === utf8Order(a, b)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', '\uffff', '\ue000', '\u{10000}', '\u{10ffff}', '\u007f', '\u0080') }), fc.string({ unit: fc.constantFrom('a', '\uffff', '\u{10000}', '\u0080') }), (a, b) => compareStrings(a, b) === utf8Order(a, b)),
    { numRuns: 2000 },
  );
  t.equal(compareStrings('\u{10000}', '\uffff'), 1, 'astral after U+FFFF, unlike JavaScript < ');
  t.ok('\u{10000}' < '\uffff', 'JavaScript order differs here');
});

t.test('binaries order unsigned bytewise', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => compareBinaries(a, b) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))),
    { numRuns: 2000 },
  );
  t.equal(compareBinaries(Uint8Array.of(0xff), Uint8Array.of(0x00, 0x01)), 1);
});

t.test('set equality ignores order; size counts members', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 8 }), (members) => {
      const shuffled = [...members].reverse();
      const a: AttributeValue = { SS: members };
      const b: AttributeValue = { SS: shuffled };
      return valuesEqual(a, b) && sizeOf(a) === members.length;
    }),
  );
  t.equal(sizeOf({ N: '1' }), undefined);
  t.equal(sizeOf({ M: { a: { N: '1' }, b: { N: '2' } } }), 2);
});
