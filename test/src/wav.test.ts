import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WAV_HEADER_BYTES, WavFormatError, copyFloat32Words, decodeWav, encodeFloat32Wav } from '../../src/wav.js';

/** Float32 samples with exactly these bit patterns (no number conversion involved). */
function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function bitsOf(samples: Float32Array): number[] {
  return Array.from(new Uint32Array(samples.buffer, samples.byteOffset, samples.length));
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function u16(value: number): number[] {
  return [value & 0xff, (value >> 8) & 0xff];
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** Builds a RIFF/WAVE file from chunks, adding the pad byte after odd-sized chunks as the format requires. */
function riff(chunks: [id: string, body: number[]][], options: { pad?: boolean } = {}): Uint8Array {
  const body: number[] = ascii('WAVE');
  for (const [id, bytes] of chunks) {
    body.push(...ascii(id), ...u32(bytes.length), ...bytes);
    if (bytes.length % 2 === 1 && options.pad !== false) body.push(0);
  }
  return new Uint8Array([...ascii('RIFF'), ...u32(body.length), ...body]);
}

function fmt(formatTag: number, channels: number, sampleRate: number, bits: number, extra: number[] = []): number[] {
  const blockAlign = (channels * bits) / 8;
  return [...u16(formatTag), ...u16(channels), ...u32(sampleRate), ...u32(sampleRate * blockAlign), ...u16(blockAlign), ...u16(bits), ...extra];
}

function floatBytes(bits: number[]): number[] {
  return bits.flatMap(u32);
}

const SPECIAL_VALUES: [name: string, bits: number][] = [
  ['+0', 0x00000000],
  ['-0', 0x80000000],
  ['smallest denormal', 0x00000001],
  ['largest denormal', 0x007fffff],
  ['negative denormal', 0x80000001],
  ['+1', 0x3f800000],
  ['2.5 (beyond +1, must not clip)', 0x40200000],
  ['-3.75 (beyond -1, must not clip)', 0xc0700000],
  ['largest finite', 0x7f7fffff],
  ['+Inf', 0x7f800000],
  ['-Inf', 0xff800000],
  ['quiet NaN with payload', 0x7fc00123],
  ['signalling NaN', 0x7f800001],
  ['negative NaN', 0xffc00000],
  ['all-ones NaN', 0xffffffff],
];

for (const [name, bits] of SPECIAL_VALUES) {
  test(`round trip keeps ${name} bit for bit`, () => {
    const samples = fromBits([bits, 0x3f000000, bits]);
    const decoded = decodeWav(encodeFloat32Wav(samples, 16000));
    assert.deepEqual(bitsOf(decoded.samples).map((b) => b.toString(16)), [bits, 0x3f000000, bits].map((b) => b.toString(16)));
  });
}

test('the header is the canonical 44-byte IEEE-float header, little-endian', () => {
  const wav = encodeFloat32Wav(fromBits([0x3f800000, 0xbf800000]), 16000);
  const expected = [
    ...ascii('RIFF'), ...u32(36 + 8), ...ascii('WAVE'),
    ...ascii('fmt '), ...u32(16), ...u16(3), ...u16(1), ...u32(16000), ...u32(64000), ...u16(4), ...u16(32),
    ...ascii('data'), ...u32(8),
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x80, 0xbf,
  ];
  assert.equal(WAV_HEADER_BYTES, 44);
  assert.deepEqual(Array.from(wav), expected);
});

test('10 s at 16 kHz is 640,000 data bytes after the header, identical to the samples', () => {
  const samples = new Float32Array(160_000);
  let state = 12345;
  for (let i = 0; i < samples.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    samples[i] = (state / 0x100000000 - 0.5) * 6; // spans beyond ±1
  }
  const wav = encodeFloat32Wav(samples, 16000);
  assert.equal(wav.length, 44 + 640_000);
  assert.deepEqual(Buffer.from(wav.subarray(44)), Buffer.from(samples.buffer));
  const decoded = decodeWav(wav);
  assert.deepEqual({ ...decoded, samples: decoded.samples.length }, { samples: 160_000, sampleRate: 16000, channels: 1, formatTag: 3, bitsPerSample: 32 });
});

test('any float32 bit pattern survives a round trip (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 64 }), (bits) => {
      assert.deepEqual(bitsOf(decodeWav(encodeFloat32Wav(fromBits(bits), 16000)).samples), bits);
    }),
    { seed: 20240611, numRuns: 300 },
  );
});

test('a sample view into a larger buffer encodes only its own samples', () => {
  const backing = fromBits([1, 2, 3, 4, 5, 6]);
  const view = backing.subarray(2, 4);
  assert.deepEqual(bitsOf(decodeWav(encodeFloat32Wav(view, 8000)).samples), [3, 4]);
});

test('stereo frames round-trip interleaved', () => {
  const decoded = decodeWav(encodeFloat32Wav(fromBits([1, 2, 3, 4]), 48000, 2));
  assert.equal(decoded.channels, 2);
  assert.deepEqual(bitsOf(decoded.samples), [1, 2, 3, 4]);
});

test('the byte-swapping path (big-endian hosts) reverses each word and is its own inverse', () => {
  const source = new Uint8Array([0x00, 0x00, 0x80, 0x3f, 0x23, 0x01, 0xc0, 0x7f]);
  const swapped = new Uint8Array(8);
  copyFloat32Words(source, swapped, true);
  assert.deepEqual(Array.from(swapped), [0x3f, 0x80, 0x00, 0x00, 0x7f, 0xc0, 0x01, 0x23]);
  const back = new Uint8Array(8);
  copyFloat32Words(swapped, back, true);
  assert.deepEqual(back, source);
  assert.throws(() => copyFloat32Words(new Uint8Array(3), new Uint8Array(3), false), RangeError);
});

const ENCODE_ERRORS: [name: string, call: () => unknown, message: RegExp][] = [
  ['sample rate 0', () => encodeFloat32Wav(new Float32Array(1), 0), /sample rate must be a positive integer, got 0/],
  ['fractional sample rate', () => encodeFloat32Wav(new Float32Array(1), 16000.5), /got 16000.5/],
  ['zero channels', () => encodeFloat32Wav(new Float32Array(2), 16000, 0), /channel count/],
  ['samples not in whole frames', () => encodeFloat32Wav(new Float32Array(3), 16000, 2), /3 samples do not divide into whole frames of 2 channels/],
];
for (const [name, call, message] of ENCODE_ERRORS) {
  test(`encode rejects ${name}`, () => assert.throws(call, message));
}

test('a fact chunk and an 18-byte fmt chunk (cbSize) are accepted', () => {
  const wav = riff([
    ['fmt ', fmt(3, 1, 16000, 32, u16(0))],
    ['fact', u32(2)],
    ['data', floatBytes([0x7fc00123, 0x80000000])],
  ]);
  const decoded = decodeWav(wav);
  assert.deepEqual(bitsOf(decoded.samples), [0x7fc00123, 0x80000000]);
  assert.equal(decoded.formatTag, 3);
});

test('an odd-sized chunk before the data is skipped together with its pad byte', () => {
  const wav = riff([
    ['fmt ', fmt(3, 1, 22050, 32)],
    ['LIST', [1, 2, 3]],
    ['data', floatBytes([0x3f800000])],
  ]);
  const decoded = decodeWav(wav);
  assert.equal(decoded.sampleRate, 22050);
  assert.deepEqual(bitsOf(decoded.samples), [0x3f800000]);
});

test('WAVE_FORMAT_EXTENSIBLE with the IEEE-float sub-format is float32', () => {
  const guidTail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
  const extension = [...u16(22), ...u16(32), ...u32(4), ...u16(3), ...guidTail];
  const decoded = decodeWav(riff([['fmt ', fmt(0xfffe, 1, 16000, 32, extension)], ['data', floatBytes([0x40200000])]]));
  assert.equal(decoded.formatTag, 3);
  assert.deepEqual(bitsOf(decoded.samples), [0x40200000]);
});

test('16-bit PCM is rejected by default and scaled by 1/32768 only when accepted explicitly', () => {
  const pcm = riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', [...u16(0x8000), ...u16(0x4000), ...u16(0x7fff)]]]);
  assert.throws(() => decodeWav(pcm), /16-bit PCM \(format 1\); expected 32-bit IEEE float \(format 3\)/);
  assert.deepEqual(Array.from(decodeWav(pcm, { acceptPcm16: true }).samples), [-1, 0.5, 32767 / 32768]);
});

const good = encodeFloat32Wav(fromBits([1, 2, 3]), 16000);
const DECODE_ERRORS: [name: string, bytes: Uint8Array, message: RegExp][] = [
  ['an empty file', new Uint8Array(0), /truncated WAV file: 0 bytes, but a RIFF header needs 12/],
  ['a file cut inside the RIFF header', good.subarray(0, 11), /truncated WAV file: 11 bytes/],
  ['a non-RIFF file', new Uint8Array([...ascii('OggS'), ...new Array(40).fill(0)]), /not a WAV file: expected 'RIFF' at byte 0, found "OggS"/],
  ['a big-endian RIFX file', new Uint8Array([...ascii('RIFX'), ...good.subarray(4)]), /RIFX files are not supported/],
  ['a RIFF file that is not WAVE', new Uint8Array([...good.subarray(0, 8), ...ascii('AVI '), ...good.subarray(12)]), /expected 'WAVE' at byte 8, found "AVI "/],
  ['a file cut inside the data', good.subarray(0, good.length - 1), /truncated WAV file: the "data" chunk at byte 36 declares 12 bytes but only 11 remain/],
  ['a file cut inside the fmt chunk', good.subarray(0, 30), /truncated WAV file: the "fmt " chunk at byte 12 declares 16 bytes but only 10 remain/],
  ['a file cut inside a chunk header', good.subarray(0, 40), /4 stray bytes at byte 36 are too few for a chunk header/],
  ['a header with no data chunk', good.subarray(0, 36), /has no data chunk/],
  ['a file with no fmt chunk', riff([['LIST', [0, 0]]]), /has no fmt chunk/],
  ['data before fmt', riff([['data', floatBytes([1])], ['fmt ', fmt(3, 1, 16000, 32)]]), /data chunk at byte 12 comes before any fmt chunk/],
  ['a short fmt chunk', riff([['fmt ', fmt(3, 1, 16000, 32).slice(0, 14)], ['data', []]]), /fmt chunk is 14 bytes; it needs at least 16/],
  ['0 channels', riff([['fmt ', fmt(3, 0, 16000, 32)], ['data', []]]), /0 channels/],
  ['a 0 Hz sample rate', riff([['fmt ', fmt(3, 1, 0, 32)], ['data', []]]), /sample rate of 0 Hz/],
  ['a data size that is not whole frames', riff([['fmt ', fmt(3, 1, 16000, 32)], ['data', [1, 2, 3, 4, 5, 6]]]), /6 bytes, which is not a whole number of 4-byte frames/],
  ['64-bit float', riff([['fmt ', fmt(3, 1, 16000, 64)], ['data', new Array(8).fill(0)]]), /format tag 3 with 64 bits; expected 32-bit IEEE float/],
  ['8-bit PCM', riff([['fmt ', fmt(1, 1, 16000, 8)], ['data', [1]]]), /format tag 1 with 8 bits/],
  ['an inconsistent block align', riff([['fmt ', [...fmt(3, 2, 16000, 32).slice(0, 12), ...u16(4), ...u16(32)]], ['data', []]]), /block align 4 for 2 channels of 32 bits/],
  ['a short extensible fmt chunk', riff([['fmt ', fmt(0xfffe, 1, 16000, 32, u16(0))], ['data', []]]), /WAVE_FORMAT_EXTENSIBLE but only 18 bytes long/],
];
for (const [name, bytes, message] of DECODE_ERRORS) {
  test(`decode rejects ${name} with a clear message`, () => {
    assert.throws(() => decodeWav(bytes), (error: unknown) => error instanceof WavFormatError && message.test(error.message));
  });
}

test('decode errors name the source when given one', () => {
  assert.throws(() => decodeWav(good.subarray(0, 20), { source: '/state/x.wav' }), /^WavFormatError: \/state\/x\.wav: truncated WAV file/);
});
