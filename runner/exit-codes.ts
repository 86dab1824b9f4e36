// pytest's exit codes (pytest.ExitCode), the only place the numbers are written down.
export const ExitCode = {
  OK: 0,
  TESTS_FAILED: 1,
  INTERRUPTED: 2,
  INTERNAL_ERROR: 3,
  USAGE_ERROR: 4,
  NO_TESTS_COLLECTED: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const USAGE_ERROR: unique symbol = Symbol.for('pytest-ts.usage-error') as never;

/**
 * A mistake in how pytest-ts was called or configured: one line on stderr, exit 4, never a stack trace. A conftest
 * may throw it too (pytest.UsageError); it is recognised by a registered symbol, so the copy of this class a suite
 * imports through the loader is the same class to the runner.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly [USAGE_ERROR] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== UsageError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[USAGE_ERROR] === true;
  }
}
