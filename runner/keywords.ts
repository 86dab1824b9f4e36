// The two matchers pytest evaluates expressions with: `-k` (KeywordMatcher) and `-m` (MarkMatcher).
import { UsageError } from './exit-codes.js';
import type { Matcher, MarkValue } from './expression.js';

/** pytest raises this lazily, only when evaluating `-k` actually reaches a call such as `gpu(x=1)`. */
export class KeywordCallError extends UsageError {
  override name = 'KeywordCallError';
  constructor() {
    super('Keyword expressions do not support call parameters.');
  }
}

/**
 * Idents repeat across items (10,000 items x the same few idents), so their lower-case form is cached.
 * The cache is bounded because idents come from user input.
 */
const lowerCaseIdents = new Map<string, string>();
const LOWER_CASE_CACHE_LIMIT = 1024;

function lowerCaseIdent(ident: string): string {
  let lower = lowerCaseIdents.get(ident);
  if (lower === undefined) {
    if (lowerCaseIdents.size >= LOWER_CASE_CACHE_LIMIT) lowerCaseIdents.clear();
    lower = ident.toLowerCase();
    lowerCaseIdents.set(ident, lower);
  }
  return lower;
}

/**
 * `-k`: an ident is true when it is a case-insensitive substring of any of the item's names (test, class,
 * module file, directories under rootdir, marker names, ...; the caller collects them). JavaScript's
 * toLowerCase and Python's str.lower agree on all of Unicode 14, final sigma included.
 *
 * The names are joined with a newline, which no ident can contain, so one substring search per ident answers
 * "in any name". Lower-casing the joined text equals lower-casing each name: a newline is neither cased nor
 * case-ignorable, so it ends the context of a final sigma just as the end of a name does.
 */
export function keywordMatcher(names: readonly string[]): Matcher {
  const haystack = names.join('\n').toLowerCase();
  return (ident, kwargs) => {
    if (kwargs !== undefined && hasAnyKey(kwargs)) throw new KeywordCallError();
    return haystack.includes(lowerCaseIdent(ident));
  };
}

export interface MarkLike {
  readonly name: string;
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/**
 * `-m`: an ident is true when the item has a mark of exactly that name; a call such as `tier(level='a')`
 * is true when SOME mark of that name has every given kwarg, each equal in Python's sense.
 */
export function markMatcher(marks: ReadonlyArray<MarkLike>): Matcher {
  const byName = new Map<string, MarkLike[]>();
  for (const mark of marks) {
    const sameName = byName.get(mark.name);
    if (sameName) sameName.push(mark);
    else byName.set(mark.name, [mark]);
  }
  return (ident, kwargs) => {
    const candidates = byName.get(ident);
    if (candidates === undefined) return false;
    if (kwargs === undefined) return true;
    const wanted = Object.entries(kwargs);
    return candidates.some((mark) =>
      wanted.every(([key, value]) => Object.hasOwn(mark.kwargs, key) && pythonEquals(mark.kwargs[key], value)),
    );
  };
}

function hasAnyKey(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * Python's `==` between a mark's kwarg value and an expression value: bools are the integers 0 and 1
 * (`True == 1`, `False == 0.0`), numbers compare by value, strings only with strings, and None only with
 * None (a JavaScript `undefined` stored under the key counts as None; a missing key never matches).
 */
export function pythonEquals(markValue: unknown, expected: MarkValue): boolean {
  if (expected === null) return markValue === null || markValue === undefined;
  if (typeof expected === 'string') return markValue === expected;
  const expectedNumber = typeof expected === 'boolean' ? Number(expected) : expected;
  switch (typeof markValue) {
    case 'number':
      return markValue === expectedNumber;
    case 'boolean':
      return Number(markValue) === expectedNumber;
    case 'bigint':
      return Number.isInteger(expectedNumber) && markValue === BigInt(expectedNumber);
    default:
      return false;
  }
}
