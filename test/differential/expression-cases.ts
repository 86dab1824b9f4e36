// The expressions asked of real pytest and of expression.ts, on the mirror suite (mirror-suite.ts).

import { seededRandom } from '../support/prng.js';

/** One pytest invocation: `-k` and/or `-m` values (undefined = option absent). */
export interface ExpressionCase {
  readonly k?: string;
  readonly m?: string;
}

/**
 * The argv for a case. `-k=VALUE` keeps argparse from reading a value that starts with `-` as an option or
 * one that starts with `@` as an argument file, so the expression reaches pytest byte for byte.
 */
export function caseArgs(c: ExpressionCase): string[] {
  return [...(c.k !== undefined ? [`-k=${c.k}`] : []), ...(c.m !== undefined ? [`-m=${c.m}`] : [])];
}

const MARK_EXPRESSIONS: readonly string[] = [
  // no filtering / blank
  '', ' ', '\t', '  \t ',
  // plain marker names: exact and case-sensitive
  'gpu', 'slow', 'stress', 'oom', 'recovery', 'edge', 'größe', 'gpu-1', 'parametrize', 'custom', 'tier',
  'GPU', 'Slow', 'slo', 'gpu-', 'gpu-1 or größe', 'Größe',
  // precedence and grouping
  'oom or stress and recovery', '(oom or stress) and recovery', 'not oom or recovery', 'not (oom or recovery)',
  'not not slow', 'not not not slow', 'gpu and (oom or recovery)', 'gpu and oom or recovery', 'oom and not recovery',
  'gpu and not stress and not oom', 'not gpu and not edge', 'edge or gpu', '((((oom))))', '(oom)or(stress)',
  'not(oom)', 'gpu and(oom)', '(cuda)or(fallback)', 'slow and slow', 'oom or oom or oom',
  // keywords are lowercase and whole-word only; True/False/None are plain names
  'True', 'False', 'None', 'not None', 'not True', 'AND', 'notslow', 'or_', 'andy', 'Or', 'NOT slow',
  // spacing: only space and TAB separate; leading/trailing space is fine for -m
  ' gpu ', '\tgpu\t', '  (  oom  )  ', 'gpu\tand\toom',
  // kwargs: equality in Python's sense
  'custom(key=1)', 'custom(key=2)', 'custom(key=True)', 'custom(key=False)', 'custom(key=007)', 'custom(key=7)',
  'custom(key=-1)', 'custom(key=-5)', 'custom(key=-0)', "custom(key='1')", 'custom(key="1")', "custom(key='')",
  'custom(key="")', "custom(key='a b')", 'custom(other="it\'s")', 'custom(key=None)', 'custom(mode=None)',
  "custom(key=2, mode='fast')", "custom(mode='fast', key=2)", "custom(key=1, mode='fast')", 'custom (key=1)',
  'custom( key = 1 )', 'custom(\tkey=1\t)', 'custom(key=1)or custom(key=2)', 'custom(key=1)and(gpu)',
  "tier(level='a')", "tier(level='b')", "tier(level='c')", "tier(level='a', rank=2)", 'tier(rank=2)',
  'tier(rank=True)', "tier(level='A')", 'flag(on=True)', 'flag(on=1)', 'flag(on=False)', 'flag(on=0)',
  'flag(on=-0)', 'flag(on=None)', 'opt(v=None)', 'opt(v=False)', 'opt(w=None)', 'weight(w=1)', 'weight(w=True)',
  'weight(w=0)', 'weight(tags=1)', "parametrize(ids='1MB')", 'slow(x=1)', 'not gpu(x=1)', 'gpu(x=1) or oom',
  'edge and custom(key=None)', 'custom(key=١)', 'custom(key=٧)', 'custom(key=-١)', 'custom(key=-٥)',
  'custom(match=1)', 'custom(_=1)', 'custom(é=1)', "custom(key='é')", 'custom(__proto__=1)', 'custom(constructor=1)',
  // parse errors
  'not', 'slow)', 'slow gpu', '(slow', 'or or', 'slow @', '"slow"', "'slow", 'slow=gpu', 'slow\ngpu', 'and', 'or',
  'not not', '()', ')', 'a)(', 'gpu or', 'gpu and', '(gpu))', 'gpu (', 'slow\u00a0', '\u00a0slow', '  (  ', 'x\ty z',
  'gpu or ~slow', 'gpu && oom', 'gpu || oom', '!slow', 'gpu;', 'gpu#', 'gpu\r', 'gpu\u3000', 'e\u0301', 'a😀b',
  '𝒳 or @', 'slow) @',
  // kwarg errors
  'slow()', 'slow(x)', 'slow(x=1,)', 'slow(1)', 'slow(class=1)', 'slow(None=1)', 'slow(x=abc)', 'slow(x=1.5)',
  'slow(x=true)', 'gpu(x=+1)', 'gpu(x=1_000)', "slow(x='a)", '(slow)(x=1)', 'slow(x=1)(y=2)', "a\\b or slow(x='y')",
  "slow(x='a\\b')", "a\\b '", 'slow(x=1, x=2)', 'slow(x=1, y=2, x=3)', "custom(key='x', key='y')", 'slow(__debug__=1)',
  'slow(x=1, __debug__=2)', 'gpu(x=1, x=2) or (', 'custom(key=--1)', 'custom(key=-)', 'custom(ke-y=1)',
  'custom(1key=1)', 'custom(x²=1)', 'custom(key=1', 'custom(key=1 mode=2)', 'custom(key==1)', 'custom(=1)',
  'custom(key=,)', 'custom(key=(1))', "custom(key='1'')", "custom(key='1\")", "custom('1')", 'custom(key=1)not',
  'custom(async=1)', 'custom(True=1)', 'custom(key=Tru)', 'custom(key=١-)', 'custom(key=0x1)', 'custom(key=1e3)',
  // backslashes are ident characters until a string literal appears
  'a\\b', '\\', 'gpu\\', 'a/b', 'x[0]', 'a:b', '-', '1', '+', '.',
];

const KEYWORD_EXPRESSIONS: readonly string[] = [
  // lstrip (Python's whitespace set) and blank values
  '', ' ', '\t', '\n', '\u00a0', '\u3000', '\u00a0OOM', 'OOM\u00a0', '\u3000oom', '\x1cgpu', '\u0085gpu', '\ufeffgpu',
  '  not', '\tor', '\n\noom and', ' \t gpu',
  // case-insensitive substrings of names
  'oom', 'OOM', 'oOm', 'TestGPU', 'testgpu', 'AND', 'NOT', 'Handling', 'memory or oom', 'not slow', 'cuda',
  'fallback', 'stress', 'gpu', 'recovery', 'notification', 'edge', 'test_', 'Test', 'test', 'xyz',
  // what names exist: file names, directories under rootdir, marker names, pytestmark; never node ids
  'mark', 'ark', 'stm', 'pytestmark', '.', '_', '::', 'suites/', '/', 'TestOOMDetection::test_oom_detection',
  'suites', 'deep', 'Harness', 'harness_helper', 'test_edge.py', '.py', 'py', 'test_memory', 'parametrize',
  'tier', 'custom', 'opt', 'flag', 'weight', 'gpu-1', 'gpu-', '-1', '-', '1',
  // parametrize ids are part of the test name
  '1MB', '50mb', 'test_alloc_sizes[1MB]', 'sizes[', '[50MB]', 'mb]', 'test_alloc_sizes',
  // Unicode names and case folding
  'mémoire', 'MÉMOIRE', 'überlast', 'ÜBERLAST', 'größe', 'GRÖSSE', 'GRÖẞE', '日本', 'test_日本',
  // keywords and constants
  'True', 'true', 'None', 'not None', 'not_slow', 'or_and', 'test_or_and', 'not test_or_and', 'and_', 'False',
  // calls parse, but evaluating one fails, lazily
  'test or gpu(x=1)', 'not test and gpu(x=1)', 'gpu or slow(x=1)', 'gpu(x=1)', 'slow(x=1) and gpu',
  'edge and custom(key=None)', 'xyz and custom(key=1)', 'custom(key=1) or test', 'not (test or gpu(x=1))',
  // values that argparse would otherwise misread (passed as -k=VALUE)
  '-gpu or cuda', '-gpu', '@OOM', '-1.5',
  // errors
  '(', 'oom and', 'oom)', 'not', 'a b', 'oom @', '"oom"', "'oom", 'oom=1', 'oom\ngpu', 'gpu(x)', 'gpu()',
  "a\\b or gpu(x='y')", 'gpu(x=1, x=2)', 'gpu(x=1.5)', 'OOM\u00a0and gpu',
];

const COMBINED: readonly ExpressionCase[] = [
  { k: 'oom', m: 'recovery' },
  { k: 'memory', m: 'not slow' },
  { k: '(', m: ')' },
  { k: 'oom', m: '(' },
  { k: 'gpu(x=1)', m: '(' },
  { k: 'test or gpu(x=1)', m: 'slow' },
  { k: 'xyz', m: '(' },
  { k: 'Test', m: "custom(key=1) or tier(level='a')" },
  { k: '', m: '' },
  { k: ' ', m: ' ' },
];


const GENERATED_VOCABULARY = [
  'gpu', 'slow', 'oom', 'recovery', 'stress', 'edge', 'custom(key=1)', "tier(level='a')", 'flag(on=True)', 'and',
  'and', 'or', 'or', 'not', 'not', '(', ')', 'Test', 'memory', 'cuda', 'True', 'None', 'mark', '1MB', 'mémoire',
  '=', ',', '@', "'x'", '-', '.',
];

/** Token soup: mostly valid, sometimes not, always deterministic. */
function generatedExpressions(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const expressions: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random() * 7);
    const tokens = Array.from({ length }, () => GENERATED_VOCABULARY[Math.floor(random() * GENERATED_VOCABULARY.length)]!);
    expressions.push(tokens.join(random() < 0.8 ? ' ' : ''));
  }
  return expressions;
}

export const EXPRESSION_CASES: readonly ExpressionCase[] = [
  ...MARK_EXPRESSIONS.map((m) => ({ m })),
  ...KEYWORD_EXPRESSIONS.map((k) => ({ k })),
  ...COMBINED,
  ...generatedExpressions(10, 20240901).map((m) => ({ m })),
  ...generatedExpressions(10, 20240902).map((k) => ({ k })),
];

/**
 * Inputs where pytest itself crashes (INTERNALERROR, exit 3) and we deliberately do something sensible instead.
 * `ours` is what expression.ts does: a clean usage error (4) or a normal selection (0).
 */
export const PYTEST_CRASH_CASES: readonly { readonly case: ExpressionCase; readonly pythonError: string; readonly ours: 0 | 4 | 5 }[] = [
  { case: { m: 'custom(key=²)' }, pythonError: 'ValueError', ours: 4 },
  { case: { m: 'custom(key=①)' }, pythonError: 'ValueError', ours: 4 },
  { case: { m: `custom(key=${'1'.repeat(4301)})` }, pythonError: 'ValueError', ours: 4 },
  { case: { m: `${'('.repeat(10_000)}gpu${')'.repeat(10_000)}` }, pythonError: 'RecursionError', ours: 4 },
  { case: { k: `${'not '.repeat(2000)}gpu` }, pythonError: 'RecursionError', ours: 4 },
  { case: { m: Array.from({ length: 2000 }, () => 'gpu').join(' or ') }, pythonError: 'RecursionError', ours: 0 },
  // Not the expression language: argparse turns the explicit value `--` into an empty list and pytest calls
  // .lstrip() on it (AttributeError). As an expression, `--` is a plain ident that matches no name.
  { case: { k: '--' }, pythonError: 'AttributeError', ours: 5 },
];
