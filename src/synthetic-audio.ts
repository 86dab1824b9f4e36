// Deterministic synthetic audio for the daemon's tests, the OOM suite and the stress harness. Nothing here uses
// Math.random: every signal is a pure function of its parameters (and of an explicit seed), so a test can regenerate
// exactly the samples it fed and compare them bit for bit with what the daemon saved.
//
// The stand-in models react to energy, so the useful building blocks are tones (speech), silence (pauses that cut
// segments) and seeded noise (content with values above ±1, to catch any clipping on the way to disk).

export const SAMPLE_RATE = 16_000;
/** The capture callback's block: 1,024 samples = 64 ms at 16 kHz. */
export const CAPTURE_BLOCK_SAMPLES = 1024;
/** Float32 represents every integer up to 2^24 exactly; counter-coded samples wrap there. */
export const COUNTER_MODULUS = 2 ** 24;

/** Whole samples in `seconds` at `sampleRate`, rounded to the nearest sample. */
export function secondsToSamples(seconds: number, sampleRate = SAMPLE_RATE): number {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError(`seconds must be a non-negative finite number, got ${seconds}`);
  return Math.round(seconds * sampleRate);
}

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG. Returns numbers in [0, 1). */
export function createPrng(seed: number): () => number {
  if (!Number.isInteger(seed)) throw new RangeError(`a PRNG seed must be an integer, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform noise in [-amplitude, amplitude). An amplitude above 1 gives samples outside ±1 on purpose. */
export function seededNoise(samples: number, options: { seed: number; amplitude?: number }): Float32Array {
  checkCount(samples);
  const amplitude = options.amplitude ?? 1;
  const next = createPrng(options.seed);
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = (next() * 2 - 1) * amplitude;
  return out;
}

export interface ToneOptions {
  seconds: number;
  amplitude?: number;
  frequencyHz?: number;
  sampleRate?: number;
  /** Phase at the first sample, in radians. */
  phase?: number;
}

/** A sine tone: the stand-in for speech (its RMS is amplitude / sqrt(2)). */
export function tone(options: ToneOptions): Float32Array {
  const sampleRate = options.sampleRate ?? SAMPLE_RATE;
  const amplitude = options.amplitude ?? 0.5;
  const frequency = options.frequencyHz ?? 440;
  const phase = options.phase ?? 0;
  const out = new Float32Array(secondsToSamples(options.seconds, sampleRate));
  const step = (2 * Math.PI * frequency) / sampleRate;
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin(phase + step * i);
  return out;
}

export function silence(seconds: number, sampleRate = SAMPLE_RATE): Float32Array {
  return new Float32Array(secondsToSamples(seconds, sampleRate));
}

export function concatAudio(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface TonePatternOptions {
  /** How many tone + silence cycles. */
  cycles: number;
  toneSeconds?: number;
  silenceSeconds?: number;
  /** One amplitude for every cycle, or one per cycle (index modulo the list), or a function of the cycle index. */
  amplitude?: number | readonly number[] | ((cycle: number) => number);
  frequencyHz?: number;
  sampleRate?: number;
}

/**
 * `cycles` × (tone, then silence). With the defaults (5 s of tone, 2.5 s of silence) the daemon's silence rule cuts
 * one segment per cycle, every 7.5 s. Giving each cycle its own amplitude makes each segment transcribe to its own
 * word, so a test can see that no segment was lost or repeated.
 */
export function toneSilencePattern(options: TonePatternOptions): Float32Array {
  const { cycles, toneSeconds = 5, silenceSeconds = 2.5, frequencyHz, sampleRate = SAMPLE_RATE } = options;
  checkCount(cycles);
  const amplitudeOf = (cycle: number): number => {
    const amplitude = options.amplitude ?? 0.5;
    if (typeof amplitude === 'number') return amplitude;
    if (typeof amplitude === 'function') return amplitude(cycle);
    if (amplitude.length === 0) throw new RangeError('toneSilencePattern: the amplitude list is empty');
    return amplitude[cycle % amplitude.length]!;
  };
  const parts: Float32Array[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    parts.push(tone({ seconds: toneSeconds, amplitude: amplitudeOf(cycle), frequencyHz, sampleRate }));
    parts.push(silence(silenceSeconds, sampleRate));
  }
  return concatAudio(parts);
}

/**
 * Sample i holds the number (start + i) mod 2^24, exactly. Any lost, repeated or reordered sample shows up as a
 * break in the count, and the values (far above ±1) also catch clipping. `findCounterBreak` checks a stream.
 */
export function counterCoded(samples: number, start = 0): Float32Array {
  checkCount(samples);
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`counterCoded: start must be a non-negative integer, got ${start}`);
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = (start + i) % COUNTER_MODULUS;
  return out;
}

/** The index of the first sample that does not continue the count (or -1 when the stream is unbroken). */
export function findCounterBreak(samples: Float32Array, start = 0): number {
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] !== (start + i) % COUNTER_MODULUS) return i;
  }
  return -1;
}

/** Splits audio into capture-sized blocks (views, not copies); the last block may be shorter. */
export function* captureBlocks(samples: Float32Array, blockSamples = CAPTURE_BLOCK_SAMPLES): Generator<Float32Array> {
  if (!Number.isInteger(blockSamples) || blockSamples < 1) throw new RangeError(`blockSamples must be a positive integer, got ${blockSamples}`);
  for (let offset = 0; offset < samples.length; offset += blockSamples) yield samples.subarray(offset, offset + blockSamples);
}

/** True when both arrays hold the same float32 bit patterns (NaN payloads and -0 included). */
export function sameSamples(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const wordsA = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const wordsB = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < wordsA.length; i++) if (wordsA[i] !== wordsB[i]) return false;
  return true;
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`expected a non-negative whole number, got ${n}`);
}
