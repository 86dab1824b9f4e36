// The benchmark's own moving parts: workload shapes, that every runner gets the same tests, the parsers that check
// what each tool says it ran, and the process-tree memory sampler. (The benchmark itself is a script, not a test.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { measure } from '../../bench/measure.mjs';
import { TOOLS, baseEnv } from '../../bench/tools.mjs';
import {
  countTests,
  EMITTERS,
  manyTrivialWorkload,
  readSuiteSpec,
  RUNNERS,
  SELECTION_MARKER,
  suiteShapeWorkload,
  writeWorkload,
  type Workload,
} from '../../bench/workloads.mjs';

const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('workload (a): the suite shape', () => {
  const a = readSuiteSpec();

  test('19 tests in 2 modules and 9 classes, as in suite-spec.tsv', () => {
    assert.equal(countTests(a), 19);
    assert.deepEqual(a.modules.map((m) => m.name), ['memory_protection', 'oom_recovery']);
    assert.equal(a.modules.reduce((n, m) => n + m.classes.length, 0), 9);
  });

  test('markers come from the fourth column', () => {
    const recovery = a.modules[1]!.classes.find((c) => c.name === 'TestRecoveryMetrics')!;
    assert.deepEqual(recovery.tests, [{ name: 'test_recovery_success_rate', markers: ['recovery'] }]);
    assert.equal(countTests(a, 'stress'), 5);
  });

  test('a line with fewer than three columns is an error that quotes the line', () => {
    assert.throws(() => suiteShapeWorkload('test_x\tTestX\n'), /fewer than 3 columns: test_x\tTestX/);
  });
});

describe('workload (b): many trivial tests', () => {
  const cases: { options: Parameters<typeof manyTrivialWorkload>[0]; total: number; selected: number; files: number }[] = [
    { options: undefined, total: 10_000, selected: 1_000, files: 100 },
    { options: { files: 1, classesPerFile: 1, testsPerClass: 1, selectEvery: 10 }, total: 1, selected: 1, files: 1 },
    { options: { files: 1, classesPerFile: 1, testsPerClass: 3, selectEvery: 2 }, total: 3, selected: 2, files: 1 },
    { options: { files: 2, classesPerFile: 3, testsPerClass: 5, selectEvery: 10 }, total: 30, selected: 3, files: 2 },
  ];
  for (const { options, total, selected, files } of cases) {
    test(`${JSON.stringify(options ?? 'defaults')}: ${total} tests, ${selected} selected`, () => {
      const w = manyTrivialWorkload(options);
      assert.equal(countTests(w), total);
      assert.equal(countTests(w, SELECTION_MARKER), selected);
      assert.equal(w.modules.length, files);
    });
  }

  test('a selected test carries the marker in its name too, so name patterns select the same tests', () => {
    for (const m of manyTrivialWorkload().modules)
      for (const c of m.classes) for (const t of c.tests) assert.equal(t.name.endsWith(`_${SELECTION_MARKER}`), t.markers.includes(SELECTION_MARKER), t.name);
  });
});

/** The test names a runner's generated files define, read back from the text, per module. */
function namesIn(runner: string, files: Record<string, string>): string[] {
  const pattern = runner === 'pytest' ? /def (test_\w+)\(self\)/g : runner === 'pytest-ts' ? /^ {2}(test_\w+)\(\) \{\}/gm : /test\("(test_\w+)"/g;
  return Object.entries(files)
    .filter(([name]) => /^test_.*\.(ts|py)$|\.test\.ts$/.test(name))
    .sort()
    .flatMap(([, text]) => [...text.matchAll(pattern)].map((m) => m[1]!));
}

describe('every runner gets the same tests', () => {
  const workloads: Workload[] = [readSuiteSpec(), manyTrivialWorkload({ files: 3, classesPerFile: 2, testsPerClass: 5 })];
  for (const w of workloads) {
    const expected = w.modules.flatMap((m) => m.classes.flatMap((c) => c.tests.map((t) => t.name)));
    for (const runner of RUNNERS) {
      test(`workload ${w.id}, ${runner}: same test names in the same order`, () => {
        assert.deepEqual(namesIn(runner, EMITTERS[runner](w)), expected);
      });
    }
    test(`workload ${w.id}: pytest and pytest-ts mark the same number of tests`, () => {
      for (const marker of w.markers) {
        const py = Object.values(EMITTERS.pytest(w)).join('\n').split(`@pytest.mark.${marker}\n`).length - 1;
        const ts = Object.values(EMITTERS['pytest-ts'](w)).join('\n').split(`@mark.${marker}\n`).length - 1;
        assert.equal(py, countTests(w, marker), marker);
        assert.equal(ts, countTests(w, marker), marker);
      }
    });
  }

  test('writeWorkload lists the test files it wrote, and nothing else', () => {
    const w = manyTrivialWorkload({ files: 4, classesPerFile: 1, testsPerClass: 1 });
    assert.deepEqual(writeWorkload(w, 'pytest', join(scratch, 'py')), ['test_mod_000.py', 'test_mod_001.py', 'test_mod_002.py', 'test_mod_003.py']);
    assert.deepEqual(writeWorkload(w, 'jest', join(scratch, 'jest')), ['mod_000.test.ts', 'mod_001.test.ts', 'mod_002.test.ts', 'mod_003.test.ts']);
    assert.match(readFileSync(join(scratch, 'jest', 'jest.config.cjs'), 'utf8'), /node_modules\/ts-jest/);
  });
});

describe('what each tool says it ran', () => {
  const cases: { tool: keyof typeof TOOLS; mode: 'collect' | 'run'; output: string; count: number | undefined }[] = [
    { tool: 'pytest', mode: 'run', output: '....\n10000 passed in 11.66s\n', count: 10000 },
    { tool: 'pytest-ts', mode: 'run', output: '1000 passed, 9000 deselected in 1.46s\n', count: 1000 },
    { tool: 'pytest', mode: 'run', output: '1 failed, 18 passed in 0.2s\n', count: 18 },
    { tool: 'pytest', mode: 'collect', output: 'a.py::T::test_x\n\n19 tests collected in 0.02s\n', count: 19 },
    { tool: 'pytest', mode: 'collect', output: '1000/10000 tests collected (9000 deselected) in 3s\n', count: 1000 },
    { tool: 'pytest-ts', mode: 'collect', output: '1 test collected in 0.01s\n', count: 1 },
    { tool: 'pytest', mode: 'run', output: 'no tests ran in 0.01s\n', count: undefined },
    { tool: 'vitest', mode: 'run', output: ' Test Files  100 passed (100)\n      Tests  10000 passed (10000)\n', count: 10000 },
    { tool: 'vitest', mode: 'run', output: '      Tests  \x1b[32m1 passed\x1b[39m | 18 skipped (19)\n', count: 1 },
    { tool: 'vitest', mode: 'collect', output: 'a.test.ts > TestA > test_x\na.test.ts > TestA > test_y\n', count: 2 },
    { tool: 'jest', mode: 'run', output: 'Tests:       16 skipped, 3 passed, 19 total\n', count: 3 },
    { tool: 'jest', mode: 'run', output: 'Tests:       10000 passed, 10000 total\n', count: 10000 },
    { tool: 'node', mode: 'run', output: '# tests 10000\n# pass 1000\n# skipped 9000\n', count: 1000 },
  ];
  for (const { tool, mode, output, count } of cases) {
    test(`${tool} ${mode}: ${JSON.stringify(output.trim().split('\n').pop())} -> ${count}`, () => {
      assert.equal(TOOLS[tool].count(output, mode), count);
    });
  }

  test('jest and node --test have no collect-only mode; the others do', () => {
    const ctx = { dir: '/x', files: ['a.test.ts'], cacheDir: '/c' };
    assert.deepEqual(
      RUNNERS.map((r) => TOOLS[r].command('collect', false, ctx) !== undefined),
      [true, true, true, false, false],
    );
  });

  test('the environment drops variables that only this machine sets', () => {
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = '/tmp/bundle.pem';
    try {
      assert.equal(baseEnv().NODE_EXTRA_CA_CERTS, undefined);
      assert.equal(baseEnv({ keepMachineVariables: true }).NODE_EXTRA_CA_CERTS, '/tmp/bundle.pem');
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
    }
  });
});

describe('measure', () => {
  test('peak memory counts the whole process tree, not just the biggest process', async () => {
    // Parent and child each hold 64 MiB of touched memory for a while; the sum must exceed either one.
    const hold = `const b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => b.length, 600);`;
    const parent = `const { spawn } = require('node:child_process'); ${hold} spawn(process.execPath, ['-e', ${JSON.stringify(hold)}], { stdio: 'inherit' });`;
    const r = await measure([process.execPath, '-e', parent], { cwd: scratch, env: baseEnv() });
    assert.equal(r.code, 0, r.output);
    assert.ok(r.peakBytes > 2 * 64 * 2 ** 20, `peak ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(r.wallS > 0.5);
  });

  test('the exit code and the output come back', async () => {
    const r = await measure([process.execPath, '-e', 'console.log("out"); console.error("err"); process.exit(3)'], { cwd: scratch, env: baseEnv() });
    assert.equal(r.code, 3);
    assert.match(r.output, /out/);
    assert.match(r.output, /err/);
  });
});
