// Throwaway projects for CLI tests: write files into a fresh temp directory and run the real pytest-ts binary there.
// `@runner` in a file's text becomes the absolute path of runner/index.ts, so suites import the runner under test.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(REPO, 'bin', 'pytest-ts.js');
const RUNNER_INDEX = join(REPO, 'runner', 'index.ts');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const created: string[] = [];

export function makeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pytest-ts-cli-'));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text.replaceAll('@runner', RUNNER_INDEX));
  }
  return dir;
}

export function cleanupProjects(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const baseEnv = (extra: Record<string, string> = {}) => {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), COLUMNS: '80', NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  delete env.PYTEST_ADDOPTS;
  delete env.CI;
  return env;
};

export function run(dir: string, args: string[], env: Record<string, string> = {}): RunResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: baseEnv(env), encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Run asynchronously, and call `whenOutput` when stdout first matches: for interrupt and kill tests. */
export function runUntil(
  dir: string,
  args: string[],
  pattern: RegExp,
  whenOutput: (pid: number) => void,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: baseEnv(env) });
    let stdout = '';
    let stderr = '';
    let fired = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!fired && pattern.test(stdout)) {
        fired = true;
        whenOutput(child.pid!);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The last line of stdout: pytest's summary line. */
export function summaryLine(stdout: string): string {
  return stdout.trimEnd().split('\n').pop() ?? '';
}
