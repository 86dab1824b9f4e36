// suites/mutation-check.ts: the pure rules (table-driven), then the script itself on a throwaway project with a
// tiny src/ and suite, where one mutation is caught, one survives, one breaks collection, one cannot be applied,
// and an interrupt in the middle of a run must put the original bytes back.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyMutation, countOccurrences, expectedFailureText, lineOf, parseMutations, verdictFor } from '../../validate/mutations.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('mutation rules', () => {
  test('exit codes: only a failed test catches a mutation', () => {
    const table: Array<[number | null, string]> = [
      [0, 'SURVIVED'],
      [1, 'caught'],
      [2, 'BROKE COLLECTION'],
      [3, 'INTERNAL ERROR'],
      [4, 'BROKE COLLECTION'],
      [5, 'BROKE COLLECTION'],
      [null, 'HUNG'],
    ];
    for (const [code, verdict] of table) assert.equal(verdictFor(code), verdict, `exit ${code}`);
  });

  test('the find text must occur exactly once', () => {
    const table: Array<[string, string, number]> = [
      ['a + b', 'a + b', 1],
      ['a + b; a + b', 'a + b', 2],
      ['aaaa', 'aa', 2], // non-overlapping, like a replace would see them
      ['x', 'y', 0],
      ['x', '', 0],
    ];
    for (const [text, find, count] of table) assert.equal(countOccurrences(text, find), count, `${JSON.stringify(find)} in ${JSON.stringify(text)}`);
    assert.deepEqual(applyMutation('return a + b;', { file: 'src/x.ts', find: 'a + b', replace: 'a - b' }), { text: 'return a - b;' });
    assert.deepEqual(applyMutation('a + b; a + b', { file: 'src/x.ts', find: 'a + b', replace: 'a' }), {
      problem: 'the find text occurs 2 times in src/x.ts (it must occur exactly once)',
    });
    assert.equal(lineOf('one\ntwo\nthree', 'three'), 3);
  });

  test('fails_with: the text before a trailing ... must appear', () => {
    const table: Array<[string | undefined, string | null]> = [
      ['AssertionError ...', 'AssertionError'],
      ['AssertionError: expected 3…', 'AssertionError: expected 3'],
      ['exact text', 'exact text'],
      ['...', null],
      [undefined, null],
    ];
    for (const [input, expected] of table) assert.equal(expectedFailureText(input), expected, String(input));
  });

  test('entries are checked with their place', () => {
    const ok = parseMutations('- test: a.ts::T::t\n  file: src/x.ts\n  find: "a"\n  replace: "b"\n  why: because\n', 'm.yaml');
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.where, 'm.yaml: entry 1');
    const bad: Array<[string, RegExp]> = [
      ['- test: a\n  file: suites/conftest.ts\n  find: a\n  replace: b\n  why: w\n', /m\.yaml: entry 1: file 'suites\/conftest\.ts' is not under src\//],
      ['- test: a\n  file: src/x.ts\n  find: a\n  replace: a\n  why: w\n', /find and replace are the same text/],
      ['- test: a\n  file: src/x.ts\n  find: a\n  why: w\n', /m\.yaml: entry 1: 'replace' must be a non-empty string/],
      ['test: a\n', /expected a list of mutations/],
      ['- [unclosed\n', /m\.yaml: not valid YAML/],
    ];
    for (const [text, error] of bad) assert.throws(() => parseMutations(text, 'm.yaml'), error);
    assert.deepEqual(parseMutations('', 'm.yaml'), []);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The script on a throwaway project

const SRC = `export function add(a: number, b: number): number {
  return a + b;
}
export function double(x: number): number {
  return x * 2;
}
export const unusedSetting = 1;
`;

const SUITE = `import assert from 'node:assert/strict';
import { mark } from '../runner/index.js';
import { add, double } from '../src/math.js';

export class TestMath {
  test_add() {
    assert.equal(add(2, 3), 5);
  }
  test_double() {
    assert.equal(double(4), 8);
  }
  test_unchecked() {
    assert.ok(true);
  }
  async test_sleepy() {
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(add(1, 1), 2);
  }
  @mark.slow
  test_slow() {
    assert.equal(double(1), 2);
  }
}
`;

const entry = (test: string, find: string, replace: string, why: string, failsWith?: string) =>
  `- test: suites/test_math.ts::TestMath::${test}\n  file: src/math.ts\n  find: ${JSON.stringify(find)}\n  replace: ${JSON.stringify(replace)}\n  why: ${why}\n` +
  (failsWith ? `  fails_with: ${JSON.stringify(failsWith)}\n` : '');

const MUTATIONS_A = [
  entry('test_add', 'a + b', 'a - b', 'add subtracts', 'AssertionError ...'),
  entry('test_double', 'unusedSetting = 1', 'unusedSetting = 2', 'nothing reads it'),
  entry('test_slow', 'x * 2', 'x * 3', 'doubling triples'),
].join('');
const MUTATIONS_B = [
  entry('test_double', 'export function double', 'export function doubled', 'the export disappears'),
  entry('test_double', 'return x * 4;', 'return 0;', 'stale find text'),
  entry('test_sleepy', 'return a + b;', 'return a + b + 1;', 'off by one'),
].join('');

let project: string;

function makeProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mutation-check-'));
  for (const part of ['bin', 'runner', 'validate']) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ type: 'module', 'pytest-ts': { configFile: 'memory.ini' } }),
    'memory.ini': '[pytest]\ntestpaths = suites\npython_files = test_*.ts\nmarkers =\n    slow: slow\naddopts = --strict-markers\n',
    'src/math.ts': SRC,
    'suites/test_math.ts': SUITE,
    'suites/mutation-check.ts': readFileSync(join(REPO, 'suites', 'mutation-check.ts'), 'utf8'),
    'suites/mutations/test_memory_protection.yaml': MUTATIONS_A,
    'suites/mutations/test_oom_recovery.yaml': MUTATIONS_B,
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function check(args: string[]): { code: number | null; out: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(project, 'suites', 'mutation-check.ts'), ...args], {
    cwd: project,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

function rowFor(out: string, test: string, why: string): string {
  const row = out.split('\n').find((line) => line.startsWith(`TestMath::${test} `) && line.includes(why));
  assert.ok(row, `no table row for ${test} / ${why} in:\n${out}`);
  return row;
}

describe('mutation-check.ts on a throwaway project', () => {
  before(() => {
    project = makeProject();
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  test('--list names every mutation and the tests that have none, and runs nothing', () => {
    const { code, out } = check(['--list']);
    assert.equal(code, 1, out);
    assert.match(out, /suites\/test_math\.ts::TestMath::test_slow {2}\[slow: skipped without --include-slow\]/);
    assert.match(out, /src\/math\.ts: "a \+ b" -> "a - b"/);
    assert.match(out, /problem: no mutation is recorded for suites\/test_math\.ts::TestMath::test_unchecked/);
    assert.match(out, /5 mutations to run, 1 skipped as slow/);
    assert.equal(readFileSync(join(project, 'src', 'math.ts'), 'utf8'), SRC);
  });

  test('a full run: caught, survived, broke collection, invalid; the source is restored', () => {
    const { code, out } = check(['--timeout', '60']);
    assert.equal(code, 1, out);
    assert.match(out, /baseline: exit 0, 3 of 3 tests passed/);
    assert.match(rowFor(out, 'test_add', 'add subtracts'), /src\/math\.ts:2 add subtracts\s+caught\s+\d+\.\d$/);
    assert.match(rowFor(out, 'test_double', 'nothing reads it'), /SURVIVED/);
    assert.match(rowFor(out, 'test_double', 'the export disappears'), /BROKE COLLECTION/);
    assert.match(rowFor(out, 'test_double', 'stale find text'), /^TestMath::test_double +src\/math\.ts stale find text +INVALID +0\.0$/m);
    assert.match(out, /stale find text +INVALID.*\n {4}-> the find text occurs 0 times in src\/math\.ts \(it must occur exactly once\)/);
    assert.match(out, /the export disappears +BROKE COLLECTION.*\n {4}-> SyntaxError: .*does not provide an export named 'double'/);
    assert.match(rowFor(out, 'test_sleepy', 'off by one'), /caught/);
    assert.match(out, /skipped \(slow, use --include-slow\): suites\/test_math\.ts::TestMath::test_slow/);
    assert.match(out, /2 of 5 mutations caught; 3 not/);
    assert.match(out, /❌ mutation check FAILED/);
    assert.equal(readFileSync(join(project, 'src', 'math.ts'), 'utf8'), SRC);
  });

  test('--test narrows to one test; all caught exits 0', () => {
    const { code, out } = check(['--test', 'test_add']);
    assert.equal(code, 0, out);
    assert.match(out, /1 of 1 mutations caught/);
    assert.match(out, /✅ every mutation was caught/);
  });

  test('--include-slow runs the slow test\'s mutation too', () => {
    const { code, out } = check(['--test', 'test_slow', '--include-slow']);
    assert.equal(code, 0, out);
    assert.match(rowFor(out, 'test_slow', 'doubling triples'), /caught/);
  });

  test('a test that fails unmutated cannot judge its mutations', () => {
    const suitePath = join(project, 'suites', 'test_math.ts');
    writeFileSync(suitePath, SUITE.replace('assert.equal(add(2, 3), 5);', 'assert.equal(add(2, 3), 6);'));
    try {
      const { code, out } = check(['--test', 'test_add']);
      assert.equal(code, 1, out);
      assert.match(out, /problem: baseline: suites\/test_math\.ts::TestMath::test_add failed without any mutation/);
    } finally {
      writeFileSync(suitePath, SUITE);
    }
  });

  test('SIGINT while a mutated test runs puts the original bytes back', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(project, 'suites', 'mutation-check.ts'), '--test', 'test_sleepy'], {
      cwd: project,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let sawMutation = false;
    const mathPath = join(project, 'src', 'math.ts');
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!sawMutation && out.includes('[1/1]')) {
        sawMutation = true;
        assert.notEqual(readFileSync(mathPath, 'utf8'), SRC, 'the mutation is in place while its test runs');
        setTimeout(() => child.kill('SIGINT'), 500);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.ok(sawMutation, out);
    assert.equal(code, 130, out);
    assert.match(out, /SIGINT: the mutated file was restored/);
    assert.equal(readFileSync(mathPath, 'utf8'), SRC);
  });
});
