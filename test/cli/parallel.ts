// Running the real pytest-ts binary many times without paying for each run in turn: an asynchronous run and a
// bounded-concurrency map. The environment is the one project.ts's `run` uses (no colour, 80 columns, no CI).

import { spawn } from 'node:child_process';
import { BIN, type RunResult } from './project.js';

export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), COLUMNS: '80', NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  delete env.PYTEST_ADDOPTS;
  delete env.CI;
  return env;
}

/** Run `pytest-ts <args>` in `dir`; never rejects (a spawn failure becomes code null with the error on stderr). */
export function runAsync(dir: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: cleanEnv(env), timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => resolve({ code: null, signal: null, stdout, stderr: stderr + String(error) }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** `Promise.all(items.map(fn))` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
