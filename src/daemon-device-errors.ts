// The daemon's CUDA-error paths (SPEC A.4 table), with the FIX that a `false` from handleCudaError is acted on
// everywhere: the model the error came from moves to the CPU.
//
//   2a  staging the VAD window on the device   any error: judge; false → VAD to CPU, else the block counts as speech
//   2b  running the VAD                         CUDA/OOM: judge; false → VAD to CPU (the original ignored it); speech
//   3   transcribing a segment (and batch)      CUDA/OOM: judge; false → STT to CPU; retry (once by default);
//                                               success → resetErrorCount; a non-CUDA error is rethrown
// Load-time paths 1a/1b never call handleCudaError (as in the original) and live in the daemon's start().
//
// "Judging" is the MemoryManager's handleCudaError, or, for an OOM in 'ladder' mode, a run of the recovery ladder
// (which calls handleCudaError itself, so the 3-error rule holds either way).
import type { Logger } from './log.js';
import type { MemoryManager } from './memory-manager.js';
import type { DeviceModel } from './models/device-model.js';
import type { SttModel, TranscriptionResult } from './models/stt-model.js';
import { errorMessage, isCudaError, isOom } from './recovery/classifier.js';
import type { RecoveryLadder } from './recovery/ladder.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export type ErrorPath = '2a' | '2b' | '3' | 'batch';

const MAX_VERDICTS_KEPT = 1000;

export interface DeviceErrorPolicyOptions {
  memoryManager: MemoryManager;
  notifier: RecoveryNotifier;
  /** Set in 'ladder' mode: OOMs go through the ladder instead of handleCudaError alone. */
  ladder: RecoveryLadder | undefined;
  logger: Logger;
  /** Transcription attempts after the first. */
  retries: number;
  /** Told about each move to the CPU (the daemon turns it into an event). */
  onFallback?: (model: DeviceModel, reason: string) => void;
}

export class DeviceErrorPolicy {
  /** CUDA errors handled per path. */
  readonly counts: Record<ErrorPath, number> = { '2a': 0, '2b': 0, '3': 0, batch: 0 };
  /** The latest 1,000 verdicts of handleCudaError (or the ladder), in order: true = keep using the GPU. */
  readonly verdicts: boolean[] = [];

  constructor(private readonly options: DeviceErrorPolicyOptions) {}

  /**
   * Announces an OOM (type OOM, recoveryAttempted false, the allocated MB of this moment), then counts the error and
   * returns whether the GPU may still be used.
   */
  async judge(error: unknown, path: ErrorPath): Promise<boolean> {
    this.counts[path]++;
    const { memoryManager, ladder, notifier, logger } = this.options;
    const oom = isOom(error);
    let keep: boolean;
    if (oom && ladder) {
      const outcome = await ladder.recover(error); // the ladder announces the OOM itself
      keep = outcome.nested ? true : (outcome.keepGpu ?? true);
    } else {
      if (oom) notifier.notify('OOM', { message: errorMessage(error), recoveryAttempted: false });
      keep = await memoryManager.handleCudaError(error);
    }
    this.verdicts.push(keep);
    if (this.verdicts.length > MAX_VERDICTS_KEPT) this.verdicts.shift(); // an error storm runs for hours
    logger.warning(`CUDA error on path ${path} (${keep ? 'GPU kept' : 'falling back to CPU'}): ${errorMessage(error)}`);
    return keep;
  }

  /** Moves `model` to the CPU in place if it is still on the device, and says so. */
  async fallBack(model: DeviceModel, reason: string): Promise<boolean> {
    if (model.device !== 'cuda') return false;
    await model.toCpu();
    this.options.notifier.notify('CPU_FALLBACK', { message: `${model.name} moved to CPU: ${reason}`, recoveryAttempted: true });
    this.options.logger.warning(`${model.name} moved to CPU: ${reason}`);
    this.options.onFallback?.(model, reason);
    return true;
  }

  /**
   * Path 3: transcribes, handling CUDA errors as above. `onOom` runs at each OOM, before it is handled (the daemon
   * saves what it holds there). Rethrows the last error once the retries are used up, or any non-CUDA error at once.
   */
  async transcribe(stt: SttModel, audio: Float32Array, path: '3' | 'batch', onOom?: (error: unknown) => void): Promise<TranscriptionResult> {
    let oomSeen = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await stt.transcribe(audio);
        this.options.memoryManager.resetErrorCount();
        if (oomSeen && !this.options.ladder) {
          this.options.notifier.notify('RECOVERED', { message: `transcription succeeded on ${result.device} after an OOM`, recoveryAttempted: true });
        }
        return result;
      } catch (error) {
        if (!isCudaError(error)) throw error;
        if (isOom(error)) {
          oomSeen = true;
          onOom?.(error);
        }
        const keep = await this.judge(error, path);
        if (!keep) await this.fallBack(stt, `handleCudaError returned false after: ${errorMessage(error)}`);
        if (attempt >= this.options.retries) throw error;
      }
    }
  }
}
