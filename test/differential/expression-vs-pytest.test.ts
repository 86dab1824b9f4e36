// Differential test: real pytest (in one Python process) against expression.ts, on one shared mirror suite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileExpression, ExpressionError, type MarkValue } from '../../runner/expression.js';
import { caseArgs, EXPRESSION_CASES, PYTEST_CRASH_CASES } from './expression-cases.js';
import { MIRROR_SUITE, mirrorItems } from './mirror-suite.js';
import { expressionOutcome } from './expected-selection.js';
import { pytestUnavailableReason, runPytestCollect, runPytestCompile, type CompileOutcome } from './pytest-oracle.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the pytest differential tests: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;


const items = mirrorItems(MIRROR_SUITE);
const crashCases = PYTEST_CRASH_CASES.map((c) => c.case);
const allCases = [...EXPRESSION_CASES, ...crashCases];
/** Rerun in-process and in fresh processes: an -m kwarg match, a parse error, a lazy -k call error. */
const recheck = [allCases.findIndex((c) => c.m === 'custom(key=1)'), allCases.findIndex((c) => c.m === 'slow)'), allCases.findIndex((c) => c.k === 'gpu or slow(x=1)')];

const started = performance.now();
const oracle = unavailable ? undefined : runPytestCollect(MIRROR_SUITE, allCases.map(caseArgs), recheck);
if (oracle) console.log(`pytest ${oracle.pytest}: ${allCases.length} cases in ${Math.round(performance.now() - started)} ms`);

test('the differential set is large and varied', () => {
  assert.ok(EXPRESSION_CASES.length >= 250, `${EXPRESSION_CASES.length} cases`);
  const outcomes = EXPRESSION_CASES.map((c) => expressionOutcome(c, items).exit);
  for (const exit of [0, 4, 5]) assert.ok(outcomes.filter((e) => e === exit).length >= 30, `at least 30 cases exit ${exit}`);
});

test('pytest collects the mirror in the order mirrorItems() predicts', { skip }, () => {
  assert.deepEqual(oracle!.results[0]!.ids, items.map((item) => item.nodeid));
});

test('repeated in-process pytest runs behave like fresh processes', { skip }, () => {
  assert.deepEqual(oracle!.inconsistent, []);
});

test('every -k / -m case: same exit code, same selected ids, same ERROR line as pytest', { skip }, () => {
  const mismatches: object[] = [];
  EXPRESSION_CASES.forEach((c, index) => {
    const theirs = oracle!.results[index]!;
    const ours = expressionOutcome(c, items);
    const same = theirs.exit === ours.exit && theirs.stderr === ours.stderr && (ours.exit === 4 || JSON.stringify(theirs.ids) === JSON.stringify(ours.ids));
    if (!same) mismatches.push({ case: c, pytest: { exit: theirs.exit, ids: theirs.ids, stderr: theirs.stderr }, ours });
  });
  assert.deepEqual(mismatches, []);
});

test('where pytest crashes (INTERNALERROR), we refuse cleanly or just work', { skip }, () => {
  PYTEST_CRASH_CASES.forEach((crash, i) => {
    const theirs = oracle!.results[EXPRESSION_CASES.length + i]!;
    assert.equal(theirs.exit, 3, `pytest exit for case ${i}`);
    assert.match(theirs.stdout + theirs.stderr, new RegExp(`INTERNALERROR> ${crash.pythonError}`));
    const ours = expressionOutcome(crash.case, items);
    assert.equal(ours.exit, crash.ours, `our exit for case ${i}: ${ours.stderr}`);
    if (ours.exit === 4) assert.match(ours.stderr, /^ERROR: Wrong expression passed to '-[km]': .*: at column \d+: /s);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Parser-level fuzzing against pytest's own Expression class (thousands of inputs, one Python process).

const FUZZ_PIECES = [
  'a', 'b', 'gpu', 'slow', 'and', 'or', 'not', 'AND', 'True', 'None', 'False', 'class', '__debug__', 'x', 'y',
  '1', '-5', '007', '١', '²', 'é', '𝒳', '\u0301', '(', ')', '(', ')', '=', ',', "'", '"', "'s'", '"t"', '\\', '@',
  ' ', ' ', ' ', '\t', '\n', '\u00a0', '-', '.', ':', '[', ']', '/', '+', '😀', '_',
];

function fuzzInputs(count: number, seed: number): { input: string; truthy: string[] }[] {
  let state = seed;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const names = ['a', 'b', 'gpu', 'slow', 'x', 'y', 'True', 'None', 'a()', 'b()', 'gpu()', 'x()'];
  return Array.from({ length: count }, () => {
    const input = Array.from({ length: 1 + random(12) }, () => FUZZ_PIECES[random(FUZZ_PIECES.length)]!).join('');
    const truthy = names.filter(() => random(2) === 0);
    return { input, truthy };
  });
}

function ourCompileOutcome(input: string, truthy: readonly string[]): CompileOutcome {
  let expression;
  try {
    expression = compileExpression(input);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return { error: { text: err.echo === 'None' ? null : err.echo, offset: err.column, msg: err.detail } };
  }
  const truth = new Set(truthy);
  const calls: [string, Record<string, MarkValue> | null][] = [];
  const remember = (call: [string, Record<string, MarkValue> | null]): void => {
    if (!calls.some((seen) => JSON.stringify(seen) === JSON.stringify(call))) calls.push(call);
  };
  const result = expression.evaluate((name, kwargs) => {
    remember([name, kwargs ? { ...kwargs } : null]);
    return truth.has(kwargs ? `${name}()` : name);
  });
  return { result, calls };
}

test('parser fuzz: 6,000 random inputs compile, fail and evaluate exactly as pytest Expression does', { skip }, () => {
  const inputs = [...fuzzInputs(6000, 7), ...[...EXPRESSION_CASES].flatMap((c) => [c.k, c.m]).filter((s) => s !== undefined).map((input) => ({ input, truthy: ['gpu', 'oom()'] }))];
  const theirs = runPytestCompile(inputs);
  const mismatches: object[] = [];
  inputs.forEach(({ input, truthy }, i) => {
    const pythonOutcome = theirs[i]!;
    if ('crash' in pythonOutcome) return; // pytest's own crash territory: see PYTEST_CRASH_CASES
    const ours = ourCompileOutcome(input, truthy);
    if (JSON.stringify(ours) !== JSON.stringify(pythonOutcome)) mismatches.push({ input, truthy, pytest: pythonOutcome, ours });
  });
  assert.deepEqual(mismatches.slice(0, 10), []);
});
