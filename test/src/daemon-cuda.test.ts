// The daemon's CUDA-error paths (SPEC A.4 table, with the FIX that a false verdict moves the model to the CPU on
// every path). Faults are injected on the real device at exact points: before start (load paths), between VAD blocks
// while no segment is queued (paths 2a/2b), and from the 'segment-queued' event, which fires just before the worker
// calls the STT (path 3).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Daemon, DaemonEvent } from '../../src/daemon.js';
import { SttModel, type TranscriptionResult } from '../../src/models/stt-model.js';
import { toneAmplitudeForWord } from '../../src/models/transcript.js';
import { concatAudio, sameSamples, silence, tone } from '../../src/synthetic-audio.js';
import { decodeWav } from '../../src/wav.js';
import { daemonRig, MB, spokenWords, tearDownRigs } from './daemon-fixtures.js';

afterEach(tearDownRigs);

/** One second of a tone that transcribes to `word`. */
function utterance(word: string): Float32Array {
  return tone({ seconds: 1, amplitude: toneAmplitudeForWord(word) });
}

function events(daemon: Daemon) {
  const seen: DaemonEvent[] = [];
  daemon.subscribe((event) => seen.push(event));
  return { seen, of: <T extends DaemonEvent['type']>(type: T) => seen.filter((e): e is Extract<DaemonEvent, { type: T }> => e.type === type) };
}

/** Runs `arm` at the moment the next segment is queued, once. */
function onNextSegment(daemon: Daemon, arm: () => void): void {
  const unsubscribe = daemon.subscribe((event) => {
    if (event.type !== 'segment-queued') return;
    unsubscribe();
    arm();
  });
}

describe('path 1a: loading the VAD', () => {
  it('an OOM leaves the VAD on the CPU, still in use; nothing is counted', async () => {
    const { daemon, device, ofType } = daemonRig();
    device.faults.failNextAllocations(1);
    await daemon.start();
    const status = daemon.getStatus();
    assert.equal(status.models!.vad.device, 'cpu');
    assert.equal(status.models!.vad.enabled, true);
    assert.equal(status.models!.stt.device, 'cuda');
    assert.deepEqual(daemon.memoryManager.gpuModelNames(), ['stt_model'], 'only a model that reached the device is registered');
    assert.equal(daemon.memoryManager.cudaErrorCount, 0, 'handleCudaError is not called at load time');
    assert.equal(ofType('CPU_FALLBACK').length, 1);
  });

  it('any other error disables the VAD: all audio counts as speech, so nothing is cut until the end', async () => {
    const { daemon, device, injector } = daemonRig();
    const { of } = events(daemon);
    device.faults.failNextOperations(1);
    await daemon.start();
    assert.equal(daemon.getStatus().models!.vad.enabled, false);
    await daemon.toggle();
    await daemon.feedAudio(spokenWords(['alpha', 'bravo']));
    assert.equal(of('segment-queued').length, 0);
    await daemon.toggle();
    assert.equal(injector.text, 'alpha bravo');
  });
});

describe('path 1b: loading the STT', () => {
  it('an OOM puts the STT on the CPU after emptyCache and GC, and it still transcribes', async () => {
    const { daemon, injector } = daemonRig({ stt: { preset: 'TEST', weightMB: 100 } });
    const { of } = events(daemon);
    await daemon.start();
    assert.equal(daemon.sttModel.device, 'cpu');
    assert.ok(daemon.memoryManager.counters.gcCalls >= 1 && daemon.memoryManager.counters.emptyCacheCalls >= 1);
    assert.deepEqual(daemon.memoryManager.gpuModelNames(), ['vad_model']);
    await daemon.toggle();
    await daemon.feedAudio(spokenWords(['oscar']));
    await daemon.toggle();
    assert.equal(injector.text, 'oscar');
    assert.deepEqual(of('segment-done').map((e) => e.device), ['cpu']);
  });

  it('any other error is fatal: start() rejects and releases what it took', async () => {
    const { daemon, device } = daemonRig({ vad: { enabled: false } });
    device.faults.failNextOperations(1);
    await assert.rejects(daemon.start(), /the STT model could not be loaded: CUDA error: unspecified launch failure/);
    assert.equal(daemon.running, false);
    assert.equal(device.allocatedBytes(), 0);
  });
});

describe('paths 2a and 2b: the VAD while recording', () => {
  const speech = () => tone({ seconds: 0.5, amplitude: 0.3 });

  it('2a: an OOM staging the window is handled (ORIG: offloads registered models), the block counts as speech', async () => {
    const { daemon, device, ofType } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(speech());
    device.faults.failNextAllocations(1);
    await daemon.feedAudio(speech());
    const policy = daemon.errorPolicy;
    assert.equal(policy.counts['2a'], 1);
    assert.deepEqual(policy.verdicts, [true], 'usage fell below 0.80 after cleanup: recovered');
    assert.equal(daemon.memoryManager.cudaErrorCount, 0);
    assert.equal(ofType('OOM').length, 1);
    assert.equal(ofType('OOM')[0]!.recoveryAttempted, false);
    assert.equal(daemon.vadModel.device, 'cpu', 'handleCudaError offloaded every registered model');
    assert.equal(daemon.sttModel.device, 'cpu');
  });

  it('2a: with a true verdict and the VAD still on the device, the block is not judged: it counts as speech', async () => {
    const { daemon, device } = daemonRig({ registerModels: false });
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(speech());
    const detections = daemon.vadModel.detections;
    device.faults.failNextAllocations(1);
    await daemon.feedAudio(new Float32Array(1024)); // one silent block
    assert.deepEqual(daemon.errorPolicy.verdicts, [true]);
    assert.equal(daemon.vadModel.device, 'cuda');
    assert.equal(daemon.vadModel.detections, detections, 'the window stayed on the host, so the model on the device could not run');
    assert.equal(daemon.buffers.segmenterState().silenceSamples, 0, 'counted as speech, not as silence');
  });

  it('2a: a false verdict moves the VAD to the CPU, where it keeps judging', async () => {
    const { daemon, device, setBallast, ofType } = daemonRig({ registerModels: false, memory: { maxCudaErrors: 1 } });
    await daemon.start();
    setBallast(50); // 57.2 of 64 MB: an OOM cannot be "recovered" below 0.80
    await daemon.toggle();
    await daemon.feedAudio(speech());
    device.faults.failNextAllocations(1);
    await daemon.feedAudio(speech());
    assert.deepEqual(daemon.errorPolicy.verdicts, [false]);
    assert.equal(daemon.vadModel.device, 'cpu');
    assert.equal(daemon.sttModel.device, 'cuda', 'only the model on that path falls back');
    assert.match(ofType('CPU_FALLBACK')[0]!.message, /vad_model moved to CPU: handleCudaError returned false/);
    const detections = daemon.vadModel.detections;
    await daemon.feedAudio(speech());
    assert.ok(daemon.vadModel.detections > detections);
  });

  it('2b: a CUDA error in the VAD is counted and the block counts as speech; the VAD stays on the device', async () => {
    const { daemon, device, ofType } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(speech());
    device.faults.failNextOperations(1);
    await daemon.feedAudio(speech());
    assert.equal(daemon.errorPolicy.counts['2b'], 1);
    assert.equal(daemon.memoryManager.cudaErrorCount, 1);
    assert.equal(daemon.vadModel.device, 'cuda');
    assert.equal(ofType('OOM').length, 0, 'a launch failure is not an OOM');
  });

  it('2b: the third error in a row falls back (the original ignored the verdict: the 4,759-error storm)', async () => {
    const { daemon, device, ofType } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(speech());
    device.faults.failNextOperations(3);
    await daemon.feedAudio(speech());
    assert.deepEqual(daemon.errorPolicy.verdicts, [true, true, false]);
    assert.equal(daemon.memoryManager.cudaErrorCount, 3);
    assert.equal(daemon.vadModel.device, 'cpu');
    assert.equal(ofType('CPU_FALLBACK').length, 1);
    assert.equal(device.probe(1 * MB).ok, true, 'the device itself still works');
  });

  it('a successful segment transcription resets the error count', async () => {
    const { daemon, device, injector } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(speech());
    device.faults.failNextOperations(1);
    await daemon.feedAudio(concatAudio([speech(), silence(2.5)]));
    await daemon.whenIdle();
    assert.equal(injector.injections.length, 1);
    assert.equal(daemon.memoryManager.cudaErrorCount, 0);
  });
});

describe('path 3: transcribing a segment', () => {
  // Each recording is one spoken word with no pause after it, so its one segment is cut when the recording stops:
  // the capture is closed by then, and a fault armed at 'segment-queued' can only reach the STT.
  async function record(daemon: Daemon, word: string, arm?: () => void): Promise<void> {
    if (arm) onNextSegment(daemon, arm);
    await daemon.toggle();
    await daemon.feedAudio(utterance(word));
    await daemon.toggle();
  }

  it('a CUDA error is counted, the segment retried once and transcribed; success resets the count', async () => {
    const { daemon, device, injector } = daemonRig();
    await daemon.start();
    await record(daemon, 'papa', () => device.faults.failNextOperations(1));
    assert.equal(injector.text, 'papa');
    assert.equal(daemon.errorPolicy.counts['3'], 1);
    assert.deepEqual(daemon.errorPolicy.verdicts, [true]);
    assert.equal(daemon.memoryManager.cudaErrorCount, 0);
    assert.equal(daemon.sttModel.device, 'cuda');
  });

  it('an impossible allocation (total + 100 MB): OOM announced, STT offloaded, the retry on the CPU succeeds, audio saved', async () => {
    const { daemon, device, injector, ofType, emergencyFiles } = daemonRig();
    const { of } = events(daemon);
    await daemon.start();
    let allocatedAtOom = -1;
    daemon.notifier.subscribe((event) => {
      if (event.type === 'OOM') allocatedAtOom = device.allocatedBytes() / MB;
    });
    await record(daemon, 'quebec', () => (daemon.sttModel.inferenceBytes = device.totalBytes() + 100 * MB));
    await record(daemon, 'romeo');
    assert.deepEqual(injector.injections, ['quebec', 'romeo'], 'transcribed by the retry, then again on the CPU');
    const [oom, ...moreOoms] = ofType('OOM');
    assert.equal(moreOoms.length, 0, 'exactly one OOM notification');
    assert.equal(oom!.recoveryAttempted, false);
    assert.equal(oom!.gpuMemoryMb, allocatedAtOom);
    assert.equal(oom!.gpuMemoryMb, 7.2, 'the models were still on the device when it was announced');
    assert.match(oom!.message, /Tried to allocate/);
    assert.equal(ofType('CPU_FALLBACK').length, 1);
    assert.equal(ofType('RECOVERED').length, 1);
    assert.equal(daemon.sttModel.device, 'cpu');
    assert.deepEqual(of('segment-done').map((e) => e.device), ['cpu', 'cpu']);
    assert.equal(emergencyFiles().length, 2, 'the OOM while processing saved the held audio');
    const saved = decodeWav(readFileSync(daemon.lastPreservation!.audioPath)).samples;
    assert.ok(sameSamples(saved, utterance('quebec')), 'the segment in flight, bit-exact');
  });

  it('when the retry fails too, the segment fails and its audio is saved; a false verdict moves the STT to the CPU', async () => {
    const { daemon, device, injector } = daemonRig({ memory: { maxCudaErrors: 2 } });
    const { of } = events(daemon);
    await daemon.start();
    await record(daemon, 'sierra', () => device.faults.failNextOperations(2));
    assert.deepEqual(daemon.errorPolicy.verdicts, [true, false]);
    assert.equal(daemon.sttModel.device, 'cpu');
    assert.equal(of('segment-failed').length, 1);
    assert.match(daemon.getStatus().lastError!, /segment 1: CUDA error: unspecified launch failure/);
    assert.equal(injector.text, '');
    assert.ok(sameSamples(decodeWav(readFileSync(daemon.lastPreservation!.audioPath)).samples, utterance('sierra')));
    await record(daemon, 'tango');
    assert.equal(injector.text, 'tango', 'the next recording is transcribed on the CPU');
  });

  it('a non-CUDA error is not retried or counted; the segment fails and is saved', async () => {
    class FlakyStt extends SttModel {
      calls = 0;
      override transcribe(audio: Float32Array): TranscriptionResult | Promise<TranscriptionResult> {
        if (++this.calls === 1) throw new Error('tokenizer crashed');
        return super.transcribe(audio);
      }
    }
    let stt!: FlakyStt;
    const { daemon, injector, tempFiles } = daemonRig({ sttModelFor: (device) => (stt = new FlakyStt(device, { preset: 'TEST' })) });
    await daemon.start();
    await record(daemon, 'uniform');
    assert.equal(tempFiles().length, 1, 'a failed segment keeps its temp WAV (as the original did)');
    await record(daemon, 'victor');
    assert.equal(stt.calls, 2);
    assert.deepEqual(daemon.errorPolicy.verdicts, []);
    assert.equal(injector.text, 'victor');
    assert.equal(daemon.getStatus().preservation.saves, 1);
    assert.match(daemon.getStatus().lastError!, /tokenizer crashed/);
    await daemon.stop();
    assert.deepEqual(tempFiles(), [], 'stop() deletes every *.wav in the temp dir');
  });

  it('three OOMs that cleanup cannot fix: true, true, false, then the STT finishes on the CPU (registration off)', async () => {
    const { daemon, device, injector, setBallast, ofType } = daemonRig({ registerModels: false, transcriptionRetries: 3 });
    await daemon.start();
    setBallast(46); // 53.2 of 64 MB = 0.83: an OOM is never "recovered"
    const countsAtEachOom: number[] = [];
    const judge = daemon.errorPolicy.judge.bind(daemon.errorPolicy);
    daemon.errorPolicy.judge = async (error, path) => {
      const verdict = await judge(error, path);
      countsAtEachOom.push(daemon.memoryManager.cudaErrorCount);
      return verdict;
    };
    await record(daemon, 'whiskey', () => device.faults.failNextAllocations(3));
    assert.deepEqual(daemon.errorPolicy.verdicts, [true, true, false]);
    assert.deepEqual(countsAtEachOom, [1, 2, 3]);
    assert.equal(ofType('OOM').length, 3);
    assert.equal(daemon.sttModel.device, 'cpu');
    assert.equal(injector.text, 'whiskey');
    assert.equal(daemon.memoryManager.cudaErrorCount, 0, 'the successful transcription on the CPU reset the count');
  });
});

describe('OOM handling through the recovery ladder', () => {
  it('climbs cache_clear → garbage_collect → reduce_buffer → cpu_fallback with the daemon\'s own steps', async () => {
    const { daemon, setBallast, injector, exits } = daemonRig({
      oomHandling: 'ladder',
      stt: { preset: 'TEST', weightMB: 20, contextSeconds: 8, contextMBPerSecond: 1 },
    });
    await daemon.start();
    setBallast(30); // 20 + 8 + 2.2 + 30 = 60.2 of 64 MB
    const statusDuringRecovery: boolean[] = [];
    daemon.notifier.subscribe((event) => {
      if (event.type === 'OOM') statusDuringRecovery.push(daemon.getStatus().recovering);
    });
    onNextSegment(daemon, () => (daemon.sttModel.inferenceBytes = 8 * MB));
    await daemon.toggle();
    await daemon.feedAudio(utterance('xray'));
    await daemon.toggle();
    const outcome = daemon.recovery.getStatus().lastOutcome!;
    assert.deepEqual(outcome.steps.map((s) => [s.strategy, s.success]), [
      ['cache_clear', false],
      ['garbage_collect', false],
      ['reduce_buffer', false],
      ['cpu_fallback', true],
    ]);
    assert.equal(outcome.recoveredBy, 'cpu_fallback');
    assert.equal(daemon.sttModel.contextSeconds, 4, 'reduce_buffer halved the device-side context');
    assert.equal(daemon.getStatus().buffer.capacitySeconds, 15, 'and the audio ring');
    assert.deepEqual(exits, [], 'no emergency shutdown');
    assert.equal(injector.text, 'xray', 'work continues on the CPU');
    assert.deepEqual(statusDuringRecovery, [true], 'getStatus() answers while the ladder runs');
  });
});
