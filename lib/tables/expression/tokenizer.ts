/**
 * The lexical layer shared by the five expression kinds. A token keeps its
 * offsets in the source because DynamoDB's syntax error quotes the source
 * around the offending token ("Syntax error; token: \"-\", near:
 * \"book-price\""), and every other error is decided by the parsers.
 *
 * Token shapes, from DynamoDB's documented syntax (DG: Expressions.Attributes,
 * ExpressionAttributeNames, ExpressionAttributeValues):
 * - a name starts with a letter and continues with letters, digits and '_'
 *   (ScyllaDB Alternator's test_update_expression.py, checked against
 *   DynamoDB: "SET _123 = :val1" fails with token "_", near "SET _123";
 *   dynalite wrongly accepts a leading '_'),
 * - `#name` and `:value` placeholders are '#' or ':' and then [0-9a-zA-Z_]+
 *   (dyn:validations/index.js `validateExpressions` key syntax),
 * - a run of digits is a number token (list indexes; a number anywhere else is
 *   a syntax error, expressions have no literals),
 * - the operators = <> < <= > >= + - and the punctuation ( ) [ ] , .
 * Any other character is a one-character token that no grammar accepts, so it
 * is reported as the syntax error's token.
 */
export type TokenType = 'name' | 'nameRef' | 'valueRef' | 'number' | 'operator' | 'unknown' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** The token's text as written; '<EOF>' for the end. */
  readonly text: string;
  /** Offsets into the source: text === source.slice(start, end) (eof: start === end === source.length). */
  readonly start: number;
  readonly end: number;
}

const TWO_CHAR_OPERATORS = new Set(['<>', '<=', '>=']);
const ONE_CHAR_OPERATORS = new Set(['=', '<', '>', '+', '-', '(', ')', '[', ']', ',', '.']);

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isNamePart(code: number): boolean {
  return isLetter(code) || isDigit(code) || code === 95; // '_'
}

/** DynamoDB's whitespace between tokens: space, tab, carriage return, newline (dyn:db/conditionParser.pegjs `_`). */
function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/** The tokens of a source, always ending with one 'eof' token. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < source.length) {
    const code = source.charCodeAt(index);
    if (isSpace(code)) {
      index++;
      continue;
    }
    const start = index;
    let type: TokenType;
    if (isLetter(code)) {
      while (index < source.length && isNamePart(source.charCodeAt(index))) index++;
      type = 'name';
    } else if (isDigit(code)) {
      while (index < source.length && isDigit(source.charCodeAt(index))) index++;
      type = 'number';
    } else if ((code === 35 || code === 58) && index + 1 < source.length && isNamePart(source.charCodeAt(index + 1))) {
      // '#' or ':' followed by at least one placeholder character.
      index++;
      while (index < source.length && isNamePart(source.charCodeAt(index))) index++;
      type = code === 35 ? 'nameRef' : 'valueRef';
    } else if (TWO_CHAR_OPERATORS.has(source.slice(index, index + 2))) {
      index += 2;
      type = 'operator';
    } else if (ONE_CHAR_OPERATORS.has(source[index]!)) {
      index++;
      type = 'operator';
    } else {
      // One code point, so that a surrogate pair is quoted whole.
      index += code >= 0xd800 && code <= 0xdbff && index + 1 < source.length ? 2 : 1;
      type = 'unknown';
    }
    tokens.push({ type, text: source.slice(start, index), start, end: index });
  }
  tokens.push({ type: 'eof', text: '<EOF>', start: source.length, end: source.length });
  return tokens;
}

/**
 * DynamoDB's syntax error text for the token at `index`: the token, and the
 * source from the start of the token before it to the end of the token after
 * it. Recorded against DynamoDB: "foo" gives token "<EOF>", near "foo";
 * "SET _123 = :val1" gives token "_", near "SET _123" (Alternator
 * test_update_expression.py); "book-price" gives token "-", near
 * "book-price" (reference §17 #32); "SET #a = :v1, " gives token "<EOF>",
 * near "," (moto's test_dynamodb.py, recorded against DynamoDB).
 */
export function syntaxErrorText(source: string, tokens: readonly Token[], index: number): string {
  const token = tokens[index]!;
  const before = index > 0 ? tokens[index - 1]! : token;
  // At the end there is no token after, and trailing spaces are not quoted ("SET a = :v, " -> near ",").
  const after = token.type === 'eof' ? before : tokens[index + 1]!.type === 'eof' ? token : tokens[index + 1]!;
  return `Syntax error; token: "${token.text}", near: "${source.slice(before.start, after.end)}"`;
}
