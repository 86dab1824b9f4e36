// What the daemon reports as it works, for tests, the suite and the stress harness to follow without polling.
import type { Logger } from './log.js';
import type { Placement } from './models/device-model.js';
import type { PreserveResult } from './preservation.js';

export type DaemonState = 'idle' | 'recording' | 'processing' | 'error';

export type DaemonEvent =
  | { type: 'state'; from: DaemonState; to: DaemonState }
  | { type: 'segment-queued'; segment: number; samples: number; queueLength: number }
  | { type: 'segment-done'; segment: number; text: string; injected: string; device: Placement }
  | { type: 'segment-failed'; segment: number; error: string }
  | { type: 'chunk-start'; index: number; total: number }
  | { type: 'chunk-done'; index: number; total: number; text: string }
  | { type: 'fallback'; model: string; reason: string }
  | { type: 'preserved'; reason: string; result: PreserveResult }
  | { type: 'preservation-failed'; reason: string; error: string };

export type DaemonListener = (event: DaemonEvent) => void;

export class DaemonEvents {
  private readonly listeners = new Set<DaemonListener>();

  constructor(private readonly logger: Logger) {}

  /** Returns the unsubscribe function. Listeners run synchronously, so one can inject a fault at an exact point. */
  subscribe(listener: DaemonListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DaemonEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error(`a daemon event listener failed on '${event.type}'`, error);
      }
    }
  }
}
