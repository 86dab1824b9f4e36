// Unregistered marks and warning filters against real pytest: each use of an unknown mark is a
// PytestUnknownMarkWarning at its decorator's line, in source order; `filterwarnings` and `-W` (which wins) ignore
// it by category, base class or message, or turn it into a collection error; `-p no:warnings` drops warnings and
// `--disable-warnings` only hides the summary. Same suite in Python and TypeScript, decorators on the same lines.
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
if (unavailable) console.warn(`\n*** SKIPPING the warnings-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

const PY = `import pytest

class TestW:
    @pytest.mark.foo
    def test_a(self):
        pass

    @pytest.mark.bar
    @pytest.mark.gpu
    def test_b(self):
        pass

@pytest.mark.baz
class TestX:
    def test_c(self):
        pass
`;

const TS = `import { mark } from '@runner';

export class TestW {
  @mark.foo
  test_a() {
  }

  @mark.bar
  @mark.gpu
  test_b() {
  }
}
@mark.baz
export class TestX {
  test_c() {
  }
}
`;

const INI = '[pytest]\nmarkers =\n    gpu: registered\n';

const CASES: Array<{ args: string[]; ini?: string }> = [
  { args: [] },
  { args: ['-rA'] },
  { args: ['-q'] },
  { args: ['-W', 'ignore::pytest.PytestUnknownMarkWarning', '-q'] },
  { args: ['-W', 'ignore::UserWarning'] },
  { args: ['-W', 'ignore::DeprecationWarning'] },
  { args: ['-W', 'ignore:Unknown pytest.mark.foo'] },
  { args: ['-W', 'ignore:unknown PYTEST'] },
  { args: ['-W', 'i::Warning'] },
  { args: ['-p', 'no:warnings'] },
  { args: ['--disable-warnings'] },
  { args: ['-W', 'error::pytest.PytestUnknownMarkWarning'] },
  { args: [], ini: 'filterwarnings =\n    ignore::pytest.PytestWarning\n' },
  { args: ['-W', 'default::pytest.PytestUnknownMarkWarning'], ini: 'filterwarnings =\n    ignore::pytest.PytestWarning\n' },
  { args: [], ini: 'filterwarnings =\n    error\n    ignore:Unknown pytest.mark.ba\n' },
  { args: ['-m', 'gpu'] },
];

function project(file: string, text: string, ini: string): string {
  const dir = scratchDir('warnings-diff-');
  writeFileSync(join(dir, 'pytest.ini'), ini);
  writeFileSync(join(dir, file), text.replaceAll('@runner', RUNNER_INDEX));
  return dir;
}

describe('unknown marks and warning filters against real pytest', { skip }, () => {
  for (const { args, ini = '' } of CASES) {
    test(`the same output and exit code: ${args.join(' ') || '(no options)'}${ini ? ` with ${JSON.stringify(ini)}` : ''}`, async () => {
      const pyDir = project('test_w.py', PY, INI + ini);
      const tsDir = project('test_w.ts', TS, INI + ini);
      const [py, ts] = await Promise.all([
        spawnAsync('python3', ['-m', 'pytest', '-p', 'no:cacheprovider', ...args], { cwd: pyDir, env: ENV }),
        spawnAsync(process.execPath, [BIN, '-p', 'no:cacheprovider', ...args], { cwd: tsDir, env: ENV }),
      ]);
      // The source line under each warning is the decorator as written: `@pytest.mark.foo` against `@mark.foo`.
      const pyOut = normaliseOutput(py.stdout.replaceAll('@pytest.mark.', '@mark.'), pyDir);
      assert.deepEqual(normaliseOutput(ts.stdout, tsDir), pyOut, `pytest-ts:\n${ts.stdout}${ts.stderr}\npytest:\n${py.stdout}`);
      assert.equal(ts.status, py.status);
    });
  }

  test('a filter pytest cannot parse is a usage error on both sides', async () => {
    for (const bad of ['nonsense', 'ignore::NoSuchWarning', 'ignore:a:Warning:m:x', 'a:b:c:d:e:f']) {
      const pyDir = project('test_w.py', PY, INI);
      const tsDir = project('test_w.ts', TS, INI);
      const [py, ts] = await Promise.all([
        spawnAsync('python3', ['-m', 'pytest', '-p', 'no:cacheprovider', '-W', bad], { cwd: pyDir, env: ENV }),
        spawnAsync(process.execPath, [BIN, '-p', 'no:cacheprovider', '-W', bad], { cwd: tsDir, env: ENV }),
      ]);
      assert.equal(ts.status, py.status, `${bad}: ${ts.stdout}${ts.stderr} / ${py.stdout}${py.stderr}`);
      assert.match(ts.stderr, /^ERROR: while parsing the following warning configuration: /, bad);
    }
  });
});
