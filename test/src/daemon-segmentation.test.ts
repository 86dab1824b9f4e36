import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureBuffers } from '../../src/daemon-audio.js';
import { chunkCount, ownedWords, planChunks } from '../../src/daemon-batch.js';
import { TranscriptionProgress } from '../../src/daemon-progress.js';
import { SilenceSegmenter } from '../../src/daemon-segmenter.js';
import { concatAudio, counterCoded, findCounterBreak } from '../../src/synthetic-audio.js';

const RATE = 16000;

describe('SilenceSegmenter boundaries', () => {
  /** Speech, then silence fed in blocks of `block` samples; returns the total buffered when it first cuts. */
  function cutAfter(speechSamples: number, silenceSamples: number, options = {}, block = 160): number | undefined {
    const segmenter = new SilenceSegmenter(options);
    if (speechSamples > 0 && segmenter.push(speechSamples, true)) return speechSamples;
    for (let fed = 0; fed < silenceSamples; fed += block) {
      if (segmenter.push(Math.min(block, silenceSamples - fed), false)) return speechSamples + Math.min(fed + block, silenceSamples);
    }
    return undefined;
  }

  // [what, speech s, silence s, options, cuts]
  const cases: [string, number, number, object, boolean][] = [
    ['1.99 s of silence is not enough', 0.5, 1.99, {}, false],
    ['2.0 s of silence cuts', 0.5, 2.0, {}, true],
    ['0.99 s buffered is too short', 0.5, 0.49, { minSilenceSeconds: 0.2 }, false],
    ['1.0 s buffered cuts', 0.5, 0.5, { minSilenceSeconds: 0.2 }, true],
    ['silence alone never cuts', 0, 5, {}, false],
  ];
  for (const [what, speech, silent, options, cuts] of cases) {
    it(what, () => {
      const at = cutAfter(Math.round(speech * RATE), Math.round(silent * RATE), options);
      if (cuts) assert.equal(at, Math.round((speech + silent) * RATE), 'cut exactly when the last condition is met');
      else assert.equal(at, undefined);
    });
  }

  it('speech resets the silence count', () => {
    const segmenter = new SilenceSegmenter();
    segmenter.push(16000, true);
    assert.equal(segmenter.push(31999, false), false);
    segmenter.push(160, true);
    assert.equal(segmenter.push(31999, false), false);
    assert.equal(segmenter.push(1, false), true);
    assert.deepEqual(segmenter.state(), { bufferedSamples: 16000 + 31999 + 160 + 32000, silenceSamples: 32000, speechSeen: true });
  });

  it('counts whole samples: 32 blocks of 1,024 pass 2.0 s, 31 do not', () => {
    const segmenter = new SilenceSegmenter();
    segmenter.push(1024, true);
    const cuts = Array.from({ length: 32 }, () => segmenter.push(1024, false));
    assert.equal(cuts.indexOf(true), 31);
  });

  it('rejects settings that cannot work', () => {
    assert.throws(() => new SilenceSegmenter({ minSilenceSeconds: 0 }), /minSilenceSeconds must be a positive number, got 0/);
    assert.throws(() => new SilenceSegmenter({ minSegmentSeconds: -1 }), /minSegmentSeconds must be a non-negative number/);
  });
});

describe('CaptureBuffers', () => {
  function buffers(ringSeconds = 2) {
    return new CaptureBuffers({ sampleRate: RATE, ringSeconds, ringFloorSeconds: 0.5, windowSamples: 4 });
  }

  it('moves blocks from the ring to the streaming buffer; together they hold every sample once, in order', () => {
    const b = buffers();
    const stream = counterCoded(5000);
    b.capture(stream);
    b.takeBlock(1024);
    b.takeBlock(1024);
    assert.equal(b.takeBlock(4000), undefined, 'no whole block left');
    assert.equal(b.streamingBufferSamples, 2048);
    assert.equal(b.ring.length, 5000 - 2048);
    const held = concatAudio(b.held());
    assert.equal(held.length, 5000);
    assert.equal(findCounterBreak(held), -1);
    assert.deepEqual([...b.vadWindow()], [2044, 2045, 2046, 2047]);
  });

  it('a shrinking ring spills its oldest samples into the streaming buffer: nothing lost, nothing repeated', () => {
    const b = buffers(2);
    b.capture(counterCoded(30000));
    b.takeBlock(1024);
    const change = b.ring.shrink();
    assert.equal(change.spilled, 30000 - 1024 - 16000);
    assert.equal(b.spilledSamples, change.spilled);
    assert.equal(b.segmenterState().speechSeen, true, 'spilled audio counts as speech: never cut inside it');
    const held = concatAudio(b.held());
    assert.equal(findCounterBreak(held), -1);
    assert.equal(held.length, 30000);
  });

  it('the remainder of a recording includes the partial block, and cutting starts afresh', () => {
    const b = buffers();
    b.capture(counterCoded(3000));
    b.takeBlock(1024);
    const { audio, speechSeen } = b.takeRemainder();
    assert.equal(audio.length, 3000);
    assert.equal(findCounterBreak(audio), -1);
    assert.equal(speechSeen, true);
    assert.equal(b.heldSamples, 0);
    assert.deepEqual(b.segmenterState(), { bufferedSamples: 0, silenceSamples: 0, speechSeen: false });
  });
});

describe('batch chunking', () => {
  const seconds = (s: number) => s * RATE;
  const counts: [number, number][] = [[0, 0], [1, 1], [10, 1], [10.01, 2], [19, 2], [19.01, 3], [91, 10], [90.5, 10], [82, 9]];
  for (const [length, chunks] of counts) {
    it(`${length} s makes ${chunks} chunk(s) of 10 s with 1 s overlap`, () => assert.equal(chunkCount(seconds(length)), chunks));
  }

  it('chunks stride 9 s, the last ends with the audio, and ownership tiles the recording exactly once', () => {
    const chunks = planChunks(seconds(30));
    assert.deepEqual(chunks.map((c) => [c.start / RATE, c.end / RATE]), [[0, 10], [9, 19], [18, 28], [27, 30]]);
    assert.equal(chunks[0]!.ownedStart, 0);
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i]!.ownedStart, chunks[i - 1]!.ownedEnd);
    assert.equal(chunks.at(-1)!.ownedEnd, seconds(30));
    assert.deepEqual(chunks.map((c) => c.ownedStart / RATE), [0, 9.5, 18.5, 27.5]);
  });

  it('a word in the overlap is kept by the chunk that owns its start only', () => {
    const [first, second] = planChunks(seconds(20));
    const word = (startSeconds: number, chunkStart: number) => ({ word: 'x', level: 0, startSample: seconds(startSeconds) - chunkStart, endSample: 0 });
    assert.equal(ownedWords([word(9.2, first!.start)], first!).length, 1);
    assert.equal(ownedWords([word(9.2, second!.start)], second!).length, 0);
    assert.equal(ownedWords([word(9.7, first!.start)], first!).length, 0);
    assert.equal(ownedWords([word(9.7, second!.start)], second!).length, 1);
    // A run cut off by the start of chunk 2 reads as starting at its first sample: owned by chunk 1.
    assert.equal(ownedWords([word(9, second!.start)], second!).length, 0);
  });

  it('rejects an overlap as long as the chunk', () => {
    assert.throws(() => planChunks(100, { chunkSeconds: 1, overlapSeconds: 1 }), /overlapSeconds must be at least 0 and shorter than chunkSeconds \(1\)/);
  });
});

describe('TranscriptionProgress', () => {
  it('types only the new words of the cumulative text', () => {
    const progress = new TranscriptionProgress(RATE);
    const typed: string[] = [];
    for (const text of ['alpha bravo', '', 'charlie']) {
      const toType = progress.append(text, 0.9);
      if (toType) typed.push(toType);
      progress.markInjected();
    }
    assert.deepEqual(typed, ['alpha bravo', ' charlie']);
    assert.equal(progress.partialText, 'alpha bravo charlie');
    assert.equal(progress.lastInjected, 'alpha bravo charlie');
  });

  it('text that was not typed (the injector failed) is typed with the next text', () => {
    const progress = new TranscriptionProgress(RATE);
    progress.append('alpha', 1);
    assert.equal(progress.append('bravo', 1), 'alpha bravo');
  });

  it('restores a checkpoint and never types its lastInjected again', () => {
    const progress = new TranscriptionProgress(RATE);
    progress.restore({ partialText: 'alpha bravo', lastInjected: 'alpha bravo', chunkIndex: 5, totalChunks: 10, lastTimestamp: 45, confidence: 0.85, streamingFrames: 7 });
    assert.equal(progress.append('charlie', 1), ' charlie');
    assert.throws(() => progress.restore({ ...progress.snapshot(), chunkIndex: 11 }, 'resume()'), /resume\(\): checkpoint field "chunkIndex" must be a whole number from 0 to 10, got 11/);
  });

  it('keeps confidence within 0..1', () => {
    const progress = new TranscriptionProgress(RATE);
    progress.append('x', 7);
    assert.equal(progress.confidence, 1);
    progress.append('y', Number.NaN);
    assert.equal(progress.confidence, 0);
  });
});
