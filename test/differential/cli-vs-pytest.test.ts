// End-to-end differential: the pytest-ts CLI on a TypeScript mirror against real `pytest` on the Python mirror of
// the same suite (mirror-suite.ts). Every case runs `--collect-only -q -p no:cacheprovider <args>` on both sides;
// the selected ids, the summary line, the exit code and the stderr lines must agree.
//
// pytest-ts runs in this process through `main(argv, cwd)` (about 7 ms a case instead of 300 ms for a fresh
// binary); a sample of cases also goes through the real binary to show that the in-process path is faithful.
// pytest runs in two background Python processes meanwhile (pytest_driver.py, many pytest.main calls each).
//
// Known, deliberate differences, each checked rather than skipped:
// - Names: a TypeScript module is `test_x.ts`, and a decorated TypeScript function has no `__dict__`, so no
//   `pytestmark` keyword. `-k py`, `-k .py`, `-k mark` and the like select differently by design. For those cases
//   (found by predicting both sides with expression.ts over mirrorItems()), each runner is checked against its own
//   prediction instead of against the other.
// - On a `-k`/`-m` error pytest has already listed the items; pytest-ts lists none (PYTEST_SEMANTICS.md allows it).
//   For those cases stdout is not compared; the exit code and the ERROR line are.
// - Argument-parser errors: pytest prints argparse's usage block, pytest-ts one line (`ERROR: pytest-ts: error:
//   <message>`); the message after `error:` and the exit code must agree.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { mapLimit, runAsync } from '../cli/parallel.js';
import { mainInProcess, pytestCollectParallel, type CliOutcome } from './cli-runners.js';
import { caseArgs, EXPRESSION_CASES, type ExpressionCase } from './expression-cases.js';
import { expressionOutcome } from './expected-selection.js';
import { MIRROR_SUITE, mirrorItems } from './mirror-suite.js';
import { pytestUnavailableReason, writePythonMirror, type PytestOutcome } from './pytest-oracle.js';
import { writeTsMirror } from './ts-mirror.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the CLI-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

const FIXED_ARGS = ['--collect-only', '-q', '-p', 'no:cacheprovider'];

// ---------------------------------------------------------------------------------------------------------
// The cases

/** A node-id, path or option case, written for the Python mirror: `{root}` is the rootdir, `.py` becomes `.ts`. */
interface PathCase {
  readonly args: readonly string[];
  /** What the case shows (for failure messages). */
  readonly why: string;
}

const R = 'suites/test_recovery.py';
const M = 'suites/test_memory.py';

const PATH_CASES: readonly PathCase[] = [
  { args: [], why: 'no path: the rootdir' },
  { args: ['suites'], why: 'a directory' },
  { args: ['suites/'], why: 'a trailing slash' },
  { args: ['./suites'], why: 'a ./ prefix' },
  { args: ['.'], why: 'the rootdir as .' },
  { args: ['suites/deep'], why: 'a subdirectory' },
  { args: ['{root}/suites/test_recovery.py::TestOOMDetection'], why: 'an absolute path' },
  { args: ['suites', R], why: 'a file inside a directory already given collapses' },
  { args: [`${R}::TestOOMDetection`, `${R}::TestOOMDetection::test_oom_detection`], why: 'a test inside a class already given collapses' },
  { args: [R, R], why: 'the same file twice' },
  { args: [`${R}::TestOOMDetection::test_oom_detection`, `${R}::TestOOMDetection`], why: 'test first, then its class: the class adds the rest' },
  { args: [M, R], why: 'files in argument order, not sorted' },
  { args: [`${R}::TestOOMDetection::test_oom_notification`, `${R}::TestOOMDetection`], why: 'a covered node id is dropped, so the class order wins' },
  { args: [`suites/deep/../test_recovery.py::TestOOMDetection`], why: 'a path through ..' },
  { args: [''], why: 'an empty argument is the invocation directory' },
  { args: [`./${R}::TestOOMDetection`], why: 'a ./ prefix on a node id' },
  { args: [`${R}::test_plain_function`], why: 'a module-level function' },
  { args: [`${M}::TestMemoryStress::test_alloc_sizes`], why: 'a parametrized test: every parameter' },
  { args: [`${M}::TestMemoryStress::test_alloc_sizes[50MB]`], why: 'one parameter' },
  { args: ['suites/deep/test_edge.py::TestÜberlast::test_日本'], why: 'unicode names' },
  { args: ['suites/nonexistent.py'], why: 'a missing file' },
  { args: ['suites/nope'], why: 'a missing directory' },
  { args: [`${R}::TestNope`], why: 'a missing class' },
  { args: [`${R}::TestOOMDetection::test_nope`], why: 'a missing test in a class' },
  { args: [`${R}::testoomdetection`], why: 'node ids are case-sensitive' },
  { args: [`${R}::test_oom_detection`], why: 'a method looked up at module level' },
  { args: [`${R}::TestOOMDetection::test_oom_detection[1]`], why: '[param] on a non-parametrized test' },
  { args: [`${M}::TestMemoryStress::test_alloc_sizes[2MB]`], why: 'an unknown parameter id' },
  { args: [`${R}::`], why: 'a trailing :: after a file' },
  { args: [`${R}::TestOOMDetection::`], why: 'a trailing :: after a class' },
  { args: [`${R}::TestOOMDetection::test_oom_detection::`], why: 'a trailing :: after a method' },
  { args: [`${R}::test_plain_function::`], why: 'a trailing :: after a module-level function' },
  { args: [`${R}::TestOOMDetection::test_oom_detection::extra`], why: 'a name below a function' },
  { args: ['pytest.ini'], why: 'a file that is not a test module' },
  { args: [`${R}[1]`], why: '[...] on a path' },
  { args: [`${M}::TestMemoryStress::test_alloc_sizes[1MB]::x`], why: 'the parametrization runs to the end of the argument' },
  { args: ['suites::TestOOMDetection'], why: 'a name after a directory' },
  { args: [`${R}::TestMemoryStressHarness`], why: 'the harness class: nothing, exit 5, no error' },
  { args: [`${R}::TestMemoryStressHarness::test_harness_helper`], why: 'a test of the harness class' },
  { args: [`${R}::TestOOMDetection::test_oom_detection`, 'suites/nope.py'], why: 'one missing path among good ones' },
  { args: [`${R}::TestOOMDetection::test_oom_detection`, `${R}::TestNope`], why: 'one bad node id among good ones' },
  { args: [`${R}::TestNope`, `${M}::TestNope`], why: 'two bad node ids: both reported' },
  { args: ['--deselect', `${R}::TestOOM`], why: '--deselect is a plain prefix' },
  { args: ['--deselect', 'suites/test_rec'], why: '--deselect of a file-name prefix' },
  { args: ['--deselect', 'suites'], why: '--deselect of everything: exit 5' },
  { args: ['--deselect', `./${R}`], why: '--deselect does not normalise ./' },
  { args: ['--deselect', 'TestOOMDetection'], why: '--deselect is not a keyword' },
  { args: ['--deselect', 'suites/nope.py::x'], why: 'an unknown --deselect is ignored' },
  { args: [`--deselect=${M}`, '--deselect=suites/deep'], why: '--deselect repeated, = form' },
  { args: ['--deselect', `${M}::TestMemoryStress::test_alloc_sizes[1MB]`], why: '--deselect of one parameter' },
  { args: ['--deselect', `${R}::TestOOMDetection`, '-m', '('], why: '--deselect, then the -m error' },
  { args: [`${R}::TestOOMDetection`, '-k', 'notification'], why: 'a node id with -k' },
  { args: [`${R}::TestOOMDetection::test_oom_detection`, '-m', 'slow'], why: 'a node id with -m: 1 deselected' },
  { args: [`${R}::TestNope`, '-m', '('], why: 'a node-id error beats an -m error' },
  { args: ['suites/nope.py', '-k', '('], why: 'a path error beats a -k error' },
  { args: [R, '--deselect', `${R}::TestOOMDetection`, '-k', 'Test', '-m', 'recovery'], why: 'deselect, -k and -m summed' },
  { args: [`${R}::TestOOMDetection`, '-k', 'nothing_matches'], why: 'a node id, everything deselected by -k' },
  { args: ['suites/deep', '-m', 'oom'], why: 'a directory, everything deselected by -m' },
  { args: [`${M}::TestMemoryStress::test_alloc_sizes[1MB]`, '--deselect', `${M}::TestMemoryStress::test_alloc`], why: 'a parameter deselected by prefix' },
  { args: [`${R}::TestOOMDetection`, '-k', 'gpu(x=1)', '-m', '('], why: '-k evaluated (call error) before -m is compiled' },
  // Argument parsing (only the message after `error:` is compared).
  { args: ['-k'], why: '-k without a value' },
  { args: ['-m'], why: '-m without a value' },
  { args: ['-k', '-gpu'], why: 'a -k value that looks like an option' },
  { args: ['-k', '@OOM'], why: 'a -k value that looks like an argument file' },
  { args: ['-kOOM'], why: 'an attached -k value' },
  { args: ['-m', 'slow', '-m', 'gpu'], why: 'the last -m wins' },
  { args: ['--deselect'], why: '--deselect without a value' },
];

/** Where both runners' answers depend on names they spell differently (.py/.ts, pytestmark), see the header. */
const predict = expressionOutcome;

const PY_ITEMS = mirrorItems(MIRROR_SUITE, '.py', true);
const TS_ITEMS = mirrorItems(MIRROR_SUITE, '.ts', false);
const toTs = (text: string) => text.replace(/\.py\b/g, '.ts');

/** True when the two runners must differ on this expression because of how they spell names. */
function namingDependent(c: ExpressionCase): boolean {
  const py = predict(c, PY_ITEMS);
  const ts = predict(c, TS_ITEMS);
  return py.exit !== ts.exit || py.stderr !== ts.stderr || JSON.stringify(py.ids.map(toTs)) !== JSON.stringify(ts.ids);
}

// ---------------------------------------------------------------------------------------------------------
// Normalisation and comparison

function normalise(text: string, rootdir: string): string {
  return text
    .replaceAll(rootdir, '<rootdir>')
    .replaceAll(basename(rootdir), '<rootname>')
    .replace(/ in \d+(?:\.\d+)?s\b/g, ' in <t>');
}

/** The node ids of `--collect-only -q` output: the lines before the first blank line. */
function listedIds(stdout: string): string[] {
  const ids: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') break;
    if (line.includes('::')) ids.push(line);
  }
  return ids;
}

/** argparse's usage block and pytest-ts's one line, reduced to the message after `error: `. */
function argumentError(stderr: string): string | undefined {
  return /(?:^|\s)\S+: error: (.*)$/m.exec(stderr)?.[1];
}

const isExpressionError = (stderr: string) => /^ERROR: (Wrong expression passed to|Keyword expressions do not support)/.test(stderr);

interface Comparable {
  exit: number;
  stdout: string;
  stderr: string;
}

/** What must agree between the two runners, after normalisation. */
function comparable(outcome: { exit: number; stdout: string; stderr: string }, rootdir: string, translate: boolean): Comparable {
  const stdout = toTs(normalise(outcome.stdout, rootdir));
  let stderr = normalise(outcome.stderr, rootdir);
  if (translate) stderr = toTs(stderr);
  if (isExpressionError(stderr)) return { exit: outcome.exit, stdout: '(listing not compared)', stderr };
  const parserMessage = argumentError(stderr);
  if (parserMessage !== undefined) return { exit: outcome.exit, stdout, stderr: `error: ${parserMessage}` };
  return { exit: outcome.exit, stdout, stderr };
}

// ---------------------------------------------------------------------------------------------------------
// Running both sides

/**
 * Two thirds of the expression cases of the expression-level differential (expression-vs-pytest.test.ts runs all
 * of them against pytest's Expression class); a pytest.main call costs ~45 ms, and the file must stay quick.
 */
const CLI_EXPRESSION_CASES = EXPRESSION_CASES.filter((_, i) => i % 3 !== 2);
const EXPRESSION_ARGS = CLI_EXPRESSION_CASES.map(caseArgs);
/** Cases run through the real binary too: a spread of exits 0, 4 and 5 and of paths, ids and expressions. */
const BINARY_SAMPLE = {
  expressions: [1, 17, 40, 60, 90, 120, 150, 180, 210, 235],
  paths: [0, 6, 12, 15, 19, 23, 27, 36, 45, 53],
};

function indexOfCase(index: number, what: string): number {
  if (index < 0) throw new Error(`the case list has no case ${what}`);
  return index;
}

/** Rerun by the driver in-process and in fresh processes: a kwarg match, a parse error, a node-id error, a deselect. */
const RECHECK = [
  indexOfCase(CLI_EXPRESSION_CASES.findIndex((c) => c.m === 'custom(key=1)'), '-m custom(key=1)'),
  indexOfCase(CLI_EXPRESSION_CASES.findIndex((c) => c.m === '(slow'), '-m (slow'),
  EXPRESSION_ARGS.length + indexOfCase(PATH_CASES.findIndex((c) => c.why === 'a missing test in a class'), 'missing test'),
  EXPRESSION_ARGS.length + indexOfCase(PATH_CASES.findIndex((c) => c.why === '--deselect is a plain prefix'), 'deselect prefix'),
];

interface Results {
  pytest?: { version: string; expressions: readonly PytestOutcome[]; paths: readonly PytestOutcome[]; inconsistent: readonly unknown[] };
  ours: { expressions: CliOutcome[]; paths: CliOutcome[] };
  binary: { expressions: CliOutcome[]; paths: CliOutcome[] };
  firstAgain: CliOutcome;
  cleanliness: { sigint: number; sigterm: number; exitCode: typeof process.exitCode; writeRestored: boolean };
  timings: Record<string, number>;
}

const workDir = mkdtempSync(join(tmpdir(), 'pytest-ts-e2e-'));
const pyRoot = writePythonMirror(MIRROR_SUITE, workDir);
const tsRoot = writeTsMirror(MIRROR_SUITE, workDir);
const pathArgs = (c: PathCase, root: string, ts: boolean) => c.args.map((a) => (ts ? toTs(a) : a).replace('{root}', root));

let results: Results;

before(async () => {
  const started = performance.now();
  const allPyCases = [...EXPRESSION_ARGS, ...PATH_CASES.map((c) => pathArgs(c, pyRoot, false))];
  const pytestRun = unavailable ? undefined : pytestCollectParallel(pyRoot, allPyCases, 2, RECHECK);
  pytestRun?.catch(() => undefined); // awaited below; keeps an early failure from being reported as unhandled

  const sigint = process.listenerCount('SIGINT');
  const sigterm = process.listenerCount('SIGTERM');
  const stdoutWrite = process.stdout.write;
  const savedEnv = { ...process.env };
  for (const name of ['PYTEST_ADDOPTS', 'FORCE_COLOR', 'CI']) delete process.env[name];
  Object.assign(process.env, { NO_COLOR: '1', COLUMNS: '80' });
  const ours: Results['ours'] = { expressions: [], paths: [] };
  const t0 = performance.now();
  try {
    for (const args of EXPRESSION_ARGS) ours.expressions.push(await mainInProcess([...FIXED_ARGS, ...args], tsRoot));
    for (const c of PATH_CASES) ours.paths.push(await mainInProcess([...FIXED_ARGS, ...pathArgs(c, tsRoot, true)], tsRoot));
  } finally {
    process.env = savedEnv;
  }
  const firstAgain = await mainInProcess([...FIXED_ARGS, ...EXPRESSION_ARGS[0]!], tsRoot);
  const inProcessMs = performance.now() - t0;
  const cleanliness = {
    sigint: process.listenerCount('SIGINT') - sigint,
    sigterm: process.listenerCount('SIGTERM') - sigterm,
    exitCode: process.exitCode,
    writeRestored: process.stdout.write === stdoutWrite,
  };

  const t1 = performance.now();
  const viaBinary = async (argv: readonly string[]): Promise<CliOutcome> => {
    const r = await runAsync(tsRoot, [...FIXED_ARGS, ...argv]);
    return { exit: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const binary = {
    expressions: await mapLimit(BINARY_SAMPLE.expressions, 2, (i) => viaBinary(EXPRESSION_ARGS[i]!)),
    paths: await mapLimit(BINARY_SAMPLE.paths, 2, (i) => viaBinary(pathArgs(PATH_CASES[i]!, tsRoot, true))),
  };
  const binaryMs = performance.now() - t1;

  const response = await pytestRun;
  results = {
    pytest: response && {
      version: response.pytest,
      expressions: response.results.slice(0, EXPRESSION_ARGS.length),
      paths: response.results.slice(EXPRESSION_ARGS.length),
      inconsistent: response.inconsistent,
    },
    ours,
    binary,
    firstAgain,
    cleanliness,
    timings: { inProcessMs, binaryMs, totalMs: performance.now() - started },
  };
  const t = results.timings;
  console.log(
    `pytest-ts in-process: ${EXPRESSION_ARGS.length + PATH_CASES.length} cases in ${Math.round(t.inProcessMs!)} ms; ` +
      `binary: ${BINARY_SAMPLE.expressions.length + BINARY_SAMPLE.paths.length} cases in ${Math.round(t.binaryMs!)} ms; ` +
      `with pytest ${response?.pytest ?? '(absent)'}: ${Math.round(t.totalMs!)} ms in all`,
  );
});

after(() => rmSync(workDir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------
// The tests

test('the case lists are large enough and reach every exit code', () => {
  assert.ok(CLI_EXPRESSION_CASES.length >= 200, `${CLI_EXPRESSION_CASES.length} expression cases`);
  assert.ok(PATH_CASES.length >= 20, `${PATH_CASES.length} node-id / --deselect cases`);
  for (const exit of [0, 4, 5]) {
    assert.ok(results.ours.expressions.filter((o) => o.exit === exit).length >= 20, `at least 20 expression cases exit ${exit}`);
    assert.ok(results.ours.paths.filter((o) => o.exit === exit).length >= 5, `at least 5 path cases exit ${exit}`);
  }
});

test('the TypeScript mirror collects exactly the Python mirror, in the same order', { skip }, () => {
  assert.deepEqual(listedIds(results.ours.paths[0]!.stdout), listedIds(results.pytest!.paths[0]!.stdout).map(toTs));
  assert.equal(listedIds(results.ours.paths[0]!.stdout).length, 27);
});

test('repeated in-process pytest runs behave like fresh processes', { skip }, () => {
  assert.deepEqual(results.pytest!.inconsistent, []);
});

test('every -k / -m case: same exit code, same listing and summary, same ERROR line as pytest', { skip }, () => {
  const mismatches: object[] = [];
  let namingCases = 0;
  CLI_EXPRESSION_CASES.forEach((c, i) => {
    const ours = results.ours.expressions[i]!;
    const theirs = results.pytest!.expressions[i]!;
    if (namingDependent(c)) {
      // Each side against its own prediction; see the header.
      namingCases++;
      const mine = predict(c, TS_ITEMS);
      const pythons = predict(c, PY_ITEMS);
      const oursAsPredicted = ours.exit === mine.exit && ours.stderr === mine.stderr && (mine.exit === 4 || JSON.stringify(listedIds(ours.stdout)) === JSON.stringify(mine.ids));
      const theirsAsPredicted = theirs.exit === pythons.exit && (pythons.exit === 4 || JSON.stringify(theirs.ids) === JSON.stringify(pythons.ids));
      if (!oursAsPredicted || !theirsAsPredicted) mismatches.push({ case: c, naming: true, ours, predicted: mine, pytest: theirs, pythonPredicted: pythons });
      return;
    }
    const a = comparable(ours, tsRoot, false);
    const b = comparable(theirs, pyRoot, false);
    if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push({ case: c, ours: a, pytest: b });
  });
  assert.deepEqual(mismatches, []);
  console.log(`naming-dependent -k cases, each side checked against its own prediction: ${namingCases}`);
  // The naming cases are few and known: -k on .py / pytestmark fragments.
  assert.ok(namingCases > 0 && namingCases <= 20, `${namingCases} naming-dependent cases`);
});

test('every node-id / path / --deselect case: same exit code, listing, summary and ERROR lines as pytest', { skip }, () => {
  const mismatches: object[] = [];
  PATH_CASES.forEach((c, i) => {
    const a = comparable(results.ours.paths[i]!, tsRoot, true);
    const b = comparable(results.pytest!.paths[i]!, pyRoot, true);
    if (JSON.stringify(a) !== JSON.stringify(b)) mismatches.push({ args: c.args, why: c.why, ours: a, pytest: b });
  });
  assert.deepEqual(mismatches, []);
});

test('the in-process path is faithful: the real binary gives the same output for a sample of cases', () => {
  const differences: object[] = [];
  const check = (kind: 'expressions' | 'paths', indices: readonly number[]) =>
    indices.forEach((caseIndex, j) => {
      const inProcess = results.ours[kind][caseIndex]!;
      const binary = results.binary[kind][j]!;
      const n = (o: CliOutcome) => ({ exit: o.exit, stdout: normalise(o.stdout, tsRoot), stderr: normalise(o.stderr, tsRoot) });
      if (JSON.stringify(n(inProcess)) !== JSON.stringify(n(binary))) differences.push({ kind, caseIndex, inProcess: n(inProcess), binary: n(binary) });
    });
  check('expressions', BINARY_SAMPLE.expressions);
  check('paths', BINARY_SAMPLE.paths);
  assert.deepEqual(differences, []);
  const exits = new Set([...results.binary.expressions, ...results.binary.paths].map((o) => o.exit));
  assert.deepEqual([...exits].sort(), [0, 4, 5], 'the sample covers exits 0, 4 and 5');
});

test('repeated in-process runs leave the process clean and give the same answer again', () => {
  assert.deepEqual(results.cleanliness, { sigint: 0, sigterm: 0, exitCode: undefined, writeRestored: true });
  const n = (o: CliOutcome) => ({ ...o, stdout: normalise(o.stdout, tsRoot) });
  assert.deepEqual(n(results.firstAgain), n(results.ours.expressions[0]!));
});

test('no case ever shows a stack trace or an internal error', () => {
  for (const o of [...results.ours.expressions, ...results.ours.paths, ...results.binary.expressions, ...results.binary.paths]) {
    assert.doesNotMatch(o.stdout + o.stderr, /INTERNALERROR|\n\s+at /);
    assert.notEqual(o.exit, 3);
  }
});
