// IEEE-float WAV (format 3) encoding and decoding, bit-exact.
//
// Emergency audio must come back exactly as it was captured: no clipping beyond ±1, no loss of -0, denormals or
// infinities, and no NaN canonicalisation. Sample data is therefore only ever moved as bytes; it never passes through
// a JavaScript number (DataView.getFloat32/setFloat32 may canonicalise NaN payloads).

/** WAVE_FORMAT_PCM: integer samples. */
export const WAVE_FORMAT_PCM = 1;
/** WAVE_FORMAT_IEEE_FLOAT: the format we write. */
export const WAVE_FORMAT_IEEE_FLOAT = 3;
/** WAVE_FORMAT_EXTENSIBLE: the real format tag sits in the first two bytes of the sub-format GUID. */
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Size of the canonical header we write: RIFF header (12) + fmt chunk (8 + 16) + data chunk header (8). */
export const WAV_HEADER_BYTES = 44;

export interface DecodedWav {
  /** Interleaved samples (frame-major) when channels > 1. */
  samples: Float32Array;
  sampleRate: number;
  channels: number;
  /** The effective format tag (the sub-format for WAVE_FORMAT_EXTENSIBLE). */
  formatTag: number;
  bitsPerSample: number;
}

export interface DecodeWavOptions {
  /** Accept 16-bit PCM and scale it by 1/32768 (exact in float32). Off by default: emergency audio must be float32. */
  acceptPcm16?: boolean;
  /** Where the bytes came from (a path), used to make error messages point at the file. */
  source?: string;
}

/** A WAV file that is malformed, truncated, or in a format we refuse. */
export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies 4-byte float words between a little-endian byte image and host order. On little-endian hosts this is a
 * plain byte copy; on big-endian hosts each word is byte-reversed. Exported with the endianness as a parameter so
 * that the big-endian path can be tested on a little-endian machine.
 */
export function copyFloat32Words(source: Uint8Array, target: Uint8Array, swapBytes: boolean): void {
  if (source.length !== target.length || source.length % 4 !== 0) {
    throw new RangeError(`copyFloat32Words needs equal lengths that are a multiple of 4, got ${source.length} and ${target.length}`);
  }
  if (!swapBytes) {
    target.set(source);
    return;
  }
  for (let i = 0; i < source.length; i += 4) {
    target[i] = source[i + 3]!;
    target[i + 1] = source[i + 2]!;
    target[i + 2] = source[i + 1]!;
    target[i + 3] = source[i]!;
  }
}

/** Encodes float32 samples (interleaved if channels > 1) as a 44-byte-header IEEE-float WAV, little-endian. */
export function encodeFloat32Wav(samples: Float32Array, sampleRate: number, channels = 1): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new RangeError(`WAV sample rate must be a positive integer, got ${sampleRate}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff) {
    throw new RangeError(`WAV channel count must be an integer from 1 to 65535, got ${channels}`);
  }
  if (samples.length % channels !== 0) {
    throw new RangeError(`${samples.length} samples do not divide into whole frames of ${channels} channels`);
  }
  const dataBytes = samples.byteLength;
  // The RIFF size field is 32-bit; the data must leave room for the 36 header bytes it also counts.
  if (dataBytes > 0xffffffff - 36) {
    throw new RangeError(`${samples.length} samples are too many for a WAV file (4 GiB limit)`);
  }
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const header = new DataView(out.buffer);
  writeAscii(out, 0, 'RIFF');
  header.setUint32(4, 36 + dataBytes, true);
  writeAscii(out, 8, 'WAVE');
  writeAscii(out, 12, 'fmt ');
  header.setUint32(16, 16, true);
  header.setUint16(20, WAVE_FORMAT_IEEE_FLOAT, true);
  header.setUint16(22, channels, true);
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * channels * 4, true);
  header.setUint16(32, channels * 4, true);
  header.setUint16(34, 32, true);
  writeAscii(out, 36, 'data');
  header.setUint32(40, dataBytes, true);
  const sampleBytes = new Uint8Array(samples.buffer, samples.byteOffset, dataBytes);
  copyFloat32Words(sampleBytes, out.subarray(WAV_HEADER_BYTES), !HOST_IS_LITTLE_ENDIAN);
  return out;
}

interface FormatChunk {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

/** Decodes a WAV file whose samples are 32-bit IEEE float (or 16-bit PCM when `acceptPcm16` is set). */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): DecodedWav {
  const where = options.source ? `${options.source}: ` : '';
  const fail = (message: string): never => {
    throw new WavFormatError(`${where}${message}`);
  };
  if (bytes.length < 12) fail(`truncated WAV file: ${bytes.length} bytes, but a RIFF header needs 12`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = readAscii(bytes, 0, 4);
  if (riff === 'RIFX') fail('big-endian RIFX files are not supported; expected RIFF');
  if (riff !== 'RIFF') fail(`not a WAV file: expected 'RIFF' at byte 0, found ${JSON.stringify(riff)}`);
  const wave = readAscii(bytes, 8, 4);
  if (wave !== 'WAVE') fail(`not a WAV file: expected 'WAVE' at byte 8, found ${JSON.stringify(wave)}`);

  let format: FormatChunk | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const chunkId = readAscii(bytes, offset, 4);
    const chunkSize = view.getUint32(offset + 4, true);
    const bodyStart = offset + 8;
    const available = bytes.length - bodyStart;
    if (chunkSize > available) {
      fail(`truncated WAV file: the ${JSON.stringify(chunkId)} chunk at byte ${offset} declares ${chunkSize} bytes but only ${available} remain`);
    }
    if (chunkId === 'fmt ') {
      format = parseFormatChunk(view, bodyStart, chunkSize, fail);
    } else if (chunkId === 'data') {
      if (!format) fail(`the data chunk at byte ${offset} comes before any fmt chunk`);
      return decodeSamples(bytes.subarray(bodyStart, bodyStart + chunkSize), format!, options, fail);
    }
    // Chunks are padded to an even size; the pad byte is not counted in chunkSize.
    offset = bodyStart + chunkSize + (chunkSize % 2);
  }
  if (offset < bytes.length) fail(`truncated WAV file: ${bytes.length - offset} stray bytes at byte ${offset} are too few for a chunk header`);
  return fail(format ? 'the WAV file has no data chunk' : 'the WAV file has no fmt chunk');
}

function parseFormatChunk(view: DataView, start: number, size: number, fail: (message: string) => never): FormatChunk {
  if (size < 16) fail(`the fmt chunk is ${size} bytes; it needs at least 16`);
  let formatTag = view.getUint16(start, true);
  const channels = view.getUint16(start + 2, true);
  const sampleRate = view.getUint32(start + 4, true);
  const blockAlign = view.getUint16(start + 12, true);
  const bitsPerSample = view.getUint16(start + 14, true);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize (2) + valid bits (2) + channel mask (4) + sub-format GUID (16), whose first two bytes are the format tag.
    if (size < 40) fail(`the fmt chunk is WAVE_FORMAT_EXTENSIBLE but only ${size} bytes long; it needs 40`);
    formatTag = view.getUint16(start + 24, true);
  }
  if (channels === 0) fail('the fmt chunk says 0 channels');
  if (sampleRate === 0) fail('the fmt chunk says a sample rate of 0 Hz');
  if (bitsPerSample % 8 !== 0 || blockAlign !== channels * (bitsPerSample / 8)) {
    fail(`the fmt chunk is inconsistent: block align ${blockAlign} for ${channels} channels of ${bitsPerSample} bits`);
  }
  return { formatTag, channels, sampleRate, blockAlign, bitsPerSample };
}

function decodeSamples(data: Uint8Array, format: FormatChunk, options: DecodeWavOptions, fail: (message: string) => never): DecodedWav {
  const { formatTag, bitsPerSample, channels, sampleRate, blockAlign } = format;
  if (data.length % blockAlign !== 0) {
    fail(`the data chunk holds ${data.length} bytes, which is not a whole number of ${blockAlign}-byte frames`);
  }
  const result = { sampleRate, channels, formatTag, bitsPerSample };
  if (formatTag === WAVE_FORMAT_IEEE_FLOAT && bitsPerSample === 32) {
    const samples = new Float32Array(data.length / 4);
    copyFloat32Words(data, new Uint8Array(samples.buffer), !HOST_IS_LITTLE_ENDIAN);
    return { samples, ...result };
  }
  if (formatTag === WAVE_FORMAT_PCM && bitsPerSample === 16) {
    if (!options.acceptPcm16) fail('the WAV file is 16-bit PCM (format 1); expected 32-bit IEEE float (format 3)');
    const samples = new Float32Array(data.length / 2);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    return { samples, ...result };
  }
  return fail(`unsupported WAV sample format: format tag ${formatTag} with ${bitsPerSample} bits; expected 32-bit IEEE float (format 3)`);
}

function writeAscii(target: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i);
}

function readAscii(source: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...source.subarray(offset, offset + length));
}
