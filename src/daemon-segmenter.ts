// Silence-based segmentation (SPEC A.4 "Audio buffers and segmentation"), as pure bookkeeping over sample counts.
// The original added 0.064 s per silent block in floating point; counting samples instead makes the boundaries exact:
// a segment is cut once speech has been seen, the trailing silence is at least `minSilenceSeconds` (2.0 s) and the
// buffer holds at least `minSegmentSeconds` (1.0 s). Speech resets the silence count.

export interface SegmenterOptions {
  sampleRate?: number;
  minSilenceSeconds?: number;
  minSegmentSeconds?: number;
}

export interface SegmenterState {
  bufferedSamples: number;
  silenceSamples: number;
  speechSeen: boolean;
}

export class SilenceSegmenter {
  readonly minSilenceSamples: number;
  readonly minSegmentSamples: number;
  private buffered = 0;
  private silent = 0;
  private speech = false;

  constructor(options: SegmenterOptions = {}) {
    const sampleRate = options.sampleRate ?? 16000;
    const minSilence = options.minSilenceSeconds ?? 2.0;
    const minSegment = options.minSegmentSeconds ?? 1.0;
    if (!(minSilence > 0) || !Number.isFinite(minSilence)) throw new RangeError(`minSilenceSeconds must be a positive number, got ${minSilence}`);
    if (!(minSegment >= 0) || !Number.isFinite(minSegment)) throw new RangeError(`minSegmentSeconds must be a non-negative number, got ${minSegment}`);
    // Rounded so that 2.0 s at 16 kHz is exactly 32,000 samples, not 31,999.999...
    this.minSilenceSamples = Math.round(minSilence * sampleRate);
    this.minSegmentSamples = Math.round(minSegment * sampleRate);
  }

  state(): SegmenterState {
    return { bufferedSamples: this.buffered, silenceSamples: this.silent, speechSeen: this.speech };
  }

  /** Accounts one block that the VAD judged; true when the buffer should be cut into a segment now. */
  push(samples: number, isSpeech: boolean): boolean {
    this.buffered += samples;
    if (isSpeech) {
      this.speech = true;
      this.silent = 0;
    } else {
      this.silent += samples;
    }
    return this.speech && this.silent >= this.minSilenceSamples && this.buffered >= this.minSegmentSamples;
  }

  /** Audio that reached the buffer without a VAD decision (spilled from the ring): counted as speech, never cut inside. */
  pushUnjudged(samples: number): void {
    this.push(samples, true);
  }

  /** After a cut, or at the start of a recording. */
  reset(): void {
    this.buffered = 0;
    this.silent = 0;
    this.speech = false;
  }
}
