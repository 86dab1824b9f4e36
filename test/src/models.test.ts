import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createCpuDevice, DeviceOperationError, DeviceOutOfMemoryError, type Device } from '../../src/device/index.js';
import { SttModel, STT_PRESETS } from '../../src/models/stt-model.js';
import { VadModel } from '../../src/models/vad-model.js';
import { levelOf, LEVEL_STEP, toneAmplitudeForWord, VOCABULARY, wordsFromFrameLevels } from '../../src/models/transcript.js';
import { concatAudio, seededNoise, silence, tone } from '../../src/synthetic-audio.js';

const MB = 1_000_000;
const opened: Device[] = [];
const models: { dispose(): void }[] = [];
function device(budgetMB = 32): Device {
  const d = createCpuDevice({ budgetMB });
  opened.push(d);
  return d;
}
function stt(d: Device, options: ConstructorParameters<typeof SttModel>[1] = {}): SttModel {
  const model = new SttModel(d, { preset: 'TEST', ...options });
  models.push(model);
  return model;
}
function vad(d: Device, options: ConstructorParameters<typeof VadModel>[1] = {}): VadModel {
  const model = new VadModel(d, options);
  models.push(model);
  return model;
}
afterEach(() => {
  for (const model of models.splice(0)) model.dispose();
  for (const d of opened.splice(0)) d.close();
});

describe('transcript levels', () => {
  const cases: [number, number][] = [
    [0, 0], [LEVEL_STEP - 1e-9, 0], [LEVEL_STEP, 1], [0.3, 12], [10, VOCABULARY.length - 1],
  ];
  for (const [rms, level] of cases) it(`RMS ${rms} is level ${level}`, () => assert.equal(levelOf(rms), level));

  it('a tone made for a word has its RMS in the middle of that word\'s level', () => {
    for (let index = 0; index < 28; index++) {
      const rms = toneAmplitudeForWord(index) / Math.SQRT2;
      assert.equal(levelOf(rms), index);
      assert.ok(Math.abs(rms / LEVEL_STEP - index - 0.5) < 1e-9);
    }
    assert.throws(() => toneAmplitudeForWord('nonsense'), /no such word in the vocabulary: nonsense/);
  });

  it('turns each voiced run into one word, bridging short gaps and ignoring clicks', () => {
    const q = LEVEL_STEP;
    // run A (frames 0-3, one 2-frame gap bridged), a 3-frame gap, a 1-frame click, a 3-frame gap, run B (frames 11-12)
    const levels = [2.5 * q, 2.5 * q, 0, 0, 2.2 * q, 0, 0, 0, 9.5 * q, 0, 0, 0, 5.5 * q, 5.1 * q];
    const { words } = wordsFromFrameLevels(levels, 10, 140);
    assert.deepEqual(
      words.map((w) => [w.word, w.startSample, w.endSample]),
      [
        [VOCABULARY[2], 0, 50],
        [VOCABULARY[5], 120, 140],
      ],
    );
  });
});

describe('SttModel placement', () => {
  it('loads onto the device and moves in place, charging the budget only while there', () => {
    const d = device();
    const model = stt(d, { weightMB: 3, contextSeconds: 2, contextMBPerSecond: 0.5 });
    model.load('cuda');
    assert.equal(model.device, 'cuda');
    assert.equal(d.allocatedBytes(), 4 * MB, 'weights + context on the device');
    model.toCpu();
    assert.equal(model.device, 'cpu');
    assert.equal(d.allocatedBytes(), 0);
    model.toCpu(); // already there: nothing happens
    model.toGpu();
    assert.equal(d.allocatedBytes(), 4 * MB);
    assert.deepEqual(model.moves, { toGpu: 1, toCpu: 1 });
  });

  it('a load that does not fit falls back to the CPU and rethrows the OOM', () => {
    const d = device(3);
    const model = stt(d, { weightMB: 4 });
    assert.throws(() => model.load('cuda'), DeviceOutOfMemoryError);
    assert.equal(model.device, 'cpu');
    assert.equal(model.isLoaded, true);
    assert.equal(d.allocatedBytes(), 0);
  });

  it('a move whose second buffer does not fit puts the first back: never split between device and host', () => {
    const d = device(5);
    const model = stt(d, { weightMB: 4, contextSeconds: 2, contextMBPerSecond: 1 });
    model.load('cpu');
    assert.throws(() => model.toGpu(), DeviceOutOfMemoryError);
    assert.equal(model.device, 'cpu');
    assert.equal(d.allocatedBytes(), 0);
    assert.equal(model.moves.toGpu, 0);
  });

  it('an injected CUDA error during the move surfaces as the device raised it', () => {
    const d = device();
    const model = stt(d);
    model.load('cpu');
    d.faults.failNextOperations(1);
    assert.throws(() => model.toGpu(), (error: unknown) => error instanceof DeviceOperationError && /unspecified launch failure/.test(error.message));
    assert.equal(model.device, 'cpu');
  });

  it('dispose frees the device and the host tensors; further use says so', () => {
    const d = device();
    const before = tf.memory().numTensors;
    const model = new SttModel(d, { preset: 'TEST' });
    model.load('cuda');
    model.toCpu();
    model.toGpu();
    model.dispose();
    d.emptyCache();
    assert.equal(d.allocatedBytes(), 0);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => model.transcribe(new Float32Array(10)), /stt_model.transcribe: the model was disposed/);
  });

  it('reduceContext halves the streaming context down to its floor, freeing device memory', () => {
    const d = device();
    const model = stt(d, { weightMB: 1, contextSeconds: 8, contextMBPerSecond: 1, minContextSeconds: 1.5 });
    model.load('cuda');
    const steps = [8, 4, 2, 1.5, 1.5].map((expected) => {
      assert.equal(model.contextSeconds, expected);
      assert.equal(d.allocatedBytes(), (1 + expected) * MB);
      return model.reduceContext();
    });
    assert.deepEqual(steps[0], { beforeSeconds: 8, afterSeconds: 4, freedBytes: 4 * MB });
    assert.equal(steps[4]!.freedBytes, 0);
  });

  it('validates its sizes with a sentence naming the option', () => {
    const d = device();
    assert.throws(() => new SttModel(d, { weightMB: 0.001 }), /SttModel option weightMB \(0\.001\) is too small/);
    assert.throws(() => new SttModel(d, { weightMB: -1 }), /SttModel option weightMB must be a positive number/);
    assert.throws(() => new SttModel(d, { preset: 'TEST', contextSeconds: 2, minContextSeconds: 3 }), /minContextSeconds must be between 0 and contextSeconds/);
  });

  it('the real presets carry the measured sizes', () => {
    assert.equal(STT_PRESETS.FP32.weightMB, 3600);
    assert.equal(STT_PRESETS.FP16.weightMB, 1792.6);
    assert.equal(STT_PRESETS.FP16.contextSeconds * STT_PRESETS.FP16.contextMBPerSecond, 400);
  });
});

describe('SttModel.transcribe', () => {
  const words = ['charlie', 'hotel', 'romeo'];
  const audio = concatAudio(words.flatMap((word, i) => [tone({ seconds: 0.6, amplitude: toneAmplitudeForWord(word), frequencyHz: 300 + 100 * i }), silence(0.5)]));

  it('produces one word per voiced stretch, chosen by its loudness, with where it was heard', async () => {
    const model = stt(device());
    model.load('cuda');
    const result = await model.transcribe(audio);
    assert.equal(result.text, 'charlie hotel romeo');
    assert.equal(result.device, 'cuda');
    assert.equal(result.samples, audio.length);
    assert.ok(result.confidence > 0.9, `tones in the middle of their level are recognised clearly (got ${result.confidence})`);
    result.words.forEach((word, i) => {
      const toneStart = i * 17600; // 0.6 s of tone + 0.5 s of silence per word
      assert.ok(word.startSample <= toneStart && toneStart - word.startSample < 1024, `word ${i} starts in the frame where its tone starts`);
    });
  });

  it('gives the same text on the CPU, deterministically', async () => {
    const model = stt(device());
    model.load('cuda');
    const onDevice = await model.transcribe(audio);
    model.toCpu();
    const onHost = await model.transcribe(audio);
    assert.deepEqual({ ...onHost, device: 'cuda' }, onDevice);
    assert.equal(onHost.device, 'cpu');
  });

  it('frees its inference buffer after each call and leaks no tensors', async () => {
    const d = device();
    const model = stt(d, { inferenceMB: 2 });
    model.load('cuda');
    const allocated = d.allocatedBytes();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await model.transcribe(audio);
    assert.equal(d.allocatedBytes(), allocated);
    assert.equal(d.peakAllocatedBytes(), allocated + 2 * MB, 'the buffer was really allocated on the device');
    assert.equal(tf.memory().numTensors, tensors + 1, 'one cached block, no stray tensors');
  });

  it('an injected OOM surfaces from the inference buffer; an impossible request is a real OOM', () => {
    const d = device(16);
    const model = stt(d);
    model.load('cuda');
    d.faults.failNextAllocations(1);
    assert.throws(() => model.transcribe(audio), (e: unknown) => e instanceof DeviceOutOfMemoryError && e.injected);
    model.inferenceBytes = d.totalBytes() + 100 * MB;
    assert.throws(() => model.transcribe(audio), (e: unknown) => e instanceof DeviceOutOfMemoryError && !e.injected && e.requestedBytes === 116 * MB);
    model.toCpu();
    assert.equal((model.transcribe(audio) as { text: string }).text, 'charlie hotel romeo', 'on the CPU the request is host memory');
  });

  it('an injected CUDA error surfaces from the math, and only on the device', () => {
    const d = device();
    const model = stt(d);
    model.load('cuda');
    d.faults.failNextOperations(1);
    assert.throws(() => model.transcribe(audio), /CUDA error: unspecified launch failure/);
    d.faults.failNextOperations(1);
    model.toCpu();
    assert.equal((model.transcribe(audio) as { text: string }).text, 'charlie hotel romeo');
    assert.equal(d.faults.pendingOperationFailures, 1, 'the CPU path never touched the device');
  });

  it('noise above ±1 and empty audio are handled', () => {
    const model = stt(device());
    model.load('cpu');
    const loud = model.transcribe(seededNoise(16000, { seed: 7, amplitude: 3 })) as { text: string };
    assert.equal(loud.text, VOCABULARY[VOCABULARY.length - 1]);
    assert.deepEqual(model.transcribe(new Float32Array(0)), { text: '', words: [], confidence: 0, samples: 0, device: 'cpu' });
  });
});

describe('VadModel', () => {
  /** A window whose last `toneSamples` samples are a tone and the rest silence. */
  function windowWith(toneSamples: number): Float32Array {
    const w = new Float32Array(8192);
    w.set(tone({ seconds: toneSamples / 16000, amplitude: 0.3 }), 8192 - toneSamples);
    return w;
  }

  // Speech needs 8 voiced 512-sample frames (0.25 s of Silero's min_speech, rounded up to whole frames).
  const cases: [string, number, boolean][] = [
    ['silence', 0, false],
    ['7 frames of tone', 7 * 512, false],
    ['8 frames of tone', 8 * 512, true],
    ['a full window of tone', 8192, true],
  ];
  for (const [label, toneSamples, speech] of cases) {
    it(`${label} is ${speech ? 'speech' : 'not speech'}`, () => {
      const model = vad(device());
      model.load('cuda');
      const decision = model.detect(windowWith(toneSamples));
      assert.equal(decision.speech, speech);
      assert.equal(decision.voicedFrames, toneSamples / 512);
      assert.equal(decision.probability >= 0.5, speech);
    });
  }

  it('pads a short window with silence in front', () => {
    const model = vad(device());
    model.load('cpu');
    assert.equal(model.detect(tone({ seconds: 0.3 })).speech, true);
    assert.equal(model.detect(tone({ seconds: 0.1 })).speech, false);
  });

  it('stages its input on the device (2a: an OOM surfaces there) and runs through device.run (2b)', () => {
    const d = device();
    const model = vad(d);
    model.load('cuda');
    const weights = d.allocatedBytes();
    assert.equal(weights, 2.2 * MB);
    const staged = model.stageInput(windowWith(0));
    assert.equal(d.allocatedBytes(), weights + 8192 * 4);
    staged.release();
    assert.equal(d.allocatedBytes(), weights);
    d.faults.failNextAllocations(1);
    assert.throws(() => model.stageInput(windowWith(0)), DeviceOutOfMemoryError);
    d.faults.failNextOperations(1);
    assert.throws(() => model.detect(windowWith(0)), DeviceOperationError);
    model.toCpu();
    d.faults.failNextAllocations(1);
    model.stageInput(windowWith(0)).release();
    assert.equal(d.faults.pendingAllocationFailures, 1, 'on the CPU staging touches nothing');
  });

  it('rejects a window that is not whole frames, or a minimum longer than the window', () => {
    const d = device();
    assert.throws(() => new VadModel(d, { windowSamples: 1000 }), /windowSamples must be a whole number of frames \(512 samples each\)/);
    assert.throws(() => new VadModel(d, { windowSamples: 1024, minSpeechSeconds: 0.25 }), /minSpeechSeconds \(0\.25\) is longer than the window/);
  });
});
