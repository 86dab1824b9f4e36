// Saving what the daemon holds (SPEC A.5 item 5): every held sample, in order, with the live transcription state,
// through the EmergencyPreserver. A save that cannot be written is announced (PRESERVATION_FAILED), logged, and kept in
// memory by the preserver; every later save, and stop(), tries the pending ones again first.
import type { TranscriptionState } from './checkpoint.js';
import type { DaemonEvents } from './daemon-events.js';
import type { Logger } from './log.js';
import type { EmergencyPreserver, PreserveResult } from './preservation.js';
import { errorMessage } from './recovery/classifier.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export interface SaverContext {
  preserver: EmergencyPreserver;
  logger: Logger;
  events: DaemonEvents;
  sampleRate: number;
  notifier: () => RecoveryNotifier | undefined;
}

export class HeldAudioSaver {
  readonly counters = { saves: 0, failedSaves: 0 };
  lastResult: PreserveResult | null = null;

  constructor(private readonly context: SaverContext) {}

  /** Writes `audio` (oldest part first) and `checkpoint`. Never throws: a failure is reported and kept for a retry. */
  save(reason: string, audio: Float32Array[], checkpoint: TranscriptionState): PreserveResult | null {
    const { preserver, logger, events } = this.context;
    this.retryPending();
    try {
      const result = preserver.preserve({ audio, sampleRate: this.context.sampleRate, checkpoint });
      this.counters.saves++;
      this.lastResult = result;
      logger.warning(`Preserved ${result.samples} samples and the transcription state (${reason}): ${result.audioPath}`);
      events.emit({ type: 'preserved', reason, result });
      return result;
    } catch (error) {
      this.counters.failedSaves++;
      logger.error(`Emergency save failed (${reason}); the audio stays in memory for a retry`, error);
      this.context.notifier()?.notify('PRESERVATION_FAILED', { message: `emergency save failed (${reason}): ${errorMessage(error)}`, recoveryAttempted: true });
      events.emit({ type: 'preservation-failed', reason, error: errorMessage(error) });
      return null;
    }
  }

  /** Writes saves that failed earlier; stops at the first that still fails (the preserver keeps it). */
  retryPending(): void {
    const { preserver, logger } = this.context;
    if (preserver.pendingCount() === 0) return;
    try {
      for (const result of preserver.retry()) {
        this.counters.saves++;
        this.lastResult = result;
        logger.info(`A pending emergency save was written: ${result.audioPath}`);
      }
    } catch (error) {
      logger.error(`${preserver.pendingCount()} emergency save(s) still cannot be written`, error);
    }
  }
}
