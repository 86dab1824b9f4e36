// Where pytest-ts's own files are. The bin may run the runner from a bundle in its cache (bin/runner-bundle.js),
// where import.meta.url points into the cache; it then tells us the real directories through registered symbols.

import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const given = globalThis as Record<symbol, string | undefined>;

/** Where bin/runner-bundle.js keeps the bundle: `<package>/node_modules/.cache/pytest-ts-runner/<hash>/`. */
const BUNDLE_CACHE = `${sep}node_modules${sep}.cache${sep}pytest-ts-runner${sep}`;

/**
 * The runner's sources as seen from this module. A worker process runs the bundled worker without the main
 * process's globals, so the package root is read off the bundle's own path there.
 */
function sourcesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const at = `${here}${sep}`.lastIndexOf(BUNDLE_CACHE);
  return at >= 0 ? join(here.slice(0, at), 'runner') : here;
}

/** The directory of runner/*.ts (frames there are the runner's own and are hidden from tracebacks). */
export const RUNNER_DIR: string = given[Symbol.for('pytest-ts.runner-dir')] ?? sourcesDir();

/** The package root: bin/, runner/, node_modules/. */
export const PACKAGE_ROOT: string = dirname(RUNNER_DIR);

/** The module a worker process runs: the bundled worker when the runner runs bundled, else runner/worker.ts. */
export const WORKER_ENTRY: string = given[Symbol.for('pytest-ts.worker-entry')] ?? `${RUNNER_DIR}/worker.ts`;
