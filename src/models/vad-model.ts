// The stand-in voice-activity detector: a small energy-based model (Silero is about 2.2 MB) that decides, for the last
// 0.512 s of audio, whether it holds at least `minSpeechSeconds` of voiced frames (Silero's min_speech 250 ms).
//
// The daemon calls it in two steps, as the original did, because each step has its own CUDA-error path (SPEC A.4):
//   2a `stageInput(window)`: the window moves to the device, an allocation there; an OOM surfaces here.
//   2b `detect(window)`: the model runs through `device.run`; an injected CUDA error surfaces here.
// On the CPU neither step touches the device.
import * as tf from '@tensorflow/tfjs';
import type { Device, DeviceAllocation } from '../device/types.js';
import { DeviceModel, MB } from './device-model.js';

export const VAD_WEIGHT_MB = 2.2;

export interface VadModelOptions {
  name?: string;
  weightMB?: number;
  /** The window the daemon passes: the last 8,192 samples (0.512 s). */
  windowSamples?: number;
  frameSamples?: number;
  /** Frames at or above this RMS are voiced. */
  energyThreshold?: number;
  /** Speech when the voiced frames in the window add up to at least this. */
  minSpeechSeconds?: number;
  /** Decision threshold on the probability (Silero's 0.5). */
  threshold?: number;
  sampleRate?: number;
}

export interface VadDecision {
  speech: boolean;
  probability: number;
  voicedFrames: number;
}

/** A window staged on the device for one detection; release it afterwards. */
export interface StagedInput {
  release(): void;
}

const NOTHING_STAGED: StagedInput = { release() {} };

export class VadModel extends DeviceModel {
  readonly windowSamples: number;
  readonly frameSamples: number;
  readonly energyThreshold: number;
  readonly threshold: number;
  readonly minSpeechFrames: number;
  detections = 0;

  constructor(owner: Device, options: VadModelOptions = {}) {
    const windowSamples = options.windowSamples ?? 8192;
    const frameSamples = options.frameSamples ?? 512;
    const weightMB = options.weightMB ?? VAD_WEIGHT_MB;
    if (!Number.isInteger(frameSamples) || frameSamples < 1) throw new RangeError(`VadModel option frameSamples must be a positive integer, got ${frameSamples}`);
    if (!Number.isInteger(windowSamples) || windowSamples < frameSamples || windowSamples % frameSamples !== 0) {
      throw new RangeError(`VadModel option windowSamples must be a whole number of frames (${frameSamples} samples each), got ${windowSamples}`);
    }
    if (!(weightMB * MB >= frameSamples * 4)) throw new RangeError(`VadModel option weightMB (${weightMB}) is too small for ${frameSamples} float32 weights`);
    super(options.name ?? 'vad_model', owner, Math.round(weightMB * MB));
    this.windowSamples = windowSamples;
    this.frameSamples = frameSamples;
    this.energyThreshold = options.energyThreshold ?? 0.01;
    this.threshold = options.threshold ?? 0.5;
    const sampleRate = options.sampleRate ?? 16000;
    const minSpeechSeconds = options.minSpeechSeconds ?? 0.25;
    this.minSpeechFrames = Math.max(1, Math.ceil((minSpeechSeconds * sampleRate) / frameSamples));
    if (this.minSpeechFrames > windowSamples / frameSamples) {
      throw new RangeError(`VadModel option minSpeechSeconds (${minSpeechSeconds}) is longer than the window (${windowSamples / sampleRate} s)`);
    }
  }

  /** Path 2a: moves the window to the model's device. On the device this allocates (an OOM surfaces here). */
  stageInput(window: Float32Array): StagedInput {
    this.ensureUsable('stageInput');
    if (this.device !== 'cuda') return NOTHING_STAGED;
    const allocation: DeviceAllocation = this.owner.allocate(Math.min(window.length, this.windowSamples) * 4, `${this.name}.input`);
    return { release: () => this.owner.free(allocation) };
  }

  /** Path 2b: the speech decision for the last `windowSamples` of `window` (zero-padded in front when shorter). */
  detect(window: Float32Array): VadDecision {
    this.ensureUsable('detect');
    const run = () => this.score(window);
    const [voicedFrames, probability] = this.device === 'cuda' ? this.owner.run(run, `${this.name}.detect`) : run();
    this.detections++;
    return { speech: probability >= this.threshold, probability, voicedFrames };
  }

  private score(window: Float32Array): [number, number] {
    const n = this.frameSamples;
    const frames = this.windowSamples / n;
    const input = new Float32Array(this.windowSamples);
    const tail = window.subarray(Math.max(0, window.length - this.windowSamples));
    input.set(tail, this.windowSamples - tail.length);
    const result = tf.tidy(() => {
      const x = tf.tensor2d(input, [frames, n]);
      const kernel = tf.mul(tf.reshape(this.weightRow(tf, n), [n, 1]), 1 / n);
      const rms = tf.sqrt(tf.matMul(tf.square(x), kernel));
      const voiced = tf.sum(tf.cast(tf.greaterEqual(rms, this.energyThreshold), 'float32'));
      // Half a frame of margin either side of the minimum keeps the decision away from the sigmoid's midpoint.
      const probability = tf.sigmoid(tf.mul(tf.sub(voiced, this.minSpeechFrames - 0.5), 2));
      return tf.stack([voiced, probability]);
    });
    try {
      const [voiced, probability] = result.dataSync();
      return [voiced!, probability!];
    } finally {
      result.dispose();
    }
  }
}
