import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type AudioReference,
  CHECKPOINT_VERSION,
  CheckpointError,
  type TranscriptionState,
  parseCheckpointFile,
  planResume,
  serializeCheckpointFile,
  textToInject,
  validateTranscriptionState,
} from '../../src/checkpoint.js';

const STATE: TranscriptionState = {
  partialText: 'This is a partial transcription that should be',
  chunkIndex: 5,
  totalChunks: 10,
  lastTimestamp: 1732758960.25,
  confidence: 0.85,
  lastInjected: 'This is a partial transcription that should be',
  streamingFrames: 42,
  sampleRate: 16000,
};

const AUDIO: AudioReference = { file: 'emergency-x.wav', samples: 160000, sampleRate: 16000, channels: 1, bytes: 640044, sha256: 'a'.repeat(64) };
const CREATED = new Date('2025-11-28T01:56:00.123Z');

test('serialise then parse gives back every field, the version and the time', () => {
  const { checkpoint, audio } = parseCheckpointFile(serializeCheckpointFile(STATE, AUDIO, CREATED));
  assert.deepEqual(checkpoint, { ...STATE, version: CHECKPOINT_VERSION, createdAt: '2025-11-28T01:56:00.123Z' });
  assert.deepEqual(audio, AUDIO);
});

test('the JSON is flat and readable by other tools', () => {
  const json = JSON.parse(serializeCheckpointFile(STATE, AUDIO, CREATED));
  assert.equal(json.partialText, STATE.partialText);
  assert.equal(json.chunkIndex, 5);
  assert.equal(json.audio.file, 'emergency-x.wav');
});

test('sampleRate is optional and unknown fields are ignored', () => {
  const { sampleRate: _, ...withoutRate } = STATE;
  const state = validateTranscriptionState({ ...withoutRate, somethingNew: 1 });
  assert.equal('sampleRate' in state, false);
  assert.equal('somethingNew' in state, false);
});

/** Serialised checkpoint JSON with `change` applied to the parsed object. */
function mutated(change: (record: Record<string, any>) => void): string {
  const record = JSON.parse(serializeCheckpointFile(STATE, AUDIO, CREATED));
  change(record);
  return JSON.stringify(record);
}

const INVALID: [name: string, text: string, message: string][] = [
  ['not JSON', '{"partialText": ', 'not valid JSON'],
  ['an array', '[]', 'a checkpoint must be a JSON object, got []'],
  ['a missing partialText', mutated((r) => delete r.partialText), 'checkpoint field "partialText" must be a string, got nothing'],
  ['a numeric lastInjected', mutated((r) => (r.lastInjected = 3)), 'checkpoint field "lastInjected" must be a string, got 3'],
  ['a negative chunkIndex', mutated((r) => (r.chunkIndex = -1)), 'checkpoint field "chunkIndex" must be a whole number from 0 to 10, got -1'],
  ['a chunkIndex past totalChunks', mutated((r) => (r.chunkIndex = 11)), 'checkpoint field "chunkIndex" must be a whole number from 0 to 10, got 11'],
  ['a fractional totalChunks', mutated((r) => (r.totalChunks = 2.5)), 'checkpoint field "totalChunks" must be a whole number >= 0, got 2.5'],
  ['a confidence above 1', mutated((r) => (r.confidence = 1.5)), 'checkpoint field "confidence" must be a number from 0 to 1, got 1.5'],
  ['a string lastTimestamp', mutated((r) => (r.lastTimestamp = 'now')), 'checkpoint field "lastTimestamp" must be a finite number, got "now"'],
  ['a null streamingFrames', mutated((r) => (r.streamingFrames = null)), 'checkpoint field "streamingFrames" must be a whole number >= 0, got null'],
  ['a zero sampleRate', mutated((r) => (r.sampleRate = 0)), 'checkpoint field "sampleRate" must be above 0, got 0'],
  ['a missing version', mutated((r) => delete r.version), 'checkpoint field "version" must be a whole number >= 1, got nothing'],
  ['a newer version', mutated((r) => (r.version = 2)), 'checkpoint version 2 was written by a newer release; this one reads version 1'],
  ['a bad createdAt', mutated((r) => (r.createdAt = 'yesterday')), 'checkpoint field "createdAt" must be an ISO-8601 time, got "yesterday"'],
  ['no audio reference', mutated((r) => delete r.audio), 'checkpoint field "audio" must be a JSON object, got nothing'],
  ['an audio path that escapes the directory', mutated((r) => (r.audio.file = '../../etc/passwd')), 'checkpoint field "audio.file" must be a bare file name, got "../../etc/passwd"'],
  ['an audio file of ".."', mutated((r) => (r.audio.file = '..')), 'checkpoint field "audio.file" must be a bare file name, got ".."'],
  ['a negative sample count', mutated((r) => (r.audio.samples = -5)), 'checkpoint field "audio.samples" must be a whole number >= 0, got -5'],
  ['a short checksum', mutated((r) => (r.audio.sha256 = 'abc')), 'checkpoint field "audio.sha256" must be 64 lowercase hex digits, got "abc"'],
  ['zero channels', mutated((r) => (r.audio.channels = 0)), 'checkpoint fields "audio.sampleRate" and "audio.channels" must be above 0'],
];
for (const [name, text, message] of INVALID) {
  test(`loading rejects ${name}, naming the file`, () => {
    assert.throws(
      () => parseCheckpointFile(text, '/state/emergency/x.json'),
      (error: unknown) => error instanceof CheckpointError && error.message.startsWith(`/state/emergency/x.json: ${message}`),
    );
  });
}

test('serialising refuses an invalid live state instead of saving it', () => {
  assert.throws(() => serializeCheckpointFile({ ...STATE, confidence: Number.NaN }, AUDIO, CREATED), /"confidence" must be a number from 0 to 1, got NaN/);
});

const RESUME_PLANS: [chunkIndex: number, totalChunks: number, chunks: number[]][] = [
  [5, 10, [5, 6, 7, 8, 9]],
  [0, 3, [0, 1, 2]],
  [9, 10, [9]],
  [10, 10, []],
  [0, 0, []],
];
for (const [chunkIndex, totalChunks, chunks] of RESUME_PLANS) {
  test(`planResume at chunk ${chunkIndex} of ${totalChunks} processes [${chunks.join(', ')}]`, () => {
    const plan = planResume({ ...STATE, chunkIndex, totalChunks });
    assert.deepEqual(plan, { startChunk: chunkIndex, endChunkExclusive: totalChunks, chunkIndices: chunks, alreadyInjected: STATE.lastInjected });
  });
}

test('planResume refuses a checkpoint whose chunk index is past the end', () => {
  assert.throws(() => planResume({ ...STATE, chunkIndex: 11 }), CheckpointError);
});

const INJECTIONS: [lastInjected: string, newText: string, expected: string][] = [
  ['', 'hello world', 'hello world'],
  ['hello', 'hello world', ' world'],
  ['hello world', 'hello world', ''],
  ['hello world', 'hello', 'hello'], // shorter: a revision, injected whole
  ['hello world', 'Hello world again', 'Hello world again'], // revised: case differs
  ['This is a partial transcription that should be', 'This is a partial transcription that should be resumed.', ' resumed.'],
];
for (const [lastInjected, newText, expected] of INJECTIONS) {
  test(`textToInject(${JSON.stringify(lastInjected)}, ${JSON.stringify(newText)}) = ${JSON.stringify(expected)}`, () => {
    assert.equal(textToInject(lastInjected, newText), expected);
  });
}

test('resuming with the dedupe rule emits the partial text exactly once', () => {
  const plan = planResume(STATE);
  let injected = STATE.lastInjected; // what the user already has on screen
  let transcript = STATE.partialText;
  for (const chunk of plan.chunkIndices) {
    transcript += ` chunk${chunk}`;
    const text = textToInject(injected, transcript);
    injected += text;
  }
  assert.equal(injected, `${STATE.partialText} chunk5 chunk6 chunk7 chunk8 chunk9`);
  assert.equal(injected.split(STATE.partialText).length - 1, 1);
});
