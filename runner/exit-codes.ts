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

/** A mistake in how pytest-ts was called or configured: one line on stderr, exit 4, never a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
