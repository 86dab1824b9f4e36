// The stand-in speech-to-text model (SPEC B.0): real weight tensors of a configurable size held through the Device, a
// per-call inference buffer on the model's device, and real tfjs math over the audio (frame energies through the
// resident weights) that yields deterministic text. It also owns the NeMo-style streaming context buffer, which lives
// on the device with the model and is what `reduceContext()` shrinks under pressure.
import * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/types.js';
import { DeviceModel, MB, type Placement } from './device-model.js';
import type { ResidentBuffer } from './resident-buffer.js';
import { DEFAULT_TRANSCRIPT_PARAMETERS, joinWords, wordsFromFrameLevels, type TranscribedWord, type TranscriptParameters } from './transcript.js';

export interface SttPreset {
  weightMB: number;
  inferenceMB: number;
  contextSeconds: number;
  contextMBPerSecond: number;
}

/**
 * Sizes measured on the original (SPEC E, D.13/14): Canary-1B-Flash at 3,600 MB in FP32 and 1,792.6 MB in FP16, about
 * 8.5 MB of inference buffer per chunk, and a 20 s streaming context at about 400 MB. TEST is small enough for unit tests.
 */
export const STT_PRESETS = {
  FP32: { weightMB: 3600, inferenceMB: 8.5, contextSeconds: 20, contextMBPerSecond: 20 },
  FP16: { weightMB: 1792.6, inferenceMB: 8.5, contextSeconds: 20, contextMBPerSecond: 20 },
  TEST: { weightMB: 4, inferenceMB: 0.5, contextSeconds: 4, contextMBPerSecond: 0.25 },
} as const satisfies Record<string, SttPreset>;

export type SttPresetName = keyof typeof STT_PRESETS;

export interface SttModelOptions {
  name?: string;
  preset?: SttPresetName;
  weightMB?: number;
  inferenceMB?: number;
  contextSeconds?: number;
  contextMBPerSecond?: number;
  /** `reduceContext` never goes below this. */
  minContextSeconds?: number;
  /** Samples per analysis frame (64 ms at 16 kHz). */
  frameSamples?: number;
  sampleRate?: number;
  transcript?: Partial<TranscriptParameters>;
}

export interface TranscriptionResult {
  text: string;
  words: TranscribedWord[];
  /** 0 to 1: how clearly each word's level was recognised (0 when there are no words). */
  confidence: number;
  samples: number;
  /** Where the math ran. */
  device: Placement;
}

export interface ContextChange {
  beforeSeconds: number;
  afterSeconds: number;
  freedBytes: number;
}

export class SttModel extends DeviceModel {
  /** Bytes of the transient buffer each transcription allocates; a test may raise it to force an OOM. */
  inferenceBytes: number;
  readonly frameSamples: number;
  readonly sampleRate: number;
  readonly contextBytesPerSecond: number;
  readonly minContextSeconds: number;
  readonly initialContextSeconds: number;
  private readonly context: ResidentBuffer;
  private contextSecondsNow: number;
  private readonly transcriptParameters: TranscriptParameters;
  transcriptions = 0;

  constructor(owner: Device, options: SttModelOptions = {}) {
    const preset: SttPreset = STT_PRESETS[options.preset ?? 'FP16'];
    const weightMB = options.weightMB ?? preset.weightMB;
    const frameSamples = options.frameSamples ?? 1024;
    checkPositive('weightMB', weightMB);
    if (!Number.isInteger(frameSamples) || frameSamples < 1) throw new RangeError(`SttModel option frameSamples must be a positive integer, got ${frameSamples}`);
    if (weightMB * MB < frameSamples * 4) {
      throw new RangeError(`SttModel option weightMB (${weightMB}) is too small: the math reads ${frameSamples} float32 weights (${(frameSamples * 4) / MB} MB)`);
    }
    super(options.name ?? 'stt_model', owner, Math.round(weightMB * MB));
    this.frameSamples = frameSamples;
    this.sampleRate = options.sampleRate ?? 16000;
    this.inferenceBytes = Math.round((options.inferenceMB ?? preset.inferenceMB) * MB);
    this.contextBytesPerSecond = (options.contextMBPerSecond ?? preset.contextMBPerSecond) * MB;
    this.initialContextSeconds = options.contextSeconds ?? preset.contextSeconds;
    this.minContextSeconds = options.minContextSeconds ?? Math.min(1, this.initialContextSeconds);
    checkNonNegative('inferenceMB', this.inferenceBytes);
    checkNonNegative('contextMBPerSecond', this.contextBytesPerSecond);
    checkNonNegative('contextSeconds', this.initialContextSeconds);
    if (!(this.minContextSeconds >= 0 && this.minContextSeconds <= this.initialContextSeconds)) {
      throw new RangeError(`SttModel option minContextSeconds must be between 0 and contextSeconds (${this.initialContextSeconds}), got ${this.minContextSeconds}`);
    }
    this.contextSecondsNow = this.initialContextSeconds;
    this.context = this.addResidentBuffer('context', this.contextBytes(this.contextSecondsNow));
    this.transcriptParameters = { ...DEFAULT_TRANSCRIPT_PARAMETERS, ...options.transcript };
  }

  get contextSeconds(): number {
    return this.contextSecondsNow;
  }

  get contextBufferBytes(): number {
    return this.context.bytes;
  }

  /** Halves the streaming context (not below the minimum), releasing its memory where it lives. */
  reduceContext(): ContextChange {
    return this.setContextSeconds(Math.max(this.minContextSeconds, this.contextSecondsNow / 2));
  }

  /** Sets the context length; growing it on the device may throw an OOM and then changes nothing. */
  setContextSeconds(seconds: number): ContextChange {
    checkNonNegative('contextSeconds', seconds);
    const beforeSeconds = this.contextSecondsNow;
    const beforeBytes = this.context.bytes;
    this.context.resize(this.contextBytes(seconds));
    this.contextSecondsNow = seconds;
    return { beforeSeconds, afterSeconds: seconds, freedBytes: beforeBytes - this.context.bytes };
  }

  /**
   * Transcribes mono float32 audio. On the device the inference buffer counts against the budget and the math runs
   * through `device.run`, so injected OOMs and CUDA errors surface here. Declared as possibly asynchronous so that a
   * test can stand in a slow model by overriding it; this implementation answers synchronously.
   */
  transcribe(audio: Float32Array): TranscriptionResult | Promise<TranscriptionResult> {
    this.ensureUsable('transcribe');
    const device = this.device;
    const frameRms = this.withScratch(this.inferenceBytes, 'transcribe', () => this.frameLevels(audio));
    this.transcriptions++;
    const { words, confidence } = wordsFromFrameLevels(frameRms, this.frameSamples, audio.length, this.transcriptParameters);
    return { text: joinWords(words), words, confidence, samples: audio.length, device };
  }

  /** RMS of each frame, computed as (x² · w) / n with w the first n resident weights. */
  private frameLevels(audio: Float32Array): Float32Array {
    const n = this.frameSamples;
    const frames = Math.ceil(audio.length / n);
    if (frames === 0) return new Float32Array(0);
    const padded = new Float32Array(frames * n);
    padded.set(audio);
    const rms = tf.tidy(() => {
      const x = tf.tensor2d(padded, [frames, n]);
      const kernel = tf.mul(tf.reshape(this.weightRow(tf, n), [n, 1]), 1 / n);
      return tf.sqrt(tf.matMul(tf.square(x), kernel));
    });
    try {
      return (rms.dataSync() as Float32Array).slice(); // a copy: the backend owns the original
    } finally {
      rms.dispose();
    }
  }

  private contextBytes(seconds: number): number {
    return Math.round(seconds * this.contextBytesPerSecond);
  }
}

function checkPositive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`SttModel option ${name} must be a positive number, got ${value}`);
}

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`SttModel option ${name} must be a non-negative number, got ${value}`);
}
