// Validates the OOM-prevention suite (`npx tsx validate-suite.ts`, `npm run validate`): the port of the original
// tests/validate_test_suite.py with its printed sections, but where the original only counted lines and passed
// whatever it found, this one compares. The collected suite must equal suite-spec.tsv and scenarios.yaml exactly
// (ids, markers per test, classes with the harness, totals), every marker must be registered in memory.ini, and
// every number RUN_MEMORY_TESTS.md states must be what the runner really selects. Counts come from the runner's
// collection API, never from matching text. Any difference is printed and the exit code is 1.
//
// The project validated is the one this file lives in, so a copy of the project validates itself.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect } from './runner/api.js';
import { compareCollection, suiteMarkers, type CollectedSuite } from './validate/collection.js';
import { inspectEnvironment } from './validate/environment.js';
import { checkGuide } from './validate/guide.js';
import {
  compareScenariosWithSpec,
  markerTotals,
  parseScenarioMatrix,
  parseSuiteSpec,
  SpecFormatError,
  TOTAL_KEYS,
  type ScenarioMatrix,
  type SuiteSpec,
} from './validate/spec.js';

const ROOT = dirname(fileURLToPath(import.meta.url));
const RULE = '='.repeat(80);
const GUIDE = 'RUN_MEMORY_TESTS.md';
const SPEC_COPY = 'suites/suite-spec.tsv';
const SHARED_SPEC = '../shared/suite-spec.tsv';
const MATRIX = 'suites/scenarios.yaml';

/** The files the suite consists of; the first four are the original's, the rest are the port's data and fixtures. */
const REQUIRED_FILES = ['suites/test_memory_protection.ts', 'suites/test_oom_recovery.ts', 'memory.ini', GUIDE, 'suites/conftest.ts', MATRIX, SPEC_COPY];

const QUICK_COMMAND = 'npx pytest-ts suites/ -v -m "not slow"';
const FULL_COMMAND = 'npx pytest-ts suites/ -v';

const differences: string[] = [];

function section(title: string): void {
  console.log(`\n${title}`);
  console.log('-'.repeat(title.length));
}

function tick(ok: boolean): string {
  return ok ? '✓' : '✗';
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function checkFiles(): void {
  section('Files');
  for (const file of REQUIRED_FILES) {
    const path = join(ROOT, file);
    const size = existsSync(path) ? statSync(path).size : null;
    console.log(`  ${tick(size !== null)} ${file.padEnd(30)} ${size === null ? ' '.repeat(6) : String(size).padStart(6)} ${size === null ? 'MISSING' : 'bytes'}`);
    if (size === null) differences.push(`missing file: ${file}`);
  }
  const shared = join(ROOT, SHARED_SPEC);
  const copy = join(ROOT, SPEC_COPY);
  if (existsSync(shared) && existsSync(copy)) {
    const same = readFileSync(shared).equals(readFileSync(copy));
    console.log(`  ${tick(same)} ${SPEC_COPY} ${same ? 'is byte for byte' : 'DIFFERS from'} ${SHARED_SPEC}`);
    if (!same) differences.push(`${SPEC_COPY} differs from ${SHARED_SPEC} (the canonical copy)`);
  } else if (existsSync(copy)) {
    console.log(`  - ${SHARED_SPEC} not present: the copy is not compared`);
  }
}

async function checkEnvironment(): Promise<void> {
  section('Imports and backends');
  const report = await inspectEnvironment(ROOT);
  for (const line of report.lines) console.log(`  ${line.ok ? '✓' : line.required ? '✗' : '⚠'} ${line.text}`);
  differences.push(...report.differences);
}

function readDescriptions(): { spec: SuiteSpec | null; matrix: ScenarioMatrix | null } {
  let spec: SuiteSpec | null = null;
  let matrix: ScenarioMatrix | null = null;
  try {
    spec = parseSuiteSpec(readFileSync(join(ROOT, SPEC_COPY), 'utf8'), SPEC_COPY);
  } catch (error) {
    if (error instanceof SpecFormatError) differences.push(error.message);
    // a missing file is already reported in the files section
  }
  try {
    matrix = parseScenarioMatrix(readFileSync(join(ROOT, MATRIX), 'utf8'), MATRIX);
  } catch (error) {
    if (error instanceof SpecFormatError) differences.push(error.message);
  }
  if (spec && matrix) differences.push(...compareScenariosWithSpec(spec, matrix, SPEC_COPY, MATRIX));
  return { spec, matrix };
}

interface Collected {
  suite: CollectedSuite;
  registered: string[];
  configFile: string;
}

async function collectSuite(): Promise<Collected | null> {
  try {
    const result = await collect([], ROOT);
    const configFile = result.config.inipath ? relative(ROOT, result.config.inipath) : '(none)';
    if (configFile !== 'memory.ini') differences.push(`pytest-ts reads its configuration from ${configFile}, not memory.ini`);
    return { suite: result, registered: result.config.ini.markers.map((m) => m.name), configFile };
  } catch (error) {
    differences.push(`collection failed: ${errorLine(error)}`);
    return null;
  }
}

function printStructure(collected: Collected): void {
  section('Structure (from collection)');
  const modules = new Set([...collected.suite.classes.map((c) => c.module), ...collected.suite.tests.map((t) => t.module)]);
  for (const module of modules) {
    const classes = collected.suite.classes.filter((c) => c.module === module);
    const tests = collected.suite.tests.filter((t) => t.module === module);
    console.log(`  ${module}: ${classes.length} classes, ${tests.length} tests`);
    for (const cls of classes) {
      const count = tests.filter((t) => t.className === cls.name).length;
      console.log(`    ${cls.name.padEnd(28)} ${cls.collected ? `${count} tests` : 'harness (no collected tests)'}`);
    }
  }
  const totals = markerTotals(collected.suite.tests.map((t) => ({ markers: suiteMarkers(t.markers) })));
  console.log(`  Total: ${collected.suite.classes.length} classes (${collected.suite.classes.filter((c) => c.collected).length} with tests), ${totals.tests} tests`);
  console.log(`  Markers: ${TOTAL_KEYS.map((k) => `${k} ${totals[k]}`).join(', ')}`);
  console.log(`  Registered in ${collected.configFile}: ${collected.registered.join(', ')}`);
}

/**
 * Collection through the CLI as a user runs it: this also builds the fixture graph and loads the conftest's
 * options, which the collection API does not, so a broken fixture shows up here.
 */
function checkCliCollection(): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'pytest-ts.js'), '--collect-only', '-q', '-p', 'no:cacheprovider'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: '1', PYTEST_ADDOPTS: '' },
  });
  const ok = result.status === 0;
  console.log(`  ${tick(ok)} npx pytest-ts --collect-only exits ${result.status ?? result.signal}`);
  if (!ok) {
    differences.push(`\`npx pytest-ts --collect-only\` exits ${result.status ?? result.signal}: ${collectionFailure(`${result.stdout}\n${result.stderr}`)}`);
  }
}

/** The line that says why collection failed: the first under an `ERROR collecting` header, else an `E` line. */
function collectionFailure(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.findIndex((l) => /^_+ ERROR collecting .* _+$/.test(l));
  if (header >= 0 && lines[header + 1]) return lines[header + 1]!;
  return lines.find((l) => /^E\s/.test(l))?.replace(/^E\s+/, '') ?? lines.find((l) => /^ERROR /.test(l)) ?? lines.at(-1) ?? '';
}

function printScenarios(matrix: ScenarioMatrix): void {
  section(`Scenarios (${MATRIX})`);
  for (const s of matrix.tests) {
    console.log(`  ${String(s.id).padStart(2)}. ${`${s.class}::${s.test}`.padEnd(60)} ${s.duration.padStart(4)}  ${s.markers.join(',')}`);
  }
  const quick = matrix.tests.filter((s) => !s.markers.includes('slow'));
  const budget = quick.reduce((sum, s) => sum + s.budget_s, 0);
  console.log(`  Total scenarios: ${matrix.tests.length}; quick mode ${quick.length} of ${matrix.tests.length}, ${budget} s of budget`);
}

function printCriteria(matrix: ScenarioMatrix): void {
  section(`Pass criteria (${MATRIX})`);
  for (const s of matrix.tests) {
    const limits = Object.entries(s.criteria)
      .filter(([key]) => key !== 'text')
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
    console.log(`  ${s.test}: ${s.criteria.text}${limits.length ? `  [${limits.join(' ')}]` : ''}`);
  }
}

async function checkGuideNumbers(collected: Collected, matrix: ScenarioMatrix | null): Promise<void> {
  section(`${GUIDE} (every number checked)`);
  const path = join(ROOT, GUIDE);
  if (!existsSync(path)) {
    console.log('  ✗ missing');
    return;
  }
  const markerCounts = markerTotals(collected.suite.tests.map((t) => ({ markers: suiteMarkers(t.markers) })));
  const result = await checkGuide(readFileSync(path, 'utf8'), {
    countSelected: async (argv) => (await collect(argv, ROOT)).tests.length,
    markerCounts,
    registeredMarkers: collected.registered,
    scenarios: matrix?.tests ?? [],
    totalTests: collected.suite.tests.length,
  });
  for (const claim of result.claims) {
    const ok = claim.actual === claim.claimed;
    console.log(`  ${tick(ok)} ${String(claim.actual ?? '?').padStart(2)} ${claim.command}${ok ? '' : `  (guide says ${claim.claimed})`}`);
  }
  console.log(`  ${result.claims.length} selection claims, the marker table and the duration table checked`);
  differences.push(...result.differences);
}

async function main(): Promise<number> {
  console.log(RULE);
  console.log('TEST SUITE VALIDATION: OOM-prevention suite (pytest-ts)');
  console.log(RULE);

  checkFiles();
  await checkEnvironment();
  const { spec, matrix } = readDescriptions();
  const collected = await collectSuite();
  if (collected) {
    printStructure(collected);
    section('Collection compared with suite-spec.tsv and scenarios.yaml');
    if (spec) {
      const found = compareCollection({ spec, matrix, collected: collected.suite, registered: collected.registered, specFile: SPEC_COPY, configFile: collected.configFile });
      console.log(`  ${tick(found.length === 0)} ${spec.tests.length} ids, marker sets, classes and totals${found.length ? `: ${found.length} differences` : ' match'}`);
      differences.push(...found);
    }
    checkCliCollection();
  }
  if (matrix) {
    printScenarios(matrix);
    printCriteria(matrix);
  }
  if (collected) await checkGuideNumbers(collected, matrix);

  section('Summary');
  const suite = collected?.suite;
  const totals = suite ? markerTotals(suite.tests.map((t) => ({ markers: suiteMarkers(t.markers) }))) : undefined;
  console.log(`  Files: ${REQUIRED_FILES.filter((f) => existsSync(join(ROOT, f))).length} of ${REQUIRED_FILES.length}`);
  if (suite && totals) {
    console.log(`  Test classes: ${suite.classes.length} (${suite.classes.filter((c) => c.collected).length} with tests + harness)`);
    console.log(`  Tests: ${totals.tests}; quick mode (-m "not slow"): ${totals.tests! - totals.slow!} of ${totals.tests}`);
    console.log(`  Markers: ${TOTAL_KEYS.map((k) => `${k} ${totals[k]}`).join(', ')}`);
  }
  if (matrix) console.log(`  Scenarios: ${matrix.tests.length}`);

  section('Next commands');
  console.log(`  Quick mode:  ${QUICK_COMMAND}`);
  console.log(`  Full suite:  ${FULL_COMMAND}`);

  console.log(`\n${RULE}`);
  if (differences.length === 0) {
    console.log('✅ VALIDATION PASSED');
    console.log(RULE);
    return 0;
  }
  console.log(`Differences (${differences.length}):`);
  for (const difference of differences) console.log(`  - ${difference}`);
  console.log('❌ VALIDATION FAILED');
  console.log(RULE);
  return 1;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(`validate-suite: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
});
