// Fan-out of session events to the reporters, in registration order. Async reporters are awaited so that their
// output keeps the order of events; sync ones cost no promise.

import type { Reporter } from './reports.js';

type EventName = Exclude<keyof Reporter, never>;

export class ReporterBus {
  private readonly reporters: Reporter[] = [];

  add(reporter: Reporter): void {
    this.reporters.push(reporter);
  }

  async emit<E extends EventName>(event: E, payload: Parameters<NonNullable<Reporter[E]>>[0]): Promise<void> {
    for (const reporter of this.reporters) {
      const handler = reporter[event] as ((p: unknown) => void | Promise<void>) | undefined;
      if (!handler) continue;
      const result = handler.call(reporter, payload);
      if (result && typeof (result as Promise<void>).then === 'function') await result;
    }
  }
}
