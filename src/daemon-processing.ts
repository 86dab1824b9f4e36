// Transcription work: the segment queue with its single worker (streaming mode), and the chunk runner (batch mode and
// resume). The original handed each segment to a background thread and *dropped* a segment that arrived while the
// previous one was still transcribing; here segments queue, in order, and nothing is dropped (SPEC A.4, FIX).
//
// Each segment goes through a temp WAV in the temp dir (IEEE float, so nothing is clipped), is read back and
// transcribed, and the file is deleted once the text is in. Every held sample (the segment in flight, the queue, the
// batch recording) stays reachable through `held()`, so an emergency save can always take all of it.
import { openSync, closeSync, writeSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { readFileNoFollow } from './durable-fs.js';
import { ownedWords, planChunks, type AudioChunk, type ChunkingOptions } from './daemon-batch.js';
import type { DeviceErrorPolicy } from './daemon-device-errors.js';
import type { DaemonEvents } from './daemon-events.js';
import type { TranscriptionProgress } from './daemon-progress.js';
import type { Injector } from './injector.js';
import type { Logger } from './log.js';
import type { MemoryManager } from './memory-manager.js';
import { joinWords } from './models/transcript.js';
import type { SttModel } from './models/stt-model.js';
import type { PerformanceMonitor } from './performance-monitor.js';
import { errorMessage } from './recovery/classifier.js';
import { decodeWav, encodeFloat32Wav } from './wav.js';

export const SEGMENT_LATENCY = 'segment_transcription';

export interface ProcessingContext {
  stt: SttModel;
  policy: DeviceErrorPolicy;
  progress: TranscriptionProgress;
  injector: Injector;
  performance: PerformanceMonitor;
  memoryManager: MemoryManager;
  events: DaemonEvents;
  logger: Logger;
  sampleRate: number;
  tempDir: string;
  chunking: ChunkingOptions;
  /** Save everything held at each OOM while processing (a failed item is saved regardless). */
  preserveOnOom: boolean;
  /** Saves everything held (audio and checkpoint); never throws. */
  preserve(reason: string): void;
}

interface Segment {
  index: number;
  audio: Float32Array;
}

export interface ProcessingCounters {
  segmentsQueued: number;
  segmentsDone: number;
  segmentsFailed: number;
  chunksDone: number;
}

export class TranscriptionWork {
  readonly counters: ProcessingCounters = { segmentsQueued: 0, segmentsDone: 0, segmentsFailed: 0, chunksDone: 0 };
  lastError: string | null = null;
  private readonly queue: Segment[] = [];
  private inFlight: Segment | undefined;
  private batchAudio: Float32Array | undefined;
  private worker: Promise<void> | undefined;
  /** Bumped by `abandon()`: work that started before must not touch the transcript afterwards. */
  private generation = 0;
  /** The work item (segment number, or chunk key) whose audio was already saved because of an OOM. */
  private savedFor: string | undefined;
  private batches = 0;

  constructor(private readonly context: ProcessingContext) {}

  get queueLength(): number {
    return this.queue.length;
  }

  /** Copies of the audio this holds, oldest first: the segment in flight, the queue, or the batch recording. */
  held(): Float32Array[] {
    const parts = this.batchAudio ? [this.batchAudio] : [];
    if (this.inFlight) parts.push(this.inFlight.audio);
    for (const segment of this.queue) parts.push(segment.audio);
    return parts.map((part) => part.slice());
  }

  heldSamples(): number {
    const queued = this.queue.reduce((total, segment) => total + segment.audio.length, 0);
    return queued + (this.inFlight?.audio.length ?? 0) + (this.batchAudio?.length ?? 0);
  }

  /** A batch (or a resume) is being transcribed: the progress holds its chunk position. */
  get batchActive(): boolean {
    return this.batchAudio !== undefined;
  }

  enqueue(audio: Float32Array): void {
    const segment = { index: ++this.counters.segmentsQueued, audio };
    this.queue.push(segment);
    this.context.events.emit({ type: 'segment-queued', segment: segment.index, samples: audio.length, queueLength: this.queue.length });
    if (!this.worker) {
      const generation = this.generation;
      this.worker = this.drainQueue(generation).finally(() => {
        if (this.generation === generation) this.worker = undefined;
      });
    }
  }

  /** Resolves once the queue is empty and no segment is in flight. */
  async whenDrained(): Promise<void> {
    while (this.worker) await this.worker;
  }

  /** Drops everything held (after it was saved elsewhere); work in flight finishes without effect. */
  abandon(): void {
    this.generation++;
    this.queue.length = 0;
    this.inFlight = undefined;
    this.batchAudio = undefined;
    this.worker = undefined;
  }

  /**
   * Transcribes `audio` chunk by chunk from `progress.chunkIndex` to the end (batch mode and resume), typing only
   * what `lastInjected` does not already hold. Throws when a chunk fails for good (after saving what is held).
   */
  async runChunks(audio: Float32Array): Promise<number[]> {
    const { progress, events } = this.context;
    const chunks = planChunks(audio.length, this.context.chunking);
    progress.totalChunks = chunks.length;
    const generation = this.generation;
    const batch = ++this.batches;
    const done: number[] = [];
    this.batchAudio = audio;
    try {
      for (let index = progress.chunkIndex; index < chunks.length; index++) {
        if (this.generation !== generation) return done;
        const chunk = chunks[index]!;
        events.emit({ type: 'chunk-start', index, total: chunks.length });
        const text = await this.transcribeChunk(audio, chunk, generation, `batch ${batch} chunk ${index}`);
        if (this.generation !== generation) return done;
        progress.chunkIndex = index + 1;
        progress.lastTimestamp = chunk.ownedEnd / this.context.sampleRate;
        this.counters.chunksDone++;
        done.push(index);
        events.emit({ type: 'chunk-done', index, total: chunks.length, text });
        // The original emptied the cache and collected garbage between chunks.
        this.context.memoryManager.clearCache();
        this.context.memoryManager.collectGarbage();
      }
      return done;
    } finally {
      if (this.generation === generation) this.batchAudio = undefined;
    }
  }

  private async transcribeChunk(audio: Float32Array, chunk: AudioChunk, generation: number, key: string): Promise<string> {
    try {
      const result = await this.context.policy.transcribe(this.context.stt, audio.subarray(chunk.start, chunk.end), 'batch', () =>
        this.saveOnOom(key, `OOM while transcribing batch ${key}`),
      );
      if (this.generation !== generation) return '';
      const text = joinWords(ownedWords(result.words, chunk));
      await this.typeText(text, result.confidence);
      return text;
    } catch (error) {
      this.lastError = `batch ${key}: ${errorMessage(error)}`;
      this.saveOnce(key, `batch ${key} failed: ${errorMessage(error)}`);
      throw error;
    }
  }

  private async drainQueue(generation: number): Promise<void> {
    while (this.generation === generation && this.queue.length > 0) {
      const segment = this.queue[0]!;
      this.inFlight = segment;
      this.queue.shift(); // only now: the segment is never outside both the queue and `inFlight`
      await this.processSegment(segment, generation);
      if (this.generation === generation) this.inFlight = undefined;
    }
  }

  private async processSegment(segment: Segment, generation: number): Promise<void> {
    const { performance, events, logger } = this.context;
    const key = `segment ${segment.index}`;
    performance.startLatencyMeasurement(SEGMENT_LATENCY);
    let wavPath: string | undefined;
    try {
      wavPath = this.writeTempWav(segment);
      const audio = decodeWav(readFileNoFollow(wavPath), { source: wavPath }).samples;
      const result = await this.context.policy.transcribe(this.context.stt, audio, '3', () => this.saveOnOom(key, `OOM while transcribing ${key}`));
      if (this.generation !== generation) return;
      const injected = await this.typeText(result.text, result.confidence);
      this.context.progress.lastTimestamp += segment.audio.length / this.context.sampleRate;
      unlinkSync(wavPath);
      performance.endLatencyMeasurement(SEGMENT_LATENCY);
      this.counters.segmentsDone++;
      events.emit({ type: 'segment-done', segment: segment.index, text: result.text, injected, device: result.device });
    } catch (error) {
      if (this.generation !== generation) return;
      this.counters.segmentsFailed++;
      this.lastError = `${key}: ${errorMessage(error)}`;
      logger.error(`Transcription of ${key} failed; its audio is kept in the emergency directory`, error);
      this.saveOnce(key, `${key} failed: ${errorMessage(error)}`);
      events.emit({ type: 'segment-failed', segment: segment.index, error: errorMessage(error) });
    }
  }

  /** Adds text to the transcript and types what is new. An injector failure is logged, and retyped next time. */
  private async typeText(text: string, confidence: number): Promise<string> {
    const { progress, injector, logger } = this.context;
    const toType = progress.append(text, confidence);
    if (toType === '') return '';
    try {
      await injector.inject(toType);
      progress.markInjected();
      return toType;
    } catch (error) {
      this.lastError = `text injection: ${errorMessage(error)}`;
      logger.error('Text injection failed; the text stays pending and is typed with the next text', error);
      return '';
    }
  }

  private saveOnOom(key: string, reason: string): void {
    if (this.context.preserveOnOom) this.saveOnce(key, reason);
  }

  private saveOnce(key: string, reason: string): void {
    if (this.savedFor === key) return;
    this.savedFor = key;
    this.context.preserve(reason);
  }

  private writeTempWav(segment: Segment): string {
    const path = join(this.context.tempDir, `segment-${process.pid}-${segment.index}.wav`);
    const bytes = encodeFloat32Wav(segment.audio, this.context.sampleRate, 1);
    const { O_CREAT, O_TRUNC, O_WRONLY, O_NOFOLLOW } = fsConstants;
    const fd = openSync(path, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW, 0o600);
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    } finally {
      closeSync(fd);
    }
    return path;
  }
}
