// `fixture(...)`: how suites declare fixtures, as conftest exports or as decorated class methods.
//
//   export const device = fixture({ scope: 'session' }, async function* ({ tmpPath }) { ...; yield d; ... });
//   export const clock = fixture(() => new FakeClock());
//   class TestX { @fixture({ scope: 'class' }) async *server({ device }) { ... } }

import { isDecoratorContext } from './marks.js';

export const FIXTURE: unique symbol = Symbol.for('pytest-ts.fixture') as never;

export type Scope = 'function' | 'class' | 'module' | 'session';
export const SCOPES: readonly Scope[] = ['function', 'class', 'module', 'session'];

export interface FixtureOptions {
  scope?: Scope;
  autouse?: boolean;
  /** Register under another name than the export or method name. */
  name?: string;
}

// Any function shape is allowed: plain, async, generator, async generator. What it returns decides its teardown.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FixtureFunction = (this: any, fixtures: any) => unknown;

export interface FixtureDefinition<T = unknown> {
  readonly [FIXTURE]: true;
  readonly fn: FixtureFunction;
  readonly options: Readonly<FixtureOptions>;
  /** Phantom field so that `typeof myFixture` can carry the value type for users who want typed fixture objects. */
  readonly __value?: T;
}

export function isFixtureDefinition(value: unknown): value is FixtureDefinition {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && (value as FixtureDefinition)[FIXTURE] === true;
}

/** The fixture options stored on a class method decorated with `@fixture`, or undefined. */
export function methodFixtureOptions(method: unknown): FixtureOptions | undefined {
  if (typeof method !== 'function') return undefined;
  return (method as unknown as Record<symbol, FixtureOptions | undefined>)[FIXTURE];
}

function validateOptions(options: FixtureOptions): FixtureOptions {
  if (options.scope !== undefined && !SCOPES.includes(options.scope)) {
    throw new TypeError(`fixture scope must be one of ${SCOPES.join(', ')}; got ${JSON.stringify(options.scope)}`);
  }
  return options;
}

function define(options: FixtureOptions, fn: FixtureFunction): FixtureDefinition {
  if (typeof fn !== 'function') throw new TypeError('fixture(...) needs a function');
  return Object.freeze({ [FIXTURE]: true as const, fn, options: Object.freeze(validateOptions({ ...options })) });
}

function methodDecorator(options: FixtureOptions) {
  return function (method: unknown, context: unknown): void {
    if (!isDecoratorContext(context) || context.kind !== 'method') {
      throw new TypeError('@fixture can only decorate a class method');
    }
    Object.defineProperty(method, FIXTURE, { value: Object.freeze(validateOptions({ ...options })) });
  };
}

export function fixture<T>(fn: (this: any, fixtures: any) => T): FixtureDefinition<Awaited<T>>;
export function fixture<T>(options: FixtureOptions, fn: (this: any, fixtures: any) => T): FixtureDefinition<Awaited<T>>;
export function fixture(options: FixtureOptions): (method: unknown, context: unknown) => void;
export function fixture(method: FixtureFunction, context: ClassMethodDecoratorContext): void;
export function fixture(a: unknown, b?: unknown): unknown {
  if (typeof a === 'function' && isDecoratorContext(b)) {
    methodDecorator({})(a, b); // bare `@fixture` on a method
    return undefined;
  }
  if (typeof a === 'function') return define({}, a as FixtureFunction);
  if (typeof a === 'object' && a !== null && b === undefined) return methodDecorator(a as FixtureOptions);
  if (typeof a === 'object' && a !== null && typeof b === 'function') return define(a as FixtureOptions, b as FixtureFunction);
  throw new TypeError('fixture() takes a function, or options and a function, or options (as a method decorator)');
}
