// Runs the Python driver (pytest_driver.py) once for a whole batch of cases and returns what real pytest did.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonMirrorFiles, type MirrorSuite } from './mirror-suite.js';

export const DRIVER_PATH = join(dirname(fileURLToPath(import.meta.url)), 'pytest_driver.py');
const PYTHON = process.env.PYTHON ?? 'python3';
/** Plugins installed on the machine must not change what the oracle answers. */
const PYTHON_ENV = { ...process.env, PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1', PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' };

/** Why pytest cannot serve as the oracle here, or undefined when it can. */
export function pytestUnavailableReason(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import pytest; print(pytest.__version__)'], { encoding: 'utf-8', env: PYTHON_ENV });
  if (probe.error) return `${PYTHON} cannot be started (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} -m pytest is not importable: ${probe.stderr.trim().split('\n').at(-1)}`;
  return undefined;
}

export interface PytestOutcome {
  readonly exit: number;
  /** Node ids listed by `--collect-only -q` (for exit 4 pytest lists items before the error; ignore them). */
  readonly ids: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
}

export interface CollectResponse {
  readonly pytest: string;
  readonly results: readonly PytestOutcome[];
  /** Rechecked cases whose in-process rerun or fresh subprocess run disagreed with the first run. */
  readonly inconsistent: readonly unknown[];
}

function runDriver<T>(request: object, workDir: string): T {
  const requestPath = join(workDir, 'request.json');
  writeFileSync(requestPath, JSON.stringify(request));
  const run = spawnSync(PYTHON, [DRIVER_PATH, requestPath], { encoding: 'utf-8', env: PYTHON_ENV, maxBuffer: 256 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`pytest driver failed (exit ${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Writes the Python mirror of `suite` into a fresh directory; returns its path (the rootdir). */
export function writePythonMirror(suite: MirrorSuite, parent = tmpdir()): string {
  const rootdir = mkdtempSync(join(parent, 'pytest-mirror-'));
  for (const [path, content] of pythonMirrorFiles(suite)) {
    mkdirSync(dirname(join(rootdir, path)), { recursive: true });
    writeFileSync(join(rootdir, path), content);
  }
  return rootdir;
}

/**
 * Runs `pytest --collect-only -q -p no:cacheprovider <args>` for every case inside one Python process, in a
 * fresh Python mirror of `suite`; `recheck` lists case indices to re-run in-process and in fresh processes.
 */
export function runPytestCollect(suite: MirrorSuite, cases: readonly (readonly string[])[], recheck: readonly number[] = []): CollectResponse {
  const rootdir = writePythonMirror(suite);
  try {
    return runDriver<CollectResponse>({ mode: 'collect', rootdir, cases: cases.map((args) => ({ args })), recheck }, rootdir);
  } finally {
    rmSync(rootdir, { recursive: true, force: true });
  }
}

export type CompileOutcome =
  | { readonly error: { readonly text: string | null; readonly offset: number; readonly msg: string } }
  | { readonly crash: string }
  | { readonly result: boolean; readonly calls: readonly [string, Record<string, unknown> | null][] };

/** Compiles and evaluates each input with pytest's own Expression class (see pytest_driver.py). */
export function runPytestCompile(cases: readonly { input: string; truthy: readonly string[] }[]): CompileOutcome[] {
  const workDir = mkdtempSync(join(tmpdir(), 'pytest-compile-'));
  try {
    return runDriver<{ results: CompileOutcome[] }>({ mode: 'compile', cases }, workDir).results;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
