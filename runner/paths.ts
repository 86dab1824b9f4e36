// Where pytest-ts's own files are. The bin may run the runner from a bundle in its cache (bin/runner-bundle.js),
// where import.meta.url points into the cache; it then tells us the real directories through registered symbols.

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const given = globalThis as Record<symbol, string | undefined>;

/** The directory of runner/*.ts (frames there are the runner's own and are hidden from tracebacks). */
export const RUNNER_DIR: string = given[Symbol.for('pytest-ts.runner-dir')] ?? dirname(fileURLToPath(import.meta.url));

/** The package root: bin/, runner/, node_modules/. */
export const PACKAGE_ROOT: string = dirname(RUNNER_DIR);

/** The module a worker process runs: the bundled worker when the runner runs bundled, else runner/worker.ts. */
export const WORKER_ENTRY: string = given[Symbol.for('pytest-ts.worker-entry')] ?? `${RUNNER_DIR}/worker.ts`;
