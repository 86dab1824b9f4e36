// Fixtures end to end against real pytest: scopes (session, module, class, function), autouse, a fixture using
// another, `@mark.usefixtures`, a class-scoped fixture that fails (cached for the class, as pytest does) and a
// parametrized test, written in Python and TypeScript. With --setup-show (pytest's SETUP/TEARDOWN lines, the
// "(fixtures used: ...)" lists, parameter pseudo-fixtures `n[1]`) and with -s (the fixtures' own output in order),
// stdout must be the same line for line after the usual normalisation, in-process and under worker isolation.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from '../cli/project.js';
import { normaliseOutput } from './normalise-output.js';
import { pytestUnavailableReason } from './pytest-oracle.js';
import { DIFF_ENV as ENV, scratchDir, spawnAsync } from './side-by-side.js';
import { RUNNER_INDEX } from './ts-mirror.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the fixtures-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

const PY_CONFTEST = `import pytest

@pytest.fixture(scope="session")
def sess():
    print("setup sess")
    yield "S"
    print("teardown sess")

@pytest.fixture(autouse=True)
def auto():
    print("setup auto")
    yield
    print("teardown auto")
`;

const PY_TESTS = `import pytest

@pytest.fixture(scope="module")
def mod(sess):
    print("setup mod", sess)
    yield "M"
    print("teardown mod")

@pytest.fixture(scope="class")
def klass(mod):
    print("setup klass", mod)
    yield "K"
    print("teardown klass")

@pytest.fixture
def broken_class_fixture():
    raise RuntimeError("no")

@pytest.fixture(scope="class")
def broken_class_scope():
    raise RuntimeError("class scope broke")

class TestOne:
    def test_a(self, klass):
        print("test_a", klass)

    def test_b(self, klass, mod):
        print("test_b", klass, mod)

class TestTwo:
    def test_c(self, broken_class_scope):
        print("never")

    def test_d(self, broken_class_scope):
        print("never")

@pytest.mark.usefixtures("klass")
class TestThree:
    def test_e(self):
        print("test_e")

def test_f(sess):
    print("test_f", sess)

class TestG:
    @pytest.mark.parametrize("n", [1, "two", None, True, "x" * 60])
    def test_g(self, n, mod):
        print("test_g")
`;

const TS_CONFTEST = `import { fixture } from '@runner';

export const sess = fixture({ scope: 'session' }, async function* () {
  console.log('setup sess');
  yield 'S';
  console.log('teardown sess');
});

export const auto = fixture({ autouse: true }, async function* () {
  console.log('setup auto');
  yield;
  console.log('teardown auto');
});
`;

const TS_TESTS = `import { fixture, mark } from '@runner';

export const mod = fixture({ scope: 'module' }, async function* ({ sess }: { sess: string }) {
  console.log('setup mod', sess);
  yield 'M';
  console.log('teardown mod');
});

export const klass = fixture({ scope: 'class' }, async function* ({ mod }: { mod: string }) {
  console.log('setup klass', mod);
  yield 'K';
  console.log('teardown klass');
});

export const broken_class_fixture = fixture(() => {
  throw new Error('no');
});

export const broken_class_scope = fixture({ scope: 'class' }, () => {
  throw new Error('class scope broke');
});

export class TestOne {
  test_a({ klass }: { klass: string }) {
    console.log('test_a', klass);
  }

  test_b({ klass, mod }: { klass: string; mod: string }) {
    console.log('test_b', klass, mod);
  }
}

export class TestTwo {
  test_c({ broken_class_scope }: { broken_class_scope: unknown }) {
    console.log('never');
  }

  test_d({ broken_class_scope }: { broken_class_scope: unknown }) {
    console.log('never');
  }
}

@mark.usefixtures('klass')
export class TestThree {
  test_e() {
    console.log('test_e');
  }
}

export function test_f({ sess }: { sess: string }) {
  console.log('test_f', sess);
}

export class TestG {
  @mark.parametrize('n', [1, 'two', null, true, 'x'.repeat(60)])
  test_g({ n, mod }: { n: unknown; mod: string }) {
    console.log('test_g');
  }
}
`;

const OPTION_SETS: string[][] = [
  ['--setup-show'],
  ['--setup-show', '-v'],
  ['--setup-show', '-q'],
  ['--setup-show', '-s', '-q'],
  ['--setup-show', '-x'],
  ['--setup-show', '-k', 'TestG or test_f', '-v'],
  ['-s', '-v'],
  ['-s', '-q'],
  ['-rA'],
];

function project(files: Record<string, string>): string {
  const dir = scratchDir('fixtures-diff-');
  writeFileSync(join(dir, 'pytest.ini'), '[pytest]\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text.replaceAll('@runner', RUNNER_INDEX));
  return dir;
}

const runTs = (dir: string, args: string[]) => spawnAsync(process.execPath, [BIN, '-p', 'no:cacheprovider', ...args], { cwd: dir, env: ENV });

describe('fixtures and --setup-show against real pytest', { skip }, () => {
  const pyDir = unavailable ? '' : project({ 'conftest.py': PY_CONFTEST, 'test_fx.py': PY_TESTS });
  const tsDir = unavailable ? '' : project({ 'conftest.ts': TS_CONFTEST, 'test_fx.ts': TS_TESTS });

  for (const args of OPTION_SETS) {
    test(`the same output and exit code: ${args.join(' ')}`, async () => {
      const [py, ts] = await Promise.all([
        spawnAsync('python3', ['-m', 'pytest', '-p', 'no:cacheprovider', ...args], { cwd: pyDir, env: ENV }),
        runTs(tsDir, args),
      ]);
      assert.deepEqual(normaliseOutput(ts.stdout, tsDir), normaliseOutput(py.stdout, pyDir), `pytest-ts:\n${ts.stdout}${ts.stderr}\npytest:\n${py.stdout}`);
      assert.equal(ts.status, py.status);
    });
  }

  // A worker runs the whole file, so it sets up and tears down what the in-process run does. (Forked runs each test
  // in a fresh process, so every test sets up its session, module and class fixtures anew: different by design.)
  test('isolation=worker: the same --setup-show lines as in-process', async () => {
    const [inProcess, isolated] = await Promise.all([runTs(tsDir, ['--setup-show']), runTs(tsDir, ['--setup-show', '-o', 'isolation=worker'])]);
    assert.deepEqual(normaliseOutput(isolated.stdout, tsDir), normaliseOutput(inProcess.stdout, tsDir));
    assert.equal(isolated.status, inProcess.status);
  });
});
