// Markers: `@mark.gpu`, `@mark.timeout(30)`, `@mark.custom('arg', { key: 1 })`, `mark.slow(fn)`.
//
// Marks are stored on the decorated function or class under a registered symbol, so that two copies of this module
// (a suite loaded through tsx and the runner loaded through its own loader) still see the same marks.

export const MARKS: unique symbol = Symbol.for('pytest-ts.marks') as never;

export interface Mark {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
}

type Markable = { [MARKS]?: Mark[] };

/** A decorator context as TC39 decorators pass it; enough to recognise "this call is a decoration". */
interface DecoratorContextLike {
  kind: string;
  name?: string | symbol;
  addInitializer?: unknown;
}

export function isDecoratorContext(value: unknown): value is DecoratorContextLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DecoratorContextLike).kind === 'string' &&
    typeof (value as DecoratorContextLike).addInitializer === 'function'
  );
}

/** Marks attached directly to a function or class, closest decorator first (pytest's order). */
export function ownMarks(target: unknown): readonly Mark[] {
  if ((typeof target !== 'function' && typeof target !== 'object') || target === null) return [];
  return Object.prototype.hasOwnProperty.call(target, MARKS) ? ((target as Markable)[MARKS] ?? []) : [];
}

export function storeMark(target: object, mark: Mark): void {
  const markable = target as Markable;
  if (!Object.prototype.hasOwnProperty.call(markable, MARKS)) {
    Object.defineProperty(markable, MARKS, { value: [], enumerable: false, configurable: true, writable: true });
  }
  markable[MARKS]!.push(mark);
}

/** Marks of a class, its own first, then those inherited from base classes (pytest walks the MRO). */
export function classMarks(cls: Function): Mark[] {
  const marks: Mark[] = [];
  for (let c: unknown = cls; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    marks.push(...ownMarks(c));
  }
  return marks;
}

/**
 * Module-level marks: `export const pytestmark = mark.gpu` or `[mark.gpu, mark.slow]`, as pytest's `pytestmark`.
 */
export function moduleMarks(pytestmark: unknown): Mark[] {
  const list = Array.isArray(pytestmark) ? pytestmark : pytestmark === undefined ? [] : [pytestmark];
  return list.map((m) => (isMarkDecorator(m) ? m.mark : (m as Mark))).filter((m): m is Mark => !!m && typeof m.name === 'string');
}

export interface MarkDecorator {
  /** `@mark.gpu` on a class. */
  <C extends abstract new (...args: any) => any>(target: C, context: ClassDecoratorContext<C>): void;
  /** `@mark.gpu` on a method. */
  <F extends (this: any, ...args: any) => any>(target: F, context: ClassMethodDecoratorContext): void;
  /** `mark.slow(fn)`: mark a plain function (a module-level test) and return it. */
  <F extends (...args: any) => any>(target: F): F;
  /** Give arguments: `mark.timeout(30)`, `mark.custom('x', { key: 1 })` (a trailing plain object is the kwargs). */
  (...args: unknown[]): MarkDecorator;
  readonly mark: Mark;
}

const DECORATOR: unique symbol = Symbol.for('pytest-ts.mark-decorator') as never;

export function isMarkDecorator(value: unknown): value is MarkDecorator {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[DECORATOR] === true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function makeDecorator(mark: Mark): MarkDecorator {
  const decorator = function (this: unknown, ...args: unknown[]): unknown {
    if (args.length === 2 && isDecoratorContext(args[1])) {
      storeMark(args[0] as object, mark);
      return undefined; // keep the class or method as it is
    }
    // pytest's rule: a single callable argument and no kwargs means "decorate this".
    if (args.length === 1 && typeof args[0] === 'function' && !isMarkDecorator(args[0])) {
      storeMark(args[0] as object, mark);
      return args[0];
    }
    const kwargs = args.length > 0 && isPlainObject(args[args.length - 1]) ? (args[args.length - 1] as Record<string, unknown>) : undefined;
    const positional = kwargs ? args.slice(0, -1) : args;
    return makeDecorator({ name: mark.name, args: [...mark.args, ...positional], kwargs: { ...mark.kwargs, ...kwargs } });
  } as MarkDecorator;
  Object.defineProperty(decorator, 'mark', { value: mark });
  Object.defineProperty(decorator, DECORATOR, { value: true });
  return decorator;
}

export interface MarkGenerator {
  readonly [name: string]: MarkDecorator;
  readonly skip: MarkDecorator;
  readonly skipif: MarkDecorator;
  readonly xfail: MarkDecorator;
  readonly parametrize: MarkDecorator;
  readonly timeout: MarkDecorator;
  readonly usefixtures: MarkDecorator;
}

/** `mark.<anything>` is a marker; a few names have meaning to the runner (skip, skipif, xfail, parametrize, timeout, usefixtures). */
export const mark: MarkGenerator = new Proxy({} as MarkGenerator, {
  get(_target, name) {
    if (typeof name !== 'string') return undefined;
    return makeDecorator({ name, args: [], kwargs: {} });
  },
});
