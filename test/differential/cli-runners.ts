// The two sides of the end-to-end differential: pytest-ts's `main()` called in this process (fast, many times),
// and real pytest through pytest_driver.py, asynchronously, so that both sides can work at the same time.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../runner/cli.js';
import { DRIVER_PATH, type CollectResponse } from './pytest-oracle.js';

export interface CliOutcome {
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Write = typeof process.stdout.write;

/**
 * `pytest-ts <argv>` in `cwd` without a child process. Output is caught by swapping the streams' `write` for the
 * duration of the call (the terminal reporter takes the stream's `write` when the session starts, so it writes into
 * the swap too). Calls must not overlap: they share the two streams.
 *
 * pytest-ts writes text; binary chunks are the test runner's own messages to its parent (node --test serialises
 * its events onto stdout), so they pass through untouched.
 */
export async function mainInProcess(argv: readonly string[], cwd: string): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const originalOut = process.stdout.write;
  const originalErr = process.stderr.write;
  const sink = (stream: NodeJS.WriteStream, original: Write, append: (text: string) => void): Write =>
    ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      if (typeof chunk !== 'string') return original.call(stream, chunk as Uint8Array, encoding as BufferEncoding, callback as () => void);
      append(chunk);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as Write;
  process.stdout.write = sink(process.stdout, originalOut, (text) => (stdout += text));
  process.stderr.write = sink(process.stderr, originalErr, (text) => (stderr += text));
  try {
    const exit = await main(argv, cwd);
    return { exit, stdout, stderr };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalErr;
  }
}

const PYTHON = process.env.PYTHON ?? 'python3';

/**
 * `pytest --collect-only -q -p no:cacheprovider <args>` for every case, in one Python process started in the
 * background, in an existing Python mirror at `rootdir`. `recheck` as in pytest-oracle.ts.
 */
export function pytestCollectAsync(rootdir: string, cases: readonly (readonly string[])[], recheck: readonly number[] = []): Promise<CollectResponse> {
  const workDir = mkdtempSync(join(tmpdir(), 'pytest-request-'));
  const requestPath = join(workDir, 'request.json');
  writeFileSync(requestPath, JSON.stringify({ mode: 'collect', rootdir, cases: cases.map((args) => ({ args })), recheck }));
  const env = { ...process.env, PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1', PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' };
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [DRIVER_PATH, requestPath], { env });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(workDir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`pytest driver failed (exit ${code}):\n${stderr}`));
      else resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as CollectResponse);
    });
  });
}

/** Splits the cases over `processes` drivers running side by side; results come back in case order. */
export async function pytestCollectParallel(rootdir: string, cases: readonly (readonly string[])[], processes: number, recheck: readonly number[] = []): Promise<CollectResponse> {
  const size = Math.ceil(cases.length / processes);
  const chunks = Array.from({ length: processes }, (_, i) => cases.slice(i * size, (i + 1) * size)).filter((c) => c.length > 0);
  const responses = await Promise.all(
    chunks.map((chunk, i) => pytestCollectAsync(rootdir, chunk, recheck.filter((r) => r >= i * size && r < (i + 1) * size).map((r) => r - i * size))),
  );
  return {
    pytest: responses[0]?.pytest ?? '',
    results: responses.flatMap((r) => r.results),
    inconsistent: responses.flatMap((r) => r.inconsistent),
  };
}
