// Recovery metrics (SPEC A.5 item 7, C.6): success rate overall and per strategy, in order, with the running rate.
import { systemClock, type Clock } from '../clock.js';

export const RECOVERY_TARGET_RATE = 0.9;
export const RECOVERY_MINIMUM_RATE = 0.75;

export interface RecoveryRecord {
  strategy: string;
  success: boolean;
  /** Epoch seconds. */
  timestamp: number;
  /** The overall success rate including this record. */
  runningRate: number;
}

export interface StrategyStats {
  attempts: number;
  successes: number;
  rate: number;
}

export class RecoveryMetrics {
  private readonly records: RecoveryRecord[] = [];
  private successCount = 0;
  private oomEventCount = 0;
  private nestedOomCount = 0;

  constructor(private readonly clock: Clock = systemClock) {}

  /** Records one recovery attempt. `timestamp` is epoch seconds (the clock's now by default). */
  record(strategy: string, success: boolean, timestamp: number = this.clock.now() / 1000): RecoveryRecord {
    if (success) this.successCount++;
    const entry = { strategy, success, timestamp, runningRate: this.successCount / (this.records.length + 1) };
    this.records.push(entry);
    return entry;
  }

  /** Counts an OOM event (one per ladder run; nested ones separately). */
  recordOomEvent(nested = false): void {
    if (nested) this.nestedOomCount++;
    else this.oomEventCount++;
  }

  get totalAttempts(): number {
    return this.records.length;
  }
  get successes(): number {
    return this.successCount;
  }
  get failures(): number {
    return this.records.length - this.successCount;
  }
  /** successes / attempts; 0 before any attempt. */
  get successRate(): number {
    return this.records.length === 0 ? 0 : this.successCount / this.records.length;
  }
  get oomEvents(): number {
    return this.oomEventCount;
  }
  get nestedOomEvents(): number {
    return this.nestedOomCount;
  }

  byStrategy(): Record<string, StrategyStats> {
    const stats: Record<string, StrategyStats> = {};
    for (const { strategy, success } of this.records) {
      const entry = (stats[strategy] ??= { attempts: 0, successes: 0, rate: 0 });
      entry.attempts++;
      if (success) entry.successes++;
      entry.rate = entry.successes / entry.attempts;
    }
    return stats;
  }

  history(): readonly RecoveryRecord[] {
    return this.records.map((record) => ({ ...record }));
  }

  runningRates(): number[] {
    return this.records.map((record) => record.runningRate);
  }

  /** Strictly above 90%. */
  meetsTarget(): boolean {
    return this.successRate > RECOVERY_TARGET_RATE;
  }

  /** Strictly above 75%: exactly 0.75 fails. */
  meetsMinimum(): boolean {
    return this.successRate > RECOVERY_MINIMUM_RATE;
  }
}
