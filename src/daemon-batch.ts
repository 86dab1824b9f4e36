// Batch chunking (SPEC A.4 "Defaults"): a finished recording longer than one chunk is transcribed in 10 s chunks that
// overlap by 1 s (stride 9 s). Chunk indices count from 0; a checkpoint's `chunkIndex` is the next chunk to do.
//
// The overlap means a word near a boundary is heard by two chunks. Each instant is therefore *owned* by exactly one
// chunk, the boundary being the middle of the overlap; a chunk keeps only the words that start in what it owns. Every
// owned word starts at least half an overlap before its chunk's end, so the chunk hears enough of it to recognise it.
import type { TranscribedWord } from './models/transcript.js';

export interface ChunkingOptions {
  sampleRate?: number;
  chunkSeconds?: number;
  overlapSeconds?: number;
}

export interface AudioChunk {
  index: number;
  /** First and one-past-last sample of the recording that this chunk transcribes. */
  start: number;
  end: number;
  /** The samples whose words this chunk reports: [ownedStart, ownedEnd). */
  ownedStart: number;
  ownedEnd: number;
}

export interface ChunkGeometry {
  chunkSamples: number;
  overlapSamples: number;
  strideSamples: number;
}

export function chunkGeometry(options: ChunkingOptions = {}): ChunkGeometry {
  const sampleRate = options.sampleRate ?? 16000;
  const chunkSeconds = options.chunkSeconds ?? 10;
  const overlapSeconds = options.overlapSeconds ?? 1;
  if (!(chunkSeconds > 0) || !Number.isFinite(chunkSeconds)) throw new RangeError(`chunkSeconds must be a positive number, got ${chunkSeconds}`);
  if (!(overlapSeconds >= 0 && overlapSeconds < chunkSeconds)) {
    throw new RangeError(`overlapSeconds must be at least 0 and shorter than chunkSeconds (${chunkSeconds}), got ${overlapSeconds}`);
  }
  const chunkSamples = Math.round(chunkSeconds * sampleRate);
  const overlapSamples = Math.round(overlapSeconds * sampleRate);
  return { chunkSamples, overlapSamples, strideSamples: chunkSamples - overlapSamples };
}

/** How many chunks a recording of `totalSamples` needs: 0 for nothing, 1 up to one chunk's length. */
export function chunkCount(totalSamples: number, options: ChunkingOptions = {}): number {
  const { chunkSamples, strideSamples } = chunkGeometry(options);
  if (totalSamples <= 0) return 0;
  if (totalSamples <= chunkSamples) return 1;
  return Math.ceil((totalSamples - chunkSamples) / strideSamples) + 1;
}

export function planChunks(totalSamples: number, options: ChunkingOptions = {}): AudioChunk[] {
  const { chunkSamples, overlapSamples, strideSamples } = chunkGeometry(options);
  const count = chunkCount(totalSamples, options);
  const half = Math.floor(overlapSamples / 2);
  const chunks: AudioChunk[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * strideSamples;
    chunks.push({
      index,
      start,
      end: Math.min(start + chunkSamples, totalSamples),
      ownedStart: index === 0 ? 0 : start + half,
      ownedEnd: index === count - 1 ? totalSamples : start + strideSamples + half,
    });
  }
  return chunks;
}

/** The words of a chunk's transcription that start inside the part of the recording the chunk owns. */
export function ownedWords(words: readonly TranscribedWord[], chunk: AudioChunk): TranscribedWord[] {
  return words.filter((word) => {
    const at = chunk.start + word.startSample;
    return at >= chunk.ownedStart && at < chunk.ownedEnd;
  });
}

/** Throws, with a sentence, when `checkpoint` cannot belong to a recording of `totalSamples` at this chunking. */
export function checkResumable(checkpoint: { totalChunks: number; sampleRate?: number }, totalSamples: number, options: ChunkingOptions = {}): void {
  const sampleRate = options.sampleRate ?? 16000;
  if (checkpoint.sampleRate !== undefined && checkpoint.sampleRate !== sampleRate) {
    throw new RangeError(`resume(): the checkpoint is at ${checkpoint.sampleRate} Hz, the daemon at ${sampleRate} Hz`);
  }
  const chunks = chunkCount(totalSamples, options);
  if (checkpoint.totalChunks !== chunks) {
    throw new RangeError(`resume(): the checkpoint expects ${checkpoint.totalChunks} chunks, but ${totalSamples} samples make ${chunks}`);
  }
}
