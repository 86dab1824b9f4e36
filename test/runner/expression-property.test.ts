// Property tests for runner/expression.ts (fast-check, fixed seeds, 10,000 cases per property).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileExpression, compileKeywordOption, ExpressionError, type Expression, type MarkValue } from '../../runner/expression.js';

const RUNS = 10_000;
const SEED = 20_240_917;
/** Generous: a compile takes microseconds; this only catches pathological (super-linear) behaviour. */
const MAX_COMPILE_MS = 100;

/** Compiles, asserting the only failure is an ExpressionError that points inside the input, and the time. */
function compileChecked(input: string): Expression | ExpressionError {
  const started = performance.now();
  let outcome: Expression | ExpressionError;
  try {
    outcome = compileExpression(input);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw new Error(`compile(${JSON.stringify(input)}) threw ${String(err)}`);
    outcome = err;
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < MAX_COMPILE_MS, `compile took ${elapsed.toFixed(1)} ms for an input of ${input.length} chars`);
  if (outcome instanceof ExpressionError) {
    const length = Array.from(input).length;
    if (outcome.echo === 'None') assert.equal(outcome.column, 1);
    else {
      assert.equal(outcome.echo, input);
      assert.ok(outcome.column >= 1 && outcome.column <= length + 1, `column ${outcome.column} of ${length + 1}`);
    }
    assert.ok(outcome.detail.length > 0);
  }
  return outcome;
}

/** Pieces that exercise the grammar: keywords, kwargs syntax, quotes, backslashes, control chars, Unicode. */
const soupPiece = fc.oneof(
  fc.constantFrom('a', 'gpu', 'and', 'or', 'not', 'True', 'None', 'class', '__debug__', 'x', '1', '-5', '007', '=', ','),
  fc.constantFrom('(', ')', '((', '))', "'", '"', "'s'", '"t"', '\\', ' ', '\t', '\n', '\r', '\0', '\x7f', '\u00a0'),
  fc.constantFrom('é', 'e\u0301', '日本', '𝒳', '😀', '²', '١', '\ufeff', '\u2028', '\ud800', '\udfff', '@', '!', '#'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

test('arbitrary grammar soup: compile returns an Expression or throws ExpressionError, quickly', () => {
  fc.assert(
    fc.property(fc.string({ unit: soupPiece, maxLength: 40 }), (input) => {
      const outcome = compileChecked(input);
      if (!(outcome instanceof ExpressionError)) assert.equal(typeof outcome.evaluate((ident) => ident.length % 2 === 0), 'boolean');
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('arbitrary Unicode strings: compile never throws anything but ExpressionError', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (input) => void compileChecked(input)),
    { seed: SEED + 1, numRuns: RUNS },
  );
});

test('deep nesting (up to 1,500 "(" or "not", past both limits) never overflows the stack', () => {
  const opener = fc.constantFrom('(', 'not ', 'not(', '( not ');
  fc.assert(
    fc.property(opener, fc.integer({ min: 0, max: 1500 }), fc.constantFrom('', 'a', 'a)', ')'), (open, depth, tail) => {
      const outcome = compileChecked(open.repeat(depth) + tail);
      if (outcome instanceof ExpressionError && outcome.detail === 'expression is nested too deeply') {
        assert.ok(depth > 240, `refused at depth ${depth}`);
      }
    }),
    { seed: SEED + 2, numRuns: RUNS },
  );
});

test('-k strips exactly Python\'s leading whitespace before compiling', () => {
  const pythonSpace = fc.constantFrom(' ', '\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000');
  const describe = (run: () => Expression | null): string => {
    try {
      return `ok:${run()?.source ?? 'null'}`;
    } catch (err) {
      return `error:${(err as ExpressionError).message}`;
    }
  };
  fc.assert(
    fc.property(fc.string({ unit: pythonSpace, maxLength: 4 }), fc.string({ unit: soupPiece, maxLength: 12 }), (space, input) => {
      // What follows the stripped prefix must not itself start with whitespace, or the two sides differ.
      fc.pre(!/^[\s\x1c-\x1f\x85]/u.test(input));
      assert.equal(describe(() => compileKeywordOption(space + input)), describe(() => compileKeywordOption(input)));
    }),
    { seed: SEED + 3, numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------------
// Round trip: print a random syntax tree with full parentheses, parse it, and evaluate both the same way.

type Tree =
  | { kind: 'ident'; name: string }
  | { kind: 'call'; name: string; kwargs: [string, MarkValue][] }
  | { kind: 'not'; operand: Tree }
  | { kind: 'and' | 'or'; left: Tree; right: Tree };

const identName = fc.constantFrom('a', 'b', 'gpu', 'slow', 'AND', 'notx', 'or_', 'True', 'None', 'x-1', 'a:b', 'é', '日本', '𝒳', '1', 'a[0]', 'a/b');
const kwargName = fc.constantFrom('x', 'y', 'key', '_k', 'é', 'match');
const stringValue = fc.string({ unit: fc.constantFrom('a', ' ', 'é', '"', "'", '(', ')', ',', '=', 'or', '\t'), maxLength: 6 })
  .filter((s) => !(s.includes('"') && s.includes("'")));
const kwargValue: fc.Arbitrary<MarkValue> = fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.constantFrom(true, false, null), stringValue);

const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    identName.map((name): Tree => ({ kind: 'ident', name })),
    fc.tuple(identName, fc.uniqueArray(fc.tuple(kwargName, kwargValue), { selector: ([k]) => k, minLength: 1, maxLength: 3 }))
      .map(([name, kwargs]): Tree => ({ kind: 'call', name, kwargs })),
    tie('tree').map((operand): Tree => ({ kind: 'not', operand })),
    fc.tuple(fc.constantFrom('and' as const, 'or' as const), tie('tree'), tie('tree')).map(([kind, left, right]): Tree => ({ kind, left, right })),
  ),
}));

function printValue(value: MarkValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return String(value);
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

function print(t: Tree, space: string): string {
  switch (t.kind) {
    case 'ident':
      return t.name;
    case 'call':
      return `${t.name}(${t.kwargs.map(([k, v]) => `${k}${space}=${space}${printValue(v)}`).join(`,${space}`)})`;
    case 'not':
      return `not${space || ' '}(${print(t.operand, space)})`;
    default:
      return `(${print(t.left, space)})${space}${t.kind}${space}(${print(t.right, space)})`;
  }
}

/** The reference semantics, straight from the tree, recording every question asked. */
function reference(t: Tree, answer: (question: string) => boolean, asked: string[]): boolean {
  switch (t.kind) {
    case 'ident':
      asked.push(t.name);
      return answer(t.name);
    case 'call': {
      const question = `${t.name}${JSON.stringify(Object.fromEntries(t.kwargs))}`;
      asked.push(question);
      return answer(question);
    }
    case 'not':
      return !reference(t.operand, answer, asked);
    case 'and':
      return reference(t.left, answer, asked) && reference(t.right, answer, asked);
    case 'or':
      return reference(t.left, answer, asked) || reference(t.right, answer, asked);
  }
}

test('round trip: a fully parenthesised random tree parses back to the same meaning', () => {
  fc.assert(
    fc.property(tree, fc.constantFrom(' ', '\t', '  '), fc.func(fc.boolean()), (t, space, answer) => {
      const source = print(t, space);
      const expected: string[] = [];
      const want = reference(t, answer, expected);
      const asked: string[] = [];
      const got = compileExpression(source).evaluate((ident, kwargs) => {
        const question = kwargs ? `${ident}${JSON.stringify(kwargs)}` : ident;
        asked.push(question);
        return answer(question);
      });
      assert.equal(got, want, source);
      assert.deepEqual(asked, expected, source);
    }),
    { seed: SEED + 4, numRuns: RUNS },
  );
});
