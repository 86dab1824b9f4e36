// A background loop that never overlaps itself: the next run is scheduled only after the current one finished.
// `stop()` clears the timer and waits (bounded) for a run in flight, so nothing outlives a stopped monitor.
import type { Clock, Timer } from './clock.js';

export interface MonitorLoopOptions {
  /** One iteration. A rejection is reported to `onError` and the loop carries on. */
  task: () => Promise<unknown>;
  intervalMs: number;
  clock: Clock;
  onError: (error: unknown) => void;
  stopTimeoutMs?: number;
}

export class MonitorLoop {
  private timer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private active = false;
  /** Bumped by every start, so an iteration left over from before a stop/start cannot revive a second chain. */
  private generation = 0;

  constructor(private readonly options: MonitorLoopOptions) {}

  get running(): boolean {
    return this.active;
  }

  /** An iteration is executing (possibly after `halt`). */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Runs the first iteration now. False if it was already running. */
  start(): boolean {
    if (this.active) return false;
    this.active = true;
    this.generation++;
    this.iterate();
    return true;
  }

  /** No further iterations are scheduled; an iteration in flight is not awaited (for use from inside one). */
  halt(): void {
    this.active = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Halts, then waits for an iteration in flight unless `wait` is false (a caller inside that iteration would
   * deadlock). Resolves `true` if the wait gave up after the stop timeout.
   */
  async stop(wait = true): Promise<boolean> {
    this.halt();
    const pending = this.inFlight;
    if (!pending || !wait) return false;
    let limit: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      pending.then(() => false),
      new Promise<boolean>((resolve) => {
        // A real timer on purpose: with a fake clock nobody would advance it, and this is only a safety net.
        limit = setTimeout(() => resolve(true), this.options.stopTimeoutMs ?? 5000);
      }),
    ]);
    clearTimeout(limit);
    return timedOut;
  }

  private iterate(): void {
    this.timer = undefined;
    const generation = this.generation;
    const run = Promise.resolve()
      .then(() => this.options.task())
      .then(
        () => undefined,
        (error: unknown) => this.options.onError(error),
      );
    const tracked: Promise<void> = run.finally(() => {
      if (this.inFlight === tracked) this.inFlight = undefined;
      if (this.active && generation === this.generation) this.timer = this.options.clock.setTimer(() => this.iterate(), this.options.intervalMs);
    });
    this.inFlight = tracked;
  }
}
