// Table tests for runner/expression.ts: every example and error in PYTEST_SEMANTICS.md, byte for byte.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileExpression,
  compileKeywordOption,
  compileMarkOption,
  ExpressionError,
  formatExpressionError,
  KeywordCallError,
  keywordMatcher,
  markMatcher,
  type Expression,
  type MarkValue,
} from '../../runner/expression.js';
import { UsageError } from '../../runner/exit-codes.js';

// The 19-test mirror suite of PYTEST_SEMANTICS.md (suite-spec.tsv): module, class, test, markers.
const SUITE = `
test_memory_protection TestMemoryStress test_sustained_high_memory_usage gpu,stress
test_memory_protection TestMemoryStress test_memory_allocation_stress gpu,stress
test_memory_protection TestMemoryStress test_continuous_recording_memory_leak gpu,stress,slow
test_memory_protection TestGPUFallback test_gpu_to_cpu_fallback_on_oom gpu,oom,recovery
test_memory_protection TestGPUFallback test_rapid_toggle_with_fallback gpu,stress,recovery
test_memory_protection TestCUDAErrorRecovery test_cuda_error_recovery gpu,recovery
test_memory_protection TestCUDAErrorRecovery test_repeated_cuda_errors gpu,recovery
test_memory_protection TestEmergencyShutdown test_emergency_shutdown_trigger gpu,oom
test_memory_protection TestEmergencyShutdown test_data_preservation_on_shutdown gpu,recovery
test_oom_recovery TestOOMDetection test_oom_detection gpu,oom
test_oom_recovery TestOOMDetection test_oom_notification_system gpu,oom
test_oom_recovery TestGracefulDegradation test_progressive_recovery_strategies gpu,oom,recovery
test_oom_recovery TestGracefulDegradation test_buffer_reduction_on_pressure gpu,recovery
test_oom_recovery TestGracefulDegradation test_cpu_fallback_activation gpu,oom,recovery
test_oom_recovery TestDataPreservation test_audio_buffer_preservation gpu,oom,recovery
test_oom_recovery TestDataPreservation test_transcription_state_preservation gpu,oom,recovery
test_oom_recovery TestMultipleOOMHandling test_consecutive_oom_recovery gpu,oom,recovery,stress
test_oom_recovery TestMultipleOOMHandling test_oom_during_recovery gpu,oom,recovery
test_oom_recovery TestRecoveryMetrics test_recovery_success_rate recovery`
  .trim()
  .split('\n')
  .map((line) => {
    const [module, cls, name, markers] = line.split(' ') as [string, string, string, string];
    const marks = markers.split(',').map((mark) => ({ name: mark, kwargs: {} }));
    // -k names: directory under rootdir, module file, class, test, markers, and `pytestmark` (the decorated
    // Python function's __dict__).
    const names = ['suites', `${module}.py`, cls, name, 'pytestmark', ...marks.map((m) => m.name)];
    return { name, marks, names };
  });

function countSelected(expression: Expression | null, which: '-m' | '-k'): number {
  if (expression === null) return SUITE.length;
  return SUITE.filter((t) => expression.evaluate(which === '-m' ? markMatcher(t.marks) : keywordMatcher(t.names))).length;
}

/** The message pytest prints after `ERROR: `, or null if the value compiles. */
function errorFor(option: '-m' | '-k', value: string): string | null {
  try {
    if (option === '-m') compileMarkOption(value);
    else compileKeywordOption(value);
    return null;
  } catch (err) {
    assert.ok(err instanceof ExpressionError, `expected ExpressionError, got ${String(err)}`);
    return formatExpressionError(option, err);
  }
}

describe('-m selection counts documented in PYTEST_SEMANTICS.md', () => {
  const table: [string, number][] = [
    ['slow', 1], ['not slow', 18], ['gpu', 18], ['oom', 10], ['recovery', 13], ['stress', 5],
    ['oom and not recovery', 3], ['gpu and (oom or recovery)', 15], ['gpu and oom or recovery', 16],
    ['oom or stress and recovery', 11], ['(oom or stress) and recovery', 8], ['not oom or recovery', 16],
    ['not (oom or recovery)', 3], ['not not slow', 1], ['GPU', 0], ['Slow', 0], ['slo', 0], ['True', 0],
    ['', 19], [' ', 0], ['\t', 0], ['slow(x=1)', 0], ['not gpu(x=1)', 19], ['gpu(x=1) or oom', 10],
    ['(cuda)or(fallback)', 0], ['not(oom)', 9], ['gpu and(oom)', 10], ['slow (x=1)', 0], ['slow(x=1,y=2)', 0],
  ];
  for (const [expression, count] of table) {
    test(`-m ${JSON.stringify(expression)} selects ${count}`, () => {
      assert.equal(countSelected(compileMarkOption(expression), '-m'), count);
    });
  }
});

describe('-k selection counts documented in PYTEST_SEMANTICS.md', () => {
  const table: [string, number][] = [
    ['OOM', 12], ['oom', 12], ['oOm', 12], ['TestGPU', 2], ['testgpu', 2], ['AND', 2], ['NOT', 1], ['gpu', 18],
    ['stress', 5], ['mark', 19], ['ark', 19], ['stm', 19], ['pytestmark', 19], ['.', 19], ['_', 19], ['::', 0],
    ['suites/', 0], ['/', 0], ['TestOOMDetection::test_oom_detection', 0], ['Harness', 0], ['memory or oom', 19],
    ['not None', 19], ['cuda', 2], ['fallback', 3], ['', 19], [' ', 19], ['\t', 19], ['\n', 19], ['\u00a0', 19],
    ['\u00a0OOM', 12], ['test or gpu(x=1)', 19], ['not test and gpu(x=1)', 0], ['suites', 19],
  ];
  for (const [expression, count] of table) {
    test(`-k ${JSON.stringify(expression)} selects ${count}`, () => {
      assert.equal(countSelected(compileKeywordOption(expression), '-k'), count);
    });
  }

  test('-k "gpu or slow(x=1)" raises once evaluation reaches the call (one test lacks gpu)', () => {
    assert.throws(() => countSelected(compileKeywordOption('gpu or slow(x=1)'), '-k'), (err: unknown) => {
      assert.ok(err instanceof KeywordCallError);
      assert.ok(err instanceof UsageError, 'the CLI turns it into exit 4');
      assert.equal(err.message, 'Keyword expressions do not support call parameters.');
      return true;
    });
  });
});

describe('error messages and columns, byte for byte', () => {
  const cases: [option: '-m' | '-k', input: string, message: string][] = [
    ['-m', 'not', "not: at column 4: expected not OR left parenthesis OR identifier; got end of input"],
    ['-m', 'slow)', 'slow): at column 5: expected end of input; got right parenthesis'],
    ['-m', 'slow gpu', 'slow gpu: at column 6: expected end of input; got identifier'],
    ['-m', '(slow', '(slow: at column 6: expected right parenthesis; got end of input'],
    ['-m', 'or or', 'or or: at column 1: expected not OR left parenthesis OR identifier; got or'],
    ['-m', 'slow @', 'slow @: at column 6: unexpected character "@"'],
    ['-m', '"slow"', '"slow": at column 1: expected not OR left parenthesis OR identifier; got string literal'],
    ['-m', "'slow", `'slow: at column 1: closing quote "'" is missing`],
    ['-m', 'slow=gpu', 'slow=gpu: at column 5: expected end of input; got ='],
    ['-m', 'slow\ngpu', 'slow\ngpu: at column 5: unexpected character "\n"'],
    ['-m', 'slow\u00a0', 'slow\u00a0: at column 5: unexpected character "\u00a0"'],
    ['-m', '  (  ', '  (  : at column 6: expected not OR left parenthesis OR identifier; got end of input'],
    ['-m', 'slow()', 'slow(): at column 6: expected identifier; got right parenthesis'],
    ['-m', 'slow(x)', 'slow(x): at column 7: expected =; got right parenthesis'],
    ['-m', 'slow(x=1,)', 'slow(x=1,): at column 10: expected identifier; got right parenthesis'],
    ['-m', 'slow(1)', 'slow(1): at column 6: not a valid python identifier 1'],
    ['-m', 'slow(class=1)', 'slow(class=1): at column 6: unexpected reserved python keyword `class`'],
    ['-m', 'slow(None=1)', 'slow(None=1): at column 6: unexpected reserved python keyword `None`'],
    ['-m', 'slow(x=abc)', 'slow(x=abc): at column 8: unexpected character/s "abc"'],
    ['-m', 'slow(x=1.5)', 'slow(x=1.5): at column 8: unexpected character/s "1.5"'],
    ['-m', 'slow(x=true)', 'slow(x=true): at column 8: unexpected character/s "true"'],
    ['-m', 'gpu(x=+1)', 'gpu(x=+1): at column 7: unexpected character/s "+1"'],
    ['-m', 'gpu(x=1_000)', 'gpu(x=1_000): at column 7: unexpected character/s "1_000"'],
    ['-m', "slow(x='a)", `slow(x='a): at column 8: closing quote "'" is missing`],
    ['-m', '(slow)(x=1)', '(slow)(x=1): at column 7: expected end of input; got left parenthesis'],
    ['-m', 'slow(x=1)(y=2)', 'slow(x=1)(y=2): at column 10: expected end of input; got left parenthesis'],
    ['-m', "a\\b or slow(x='y')", `a\\b or slow(x='y'): at column 2: escaping with "\\" not supported in marker expression`],
    ['-m', 'slow(x=1, x=2)', 'None: at column 1: keyword argument repeated: x'],
    ['-m', 'slow(x=1, y=2, y=3, x=4)', 'None: at column 1: keyword argument repeated: x'],
    ['-m', 'slow(__debug__=1)', 'None: at column 1: cannot assign to __debug__'],
    // The lexer is lazy: tokens after the first parse error are never looked at.
    ['-m', 'slow) @', 'slow) @: at column 5: expected end of input; got right parenthesis'],
    // Compiler errors come only after the whole expression parsed.
    ['-m', 'slow(x=1, x=2) )', 'slow(x=1, x=2) ): at column 16: expected end of input; got right parenthesis'],
    // A missing closing quote is reported before any backslash.
    ['-m', "a\\b '", `a\\b ': at column 5: closing quote "'" is missing`],
    // Columns count code points, as Python's str does.
    ['-m', '𝒳 or @', '𝒳 or @: at column 6: unexpected character "@"'],
    ['-m', 'a😀b', 'a😀b: at column 2: unexpected character "😀"'],
    ['-m', '𝒳(x=abc)', '𝒳(x=abc): at column 5: unexpected character/s "abc"'],
    ['-m', '𝒳(1=2)', '𝒳(1=2): at column 3: not a valid python identifier 1'],
    ['-m', '𝒳 𝒳', '𝒳 𝒳: at column 3: expected end of input; got identifier'],
    ['-m', "𝒳\\ or a(x='y')", `𝒳\\ or a(x='y'): at column 2: escaping with "\\" not supported in marker expression`],
    ['-m', "𝒳 or a(x='y)", `𝒳 or a(x='y): at column 10: closing quote "'" is missing`],
    ['-m', '(𝒳', '(𝒳: at column 3: expected right parenthesis; got end of input'],
    // Combining marks are not word characters in Python.
    ['-m', 'e\u0301', 'e\u0301: at column 2: unexpected character "\u0301"'],
    ['-m', 'slow(x²=1)', 'slow(x²=1): at column 6: not a valid python identifier x²'],
    ['-m', 'slow(x=١-)', 'slow(x=١-): at column 8: unexpected character/s "١-"'],
    ['-m', 'slow(x=--1)', 'slow(x=--1): at column 8: unexpected character/s "--1"'],
    ['-m', 'slow(x=-)', 'slow(x=-): at column 8: unexpected character/s "-"'],
    ['-m', 'a(x=(', 'a(x=(: at column 5: expected identifier; got left parenthesis'],
    ['-m', 'a(x=1 y=2)', 'a(x=1 y=2): at column 7: expected right parenthesis; got identifier'],
    ['-m', 'a(x=1,,', 'a(x=1,,: at column 7: expected identifier; got ,'],
    ['-m', '()', '(): at column 2: expected not OR left parenthesis OR identifier; got right parenthesis'],
    // -k strips leading whitespace (Python's set) before parsing; echo and column refer to the stripped text.
    ['-k', '  not', 'not: at column 4: expected not OR left parenthesis OR identifier; got end of input'],
    ['-k', '\tor', 'or: at column 1: expected not OR left parenthesis OR identifier; got or'],
    ['-k', 'OOM\u00a0', 'OOM\u00a0: at column 4: unexpected character "\u00a0"'],
    ['-k', '\x1c\x85oom and', 'oom and: at column 8: expected not OR left parenthesis OR identifier; got end of input'],
    ['-k', '\ufeffgpu', '\ufeffgpu: at column 1: unexpected character "\ufeff"'],
  ];
  for (const [option, input, message] of cases) {
    test(`${option} ${JSON.stringify(input)}`, () => {
      assert.equal(errorFor(option, input), `Wrong expression passed to '${option}': ${message}`);
    });
  }

  test('ExpressionError exposes column, detail and echo separately', () => {
    assert.throws(
      () => compileExpression('slow(x=1, x=2)'),
      (err: unknown) =>
        err instanceof ExpressionError && err.column === 1 && err.echo === 'None' && err.detail === 'keyword argument repeated: x',
    );
    assert.throws(
      () => compileExpression('not'),
      (err: unknown) =>
        err instanceof ExpressionError && err.column === 4 && err.echo === 'not' &&
        err.detail === 'expected not OR left parenthesis OR identifier; got end of input',
    );
  });
});

/** The idents (and kwargs) an expression asks the matcher about, in order. */
function identsSeen(source: string, truth: (ident: string) => boolean = () => false): string[] {
  const seen: string[] = [];
  compileExpression(source).evaluate((ident, kwargs) => {
    seen.push(kwargs ? `${ident}${JSON.stringify(kwargs)}` : ident);
    return truth(ident);
  });
  return seen;
}

describe('tokens: keywords versus idents', () => {
  const identCases: [string, string[]][] = [
    ['AND', ['AND']], ['notslow', ['notslow']], ['or_', ['or_']], ['andy', ['andy']], ['Or', ['Or']],
    ['True', ['True']], ['None', ['None']], ['gpu-1', ['gpu-1']], ['a:b', ['a:b']], ['x[0]', ['x[0]']],
    ['a/b', ['a/b']], ['a\\b', ['a\\b']], ['-', ['-']], ['1', ['1']], ['mémoire', ['mémoire']], ['日本', ['日本']],
    ['a.b+c', ['a.b+c']], ['(a)or(b)', ['a', 'b']], ['a\tor\tb', ['a', 'b']], ['𝒳', ['𝒳']], ['x²', ['x²']],
  ];
  for (const [source, idents] of identCases) {
    test(`${JSON.stringify(source)} asks about ${JSON.stringify(idents)}`, () => {
      assert.deepEqual(identsSeen(source), idents);
    });
  }
});

describe('precedence: not > and > or, left to right', () => {
  // Truth of a, b, c for all eight combinations against Python's own rules.
  const combos = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ a: (n & 4) !== 0, b: (n & 2) !== 0, c: (n & 1) !== 0 }));
  const table: [string, (v: { a: boolean; b: boolean; c: boolean }) => boolean][] = [
    ['a or b and c', (v) => v.a || (v.b && v.c)],
    ['a and b or c', (v) => (v.a && v.b) || v.c],
    ['not a or b', (v) => !v.a || v.b],
    ['not a and not b', (v) => !v.a && !v.b],
    ['not (a or b)', (v) => !(v.a || v.b)],
    ['(a or b) and c', (v) => (v.a || v.b) && v.c],
    ['not not a', (v) => v.a],
    ['a and not b or not c and a', (v) => (v.a && !v.b) || (!v.c && v.a)],
  ];
  for (const [source, expected] of table) {
    test(source, () => {
      const expression = compileExpression(source);
      for (const v of combos) assert.equal(expression.evaluate((ident) => v[ident as 'a' | 'b' | 'c']), expected(v), JSON.stringify(v));
    });
  }

  test('and/or short-circuit like Python: later terms are not evaluated', () => {
    assert.deepEqual(identsSeen('a or b', (i) => i === 'a'), ['a']);
    assert.deepEqual(identsSeen('a and b', () => false), ['a']);
    assert.deepEqual(identsSeen('a and b or c', () => false), ['a', 'c']);
  });

  test('empty and blank expressions are false; -m "" and -k "  " mean no filtering', () => {
    assert.equal(compileExpression('').evaluate(() => true), false);
    assert.equal(compileExpression(' \t ').evaluate(() => true), false);
    assert.equal(compileMarkOption(''), null);
    assert.equal(compileMarkOption(' ')?.evaluate(() => true), false);
    assert.equal(compileKeywordOption(' \u3000\u2028'), null);
    assert.equal(compileKeywordOption('a')?.source, 'a');
  });
});

describe('kwargs', () => {
  const parsed: [string, Record<string, MarkValue>][] = [
    ['m(x=1)', { x: 1 }], ['m(x=-5)', { x: -5 }], ['m(x=007)', { x: 7 }], ['m(x=-0)', { x: 0 }],
    ["m(x='a b')", { x: 'a b' }], ['m(x="it\'s")', { x: "it's" }], ["m(x='')", { x: '' }], ['m(x=True)', { x: true }],
    ['m(x=False)', { x: false }], ['m(x=None)', { x: null }], ['m( x = 1 , y = 2 )', { x: 1, y: 2 }],
    ['m(x=١٢)', { x: 12 }], ['m(x=-٣)', { x: -3 }], ['m(x=𝟗)', { x: 9 }], ['m(match=1)', { match: 1 }],
    ['m(é=1)', { é: 1 }], ['m(_=1)', { _: 1 }],
  ];
  for (const [source, kwargs] of parsed) {
    test(`${source} passes ${JSON.stringify(kwargs)}`, () => {
      let received: unknown;
      compileExpression(source).evaluate((_ident, k) => ((received = k), true));
      assert.deepEqual({ ...(received as object) }, kwargs);
    });
  }

  test('a kwarg named __proto__ stays a plain entry', () => {
    let received: Readonly<Record<string, MarkValue>> | undefined;
    compileExpression('m(__proto__=1)').evaluate((_ident, k) => ((received = k), true));
    assert.deepEqual(Object.keys(received!), ['__proto__']);
    assert.equal(markMatcher([{ name: 'm', kwargs: {} }])('m', received), false);
  });

  const marks = [
    { name: 'custom', kwargs: { key: 1, mode: 'fast' } },
    { name: 'custom', kwargs: { key: 'x' } },
    { name: 'flag', kwargs: { on: true, off: false, big: 5n, none: null, undef: undefined, weight: 1.0, half: 0.5 } },
    { name: 'bare', kwargs: {} },
  ];
  const matching: [string, boolean][] = [
    ['custom', true], ['Custom', false], ['missing', false], ['bare', true], ['bare(x=1)', false],
    ['custom(key=1)', true], ["custom(key='1')", false], ['custom(key=True)', true], ['custom(key=2)', false],
    ["custom(key=1, mode='fast')", true], ["custom(key='x', mode='fast')", false], ["custom(key='x')", true],
    ['custom(mode=None)', false], ['flag(on=True)', true], ['flag(on=1)', true], ['flag(on=0)', false],
    ['flag(off=False)', true], ['flag(off=0)', true], ['flag(off=None)', false], ['flag(big=5)', true],
    ['flag(big=True)', false], ['flag(none=None)', true], ['flag(none=0)', false], ['flag(undef=None)', true],
    ['flag(absent=None)', false], ['flag(weight=1)', true], ['flag(weight=True)', true], ['flag(half=0)', false],
    ["flag(on='True')", false],
  ];
  const matcher = markMatcher(marks);
  for (const [source, expected] of matching) {
    test(`-m ${source} is ${expected}`, () => assert.equal(compileExpression(source).evaluate(matcher), expected));
  }

  test('-k refuses calls, but only when evaluation reaches them', () => {
    const matcher = keywordMatcher(['test_one', 'TestThing']);
    assert.equal(compileExpression('test or gpu(x=1)').evaluate(matcher), true);
    assert.equal(compileExpression('not test and gpu(x=1)').evaluate(matcher), false);
    assert.throws(() => compileExpression('gpu(x=1)').evaluate(matcher), KeywordCallError);
    assert.throws(() => compileExpression('THING and gpu(x=1)').evaluate(matcher), KeywordCallError);
  });
});

describe('keywordMatcher', () => {
  const table: [string[], string, boolean][] = [
    [['TestOOMDetection'], 'oomdet', true], [['test_x'], 'TEST_X', true], [['test_x'], 'test_y', false],
    [['Überlast'], 'ÜBERLAST', true],
    // Final sigma: Python and JavaScript both lower-case a word-final Σ to ς, and a lone Σ to σ.
    [['\u039f\u0394\u039f\u03a3'], '\u03bf\u03b4\u03bf\u03c3', false], [['\u039f\u0394\u039f\u03a3'], '\u03bf\u03b4\u03bf\u03c2', true],
    [['\u039f\u0394\u039f\u03a3'], '\u039f\u0394\u039f\u03a3', true], [['\u039f\u0394\u039f\u03a3'], '\u03a3', false],
    // A name boundary ends a word for final sigma too: ΑΣ|ΑΣ lowers to ας and ας.
    [['\u0391\u03a3', '\u0391\u03a3'], '\u03b1\u03c2', true], [['\u0391\u03a3', '\u0391\u03a3'], '\u03b1\u03c3', false],
    [['straße'], 'STRASSE', false], [['a', 'b'], 'b', true], [['ab', 'cd'], 'bc', false], [[], 'a', false],
  ];
  for (const [names, ident, expected] of table) {
    test(`${JSON.stringify(ident)} in ${JSON.stringify(names)} is ${expected}`, () => {
      assert.equal(keywordMatcher(names)(ident), expected);
    });
  }
});

describe('nesting limits (pytest crashes with RecursionError around 320 parentheses / 965 nots)', () => {
  test('320 nested parentheses and 960 nots still compile', () => {
    assert.equal(compileExpression(`${'('.repeat(320)}a${')'.repeat(320)}`).evaluate(() => true), true);
    assert.equal(compileExpression(`${'not '.repeat(960)}a`).evaluate(() => true), true);
  });

  test('deeper nesting is a clean ExpressionError at the first token over the limit', () => {
    assert.equal(errorFor('-m', `${'('.repeat(10_000)}a${')'.repeat(10_000)}`)?.replace(/\(+a\)+/, '…'),
      "Wrong expression passed to '-m': …: at column 321: expression is nested too deeply");
    const nots = `${'not '.repeat(10_000)}a`;
    assert.throws(() => compileExpression(nots), (err: unknown) => err instanceof ExpressionError && err.column === 961 * 4 - 3);
  });

  test('flat chains of any length need no stack depth', () => {
    const chain = Array.from({ length: 100_000 }, (_, i) => `t${i}`).join(' or ');
    assert.equal(compileExpression(chain).evaluate((ident) => ident === 't99999'), true);
  });
});
