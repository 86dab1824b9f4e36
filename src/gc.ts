// Garbage collection, as far as Node allows it. `globalThis.gc` exists only under `--expose-gc`; without it a GC
// request is a no-op, but callers still count it, so tests can assert "GC was requested 3 times" on any Node.

export type GcHook = () => void;

interface GlobalWithGc {
  gc?: () => void;
}

/** True when the process was started with --expose-gc (or an equivalent flag). */
export function nativeGcAvailable(): boolean {
  return typeof (globalThis as GlobalWithGc).gc === 'function';
}

/** Runs a full V8 collection when Node exposes one; otherwise does nothing. */
export const defaultGcHook: GcHook = () => {
  (globalThis as GlobalWithGc).gc?.();
};
