// The collected suite (runner/api.ts `collect`) against suite-spec.tsv: the same 19 node ids in the same order,
// each with exactly its spec markers, the same classes (the harness included, uncollected), every marker
// registered in memory.ini, and the same totals. Nothing here reads a suite file's text.

import { BUILTIN_MARKERS } from '../runner/markers.js';
import { describeMarkerDifference, markerTotals, nodeIdOf, sameSet, TOTAL_KEYS, type ScenarioMatrix, type SuiteSpec } from './spec.js';

/** The parts of runner/api.ts's CollectionResult the comparison needs (so tests can build one by hand). */
export interface CollectedSuite {
  tests: ReadonlyArray<{ nodeid: string; module: string; className?: string; name: string; markers: readonly string[]; line: number }>;
  classes: ReadonlyArray<{ module: string; name: string; collected: boolean }>;
  errors: ReadonlyArray<{ module: string; error: unknown }>;
}

/** Markers the runner gives meaning to (timeout, parametrize, skip, ...): not part of a test's spec marker set. */
export const BUILTIN_MARKER_NAMES: ReadonlySet<string> = new Set(BUILTIN_MARKERS.map((m) => m.name.replace(/\(.*$/, '')));

/** A test's own markers: what it carries minus the runner's built-in ones. */
export function suiteMarkers(markers: readonly string[]): string[] {
  return markers.filter((m) => !BUILTIN_MARKER_NAMES.has(m));
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n')[0]!;
}

export interface ComparisonInput {
  spec: SuiteSpec;
  matrix: ScenarioMatrix | null;
  collected: CollectedSuite;
  /** Marker names registered in the config file. */
  registered: readonly string[];
  specFile?: string;
  configFile?: string;
}

export function compareCollection({ spec, matrix, collected, registered, specFile = 'suite-spec.tsv', configFile = 'memory.ini' }: ComparisonInput): string[] {
  const differences: string[] = [];
  for (const error of collected.errors) differences.push(`${error.module} could not be collected: ${firstLine(error.error)}`);

  // Tests: the same ids, each with its markers, in the spec's order.
  const byId = new Map(collected.tests.map((t) => [t.nodeid, t]));
  const expectedIds = spec.tests.map((t) => nodeIdOf(t.module, t.className, t.name));
  const expectedSet = new Set(expectedIds);
  spec.tests.forEach((test, index) => {
    const id = expectedIds[index]!;
    const found = byId.get(id);
    if (!found) {
      differences.push(`${id} (${specFile}:${test.line}) was not collected`);
      return;
    }
    const markers = suiteMarkers(found.markers);
    if (!sameSet(markers, test.markers)) {
      differences.push(
        `${id} has markers ${markers.join(',') || '(none)'}, ${specFile}:${test.line} says ${test.markers.join(',')} (${describeMarkerDifference(markers, test.markers)})`,
      );
    }
  });
  for (const test of collected.tests) {
    if (!expectedSet.has(test.nodeid)) differences.push(`${test.nodeid} (${test.module}:${test.line}) was collected but ${specFile} does not list it`);
  }
  const collectedOrder = collected.tests.map((t) => t.nodeid).filter((id) => expectedSet.has(id));
  const specOrder = expectedIds.filter((id) => byId.has(id));
  const firstOutOfOrder = specOrder.findIndex((id, i) => collectedOrder[i] !== id);
  if (firstOutOfOrder >= 0) {
    differences.push(`collection order differs from ${specFile}: position ${firstOutOfOrder + 1} is ${collectedOrder[firstOutOfOrder]}, ${specFile} has ${specOrder[firstOutOfOrder]}`);
  }

  // Markers: every one a test uses must be registered (what --strict-markers enforces).
  const registeredSet = new Set(registered);
  for (const test of collected.tests) {
    for (const marker of suiteMarkers(test.markers)) {
      if (!registeredSet.has(marker)) differences.push(`marker '${marker}' on ${test.nodeid} is not registered in ${configFile}`);
    }
  }
  for (const marker of new Set(spec.tests.flatMap((t) => t.markers))) {
    if (!registeredSet.has(marker)) differences.push(`marker '${marker}' of ${specFile} is not registered in ${configFile}`);
  }

  // Classes: those with tests, plus the harness that yields none.
  const expectedClasses = new Map<string, boolean>();
  for (const t of spec.tests) expectedClasses.set(`${t.module}::${t.className}`, true);
  for (const h of spec.harnessClasses) expectedClasses.set(`${h.module}::${h.className}`, false);
  const moduleName = (nodeid: string) => nodeid.replace(/^.*\//, '').replace(/\.[cm]?tsx?$/, '');
  const seenClasses = new Set<string>();
  for (const cls of collected.classes) {
    const id = `${moduleName(cls.module)}::${cls.name}`;
    seenClasses.add(id);
    const shouldCollect = expectedClasses.get(id);
    if (shouldCollect === undefined) differences.push(`class ${cls.name} in ${cls.module} is not in ${specFile}`);
    else if (shouldCollect !== cls.collected) {
      differences.push(
        shouldCollect
          ? `class ${cls.name} in ${cls.module} yields no tests, but ${specFile} lists tests in it`
          : `class ${cls.name} in ${cls.module} yields tests, but ${specFile} names it as the harness, which must yield none`,
      );
    }
  }
  for (const [id, shouldCollect] of expectedClasses) {
    if (!seenClasses.has(id)) differences.push(`class ${id.replace('::', ' :: ')} ${shouldCollect ? '' : '(the harness) '}was not found by collection`);
  }

  // Totals, against both descriptions.
  const actual = markerTotals(collected.tests.map((t) => ({ markers: suiteMarkers(t.markers) })));
  actual.classes = collected.classes.length;
  const expected = markerTotals(spec.tests);
  expected.classes = expectedClasses.size;
  for (const name of ['tests', 'classes', ...TOTAL_KEYS]) {
    if (actual[name] !== expected[name]) differences.push(`collected total ${name} is ${actual[name]}, ${specFile} gives ${expected[name]}`);
    const stated = matrix?.totals[name];
    if (stated !== undefined && actual[name] !== stated) differences.push(`collected total ${name} is ${actual[name]}, scenarios.yaml totals say ${stated}`);
  }
  return differences;
}
