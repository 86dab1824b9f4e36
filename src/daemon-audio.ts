// The daemon's audio on its way from the capture to a segment, held so that no sample is ever lost or repeated:
//
//   capture ──write──▶ ring (AdaptiveAudioBuffer, 30 s) ──takeBlock──▶ streaming buffer ──cut──▶ segment
//                        └─── spill (overflow, or shrinking under pressure) ───────▲
//
// The ring and the streaming buffer never hold the same sample, and together, in order, they are every captured
// sample not yet cut into a segment. Samples spilled from the ring skip the VAD; they count as speech, so a segment
// is never cut inside them.
import { AdaptiveAudioBuffer } from './audio-buffer.js';
import { SilenceSegmenter, type SegmenterOptions, type SegmenterState } from './daemon-segmenter.js';

export interface CaptureBuffersOptions extends SegmenterOptions {
  sampleRate: number;
  ringSeconds: number;
  ringFloorSeconds: number;
  /** The VAD window: how much recent audio `vadWindow()` returns. */
  windowSamples: number;
  /** Double the ring back towards its maximum on entering NORMAL. */
  growOnNormal?: boolean;
}

export class CaptureBuffers {
  readonly ring: AdaptiveAudioBuffer;
  readonly segmenter: SilenceSegmenter;
  private streaming: Float32Array[] = [];
  private streamingSamples = 0;
  private readonly history: Float32Array;
  /** Samples that reached the streaming buffer by spilling from the ring (not judged by the VAD). */
  spilledSamples = 0;

  constructor(options: CaptureBuffersOptions) {
    this.ring = new AdaptiveAudioBuffer({
      spill: (samples) => this.acceptSpill(samples),
      sampleRate: options.sampleRate,
      capacitySeconds: options.ringSeconds,
      maxSeconds: options.ringSeconds,
      floorSeconds: options.ringFloorSeconds,
      growOnNormal: options.growOnNormal ?? true,
    });
    this.segmenter = new SilenceSegmenter(options);
    this.history = new Float32Array(options.windowSamples);
  }

  /** Captured samples go into the ring (which spills its oldest into the streaming buffer when full). */
  capture(samples: Float32Array): void {
    this.ring.write(samples);
  }

  /**
   * Moves the next block from the ring to the streaming buffer and the VAD history, and returns it. Without `flush`
   * only whole blocks move; with it, whatever is left does.
   */
  takeBlock(blockSamples: number, flush = false): Float32Array | undefined {
    const available = this.ring.length;
    const count = available >= blockSamples ? blockSamples : flush ? available : 0;
    if (count === 0) return undefined;
    const block = this.ring.read(count);
    this.appendStreaming(block);
    this.remember(block);
    return block;
  }

  /** The last `windowSamples` samples that reached the streaming buffer (zeros before the first). */
  vadWindow(): Float32Array {
    return this.history.slice();
  }

  /** Records the VAD's verdict on a block; true when the streaming buffer should be cut now. */
  judge(blockSamples: number, isSpeech: boolean): boolean {
    return this.segmenter.push(blockSamples, isSpeech);
  }

  segmenterState(): SegmenterState {
    return this.segmenter.state();
  }

  /** Takes the whole streaming buffer as one segment and starts a new one. */
  cutSegment(): Float32Array {
    const segment = concat(this.streaming, this.streamingSamples);
    this.streaming = [];
    this.streamingSamples = 0;
    this.segmenter.reset();
    return segment;
  }

  /** Moves everything left in the ring through, then cuts: the end of a recording. */
  takeRemainder(): { audio: Float32Array; speechSeen: boolean } {
    if (this.ring.length > 0) {
      const rest = this.ring.read();
      this.appendStreaming(rest);
      this.remember(rest);
      this.segmenter.pushUnjudged(rest.length);
    }
    const speechSeen = this.segmenter.state().speechSeen;
    return { audio: this.cutSegment(), speechSeen };
  }

  /** Copies of everything held, oldest first: the streaming buffer, then the ring. */
  held(): Float32Array[] {
    return [...this.streaming.map((part) => part.slice()), this.ring.peek()];
  }

  get streamingBufferSamples(): number {
    return this.streamingSamples;
  }

  get heldSamples(): number {
    return this.streamingSamples + this.ring.length;
  }

  /** Forgets everything held (the start of a recording, or after the audio was saved elsewhere). */
  reset(): void {
    this.ring.clear();
    this.streaming = [];
    this.streamingSamples = 0;
    this.history.fill(0);
    this.segmenter.reset();
  }

  private acceptSpill(samples: Float32Array): void {
    this.appendStreaming(samples);
    this.remember(samples);
    this.segmenter.pushUnjudged(samples.length);
    this.spilledSamples += samples.length;
  }

  private appendStreaming(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.streaming.push(samples);
    this.streamingSamples += samples.length;
  }

  private remember(samples: Float32Array): void {
    const window = this.history.length;
    if (samples.length >= window) {
      this.history.set(samples.subarray(samples.length - window));
      return;
    }
    this.history.copyWithin(0, samples.length);
    this.history.set(samples, window - samples.length);
  }
}

function concat(parts: readonly Float32Array[], total: number): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
