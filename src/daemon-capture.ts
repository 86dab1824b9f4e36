// The capture path (SPEC A.4 "Audio buffers and segmentation"): fed audio goes into the ring, then block by block
// through the VAD (paths 2a and 2b) and the silence segmenter; cut segments go to the transcription queue. Feeds are
// processed strictly in order, one after the other.
import type { CaptureBuffers } from './daemon-audio.js';
import type { DeviceErrorPolicy } from './daemon-device-errors.js';
import type { TranscriptionProgress } from './daemon-progress.js';
import type { TranscriptionWork } from './daemon-processing.js';
import type { Logger } from './log.js';
import type { VadModel } from './models/vad-model.js';
import { errorMessage, isCudaError } from './recovery/classifier.js';

export interface CaptureContext {
  buffers: CaptureBuffers;
  progress: TranscriptionProgress;
  logger: Logger;
  mode: 'streaming' | 'batch';
  blockSamples: number;
  vad: () => VadModel;
  policy: () => DeviceErrorPolicy;
  work: () => TranscriptionWork;
  vadEnabled: () => boolean;
  /** Recording, with the capture open: audio is taken. */
  accepting: () => boolean;
  /** False once an emergency closed the capture (its buffers were saved and cleared). */
  open: () => boolean;
}

export class CapturePath {
  readonly counters = { capturedSamples: 0, ignoredSamples: 0 };
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly context: CaptureContext) {}

  /** Takes `samples` if recording (a copy: a capture callback reuses its array). Resolves once they were judged. */
  feed(samples: Float32Array): Promise<void> {
    if (!this.context.accepting()) {
      this.counters.ignoredSamples += samples.length;
      return Promise.resolve();
    }
    this.counters.capturedSamples += samples.length;
    const copy = samples.slice();
    const task = this.chain.then(() => this.ingest(copy));
    this.chain = task.catch((error) => this.context.logger.error('The audio pipeline failed', error));
    return task;
  }

  /** Resolves once every feed so far has been processed. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Moves whole blocks (with `flush`, the rest too) from the ring through the VAD and the segmenter. */
  async pump(flush = false): Promise<void> {
    const { buffers, blockSamples, mode } = this.context;
    if (mode === 'batch') {
      while (buffers.takeBlock(blockSamples, flush)); // the streaming buffer is the recording; no VAD in batch mode
      return;
    }
    for (let block = buffers.takeBlock(blockSamples, flush); block; block = buffers.takeBlock(blockSamples, flush)) {
      this.context.progress.streamingFrames++;
      const speech = await this.isSpeech(buffers.vadWindow());
      if (!this.context.open()) return; // an emergency saved and cleared the buffers meanwhile
      if (buffers.judge(block.length, speech)) this.context.work().enqueue(buffers.cutSegment());
    }
  }

  private async ingest(samples: Float32Array): Promise<void> {
    const { buffers, blockSamples } = this.context;
    const ring = buffers.ring;
    for (let offset = 0; offset < samples.length; ) {
      if (!this.context.open()) {
        this.counters.ignoredSamples += samples.length - offset;
        return;
      }
      // Never more than the ring has room for, so capture alone never spills; the VAD then drains it.
      const room = Math.max(blockSamples, ring.capacitySamples - ring.length);
      const piece = samples.subarray(offset, offset + room);
      buffers.capture(piece);
      offset += piece.length;
      await this.pump();
    }
  }

  /** The VAD with paths 2a and 2b; any trouble counts the block as speech (never cut on a guess). */
  private async isSpeech(window: Float32Array): Promise<boolean> {
    if (!this.context.vadEnabled()) return true;
    const vad = this.context.vad();
    const policy = this.context.policy();
    let staged;
    if (vad.device === 'cuda') {
      try {
        staged = vad.stageInput(window);
      } catch (error) {
        const keep = await policy.judge(error, '2a');
        if (keep) return true; // the window stayed on the host while the model is on the device: cannot run
        await policy.fallBack(vad, `handleCudaError returned false after: ${errorMessage(error)}`);
      }
    }
    try {
      return vad.detect(window).speech;
    } catch (error) {
      if (isCudaError(error)) {
        const keep = await policy.judge(error, '2b');
        if (!keep) await policy.fallBack(vad, `handleCudaError returned false after: ${errorMessage(error)}`);
      } else {
        this.context.logger.warning(`VAD failed (${errorMessage(error)}); treating the block as speech`);
      }
      return true;
    } finally {
      staged?.release();
    }
  }
}
