// validate-suite.ts: the comparison rules on hand-built inputs (table-driven), then the validator itself on copies
// of the project where exactly one thing is broken, each of which must exit 1 with the difference that names it,
// and once on the real tree, which must exit 0.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compareCollection, type CollectedSuite } from '../../validate/collection.js';
import { checkGuide, type GuideFacts } from '../../validate/guide.js';
import { leadingNumber, markdownTables, splitRow } from '../../validate/markdown.js';
import { compareScenariosWithSpec, nodeIdOf, parseScenarioMatrix, parseSuiteSpec, SpecFormatError, type SuiteSpec } from '../../validate/spec.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SPEC_TEXT = readFileSync(join(REPO, 'suites', 'suite-spec.tsv'), 'utf8');
const MATRIX_TEXT = readFileSync(join(REPO, 'suites', 'scenarios.yaml'), 'utf8');
const REGISTERED = ['slow', 'gpu', 'stress', 'oom', 'recovery'];

interface MutableSuite {
  tests: Array<{ nodeid: string; module: string; className?: string; name: string; markers: string[]; line: number }>;
  classes: Array<{ module: string; name: string; collected: boolean }>;
  errors: Array<{ module: string; error: unknown }>;
}

/** What a correct collection of the spec looks like, as runner/api.ts reports it. */
function collectionOf(spec: SuiteSpec): MutableSuite {
  const tests = spec.tests.map((t, i) => ({
    nodeid: nodeIdOf(t.module, t.className, t.name),
    module: `suites/${t.module}.ts`,
    className: t.className,
    name: t.name,
    markers: [...t.markers, 'timeout'],
    line: 10 + i,
  }));
  const classes: MutableSuite['classes'] = [];
  for (const t of spec.tests) {
    if (!classes.some((c) => c.name === t.className)) classes.push({ module: `suites/${t.module}.ts`, name: t.className, collected: true });
  }
  for (const h of spec.harnessClasses) classes.push({ module: `suites/${h.module}.ts`, name: h.className, collected: false });
  return { tests, classes, errors: [] };
}

describe('markdown tables', () => {
  test('cells split on pipes, except in code spans and when escaped', () => {
    const table: Array<[string, string[]]> = [
      ['| a | b |', ['a', 'b']],
      ['|`x | y`| 3 |', ['`x | y`', '3']],
      ['| a \\| b | c |', ['a | b', 'c']],
      ['a | b', ['a', 'b']],
      ['| `npx pytest-ts suites/ -k "a or b"` | 19: all |', ['`npx pytest-ts suites/ -k "a or b"`', '19: all']],
    ];
    for (const [line, cells] of table) assert.deepEqual(splitRow(line), cells, line);
  });

  test('tables inside code fences are not tables; rows keep their line numbers', () => {
    const text = ['intro', '| A | B |', '|---|:-:|', '| 1 | 2 |', '', '```', '| C | D |', '|---|---|', '```', '| E |', '| no delimiter |'].join('\n');
    const tables = markdownTables(text);
    assert.equal(tables.length, 1);
    assert.deepEqual(tables[0]!.header, ['A', 'B']);
    assert.deepEqual(tables[0]!.rows, [{ line: 4, cells: ['1', '2'] }]);
  });

  test('a cell\'s leading number', () => {
    const table: Array<[string, number | null]> = [['18: quick', 18], ['**3** tests', 3], ['1, output not captured', 1], ['7.5 s', 7.5], ['none', null], ['', null]];
    for (const [cell, n] of table) assert.equal(leadingNumber(cell), n, cell);
  });
});

describe('suite-spec.tsv and scenarios.yaml', () => {
  test('the repository\'s spec: 19 tests and the harness', () => {
    const spec = parseSuiteSpec(SPEC_TEXT);
    assert.equal(spec.tests.length, 19);
    assert.deepEqual(spec.harnessClasses, [{ module: 'test_memory_protection', className: 'TestMemoryStressHarness' }]);
    assert.deepEqual(spec.tests[16]!.markers, ['gpu', 'oom', 'recovery', 'stress']);
    assert.deepEqual(compareScenariosWithSpec(spec, parseScenarioMatrix(MATRIX_TEXT)), []);
  });

  test('malformed lines are reported with their place', () => {
    const header = SPEC_TEXT.split('\n')[0]!;
    assert.throws(() => parseSuiteSpec(`${header}\nmodule\tclass\n`, 's.tsv'), new SpecFormatError('s.tsv:2: expected 7 tab-separated columns, found 2'));
    assert.throws(() => parseSuiteSpec('# a\tb\n'), /suite-spec\.tsv:1: the header names the columns a, b/);
    assert.throws(() => parseScenarioMatrix('tests: 3\ntotals: {}\nharness_class: {}\n', 'm.yaml'), /m\.yaml: 'tests' must be a list/);
  });

  test('each disagreement between the two is named', () => {
    const spec = parseSuiteSpec(SPEC_TEXT);
    const table: Array<[string, (text: string) => string, RegExp]> = [
      ['a total', (t) => t.replace('gpu: 18', 'gpu: 17'), /^scenarios\.yaml: totals\.gpu is 17, suite-spec\.tsv gives 18$/],
      ['a marker', (t) => t.replace('markers: [gpu, oom]\n    duration: 5s\n    budget_s: 5\n    load: { usages', 'markers: [gpu]\n    duration: 5s\n    budget_s: 5\n    load: { usages'), /test_emergency_shutdown_trigger has markers gpu, suite-spec\.tsv:9 says gpu,oom/],
      ['a duration', (t) => t.replace('duration: 30s', 'duration: 31s'), /test_memory_allocation_stress has duration 31s, suite-spec\.tsv:3 says 30s/],
      ['a test name', (t) => t.replace('test: test_oom_detection', 'test: test_oom_detected'), /scenarios\.yaml has no scenario for test_oom_recovery::TestOOMDetection::test_oom_detection/],
      ['the harness', (t) => t.replace('class: TestMemoryStressHarness', 'class: TestHarness'), /harness_class test_memory_protection::TestHarness is not the harness/],
    ];
    for (const [what, edit, expected] of table) {
      const edited = edit(MATRIX_TEXT);
      assert.notEqual(edited, MATRIX_TEXT, `the edit of ${what} applied`);
      const found = compareScenariosWithSpec(spec, parseScenarioMatrix(edited));
      assert.ok(found.some((d) => expected.test(d)), `${what}: ${JSON.stringify(found)}`);
    }
  });
});

describe('the collection against the spec', () => {
  const spec = parseSuiteSpec(SPEC_TEXT);
  const matrix = parseScenarioMatrix(MATRIX_TEXT);
  const compare = (collected: CollectedSuite, registered = REGISTERED) => compareCollection({ spec, matrix, collected, registered });
  const detection = 'suites/test_oom_recovery.ts::TestOOMDetection::test_oom_detection';

  test('a faithful collection has no differences (built-in markers such as timeout do not count)', () => {
    assert.deepEqual(compare(collectionOf(spec)), []);
  });

  const cases: Array<[string, (c: MutableSuite) => void, string[]]> = [
    [
      'a marker removed from a test',
      (c) => (c.tests[9]!.markers = ['gpu']),
      [
        `${detection} has markers gpu, suite-spec.tsv:11 says gpu,oom (missing oom)`,
        'collected total oom is 9, suite-spec.tsv gives 10',
        'collected total oom is 9, scenarios.yaml totals say 10',
      ],
    ],
    [
      'a test renamed',
      (c) => Object.assign(c.tests[9]!, { name: 'test_oom_detected', nodeid: detection.replace('detection', 'detected') }),
      [`${detection} (suite-spec.tsv:11) was not collected`, `${detection.replace('detection', 'detected')} (suites/test_oom_recovery.ts:19) was collected but suite-spec.tsv does not list it`],
    ],
    ['an unregistered marker', (c) => c.tests[0]!.markers.push('flaky'), [`marker 'flaky' on ${nodeIdOf('test_memory_protection', 'TestMemoryStress', 'test_sustained_high_memory_usage')} is not registered in memory.ini`]],
    ['the harness yields tests', (c) => (c.classes.at(-1)!.collected = true), ['class TestMemoryStressHarness in suites/test_memory_protection.ts yields tests, but suite-spec.tsv names it as the harness, which must yield none']],
    ['the harness is gone', (c) => c.classes.pop(), ['class test_memory_protection :: TestMemoryStressHarness (the harness) was not found by collection', 'collected total classes is 9, suite-spec.tsv gives 10']],
    ['two tests swapped', (c) => c.tests.splice(0, 2, c.tests[1]!, c.tests[0]!), [`collection order differs from suite-spec.tsv: position 1 is ${nodeIdOf('test_memory_protection', 'TestMemoryStress', 'test_memory_allocation_stress')}, suite-spec.tsv has ${nodeIdOf('test_memory_protection', 'TestMemoryStress', 'test_sustained_high_memory_usage')}`]],
    ['a module fails to import', (c) => c.errors.push({ module: 'suites/test_oom_recovery.ts', error: new SyntaxError('Unexpected token\nmore') }), ['suites/test_oom_recovery.ts could not be collected: SyntaxError: Unexpected token']],
  ];
  for (const [what, breakIt, expected] of cases) {
    test(what, () => {
      const collected = collectionOf(spec);
      breakIt(collected);
      const found = compare(collected);
      for (const line of expected) assert.ok(found.includes(line), `missing '${line}' in ${JSON.stringify(found, null, 1)}`);
    });
  }

  test('a spec marker memory.ini does not register', () => {
    const found = compare(collectionOf(spec), REGISTERED.filter((m) => m !== 'stress'));
    assert.ok(found.includes("marker 'stress' of suite-spec.tsv is not registered in memory.ini"), JSON.stringify(found));
  });
});

describe('RUN_MEMORY_TESTS.md checks', () => {
  const facts = (counts: Record<string, number>): GuideFacts => ({
    countSelected: async (argv) => {
      const key = argv.join(' ');
      if (!(key in counts)) throw new Error(`no such selection: ${key}`);
      return counts[key]!;
    },
    markerCounts: { gpu: 18, slow: 1 },
    registeredMarkers: ['gpu', 'slow'],
    scenarios: [{ id: 1, module: 'm', class: 'C', test: 'test_a', markers: ['gpu', 'slow'], duration: '1h', budget_s: 3720, load: {}, criteria: { text: 't' } }],
    totalTests: 19,
  });
  const guide = (selection: string, extra = '') =>
    [
      'Quick mode is 18 of 19.',
      '',
      '| Command | Selects |',
      '|---|---|',
      selection,
      '',
      '| Marker | Tests |',
      '|---|---|',
      '| `gpu` | 18 |',
      '| `slow` | 1 |',
      '',
      '| Test | Markers | Duration | Budget |',
      '|---|---|---|---|',
      '| `test_a` | gpu, slow | 1 h | 3720 s |',
      extra,
    ].join('\n');
  const counts = { 'suites/ -v -m not slow': 18 };

  test('true numbers pass', async () => {
    const result = await checkGuide(guide('| `npx pytest-ts suites/ -v -m "not slow"` | 18: quick |'), facts(counts));
    assert.deepEqual(result.differences, []);
    assert.deepEqual(result.claims.map((c) => [c.argv, c.claimed, c.actual]), [[['suites/', '-v', '-m', 'not slow'], 18, 18]]);
  });

  const cases: Array<[string, string, string, string]> = [
    ['a wrong count', '| `npx pytest-ts suites/ -v -m "not slow"` | 16: quick |', '', 'RUN_MEMORY_TESTS.md:5: `npx pytest-ts suites/ -v -m "not slow"` selects 18 tests, the guide says 16'],
    ['a row that is not a pytest-ts command', '| `pytest tests/` | 19 |', '', "RUN_MEMORY_TESTS.md:5: the selection table's command must be a `npx pytest-ts ...` code span, found '`pytest tests/`'"],
    ['a Selects cell without a number', '| `npx pytest-ts suites/ -v -m "not slow"` | most |', '', "RUN_MEMORY_TESTS.md:5: the Selects cell of `npx pytest-ts suites/ -v -m \"not slow\"` must start with the number of tests, found 'most'"],
    ['a selection that fails', '| `npx pytest-ts nowhere/` | 1 |', '', 'RUN_MEMORY_TESTS.md:5: `npx pytest-ts nowhere/` fails to select: no such selection: nowhere/'],
    ['a count in prose no row proves', '| `npx pytest-ts suites/ -v -m "not slow"` | 18 |', 'Runs 16/19 tests.', "RUN_MEMORY_TESTS.md:15: '16/19' is not a count any row of the selection table proves (18)"],
    ['a second selection table', '| `npx pytest-ts suites/ -v -m "not slow"` | 18 |', '\n| Command | Selects |\n|---|---|\n| `npx pytest-ts suites/ -v -m "not slow"` | 18 |', 'RUN_MEMORY_TESTS.md: expected one selection table (columns Command | Selects), found 2'],
  ];
  for (const [what, row, extra, expected] of cases) {
    test(what, async () => {
      const result = await checkGuide(guide(row, extra), facts(counts));
      assert.ok(result.differences.includes(expected), `missing '${expected}' in ${JSON.stringify(result.differences, null, 1)}`);
    });
  }

  test('marker and duration tables are compared with the suite', async () => {
    const text = guide('| `npx pytest-ts suites/ -v -m "not slow"` | 18 |').replace('| `gpu` | 18 |', '| `gpu` | 17 |').replace('| gpu, slow | 1 h | 3720 s |', '| gpu | 60 s | 90 s |');
    const { differences } = await checkGuide(text, facts(counts));
    for (const expected of [
      "RUN_MEMORY_TESTS.md:9: marker 'gpu' is on 18 collected tests, the guide says 17",
      'RUN_MEMORY_TESTS.md:14: test_a is marked gpu,slow, the guide says gpu',
      'RUN_MEMORY_TESTS.md:14: test_a lasts 1h in scenarios.yaml, the guide says 60 s',
      'RUN_MEMORY_TESTS.md:14: test_a has a budget of 3720 s in scenarios.yaml, the guide says 90 s',
    ]) {
      assert.ok(differences.includes(expected), `missing '${expected}' in ${JSON.stringify(differences, null, 1)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The validator as a program, on copies of the project

const PROJECT_PARTS = ['bin', 'runner', 'src', 'suites', 'validate', 'validate-suite.ts', 'package.json', 'memory.ini', 'RUN_MEMORY_TESTS.md', 'tsconfig.json'];
const copies: string[] = [];

/** `<tmp>/main` holds the copy, `<tmp>/shared/suite-spec.tsv` the canonical spec, as in the real layout. */
function copyProject(): string {
  const base = mkdtempSync(join(tmpdir(), 'validate-suite-'));
  copies.push(base);
  const root = join(base, 'main');
  mkdirSync(root);
  for (const part of PROJECT_PARTS) if (existsSync(join(REPO, part))) cpSync(join(REPO, part), join(root, part), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(base, 'shared'));
  writeFileSync(join(base, 'shared', 'suite-spec.tsv'), SPEC_TEXT);
  return root;
}

function edit(root: string, file: string, change: (text: string) => string): void {
  const path = join(root, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  assert.notEqual(after, before, `the edit of ${file} applied`);
  writeFileSync(path, after);
}

/** Removes the decorator `@mark.<marker>` that belongs to `method` (the last one written above it). */
function removeMarker(text: string, method: string, marker: string): string {
  const at = text.search(new RegExp(`\\b${method}\\s*\\(`));
  assert.ok(at > 0, `${method} is defined`);
  const decorator = text.lastIndexOf(`@mark.${marker}`, at);
  assert.ok(decorator > 0 && !/\btest_\w+\s*\(/.test(text.slice(decorator, at)), `@mark.${marker} decorates ${method}`);
  return text.slice(0, decorator) + text.slice(decorator + `@mark.${marker}`.length);
}

function validate(root: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PYTEST_ADDOPTS: '' };
    delete env.PYTEST_TS_DEVICE;
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'validate-suite.ts')], { cwd: root, env });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const DETECTION = 'suites/test_oom_recovery.ts::TestOOMDetection::test_oom_detection';
const BROKEN: Array<[string, (root: string) => void, RegExp]> = [
  [
    'a marker removed from a test',
    (root) => edit(root, 'suites/test_oom_recovery.ts', (t) => removeMarker(t, 'test_oom_detection', 'oom')),
    new RegExp(`^  - ${escape(DETECTION)} has markers gpu, suites/suite-spec\\.tsv:11 says gpu,oom \\(missing oom\\)$`, 'm'),
  ],
  [
    'a test renamed',
    (root) => edit(root, 'suites/test_oom_recovery.ts', (t) => t.replace(/\btest_oom_detection(\s*\()/, 'test_oom_detected$1')),
    new RegExp(`^  - ${escape(DETECTION)} \\(suites/suite-spec\\.tsv:11\\) was not collected$`, 'm'),
  ],
  [
    'an unregistered marker',
    (root) => edit(root, 'memory.ini', (t) => t.replace(/^ +oom:.*\n/m, '')),
    new RegExp(`^  - marker 'oom' on ${escape(DETECTION)} is not registered in memory\\.ini$`, 'm'),
  ],
  [
    'a wrong count in the guide',
    (root) => edit(root, 'RUN_MEMORY_TESTS.md', (t) => t.replace('| `npx pytest-ts suites/ -v -k "oom"` | 12', '| `npx pytest-ts suites/ -v -k "oom"` | 11')),
    /^ {2}- RUN_MEMORY_TESTS\.md:\d+: `npx pytest-ts suites\/ -v -k "oom"` selects 12 tests, the guide says 11$/m,
  ],
  ['a missing file', (root) => unlinkSync(join(root, 'suites', 'test_oom_recovery.ts')), /^ {2}- missing file: suites\/test_oom_recovery\.ts$/m],
  [
    'a wrong total in scenarios.yaml',
    (root) => edit(root, 'suites/scenarios.yaml', (t) => t.replace('recovery: 13', 'recovery: 12')),
    /^ {2}- collected total recovery is 13, scenarios\.yaml totals say 12$/m,
  ],
  [
    'the spec copy differs from the shared one',
    (root) => writeFileSync(join(root, '..', 'shared', 'suite-spec.tsv'), SPEC_TEXT.replace('60s', '61s')),
    /^ {2}- suites\/suite-spec\.tsv differs from \.\.\/shared\/suite-spec\.tsv \(the canonical copy\)$/m,
  ],
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('validate-suite.ts as a program', { concurrency: 2 }, () => {
  after(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, breakIt, expected] of BROKEN) {
    test(`exit 1 and the difference for: ${what}`, async () => {
      const root = copyProject();
      breakIt(root);
      const { code, out } = await validate(root);
      assert.equal(code, 1, out);
      assert.match(out, expected);
      assert.match(out, /^❌ VALIDATION FAILED$/m);
    });
  }

  test('the real tree passes', async () => {
    const { code, out } = await validate(REPO);
    assert.equal(code, 0, out);
    assert.match(out, /^={80}\nTEST SUITE VALIDATION/m);
    assert.match(out, /^ {2}✓ suites\/test_memory_protection\.ts +\d+ bytes$/m);
    assert.match(out, /^ {2}✓ active device: (cpu|cuda) /m);
    assert.match(out, /^ {2}Total: 10 classes \(9 with tests\), 19 tests$/m);
    assert.match(out, /^ {2}Markers: gpu 18, stress 5, oom 10, recovery 13, slow 1$/m);
    assert.match(out, /^ {2}Tests: 19; quick mode \(-m "not slow"\): 18 of 19$/m);
    assert.match(out, /^ {2}Quick mode: {2}npx pytest-ts suites\/ -v -m "not slow"$/m);
    assert.match(out, /^✅ VALIDATION PASSED$/m);
  });
});
