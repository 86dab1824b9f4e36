// Markers the runner itself gives meaning to: listed by --markers and always allowed under --strict-markers.

import type { Mark } from './marks.js';

export const BUILTIN_MARKERS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'skip({ reason })', description: 'skip the given test, with an optional reason. Example: @mark.skip({ reason: "no way of currently testing this" }).' },
  {
    name: 'skipif(condition, ..., { reason })',
    description: 'skip the given test if any of the conditions is true (a function is called). Example: @mark.skipif(process.platform === "win32", { reason: "POSIX only" }).',
  },
  {
    name: 'xfail(condition, ..., { reason, run = true, raises, strict = xfail_strict })',
    description:
      'mark the test as an expected failure if any of the conditions is true. run: false does not even call it; raises: an Error class the failure must be an instance of; strict: a pass is a failure.',
  },
  {
    name: 'parametrize(argnames, argvalues, { ids })',
    description:
      "call the test once per value, passing it under that name in the fixture object. Example: @mark.parametrize('size', [1, 50]) runs it with { size: 1 } and { size: 50 }.",
  },
  { name: 'usefixtures(name1, name2, ...)', description: 'set up these fixtures for the test although it does not ask for their values.' },
  { name: 'timeout(seconds)', description: 'fail the test if setup, call and teardown take longer than this (overrides the timeout ini option and --timeout).' },
  { name: 'filterwarnings(filter)', description: 'accepted for compatibility with pytest suites; pytest-ts has no warning filters per test.' },
];

const BUILTIN_NAMES = new Set(['skip', 'skipif', 'xfail', 'parametrize', 'usefixtures', 'timeout', 'filterwarnings', 'tryfirst', 'trylast']);

/** pytest's --strict-markers check: the first mark whose name is neither registered nor built in. */
export function unregisteredMark(marks: Iterable<Mark>, registered: ReadonlySet<string>): Mark | undefined {
  for (const m of marks) if (!BUILTIN_NAMES.has(m.name) && !registered.has(m.name)) return m;
  return undefined;
}
