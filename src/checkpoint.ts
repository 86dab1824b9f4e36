// The transcription checkpoint: what the daemon was doing when it had to stop, and how to carry on without
// injecting any text twice.
//
// On disk a checkpoint is one JSON object: the transcription fields, `version`, `createdAt`, and an `audio` reference
// naming the WAV file saved with it, its sample count and its SHA-256. The checkpoint is written after its WAV, so it
// is the commit record of a save: a reader trusts a pair only when the WAV it names exists and matches the checksum.

/** The live transcription state the daemon hands to the preserver. */
export interface TranscriptionState {
  /** Text transcribed so far in the interrupted recording. */
  partialText: string;
  /** The next chunk to process, counting from 0. */
  chunkIndex: number;
  totalChunks: number;
  /** Timestamp of the last transcribed audio (seconds, as the daemon measures it). */
  lastTimestamp: number;
  /** Confidence of the last transcription, from 0 to 1. */
  confidence: number;
  /** Text already typed into the user's window; never to be emitted again. */
  lastInjected: string;
  /** Streaming frames processed so far. */
  streamingFrames: number;
  sampleRate?: number;
}

export const CHECKPOINT_VERSION = 1;

export interface TranscriptionCheckpoint extends TranscriptionState {
  /** ISO-8601 time of the save. */
  createdAt: string;
  version: number;
}

/** The WAV file a checkpoint belongs to. */
export interface AudioReference {
  /** File name inside the emergency directory (never a path). */
  file: string;
  samples: number;
  sampleRate: number;
  channels: number;
  /** Size of the whole WAV file. */
  bytes: number;
  /** Hex SHA-256 of the whole WAV file. */
  sha256: string;
}

export interface CheckpointFile {
  checkpoint: TranscriptionCheckpoint;
  audio: AudioReference;
}

/** A checkpoint (or transcription state) that is malformed; the message names the source and the field. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

type Fail = (message: string) => never;

function failer(source: string | undefined): Fail {
  return (message) => {
    throw new CheckpointError(source ? `${source}: ${message}` : message);
  };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

function requireObject(value: unknown, what: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be a JSON object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function requireString(record: Record<string, unknown>, field: string, fail: Fail): string {
  const value = record[field];
  if (typeof value !== 'string') fail(`checkpoint field "${field}" must be a string, got ${describe(value)}`);
  return value as string;
}

function requireCount(record: Record<string, unknown>, field: string, fail: Fail, max = Number.MAX_SAFE_INTEGER): number {
  const value = record[field];
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a whole number >= 0' : `a whole number from 0 to ${max}`;
    fail(`checkpoint field "${field}" must be ${range}, got ${describe(value)}`);
  }
  return value as number;
}

function requireNumber(record: Record<string, unknown>, field: string, fail: Fail, range?: { min: number; max: number }): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value) || (range && !(value >= range.min && value <= range.max))) {
    const expected = range ? `a number from ${range.min} to ${range.max}` : 'a finite number';
    fail(`checkpoint field "${field}" must be ${expected}, got ${describe(value)}`);
  }
  return value as number;
}

/** Checks a transcription state (from the daemon or from disk) and returns a clean copy of its known fields. */
export function validateTranscriptionState(value: unknown, source?: string): TranscriptionState {
  const fail = failer(source);
  const record = requireObject(value, 'a transcription state', fail);
  const totalChunks = requireCount(record, 'totalChunks', fail);
  const state: TranscriptionState = {
    partialText: requireString(record, 'partialText', fail),
    chunkIndex: requireCount(record, 'chunkIndex', fail, totalChunks),
    totalChunks,
    lastTimestamp: requireNumber(record, 'lastTimestamp', fail),
    confidence: requireNumber(record, 'confidence', fail, { min: 0, max: 1 }),
    lastInjected: requireString(record, 'lastInjected', fail),
    streamingFrames: requireCount(record, 'streamingFrames', fail),
  };
  if (record.sampleRate !== undefined) {
    state.sampleRate = requireCount(record, 'sampleRate', fail);
    if (state.sampleRate === 0) fail('checkpoint field "sampleRate" must be above 0, got 0');
  }
  return state;
}

/** Serialises a checkpoint and its audio reference as the on-disk JSON. */
export function serializeCheckpointFile(state: TranscriptionState, audio: AudioReference, createdAt: Date): string {
  const checkpoint: TranscriptionCheckpoint = {
    version: CHECKPOINT_VERSION,
    createdAt: createdAt.toISOString(),
    ...validateTranscriptionState(state),
  };
  return `${JSON.stringify({ ...checkpoint, audio }, null, 2)}\n`;
}

/** Parses and validates the on-disk JSON; `source` (a path) prefixes every error message. */
export function parseCheckpointFile(text: string, source?: string): CheckpointFile {
  const fail = failer(source);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON (${(error as Error).message})`);
  }
  const record = requireObject(parsed, 'a checkpoint', fail);
  const version = record.version;
  if (!Number.isSafeInteger(version) || (version as number) < 1) fail(`checkpoint field "version" must be a whole number >= 1, got ${describe(version)}`);
  if ((version as number) > CHECKPOINT_VERSION) {
    fail(`checkpoint version ${version} was written by a newer release; this one reads version ${CHECKPOINT_VERSION}`);
  }
  const createdAt = requireString(record, 'createdAt', fail);
  if (Number.isNaN(Date.parse(createdAt))) fail(`checkpoint field "createdAt" must be an ISO-8601 time, got ${describe(createdAt)}`);
  const state = validateTranscriptionState(record, source);
  const checkpoint: TranscriptionCheckpoint = { version: version as number, createdAt, ...state };
  return { checkpoint, audio: parseAudioReference(record.audio, fail) };
}

function parseAudioReference(value: unknown, fail: Fail): AudioReference {
  const record = requireObject(value, 'checkpoint field "audio"', fail);
  const file = record.file;
  // A bare name only: a checkpoint must never make the reader open something outside the emergency directory.
  if (typeof file !== 'string' || file === '' || file === '.' || file === '..' || /[/\\\0]/.test(file)) {
    fail(`checkpoint field "audio.file" must be a bare file name, got ${describe(file)}`);
  }
  const count = (field: string): number => requireCount(record, field, (message) => fail(message.replace(`"${field}"`, `"audio.${field}"`)));
  const reference: AudioReference = {
    file: file as string,
    samples: count('samples'),
    sampleRate: count('sampleRate'),
    channels: count('channels'),
    bytes: count('bytes'),
    sha256: '',
  };
  const sha256 = record.sha256;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) fail(`checkpoint field "audio.sha256" must be 64 lowercase hex digits, got ${describe(sha256)}`);
  reference.sha256 = sha256 as string;
  if (reference.sampleRate === 0 || reference.channels === 0) fail('checkpoint fields "audio.sampleRate" and "audio.channels" must be above 0');
  return reference;
}

/** Where to carry on after a checkpoint. */
export interface ResumePlan {
  /** The first chunk to process (the checkpoint's chunkIndex). */
  startChunk: number;
  /** One past the last chunk to process (the checkpoint's totalChunks). */
  endChunkExclusive: number;
  /** Every chunk index to process, in order: startChunk .. endChunkExclusive - 1. */
  chunkIndices: number[];
  /** Text that must not be injected again. */
  alreadyInjected: string;
}

export function planResume(checkpoint: TranscriptionState): ResumePlan {
  const { chunkIndex, totalChunks, lastInjected } = validateTranscriptionState(checkpoint);
  const chunkIndices = Array.from({ length: totalChunks - chunkIndex }, (_, offset) => chunkIndex + offset);
  return { startChunk: chunkIndex, endChunkExclusive: totalChunks, chunkIndices, alreadyInjected: lastInjected };
}

/**
 * The original daemon's dedupe rule: if the new text extends what was already injected, inject only the new suffix;
 * otherwise (a revision) inject the whole new text.
 */
export function textToInject(lastInjected: string, newText: string): string {
  return newText.startsWith(lastInjected) ? newText.slice(lastInjected.length) : newText;
}
