// Loader hooks for bench/profile.mjs: registered *after* pytest-ts's own ts-hooks, so they run first in the chain
// and see every module pytest-ts loads. For each load they report when it was asked for and how long the rest of
// the chain (ts-hooks: cache lookup, read, maybe esbuild) took. Timestamps are absolute (timeOrigin + now) so
// they line up with the main thread's.

let port = null;

export function initialize(data) {
  port = data.port;
}

const now = () => performance.timeOrigin + performance.now();

export async function resolve(specifier, context, nextResolve) {
  const started = now();
  const result = await nextResolve(specifier, context);
  port?.postMessage({ kind: 'resolve', url: result.url, started, ms: now() - started });
  return result;
}

export async function load(url, context, nextLoad) {
  const started = now();
  const result = await nextLoad(url, context);
  const bytes = typeof result.source === 'string' ? result.source.length : result.source?.byteLength ?? 0;
  port?.postMessage({ kind: 'load', url, started, ms: now() - started, bytes });
  return result;
}
