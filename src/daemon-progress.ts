// The transcription state of one recording (SPEC A.4 "Transcription state"): the text so far, what was typed, where
// batch processing stands. The text is cumulative, and what gets typed is decided by the original's dedupe rule
// (`textToInject`) applied to the cumulative text, so a resumed recording never types again what was already typed.
import { textToInject, validateTranscriptionState, type TranscriptionState } from './checkpoint.js';

export class TranscriptionProgress {
  partialText = '';
  lastInjected = '';
  chunkIndex = 0;
  totalChunks = 0;
  /** Seconds of the recording covered by the text so far. */
  lastTimestamp = 0;
  confidence = 0;
  /** VAD blocks processed in this recording. */
  streamingFrames = 0;

  constructor(readonly sampleRate: number) {}

  reset(): void {
    this.partialText = '';
    this.lastInjected = '';
    this.chunkIndex = 0;
    this.totalChunks = 0;
    this.lastTimestamp = 0;
    this.confidence = 0;
    this.streamingFrames = 0;
  }

  /** Adds text to the transcript; returns what must be typed for it (empty when nothing new). */
  append(text: string, confidence: number): string {
    this.confidence = clampConfidence(confidence);
    if (text === '') return '';
    this.partialText = this.partialText === '' ? text : `${this.partialText} ${text}`;
    return textToInject(this.lastInjected, this.partialText);
  }

  /** Call once the text returned by `append` was typed. */
  markInjected(): void {
    this.lastInjected = this.partialText;
  }

  snapshot(): TranscriptionState {
    return {
      partialText: this.partialText,
      chunkIndex: this.chunkIndex,
      totalChunks: this.totalChunks,
      lastTimestamp: this.lastTimestamp,
      confidence: this.confidence,
      lastInjected: this.lastInjected,
      streamingFrames: this.streamingFrames,
      sampleRate: this.sampleRate,
    };
  }

  /** Takes over a saved state (validated first; the message names the field at fault). */
  restore(state: TranscriptionState, source?: string): void {
    const valid = validateTranscriptionState(state, source);
    this.partialText = valid.partialText;
    this.lastInjected = valid.lastInjected;
    this.chunkIndex = valid.chunkIndex;
    this.totalChunks = valid.totalChunks;
    this.lastTimestamp = valid.lastTimestamp;
    this.confidence = valid.confidence;
    this.streamingFrames = valid.streamingFrames;
  }
}

function clampConfidence(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
