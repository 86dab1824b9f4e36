// Emergency preservation: before the daemon gives up, save the audio it holds and the transcription state, so that the
// next start can carry on.
//
// A save is a pair: `<name>.wav` (IEEE float32, bit-exact) written first, then `<name>.json` (the checkpoint, which
// names the WAV, its sample count and its SHA-256). Both go through writeFileDurable, so each file is complete or
// absent. The JSON is the commit record: a pair counts only when its WAV exists and matches the checksum. A crash
// between the two writes leaves a complete WAV with no checkpoint ("orphan audio"); it is reported by scan() and kept,
// because it is durable audio we must not delete by guesswork.
//
// A save that fails (ENOSPC, EACCES, ...) throws a PreservationError and keeps the encoded data in memory; retry()
// writes it later, byte for byte the same.

import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  type AudioReference,
  type TranscriptionCheckpoint,
  type TranscriptionState,
  parseCheckpointFile,
  serializeCheckpointFile,
  validateTranscriptionState,
} from './checkpoint.js';
import { type FsLayer, SimulatedCrash, isTempFileName, readFileNoFollow, tempFileOwnerPid, writeFileDurable } from './durable-fs.js';
import { decodeWav, encodeFloat32Wav } from './wav.js';

export interface EmergencyPreserverOptions {
  /** Default: $XDG_STATE_HOME/swictation/emergency, else ~/.local/state/swictation/emergency. */
  dir?: string;
  /** The fs layer for writes (tests pass a FaultyFs). */
  fs?: FsLayer;
  /** Wall clock in epoch milliseconds (Date satisfies it); used for createdAt and file names. */
  clock?: { now(): number };
}

export interface PreserveRequest {
  /** The audio to keep, in order (for example the capture ring, then the streaming buffer). Mono. */
  audio: Float32Array | readonly Float32Array[];
  sampleRate: number;
  checkpoint: TranscriptionState;
}

export interface PreserveResult {
  audioPath: string;
  checkpointPath: string;
  samples: number;
  /** Size of the WAV file (44-byte header + 4 bytes per sample). */
  bytes: number;
}

export interface RecoveredSave {
  audio: Float32Array;
  sampleRate: number;
  checkpoint: TranscriptionCheckpoint;
  paths: { audio: string; checkpoint: string };
}

export interface ScanResult {
  /** Complete pairs, newest first. */
  complete: { checkpointPath: string; audioPath: string; createdAt: string }[];
  /** Checkpoints that cannot be trusted, with the reason. */
  incomplete: { path: string; reason: string }[];
  /** WAV files that no readable checkpoint names (a crash between the two writes). */
  orphanAudio: string[];
  /** Temp files left by interrupted writes. */
  tempFiles: string[];
}

/** A save failed; the data is still held in memory (see pendingCount() and retry()). */
export class PreservationError extends Error {
  override name = 'PreservationError';
}

interface PendingSave {
  baseName: string;
  wav: Uint8Array;
  checkpointJson: string;
  samples: number;
}

/** The daemon's temp dir, whose `*.wav` files are deleted on every stop: emergency files must never live there. */
export function daemonTempDir(): string {
  return join(tmpdir(), 'swictation');
}

export function defaultEmergencyDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const stateHome = env.XDG_STATE_HOME;
  // The XDG spec says a relative value is invalid and must be ignored.
  const base = stateHome && isAbsolute(stateHome) ? stateHome : join(home, '.local', 'state');
  return join(base, 'swictation', 'emergency');
}

let saveSequence = 0;

export class EmergencyPreserver {
  readonly dir: string;
  private readonly fs: FsLayer | undefined;
  private readonly clock: { now(): number };
  private readonly pending: PendingSave[] = [];

  constructor(options: EmergencyPreserverOptions = {}) {
    this.dir = resolve(options.dir ?? defaultEmergencyDir());
    const tempDir = resolve(daemonTempDir());
    const fromTempDir = relative(tempDir, this.dir);
    if (fromTempDir === '' || (!fromTempDir.startsWith('..') && !isAbsolute(fromTempDir))) {
      throw new RangeError(`the emergency directory ${this.dir} is inside the daemon's temp dir ${tempDir}, whose *.wav files are deleted on every stop; choose another`);
    }
    this.fs = options.fs;
    this.clock = options.clock ?? Date;
  }

  /**
   * Saves the audio and the checkpoint durably and returns where. On failure throws PreservationError and keeps the
   * save pending in memory. Validation errors (a bad checkpoint or sample rate) throw before anything is kept.
   */
  preserve(request: PreserveRequest): PreserveResult {
    const state = validateTranscriptionState(request.checkpoint, 'the checkpoint to preserve');
    const samples = concatenate(request.audio);
    const wav = encodeFloat32Wav(samples, request.sampleRate, 1);
    const createdAt = new Date(this.clock.now());
    saveSequence += 1;
    const baseName = `emergency-${fileStamp(createdAt)}-${process.pid}-${String(saveSequence).padStart(4, '0')}`;
    const audio: AudioReference = {
      file: `${baseName}.wav`,
      samples: samples.length,
      sampleRate: request.sampleRate,
      channels: 1,
      bytes: wav.length,
      sha256: sha256Hex(wav),
    };
    const save: PendingSave = { baseName, wav, checkpointJson: serializeCheckpointFile(state, audio, createdAt), samples: samples.length };
    this.pending.push(save);
    return this.attempt(save);
  }

  /** Saves that failed and are still held in memory. */
  pendingCount(): number {
    return this.pending.length;
  }

  /** The audio of each pending save, oldest first (decoded copies). */
  pendingAudio(): Float32Array[] {
    return this.pending.map((save) => decodeWav(save.wav).samples);
  }

  /** Tries every pending save again, oldest first; stops at (and throws) the first failure, keeping it and the rest. */
  retry(): PreserveResult[] {
    const results: PreserveResult[] = [];
    while (this.pending.length > 0) results.push(this.attempt(this.pending[0]!));
    return results;
  }

  /** Looks at the directory without changing it. */
  scan(dir: string = this.dir): ScanResult {
    const result: ScanResult = { complete: [], incomplete: [], orphanAudio: [], tempFiles: [] };
    const referenced = new Set<string>();
    const candidates = this.readCandidates(dir, result, referenced);
    for (const candidate of candidates) {
      const problem = verifyAudio(candidate.audioPath, candidate.audio);
      if (problem) result.incomplete.push({ path: candidate.checkpointPath, reason: problem });
      else result.complete.push({ checkpointPath: candidate.checkpointPath, audioPath: candidate.audioPath, createdAt: candidate.checkpoint.createdAt });
    }
    for (const name of listDir(dir)) {
      if (name.endsWith('.wav') && !isTempFileName(name) && !referenced.has(name)) result.orphanAudio.push(join(dir, name));
    }
    return result;
  }

  /** The newest complete save in `dir`, or null; changes nothing on disk. */
  loadLatest(dir: string = this.dir): RecoveredSave | null {
    for (const candidate of this.readCandidates(dir)) {
      if (verifyAudio(candidate.audioPath, candidate.audio)) continue;
      try {
        const decoded = decodeWav(readFileNoFollow(candidate.audioPath), { source: candidate.audioPath });
        if (decoded.channels !== 1 || decoded.samples.length !== candidate.audio.samples) continue;
        return {
          audio: decoded.samples,
          sampleRate: decoded.sampleRate,
          checkpoint: candidate.checkpoint,
          paths: { audio: candidate.audioPath, checkpoint: candidate.checkpointPath },
        };
      } catch {
        // Replaced between the check and the read, or a checkpoint naming a file that is not our WAV: not a usable pair.
      }
    }
    return null;
  }

  /** On the next start: removes temp files left by interrupted writes, then loads the newest complete save. */
  recover(dir: string = this.dir): RecoveredSave | null {
    for (const name of listDir(dir)) {
      if (!isTempFileName(name)) continue;
      const owner = tempFileOwnerPid(name);
      // A temp file of another live process may be a write in progress; ours cannot be (writes are synchronous).
      if (owner !== undefined && owner !== process.pid && isProcessAlive(owner)) continue;
      try {
        nodeFs.unlinkSync(join(dir, name));
      } catch {
        // Already gone, or not ours to remove: either way it is ignored by loading.
      }
    }
    return this.loadLatest(dir);
  }

  private attempt(save: PendingSave): PreserveResult {
    const audioPath = join(this.dir, `${save.baseName}.wav`);
    const checkpointPath = join(this.dir, `${save.baseName}.json`);
    try {
      writeFileDurable(audioPath, save.wav, { fs: this.fs });
      writeFileDurable(checkpointPath, new TextEncoder().encode(save.checkpointJson), { fs: this.fs });
    } catch (error) {
      if (error instanceof SimulatedCrash) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      const held = this.pending.length === 1 ? '1 save is' : `${this.pending.length} saves are`;
      throw new PreservationError(
        `emergency save of ${save.samples} samples failed: ${reason}; the audio is still held in memory (${held} pending), call retry() once the problem is fixed`,
        { cause: error },
      );
    }
    this.pending.splice(this.pending.indexOf(save), 1);
    return { audioPath, checkpointPath, samples: save.samples, bytes: save.wav.length };
  }

  /** Parses every checkpoint in `dir`, newest first; unreadable ones go to `result.incomplete`. */
  private readCandidates(dir: string, result?: ScanResult, referenced?: Set<string>) {
    const candidates: { checkpointPath: string; audioPath: string; checkpoint: TranscriptionCheckpoint; audio: AudioReference }[] = [];
    for (const name of listDir(dir)) {
      if (isTempFileName(name)) {
        result?.tempFiles.push(join(dir, name));
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const checkpointPath = join(dir, name);
      try {
        const { checkpoint, audio } = parseCheckpointFile(readFileNoFollow(checkpointPath).toString('utf8'), checkpointPath);
        referenced?.add(audio.file);
        candidates.push({ checkpointPath, audioPath: join(dir, audio.file), checkpoint, audio });
      } catch (error) {
        result?.incomplete.push({ path: checkpointPath, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    // Newest first by the recorded time; the name (which carries a sequence number) breaks ties.
    return candidates.sort(
      (a, b) => Date.parse(b.checkpoint.createdAt) - Date.parse(a.checkpoint.createdAt) || (a.checkpointPath < b.checkpointPath ? 1 : -1),
    );
  }
}

function verifyAudio(path: string, audio: AudioReference): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileNoFollow(path);
  } catch (error) {
    return `its audio file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (bytes.length !== audio.bytes) return `its audio file ${path} has ${bytes.length} bytes, the checkpoint says ${audio.bytes}`;
  if (sha256Hex(bytes) !== audio.sha256) return `its audio file ${path} does not match the checkpoint's SHA-256`;
  return undefined;
}

function concatenate(audio: Float32Array | readonly Float32Array[]): Float32Array {
  if (audio instanceof Float32Array) return audio;
  if (!Array.isArray(audio) || !audio.every((part) => part instanceof Float32Array)) {
    throw new TypeError('preserve() needs audio as a Float32Array or an array of Float32Arrays');
  }
  const out = new Float32Array(audio.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of audio) {
    out.set(part, offset); // same element type: a byte copy, so NaN payloads survive
    offset += part.length;
  }
  return out;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** 2025-11-28T01:56:00.123Z -> 20251128T015600123Z: sortable and free of characters some file systems dislike. */
function fileStamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

function listDir(dir: string): string[] {
  try {
    return nodeFs.readdirSync(dir).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
