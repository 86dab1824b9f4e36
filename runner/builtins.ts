// Fixtures every suite gets: tmpPath, tmpPathFactory, request, recordProperty, recordTestsuiteProperty.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mark } from './marks.js';
import type { BuiltinValueFactory } from './fixtures.js';
import type { FixtureDef, Item } from './nodes.js';

export interface RequestConfig {
  rootdir: string;
  inipath?: string;
  /** A command-line option's value by its long name without dashes (`device`), or a built-in option. */
  getoption(name: string): unknown;
  /** An ini value by key. */
  getini(name: string): unknown;
}

/** What the `request` fixture gives: the test asking, its markers and the session's configuration. */
export interface FixtureRequest {
  nodeid: string;
  node: { name: string; nodeid: string; marks: readonly Mark[] };
  /** The closest marker of that name (its own before its class's before its module's), or undefined. */
  getClosestMarker(name: string): Mark | undefined;
  config: RequestConfig;
  /** Run `fn` when this test's function scope is torn down. */
  addFinalizer(fn: () => unknown): void;
  /** Parameter values of a parametrized test. */
  params: Readonly<Record<string, unknown>>;
}

export interface TmpPathFactory {
  /** A fresh directory under the session's base temporary directory (mode 0700). */
  mktemp(basename: string): string;
  getbasetemp(): string;
}

export class SessionState {
  readonly suiteProperties: Array<[string, string]> = [];
  private basetemp: string | undefined;
  private readonly counters = new Map<string, number>();
  /** Per-item user properties (recordProperty), read by the run loop when it builds reports. */
  readonly userProperties = new Map<string, Array<[string, unknown]>>();

  constructor(readonly config: RequestConfig) {}

  getbasetemp(): string {
    // mkdtemp gives an unpredictable name and a 0700 directory: nothing a test writes is readable by other users.
    this.basetemp ??= mkdtempSync(join(tmpdir(), 'pytest-ts-'));
    return this.basetemp;
  }

  mktemp(basename: string): string {
    const safe = basename.replace(/[^\w.-]/g, '_').slice(0, 30) || 'tmp';
    const n = this.counters.get(safe) ?? 0;
    this.counters.set(safe, n + 1);
    const path = join(this.getbasetemp(), `${safe}${n}`);
    mkdirSync(path, { mode: 0o700 });
    return path;
  }

  /** Remove the session's temporary directories (kept when tests failed, for a look afterwards). */
  cleanup(keep: boolean): string | undefined {
    if (!this.basetemp) return undefined;
    if (keep) return this.basetemp;
    rmSync(this.basetemp, { recursive: true, force: true });
    return undefined;
  }
}

const BUILTIN_NAMES = ['tmpPath', 'tmpPathFactory', 'request', 'recordProperty', 'recordTestsuiteProperty'] as const;
const SCOPES: Record<(typeof BUILTIN_NAMES)[number], FixtureDef['scope']> = {
  tmpPath: 'function',
  tmpPathFactory: 'session',
  request: 'function',
  recordProperty: 'function',
  recordTestsuiteProperty: 'session',
};

export function builtinDefs(): FixtureDef[] {
  return BUILTIN_NAMES.map((name) => ({
    name,
    fn: () => undefined,
    scope: SCOPES[name],
    autouse: false,
    location: `<builtin ${name}>`,
    baseid: '',
    kind: 'builtin' as const,
  }));
}

export function closestMarker(item: Item, name: string): Mark | undefined {
  return item.marks.find((m) => m.name === name);
}

export function builtinValues(state: SessionState): BuiltinValueFactory {
  return (def, item, addFinalizer) => {
    switch (def.name) {
      case 'tmpPath':
        return state.mktemp(item.name);
      case 'tmpPathFactory':
        return { mktemp: (b: string) => state.mktemp(b), getbasetemp: () => state.getbasetemp() } satisfies TmpPathFactory;
      case 'request':
        return {
          nodeid: item.nodeid,
          node: { name: item.name, nodeid: item.nodeid, marks: item.marks },
          getClosestMarker: (name: string) => closestMarker(item, name),
          config: state.config,
          addFinalizer,
          params: item.params,
        } satisfies FixtureRequest;
      case 'recordProperty':
        return (name: string, value: unknown) => {
          let list = state.userProperties.get(item.nodeid);
          if (!list) state.userProperties.set(item.nodeid, (list = []));
          list.push([name, value]);
        };
      case 'recordTestsuiteProperty':
        return (name: string, value: unknown) => {
          if (typeof name !== 'string') throw new TypeError(`recordTestsuiteProperty: name must be a string, got ${typeof name}`);
          state.suiteProperties.push([name, String(value)]);
        };
      default:
        throw new Error(`unknown builtin fixture ${def.name}`);
    }
  };
}
