// An iniconfig-compatible parser: pytest reads pytest.ini, tox.ini and setup.cfg with iniconfig's legacy
// IniConfig(path), so values keep inline comments, continuation lines are joined with "\n", and every error
// message and line number below matches iniconfig 2.x byte for byte.
//
// The grammar, line by line (after Python's universal-newline read and str.splitlines):
//   blank or first non-blank character '#' or ';'   -> ignored (a whole-line comment)
//   '[' ...                                           -> a section header when, after cutting at the first '#'
//                                                        and the first ';', it ends with ']'; otherwise the
//                                                        stripped line is a value continuation (iniconfig quirk)
//   first character not whitespace                    -> `name = value` or `name: value` (split at the first '=',
//                                                        unless the name part holds a ':', then at the first ':')
//   first character whitespace                        -> continuation of the previous value
// Errors are found in two passes, as iniconfig does: first the line shapes (unexpected line, empty section name,
// value continuation), then the structure (no section header, duplicate section, duplicate name). So a bad line
// late in the file is reported before a duplicate key early in it.
//
// The Python string helpers live here too because the ini and argv parsers both need Python's exact notion of
// whitespace, line breaks and repr() to produce pytest's messages.

export interface IniValue {
  value: string;
  /** 1-based line of the key. */
  line: number;
}

export interface IniFile {
  path: string;
  sections: Map<string, Map<string, IniValue>>;
  /** 1-based line of each section header. */
  sectionLines: Map<string, number>;
}

/** A malformed ini file. The message is iniconfig's: `${path}:${line}: ${detail}`. */
export class IniError extends Error {
  override name = 'IniError';
  constructor(
    readonly path: string,
    /** 1-based. */
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${path}:${line}: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Python string semantics

/** Characters for which Python's str.isspace() is true. */
const PYTHON_WHITESPACE = new Set(
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000',
);

export function isPythonSpace(ch: string): boolean {
  return PYTHON_WHITESPACE.has(ch);
}

export function pyLstrip(text: string): string {
  let start = 0;
  while (start < text.length && PYTHON_WHITESPACE.has(text[start]!)) start++;
  return text.slice(start);
}

export function pyRstrip(text: string): string {
  let end = text.length;
  while (end > 0 && PYTHON_WHITESPACE.has(text[end - 1]!)) end--;
  return text.slice(0, end);
}

export function pyStrip(text: string): string {
  return pyLstrip(pyRstrip(text));
}

/** The separators str.splitlines() breaks at ("\r\n" counts as one). */
const PYTHON_LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;

/**
 * Python's `open(path).read().splitlines()`: universal newlines first ("\r\n" and "\r" become "\n"), then every
 * separator splitlines knows. No trailing empty element for a final line break, as in Python.
 */
export function splitPythonLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.replace(/\r\n?/g, '\n').split(PYTHON_LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Python's str.isprintable() is false for these general categories (space excepted).
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr() of a str, so messages quote values exactly as pytest does: 'abc', "it's", '\ufeff[x]'. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch !== ' ' && NOT_PRINTABLE.test(ch)) {
      if (code < 0x100) out += '\\x' + code.toString(16).padStart(2, '0');
      else if (code < 0x10000) out += '\\u' + code.toString(16).padStart(4, '0');
      else out += '\\U' + code.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + quote;
}

/**
 * `text` as written when it is printable, else its repr: where pytest prints a user's argument raw, a newline or
 * escape sequence in it must not break our one-line error messages.
 */
export function shownRaw(text: string): string {
  for (const ch of text) if (ch !== ' ' && NOT_PRINTABLE.test(ch)) return pyRepr(text);
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// The parser

const COMMENT_CHARS = '#;';

type ParsedLine =
  | { kind: 'section'; index: number; name: string }
  | { kind: 'value'; index: number; name: string; value: string };

type LineShape =
  | { kind: 'blank' }
  | { kind: 'section'; name: string }
  | { kind: 'value'; name: string; value: string }
  | { kind: 'continuation'; text: string };

function isCommentLine(line: string): boolean {
  // Python: line.lstrip()[:1] in "#;" -- true for an empty string too, so blank lines land here.
  const first = pyLstrip(line).slice(0, 1);
  return first === '' || COMMENT_CHARS.includes(first);
}

function shapeOf(rawLine: string, path: string, index: number): LineShape {
  if (isCommentLine(rawLine)) return { kind: 'blank' };
  const line = pyRstrip(rawLine);
  if (line[0] === '[') {
    let head = line;
    for (const c of COMMENT_CHARS) head = pyRstrip(head.split(c)[0]!);
    if (head.endsWith(']')) return { kind: 'section', name: head.slice(1, -1) };
    return { kind: 'continuation', text: pyStrip(line) };
  }
  if (!isPythonSpace(line[0]!)) {
    const eq = line.indexOf('=');
    let split = eq >= 0 && !line.slice(0, eq).includes(':') ? eq : -1;
    if (split < 0) split = line.indexOf(':');
    if (split < 0) throw new IniError(path, index + 1, `unexpected line: ${pyRepr(line)}`);
    return { kind: 'value', name: pyStrip(line.slice(0, split)), value: pyStrip(line.slice(split + 1)) };
  }
  return { kind: 'continuation', text: pyStrip(line) };
}

/** First pass: the shape of every line, with continuations folded into the value before them. */
function parseLines(text: string, path: string): ParsedLine[] {
  const result: ParsedLine[] = [];
  splitPythonLines(text).forEach((rawLine, index) => {
    const shape = shapeOf(rawLine, path, index);
    if (shape.kind === 'section') {
      if (shape.name === '') throw new IniError(path, index + 1, 'empty section name');
      result.push({ kind: 'section', index, name: shape.name });
    } else if (shape.kind === 'value') {
      result.push({ kind: 'value', index, name: shape.name, value: shape.value });
    } else if (shape.kind === 'continuation') {
      const last = result[result.length - 1];
      if (last === undefined || last.kind !== 'value') {
        throw new IniError(path, index + 1, 'unexpected value continuation');
      }
      last.value = last.value ? `${last.value}\n${shape.text}` : shape.text;
    }
  });
  return result;
}

/**
 * Parses ini text as iniconfig does. `path` is only used in messages (pytest passes the absolute path; callers
 * choose). Throws IniError, and nothing else, for any malformed input.
 */
export function parseIni(text: string, path: string): IniFile {
  const sections = new Map<string, Map<string, IniValue>>();
  const sectionLines = new Map<string, number>();
  let current: Map<string, IniValue> | undefined;
  for (const parsed of parseLines(text, path)) {
    const line = parsed.index + 1;
    if (parsed.kind === 'section') {
      if (sections.has(parsed.name)) throw new IniError(path, line, `duplicate section ${pyRepr(parsed.name)}`);
      current = new Map();
      sections.set(parsed.name, current);
      sectionLines.set(parsed.name, line);
    } else {
      if (current === undefined) throw new IniError(path, line, 'no section header defined');
      if (current.has(parsed.name)) throw new IniError(path, line, `duplicate name ${pyRepr(parsed.name)}`);
      current.set(parsed.name, { value: parsed.value, line });
    }
  }
  return { path, sections, sectionLines };
}

// ---------------------------------------------------------------------------------------------------------------
// shlex.split (posix mode, no comments): how pytest splits `args`-typed ini values such as addopts, and
// PYTEST_ADDOPTS. Only ' \t\r\n' separate words (not Unicode spaces); '#' is an ordinary character; outside quotes
// a backslash escapes any character; inside double quotes it escapes only '"' and '\'; single quotes are literal.

/** A value shlex.split would reject; the message is Python's ("No closing quotation", "No escaped character"). */
export class ShlexError extends Error {
  override name = 'ShlexError';
}

const SHLEX_SPACE = ' \t\r\n';

export function shlexSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false; // true once a word has started, even an empty quoted one ('')
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (SHLEX_SPACE.includes(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) throw new ShlexError('No escaped character');
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (ch === "'" || ch === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new ShlexError('No closing quotation');
        const inner = text[i]!;
        if (inner === ch) { i++; break; }
        if (ch === '"' && inner === '\\') {
          if (i + 1 >= text.length) throw new ShlexError('No escaped character');
          const escaped = text[i + 1]!;
          word += escaped === '"' || escaped === '\\' ? escaped : '\\' + escaped;
          i += 2;
        } else {
          word += inner;
          i++;
        }
      }
    } else {
      word += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------------------------
// Python's int() and float(), which argparse's `type=int` / `type=float` call.

const NUMBER_DIGIT = /\p{Nd}/u;

/** Unicode decimal digits come in runs of ten, 0 to 9, so a digit's value is its offset in its run, mod 10. */
function toAsciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (digit) => {
    const code = digit.codePointAt(0)!;
    let offset = 0;
    while (NUMBER_DIGIT.test(String.fromCodePoint(code - offset - 1))) offset++;
    return String(offset % 10);
  });
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_INT = new RegExp(`^[+-]?${DIGITS}$`);
const PY_FLOAT = new RegExp(String.raw`^[+-]?(?:(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?)$`);
const PY_FLOAT_WORD = /^([+-]?)(inf|infinity|nan)$/i;

/** Python's int(text) for base 10, or undefined where Python raises ValueError. */
export function parsePythonInt(text: string): number | undefined {
  const ascii = toAsciiDigits(pyStrip(text));
  if (!PY_INT.test(ascii)) return undefined;
  const value = Number(ascii.replace(/_/g, ''));
  return value === 0 ? 0 : value;
}

/** Python's float(text), or undefined where Python raises ValueError. */
export function parsePythonFloat(text: string): number | undefined {
  const ascii = toAsciiDigits(pyStrip(text));
  const word = PY_FLOAT_WORD.exec(ascii);
  if (word) {
    if (word[2]!.toLowerCase() === 'nan') return NaN;
    return word[1] === '-' ? -Infinity : Infinity;
  }
  if (!PY_FLOAT.test(ascii)) return undefined;
  return Number(ascii.replace(/_/g, ''));
}
