// Bad input, one table: each row is a throwaway project and an argv, with the exact message and exit code the real
// binary must give. Usage errors are `ERROR: <message>` plus an empty line on stderr (pytest's form) and exit 4;
// collection errors are reported on stdout and exit 2. Never a stack trace, never INTERNALERROR.
//
// Where pytest itself crashes with a traceback (a missing -c file, an unwritable --junitxml path that it only finds
// after every test ran), pytest-ts checks up front: one line, exit 4, and the tests never run (each row's test
// writes `ran.txt` when it runs; rows marked `notRun` check that the file is absent).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mapLimit, runAsync } from './parallel.js';
import { cleanupProjects, makeProject, type RunResult } from './project.js';

after(cleanupProjects);

interface BadInput {
  readonly name: string;
  /** Project files; `pytest.ini` and a passing `test_a.ts` are added unless given. */
  readonly files?: Record<string, string>;
  readonly argv: readonly string[];
  readonly exit: number;
  /** The whole of stderr, with `<DIR>` for the project directory. Empty when absent. */
  readonly stderr?: string;
  /** Lines that must appear in stdout exactly (collection errors are reported there). */
  readonly stdout?: readonly string[];
  /** The run must stop before the session starts: nothing at all on stdout. */
  readonly quietStdout?: boolean;
  /** The tests must not have run. */
  readonly notRun?: boolean;
}

const RECORDS_RUN = `import { writeFileSync } from 'node:fs';\nexport function test_ok() { writeFileSync(new URL('./ran.txt', import.meta.url), 'ran'); }\n`;
const ini = (body: string) => ({ 'pytest.ini': `[pytest]\n${body}` });
const usage = (message: string) => `ERROR: ${message}\n\n`;
const argparse = (message: string) => usage(`pytest-ts: error: ${message}`);
const MARKED = `import { mark } from '@runner';\nexport class TestA {\n  @mark.slowish\n  test_x() {}\n}\n`;
const INTERRUPTED = '!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!';

const TABLE: readonly BadInput[] = [
  // --- the ini file
  { name: 'a line that is not key = value', files: ini('this is not a key\n'), argv: [], exit: 4, stderr: usage("pytest.ini:2: unexpected line: 'this is not a key'"), quietStdout: true, notRun: true },
  { name: 'a duplicate key', files: ini('timeout = 1\ntimeout = 2\n'), argv: [], exit: 4, stderr: usage("pytest.ini:3: duplicate name 'timeout'"), quietStdout: true, notRun: true },
  {
    name: 'the original `timeout = 7200  # 2 hours max per test` (ini values have no inline comments)',
    files: ini('timeout = 7200  # 2 hours max per test\n'),
    argv: [],
    exit: 4,
    stderr: usage("pytest.ini:2: timeout: '7200  # 2 hours max per test' is not a number of seconds"),
    quietStdout: true,
    notRun: true,
  },
  { name: 'a timeout that is not a number', files: ini('timeout = soon\n'), argv: [], exit: 4, stderr: usage("pytest.ini:2: timeout: 'soon' is not a number of seconds"), notRun: true },
  { name: 'an indented first line', files: ini('  indented = 1\n'), argv: [], exit: 4, stderr: usage('pytest.ini:2: unexpected value continuation'), notRun: true },
  { name: 'a section header without its bracket', files: { 'pytest.ini': '[pytest\nx = 1\n' }, argv: [], exit: 4, stderr: usage('pytest.ini:1: unexpected value continuation'), notRun: true },
  { name: 'a key before any section', files: { 'pytest.ini': 'x = 1\n[pytest]\n' }, argv: [], exit: 4, stderr: usage('pytest.ini:1: no section header defined'), notRun: true },
  {
    name: 'an unknown logging level',
    files: ini('log_cli_level = LOUD\n'),
    argv: [],
    exit: 4,
    stderr: usage("pytest.ini:2: log_cli_level: 'LOUD' is not recognized as a logging level name for 'log_cli_level'. Please consider passing the logging level num instead."),
    notRun: true,
  },
  { name: 'a boolean that is not one', files: ini('xfail_strict = maybe\n'), argv: [], exit: 4, stderr: usage("pytest.ini:2: xfail_strict: 'maybe' is not a boolean (use true/false, yes/no, on/off or 1/0)"), notRun: true },
  {
    name: 'a choice that is not offered',
    files: ini('console_output_style = fancy\n'),
    argv: [],
    exit: 4,
    stderr: usage("pytest.ini:2: console_output_style: 'fancy' is not one of 'progress', 'classic', 'count', 'times', 'progress-even-when-capture-no'"),
    notRun: true,
  },
  { name: 'an unknown option in addopts', files: ini('addopts = --nope\n'), argv: [], exit: 4, stderr: argparse('unrecognized arguments: --nope'), notRun: true },
  {
    name: 'pyproject.toml that is not TOML',
    files: { 'pyproject.toml': '[tool.pytest.ini_options\nx = 1\n' },
    argv: [],
    exit: 4,
    stderr: usage('pyproject.toml: Invalid TOML document: illegal character in key (at line 1, column 25)'),
    notRun: true,
  },
  // --- command-line options
  { name: 'an unknown option', argv: ['--nope'], exit: 4, stderr: argparse('unrecognized arguments: --nope'), quietStdout: true, notRun: true },
  { name: 'a long form pytest does not have', argv: ['--keyword', 'OOM'], exit: 4, stderr: argparse('unrecognized arguments: --keyword'), notRun: true },
  { name: '-k without a value', argv: ['-k'], exit: 4, stderr: argparse('argument -k: expected one argument'), quietStdout: true, notRun: true },
  { name: '-m without a value', argv: ['-m'], exit: 4, stderr: argparse('argument -m: expected one argument'), notRun: true },
  { name: '-k with a value that looks like an option', argv: ['-k', '-gpu'], exit: 4, stderr: argparse('argument -k: expected one argument'), notRun: true },
  { name: '-k with an argument file that does not exist', argv: ['-k', '@nofile'], exit: 4, stderr: argparse("[Errno 2] No such file or directory: 'nofile'"), notRun: true },
  { name: '--maxfail=abc', argv: ['--maxfail=abc'], exit: 4, stderr: argparse("argument --maxfail: invalid int value: 'abc'"), quietStdout: true, notRun: true },
  { name: '--durations=x', argv: ['--durations=x'], exit: 4, stderr: argparse("argument --durations: invalid int value: 'x'"), notRun: true },
  {
    name: 'an invalid choice',
    argv: ['--tb=bogus'],
    exit: 4,
    stderr: argparse("argument --tb: invalid choice: 'bogus' (choose from 'auto', 'long', 'short', 'no', 'line', 'native')"),
    notRun: true,
  },
  { name: '-o without =', argv: ['-o', 'timeout'], exit: 4, stderr: usage("-o/--override-ini expects option=value style (got: 'timeout')."), notRun: true },
  { name: 'a missing -c file (pytest: a traceback)', argv: ['-c', 'missing.ini'], exit: 4, stderr: usage('config file not found: missing.ini (given by -c/--config-file)'), quietStdout: true, notRun: true },
  { name: 'a missing --rootdir', argv: ['--rootdir=/nonexistent/pytest-ts'], exit: 4, stderr: usage("Directory '/nonexistent/pytest-ts' not found. Check your '--rootdir' option."), notRun: true },
  // --- the report file, checked before anything runs
  {
    name: 'an unwritable --junitxml path (pytest: a traceback after the run)',
    argv: ['--junitxml=pytest.ini/report.xml'],
    exit: 4,
    stderr: usage('--junitxml: cannot write <DIR>/pytest.ini/report.xml: a parent of it is not a directory'),
    quietStdout: true,
    notRun: true,
  },
  { name: 'a --junitxml path that is a directory', files: { 'out/keep.txt': '' }, argv: ['--junitxml=out'], exit: 4, stderr: usage('--junitxml must be a filename, given: out'), notRun: true },
  // --- expressions
  { name: 'an -m expression cut short', argv: ['-m', 'slow('], exit: 4, stderr: usage("Wrong expression passed to '-m': slow(: at column 6: expected identifier; got end of input"), notRun: true },
  { name: 'two names in -k', argv: ['-k', 'a b'], exit: 4, stderr: usage("Wrong expression passed to '-k': a b: at column 3: expected end of input; got identifier"), notRun: true },
  { name: 'call syntax in -k', argv: ['-k', 'gpu(x=1)'], exit: 4, stderr: usage('Keyword expressions do not support call parameters.'), notRun: true },
  // --- paths and node ids
  { name: 'a missing path', argv: ['tests/nope.ts'], exit: 4, stderr: usage('file or directory not found: tests/nope.ts'), notRun: true },
  {
    name: 'a missing test in a module',
    argv: ['test_a.ts::test_nope'],
    exit: 4,
    stderr: usage('not found: <DIR>/test_a.ts::test_nope\n(no match in any of [<Module test_a.ts>])'),
    stdout: ['collected 0 items'],
    notRun: true,
  },
  {
    name: 'a parameter id on a test that has none',
    argv: ['test_a.ts::test_ok[1]'],
    exit: 4,
    stderr: usage('not found: <DIR>/test_a.ts::test_ok\n(no match in any of [<Module test_a.ts>])'),
    notRun: true,
  },
  { name: 'a trailing :: after a test', argv: ['test_a.ts::test_ok::'], exit: 4, stderr: usage('found no collectors for <DIR>/test_a.ts::test_ok::'), notRun: true },
  { name: 'a name after a directory', files: { 'sub/test_b.ts': 'export function test_b() {}\n' }, argv: ['sub::test_b'], exit: 4, stderr: usage('directory argument cannot contain :: selection parts: sub::test_b'), notRun: true },
  { name: '[...] on a path', argv: ['test_a.ts[1]'], exit: 4, stderr: usage('path cannot contain [] parametrization: test_a.ts[1]'), notRun: true },
  {
    name: 'two bad node ids: both reported, each with its empty line',
    argv: ['test_a.ts::TestX', 'test_a.ts::test_ok', 'test_a.ts::test_y'],
    exit: 4,
    stderr: usage('not found: <DIR>/test_a.ts::TestX\n(no match in any of [<Module test_a.ts>])') + usage('not found: <DIR>/test_a.ts::test_y\n(no match in any of [<Module test_a.ts>])'),
    stdout: ['collected 1 item'],
    notRun: true,
  },
  {
    name: 'a node id inside a module that fails to import',
    files: { 'test_bad.ts': 'export function test_x( {\n' },
    argv: ['test_bad.ts::test_x'],
    exit: 4,
    stderr: usage('found no collectors for <DIR>/test_bad.ts::test_x'),
    stdout: ['_________________________ ERROR collecting test_bad.ts _________________________'],
  },
  // --- collection errors: stdout, exit 2, nothing runs
  {
    name: 'an unregistered marker under --strict-markers',
    files: { ...ini('markers =\n    gpu: needs a device\n'), 'test_m.ts': MARKED },
    argv: ['--strict-markers'],
    exit: 2,
    stdout: [
      '__________________________ ERROR collecting test_m.ts __________________________',
      "Failed: 'slowish' not found in `markers` configuration option",
      INTERRUPTED,
    ],
    notRun: true,
  },
  {
    name: 'an unregistered marker under strict_markers in the ini',
    files: { ...ini('strict_markers = true\n'), 'test_m.ts': MARKED },
    argv: [],
    exit: 2,
    stdout: ["ERROR test_m.ts - Failed: 'slowish' not found in `markers` configuration option", INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a suite with a syntax error',
    files: { 'test_bad.ts': 'export function test_ok() {}\nexport function test_broken() { const x = ; }\n' },
    argv: [],
    exit: 2,
    stdout: [
      '_________________________ ERROR collecting test_bad.ts _________________________',
      'E   SyntaxError: Unexpected ";"',
      // pytest's SyntaxError collection errors have no crash line, so the summary names the file alone.
      'ERROR test_bad.ts',
      INTERRUPTED,
      '=============================== 1 error in <t> ===============================',
    ],
    notRun: true,
  },
  {
    name: 'a module that throws while it is imported',
    files: { 'test_bad.ts': 'throw new Error("boom at import");\nexport function test_x() {}\n' },
    argv: [],
    exit: 2,
    stdout: ['test_bad.ts:1: in <module>', 'E   Error: boom at import', 'ERROR test_bad.ts - Error: boom at import', INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a parametrize with the wrong number of values',
    files: { 'test_p.ts': `import { mark } from '@runner';\nexport class TestP {\n  @mark.parametrize('a, b', [[1]])\n  test_x({ a, b }: any) {}\n}\n` },
    argv: [],
    exit: 2,
    // Shown as its message alone, as pytest shows its own parametrize errors (fail(..., pytrace=False)).
    stdout: ["parametrize('a,b'): wrong number of values at index 0: expected 2, got 1", "ERROR test_p.ts - Failed: parametrize('a,b'): wrong number of values at index...", INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a parametrized name the test cannot receive',
    files: { 'test_p.ts': `import { mark } from '@runner';\nexport class TestP {\n  @mark.parametrize('a', [1])\n  test_x({ b }: any) {}\n}\n` },
    argv: [],
    exit: 2,
    stdout: ["In test_x: function uses no argument 'a'", "ERROR test_p.ts - Failed: In test_x: function uses no argument 'a'", INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a fixture cycle',
    files: {
      'conftest.ts': `import { fixture } from '@runner';\nexport const a = fixture(({ b }) => b);\nexport const b = fixture(({ a }) => a);\n`,
      'test_c.ts': 'export function test_uses({ a }: any) {}\n',
    },
    argv: [],
    exit: 2,
    stdout: ['conftest.ts:2: fixture dependency cycle: a (conftest.ts:2) -> b (conftest.ts:3) -> a (conftest.ts:2)', INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a missing fixture',
    files: { 'test_f.ts': 'export function test_uses({ nope }: any) {}\n' },
    argv: [],
    exit: 2,
    stdout: ["test_f.ts:1: fixture 'nope' not found, requested by test test_uses; available fixtures: recordProperty, recordTestsuiteProperty, request, tmpPath, tmpPathFactory", INTERRUPTED],
    notRun: true,
  },
  {
    name: 'a conftest that fails to import',
    files: { 'conftest.ts': 'throw new Error("conftest boom");\n' },
    argv: [],
    exit: 4,
    stderr: "ImportError while loading conftest '<DIR>/conftest.ts'.\nconftest.ts:1: in <module>\n    throw new Error(\"conftest boom\");\nE   Error: conftest boom\n",
    quietStdout: true,
    notRun: true,
  },
];

const normalise = (text: string, dir: string) => text.replaceAll(dir, '<DIR>').replace(/ in \d+(?:\.\d+)?s /g, ' in <t> ');

const results = new Map<BadInput, { dir: string; result: RunResult }>();

before(async () => {
  const started = performance.now();
  const runs = await mapLimit(TABLE, 4, async (row) => {
    const dir = makeProject({ 'pytest.ini': '[pytest]\n', 'test_a.ts': RECORDS_RUN, ...row.files });
    return { dir, result: await runAsync(dir, row.argv) };
  });
  TABLE.forEach((row, i) => results.set(row, runs[i]!));
  console.log(`${TABLE.length} bad inputs through the binary in ${Math.round(performance.now() - started)} ms`);
});

test('the table has at least 30 rows, each name once', () => {
  assert.ok(TABLE.length >= 30, `${TABLE.length} rows`);
  assert.equal(new Set(TABLE.map((r) => r.name)).size, TABLE.length);
});

describe('bad input: exact message, exit code, no stack trace', () => {
  for (const row of TABLE) {
    test(row.name, () => {
      const { dir, result } = results.get(row)!;
      const stdout = normalise(result.stdout, dir);
      const stderr = normalise(result.stderr, dir);
      const context = `argv ${JSON.stringify(row.argv)}\n--- stdout\n${stdout}--- stderr\n${stderr}`;
      assert.equal(result.code, row.exit, context);
      assert.equal(stderr, row.stderr ?? '', context);
      const lines = stdout.split('\n');
      for (const line of row.stdout ?? []) assert.ok(lines.includes(line), `stdout lacks the line ${JSON.stringify(line)}\n${context}`);
      if (row.quietStdout) assert.equal(stdout, '', context);
      if (row.notRun) assert.equal(existsSync(join(dir, 'ran.txt')), false, `the tests ran\n${context}`);
      assert.doesNotMatch(stdout + stderr, /^\s+at /m, `a JavaScript stack trace\n${context}`);
      assert.doesNotMatch(stdout + stderr, /INTERNALERROR/, context);
    });
  }
});

test('a good project in the same setting runs its test (the ran.txt check can fail)', async () => {
  const dir = makeProject({ 'pytest.ini': '[pytest]\n', 'test_a.ts': RECORDS_RUN });
  const result = await runAsync(dir, ['-q']);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(existsSync(join(dir, 'ran.txt')), true);
});
