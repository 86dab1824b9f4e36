// Collection: path arguments -> files -> modules -> classes -> items, in pytest's order, with pytest's node ids.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { matchNodeId, moduleTree, normalizeCollectionArguments, NodeIdNotFound, notFoundMessage, resolveCollectionArgument, type CollectionArgument } from './collection-args.js';
import { isFixtureDefinition, methodFixtureOptions } from './fixture-def.js';
import type { CollectionFilter } from './last-failed.js';
import { matchesFilePattern, matchesPrefixOrGlob, fnmatch } from './glob.js';
import { classMarks, moduleMarks, ownMarks, type Mark } from './marks.js';
import type { ClassNode, CollectionError, CollectionWarning, ConftestModule, FixtureDef, Item, ModuleNode } from './nodes.js';
import { expandParametrize, ParametrizeError } from './parametrize.js';
import { scanSource } from './source-scan.js';
import { exactArgumentNames, requestedNames } from './signature.js';

export interface CollectOptions {
  rootdir: string;
  invocationDir: string;
  /** Positional arguments: files, directories, node ids. Empty: testpaths, else the invocation directory. */
  args: readonly string[];
  testpaths: readonly string[];
  pythonFiles: readonly string[];
  pythonClasses: readonly string[];
  pythonFunctions: readonly string[];
  norecursedirs: readonly string[];
}

/** Collection options from a configuration: the ini's patterns and the paths to start from. */
export function collectOptionsFrom(
  config: { rootdir: string; invocationDir: string; ini: Pick<CollectOptions, 'testpaths' | 'pythonFiles' | 'pythonClasses' | 'pythonFunctions' | 'norecursedirs'> },
  args: readonly string[],
): CollectOptions {
  const { testpaths, pythonFiles, pythonClasses, pythonFunctions, norecursedirs } = config.ini;
  return { rootdir: config.rootdir, invocationDir: config.invocationDir, args, testpaths, pythonFiles, pythonClasses, pythonFunctions, norecursedirs };
}

export interface CollectResult {
  items: Item[];
  errors: CollectionError[];
  warnings: CollectionWarning[];
  /** Every conftest loaded, outermost first. */
  conftests: ConftestModule[];
}

const DEFAULT_NORECURSE = ['*.egg', '.*', '_darcs', 'build', 'CVS', 'dist', 'node_modules', 'venv', '{arch}'];
const TS_FILE = /\.(?:ts|mts|tsx)$/;

export function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * The positional arguments (or testpaths, or the invocation directory), each checked and split into path, names and
 * parametrization, with arguments another one already covers dropped (pytest's first errors come from here).
 */
export function parseTargets(options: CollectOptions): CollectionArgument[] {
  let args = options.args;
  let base = options.invocationDir;
  if (args.length === 0) {
    if (options.testpaths.length > 0 && resolve(options.invocationDir) === resolve(options.rootdir)) {
      args = expandTestpaths(options.testpaths, options.rootdir);
      base = options.rootdir;
    } else {
      args = ['.'];
    }
  }
  return normalizeCollectionArguments(args.map((arg, index) => resolveCollectionArgument(arg, base, index)));
}

function expandTestpaths(testpaths: readonly string[], rootdir: string): string[] {
  const out: string[] = [];
  for (const p of testpaths) {
    if (/[*?[]/.test(p)) {
      const matches = walkGlob(rootdir, p);
      out.push(...matches);
    } else out.push(p);
  }
  return out;
}

function walkGlob(rootdir: string, pattern: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      const rel = toPosix(relative(rootdir, full));
      if (fnmatch(rel, pattern)) found.push(rel);
      else if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) visit(full);
    }
  };
  visit(rootdir);
  return found;
}

export class Collector {
  private readonly conftestCache = new Map<string, Promise<ConftestModule | undefined>>();
  private readonly moduleCache = new Map<string, Promise<ModuleNode | CollectionError>>();
  readonly warnings: CollectionWarning[] = [];
  readonly errors: CollectionError[] = [];

  constructor(readonly options: CollectOptions) {}

  /** `filter`: the cache provider's --lf rules (order, skipped files, kept items); none in workers and the API. */
  async collect(filter?: CollectionFilter): Promise<CollectResult> {
    const parsed = parseTargets(this.options);
    const targets = filter ? filter.order(parsed, (t) => t.path) : parsed;
    const itemsOf = (mod: ModuleNode) => (filter ? filter.moduleItems(mod, this.itemsOf(mod)) : this.itemsOf(mod));
    const items: Item[] = [];
    const seen = new Set<string>();
    const notFound: string[] = [];
    // pytest still counts the tests that node ids named directly when another node id fails.
    const namedDirectly = new Set<string>();
    const add = (found: readonly Item[]) => {
      for (const item of found) {
        if (!seen.has(item.nodeid)) {
          seen.add(item.nodeid);
          items.push(item);
        }
      }
    };
    for (const target of targets) {
      if (statSync(target.path).isDirectory()) {
        for (const file of this.walk(target.path, filter)) {
          if (filter && !filter.wantsFile(file)) continue;
          const mod = await this.module(file);
          if ('namespace' in mod) add(itemsOf(mod));
        }
        continue;
      }
      if (!TS_FILE.test(target.path)) {
        // No collector takes this file: pytest looks for it among its directory's children and finds nothing.
        notFound.push(notFoundMessage(target, [{ name: '', repr: `<Dir ${basename(dirname(target.path))}>`, items: [] }]));
        continue;
      }
      if (filter && !filter.wantsFile(target.path)) continue;
      const mod = await this.module(target.path);
      if (!('namespace' in mod)) {
        // The import error is a collection error of its own; names inside the module cannot be looked up.
        if (target.parts.length > 0) notFound.push(notFoundMessage(target, []));
        continue;
      }
      const moduleItems = itemsOf(mod);
      if (target.parts.length === 0) {
        add(moduleItems);
        continue;
      }
      const classNames = Object.keys(mod.namespace).filter((name) => isClass(mod.namespace[name]) && matchesPrefixOrGlob(name, this.options.pythonClasses));
      const tree = moduleTree(basename(mod.path), moduleItems, classNames);
      const { matched, missedIn } = matchNodeId(tree, target.parts, target.parametrization);
      if (matched.length === 0) notFound.push(notFoundMessage(target, missedIn));
      for (const node of matched) {
        if (!node.children) for (const item of node.items) namedDirectly.add(item.nodeid);
        add(node.items);
      }
    }
    if (notFound.length > 0) throw new NodeIdNotFound(notFound, namedDirectly.size);
    return { items, errors: this.errors, warnings: this.warnings, conftests: await this.loadedConftests() };
  }

  /** Conftests of the rootdir and of the argument directories: they may declare command-line options. */
  async initialConftests(): Promise<ConftestModule[]> {
    const dirs = new Set<string>([this.options.rootdir]);
    for (const arg of this.options.args.length ? this.options.args : this.options.testpaths) {
      const path = resolve(this.options.invocationDir, arg.split('::')[0]!);
      if (existsSync(path)) dirs.add(statSync(path).isDirectory() ? path : dirname(path));
    }
    const result: ConftestModule[] = [];
    for (const dir of dirs) for (const c of await this.conftestChain(dir)) if (!result.includes(c)) result.push(c);
    return result;
  }

  private async loadedConftests(): Promise<ConftestModule[]> {
    const all = await Promise.all(this.conftestCache.values());
    return all.filter((c): c is ConftestModule => !!c).sort((a, b) => a.dir.length - b.dir.length);
  }

  /** Test files under a directory, walked in sorted order (files and directories interleaved, as pytest 9). */
  private walk(dir: string, filter?: CollectionFilter): string[] {
    const files: string[] = [];
    const norecurse = [...DEFAULT_NORECURSE, ...this.options.norecursedirs];
    const visit = (d: string) => {
      const sorted = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const entries = filter ? filter.order(sorted, (entry) => join(d, entry.name)) : sorted;
      for (const entry of entries) {
        const full = join(d, entry.name);
        if (entry.isDirectory()) {
          if (!norecurse.some((p) => fnmatch(entry.name, p))) visit(full);
        } else if (TS_FILE.test(entry.name) && matchesFilePattern(toPosix(full), this.options.pythonFiles)) {
          files.push(full);
        }
      }
    };
    visit(dir);
    return files;
  }

  private relpath(path: string): string {
    return toPosix(relative(this.options.rootdir, path));
  }

  private async conftestChain(dir: string): Promise<ConftestModule[]> {
    const chain: ConftestModule[] = [];
    const root = resolve(this.options.rootdir);
    const dirs: string[] = [];
    for (let d = resolve(dir); ; d = dirname(d)) {
      dirs.unshift(d);
      if (d === root || dirname(d) === d) break;
    }
    for (const d of dirs) {
      const c = await this.conftest(d);
      if (c) chain.push(c);
    }
    return chain;
  }

  private conftest(dir: string): Promise<ConftestModule | undefined> {
    let pending = this.conftestCache.get(dir);
    if (!pending) {
      pending = this.loadConftest(dir);
      this.conftestCache.set(dir, pending);
    }
    return pending;
  }

  private async loadConftest(dir: string): Promise<ConftestModule | undefined> {
    const path = join(dir, 'conftest.ts');
    if (!existsSync(path)) return undefined;
    let namespace: Record<string, unknown>;
    try {
      namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConftestImportError(path, error);
    }
    const rel = this.relpath(dir);
    const source = scanSource(readFileSync(path, 'utf8'));
    const fixtures = fixtureExports(namespace, source, this.relpath(path), rel === '' ? '' : rel, 'conftest');
    return { path, dir: rel, namespace, fixtures };
  }

  private module(path: string): Promise<ModuleNode | CollectionError> {
    let pending = this.moduleCache.get(path);
    if (!pending) {
      pending = this.loadModule(path);
      this.moduleCache.set(path, pending);
    }
    return pending;
  }

  private async loadModule(path: string): Promise<ModuleNode | CollectionError> {
    const nodeid = this.relpath(path);
    const conftests = await this.conftestChain(dirname(path));
    try {
      const namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      const source = scanSource(readFileSync(path, 'utf8'));
      const mod: ModuleNode = {
        path,
        nodeid,
        namespace,
        source,
        marks: moduleMarks(namespace.pytestmark),
        fixtures: fixtureExports(namespace, source, nodeid, nodeid, 'module'),
        conftests,
      };
      return mod;
    } catch (error) {
      const failure: CollectionError = { nodeid, error };
      this.errors.push(failure);
      return failure;
    }
  }

  private readonly itemsCache = new Map<ModuleNode, Item[]>();

  /** All items of a module in definition order. Errors while expanding become a collection error of the module. */
  itemsOf(mod: ModuleNode): Item[] {
    let items = this.itemsCache.get(mod);
    if (items) return items;
    try {
      items = this.buildItems(mod);
    } catch (error) {
      this.errors.push({ nodeid: mod.nodeid, error });
      items = [];
    }
    this.itemsCache.set(mod, items);
    return items;
  }

  private buildItems(mod: ModuleNode): Item[] {
    const items: Item[] = [];
    const names = Object.keys(mod.namespace).sort((a, b) => (mod.source.exportLine(a) ?? Infinity) - (mod.source.exportLine(b) ?? Infinity));
    const dirKeywords = this.dirKeywords(mod);
    for (const name of names) {
      const value = mod.namespace[name];
      if (typeof value !== 'function' || isFixtureDefinition(value)) continue;
      if ((value as { __test__?: unknown }).__test__ === false) continue;
      if (isClass(value)) {
        if (!matchesPrefixOrGlob(name, this.options.pythonClasses)) continue;
        if (value.length > 0) {
          const line = (mod.source.classLine(name) ?? 0) + 1;
          this.warnings.push({
            message: `cannot collect test class '${name}' because it has a constructor with parameters (from: ${mod.nodeid})`,
            location: `${mod.path}:${line}`,
          });
          continue;
        }
        items.push(...this.classItems(mod, name, value as new () => object, dirKeywords));
      } else if (matchesPrefixOrGlob(name, this.options.pythonFunctions)) {
        items.push(...this.functionItems(mod, undefined, name, value, dirKeywords));
      }
    }
    return items;
  }

  private classItems(mod: ModuleNode, name: string, cls: new () => object, dirKeywords: string[]): Item[] {
    const nodeid = `${mod.nodeid}::${name}`;
    const classNode: ClassNode = { name, nodeid, cls, module: mod, marks: classMarks(cls), fixtures: [] };
    const methodNames: string[] = [];
    const seen = new Set<string>();
    const methods = new Map<string, Function>();
    // Own methods first, then inherited ones (pytest walks the MRO the same way). Static methods are tests too, as
    // pytest collects a @staticmethod; they take their place among the methods in source order.
    for (let proto = cls.prototype, ctor: unknown = cls; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto), ctor = Object.getPrototypeOf(ctor)) {
      const keys = Object.getOwnPropertyNames(proto).map((key) => ({ key, owner: proto as object }));
      const statics = typeof ctor === 'function' ? staticTestKeys(ctor, (key) => matchesPrefixOrGlob(key, this.options.pythonFunctions)) : [];
      if (statics.length > 0) {
        const className = (ctor as Function).name;
        const lineOf = (key: string) => mod.source.memberLine(className, key) ?? Infinity;
        keys.push(...statics.map((key) => ({ key, owner: ctor as object })));
        keys.sort((a, b) => lineOf(a.key) - lineOf(b.key));
      }
      for (const { key, owner } of keys) {
        if (key === 'constructor' || seen.has(key)) continue;
        seen.add(key);
        const descriptor = Object.getOwnPropertyDescriptor(owner, key);
        if (!descriptor || typeof descriptor.value !== 'function') continue;
        const fixtureOptions = methodFixtureOptions(descriptor.value);
        if (fixtureOptions) {
          classNode.fixtures.push({
            name: fixtureOptions.name ?? key,
            fn: descriptor.value,
            scope: fixtureOptions.scope ?? 'function',
            autouse: fixtureOptions.autouse ?? false,
            location: `${mod.nodeid}:${(mod.source.memberLine(name, key) ?? 0) + 1}`,
            baseid: nodeid,
            kind: 'class',
            className: name,
          });
        } else if (matchesPrefixOrGlob(key, this.options.pythonFunctions)) {
          methodNames.push(key);
          methods.set(key, descriptor.value as Function);
        }
      }
    }
    const items: Item[] = [];
    for (const key of methodNames) items.push(...this.functionItems(mod, classNode, key, methods.get(key)!, dirKeywords));
    return items;
  }

  private functionItems(mod: ModuleNode, cls: ClassNode | undefined, name: string, fn: Function, dirKeywords: string[]): Item[] {
    const fnMarks = ownMarks(fn);
    const inherited: Mark[] = [...(cls?.marks ?? []), ...mod.marks];
    const specs = expandParametrize([...fnMarks, ...inherited]);
    const accepted = exactArgumentNames(fn);
    if (accepted !== undefined) {
      // pytest's check in Metafunc.parametrize: a parametrized name the function cannot receive is a collection error.
      for (const spec of specs) {
        const unused = Object.keys(spec.params).find((arg) => !accepted.includes(arg));
        if (unused !== undefined) throw new ParametrizeError(`In ${name}: function uses no argument '${unused}'`);
      }
    }
    const line = mod.source.memberLine(cls?.name, name) ?? 0;
    const baseNodeid = cls ? `${cls.nodeid}::${name}` : `${mod.nodeid}::${name}`;
    const requested = requestedNames(fn);
    const moduleBase = mod.nodeid.slice(mod.nodeid.lastIndexOf('/') + 1);
    return specs.map((spec) => {
      const itemName = spec.id !== undefined ? `${name}[${spec.id}]` : name;
      const marks = [...spec.marks, ...fnMarks, ...inherited];
      const keywords = [itemName, moduleBase, ...dirKeywords, ...marks.map((m) => m.name)];
      if (cls) keywords.push(cls.name);
      if (spec.id) keywords.push(spec.id);
      return {
        nodeid: spec.id !== undefined ? `${baseNodeid}[${spec.id}]` : baseNodeid,
        name: itemName,
        originalName: name,
        module: mod,
        cls,
        fn,
        marks,
        params: spec.params,
        paramId: spec.id,
        location: { relpath: mod.nodeid, line, domain: cls ? `${cls.name}.${itemName}` : itemName },
        keywords,
        argnames: requested.filter((n) => !(n in spec.params)),
      } satisfies Item;
    });
  }

  /** Directory names between the rootdir and the module: -k matches them (`suites`). */
  private dirKeywords(mod: ModuleNode): string[] {
    const parts = mod.nodeid.split('/');
    return parts.slice(0, -1).filter((p) => p !== '..' && p !== '.' && p !== '');
  }
}

function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf(sep)) + 1);
}

/** A class's own static methods that are test functions (not classes, not the built-in length/name/prototype). */
function staticTestKeys(ctor: Function, isTestName: (key: string) => boolean): string[] {
  return Object.getOwnPropertyNames(ctor).filter((key) => {
    if (key === 'length' || key === 'name' || key === 'prototype' || !isTestName(key)) return false;
    const value = Object.getOwnPropertyDescriptor(ctor, key)?.value;
    return typeof value === 'function' && !isClass(value);
  });
}

export function isClass(value: unknown): value is Function {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function fixtureExports(
  namespace: Record<string, unknown>,
  source: ReturnType<typeof scanSource>,
  fileNodeid: string,
  baseid: string,
  kind: 'conftest' | 'module',
): FixtureDef[] {
  const defs: FixtureDef[] = [];
  for (const [exportName, value] of Object.entries(namespace)) {
    if (!isFixtureDefinition(value)) continue;
    defs.push({
      name: value.options.name ?? exportName,
      fn: value.fn,
      scope: value.options.scope ?? 'function',
      autouse: value.options.autouse ?? false,
      location: `${fileNodeid}:${(source.exportLine(exportName) ?? 0) + 1}`,
      baseid,
      kind,
    });
  }
  return defs;
}

export class ConftestImportError extends Error {
  constructor(
    readonly path: string,
    readonly error: unknown,
  ) {
    super(`ImportError while loading conftest '${path}'.`);
  }
}
