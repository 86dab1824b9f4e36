// Data safety: what the daemon holds is saved (bit-exact, with the transcription state) on an OOM while processing
// and on an emergency shutdown, before capture stops and before the exit hook; a failed save is reported and kept;
// a saved batch resumes without typing anything twice; memory pressure shrinks the ring without losing a sample.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { TranscriptionState } from '../../src/checkpoint.js';
import type { DaemonEvent } from '../../src/daemon.js';
import { FaultyFs } from '../../src/durable-fs.js';
import { toneAmplitudeForWord, VOCABULARY } from '../../src/models/transcript.js';
import { EmergencyPreserver } from '../../src/preservation.js';
import { concatAudio, counterCoded, findCounterBreak, sameSamples, seededNoise, silence, tone } from '../../src/synthetic-audio.js';
import { decodeWav, WAVE_FORMAT_IEEE_FLOAT } from '../../src/wav.js';
import { daemonRig, GatedStt, listDir, RATE, spokenWords, tearDownRigs } from './daemon-fixtures.js';

afterEach(tearDownRigs);

describe('preservation on an OOM while processing', () => {
  it('10 s of audio with values beyond ±1 comes back from disk bit for bit, as 16 kHz mono float32', async () => {
    const { daemon, device, emergencyFiles } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    const audio = seededNoise(10 * RATE, { seed: 2025, amplitude: 1.5 }); // loud throughout: held as one segment
    await daemon.feedAudio(audio);
    daemon.subscribe((event) => {
      if (event.type === 'segment-queued') device.faults.failNextAllocations(1);
    });
    await daemon.toggle();
    assert.equal(emergencyFiles().length, 2);
    const wav = decodeWav(readFileSync(daemon.lastPreservation!.audioPath));
    assert.equal(wav.samples.length, 160_000);
    assert.equal(wav.sampleRate, 16_000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.formatTag, WAVE_FORMAT_IEEE_FLOAT);
    assert.equal(wav.bitsPerSample, 32);
    assert.ok(sameSamples(wav.samples, audio), 'preservation rate 100%, bit-perfect');
    assert.equal(daemon.getStatus().segmentsDone, 1, 'and the retry still transcribed it');
  });

  it('with preserveOnOom off, an OOM that the retry fixes saves nothing', async () => {
    const { daemon, device, emergencyFiles, injector } = daemonRig({ preserveOnOom: false });
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(tone({ seconds: 1, amplitude: toneAmplitudeForWord('lima') }));
    daemon.subscribe((event) => {
      if (event.type === 'segment-queued') device.faults.failNextAllocations(1);
    });
    await daemon.toggle();
    assert.equal(injector.text, 'lima');
    assert.deepEqual(emergencyFiles(), []);
  });

  it('a save that cannot be written is announced and kept in memory, then written by the retry at stop()', async () => {
    const faulty = new FaultyFs(undefined, { step: 'write', errno: 'ENOSPC', times: Infinity });
    const { daemon, device, ofType, emergencyDir } = daemonRig({ preserverFor: (dir) => new EmergencyPreserver({ dir, fs: faulty }) });
    const failures: DaemonEvent[] = [];
    daemon.subscribe((event) => event.type === 'preservation-failed' && failures.push(event));
    await daemon.start();
    await daemon.toggle();
    const audio = tone({ seconds: 1, amplitude: 0.4 });
    await daemon.feedAudio(audio);
    daemon.subscribe((event) => {
      if (event.type === 'segment-queued') device.faults.failNextAllocations(1);
    });
    await daemon.toggle();
    assert.equal(ofType('PRESERVATION_FAILED').length, 1);
    assert.match(ofType('PRESERVATION_FAILED')[0]!.message, /ENOSPC/);
    assert.equal(failures.length, 1);
    assert.equal(daemon.preserver.pendingCount(), 1);
    assert.deepEqual(listDir(emergencyDir).filter((name) => !name.includes('.tmp-')), []);
    faulty.disarm(); // space was freed
    await daemon.stop();
    assert.equal(daemon.preserver.pendingCount(), 0);
    const saved = daemon.preserver.loadLatest();
    assert.ok(saved && sameSamples(saved.audio, audio));
  });
});

describe('emergency shutdown', () => {
  it('saves ring + streaming buffer and the live state before the exit hook; stop() keeps the files', async () => {
    const exits: number[] = [];
    const filesAtExit: string[][] = [];
    const stateAtExit: string[] = [];
    const rig = daemonRig({
      withSocket: true,
      registerModels: false,
      exitHook: (code) => {
        exits.push(code);
        filesAtExit.push(rig.emergencyFiles());
        stateAtExit.push(rig.daemon.state);
      },
    });
    const { daemon, emergencyFiles, setBallast, ofType } = rig;
    await daemon.start();
    await daemon.toggle();
    const audio = concatAudio([seededNoise(3 * RATE - 300, { seed: 9, amplitude: 2 }), new Float32Array(300)]);
    await daemon.feedAudio(audio); // the last 300 samples stay in the ring (less than one block)
    assert.equal(daemon.buffers.ring.length, (3 * RATE) % 1024);
    const liveState: TranscriptionState = daemon.getTranscriptionState();
    setBallast(56); // 7.2 + 56 = 63.2 of 64 MB; nothing registered, so offloading cannot help
    await daemon.memoryManager.checkOnce();

    assert.deepEqual(exits, [1], 'exit hook called once, with 1');
    assert.equal(filesAtExit[0]!.length, 2, 'WAV and checkpoint were on disk before the exit hook ran');
    assert.deepEqual(stateAtExit, ['error']);
    assert.equal(daemon.state, 'error');
    assert.equal(daemon.running, false);
    assert.equal(existsSync(rig.socketPath!), false, 'socket removed');
    assert.equal(ofType('EMERGENCY_SHUTDOWN').length, 1);
    assert.equal(daemon.getStatus().buffer.capacitySeconds, 30, "no 'emergency' level callback after a shutdown (ORIG order)");

    const saved = daemon.preserver.loadLatest()!;
    assert.ok(sameSamples(saved.audio, audio), 'exactly the captured samples, count and bit pattern');
    const { version, createdAt, ...checkpoint } = saved.checkpoint;
    assert.deepEqual(checkpoint, liveState);
    assert.ok(version >= 1 && createdAt);

    await daemon.stop();
    assert.deepEqual(emergencyFiles(), filesAtExit[0], 'stop() does not delete emergency files');
    await daemon.feedAudio(tone({ seconds: 1 }));
    assert.equal(daemon.getStatus().capturedSamples, audio.length, 'capture is stopped');
  });
});

describe('emergency shutdown with a segment in flight', () => {
  it('saves the segment in flight first, with a checkpoint that resumes it; its late result is dropped', async () => {
    let stt!: GatedStt;
    const rig = daemonRig({ registerModels: false, sttModelFor: (device) => (stt = new GatedStt(device, { preset: 'TEST' })) });
    const { daemon, setBallast, injector, exits } = rig;
    await daemon.start();
    await daemon.toggle();
    const fed = concatAudio([spokenWords(['alpha']), tone({ seconds: 1, amplitude: toneAmplitudeForWord('bravo') })]);
    await daemon.feedAudio(fed);
    assert.equal(stt.waiting, 1, "'alpha' is in flight, 'bravo' still in the streaming buffer");
    const live = daemon.getTranscriptionState();
    assert.deepEqual([live.chunkIndex, live.totalChunks], [0, 1], 'the held audio, as batch chunks');
    setBallast(56);
    await daemon.memoryManager.checkOnce();
    assert.deepEqual(exits, [1]);
    const saved = daemon.preserver.loadLatest()!;
    assert.ok(sameSamples(saved.audio, fed), 'in-flight segment + streaming buffer + ring, in order, bit-exact');
    assert.equal(saved.checkpoint.totalChunks, 1);
    stt.releaseOne();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(injector.text, '', 'the abandoned transcription types nothing (its audio is in the save)');

    const second = daemonRig();
    await second.daemon.start();
    await second.daemon.resume(saved.checkpoint, saved.audio);
    assert.equal(second.injector.text, 'alpha bravo');
  });
});

describe('batch checkpoint and resume', () => {
  // 20 words, one every 4.5 s, each its own level: 90 s make 10 chunks of 10 s with 1 s overlap.
  const words = VOCABULARY.slice(2, 22);
  const recording = concatAudio(words.flatMap((word) => [tone({ seconds: 1.2, amplitude: toneAmplitudeForWord(word) }), silence(3.3)]));
  const fullText = words.join(' ');

  it('transcribes a long recording chunk by chunk, each word exactly once', async () => {
    const { daemon, injector } = daemonRig({ mode: 'batch' });
    const chunks: number[] = [];
    daemon.subscribe((event) => event.type === 'chunk-done' && chunks.push(event.index));
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(recording);
    await daemon.toggle();
    assert.deepEqual(chunks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(injector.text, fullText);
    assert.equal(daemon.getTranscriptionState().chunkIndex, 10);
  });

  it('an OOM in chunk 5 of 10 saves a checkpoint; resume() does chunks 5-9 only and types nothing twice', async () => {
    const first = daemonRig({ mode: 'batch' });
    let typedBeforeChunk5 = '';
    first.daemon.subscribe((event) => {
      if (event.type === 'chunk-start' && event.index === 5) {
        typedBeforeChunk5 = first.injector.text;
        first.device.faults.failNextAllocations(1);
      }
    });
    await first.daemon.start();
    await first.daemon.toggle();
    await first.daemon.feedAudio(recording);
    await first.daemon.toggle();
    assert.equal(first.injector.text, fullText, 'the retry on the CPU finished the recording');

    const saved = new EmergencyPreserver({ dir: first.emergencyDir }).loadLatest()!;
    assert.equal(saved.checkpoint.chunkIndex, 5);
    assert.equal(saved.checkpoint.totalChunks, 10);
    assert.equal(saved.checkpoint.partialText, typedBeforeChunk5);
    assert.equal(saved.checkpoint.lastInjected, typedBeforeChunk5);
    assert.ok(typedBeforeChunk5.length > 0 && fullText.startsWith(typedBeforeChunk5));
    assert.ok(sameSamples(saved.audio, recording), 'the whole recording is saved with its checkpoint');

    const second = daemonRig({ mode: 'batch' });
    const resumedChunks: number[] = [];
    second.daemon.subscribe((event) => event.type === 'chunk-start' && resumedChunks.push(event.index));
    await second.daemon.start();
    const done = await second.daemon.resume(saved.checkpoint, saved.audio);
    assert.deepEqual(done, [5, 6, 7, 8, 9]);
    assert.deepEqual(resumedChunks, [5, 6, 7, 8, 9]);
    assert.equal(saved.checkpoint.lastInjected + second.injector.text, fullText, 'what was typed before plus what resume typed is the text, once');
    assert.equal(second.injector.text.includes(words[0]!), false, 'the partial text is not typed again');
    assert.equal(second.daemon.getTranscriptionState().partialText, fullText);
    assert.equal(second.daemon.state, 'idle');
  });

  it('resume() refuses audio that does not match the checkpoint, and a busy daemon', async () => {
    const { daemon } = daemonRig({ mode: 'batch' });
    await assert.rejects(daemon.resume({ partialText: '', chunkIndex: 0, totalChunks: 1, lastTimestamp: 0, confidence: 0, lastInjected: '', streamingFrames: 0 }, recording), /not running/);
    await daemon.start();
    const checkpoint = { partialText: 'a', chunkIndex: 2, totalChunks: 3, lastTimestamp: 18, confidence: 1, lastInjected: 'a', streamingFrames: 0 };
    await assert.rejects(daemon.resume(checkpoint, recording), /the checkpoint expects 3 chunks, but 1440000 samples make 10/);
    await daemon.toggle();
    await assert.rejects(daemon.resume({ ...checkpoint, totalChunks: 10 }, recording), /the daemon must be idle, but it is recording/);
  });

  it('a streaming-mode save resumes as a batch of its own audio', async () => {
    const first = daemonRig();
    await first.daemon.start();
    await first.daemon.toggle();
    await first.daemon.feedAudio(concatAudio([tone({ seconds: 1, amplitude: toneAmplitudeForWord('alpha') }), silence(2.5)]));
    await first.daemon.whenIdle();
    await first.daemon.feedAudio(tone({ seconds: 1, amplitude: toneAmplitudeForWord('bravo') }));
    const result = first.daemon.preserveHeld('test')!;
    const saved = first.daemon.preserver.loadLatest()!;
    assert.equal(result.samples, saved.audio.length);
    assert.equal(saved.checkpoint.lastInjected, 'alpha');
    const second = daemonRig();
    await second.daemon.start();
    await second.daemon.resume(saved.checkpoint, saved.audio);
    assert.equal(second.injector.text, ' bravo');
    assert.equal(second.daemon.getTranscriptionState().partialText, 'alpha bravo');
  });
});

describe('memory pressure drives the audio ring', () => {
  it('0.50 → 0.70 → 0.85 → 0.95 gives 30, 30, 15, 7.5 s; NORMAL doubles back; no sample is lost', async () => {
    const { daemon, setBallast, ofType } = daemonRig({ registerModels: false });
    await daemon.start();
    await daemon.toggle();
    const models = 7.2;
    const capacities: number[] = [];
    let fed = 0;
    for (const usage of [0.5, 0.7, 0.85, 0.95, 0.5]) {
      setBallast(usage * 64 - models);
      await daemon.memoryManager.checkOnce();
      capacities.push(daemon.getStatus().buffer.capacitySeconds);
      await daemon.feedAudio(counterCoded(40_000, fed));
      fed += 40_000;
    }
    assert.deepEqual(capacities, [30, 30, 15, 7.5, 15]);
    assert.deepEqual(ofType('MEMORY_PRESSURE').map((n) => n.level), ['critical', 'emergency', 'normal']);
    const saved = decodeWav(readFileSync(daemon.preserveHeld('check')!.audioPath)).samples;
    assert.equal(saved.length, fed);
    assert.equal(findCounterBreak(saved), -1, 'flushed + retained equals the input exactly');
  });

  it('the periodic status line reports state, GPU, CPU, latency and leak', async () => {
    const { daemon } = daemonRig();
    await daemon.start();
    assert.match(daemon.statusLine(), /^Status: idle; GPU 7\.2 MB \(peak 7\.2 MB\); CPU mean .*; segment_transcription: none yet; leak check: Insufficient data$/);
  });
});
