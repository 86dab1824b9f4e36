/*
 * The match-expression language of pytest 9's `-m` and `-k` options, reproduced exactly
 * (pytest's `_pytest/mark/expression.py` is the reference; real pytest is the judge).
 *
 * Grammar (precedence: not > and > or; and/or are left-associative):
 *
 *   expression := expr? END                         empty or blank input is legal and is false
 *   expr       := and_expr ("or" and_expr)*
 *   and_expr   := not_expr ("and" not_expr)*
 *   not_expr   := "not" not_expr | "(" expr ")" | IDENT kwargs?
 *   kwargs     := "(" NAME "=" VALUE ("," NAME "=" VALUE)* ")"
 *   NAME       := an IDENT that is a valid Python identifier and not a Python keyword
 *   VALUE      := STRING | -?DIGITS | "True" | "False" | "None"
 *
 * Tokens:
 *   IDENT   one or more of: Unicode word characters (Python's `\w`: letters, digits and other numbers,
 *           underscore; NOT combining marks) and  : + - . [ ] \ /
 *           A run that is exactly `and`, `or` or `not` is that keyword; `AND`, `notslow`, `or_` are idents.
 *   STRING  '...' or "..." with no escapes (legal only as a kwarg VALUE). Once a string literal is lexed,
 *           a backslash ANYWHERE in the input is an error.
 *   ( ) = , are tokens; only space and TAB are skipped; anything else is an "unexpected character".
 *
 * Like pytest, the lexer is lazy: a token is lexed only when the parser moves past the previous one, so
 * `slow) @` reports the `)` and never sees the `@`. Columns count code points (Python str indices), 1-based.
 *
 * Deliberate differences from pytest, all in inputs where pytest itself crashes with INTERNALERROR (exit 3):
 *  - Nesting deeper than pytest's Python stack allows (about 320 parentheses or 960 `not`s) is a clean
 *    ExpressionError "expression is nested too deeply" instead of a RecursionError.
 *  - Flat chains of roughly 970+ `and`/`or` terms make pytest's compile() overflow; here they just work.
 *  - A kwarg value made of digits that are not decimal digits (`²`, `①`) is "unexpected character/s"
 *    rather than a ValueError from int(); a value longer than Python's 4300-digit limit is refused cleanly.
 * Characters assigned after Unicode 14 (Python 3.11's tables) follow Node's newer Unicode tables.
 */

export type MarkValue = string | number | boolean | null;

/** Decides whether one identifier (optionally with call kwargs) is true for the item being evaluated. */
export type Matcher = (ident: string, kwargs?: Readonly<Record<string, MarkValue>>) => boolean;

export interface Expression {
  readonly source: string;
  evaluate(matcher: Matcher): boolean;
}

/** A malformed expression, carrying exactly what pytest puts in its one-line usage error. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
  constructor(
    /** 1-based code-point column of the offending token (input length + 1 at end of input). */
    readonly column: number,
    /** e.g. 'expected not OR left parenthesis OR identifier; got end of input'. */
    readonly detail: string,
    /** The expression text pytest echoes: the input, or 'None' for errors from Python's compiler. */
    readonly echo: string,
  ) {
    super(`${echo}: at column ${column}: ${detail}`);
  }
}

/** The full message pytest prints after `ERROR: `. */
export function formatExpressionError(option: '-m' | '-k', err: ExpressionError): string {
  return `Wrong expression passed to '${option}': ${err.echo}: at column ${err.column}: ${err.detail}`;
}

// ---------------------------------------------------------------------------------------------------------
// Lexer

/** Token types are the very words pytest prints in "expected X; got Y". */
type Tok =
  | 'left parenthesis'
  | 'right parenthesis'
  | 'or'
  | 'and'
  | 'not'
  | 'identifier'
  | 'end of input'
  | '='
  | 'string literal'
  | ',';

interface Token {
  readonly type: Tok;
  readonly value: string;
  /** 0-based code-point index. */
  readonly pos: number;
}

/** Python's `\w` (str.isalnum() or `_`) is exactly \p{L} ∪ \p{N} ∪ `_` for every Unicode 14 character. */
const IDENT_RUN = /[\p{L}\p{N}_:+\-.[\]\\/]+/uy;
const SINGLE_CHAR_TOKENS: ReadonlyMap<string, Tok> = new Map([
  ['(', 'left parenthesis'],
  [')', 'right parenthesis'],
  ['=', '='],
  [',', ','],
]);
const KEYWORD_TOKENS: ReadonlyMap<string, Tok> = new Map([
  ['or', 'or'],
  ['and', 'and'],
  ['not', 'not'],
]);
const SURROGATE = /[\ud800-\udfff]/;

/** Hands out one token at a time, lexing lazily so errors surface in the order pytest reports them. */
class Scanner {
  /** UTF-16 offset of the next character to lex. */
  private offset = 0;
  /**
   * Code-point index of each UTF-16 offset, built only when the input has surrogates: positions must be
   * Python string indices (code points), which equal UTF-16 offsets for everything in the BMP.
   */
  private readonly codePointIndex: Int32Array | undefined;
  current: Token;

  constructor(readonly input: string) {
    this.codePointIndex = SURROGATE.test(input) ? codePointIndexes(input) : undefined;
    this.current = this.lexNext();
  }

  private position(offset: number): number {
    return this.codePointIndex ? this.codePointIndex[offset]! : offset;
  }

  /** `pos` is a code-point index, as in tokens. */
  private fail(pos: number, detail: string): never {
    throw new ExpressionError(pos + 1, detail, this.input);
  }

  private failAtOffset(offset: number, detail: string): never {
    this.fail(this.position(offset), detail);
  }

  private lexNext(): Token {
    const input = this.input;
    while (this.offset < input.length) {
      const offset = this.offset;
      const ch = input[offset]!;
      if (ch === ' ' || ch === '\t') {
        this.offset++;
        continue;
      }
      const pos = this.position(offset);
      const single = SINGLE_CHAR_TOKENS.get(ch);
      if (single !== undefined) {
        this.offset++;
        return { type: single, value: ch, pos };
      }
      if (ch === "'" || ch === '"') return this.lexString(offset, ch);
      IDENT_RUN.lastIndex = offset;
      const run = IDENT_RUN.exec(input);
      if (run === null) this.failAtOffset(offset, `unexpected character "${String.fromCodePoint(input.codePointAt(offset)!)}"`);
      const value = run[0];
      this.offset = offset + value.length;
      return { type: KEYWORD_TOKENS.get(value) ?? 'identifier', value, pos };
    }
    return { type: 'end of input', value: '', pos: this.position(input.length) };
  }

  private lexString(offset: number, quote: string): Token {
    const close = this.input.indexOf(quote, offset + 1);
    if (close === -1) this.failAtOffset(offset, `closing quote "${quote}" is missing`);
    // pytest refuses escapes by refusing any backslash in the whole input, wherever it is.
    const backslash = this.input.indexOf('\\');
    if (backslash !== -1) this.failAtOffset(backslash, 'escaping with "\\" not supported in marker expression');
    this.offset = close + 1;
    return { type: 'string literal', value: this.input.slice(offset, close + 1), pos: this.position(offset) };
  }

  /** Consumes the current token if it has the given type. */
  accept(type: Tok): Token | undefined {
    const token = this.current;
    if (token.type !== type) return undefined;
    if (type !== 'end of input') this.current = this.lexNext();
    return token;
  }

  expect(type: Tok): Token {
    return this.accept(type) ?? this.reject([type]);
  }

  reject(expected: readonly Tok[]): never {
    const wanted = expected.join(' OR ');
    this.fail(this.current.pos, `expected ${wanted}; got ${this.current.type}`);
  }

  failAt(token: Token, detail: string): never {
    this.fail(token.pos, detail);
  }
}

/** For each UTF-16 offset (and the end), the index of the code point it belongs to. */
function codePointIndexes(input: string): Int32Array {
  const indexes = new Int32Array(input.length + 1);
  let codePoint = 0;
  for (let offset = 0; offset < input.length; offset++) {
    indexes[offset] = codePoint;
    const unit = input.charCodeAt(offset);
    const pairsWithNext = unit >= 0xd800 && unit <= 0xdbff && (input.charCodeAt(offset + 1) & 0xfc00) === 0xdc00;
    if (!pairsWithNext) codePoint++;
  }
  indexes[input.length] = codePoint;
  return indexes;
}

// ---------------------------------------------------------------------------------------------------------
// Syntax tree and parser

type Node =
  | { readonly kind: 'false' }
  | { readonly kind: 'ident'; readonly name: string }
  | { readonly kind: 'call'; readonly name: string; readonly kwargs: Readonly<Record<string, MarkValue>> }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly Node[] };

/** Keyword arguments in source order, kept for the checks Python's compiler makes after parsing. */
type KwargList = ReadonlyArray<readonly [name: string, value: MarkValue]>;

/**
 * pytest's parser recurses three Python frames per parenthesis level and one per `not`, and dies with
 * RecursionError near Python's 1000-frame limit (measured through the CLI: 320 parentheses or 965 `not`s).
 * We keep the same budget so we refuse, cleanly, about where pytest crashes, and never overflow our stack.
 */
const NESTING_BUDGET = 960;
const PAREN_COST = 3;
const NOT_COST = 1;

/** `keyword.kwlist` of Python 3.11 (soft keywords such as `match` are allowed). */
const PYTHON_KEYWORDS: ReadonlySet<string> = new Set(
  ('False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield').split(' '),
);
/** str.isidentifier() agrees with XID_Start/XID_Continue on every Unicode 14 word character. */
const PYTHON_IDENTIFIER = /^[\p{XID_Start}_]\p{XID_Continue}*$/u;
const DECIMAL_INTEGER = /^-?\p{Nd}+$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
/** Python refuses int() of longer digit strings (sys.int_info.default_max_str_digits). */
const PYTHON_MAX_INT_DIGITS = 4300;

class Parser {
  private nesting = 0;
  readonly calls: KwargList[] = [];

  constructor(private readonly scanner: Scanner) {}

  expression(): Node {
    if (this.scanner.accept('end of input')) return { kind: 'false' };
    const root = this.expr();
    this.scanner.expect('end of input');
    return root;
  }

  // expr and andExpr turn left-associative chains into one n-ary node, so long flat chains cost no stack
  // depth. No closures here: each nesting level costs as few JavaScript frames as pytest's Python frames.
  private expr(): Node {
    const first = this.andExpr();
    if (this.scanner.current.type !== 'or') return first;
    const operands = [first];
    while (this.scanner.accept('or')) operands.push(this.andExpr());
    return { kind: 'or', operands };
  }

  private andExpr(): Node {
    const first = this.notExpr();
    if (this.scanner.current.type !== 'and') return first;
    const operands = [first];
    while (this.scanner.accept('and')) operands.push(this.notExpr());
    return { kind: 'and', operands };
  }

  private notExpr(): Node {
    const s = this.scanner;
    const notToken = s.accept('not');
    if (notToken) {
      this.enter(notToken, NOT_COST);
      const operand = this.notExpr();
      this.nesting -= NOT_COST;
      return { kind: 'not', operand };
    }
    const lparen = s.accept('left parenthesis');
    if (lparen) {
      this.enter(lparen, PAREN_COST);
      const inner = this.expr();
      this.nesting -= PAREN_COST;
      s.expect('right parenthesis');
      return inner;
    }
    const ident = s.accept('identifier');
    if (!ident) return s.reject(['not', 'left parenthesis', 'identifier']);
    if (!s.accept('left parenthesis')) return { kind: 'ident', name: ident.value };
    const kwargs = this.kwargs();
    s.expect('right parenthesis');
    this.calls.push(kwargs);
    return { kind: 'call', name: ident.value, kwargs: kwargRecord(kwargs) };
  }

  private enter(opener: Token, cost: number): void {
    this.nesting += cost;
    if (this.nesting > NESTING_BUDGET) this.scanner.failAt(opener, 'expression is nested too deeply');
  }

  private kwargs(): KwargList {
    const list = [this.kwarg()];
    while (this.scanner.accept(',')) list.push(this.kwarg());
    return list;
  }

  private kwarg(): readonly [string, MarkValue] {
    const s = this.scanner;
    const name = s.expect('identifier');
    if (!PYTHON_IDENTIFIER.test(name.value)) s.failAt(name, `not a valid python identifier ${name.value}`);
    if (PYTHON_KEYWORDS.has(name.value)) s.failAt(name, `unexpected reserved python keyword \`${name.value}\``);
    s.expect('=');
    const quoted = s.accept('string literal');
    if (quoted) return [name.value, quoted.value.slice(1, -1)];
    const bare = s.expect('identifier');
    return [name.value, this.bareValue(bare)];
  }

  private bareValue(token: Token): MarkValue {
    const text = token.value;
    if (text === 'True') return true;
    if (text === 'False') return false;
    if (text === 'None') return null;
    if (!DECIMAL_INTEGER.test(text)) this.scanner.failAt(token, `unexpected character/s "${text}"`);
    const digits = Array.from(text.startsWith('-') ? text.slice(1) : text);
    if (digits.length > PYTHON_MAX_INT_DIGITS) {
      this.scanner.failAt(token, `integer value has ${digits.length} digits; at most ${PYTHON_MAX_INT_DIGITS} are allowed`);
    }
    let magnitude = 0n;
    for (const digit of digits) magnitude = magnitude * 10n + BigInt(decimalDigitValue(digit));
    // Integers beyond 2**53 lose precision here; mark kwargs on the JavaScript side are numbers too.
    return Number(text.startsWith('-') ? -magnitude : magnitude);
  }
}

/** Null prototype: a kwarg may be called `__proto__` or `constructor` and must stay a plain entry. */
function kwargRecord(kwargs: KwargList): Readonly<Record<string, MarkValue>> {
  const record: Record<string, MarkValue> = Object.create(null);
  for (const [name, value] of kwargs) record[name] = value;
  return record;
}

/**
 * The value of a Unicode decimal digit (any script). Unicode guarantees Nd characters come in
 * contiguous runs of ten, 0 through 9, each run starting at a zero, so the offset in its run is the value.
 */
function decimalDigitValue(digit: string): number {
  let codePoint = digit.codePointAt(0)!;
  let offset = 0;
  while (DECIMAL_DIGIT.test(String.fromCodePoint(codePoint - 1))) {
    codePoint--;
    offset++;
  }
  return offset % 10;
}

/**
 * pytest compiles its AST with Python's compile(), which rejects repeated keyword arguments and `__debug__`
 * after the whole expression parsed. Such errors carry no source text (pytest echoes `None`) and column 1.
 */
function checkLikePythonCompiler(calls: readonly KwargList[]): void {
  for (const kwargs of calls) {
    for (let i = 0; i < kwargs.length; i++) {
      const name = kwargs[i]![0];
      if (name === '__debug__') throw new ExpressionError(1, 'cannot assign to __debug__', 'None');
      for (let j = i + 1; j < kwargs.length; j++) {
        if (kwargs[j]![0] === name) throw new ExpressionError(1, `keyword argument repeated: ${name}`, 'None');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

/** Python's `and`/`or` short-circuit, so a matcher that throws is reached only when pytest would reach it. */
function evaluateNode(node: Node, matcher: Matcher): boolean {
  switch (node.kind) {
    case 'ident':
      return matcher(node.name);
    case 'call':
      return matcher(node.name, node.kwargs);
    case 'not':
      return !evaluateNode(node.operand, matcher);
    case 'and':
      for (const operand of node.operands) if (!evaluateNode(operand, matcher)) return false;
      return true;
    case 'or':
      for (const operand of node.operands) if (evaluateNode(operand, matcher)) return true;
      return false;
    case 'false':
      return false;
  }
}

class CompiledExpression implements Expression {
  constructor(
    readonly source: string,
    private readonly root: Node,
  ) {}

  evaluate(matcher: Matcher): boolean {
    return evaluateNode(this.root, matcher);
  }
}

/** Parses once; throws ExpressionError with pytest's column and message. */
export function compileExpression(input: string): Expression {
  const parser = new Parser(new Scanner(input));
  const root = parser.expression();
  checkLikePythonCompiler(parser.calls);
  return new CompiledExpression(input, root);
}

/** Python's str.isspace() set; note it differs from JavaScript's trim (U+001C-U+001F, U+0085 vs U+FEFF). */
const PYTHON_LEADING_WHITESPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** `-k`: pytest lstrips the value first; nothing left means no filtering (null). */
export function compileKeywordOption(value: string): Expression | null {
  const stripped = value.replace(PYTHON_LEADING_WHITESPACE, '');
  return stripped === '' ? null : compileExpression(stripped);
}

/** `-m`: only the empty string means no filtering; a blank value compiles to an always-false expression. */
export function compileMarkOption(value: string): Expression | null {
  return value === '' ? null : compileExpression(value);
}

export { KeywordCallError, keywordMatcher, markMatcher } from './keywords.js';
