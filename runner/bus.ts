// Fan-out of session events to the reporters, in registration order. Async reporters are awaited so that their
// output keeps the order of events; sync ones cost no promise.

import type { Reporter } from './reports.js';

type EventName = Exclude<keyof Reporter, never>;

export class ReporterBus {
  private readonly reporters: Reporter[] = [];

  add(reporter: Reporter): void {
    this.reporters.push(reporter);
  }

  /**
   * Returns undefined when every reporter handled the event synchronously (the common case: 10,000 tests make
   * 50,000 events), and a promise only when one of them is async, so callers await only when they must.
   */
  emit<E extends EventName>(event: E, payload: Parameters<NonNullable<Reporter[E]>>[0]): Promise<void> | undefined {
    for (let i = 0; i < this.reporters.length; i++) {
      const reporter = this.reporters[i]!;
      const handler = reporter[event] as ((p: unknown) => void | Promise<void>) | undefined;
      if (!handler) continue;
      const result = handler.call(reporter, payload);
      if (result && typeof (result as Promise<void>).then === 'function') return this.finishAsync(result as Promise<void>, i + 1, event, payload);
    }
    return undefined;
  }

  private async finishAsync(pending: Promise<void>, from: number, event: EventName, payload: unknown): Promise<void> {
    await pending;
    for (let i = from; i < this.reporters.length; i++) {
      const reporter = this.reporters[i]!;
      const handler = reporter[event] as ((p: unknown) => void | Promise<void>) | undefined;
      if (handler) await handler.call(reporter, payload);
    }
  }

}
