// skip(), fail() and xfail(): called inside a test or fixture, they end it with that outcome (pytest.skip etc.).
// They throw, like pytest's outcome exceptions; the run loop recognises them by a registered symbol so that a copy of
// this module loaded by another loader is recognised too.

const OUTCOME: unique symbol = Symbol.for('pytest-ts.outcome') as never;

export type OutcomeKind = 'skip' | 'fail' | 'xfail';

export class OutcomeException extends Error {
  readonly [OUTCOME]: OutcomeKind;
  constructor(
    readonly kind: OutcomeKind,
    readonly reason: string,
  ) {
    super(reason);
    this[OUTCOME] = kind;
  }
}

export class Skipped extends OutcomeException {
  override name = 'Skipped';
  constructor(reason: string) {
    super('skip', reason);
  }
}

export class Failed extends OutcomeException {
  override name = 'Failed';
  constructor(reason: string) {
    super('fail', reason);
  }
}

export class XFailed extends OutcomeException {
  override name = 'XFailed';
  constructor(reason: string) {
    super('xfail', reason);
  }
}

export function outcomeKind(error: unknown): OutcomeKind | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as Record<symbol, OutcomeKind | undefined>)[OUTCOME];
}

/** End the current test or fixture as skipped. */
export function skip(reason = ''): never {
  throw new Skipped(reason);
}

/** End the current test as failed with this message (no traceback of the call site is needed to read it). */
export function fail(message = ''): never {
  throw new Failed(message);
}

/** End the current test as an expected failure. */
export function xfail(reason = ''): never {
  throw new XFailed(reason);
}
