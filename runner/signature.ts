// Which fixtures does a function ask for? Tests and fixtures name them by destructuring their first parameter
// (`async test_x({ device, tmpPath })`, as Playwright does). JavaScript keeps no parameter metadata, so we read the
// names from the function's own source text (Function.prototype.toString), which esbuild leaves in plain JS.

const cache = new WeakMap<Function, readonly string[]>();

/**
 * The top-level keys of the first parameter's object pattern, in order. `[]` when the function takes no parameters
 * or its first parameter is not an object pattern (then it asks for nothing by name).
 */
export function requestedNames(fn: Function): readonly string[] {
  let names = cache.get(fn);
  if (!names) {
    names = parseRequestedNames(Function.prototype.toString.call(fn));
    cache.set(fn, names);
  }
  return names;
}

export function parseRequestedNames(source: string): string[] {
  const open = firstParameterListStart(source);
  if (open < 0) return [];
  let i = skipSpaceAndComments(source, open + 1);
  if (source[i] !== '{') return [];
  const end = matchingClose(source, i);
  if (end < 0) return [];
  return objectPatternKeys(source.slice(i + 1, end));
}

/**
 * Every name the function can receive, when its signature says so exactly: `[]` for an empty parameter list, the keys
 * of a first-parameter object pattern that has no rest element and no computed key. Undefined when it cannot be told
 * (`(args) => args.a`, `({ ...all })`, `x => ...`): then nothing is checked against it.
 */
export function exactArgumentNames(fn: Function): readonly string[] | undefined {
  const source = Function.prototype.toString.call(fn);
  const open = firstParameterListStart(source);
  if (open < 0) return undefined;
  const i = skipSpaceAndComments(source, open + 1);
  if (source[i] === ')') return [];
  if (source[i] !== '{') return undefined;
  const end = matchingClose(source, i);
  if (end < 0) return undefined;
  const body = source.slice(i + 1, end);
  const entries = body.split(',').map((e) => e.slice(skipSpaceAndComments(e, 0)).trim());
  // A rough scan is enough here: a rest element or computed key anywhere means "cannot tell", which checks nothing.
  if (entries.some((e) => e.startsWith('...') || e.startsWith('['))) return undefined;
  return objectPatternKeys(body);
}

/** Index of the `(` that opens the parameter list, or -1 for `x => ...` and unparseable text. */
function firstParameterListStart(source: string): number {
  // Skip a leading `async`, `function`, `*`, a name, or a computed/method name: the first `(` outside strings
  // and brackets that comes before any `=>` or `{` is the parameter list.
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '(') return i;
    if (c === '{' || c === '=') return -1;
    if (c === '"' || c === "'" || c === '`') i = skipString(source, i);
    else if (c === '[') i = matchingClose(source, i);
    if (i < 0) return -1;
  }
  return -1;
}

function skipSpaceAndComments(s: string, i: number): number {
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (s.startsWith('//', i)) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl + 1;
    } else if (s.startsWith('/*', i)) {
      const endComment = s.indexOf('*/', i + 2);
      i = endComment < 0 ? s.length : endComment + 2;
    } else {
      return i;
    }
  }
}

/** Index of the last character of the string literal starting at i. */
function skipString(s: string, i: number): number {
  const quote = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (quote === '`' && s[j] === '$' && s[j + 1] === '{') j = matchingClose(s, j + 1);
    else if (s[j] === quote) return j;
    if (j < 0) return -1;
  }
  return -1;
}

const CLOSE: Record<string, string> = { '{': '}', '(': ')', '[': ']' };

/** Index of the bracket closing the one at `open`, skipping strings and comments; -1 if unbalanced. */
function matchingClose(s: string, open: number): number {
  const stack: string[] = [CLOSE[s[open]!]!];
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(s, i);
      if (i < 0) return -1;
    } else if (c === '/' && (s[i + 1] === '/' || s[i + 1] === '*')) {
      i = skipSpaceAndComments(s, i) - 1;
    } else if (CLOSE[c]) {
      stack.push(CLOSE[c]);
    } else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** Keys of `a, b: c, d = 1, 'e-f': g, ...rest` at depth 0. */
function objectPatternKeys(body: string): string[] {
  const keys: string[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    const c = body[i];
    if (c === undefined || c === ',') {
      const key = propertyKey(body.slice(start, i));
      if (key) keys.push(key);
      start = i + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(body, i);
      if (i < 0) break;
    } else if (CLOSE[c]) {
      i = matchingClose(body, i);
      if (i < 0) break;
    } else if (c === '/' && (body[i + 1] === '/' || body[i + 1] === '*')) {
      i = skipSpaceAndComments(body, i) - 1;
    }
  }
  return keys;
}

function propertyKey(entry: string): string | undefined {
  const text = entry.slice(skipSpaceAndComments(entry, 0)).trim();
  if (!text || text.startsWith('...') || text.startsWith('[')) return undefined;
  if (text[0] === '"' || text[0] === "'") {
    const end = skipString(text, 0);
    return end > 0 ? text.slice(1, end) : undefined;
  }
  const match = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*/u.exec(text);
  return match?.[0];
}
