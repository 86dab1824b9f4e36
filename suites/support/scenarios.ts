// The scenario matrix (suites/scenarios.yaml) as typed data: loads, limits and time budgets per test. The suites
// take their numbers from here, so the matrix, the code and the validator cannot drift apart.

import { readFileSync } from 'node:fs';
import { load as loadYaml } from 'js-yaml';
import { mark, type MarkDecorator } from '../../runner/index.js';

export interface Scenario {
  id: number;
  module: string;
  class: string;
  test: string;
  markers: string[];
  /** The matrix's duration column, as written (`60s`, `1h`). */
  duration: string;
  /** Seconds of measurement, for the two tests whose duration is the measurement itself. */
  measure_s?: number;
  /** Time budget in seconds: setup + call + teardown must finish within it. */
  budget_s: number;
  load: Record<string, unknown>;
  criteria: Record<string, unknown> & { text: string };
}

export interface ScenarioMatrix {
  suite_spec: string;
  totals: Record<string, number>;
  harness_class: { module: string; class: string };
  tests: Scenario[];
}

export const SCENARIOS_PATH = new URL('../scenarios.yaml', import.meta.url);

let matrix: ScenarioMatrix | undefined;

export function loadScenarios(): ScenarioMatrix {
  matrix ??= loadYaml(readFileSync(SCENARIOS_PATH, 'utf8')) as ScenarioMatrix;
  return matrix;
}

export function scenario(test: string): Scenario {
  const found = loadScenarios().tests.find((s) => s.test === test);
  if (!found) throw new Error(`suites/scenarios.yaml has no entry for ${test}`);
  return found;
}

/** `@budget('test_x')`: the matrix's time budget as the test's timeout (a test over budget fails). */
export function budget(test: string): MarkDecorator {
  return mark.timeout(scenario(test).budget_s);
}

/** A number from a scenario's load or criteria, with a clear error when the matrix lacks it. */
export function num(section: Record<string, unknown>, key: string): number {
  const value = section[key];
  if (typeof value !== 'number') throw new Error(`suites/scenarios.yaml: expected a number for '${key}', got ${JSON.stringify(value)}`);
  return value;
}
