// Running real pytest and pytest-ts side by side in the differential tests: one environment for both (no colour, 80
// columns, no CI, no plugin autoload, no bytecode), scratch directories removed when the file's tests end, and a
// process run as a promise so that both runners of a case overlap.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export const DIFF_ENV: Record<string, string> = (() => {
  const env = { ...process.env, COLUMNS: '80', NO_COLOR: '1', PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1', PYTHONDONTWRITEBYTECODE: '1' } as Record<string, string>;
  for (const name of ['FORCE_COLOR', 'PYTEST_ADDOPTS', 'CI', 'BUILD_NUMBER']) delete env[name];
  return env;
})();

const scratch: string[] = [];
after(() => scratch.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh directory under the system temp dir, removed after this file's tests. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

export interface SpawnResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Never rejects: a spawn failure becomes status null with the error on stderr. */
export function spawnAsync(command: string, args: readonly string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => resolve({ status: null, stdout, stderr: stderr + String(error) }));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
