// The two descriptions of the suite that the collection must equal: suite-spec.tsv (canonical: 19 tests and their
// markers) and scenarios.yaml (the same 19 as data, with totals and the harness class). Parsing is strict: a
// malformed line is reported with its place rather than skipped.

import { load } from 'js-yaml';

/** The directory the suite files live in, as node ids spell it. */
export const SUITE_DIR = 'suites';

/** The markers the suite's totals are about, in the order the issue and the summary print them. */
export const TOTAL_KEYS = ['gpu', 'stress', 'oom', 'recovery', 'slow'] as const;

export interface SpecTest {
  /** 1-based line in suite-spec.tsv. */
  line: number;
  module: string;
  className: string;
  name: string;
  markers: string[];
  duration: string;
  load: string;
  criteria: string;
}

export interface SpecClass {
  module: string;
  className: string;
}

export interface SuiteSpec {
  tests: SpecTest[];
  /** Classes that exist but yield no tests (the stress harness), from the `# class with no collected tests` line. */
  harnessClasses: SpecClass[];
}

// The matrix's shape is the suites' own (suites/support/scenarios.ts): one definition for the code and the checker.
export type { Scenario, ScenarioMatrix } from '../suites/support/scenarios.js';
import type { Scenario, ScenarioMatrix } from '../suites/support/scenarios.js';

/** A description file the validator cannot read; the message names the file and line. */
export class SpecFormatError extends Error {
  override name = 'SpecFormatError';
}

const TSV_COLUMNS = ['module', 'class', 'test', 'markers', 'duration', 'load', 'pass_criteria'];
const HARNESS_LINE = /^#\s*class with no collected tests[^:]*:\s*(\S+)\s+(\S+)\s*$/;

export function nodeIdOf(module: string, className: string, name: string): string {
  return `${SUITE_DIR}/${module}.ts::${className}::${name}`;
}

export function parseSuiteSpec(text: string, file = 'suite-spec.tsv'): SuiteSpec {
  const spec: SuiteSpec = { tests: [], harnessClasses: [] };
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const where = `${file}:${index + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const harness = HARNESS_LINE.exec(line);
      if (harness) spec.harnessClasses.push({ module: harness[1]!, className: harness[2]! });
      else if (index === 0 && line.slice(1).trim().split('\t').join() !== TSV_COLUMNS.join()) {
        throw new SpecFormatError(`${where}: the header names the columns ${line.slice(1).trim().split('\t').join(', ')}, expected ${TSV_COLUMNS.join(', ')}`);
      }
      return;
    }
    const cells = line.split('\t');
    if (cells.length !== TSV_COLUMNS.length) {
      throw new SpecFormatError(`${where}: expected ${TSV_COLUMNS.length} tab-separated columns, found ${cells.length}`);
    }
    const [module, className, name, markers, duration, loadText, criteria] = cells as [string, string, string, string, string, string, string];
    spec.tests.push({
      line: index + 1,
      module,
      className,
      name,
      markers: markers.split(',').map((m) => m.trim()).filter((m) => m !== ''),
      duration,
      load: loadText,
      criteria,
    });
  });
  return spec;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseScenarioMatrix(text: string, file = 'scenarios.yaml'): ScenarioMatrix {
  let data: unknown;
  try {
    data = load(text);
  } catch (error) {
    throw new SpecFormatError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(data)) throw new SpecFormatError(`${file}: expected a mapping at the top level`);
  if (!isRecord(data.totals)) throw new SpecFormatError(`${file}: 'totals' must be a mapping of counts`);
  if (!isRecord(data.harness_class)) throw new SpecFormatError(`${file}: 'harness_class' must be a mapping with module and class`);
  if (!Array.isArray(data.tests)) throw new SpecFormatError(`${file}: 'tests' must be a list`);
  data.tests.forEach((entry, index) => {
    const where = `${file}: tests[${index}]`;
    if (!isRecord(entry)) throw new SpecFormatError(`${where} is not a mapping`);
    for (const key of ['module', 'class', 'test', 'duration']) {
      if (typeof entry[key] !== 'string') throw new SpecFormatError(`${where}: '${key}' must be a string`);
    }
    if (!Array.isArray(entry.markers)) throw new SpecFormatError(`${where} (${String(entry.test)}): 'markers' must be a list`);
    if (typeof entry.budget_s !== 'number') throw new SpecFormatError(`${where} (${String(entry.test)}): 'budget_s' must be a number`);
    if (!isRecord(entry.criteria) || typeof entry.criteria.text !== 'string') {
      throw new SpecFormatError(`${where} (${String(entry.test)}): 'criteria.text' must be a string`);
    }
  });
  return data as unknown as ScenarioMatrix;
}

/** How many tests carry each marker, plus `tests`. */
export function markerTotals(tests: ReadonlyArray<{ markers: readonly string[] }>): Record<string, number> {
  const totals: Record<string, number> = { tests: tests.length };
  for (const key of TOTAL_KEYS) totals[key] = 0;
  for (const test of tests) for (const marker of test.markers) totals[marker] = (totals[marker] ?? 0) + 1;
  return totals;
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}

/** `gpu,oom (missing: recovery; extra: slow)`: what differs between two marker sets. */
export function describeMarkerDifference(actual: readonly string[], expected: readonly string[]): string {
  const missing = expected.filter((m) => !actual.includes(m));
  const extra = actual.filter((m) => !expected.includes(m));
  const parts = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean);
  return parts.join('; ');
}

/** Every way scenarios.yaml disagrees with suite-spec.tsv: tests, order, markers, durations, criteria, totals. */
export function compareScenariosWithSpec(spec: SuiteSpec, matrix: ScenarioMatrix, specFile = 'suite-spec.tsv', matrixFile = 'scenarios.yaml'): string[] {
  const differences: string[] = [];
  const key = (module: string, cls: string, test: string) => `${module}::${cls}::${test}`;
  const scenarios = new Map(matrix.tests.map((s) => [key(s.module, s.class, s.test), s]));
  const specKeys = new Set(spec.tests.map((t) => key(t.module, t.className, t.name)));
  spec.tests.forEach((test, index) => {
    const id = key(test.module, test.className, test.name);
    const scenario = scenarios.get(id);
    if (!scenario) {
      differences.push(`${matrixFile} has no scenario for ${id} (${specFile}:${test.line})`);
      return;
    }
    if (scenario.id !== index + 1) differences.push(`${matrixFile}: ${id} has id ${scenario.id}, but it is test ${index + 1} in ${specFile}`);
    if (!sameSet(scenario.markers, test.markers)) {
      differences.push(`${matrixFile}: ${id} has markers ${scenario.markers.join(',')}, ${specFile}:${test.line} says ${test.markers.join(',')}`);
    }
    if (scenario.duration !== test.duration) differences.push(`${matrixFile}: ${id} has duration ${scenario.duration}, ${specFile}:${test.line} says ${test.duration}`);
    if (scenario.criteria.text !== test.criteria) {
      differences.push(`${matrixFile}: ${id} has criteria '${scenario.criteria.text}', ${specFile}:${test.line} says '${test.criteria}'`);
    }
  });
  for (const scenario of matrix.tests) {
    const id = key(scenario.module, scenario.class, scenario.test);
    if (!specKeys.has(id)) differences.push(`${matrixFile} has a scenario for ${id}, which ${specFile} does not list`);
  }
  const ids = matrix.tests.map((s) => s.id);
  if (new Set(ids).size !== ids.length) differences.push(`${matrixFile}: scenario ids are not unique (${ids.join(', ')})`);

  const expected = markerTotals(spec.tests);
  expected.classes = new Set(spec.tests.map((t) => `${t.module}::${t.className}`)).size + spec.harnessClasses.length;
  for (const [name, count] of Object.entries(matrix.totals)) {
    if (expected[name] === undefined) differences.push(`${matrixFile}: totals.${name} is ${count}, but ${specFile} has no such total`);
    else if (expected[name] !== count) differences.push(`${matrixFile}: totals.${name} is ${count}, ${specFile} gives ${expected[name]}`);
  }
  for (const name of ['tests', 'classes', ...TOTAL_KEYS]) {
    if (matrix.totals[name] === undefined) differences.push(`${matrixFile}: totals has no '${name}' (${specFile} gives ${expected[name]})`);
  }
  const harness = matrix.harness_class;
  if (!spec.harnessClasses.some((h) => h.module === harness.module && h.className === harness.class)) {
    differences.push(`${matrixFile}: harness_class ${harness.module}::${harness.class} is not the harness ${specFile} names (${spec.harnessClasses.map((h) => `${h.module}::${h.className}`).join(', ') || 'none'})`);
  }
  return differences;
}
