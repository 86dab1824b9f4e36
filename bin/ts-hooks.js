// ESM loader hooks that let Node 20 import TypeScript directly.
//
// Why not tsx: its warm start costs about 0.2 s of CPU before the first test, which is more than pytest
// spends on a whole small suite. These hooks transform each .ts file once with esbuild and keep the result in
// a content-keyed cache on disk (the idea of Python's __pycache__), so a warm start reads a file instead of
// starting a compiler. esbuild is only imported on a cache miss.
//
// The hooks run on Node's loader thread; they must never throw for files they do not own.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TS_EXTENSION = /\.(?:ts|mts|cts|tsx)$/;
// Bumped whenever the transform options change, so stale cache entries are never reused.
const TRANSFORM_VERSION = '4';

let cacheDir = null;
let esbuildPromise = null;

// The cache is keyed by path and content, so every edit (and every throwaway test project) adds an entry. Now and
// then, in the background, entries older than a week go; a removed entry only costs one transform later.
const PRUNE_CHANCE = 0.05;
const PRUNE_AGE_MS = 7 * 24 * 3600 * 1000;

export function initialize(data) {
  cacheDir = data?.cacheDir ?? null;
  if (cacheDir) {
    try {
      mkdirSync(cacheDir, { recursive: true });
    } catch {
      cacheDir = null; // a read-only checkout still runs, only slower
    }
  }
  if (cacheDir && Math.random() < PRUNE_CHANCE) void pruneCache(cacheDir).catch(() => undefined);
}

async function pruneCache(dir) {
  const { readdir, stat, unlink } = await import('node:fs/promises');
  const cutoff = Date.now() - PRUNE_AGE_MS;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) await unlink(path).catch(() => undefined);
  }
}

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  // TypeScript sources write `./x.js` for a sibling `x.ts` (moduleResolution nodenext). Map it when the .js is absent.
  if (parent && parent.startsWith('file:') && specifier.endsWith('.js') && isRelative(specifier) && TS_EXTENSION.test(parent)) {
    const jsUrl = new URL(specifier, parent);
    if (!existsSync(jsUrl)) {
      const tsUrl = new URL(specifier.slice(0, -3) + '.ts', parent);
      if (existsSync(tsUrl)) return { url: tsUrl.href, format: 'module', shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TS_EXTENSION.test(url)) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const source = readFileSync(filename, 'utf8');
  const format = url.endsWith('.cts') ? 'commonjs' : 'module';
  const code = await transformCached(filename, source, format);
  if (format === 'commonjs') {
    // Node 20 ignores `source` for CommonJS returned from a hook; write-through is not worth it here.
    return { format, source: code, shortCircuit: true };
  }
  return { format, source: code, shortCircuit: true };
}

function transformOptions(filename, format) {
  return {
    loader: filename.endsWith('x') ? 'tsx' : 'ts',
    format: format === 'commonjs' ? 'cjs' : 'esm',
    target: 'node20',
    sourcemap: 'inline',
    // Tracebacks read the .ts file from disk; embedding it again in every map only costs memory (5 MB per 100 files).
    sourcesContent: false,
    sourcefile: pathToFileURL(filename).href,
    // Standard (TC39) decorators, lowered by esbuild: Node 20 has no native decorators.
    tsconfigRaw: { compilerOptions: { experimentalDecorators: false, useDefineForClassFields: true } },
  };
}

/**
 * esbuild reports a syntax error as "Transform failed" with its own internals on the stack. A user wants the file,
 * line and column, as Python's SyntaxError gives them: build that, with no stack frames to wade through.
 */
function syntaxErrorFrom(error, filename) {
  const first = Array.isArray(error?.errors) ? error.errors[0] : undefined;
  if (!first) return error;
  const where = first.location ? `${filename}:${first.location.line}:${first.location.column + 1}` : filename;
  const lineText = first.location?.lineText;
  const caret = first.location ? `${' '.repeat(first.location.column)}^` : '';
  const syntaxError = new SyntaxError(`${first.text}\n  File "${where}"${lineText !== undefined ? `\n    ${lineText}\n    ${caret}` : ''}`);
  syntaxError.stack = `SyntaxError: ${syntaxError.message}`;
  return syntaxError;
}

function isRelative(specifier) {
  return specifier.startsWith('./') || specifier.startsWith('../');
}

async function transformCached(filename, source, format) {
  const key = createHash('sha1').update(TRANSFORM_VERSION).update('\0').update(filename).update('\0').update(source).digest('hex');
  const cached = cacheDir ? join(cacheDir, key + '.js') : null;
  if (cached) {
    try {
      return readFileSync(cached, 'utf8');
    } catch {
      // miss
    }
  }
  esbuildPromise ??= import('esbuild');
  const esbuild = await esbuildPromise;
  let result;
  try {
    result = await esbuild.transform(source, transformOptions(filename, format));
  } catch (error) {
    throw syntaxErrorFrom(error, filename);
  }
  if (cached) {
    // Write to a private temporary name and rename, so parallel workers never read half a file.
    const tmp = `${cached}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      writeFileSync(tmp, result.code);
      renameSync(tmp, cached);
    } catch {
      // the cache is an optimisation; failing to write it is not an error
    }
  }
  return result.code;
}
