// Workload generators for bench/runner-bench.mjs: the same trivial tests written once per runner, so every tool
// runs exactly the same shape (modules, classes, test names, markers) in its own idiom.
//
// Plain JavaScript on purpose: the harness must not load a TypeScript loader of its own, or its start-up would be
// charged to nobody and its memory would sit beside the measured processes.
//
// A workload is data: modules -> classes -> tests, each test with its markers. Emitters turn it into files:
//   pytest-ts  test_<module>.ts     exported classes, `@mark.<name>` decorators, imports the runner by absolute path
//   pytest     test_<module>.py     classes, `@pytest.mark.<name>`
//   vitest     <module>.test.ts     describe/test from 'vitest'
//   jest       <module>.test.ts     describe/test as globals, transpiled by ts-jest (transpile only)
//   node       <module>.test.ts     describe/test from 'node:test', run with `node --import tsx --test`
// Name-pattern runners cannot filter by marker, so a test that carries the selection marker also carries its name
// as a suffix (`test_0042_smoke`) in every runner: `-m smoke` and `-t smoke` then pick the same tests.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const RUNNER_INDEX = join(REPO, 'runner', 'index.ts');
// Absolute, so a workload directory outside the repository (under /tmp) still finds the transformer.
const TS_JEST = join(REPO, 'node_modules', 'ts-jest');
export const SELECTION_MARKER = 'smoke';
export const RUNNERS = ['pytest-ts', 'pytest', 'vitest', 'jest', 'node'];

/**
 * @typedef {{ name: string, markers: string[] }} TestSpec
 * @typedef {{ name: string, tests: TestSpec[] }} ClassSpec
 * @typedef {{ name: string, classes: ClassSpec[] }} ModuleSpec
 * @typedef {{ id: string, title: string, modules: ModuleSpec[], markers: string[] }} Workload
 */

/** Workload (a): the OOM suite's shape from a suite-spec.tsv (module, class, test, comma-separated markers). */
export function suiteShapeWorkload(tsvText) {
  /** @type {Map<string, Map<string, TestSpec[]>>} */
  const modules = new Map();
  const markers = new Set();
  for (const line of tsvText.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [moduleName, className, testName, markerList] = line.split('\t');
    if (!moduleName || !className || !testName) throw new Error(`suite spec line has fewer than 3 columns: ${line}`);
    const testMarkers = (markerList ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    testMarkers.forEach((m) => markers.add(m));
    const classes = modules.get(moduleName) ?? new Map();
    modules.set(moduleName, classes);
    const tests = classes.get(className) ?? [];
    classes.set(className, tests);
    tests.push({ name: testName, markers: testMarkers });
  }
  return {
    id: 'a',
    title: '19 trivial tests, suite shape (2 modules, 9 classes)',
    markers: [...markers].sort(),
    modules: [...modules].map(([name, classes]) => ({
      name: name.replace(/^test_/, ''),
      classes: [...classes].map(([className, tests]) => ({ name: className, tests })),
    })),
  };
}

// The repository's copy of ../shared/suite-spec.tsv (validate-suite.ts checks the two are identical).
export function readSuiteSpec(path = join(REPO, 'suites', 'suite-spec.tsv')) {
  return suiteShapeWorkload(readFileSync(path, 'utf8'));
}

/**
 * Workload (b): `files` modules of `classesPerFile` classes of `testsPerClass` tests; every `selectEvery`-th test
 * (by global index) carries the selection marker, so (c) selects exactly 1/selectEvery of them.
 */
export function manyTrivialWorkload({ files = 100, classesPerFile = 10, testsPerClass = 10, selectEvery = 10 } = {}) {
  let index = 0;
  const modules = [];
  for (let f = 0; f < files; f++) {
    const classes = [];
    for (let c = 0; c < classesPerFile; c++) {
      const tests = [];
      for (let t = 0; t < testsPerClass; t++, index++) {
        const selected = index % selectEvery === 0;
        const number = String(index).padStart(5, '0');
        tests.push({ name: selected ? `test_${number}_${SELECTION_MARKER}` : `test_${number}`, markers: selected ? [SELECTION_MARKER] : [] });
      }
      classes.push({ name: `TestGroup${String(c).padStart(2, '0')}`, tests });
    }
    modules.push({ name: `mod_${String(f).padStart(3, '0')}`, classes });
  }
  return { id: 'b', title: `${index} trivial tests in ${files} files`, markers: [SELECTION_MARKER], modules };
}

export function countTests(workload, marker) {
  let count = 0;
  for (const m of workload.modules) for (const c of m.classes) for (const t of c.tests) if (!marker || t.markers.includes(marker)) count++;
  return count;
}

// ---- emitters: one per runner, each returns { files: {relativePath: text} } ----

const iniFor = (workload) => `[pytest]\nmarkers =\n${workload.markers.map((m) => `    ${m}: bench marker`).join('\n')}\n`;

function pytestTsFiles(workload) {
  const files = { 'pytest.ini': iniFor(workload) };
  for (const module of workload.modules) {
    const lines = [`import { mark } from ${JSON.stringify(RUNNER_INDEX)};`, ''];
    for (const cls of module.classes) {
      lines.push(`export class ${cls.name} {`);
      for (const test of cls.tests) {
        for (const marker of test.markers) lines.push(`  @mark.${marker}`);
        lines.push(`  ${test.name}() {}`);
      }
      lines.push('}', '');
    }
    files[`test_${module.name}.ts`] = lines.join('\n');
  }
  return files;
}

function pytestFiles(workload) {
  const files = { 'pytest.ini': iniFor(workload) };
  for (const module of workload.modules) {
    const lines = ['import pytest', ''];
    for (const cls of module.classes) {
      lines.push(`class ${cls.name}:`);
      for (const test of cls.tests) {
        for (const marker of test.markers) lines.push(`    @pytest.mark.${marker}`);
        lines.push(`    def ${test.name}(self):`, '        pass', '');
      }
    }
    files[`test_${module.name}.py`] = lines.join('\n');
  }
  return files;
}

/** describe/test files; `header` is the import line (empty for jest, whose globals are injected). */
function describeFiles(workload, header) {
  const files = {};
  for (const module of workload.modules) {
    const lines = header ? [header, ''] : [];
    for (const cls of module.classes) {
      lines.push(`describe(${JSON.stringify(cls.name)}, () => {`);
      for (const test of cls.tests) lines.push(`  test(${JSON.stringify(test.name)}, () => {});`);
      lines.push('});', '');
    }
    files[`${module.name}.test.ts`] = lines.join('\n');
  }
  return files;
}

// A local tsconfig stops vite, tsx and ts-jest from walking up to the repository's (strict, nodenext) tsconfig.
const esmTsconfig = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'esnext', moduleResolution: 'bundler', isolatedModules: true, skipLibCheck: true } }, null, 2);
// ts-jest transpiles file by file (isolatedModules: transpileModule, no type check), like every other tool here.
const jestTsconfig = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', isolatedModules: true, skipLibCheck: true, types: [] } }, null, 2);

export const EMITTERS = {
  'pytest-ts': (w) => ({ ...pytestTsFiles(w), 'tsconfig.json': esmTsconfig }),
  pytest: pytestFiles,
  vitest: (w) => ({
    ...describeFiles(w, "import { describe, test } from 'vitest';"),
    'tsconfig.json': esmTsconfig,
    'package.json': '{ "type": "module" }\n',
    // vite's cache (dependency pre-bundling, run order) goes where the harness says, so it can be made cold.
    'vitest.config.mjs': "export default { cacheDir: process.env.BENCH_VITE_CACHE, test: { include: ['**/*.test.ts'] } };\n",
  }),
  jest: (w) => ({
    ...describeFiles(w, ''),
    'tsconfig.json': jestTsconfig,
    'package.json': '{ "type": "commonjs" }\n',
    'jest.config.cjs': `module.exports = { testEnvironment: 'node', transform: { '^.+\\\\.ts$': [${JSON.stringify(TS_JEST)}, {}] }, testMatch: ['**/*.test.ts'] };\n`,
  }),
  node: (w) => ({
    ...describeFiles(w, "import { describe, test } from 'node:test';"),
    'tsconfig.json': esmTsconfig,
    'package.json': '{ "type": "module" }\n',
  }),
};

/** Writes `workload` for `runner` into a fresh `dir`; returns the test file names (relative), sorted. */
export function writeWorkload(workload, runner, dir) {
  const emit = EMITTERS[runner];
  if (!emit) throw new Error(`no emitter for runner '${runner}' (known: ${RUNNERS.join(', ')})`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = emit(workload);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files).filter((name) => /^test_.*\.(?:ts|py)$|\.test\.ts$/.test(name)).sort();
}
