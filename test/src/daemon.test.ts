import { describe, it, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FakeClock } from '../../src/clock.js';
import { Daemon, type DaemonEvent } from '../../src/daemon.js';
import { createCpuDevice } from '../../src/device/index.js';
import { decodeWav } from '../../src/wav.js';
import { sendIpcCommand } from '../../src/ipc.js';
import { createRecordingLogger } from '../../src/log.js';
import { SttModel, type TranscriptionResult } from '../../src/models/stt-model.js';
import { toneAmplitudeForWord } from '../../src/models/transcript.js';
import { concatAudio, sameSamples, seededNoise, silence, tone } from '../../src/synthetic-audio.js';
import { daemonRig, GatedStt, MB, spokenWords, tearDownRigs, waitFor } from './daemon-fixtures.js';

afterEach(tearDownRigs);

function recordEvents(daemon: Daemon) {
  const events: DaemonEvent[] = [];
  daemon.subscribe((event) => events.push(event));
  return { events, of: <T extends DaemonEvent['type']>(type: T) => events.filter((e): e is Extract<DaemonEvent, { type: T }> => e.type === type) };
}

describe('daemon lifecycle', () => {
  it('start loads VAD and STT onto the device and registers them; stop leaves nothing behind', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const { daemon, device, tempDir } = daemonRig({ withSocket: true });
    assert.equal(daemon.running, false);
    await daemon.start();
    assert.equal(daemon.running, true);
    assert.equal(daemon.state, 'idle');
    const status = daemon.getStatus();
    assert.equal(status.models!.stt.device, 'cuda');
    assert.equal(status.models!.vad.device, 'cuda');
    assert.deepEqual(daemon.memoryManager.gpuModelNames().sort(), ['stt_model', 'vad_model']);
    assert.equal(device.allocatedBytes(), (4 + 1 + 2.2) * MB, 'TEST preset weights and context, plus the VAD');

    await daemon.toggle();
    await daemon.feedAudio(spokenWords(['delta']));
    await daemon.toggle();
    await daemon.stop();
    assert.equal(daemon.running, false);
    assert.equal(device.allocatedBytes(), 0);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'every tensor the daemon made is gone');
    assert.deepEqual(daemon.getStatus().models!.stt.loaded, false);
    assert.equal(existsSync(daemon.settings.socketPath!), false, 'socket removed');
    assert.equal(existsSync(tempDir), true);
    await assert.rejects(daemon.start(), /a stopped daemon cannot be started again, create a new one/);
    await daemon.stop(); // idempotent
  });

  it('leaves no timer or handle behind after stop(), with the monitors running', async () => {
    const baseline = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const { daemon } = daemonRig({ withSocket: true, startMonitors: true, statusReportIntervalMs: 60_000, memory: { checkIntervalMs: 20 }, performanceIntervalMs: 20 });
    await daemon.start();
    await waitFor(() => daemon.memoryManager.counters.checks >= 2, 'two monitor checks');
    assert.equal(daemon.performanceMonitor.isSampling, true);
    await daemon.stop();
    await waitFor(() => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= baseline, 'handles back to baseline');
  });

  it('a daemon without a device selects one at start and closes it at stop', async () => {
    const root = mkdtempSync(join(tmpdir(), 'daemon-own-device-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const daemon = new Daemon({
      deviceSelection: { prefer: 'cpu', budgetMB: 32 },
      socketPath: null,
      tempDir: join(root, 'tmp'),
      emergencyDir: join(root, 'emergency'),
      stt: { preset: 'TEST' },
      startMonitors: false,
      statusReportIntervalMs: null,
      logger: createRecordingLogger(),
    });
    assert.throws(() => daemon.memoryManager, /the daemon has no device yet/);
    await daemon.start();
    const device = daemon.device;
    assert.equal(device.totalBytes(), 32 * MB);
    await daemon.stop();
    assert.equal(device.isAvailable(), false);
  });

  it('stop() during start() lets start finish, then stops', async () => {
    const { daemon, device } = daemonRig({ withSocket: true });
    const starting = daemon.start();
    const stopping = daemon.stop();
    await starting;
    await stopping;
    assert.equal(daemon.running, false);
    assert.equal(device.allocatedBytes(), 0);
    assert.equal(existsSync(daemon.settings.socketPath!), false);
  });

  const badOptions: [string, object, RegExp][] = [
    ['mode', { mode: 'live' }, /Daemon option mode must be 'streaming' or 'batch', got 'live'/],
    ['oomHandling', { oomHandling: 'pray' }, /Daemon option oomHandling must be 'memory-manager' or 'ladder'/],
    ['transcriptionRetries', { transcriptionRetries: 1.5 }, /transcriptionRetries must be a whole number, got 1.5/],
    ['blockSamples', { blockSamples: 0 }, /Daemon option blockSamples must be a positive integer, got 0/],
    ['statusReportIntervalMs', { statusReportIntervalMs: 0 }, /statusReportIntervalMs must be positive or null, got 0/],
  ];
  for (const [option, options, message] of badOptions) {
    it(`rejects a bad ${option} with a sentence naming it`, () => {
      assert.throws(() => new Daemon({ socketPath: null, emergencyDir: '/tmp/daemon-test-never-written', ...options }), message);
    });
  }

  it('refuses an emergency directory inside the temp dir (stop() deletes *.wav there)', () => {
    assert.throws(
      () => new Daemon({ device: createCpuDevice({ budgetMB: 8 }), tempDir: '/tmp/daemon-x', emergencyDir: '/tmp/daemon-x/keep', socketPath: null }),
      /the emergency directory \/tmp\/daemon-x\/keep is inside the daemon's temp dir \/tmp\/daemon-x/,
    );
  });
});

describe('daemon state machine', () => {
  it('idle → recording → processing → idle; audio outside a recording is ignored', async () => {
    const { daemon, injector } = daemonRig();
    const { of } = recordEvents(daemon);
    assert.deepEqual(await daemon.toggle(), { accepted: false, state: 'idle', message: 'the daemon is not running' });
    await daemon.start();
    await daemon.feedAudio(tone({ seconds: 1 }));
    assert.equal(daemon.getStatus().ignoredSamples, 16000);
    assert.deepEqual(await daemon.toggle(), { accepted: true, state: 'recording', message: 'recording' });
    await daemon.feedAudio(spokenWords(['kilo', 'lima']));
    assert.deepEqual(await daemon.toggle(), { accepted: true, state: 'idle', message: 'transcribed' });
    assert.deepEqual(of('state').map((e) => e.to), ['recording', 'processing', 'idle']);
    assert.equal(injector.text, 'kilo lima');
  });

  it('a toggle while processing is ignored with a message', async () => {
    let stt!: GatedStt;
    const rig = daemonRig({ sttModelFor: (device) => (stt = new GatedStt(device, { preset: 'TEST' })) });
    await rig.daemon.start();
    await rig.daemon.toggle();
    await rig.daemon.feedAudio(tone({ seconds: 0.5 }));
    const stopping = rig.daemon.toggle();
    await waitFor(() => stt.waiting === 1, 'the final segment to reach the STT');
    assert.equal(rig.daemon.state, 'processing');
    assert.deepEqual(await rig.daemon.toggle(), { accepted: false, state: 'processing', message: 'already processing' });
    stt.releaseOne();
    assert.equal((await stopping).state, 'idle');
  });

  it('a failed batch enters error (toggles refused), then returns to idle after the delay', async () => {
    const clock = new FakeClock();
    class BrokenStt extends SttModel {
      override transcribe(): TranscriptionResult {
        throw new Error('the model file is corrupt');
      }
    }
    const { daemon } = daemonRig({ clock, mode: 'batch', errorRecoveryDelayMs: 1000, sttModelFor: (device) => new BrokenStt(device, { preset: 'TEST' }) });
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(tone({ seconds: 1 }));
    assert.deepEqual(await daemon.toggle(), { accepted: true, state: 'error', message: 'transcription failed' });
    assert.deepEqual(await daemon.toggle(), { accepted: false, state: 'error', message: 'refused: the daemon is in the error state' });
    clock.advance(999);
    assert.equal(daemon.state, 'error');
    clock.advance(1);
    assert.equal(daemon.state, 'idle');
    assert.match(daemon.getStatus().lastError!, /the model file is corrupt/);
  });
});

describe('daemon segmentation', () => {
  // One 10 ms block per VAD decision, judged on that block alone, so the silence rule is exact at the daemon level.
  const exact = { blockSamples: 160, vad: { windowSamples: 160, frameSamples: 160, minSpeechSeconds: 0.01 } };

  const cases: [string, object, number, number, number | undefined][] = [
    ['1.99 s of silence: no cut', {}, 0.5, 1.99, undefined],
    ['2.0 s of silence: cut', {}, 0.5, 2.0, 40000],
    ['0.99 s buffered: no cut', { minSilenceSeconds: 0.2 }, 0.5, 0.49, undefined],
    ['1.0 s buffered: cut', { minSilenceSeconds: 0.2 }, 0.5, 0.5, 16000],
  ];
  for (const [what, options, speech, quiet, cutAt] of cases) {
    it(what, async () => {
      const { daemon } = daemonRig({ ...exact, ...options });
      const { of } = recordEvents(daemon);
      await daemon.start();
      await daemon.toggle();
      await daemon.feedAudio(concatAudio([tone({ seconds: speech, amplitude: 0.3 }), silence(quiet)]));
      assert.deepEqual(of('segment-queued').map((e) => e.samples), cutAt === undefined ? [] : [cutAt]);
    });
  }

  it('the default VAD cuts 1 s of speech + 2.5 s of pause into one segment per word, during the recording', async () => {
    const { daemon, injector, tempFiles } = daemonRig();
    const { of } = recordEvents(daemon);
    await daemon.start();
    await daemon.toggle();
    const words = ['bravo', 'echo', 'golf', 'kilo'];
    await daemon.feedAudio(spokenWords(words));
    await daemon.whenIdle();
    assert.equal(of('segment-queued').length, 4, 'every pause cut a segment before the recording ended');
    assert.equal(injector.text, 'bravo echo golf kilo');
    await daemon.toggle();
    assert.equal(of('segment-queued').length, 4, 'the trailing silence is not a segment');
    assert.equal(daemon.getStatus().segmentsDone, 4);
    assert.equal(daemon.performanceMonitor.getLatencyStats('segment_transcription')!.count, 4);
    assert.deepEqual(tempFiles(), [], 'each temp WAV was deleted after its text was in');
    assert.equal(daemon.getTranscriptionState().streamingFrames, Math.ceil((4 * 3.5 * 16000) / 1024));
  });

  it('a segment still speaking when the recording stops is transcribed too', async () => {
    const { daemon, injector } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(concatAudio([spokenWords(['alpha']), tone({ seconds: 0.7, amplitude: toneAmplitudeForWord('zulu') })]));
    await daemon.toggle();
    assert.equal(injector.text, 'alpha zulu');
  });

  it('queues segments while transcription is slow: none is lost, order is kept', async () => {
    let stt!: GatedStt;
    const { daemon, injector } = daemonRig({ sttModelFor: (device) => (stt = new GatedStt(device, { preset: 'TEST' })) });
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(spokenWords(['alpha', 'bravo', 'charlie']));
    assert.equal(stt.calls, 1, 'one segment in flight');
    assert.equal(daemon.getStatus().queueLength, 2, 'the others wait in the queue (the original dropped them)');
    const stopping = daemon.toggle();
    for (let released = 0; released < 3; released++) {
      await waitFor(() => stt.waiting === 1, `segment ${released + 1} at the STT`);
      stt.releaseOne();
    }
    await stopping;
    assert.equal(injector.text, 'alpha bravo charlie');
    assert.deepEqual(injector.injections, ['alpha', ' bravo', ' charlie']);
  });
});

describe('daemon IPC', () => {
  it('toggle, status and stop over the real socket', async () => {
    const { daemon, socketPath, injector } = daemonRig({ withSocket: true });
    await daemon.start();
    const status = (await sendIpcCommand(socketPath!, 'status')) as unknown as { status: string; state: string; models: { stt: { device: string } } };
    assert.equal(status.status, 'ok');
    assert.equal(status.state, 'idle');
    assert.equal(status.models.stt.device, 'cuda');
    assert.deepEqual(await sendIpcCommand(socketPath!, 'toggle'), { status: 'ok', accepted: true, state: 'recording', message: 'recording' });
    await daemon.feedAudio(spokenWords(['mike']));
    assert.deepEqual(await sendIpcCommand(socketPath!, 'toggle'), { status: 'ok', accepted: true, state: 'idle', message: 'transcribed' });
    assert.equal(injector.text, 'mike');
    assert.deepEqual(await sendIpcCommand(socketPath!, 'stop'), { status: 'ok', state: 'idle', message: 'stopping' });
    await waitFor(() => !existsSync(socketPath!) && !daemon.running, 'the daemon to stop itself');
  });
});

describe('daemon stop with unprocessed audio', () => {
  it('saves what it still holds instead of dropping it', async () => {
    const { daemon, emergencyFiles } = daemonRig();
    await daemon.start();
    await daemon.toggle();
    const noise = seededNoise(2 * 16000, { seed: 11, amplitude: 1.5 }); // loud throughout: never cut
    await daemon.feedAudio(noise);
    await daemon.stop();
    assert.equal(emergencyFiles().length, 2);
    const saved = decodeWav(readFileSync(daemon.lastPreservation!.audioPath)).samples;
    assert.ok(sameSamples(saved, noise), 'bit-exact');
  });
});
