// Captured output, end to end, against real pytest: the same tests written twice (Python and TypeScript) print to
// stdout and stderr in fixture setup, in the call and in fixture teardown, across several tests in a row. For each
// option set, the report blocks (FAILURES, ERRORS, PASSES), the "Captured ..." sections under each block with their
// text, and the summary line must agree; tracebacks are not compared (Python and TypeScript sources differ). The
// JUnit <system-out>/<system-err> of each test must agree too.
//
// The bug this guards: once the first phase of the session had ended, every later write went to a discarded buffer,
// so no test after the first showed its output. One test printing is not enough to catch that; several are here.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from '../cli/project.js';
import { pytestUnavailableReason } from './pytest-oracle.js';
import { DIFF_ENV as ENV, scratchDir, spawnAsync } from './side-by-side.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the capture-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

const PYTHON_SUITE = `import sys
import pytest

@pytest.fixture
def noisy():
    print("noisy setup out")
    sys.stderr.write("noisy setup err\\n")
    yield
    print("noisy teardown out")

@pytest.fixture
def broken_teardown():
    yield
    print("about to break")
    raise RuntimeError("teardown broke")

class TestCapture:
    def test_first_fails(self, noisy):
        print("first call out")
        assert False

    def test_second_passes(self, noisy):
        print("second call out")
        sys.stderr.write("second call err\\n")

    def test_third_fails(self):
        sys.stderr.write("third call err\\n")
        print("third call out")
        assert False

    def test_fourth_silent_fails(self):
        assert False

    def test_fifth_teardown_error(self, broken_teardown):
        print("fifth call out")

def test_module_level_fails():
    print("module-level out, line 1")
    print("module-level out, line 2")
    sys.stderr.write("partial line without newline")
    assert False
`;

const TS_SUITE = `import { fixture } from '@runner';

export const noisy = fixture(async function* () {
  console.log('noisy setup out');
  process.stderr.write('noisy setup err\\n');
  yield;
  console.log('noisy teardown out');
});

export const broken_teardown = fixture(async function* () {
  yield;
  console.log('about to break');
  throw new Error('teardown broke');
});

export class TestCapture {
  test_first_fails({ noisy }: { noisy: void }) {
    console.log('first call out');
    throw new Error('assert False');
  }

  test_second_passes({ noisy }: { noisy: void }) {
    console.log('second call out');
    process.stderr.write('second call err\\n');
  }

  test_third_fails() {
    process.stderr.write('third call err\\n');
    process.stdout.write('third call out\\n');
    throw new Error('assert False');
  }

  test_fourth_silent_fails() {
    throw new Error('assert False');
  }

  test_fifth_teardown_error({ broken_teardown }: { broken_teardown: void }) {
    console.log('fifth call out');
  }
}

export function test_module_level_fails() {
  console.log('module-level out, line 1');
  console.log('module-level out, line 2');
  process.stderr.write('partial line without newline');
  throw new Error('assert False');
}
`;

const RUNNER_INDEX = join(BIN, '..', '..', 'runner', 'index.ts');
function project(file: string, text: string): string {
  const dir = scratchDir('capture-diff-');
  writeFileSync(join(dir, 'pytest.ini'), '[pytest]\n');
  writeFileSync(join(dir, file), text);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  junit: string;
}

async function runPytest(dir: string, args: string[]): Promise<Run> {
  const r = await spawnAsync('python3', ['-m', 'pytest', '-p', 'no:cacheprovider', '--junitxml=report.xml', ...args], { cwd: dir, env: ENV });
  return { code: r.status, stdout: r.stdout, junit: readFileSync(join(dir, 'report.xml'), 'utf8') };
}

async function runPytestTs(dir: string, args: string[]): Promise<Run> {
  const r = await spawnAsync(process.execPath, [BIN, '-p', 'no:cacheprovider', '--junitxml=report.xml', ...args], { cwd: dir, env: ENV });
  return { code: r.status, stdout: r.stdout, junit: readFileSync(join(dir, 'report.xml'), 'utf8') };
}

const BLOCK_BANNER = /^=+ (FAILURES|ERRORS|PASSES) =+$/;
const ENTRY_HEADER = /^_+ (.+?) _+$/;
const SECTION_HEADER = /^-+ (Captured .+?) -+$/;
const OTHER_SEPARATOR = /^-+ (.+?) -+$/;
const OTHER_BANNER = /^=+ .* =+$/;
/** A `--tb=line` crash line: `/abs/test_capture.py:20: assert False` (its text differs between the languages). */
const CRASH_LINE = /^\/\S+\.(?:py|ts):\d+: /;

/**
 * The captured output as the terminal shows it: for each report block, each entry's title and its "Captured ..."
 * sections with their text. Traceback lines between the entry header and the first section are dropped.
 */
function capturedSections(stdout: string, projectDir: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  let inSection = false;
  for (const line of stdout.split('\n')) {
    const block = BLOCK_BANNER.exec(line);
    if (block) {
      out.push(`[${block[1]}]`);
      inBlock = true;
      inSection = false;
      continue;
    }
    if (!inBlock) continue;
    if (OTHER_BANNER.test(line)) {
      inBlock = false;
      continue;
    }
    const entry = ENTRY_HEADER.exec(line);
    if (entry) {
      // pytest names a Python module-level test by its function name, as pytest-ts does; classes as Class.test.
      out.push(`entry ${entry[1]}`);
      inSection = false;
      continue;
    }
    const section = SECTION_HEADER.exec(line);
    if (section) {
      out.push(`section ${section[1]}`);
      inSection = true;
      continue;
    }
    const separator = OTHER_SEPARATOR.exec(line);
    if (separator) {
      out.push(`separator ${separator[1]!.replace(projectDir, '<project>')}`);
      inSection = false;
      continue;
    }
    if (CRASH_LINE.test(line)) {
      out.push('crash line');
      inSection = false;
      continue;
    }
    if (inSection) out.push(`  ${line}`);
  }
  return out;
}

/** Each testcase's name with its <system-out> and <system-err> text. */
function junitOutput(xml: string): string[] {
  const out: string[] = [];
  for (const m of xml.matchAll(/<testcase classname="[^"]*" name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? '';
    const sysOut = /<system-out>([\s\S]*?)<\/system-out>/.exec(body)?.[1];
    const sysErr = /<system-err>([\s\S]*?)<\/system-err>/.exec(body)?.[1];
    out.push(`${m[1]} out=${JSON.stringify(sysOut ?? null)} err=${JSON.stringify(sysErr ?? null)}`);
  }
  return out;
}

const summary = (stdout: string) => stdout.trimEnd().split('\n').pop()!.replace(/ in [\d.]+s/, ' in Xs');

const OPTION_SETS: string[][] = [
  [],
  ['-rA'],
  ['-rP'],
  ['--show-capture=stdout'],
  ['--show-capture=stderr'],
  ['--show-capture=no'],
  ['--tb=short', '-rA'],
  ['--tb=line'],
  ['-o', 'junit_logging=all'],
  ['-o', 'junit_logging=system-out'],
  ['-o', 'junit_logging=system-err', '-o', 'junit_log_passing_tests=false'],
];

describe('captured output against real pytest', { skip }, () => {
  const pyDir = unavailable ? '' : project('test_capture.py', PYTHON_SUITE);
  const tsDir = unavailable ? '' : project('test_capture.ts', TS_SUITE.replaceAll('@runner', RUNNER_INDEX));

  for (const args of OPTION_SETS) {
    test(`the same sections, summary and JUnit output: ${args.join(' ') || '(no options)'}`, async () => {
      const [py, ts] = await Promise.all([runPytest(pyDir, args), runPytestTs(tsDir, args)]);
      assert.equal(ts.code, py.code, ts.stdout);
      assert.equal(summary(ts.stdout), summary(py.stdout));
      assert.deepEqual(capturedSections(ts.stdout, tsDir), capturedSections(py.stdout, pyDir), `pytest-ts:\n${ts.stdout}\npytest:\n${py.stdout}`);
      assert.deepEqual(junitOutput(ts.junit), junitOutput(py.junit));
    });
  }

  test('the comparison has teeth: every test after the first shows its own output', async () => {
    const sections = capturedSections((await runPytestTs(tsDir, ['-rA'])).stdout, tsDir);
    for (const text of ['first call out', 'second call out', 'second call err', 'third call out', 'third call err', 'fifth call out', 'about to break', 'module-level out, line 2', 'partial line without newline']) {
      assert.ok(sections.includes(`  ${text}`), `missing ${JSON.stringify(text)} in:\n${sections.join('\n')}`);
    }
  });

  for (const isolation of ['worker', 'forked']) {
    test(`isolation=${isolation} shows the same captured output as the in-process run`, async () => {
      const inProcess = await runPytestTs(tsDir, ['-rA']);
      const isolated = await runPytestTs(tsDir, ['-rA', '-o', `isolation=${isolation}`]);
      assert.equal(isolated.code, inProcess.code);
      // The worker runs the bundled runner: its own frames must stay hidden there too.
      assert.doesNotMatch(isolated.stdout, /runner\/(?:worker|session|run)\.ts/);
      assert.deepEqual(capturedSections(isolated.stdout, tsDir), capturedSections(inProcess.stdout, tsDir));
      assert.deepEqual(junitOutput(isolated.junit), junitOutput(inProcess.junit));
    });
  }

  test('-s shows the output live instead of in sections, as pytest does', async () => {
    const [py, ts] = await Promise.all([runPytest(pyDir, ['-s']), runPytestTs(tsDir, ['-s'])]);
    assert.deepEqual(capturedSections(ts.stdout, tsDir).filter((l) => l.startsWith('section')), []);
    assert.deepEqual(capturedSections(py.stdout, pyDir).filter((l) => l.startsWith('section')), []);
    for (const text of ['first call out', 'second call out', 'fifth call out', 'module-level out, line 2']) {
      assert.ok(py.stdout.includes(text) && ts.stdout.includes(text), text);
    }
  });
});
