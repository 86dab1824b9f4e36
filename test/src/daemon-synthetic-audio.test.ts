import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  captureBlocks,
  concatAudio,
  counterCoded,
  COUNTER_MODULUS,
  createPrng,
  findCounterBreak,
  sameSamples,
  secondsToSamples,
  seededNoise,
  silence,
  tone,
  toneSilencePattern,
} from '../../src/synthetic-audio.js';

describe('synthetic audio', () => {
  it('the PRNG is a pure function of its seed', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const seqA = Array.from({ length: 5 }, a);
    assert.deepEqual(Array.from({ length: 5 }, b), seqA);
    assert.notDeepEqual(Array.from({ length: 5 }, c), seqA);
    assert.ok(seqA.every((x) => x >= 0 && x < 1));
    assert.throws(() => createPrng(1.5), /a PRNG seed must be an integer, got 1.5/);
  });

  it('seeded noise repeats for a seed and reaches beyond ±1 when asked', () => {
    const noise = seededNoise(16000, { seed: 3, amplitude: 1.5 });
    assert.ok(sameSamples(noise, seededNoise(16000, { seed: 3, amplitude: 1.5 })));
    assert.ok(!sameSamples(noise, seededNoise(16000, { seed: 4, amplitude: 1.5 })));
    assert.ok(noise.some((x) => x > 1) && noise.some((x) => x < -1));
    assert.ok(noise.every((x) => Math.abs(x) <= 1.5));
  });

  const lengths: [number, number][] = [[0, 0], [0.064, 1024], [2.5, 40000], [1 / 16000, 1]];
  for (const [seconds, samples] of lengths) {
    it(`${seconds} s is ${samples} samples`, () => assert.equal(secondsToSamples(seconds), samples));
  }

  it('a tone has the asked amplitude and RMS amplitude/√2', () => {
    const t = tone({ seconds: 1, amplitude: 0.4, frequencyHz: 250 });
    assert.equal(t.length, 16000);
    const rms = Math.sqrt(t.reduce((sum, x) => sum + x * x, 0) / t.length);
    assert.ok(Math.abs(rms - 0.4 / Math.SQRT2) < 1e-4);
    assert.ok(Math.max(...t) <= 0.4 + 1e-7);
  });

  it('the tone/silence pattern lays out cycles with their own amplitudes', () => {
    const pattern = toneSilencePattern({ cycles: 2, toneSeconds: 1, silenceSeconds: 0.5, amplitude: [0.2, 0.6] });
    assert.equal(pattern.length, 48000);
    const peak = (from: number, to: number) => Math.max(...pattern.subarray(from, to).map(Math.abs));
    assert.ok(Math.abs(peak(0, 16000) - 0.2) < 1e-3);
    assert.equal(peak(16000, 24000), 0);
    assert.ok(Math.abs(peak(24000, 40000) - 0.6) < 1e-3);
    assert.equal(peak(40000, 48000), 0);
    assert.ok(sameSamples(pattern, concatAudio([tone({ seconds: 1, amplitude: 0.2 }), silence(0.5), tone({ seconds: 1, amplitude: 0.6 }), silence(0.5)])));
  });

  it('counter-coded samples find the first break: a lost, repeated or altered sample', () => {
    const stream = counterCoded(5000, 100);
    assert.equal(findCounterBreak(stream, 100), -1);
    const lost = concatAudio([stream.subarray(0, 2000), stream.subarray(2001)]);
    assert.equal(findCounterBreak(lost, 100), 2000);
    const repeated = concatAudio([stream.subarray(0, 3001), stream.subarray(3000)]);
    assert.equal(findCounterBreak(repeated, 100), 3001);
    assert.equal(counterCoded(3, COUNTER_MODULUS - 1).join(','), `${COUNTER_MODULUS - 1},0,1`, 'wraps where float32 stops being exact');
  });

  it('capture blocks are views of 1,024 samples, the last one shorter', () => {
    const blocks = [...captureBlocks(new Float32Array(2500))];
    assert.deepEqual(blocks.map((b) => b.length), [1024, 1024, 452]);
  });

  it('sameSamples compares bit patterns: NaN payloads and -0 count', () => {
    const a = new Float32Array([0, 1]);
    const b = new Float32Array([-0, 1]);
    assert.equal(sameSamples(a, b), false);
    const nan1 = new Float32Array(new Uint32Array([0x7fc00001]).buffer);
    const nan2 = new Float32Array(new Uint32Array([0x7fc00002]).buffer);
    assert.equal(sameSamples(nan1, nan2), false);
    assert.equal(sameSamples(nan1, nan1.slice()), true);
  });
});
