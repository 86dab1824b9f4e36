// Time, injectable. Library code never calls Date.now(), performance.now() or setTimeout directly, so tests can
// drive monitors and timestamps with a FakeClock instead of waiting on the wall clock.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock time in milliseconds since the epoch (timestamps in reports). */
  now(): number;
  /** A monotonic time in milliseconds (durations and latencies; never goes backwards). */
  monotonic(): number;
  /**
   * Runs `callback` once after `delayMs`. By default the timer does not keep the process alive (a monitor is a
   * background helper, like the original's daemon thread); `keepAlive: true` makes it an ordinary timer.
   */
  setTimer(callback: () => void, delayMs: number, keepAlive?: boolean): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(callback, delayMs, keepAlive = false) {
    const handle = setTimeout(callback, delayMs);
    if (!keepAlive) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Resolves after every queued promise continuation (and I/O callbacks that are already due) has run. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface PendingTimer {
  dueAt: number;
  callback: () => void;
}

/** A clock that only moves when told to. Timers fire, in due order, during `advance`. */
export class FakeClock implements Clock {
  private currentMs: number;
  private readonly timers = new Set<PendingTimer>();

  constructor(startEpochMs = 1_700_000_000_000) {
    this.currentMs = startEpochMs;
  }

  now(): number {
    return this.currentMs;
  }

  monotonic(): number {
    return this.currentMs;
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const timer: PendingTimer = { dueAt: this.currentMs + Math.max(0, delayMs), callback };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (including ones they schedule). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be a non-negative number, got ${ms}`);
    const target = this.currentMs + ms;
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next);
      this.currentMs = next.dueAt;
      next.callback();
    }
    this.currentMs = target;
  }

  /**
   * Like `advance`, but lets promise continuations run after each timer, so that async work a timer starts (a
   * monitor check) can finish and schedule its next timer within the same call.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advanceAsync: ms must be a non-negative number, got ${ms}`);
    const target = this.currentMs + ms;
    await flushMicrotasks();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.timers.delete(next);
      this.currentMs = next.dueAt;
      next.callback();
      await flushMicrotasks();
    }
    this.currentMs = target;
  }

  /** Moves time forward without firing anything: for timestamps only. */
  set(epochMs: number): void {
    this.currentMs = epochMs;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.timers) {
      if (timer.dueAt > limit) continue;
      // Strictly earlier only: a Set iterates in insertion order, so equal due times fire in the order they were set.
      if (!best || timer.dueAt < best.dueAt) best = timer;
    }
    return best;
  }
}
