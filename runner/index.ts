// The one public surface for suites: what a test file or conftest.ts imports from pytest-ts.
//
//   import { mark, fixture, skip, fail, xfail } from '../runner/index.js';
//
// Kept free of heavy imports: a suite that imports this must not pay for the runner's CLI.

export { mark, type Mark, type MarkDecorator, type MarkGenerator } from './marks.js';
export { fixture, type FixtureDefinition, type FixtureOptions, type Scope } from './fixture-def.js';
export { skip, fail, xfail, Skipped, Failed, XFailed } from './outcomes.js';
export { param, type ParameterSet } from './parametrize.js';
/** Throw from a conftest hook or fixture for a configuration mistake: one `ERROR:` line and exit 4 (pytest.UsageError). */
export { UsageError } from './exit-codes.js';
export type { FixtureRequest, RequestConfig, TmpPathFactory } from './builtins.js';

/** The value a fixture definition provides, for typing the object a test destructures. */
export type FixtureValue<F> = F extends { readonly __value?: infer T } ? T : never;

/** Built-in fixtures every test can ask for. */
export interface BuiltinFixtures {
  /** A fresh, private (0700) directory for this test. */
  tmpPath: string;
  tmpPathFactory: import('./builtins.js').TmpPathFactory;
  request: import('./builtins.js').FixtureRequest;
  /** Add a `<property>` to this test's JUnit testcase. */
  recordProperty: (name: string, value: unknown) => void;
  /** Add a `<property>` to the JUnit testsuite. */
  recordTestsuiteProperty: (name: string, value: unknown) => void;
}

/** A command-line option a conftest adds (`export const options = [...]`), read with `request.config.getoption`. */
export interface OptionSpec {
  flag: string;
  type: 'string' | 'boolean' | 'number';
  choices?: string[];
  default?: unknown;
  help: string;
}
