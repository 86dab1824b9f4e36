// How each runner is invoked, made cold, and checked, for bench/runner-bench.mjs.
//
// Every tool runs through its own bin with `node` (never npx, which adds about 0.3 s of its own start-up), with its
// default concurrency and isolation: the numbers are what a user of that tool gets out of the box on this machine.
// Each run's output is checked against the expected number of tests, so a tool that silently ran nothing (a bad
// pattern, a missing transformer) cannot post a flattering time.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, SELECTION_MARKER } from './workloads.mjs';

const bin = (...parts) => join(REPO, 'node_modules', ...parts);
const TSX_LOADER = pathToFileURL(bin('tsx', 'dist', 'loader.mjs')).href;
const PYTEST_TS = join(REPO, 'bin', 'pytest-ts.js');
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** pytest and pytest-ts print the same summary: "N passed[, M deselected] in Xs" / "N tests collected in Xs". */
function pytestCount(output, mode) {
  const text = stripAnsi(output);
  const match = mode === 'collect' ? /(\d+)(?:\/\d+)? tests? collected/.exec(text) : /(\d+) passed/.exec(text);
  return match ? Number(match[1]) : undefined;
}

const pytestArgs = (mode, filtered) => [
  ...(mode === 'collect' ? ['--collect-only'] : []),
  '-q',
  '-p',
  'no:cacheprovider',
  ...(filtered ? ['-m', SELECTION_MARKER] : []),
];

/**
 * A tool: `command(mode, filtered, ctx)` gives argv (or undefined when the tool has no such mode), `count(output)`
 * the number of tests it reports as passed or collected, `cold(freshDir)` the env/args that give it an empty cache.
 * ctx: { dir, files, cacheDir } where cacheDir is the tool's warm cache (or, for a cold run, a fresh empty one).
 */
export const TOOLS = {
  'pytest-ts': {
    label: 'pytest-ts',
    // The bin's shebang passes --max-semi-space-size=2; running it through node directly must pass it too.
    command: (mode, filtered) => [process.execPath, '--max-semi-space-size=2', PYTEST_TS, ...pytestArgs(mode, filtered)],
    env: ({ cacheDir }) => ({ PYTEST_TS_TRANSFORM_CACHE: cacheDir }),
    count: pytestCount,
    collectNote: '`--collect-only -q`',
  },
  pytest: {
    label: 'pytest 9',
    command: (mode, filtered) => ['python3', '-m', 'pytest', ...pytestArgs(mode, filtered)],
    env: () => ({ PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1' }),
    // pytest's transform cache is the assertion-rewritten .pyc of each test file, in the workload's __pycache__.
    // (A PYTHONPYCACHEPREFIX would also move the stdlib's and pytest's own .pyc, which a user always has warm.)
    clearCache: ({ dir }) => rmSync(join(dir, '__pycache__'), { recursive: true, force: true }),
    count: pytestCount,
    collectNote: '`--collect-only -q`',
  },
  vitest: {
    label: 'vitest 4',
    command: (mode, filtered) => [
      process.execPath,
      bin('vitest', 'vitest.mjs'),
      ...(mode === 'collect' ? ['list'] : ['run']),
      ...(filtered ? ['-t', SELECTION_MARKER] : []),
    ],
    // vite's cacheDir (set from this variable by the workload's vitest.config.mjs) is vitest's only disk cache.
    env: ({ cacheDir }) => ({ BENCH_VITE_CACHE: cacheDir }),
    count: (output, mode) => {
      const text = stripAnsi(output);
      if (mode === 'collect') return text.split('\n').filter((line) => line.includes('.test.ts > ')).length;
      const match = /Tests\s+(\d+) passed/.exec(text);
      return match ? Number(match[1]) : undefined;
    },
    collectNote: '`vitest list` (imports every file to find its tests)',
  },
  jest: {
    label: 'jest 30 + ts-jest',
    // jest has no test-level collect-only: --listTests lists files without importing them, so it is not comparable.
    command: (mode, filtered) => (mode === 'collect' ? undefined : [process.execPath, bin('jest', 'bin', 'jest.js'), ...(filtered ? ['-t', SELECTION_MARKER] : [])]),
    extraArgs: ({ cacheDir }) => ['--cacheDirectory', cacheDir],
    env: () => ({}),
    count: (output) => {
      const match = /Tests:\s+(?:\d+ skipped, )?(\d+) passed/.exec(stripAnsi(output));
      return match ? Number(match[1]) : undefined;
    },
    collectNote: 'none (`--listTests` lists files only)',
  },
  node: {
    label: 'node --test + tsx',
    // Node 20 cannot strip types and does not expand globs for --test, so tsx loads the files and we list them.
    command: (mode, filtered, { files }) =>
      mode === 'collect'
        ? undefined
        : [process.execPath, '--import', TSX_LOADER, '--test', ...(filtered ? ['--test-name-pattern', SELECTION_MARKER] : []), ...files],
    // tsx caches transforms under os.tmpdir(); a private TMPDIR makes that cache warm or cold on purpose.
    env: ({ cacheDir }) => ({ TMPDIR: cacheDir }),
    count: (output) => {
      const match = /^# pass (\d+)/m.exec(output);
      return match ? Number(match[1]) : undefined;
    },
    collectNote: 'none in Node 20',
  },
};

/**
 * Variables this machine sets that a user's shell would not, and that change what is measured:
 * - NODE_EXTRA_CA_CERTS: Node reads and parses the bundle at start-up, about +0.1 s for *every* node process
 *   (measured: `node -e 0` 0.15 s with it, 0.03 s without), which would swamp the small workloads.
 * - PYTHONDONTWRITEBYTECODE: pytest would re-run its assertion rewriting on every file, every run.
 * - PYTHONUNBUFFERED: one write(2) per progress dot.
 * `--keep-env` keeps them, to see what this machine's CI pays.
 */
export const MACHINE_ONLY_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED'];

/** The environment every tool gets: no colour, a fixed width, nothing from CI or the caller's test settings. */
export function baseEnv({ keepMachineVariables = false } = {}) {
  const env = { ...process.env, NO_COLOR: '1', COLUMNS: '80' };
  for (const name of ['FORCE_COLOR', 'CI', 'PYTEST_ADDOPTS', 'PYTEST_TS_TRANSFORM_CACHE', 'NODE_OPTIONS', 'PYTHONPYCACHEPREFIX']) delete env[name];
  if (!keepMachineVariables) for (const name of MACHINE_ONLY_VARIABLES) delete env[name];
  return env;
}
