// Fixtures: which definition a name means for an item, the graph check before the first test, setup with caching
// per scope, and teardown in reverse order that always runs every finalizer.

import type { FixtureDef, Item } from './nodes.js';
import type { Scope } from './fixture-def.js';
import { requestedNames } from './signature.js';

const SCOPE_RANK: Record<Scope, number> = { session: 0, module: 1, class: 2, function: 3 };

export interface FixtureProblem {
  /** `suites/test_x.ts:12` of the test (or the fixture) that has the problem. */
  location: string;
  nodeid: string;
  message: string;
}

type Finalizer = () => unknown;

interface CacheEntry {
  value: unknown;
  finalizers: Finalizer[];
  /** Set when setup raised: every later request in the same scope gets the same error (pytest caches it too). */
  error?: unknown;
  /** What this entry holds, for the observer's TEARDOWN. */
  shown?: ShownFixture;
}

/** Values that the runner supplies per item: request, tmpPath and the like. */
export interface BuiltinProvider {
  defs: FixtureDef[];
}

/** A fixture as --setup-show names it: a real one, or a parametrized name (pytest's pseudo-fixture, with its value). */
export type ShownFixture = { def: FixtureDef } | { param: string; value: unknown };

/** Told when a fixture has been set up (or failed to) and when its finalizers have run, for --setup-show. */
export interface FixtureObserver {
  setup(fixture: ShownFixture): void | Promise<void>;
  teardown(fixture: ShownFixture): void | Promise<void>;
}

export class FixtureManager {
  private observer: FixtureObserver | undefined;

  observe(observer: FixtureObserver): void {
    this.observer = observer;
  }

  /** Cache key -> entry; the key names the definition and the scope instance (item, class, module or session). */
  private readonly cache = new Map<string, CacheEntry>();
  /** Setup order per scope instance, for reverse teardown. */
  private readonly scopeOrder = new Map<string, string[]>();
  private readonly defIds = new WeakMap<FixtureDef, number>();
  private nextDefId = 0;

  constructor(private readonly builtins: readonly FixtureDef[]) {}

  /** Definitions visible to an item for a name, the one that wins first (class, module, nearest conftest, builtin). */
  candidates(item: Item, name: string): FixtureDef[] {
    const found: FixtureDef[] = [];
    if (item.cls) for (const d of item.cls.fixtures) if (d.name === name) found.push(d);
    for (const d of item.module.fixtures) if (d.name === name) found.push(d);
    for (let i = item.module.conftests.length - 1; i >= 0; i--) {
      for (const d of item.module.conftests[i]!.fixtures) if (d.name === name) found.push(d);
    }
    for (const d of this.builtins) if (d.name === name) found.push(d);
    return found;
  }

  /** The definition `name` means when requested by `requester` (a fixture asking for its own name gets the next one). */
  resolve(item: Item, name: string, requester?: FixtureDef): FixtureDef | undefined {
    const list = this.candidates(item, name);
    if (requester && requester.name === name) {
      const at = list.indexOf(requester);
      return at >= 0 ? list[at + 1] : list[0];
    }
    return list[0];
  }

  /** Autouse fixtures visible to the item, outermost first (conftests from the rootdir down, module, class). */
  autouseNames(item: Item): string[] {
    const names: string[] = [];
    const add = (defs: readonly FixtureDef[]) => {
      for (const d of defs) if (d.autouse && !names.includes(d.name)) names.push(d.name);
    };
    add(this.builtins);
    for (const c of item.module.conftests) add(c.fixtures);
    add(item.module.fixtures);
    if (item.cls) add(item.cls.fixtures);
    return names;
  }

  /** Names the item starts from: autouse, then @mark.usefixtures, then its own destructured names. */
  initialNames(item: Item): string[] {
    const names = this.autouseNames(item);
    for (const m of item.marks) if (m.name === 'usefixtures') for (const a of m.args) if (!names.includes(String(a))) names.push(String(a));
    for (const a of item.argnames) if (!names.includes(a)) names.push(a);
    return names;
  }

  /**
   * Check the whole graph of one item: every name resolves, no cycles, no wider scope depending on a narrower one.
   * Returns the setup order (higher scopes first, then request order) or the problems found.
   */
  plan(item: Item): { order: FixtureDef[]; problems: FixtureProblem[] } {
    const problems: FixtureProblem[] = [];
    const order: FixtureDef[] = [];
    const done = new Set<FixtureDef>();
    const itemLocation = `${item.location.relpath}:${item.location.line + 1}`;
    const visit = (name: string, requester: FixtureDef | undefined, path: FixtureDef[]) => {
      const def = this.resolve(item, name, requester);
      if (!def) {
        const available = this.availableNames(item);
        const who = requester ? `fixture '${requester.name}' (${requester.location})` : `test ${item.location.domain}`;
        problems.push({
          location: requester?.location ?? itemLocation,
          nodeid: item.nodeid,
          message: `fixture '${name}' not found, requested by ${who}; available fixtures: ${available.join(', ')}`,
        });
        return;
      }
      if (path.includes(def)) {
        const cycle = [...path.slice(path.indexOf(def)), def].map((d) => `${d.name} (${d.location})`).join(' -> ');
        problems.push({ location: def.location, nodeid: item.nodeid, message: `fixture dependency cycle: ${cycle}` });
        return;
      }
      // pytest's `request` is scope-agnostic: a fixture of any scope may ask for it.
      const anyScope = def.kind === 'builtin' && def.name === 'request';
      if (requester && !anyScope && SCOPE_RANK[def.scope] > SCOPE_RANK[requester.scope]) {
        problems.push({
          location: requester.location,
          nodeid: item.nodeid,
          message: `ScopeMismatch: the ${requester.scope}-scoped fixture '${requester.name}' requests the ${def.scope}-scoped fixture '${def.name}' (${def.location})`,
        });
        return;
      }
      if (done.has(def)) return;
      for (const dep of requestedNames(def.fn)) visit(dep, def, [...path, def]);
      if (!done.has(def)) {
        done.add(def);
        order.push(def);
      }
    };
    for (const name of this.initialNames(item)) visit(name, undefined, []);
    // Stable sort: wider scopes are set up first, as pytest orders a fixture closure.
    const indexed = order.map((d, i) => [d, i] as const);
    indexed.sort((a, b) => SCOPE_RANK[a[0].scope] - SCOPE_RANK[b[0].scope] || a[1] - b[1]);
    return { order: indexed.map(([d]) => d), problems };
  }

  availableNames(item: Item): string[] {
    const names = new Set<string>();
    for (const d of this.builtins) names.add(d.name);
    for (const c of item.module.conftests) for (const d of c.fixtures) names.add(d.name);
    for (const d of item.module.fixtures) names.add(d.name);
    if (item.cls) for (const d of item.cls.fixtures) names.add(d.name);
    return [...names].sort();
  }

  private scopeInstance(def: FixtureDef, item: Item): string {
    switch (def.scope) {
      case 'session':
        return 'session';
      case 'module':
        return `module:${item.module.nodeid}`;
      case 'class':
        return `class:${item.cls?.nodeid ?? item.module.nodeid}`;
      default:
        return `function:${item.nodeid}`;
    }
  }

  private key(def: FixtureDef, scopeInstance: string): string {
    let id = this.defIds.get(def);
    if (id === undefined) {
      id = this.nextDefId++;
      this.defIds.set(def, id);
    }
    return `${scopeInstance}#${id}`;
  }

  /**
   * Set up every fixture of the plan and return the object the test receives. `instance` is the test's `this`;
   * `extraFor` gives per-request values of builtin fixtures (request, tmpPath).
   */
  async setup(item: Item, order: readonly FixtureDef[], instance: object | undefined, builtinValue: BuiltinValueFactory): Promise<Record<string, unknown>> {
    const values = new Map<FixtureDef, unknown>();
    const params = this.observer ? this.paramSlots(item, order) : undefined;
    for (let i = 0; i < order.length; i++) {
      for (const name of params?.get(i) ?? []) await this.showParam(item, name);
      values.set(order[i]!, await this.value(order[i]!, item, instance, values, builtinValue));
    }
    for (const name of params?.get(order.length) ?? []) await this.showParam(item, name);
    const args: Record<string, unknown> = { ...item.params };
    for (const name of item.argnames) {
      const def = this.resolve(item, name);
      if (def) args[name] = values.get(def);
    }
    return args;
  }

  private async value(
    def: FixtureDef,
    item: Item,
    instance: object | undefined,
    values: Map<FixtureDef, unknown>,
    builtinValue: BuiltinValueFactory,
  ): Promise<unknown> {
    const scopeInstance = this.scopeInstance(def, item);
    const key = this.key(def, scopeInstance);
    const cached = this.cache.get(key);
    if (cached) {
      if (cached.error !== undefined) throw cached.error;
      return cached.value;
    }
    const entry: CacheEntry = { value: undefined, finalizers: [] };
    this.cache.set(key, entry);
    let order = this.scopeOrder.get(scopeInstance);
    if (!order) this.scopeOrder.set(scopeInstance, (order = []));
    order.push(key);
    entry.shown = { def };
    try {
      if (def.kind === 'builtin') {
        entry.value = await builtinValue(def, item, (fn) => entry.finalizers.push(fn), values);
        return entry.value;
      }
      const deps: Record<string, unknown> = {};
      for (const dep of requestedNames(def.fn)) {
        const depDef = this.resolve(item, dep, def)!;
        deps[dep] = values.has(depDef) ? values.get(depDef) : await this.value(depDef, item, instance, values, builtinValue);
      }
      const thisArg = def.kind === 'class' ? instance : undefined;
      const result = def.fn.call(thisArg, deps);
      entry.value = await this.unwrap(result, entry, def);
      return entry.value;
    } catch (error) {
      entry.error = error;
      throw error;
    } finally {
      // pytest shows SETUP once the fixture function has run, whether it succeeded or not.
      if (this.observer) await this.observer.setup({ def });
    }
  }

  /**
   * Where pytest would set up each parametrized name, as a function-scoped pseudo-fixture: in the closure sorted by
   * scope, after the function-scoped fixtures found before it (autouse, usefixtures, the names before it in the
   * signature, and whatever those pull in). Returns, per index of `order`, the names to show before that fixture.
   */
  private paramSlots(item: Item, order: readonly FixtureDef[]): Map<number, string[]> {
    const slots = new Map<number, string[]>();
    const signature = requestedNames(item.fn);
    const paramNames = signature.filter((n) => n in item.params);
    if (paramNames.length === 0) return slots;
    const initial = [...this.initialNames(item).filter((n) => !item.argnames.includes(n)), ...signature];
    // A fixture's place is its own in the initial names, or the earliest place of a fixture that pulls it in.
    const place = new Map<FixtureDef, number>();
    for (let i = order.length - 1; i >= 0; i--) {
      const def = order[i]!;
      let at = initial.indexOf(def.name);
      if (at < 0) at = Infinity;
      for (const other of order) {
        if (other !== def && requestedNames(other.fn).includes(def.name) && this.resolve(item, def.name, other) === def) at = Math.min(at, place.get(other) ?? Infinity);
      }
      place.set(def, at);
    }
    for (const name of paramNames) {
      const at = initial.indexOf(name);
      let slot = order.findIndex((d) => d.scope === 'function' && (place.get(d) ?? Infinity) > at);
      if (slot < 0) slot = order.length;
      let list = slots.get(slot);
      if (!list) slots.set(slot, (list = []));
      list.push(name);
    }
    return slots;
  }

  /** A parametrized name's SETUP now, and its TEARDOWN with the function-scoped fixtures, in reverse order. */
  private async showParam(item: Item, name: string): Promise<void> {
    const scopeInstance = `function:${item.nodeid}`;
    const key = `${scopeInstance}#param:${name}`;
    const shown: ShownFixture = { param: name, value: item.params[name] };
    this.cache.set(key, { value: item.params[name], finalizers: [], shown });
    let order = this.scopeOrder.get(scopeInstance);
    if (!order) this.scopeOrder.set(scopeInstance, (order = []));
    order.push(key);
    await this.observer?.setup(shown);
  }

  /** Plain values and promises are the value; a (async) generator yields it once and tears down after the yield. */
  private async unwrap(result: unknown, entry: CacheEntry, def: FixtureDef): Promise<unknown> {
    if (isGenerator(result)) {
      const first = await result.next();
      if (first.done) throw new Error(`fixture '${def.name}' (${def.location}) did not yield a value`);
      entry.finalizers.push(async () => {
        const after = await result.next();
        if (!after.done) throw new Error(`fixture '${def.name}' (${def.location}) yielded more than once`);
      });
      return first.value;
    }
    return await result;
  }

  /**
   * Tear down the scope instances the next item does not share, innermost first, each in reverse setup order.
   * Every finalizer runs; the errors are returned, not thrown.
   */
  async teardown(item: Item, nextItem: Item | undefined): Promise<unknown[]> {
    const scopes = [`function:${item.nodeid}`];
    const sameClass = nextItem && (nextItem.cls?.nodeid ?? nextItem.module.nodeid) === (item.cls?.nodeid ?? item.module.nodeid);
    if (!sameClass) scopes.push(`class:${item.cls?.nodeid ?? item.module.nodeid}`);
    if (!nextItem || nextItem.module.nodeid !== item.module.nodeid) scopes.push(`module:${item.module.nodeid}`);
    if (!nextItem) scopes.push('session');
    const errors: unknown[] = [];
    for (const scope of scopes) errors.push(...(await this.finalizeScope(scope)));
    return errors;
  }

  /** Tear down everything still set up (interrupts, worker shutdown). */
  async teardownAll(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const rank = (s: string) => (s.startsWith('function:') ? 0 : s.startsWith('class:') ? 1 : s.startsWith('module:') ? 2 : 3);
    const scopes = [...this.scopeOrder.keys()].sort((a, b) => rank(a) - rank(b));
    for (const scope of scopes) errors.push(...(await this.finalizeScope(scope)));
    return errors;
  }

  private async finalizeScope(scope: string): Promise<unknown[]> {
    const keys = this.scopeOrder.get(scope);
    if (!keys) return [];
    this.scopeOrder.delete(scope);
    const errors: unknown[] = [];
    for (const key of keys.reverse()) {
      const entry = this.cache.get(key);
      this.cache.delete(key);
      if (!entry) continue;
      for (const fin of entry.finalizers.reverse()) {
        try {
          await fin();
        } catch (error) {
          errors.push(error);
        }
      }
      if (this.observer && entry.shown) await this.observer.teardown(entry.shown);
    }
    return errors;
  }
}

export type BuiltinValueFactory = (
  def: FixtureDef,
  item: Item,
  addFinalizer: (fn: () => unknown) => void,
  values: Map<FixtureDef, unknown>,
) => unknown;

function isGenerator(value: unknown): value is AsyncGenerator | Generator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Generator).next === 'function' &&
    typeof (value as Generator).throw === 'function' &&
    (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}
