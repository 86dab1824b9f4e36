// Latency measurements with named phases (SPEC A.3 "Latency tracking"), and their statistics with numpy's
// percentiles. Times are milliseconds from the clock's monotonic source.
import type { Clock } from './clock.js';
import { percentile } from './performance-statistics.js';

export class LatencyMeasurement {
  endMs: number | null = null;
  readonly phases: Record<string, number> = {};
  constructor(
    readonly name: string,
    readonly startMs: number,
  ) {}
  /** (end − start) in ms; 0 while unfinished. */
  get totalMs(): number {
    return this.endMs === null ? 0 : this.endMs - this.startMs;
  }
}

export interface LatencyStats {
  count: number;
  mean: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

export class LatencyTracker {
  private readonly finished = new Map<string, LatencyMeasurement[]>();
  private readonly active = new Map<string, LatencyMeasurement>();

  constructor(
    private readonly clock: Clock,
    private readonly historySize: number,
    private readonly onFinished: (measurement: LatencyMeasurement) => void,
  ) {}

  /** Starts the measurement called `name`; a second start with the same name replaces the first. */
  start(name: string): LatencyMeasurement {
    const measurement = new LatencyMeasurement(name, this.clock.monotonic());
    this.active.set(name, measurement);
    return measurement;
  }

  /** Records a phase: the time since the start minus the phases already recorded. Returns it in ms. */
  measurePhase(measurement: LatencyMeasurement, phase: string): number {
    const elapsed = this.clock.monotonic() - measurement.startMs;
    const earlier = Object.values(measurement.phases).reduce((a, b) => a + b, 0);
    measurement.phases[phase] = elapsed - earlier;
    return measurement.phases[phase];
  }

  /** Ends the active measurement called `name` (null if there is none) and files it in that name's history. */
  end(name: string): LatencyMeasurement | null {
    const measurement = this.active.get(name);
    if (!measurement) return null;
    this.active.delete(name);
    measurement.endMs = this.clock.monotonic();
    const list = this.finished.get(name) ?? [];
    list.push(measurement);
    if (list.length > this.historySize) list.splice(0, list.length - this.historySize);
    this.finished.set(name, list);
    this.onFinished(measurement);
    return measurement;
  }

  /** Statistics of `name`'s total times in ms; null before its first finished measurement. */
  stats(name: string): LatencyStats | null {
    const sorted = (this.finished.get(name) ?? []).map((m) => m.totalMs).sort((a, b) => a - b);
    if (sorted.length === 0) return null;
    return {
      count: sorted.length,
      mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
      median: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      min: sorted[0]!,
      max: sorted[sorted.length - 1]!,
    };
  }

  names(): string[] {
    return [...this.finished.keys()];
  }
}
