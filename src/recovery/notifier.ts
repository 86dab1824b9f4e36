// User notification (SPEC A.5 item 2). The original printed to the console; here listeners subscribe, so the daemon
// can surface events and tests can assert on exactly what was announced.
import { systemClock, type Clock } from '../clock.js';
import type { Device } from '../device/types.js';
import { createLogger, type Logger } from '../log.js';

// PRESERVATION_FAILED is the daemon's: an emergency save could not be written (the audio is kept for a retry).
export type NotificationType = 'OOM' | 'CPU_FALLBACK' | 'RECOVERED' | 'EMERGENCY_SHUTDOWN' | 'MEMORY_PRESSURE' | 'PRESERVATION_FAILED';

export interface RecoveryNotification {
  type: NotificationType;
  /** Epoch seconds. */
  timestamp: number;
  /** The device's allocated MB at the moment of the event. */
  gpuMemoryMb: number;
  recoveryAttempted: boolean;
  message: string;
  /** The pressure level, for MEMORY_PRESSURE events. */
  level?: string;
}

export type NotificationListener = (event: RecoveryNotification) => void;

export interface NotifierOptions {
  device?: Device | null;
  clock?: Clock;
  logger?: Logger;
  /** How many past events `history()` keeps. */
  historySize?: number;
}

export class RecoveryNotifier {
  private readonly listeners = new Set<NotificationListener>();
  private readonly past: RecoveryNotification[] = [];
  private readonly countsByType = new Map<NotificationType, number>();
  private readonly device: Device | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly historySize: number;

  constructor(options: NotifierOptions = {}) {
    this.device = options.device ?? null;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger('recovery.notifier');
    this.historySize = options.historySize ?? 1000;
  }

  /** Returns the matching unsubscribe function. */
  subscribe(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.unsubscribe(listener);
  }

  unsubscribe(listener: NotificationListener): boolean {
    return this.listeners.delete(listener);
  }

  /** Stamps and delivers an event. A listener that throws is logged and does not stop the others. */
  notify(type: NotificationType, details: { message: string; recoveryAttempted?: boolean; level?: string }): RecoveryNotification {
    const event: RecoveryNotification = {
      type,
      timestamp: this.clock.now() / 1000,
      gpuMemoryMb: this.currentAllocatedMb(),
      recoveryAttempted: details.recoveryAttempted ?? false,
      message: details.message,
      ...(details.level === undefined ? {} : { level: details.level }),
    };
    this.past.push(event);
    if (this.past.length > this.historySize) this.past.shift();
    this.countsByType.set(type, (this.countsByType.get(type) ?? 0) + 1);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`notification listener failed on ${type}`, error);
      }
    }
    return event;
  }

  /** How many events of `type` were sent so far (all of them, not only those still in history). */
  count(type: NotificationType): number {
    return this.countsByType.get(type) ?? 0;
  }

  history(): readonly RecoveryNotification[] {
    return [...this.past];
  }

  private currentAllocatedMb(): number {
    try {
      return this.device && this.device.isAvailable() ? this.device.allocatedBytes() / 1e6 : 0;
    } catch {
      return 0; // a broken device must not stop the announcement of its own failure
    }
  }
}
