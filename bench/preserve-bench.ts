// How long does an emergency save of 10 s of audio (160,000 float32 samples) plus the checkpoint take, durably?
// Run: npx tsx bench/preserve-bench.ts [runs]
//
// Side by side, in one run: the durable EmergencyPreserver (temp file + fsync + rename + directory fsync, twice), the
// plain writeFileSync of the same two files that a user would otherwise reach for (neither atomic nor durable), and
// the CPU-only parts (WAV encoding, SHA-256). Also: recover() of that save, and 1,024-sample writes into a full 30 s
// AdaptiveAudioBuffer (each one spills a block).

import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AdaptiveAudioBuffer } from '../src/audio-buffer.js';
import type { TranscriptionState } from '../src/checkpoint.js';
import { EmergencyPreserver } from '../src/preservation.js';
import { encodeFloat32Wav } from '../src/wav.js';

const runs = Number(process.argv[2] ?? 30);
const workDir = join(import.meta.dirname, '.work', 'preserve');
fs.rmSync(workDir, { recursive: true, force: true });
fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });

const samples = new Float32Array(160_000);
let seed = 1;
for (let i = 0; i < samples.length; i++) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  samples[i] = (seed / 0x100000000 - 0.5) * 4;
}
const state: TranscriptionState = {
  partialText: 'This is a partial transcription that should be',
  chunkIndex: 5, totalChunks: 10, lastTimestamp: 1732758960, confidence: 0.85, lastInjected: '', streamingFrames: 12,
};

function measure(name: string, action: (run: number) => void, afterEach: () => void = () => {}): number[] {
  const times: number[] = [];
  for (let run = -3; run < runs; run++) { // three warm-up runs
    const start = process.hrtime.bigint();
    action(run);
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (run >= 0) times.push(elapsedMs);
    afterEach();
  }
  times.sort((a, b) => a - b);
  const quantile = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  console.log(`${name.padEnd(58)} median ${quantile(0.5).toFixed(2).padStart(7)} ms   p95 ${quantile(0.95).toFixed(2).padStart(7)} ms`);
  return times;
}

const median = (times: number[]) => times[Math.floor((times.length - 1) / 2)]!;
/** Removes the files a run wrote, keeping the directories (creating them is not part of a save). */
const removeFilesIn = (dir: string) => () => {
  for (const name of fs.readdirSync(dir)) if (fs.lstatSync(join(dir, name)).isFile()) fs.unlinkSync(join(dir, name));
};

console.log(`${runs} runs each, 160,000 samples (10 s at 16 kHz, 640,044-byte WAV), in ${workDir}`);
const emergencyDir = join(workDir, 'emergency');
const preserver = new EmergencyPreserver({ dir: emergencyDir });
const durable = measure('EmergencyPreserver.preserve (durable, 2 files)', () => {
  preserver.preserve({ audio: samples, sampleRate: 16000, checkpoint: state });
}, removeFilesIn(emergencyDir));
const plain = measure('writeFileSync of the same WAV + JSON (no fsync, no rename)', () => {
  fs.writeFileSync(join(workDir, 'plain.wav'), encodeFloat32Wav(samples, 16000), { mode: 0o600 });
  fs.writeFileSync(join(workDir, 'plain.json'), JSON.stringify(state), { mode: 0o600 });
}, removeFilesIn(workDir));
measure('  of which: encodeFloat32Wav', () => void encodeFloat32Wav(samples, 16000));
const wav = encodeFloat32Wav(samples, 16000);
measure('  of which: SHA-256 of the WAV', () => void createHash('sha256').update(wav).digest('hex'));

preserver.preserve({ audio: samples, sampleRate: 16000, checkpoint: state });
measure('recover() of that save on a fresh preserver', () => void new EmergencyPreserver({ dir: emergencyDir }).recover());

let spilled = 0;
const buffer = new AdaptiveAudioBuffer({ spill: (block) => void (spilled += block.length) });
const block = samples.subarray(0, 1024);
for (let i = 0; i < 480; i++) buffer.write(block); // fill it: from now on every write spills a block
const blockTimes = measure('AdaptiveAudioBuffer: 1,000 writes of 1,024 samples, full', () => {
  for (let i = 0; i < 1000; i++) buffer.write(block);
});

console.log(`durable save costs ${(median(durable) / median(plain)).toFixed(1)}x a plain writeFileSync of the same bytes`);
console.log(`buffer write of one 1,024-sample block (64 ms of audio): ${median(blockTimes).toFixed(2)} us (median)`);
fs.rmSync(workDir, { recursive: true, force: true });
