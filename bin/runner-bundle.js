// The runner as one bundled module. Importing runner/cli.ts through the loader means some 45 modules, each a round
// trip to the loader thread: about 100 ms before the first test. esbuild bundles them into one file once, into the
// package's own cache, keyed by the content of every runner source file; later starts import that file directly.
// Any failure here falls back to the plain import, so the bundle can only make a start faster, never break it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Bumped when the bundle's shape changes, so an old bundle is never reused.
const BUNDLE_VERSION = '2';
const runnerDir = fileURLToPath(new URL('../runner', import.meta.url));
const packageRoot = dirname(runnerDir);
const cacheRoot = join(packageRoot, 'node_modules', '.cache', 'pytest-ts-runner');

/** Imports the runner's CLI module, bundled when possible. */
export async function loadRunner() {
  // Tell the runner where its sources are: inside a bundle, import.meta.url points into the cache.
  globalThis[Symbol.for('pytest-ts.runner-dir')] = runnerDir;
  if (process.env.PYTEST_TS_NO_BUNDLE) return import('../runner/cli.ts');
  let bundle;
  try {
    bundle = await ensureBundle();
  } catch {
    return import('../runner/cli.ts');
  }
  globalThis[Symbol.for('pytest-ts.worker-entry')] = bundle.worker;
  return import(pathToFileURL(bundle.cli).href);
}

function sourceHash() {
  const hash = createHash('sha1').update(BUNDLE_VERSION);
  for (const name of readdirSync(runnerDir).filter((n) => n.endsWith('.ts')).sort()) {
    hash.update(name).update('\0').update(readFileSync(join(runnerDir, name))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function ensureBundle() {
  const dir = join(cacheRoot, sourceHash());
  const cli = join(dir, 'cli.js');
  const worker = join(dir, 'worker.js');
  if (existsSync(cli) && existsSync(worker)) return { cli, worker };

  const esbuild = await import('esbuild');
  // Build into a private directory and rename it into place: a concurrent start sees all of it or none of it.
  const staging = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(cacheRoot, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: { cli: join(runnerDir, 'cli.ts'), worker: join(runnerDir, 'worker.ts') },
      outdir: staging,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
    });
    // Old bundles are dead weight once the sources changed.
    for (const old of readdirSync(cacheRoot)) if (!old.includes('.tmp-')) rmSync(join(cacheRoot, old), { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(cli) && existsSync(worker)) return { cli, worker }; // another process won the race
    throw error;
  }
  return { cli, worker };
}
