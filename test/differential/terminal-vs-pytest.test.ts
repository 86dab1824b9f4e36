// The whole terminal output, end to end, against real pytest: one suite with every outcome (pass, fail, setup error,
// skip by marker and by call, skipif, xfail, xpass, strict xpass, parametrize with ids, class markers, module-level
// tests, a module-wide and a class-wide skip, a static test method, xfail with run=False and with the wrong raises) written in Python and in TypeScript, run by both binaries with the option sets a pytest user types. After
// the normalisations below, stdout must be identical line for line, and the exit codes equal.
//
// Normalised, because the languages differ, not the runners: `.py` is read as `.ts`; the platform line; the temp
// rootdir (and its name in `--co`'s `<Dir ...>`); durations (`in 0.03s`); the traceback lines inside FAILURES/ERRORS entries (Python and TypeScript source);
// the message after ` - ` in FAILED/ERROR summary lines (`assert False` against `Error: assert False`); the source
// line numbers in `SKIPPED [1] file:LINE:`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from '../cli/project.js';
import { pytestUnavailableReason } from './pytest-oracle.js';
import { normaliseOutput as normalise } from './normalise-output.js';
import { DIFF_ENV as ENV, scratchDir, spawnAsync } from './side-by-side.js';
import { RUNNER_INDEX } from './ts-mirror.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the terminal-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

const INI = `[pytest]
markers =
    gpu: needs a device
    slow: takes long
`;

const PY_ONE = `import pytest

@pytest.fixture
def ok_fixture():
    yield 5

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")

@pytest.mark.gpu
class TestAlpha:
    def test_pass(self, ok_fixture):
        assert ok_fixture == 5

    def test_fail(self):
        assert False

    @pytest.mark.skip(reason="not now")
    def test_skip(self):
        pass

    @pytest.mark.xfail(reason="known")
    def test_xfail(self):
        assert False

    @pytest.mark.xfail(reason="fixed", strict=True)
    def test_xpass_strict(self):
        pass

    @pytest.mark.xfail(reason="maybe")
    def test_xpass(self):
        pass

    def test_setup_error(self, broken_setup):
        pass

    @pytest.mark.parametrize("n", [1, 2, 3], ids=["a", "b", "c"])
    def test_param(self, n):
        assert n != 2
`;

const TS_ONE = `import { fixture, mark } from '@runner';

export const ok_fixture = fixture(async function* () {
  yield 5;
});

export const broken_setup = fixture(() => {
  throw new Error('setup broke');
});

@mark.gpu
export class TestAlpha {
  test_pass({ ok_fixture }: { ok_fixture: number }) {
    if (ok_fixture !== 5) throw new Error('assert ok_fixture == 5');
  }

  test_fail() {
    throw new Error('assert False');
  }

  @mark.skip({ reason: 'not now' })
  test_skip() {}

  @mark.xfail({ reason: 'known' })
  test_xfail() {
    throw new Error('assert False');
  }

  @mark.xfail({ reason: 'fixed', strict: true })
  test_xpass_strict() {}

  @mark.xfail({ reason: 'maybe' })
  test_xpass() {}

  test_setup_error({ broken_setup }: { broken_setup: unknown }) {}

  @mark.parametrize('n', [1, 2, 3], { ids: ['a', 'b', 'c'] })
  test_param({ n }: { n: number }) {
    if (n === 2) throw new Error('assert n != 2');
  }
}
`;

const PY_TWO = `import pytest

class TestBeta:
    @pytest.mark.slow
    def test_slow(self):
        pass

    @pytest.mark.skipif(True, reason="condition holds")
    def test_skipif(self):
        pass

    def test_skip_inside(self):
        pytest.skip("inside")

    def test_fail_inside(self):
        pytest.fail("explicit")

def test_module_fn():
    pass
`;

const TS_TWO = `import { fail, mark, skip } from '@runner';

export class TestBeta {
  @mark.slow
  test_slow() {}

  @mark.skipif(true, { reason: 'condition holds' })
  test_skipif() {}

  test_skip_inside() {
    skip('inside');
  }

  test_fail_inside() {
    fail('explicit');
  }
}

export function test_module_fn() {}
`;

const PY_THREE = `import pytest

pytestmark = pytest.mark.skip(reason="whole module")

def test_skipped_by_module():
    pass

class TestAlsoSkipped:
    def test_in_class(self):
        pass
`;

const TS_THREE = `import { mark } from '@runner';

export const pytestmark = mark.skip({ reason: 'whole module' });

export function test_skipped_by_module() {}

export class TestAlsoSkipped {
  test_in_class() {}
}
`;

const PY_FOUR = `import pytest

@pytest.mark.skip(reason="class level")
class TestSkippedClass:
    def test_a(self):
        pass

    def test_b(self):
        pass

class TestStatic:
    def test_instance(self):
        pass

    @staticmethod
    def test_static():
        pass

    @pytest.mark.xfail(reason="never run", run=False)
    def test_not_run(self):
        assert False

    @pytest.mark.xfail(raises=ZeroDivisionError, reason="wrong error")
    def test_other_error(self):
        raise ValueError("not a division")

    @pytest.mark.skipif(True, reason="skipif first")
    @pytest.mark.skip(reason="skip second")
    def test_both(self):
        pass

class TestIds:
    @pytest.mark.parametrize("v", [1, 1.5, -2, 0.1, 1e20, 1e-07, 0.00001, "a b", "é", "", None, True, [1, 2], "new\\nline", float("inf"), float("nan")])
    def test_v(self, v):
        pass

    @pytest.mark.parametrize("a, b", [(1, "x"), (2, "y"), (1, "x")])
    def test_ab(self, a, b):
        pass

    @pytest.mark.parametrize("a", [1, 2, 3], ids=["one", "one", "one0"])
    def test_dup(self, a):
        pass

    @pytest.mark.parametrize("a", [1, 2], ids=["v1", "v1"])
    def test_dup_digit(self, a):
        pass
`;

const TS_FOUR = `import { mark } from '@runner';

class ZeroDivisionError extends Error {}

@mark.skip({ reason: 'class level' })
export class TestSkippedClass {
  test_a() {}

  test_b() {}
}

export class TestStatic {
  test_instance() {}

  static test_static() {}

  @mark.xfail({ reason: 'never run', run: false })
  test_not_run() {
    throw new Error('assert False');
  }

  @mark.xfail({ raises: ZeroDivisionError, reason: 'wrong error' })
  test_other_error() {
    throw new RangeError('not a division');
  }

  @mark.skipif(true, { reason: 'skipif first' })
  @mark.skip({ reason: 'skip second' })
  test_both() {}
}

export class TestIds {
  @mark.parametrize('v', [1, 1.5, -2, 0.1, 1e20, 1e-7, 0.00001, 'a b', 'é', '', null, true, [1, 2], 'new\\nline', Infinity, NaN])
  test_v({ v }: { v: unknown }) {}

  @mark.parametrize('a, b', [[1, 'x'], [2, 'y'], [1, 'x']])
  test_ab({ a, b }: { a: number; b: string }) {}

  @mark.parametrize('a', [1, 2, 3], { ids: ['one', 'one', 'one0'] })
  test_dup({ a }: { a: number }) {}

  @mark.parametrize('a', [1, 2], { ids: ['v1', 'v1'] })
  test_dup_digit({ a }: { a: number }) {}
}
`;

/** Option sets as a pytest user types them; `.py` in an argument is `.ts` for pytest-ts. */
const OPTION_SETS: string[][] = [
  [],
  ['-v'],
  ['-vv'],
  ['-q'],
  ['-qq'],
  ['-rA'],
  ['-ra'],
  ['-rs'],
  ['-rxX'],
  ['-rN'],
  ['-x'],
  ['-x', '-v'],
  ['--maxfail=2', '-q'],
  ['-k', 'param'],
  ['-k', 'not Alpha', '-v'],
  ['-m', 'gpu', '-q'],
  ['-m', 'not slow', '-v'],
  ['--tb=no'],
  ['--tb=no', '-q', '-rA'],
  ['--co'],
  ['--co', '-q'],
  ['--co', '-qq'],
  ['--co', '-m', 'slow'],
  ['--deselect', 'test_one.py::TestAlpha::test_fail', '-v'],
  ['test_two.py', '-v'],
  ['test_one.py::TestAlpha::test_param[b]', 'test_two.py::test_module_fn', '-v'],
  ['test_one.py::TestAlpha', '-q'],
  ['--no-header', '-v'],
  ['--no-summary'],
  ['--strict-markers', '-q'],
  ['-k', 'nothing_matches'],
  ['-m', 'slow', '--tb=no'],
  ['--tb=line'],
  ['--tb=short', '-q'],
  ['-o', 'console_output_style=classic'],
  ['-o', 'console_output_style=count', '-v'],
  ['-o', 'console_output_style=count'],
  ['--durations=0', '--durations-min=60'],
  ['--durations=3', '--durations-min=60', '-vv'],
  ['--junitxml=out.xml', '-q'],
  ['--junitxml=reports/out.xml'],
  ['--co', '-v'],
  ['--co', '-k', 'param', '-q'],
  ['--co', '-k', 'nothing_matches'],
  ['-rfEsxXpP', '--tb=no'],
  ['--disable-warnings', '-q'],
  ['--color=no', '-x', '--tb=no'],
  ['-s', '-q'],
  ['-s', '-v'],
  ['-p', 'no:warnings', '-q'],
  ['-W', 'error', '-q'],
];

function project(files: Record<string, string>): string {
  const dir = scratchDir('terminal-diff-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replaceAll('@runner', RUNNER_INDEX));
  return dir;
}

/** Both runners at once: the two processes overlap, so a case costs the slower of the two. */
async function runBoth(args: string[], pyDir: string, tsDir: string) {
  const tsArgs = args.map((a) => a.replace(/\.py\b/g, '.ts'));
  const [py, ts] = await Promise.all([
    spawnAsync('python3', ['-m', 'pytest', '-p', 'no:cacheprovider', ...args], { cwd: pyDir, env: ENV }),
    spawnAsync(process.execPath, [BIN, '-p', 'no:cacheprovider', ...tsArgs], { cwd: tsDir, env: ENV }),
  ]);
  return { py, ts };
}

const JUNIT_SETS: string[][] = [[], ['-x'], ['-m', 'not slow', '--deselect', 'test_one.py::TestAlpha::test_pass'], ['-o', 'junit_family=xunit2'], ['-o', 'junit_suite_name=oom', '-o', 'junit_duration_report=call']];

/**
 * JUnit XML with what differs between the languages taken out: times, timestamp, hostname, the failure and error
 * messages and texts (tracebacks), the skip texts (`file:line: reason`), and `.py` read as `.ts`.
 */
function junitShape(xml: string): string {
  return xml
    .replace(/(time|timestamp|hostname)="[^"]*"/g, '$1="X"')
    .replace(/(<(?:failure|error)[^>]*message=)"[^"]*"/g, '$1"M"')
    .replace(/(<(?:failure|error|skipped)(?: [^>]*)?>)[^<]*<\//g, '$1T</')
    .replace(/\.py\b/g, '.ts')
    .replaceAll('><', '>\n<');
}

/** Cases that end in a usage error: stderr is compared as well. */
const ERROR_SETS: string[][] = [
  ['missing_dir/'],
  ['test_missing.py'],
  ['test_one.py::TestAlpha::test_nope'],
  ['test_one.py::TestNope'],
  ['test_one.py::TestAlpha::test_param[z]'],
  ['test_one.py::TestAlpha::test_pass', 'test_missing.py', '-q'],
  ['-m', 'gpu and', '-q'],
  ['-k', 'a or', '--co', '-q'],
];

describe('terminal output against real pytest', { skip }, () => {
  const pyDir = unavailable ? '' : project({ 'pytest.ini': INI, 'test_one.py': PY_ONE, 'test_two.py': PY_TWO, 'test_three.py': PY_THREE, 'test_four.py': PY_FOUR });
  const tsDir = unavailable ? '' : project({ 'pytest.ini': INI, 'test_one.ts': TS_ONE, 'test_two.ts': TS_TWO, 'test_three.ts': TS_THREE, 'test_four.ts': TS_FOUR });

  for (const args of OPTION_SETS) {
    test(`the same output and exit code: ${args.join(' ') || '(no options)'}`, async () => {
      const { py, ts } = await runBoth(args, pyDir, tsDir);
      assert.equal(py.stderr, '', `pytest wrote to stderr: ${py.stderr}`);
      assert.deepEqual(normalise(ts.stdout, tsDir), normalise(py.stdout, pyDir), `pytest-ts:\n${ts.stdout}${ts.stderr}\npytest:\n${py.stdout}`);
      assert.equal(ts.status, py.status);
    });
  }

  for (const args of JUNIT_SETS) {
    test(`the same JUnit XML, times and failure texts aside: ${args.join(' ') || '(no options)'}`, async () => {
      const { py, ts } = await runBoth([...args, '--junitxml=report.xml'], pyDir, tsDir);
      assert.equal(ts.status, py.status);
      assert.equal(junitShape(readFileSync(join(tsDir, 'report.xml'), 'utf8')), junitShape(readFileSync(join(pyDir, 'report.xml'), 'utf8')));
    });
  }

  for (const args of ERROR_SETS) {
    test(`the same output, error line and exit code: ${args.join(' ')}`, async () => {
      const { py, ts } = await runBoth(args, pyDir, tsDir);
      assert.equal(ts.status, py.status, `pytest-ts:\n${ts.stdout}${ts.stderr}\npytest:\n${py.stdout}${py.stderr}`);
      assert.deepEqual(normalise(ts.stderr, tsDir), normalise(py.stderr, pyDir));
      // On a -k/-m error pytest has listed the collected items first; pytest-ts lists none (PYTEST_SEMANTICS.md).
      if (!args.includes('-k') && !args.includes('-m')) {
        assert.deepEqual(normalise(ts.stdout, tsDir), normalise(py.stdout, pyDir), `pytest-ts:\n${ts.stdout}\npytest:\n${py.stdout}`);
      }
    });
  }
});
