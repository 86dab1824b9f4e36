// A 16 kHz mono float32 ring buffer whose capacity follows memory pressure without ever losing audio.
//
// The original capture ring silently overwrote its oldest samples when full. Here every sample that leaves the
// buffer goes either to a reader (read/clear: "consumed") or to the spill sink (overflow and shrinking: "spilled"),
// so at all times: written == consumed + spilled + held.
//
// Pressure policy (SPEC A.5 item 4): each upward level change into WARNING or above halves the capacity, never below
// the floor; entering NORMAL doubles it back, never above the maximum (unless growOnNormal is false).

import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDirectory, readFileNoFollow } from './durable-fs.js';
import { copyFloat32Words, HOST_IS_LITTLE_ENDIAN } from './wav.js';

export type PressureLevel = 'normal' | 'warning' | 'critical' | 'emergency';

const LEVEL_RANK: Record<PressureLevel, number> = { normal: 0, warning: 1, critical: 2, emergency: 3 };

/** Receives samples that leave the buffer unconsumed, oldest first, as a copy it may keep. Throwing rejects the operation. */
export type SpillSink = ((samples: Float32Array) => void) | { write(samples: Float32Array): void };

export interface AdaptiveAudioBufferOptions {
  /** Where overflowing and shrunk-away samples go. Required: there is no silent default for losing audio. */
  spill: SpillSink;
  sampleRate?: number;
  capacitySeconds?: number;
  floorSeconds?: number;
  maxSeconds?: number;
  growOnNormal?: boolean;
}

/** What a capacity change did. Capacities are in samples. */
export interface CapacityChange {
  action: 'shrink' | 'grow' | 'none';
  capacityBefore: number;
  capacityAfter: number;
  /** Samples handed to the spill sink by this change. */
  spilled: number;
}

export interface AudioBufferStats {
  written: number;
  consumed: number;
  spilled: number;
  held: number;
}

/** The spill sink threw; the buffer is exactly as it was before the operation. */
export class SpillError extends Error {
  override name = 'SpillError';
}

export class AdaptiveAudioBuffer {
  readonly sampleRate: number;
  readonly floorSamples: number;
  readonly maxSamples: number;
  readonly growOnNormal: boolean;
  private readonly spillSink: (samples: Float32Array) => void;
  private ring: Float32Array;
  /** Index in `ring` of the oldest held sample. */
  private head = 0;
  private held = 0;
  private written = 0;
  private consumed = 0;
  private spilled = 0;

  constructor(options: AdaptiveAudioBufferOptions) {
    const { sampleRate = 16000, capacitySeconds = 30, floorSeconds = 1, maxSeconds = 30, growOnNormal = true } = options;
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
    if (!(floorSeconds > 0)) throw new RangeError(`floorSeconds must be above 0, got ${floorSeconds}`);
    if (!(floorSeconds <= capacitySeconds && capacitySeconds <= maxSeconds)) {
      throw new RangeError(`capacities must satisfy floorSeconds <= capacitySeconds <= maxSeconds, got ${floorSeconds}, ${capacitySeconds}, ${maxSeconds}`);
    }
    const spill = options.spill;
    if (typeof spill === 'function') this.spillSink = spill;
    else if (spill && typeof spill.write === 'function') this.spillSink = (samples) => spill.write(samples);
    else throw new TypeError('AdaptiveAudioBuffer needs a spill sink (a function or an object with write())');
    this.sampleRate = sampleRate;
    this.floorSamples = Math.max(1, Math.ceil(floorSeconds * sampleRate));
    this.maxSamples = Math.max(this.floorSamples, Math.round(maxSeconds * sampleRate));
    this.growOnNormal = growOnNormal;
    const capacity = Math.min(this.maxSamples, Math.max(this.floorSamples, Math.round(capacitySeconds * sampleRate)));
    this.ring = new Float32Array(capacity);
  }

  get capacitySamples(): number {
    return this.ring.length;
  }

  get capacitySeconds(): number {
    return this.ring.length / this.sampleRate;
  }

  /** Samples held and not yet consumed. */
  get length(): number {
    return this.held;
  }

  stats(): AudioBufferStats {
    return { written: this.written, consumed: this.consumed, spilled: this.spilled, held: this.held };
  }

  /** Appends samples; if they do not fit, the oldest samples (held first, then the head of `samples`) are spilled. */
  write(samples: Float32Array): void {
    const capacity = this.ring.length;
    const overflow = this.held + samples.length - capacity;
    let incoming = samples;
    if (overflow > 0) {
      const fromHeld = Math.min(overflow, this.held);
      const fromIncoming = overflow - fromHeld;
      const excess = new Float32Array(overflow);
      this.copyOldest(excess, fromHeld);
      excess.set(samples.subarray(0, fromIncoming), fromHeld);
      this.handToSpill(excess, `writing ${samples.length} samples`);
      this.dropOldest(fromHeld);
      incoming = samples.subarray(fromIncoming);
    }
    this.append(incoming);
    this.written += samples.length;
  }

  /** Removes and returns up to `maxSamples` of the oldest samples (all of them by default). */
  read(maxSamples: number = this.held): Float32Array {
    if (!Number.isInteger(maxSamples) || maxSamples < 0) throw new RangeError(`read() needs a non-negative integer count, got ${maxSamples}`);
    const out = new Float32Array(Math.min(maxSamples, this.held));
    this.copyOldest(out, out.length);
    this.dropOldest(out.length);
    this.consumed += out.length;
    return out;
  }

  /** A copy of every held sample, oldest first, without consuming them. */
  peek(): Float32Array {
    const out = new Float32Array(this.held);
    this.copyOldest(out, out.length);
    return out;
  }

  /** Removes and returns every held sample (they count as consumed by the caller). */
  clear(): Float32Array {
    return this.read();
  }

  /** Halves the capacity (not below the floor), spilling the oldest samples that no longer fit. */
  shrink(): CapacityChange {
    return this.resize(Math.max(this.floorSamples, Math.floor(this.ring.length / 2)), 'shrink');
  }

  /** Doubles the capacity, up to the maximum. */
  grow(): CapacityChange {
    return this.resize(Math.min(this.maxSamples, this.ring.length * 2), 'grow');
  }

  /** Applies the pressure policy to a level change; wire it to the memory manager's level-change callback. */
  onPressureChange(from: PressureLevel, to: PressureLevel): CapacityChange {
    if (!(from in LEVEL_RANK) || !(to in LEVEL_RANK)) throw new RangeError(`unknown pressure level in change ${from} -> ${to}`);
    if (LEVEL_RANK[to] > LEVEL_RANK[from] && LEVEL_RANK[to] >= LEVEL_RANK.warning) return this.shrink();
    if (to === 'normal' && from !== 'normal' && this.growOnNormal) return this.grow();
    return this.noChange();
  }

  private resize(newCapacity: number, action: 'shrink' | 'grow'): CapacityChange {
    const capacityBefore = this.ring.length;
    if (newCapacity === capacityBefore) return this.noChange();
    const excessCount = Math.max(0, this.held - newCapacity);
    if (excessCount > 0) {
      const excess = new Float32Array(excessCount);
      this.copyOldest(excess, excessCount);
      this.handToSpill(excess, `shrinking to ${newCapacity} samples`);
      this.dropOldest(excessCount);
    }
    // A fresh array (rather than a view) is what actually returns the memory when shrinking.
    const ring = new Float32Array(newCapacity);
    this.copyOldest(ring, this.held);
    this.ring = ring;
    this.head = 0;
    return { action, capacityBefore, capacityAfter: newCapacity, spilled: excessCount };
  }

  private noChange(): CapacityChange {
    return { action: 'none', capacityBefore: this.ring.length, capacityAfter: this.ring.length, spilled: 0 };
  }

  private handToSpill(excess: Float32Array, during: string): void {
    try {
      this.spillSink(excess);
    } catch (error) {
      throw new SpillError(`the spill sink failed while ${during}; nothing was dropped and the buffer is unchanged`, { cause: error });
    }
    this.spilled += excess.length;
  }

  /** Copies the `count` oldest held samples into the start of `target`. */
  private copyOldest(target: Float32Array, count: number): void {
    const firstPart = Math.min(count, this.ring.length - this.head);
    target.set(this.ring.subarray(this.head, this.head + firstPart), 0);
    target.set(this.ring.subarray(0, count - firstPart), firstPart);
  }

  private dropOldest(count: number): void {
    this.held -= count;
    this.head = this.held === 0 ? 0 : (this.head + count) % this.ring.length;
  }

  private append(samples: Float32Array): void {
    const capacity = this.ring.length;
    const tail = (this.head + this.held) % capacity;
    const firstPart = Math.min(samples.length, capacity - tail);
    this.ring.set(samples.subarray(0, firstPart), tail);
    this.ring.set(samples.subarray(firstPart), 0);
    this.held += samples.length;
  }
}

/**
 * An on-disk spill sink: raw little-endian float32 samples appended to a new private file (0600, in a directory that
 * passes the durable-fs directory checks). Byte-exact, like the WAV writer. Not fsynced per write: spilling is
 * there to relieve memory, and close() makes the whole spool durable.
 */
export class SpillFile {
  private fd: number | undefined;
  private count = 0;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  /** Creates the spool file; refuses an existing file or a link at `path`. */
  static create(path: string, options: { mode?: number; dirMode?: number } = {}): SpillFile {
    ensurePrivateDirectory(dirname(path), options.dirMode ?? 0o700, nodeFs, path);
    const { O_CREAT, O_EXCL, O_WRONLY, O_APPEND, O_NOFOLLOW } = nodeFs.constants;
    const fd = nodeFs.openSync(path, O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_NOFOLLOW, 0o600);
    nodeFs.fchmodSync(fd, options.mode ?? 0o600);
    return new SpillFile(path, fd);
  }

  /** Reads a spool file back into samples. */
  static read(path: string): Float32Array {
    const bytes = readFileNoFollow(path);
    if (bytes.length % 4 !== 0) throw new RangeError(`${path}: a spill file must hold whole float32 samples, but it has ${bytes.length} bytes`);
    const samples = new Float32Array(bytes.length / 4);
    copyFloat32Words(bytes, new Uint8Array(samples.buffer), !HOST_IS_LITTLE_ENDIAN);
    return samples;
  }

  get samplesWritten(): number {
    return this.count;
  }

  write(samples: Float32Array): void {
    if (this.fd === undefined) throw new Error(`the spill file ${this.path} is closed`);
    const bytes = new Uint8Array(samples.length * 4);
    copyFloat32Words(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), bytes, !HOST_IS_LITTLE_ENDIAN);
    try {
      for (let done = 0; done < bytes.length; ) done += nodeFs.writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (error) {
      // Cut a partly written block back off: the buffer keeps these samples and will spill them again.
      try {
        nodeFs.ftruncateSync(this.fd, this.count * 4);
      } catch {
        // The original error is the one worth reporting.
      }
      throw error;
    }
    this.count += samples.length;
  }

  /** Flushes the spool to disk and closes it; further writes throw. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  }
}
