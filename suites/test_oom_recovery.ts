// The OOM-recovery suite (SPEC B.2, tests 10–19), rebuilt honestly. The original file asserted on mocks it filled
// itself; every test here drives the real library (device, MemoryManager, daemon pipeline, recovery ladder,
// preserver, metrics) and only the device and the STT/VAD models are stand-ins (real tfjs code). Every number comes
// from suites/scenarios.yaml, and every test has a recorded mutation of src/ that makes it fail
// (suites/mutations/test_oom_recovery.yaml).
//
// Semantics chosen where SPEC leaves a choice (D.19):
// - test 14 asserts the 3-error rule with models NOT registered with the MemoryManager and a ballast that keeps usage
//   at 0.83 (>= the 0.80 "recovered" line) after cleanup: the verdicts are true, true, false and only then does the
//   STT move to the CPU. With registered models the first OOM would already offload everything (ORIG).
// - test 17 runs the ORIG semantics with registered models: each OOM ends with the models offloaded (CPU after the
//   first), and the memory monitor's restore (a check at usage <= 0.60) puts them back before the next work item.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mark } from '../runner/index.js';
import type { TranscriptionState } from '../src/checkpoint.js';
import type { Daemon, DaemonEvent } from '../src/daemon.js';
import { formatSize } from '../src/device/errors.js';
import { createCpuDevice, type Device } from '../src/device/index.js';
import type { MemoryManager } from '../src/memory-manager.js';
import { SttModel } from '../src/models/stt-model.js';
import { toneAmplitudeForWord, VOCABULARY } from '../src/models/transcript.js';
import {
  errorText, isCudaError, isOom, RecoveryLadder, RecoveryMetrics, type LadderStatus, type RecoveryNotification, type RecoveryOutcome,
} from '../src/recovery/index.js';
import { concatAudio, counterCoded, findCounterBreak, seededNoise, silence, tone } from '../src/synthetic-audio.js';
import type { Daemons } from './conftest.js';
import type { MemoryPressureSimulator } from './support/pressure.js';
import type { OOMRecoveryManager } from './support/recovery-manager.js';
import { budget, num, scenario } from './support/scenarios.js';

const MB = 1_000_000;
const RATE = 16_000;
const WAV_HEADER_BYTES = 44;

/** The fixtures these tests destructure (defined in suites/conftest.ts and by the runner). */
interface SuiteFixtures {
  device: Device;
  pressure: MemoryPressureSimulator;
  memoryManager: MemoryManager & { exits: number[] };
  recovery: OOMRecoveryManager;
  daemons: Daemons;
  /** A measurement for the JUnit report (a suite property `<test>.<name>`). */
  measurement: (name: string, value: unknown) => void;
}

// ---- helpers -----------------------------------------------------------------------------------------------------

/** Runs `attempt` and returns what it threw; fails the test when it throws nothing. */
function caught(attempt: () => unknown): unknown {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  return assert.fail('expected the call to throw');
}

/** One second of a tone that the stand-in STT transcribes to `word`. */
function utterance(word: string): Float32Array {
  return tone({ seconds: 1, amplitude: toneAmplitudeForWord(word) });
}

/** Collects the daemon's events by type. */
function watch(daemon: Daemon) {
  const seen: DaemonEvent[] = [];
  daemon.subscribe((event) => seen.push(event));
  return <T extends DaemonEvent['type']>(type: T) => seen.filter((e): e is Extract<DaemonEvent, { type: T }> => e.type === type);
}

/**
 * One recording: start, feed `audio`, stop (which resolves once the recording is transcribed). `arm` runs at the
 * moment its segment is queued, after capture has settled, so a fault armed there can only reach the STT.
 */
async function record(daemon: Daemon, audio: Float32Array, arm?: () => void): Promise<void> {
  if (arm) {
    const unsubscribe = daemon.subscribe((event) => {
      if (event.type !== 'segment-queued') return;
      unsubscribe();
      arm();
    });
  }
  assert.equal((await daemon.toggle()).state, 'recording');
  await daemon.feedAudio(audio);
  await daemon.toggle();
}

/** Complete files (not temp files of a write in progress) in `dir`; none when the directory was never created. */
function filesIn(dir: string, extension: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith(extension) && !name.includes('.tmp-')).sort() : [];
}

function ofType(events: readonly RecoveryNotification[], type: RecoveryNotification['type']): RecoveryNotification[] {
  return events.filter((event) => event.type === type);
}

function stepsOf(outcome: RecoveryOutcome): [string, boolean][] {
  return outcome.steps.map((step) => [step.strategy, step.success]);
}

// ---- 10, 11 ------------------------------------------------------------------------------------------------------

export class TestOOMDetection {
  /** An impossible request is refused by the system backend, classified as OOM and counted once; others are not. */
  @mark.gpu
  @mark.oom
  @budget('test_oom_detection')
  async test_oom_detection({ device, recovery }: SuiteFixtures) {
    const { load } = scenario('test_oom_detection');
    const requestBytes = num(load, 'request_float32') * 4; // 10^12 float32 = 4 TB
    const baseline = device.allocatedBytes();
    const deviceOomsBefore = device.counters().outOfMemoryErrors;
    const oomEventsBefore = recovery.oomCount;

    const error = caught(() => device.allocate(requestBytes, 'impossible'));
    assert.ok(isOom(error), `the system classifier does not call the device's refusal an OOM: ${errorText(error)}`);
    assert.equal(device.counters().outOfMemoryErrors - deviceOomsBefore, 1, 'the device counts exactly one OOM');
    assert.equal(device.allocatedBytes(), baseline, 'a refused request holds nothing');

    const outcome = await recovery.recover(error);
    assert.equal(recovery.oomCount - oomEventsBefore, 1, 'the recovery metrics count exactly one OOM event');
    assert.equal(outcome.nested, false);
    assert.equal(outcome.recovered, true, `the ladder did not recover: ${JSON.stringify(outcome.steps)}`);

    // Errors that are not OOMs, raised for real by the device and by the runtime, must never be classified as one.
    const notOoms: [string, () => unknown, boolean][] = [
      ['a CUDA launch failure', () => (device.faults.failNextOperations(1), device.run(() => 0, 'kernel')), true],
      ['an offset out of range', () => Buffer.alloc(4).readFloatLE(8), false],
      ['a negative allocation size', () => device.allocate(-1), false],
      ['an invalid typed array length', () => new Float32Array(-1), false],
    ];
    for (const [what, raise, cuda] of notOoms) {
      const other = caught(raise);
      assert.equal(isOom(other), false, `${what} was classified as an OOM: ${errorText(other)}`);
      assert.equal(isCudaError(other), cuda, `${what}: isCudaError should be ${cuda}: ${errorText(other)}`);
    }
    assert.equal(recovery.oomCount - oomEventsBefore, 1, 'nothing else was counted as an OOM event');
    assert.equal(device.counters().outOfMemoryErrors - deviceOomsBefore, 1, 'the device raised no other OOM');

    const probeBytes = num(load, 'probe_mb') * MB;
    assert.equal(recovery.verifyRecovery(probeBytes), true, 'a 1 MB probe still succeeds after the impossible request');
    assert.equal(device.allocatedBytes(), baseline, 'the probe gave its memory back');
  }

  /** The system notifier announces one OOM with the allocated MB of that moment, before any recovery. */
  @mark.gpu
  @mark.oom
  @budget('test_oom_notification_system')
  async test_oom_notification_system({ device, pressure, daemons }: SuiteFixtures) {
    const { load } = scenario('test_oom_notification_system');
    const requestBytes = num(load, 'request_float32') * 4;
    const { daemon, injector } = daemons.create();
    await daemon.start();
    pressure.allocateDeviceMemory(num(load, 'ballast_mb'));
    const modelsMb = (daemon.sttModel.residentDeviceBytes() + daemon.vadModel.residentDeviceBytes()) / MB;
    const normalInference = daemon.sttModel.inferenceBytes;

    const seen: { event: RecoveryNotification; allocatedMb: number }[] = [];
    daemon.notifier.subscribe((event) => {
      seen.push({ event, allocatedMb: device.allocatedBytes() / MB });
      // The impossible request was one spike: the retry asks for the usual inference buffer again.
      if (event.type === 'OOM') daemon.sttModel.inferenceBytes = normalInference;
    });
    const windowStart = Date.now() / 1000;
    await record(daemon, utterance('kilo'), () => (daemon.sttModel.inferenceBytes = requestBytes));
    const windowEnd = Date.now() / 1000;

    const ooms = seen.filter((s) => s.event.type === 'OOM');
    assert.equal(ooms.length, 1, `expected exactly one OOM notification, got ${JSON.stringify(ooms.map((s) => s.event))}`);
    const { event, allocatedMb } = ooms[0]!;
    assert.ok(event.timestamp >= windowStart && event.timestamp <= windowEnd, `timestamp ${event.timestamp} is outside the test window [${windowStart}, ${windowEnd}]`);
    assert.equal(event.gpuMemoryMb, allocatedMb, 'gpuMemoryMb is the allocated MB at the moment of the event');
    assert.equal(event.gpuMemoryMb, num(load, 'ballast_mb') + modelsMb, 'ballast plus the resident models, in MB of 10^6 bytes');
    assert.equal(event.recoveryAttempted, false, 'at detection no recovery has been attempted yet');
    assert.match(event.message, /out of memory/i);
    assert.ok(event.message.includes(`Tried to allocate ${formatSize(requestBytes)}`), `the message lacks the error text: ${event.message}`);

    const after = seen.slice(seen.indexOf(ooms[0]!) + 1).map((s) => [s.event.type, s.event.recoveryAttempted]);
    assert.deepEqual(after, [['CPU_FALLBACK', true], ['RECOVERED', true]], 'then the fallback and the outcome are reported');
    assert.equal(injector.text, 'kilo', 'and the recording was still transcribed');
  }
}

// ---- 12, 13, 14 --------------------------------------------------------------------------------------------------

export class TestGracefulDegradation {
  /**
   * A real ladder under real pressure: cache clear, GC and buffer reduction free too little, CPU fallback frees
   * enough. Then a transient OOM that the first step cures.
   */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_progressive_recovery_strategies')
  async test_progressive_recovery_strategies({ device, pressure, daemons }: SuiteFixtures) {
    const { load, criteria } = scenario('test_progressive_recovery_strategies');
    const expectedSteps = criteria.expected_steps as string[];
    const maxSteps = num(criteria, 'max_steps');

    // Configuration 1: ballast 31 + STT 20 + context 8 + VAD 2.2 = 61.2 of 64 MB; the segment needs 8 MB. The
    // allocator already gave its cached blocks back before it refused, so clearing the cache and collecting garbage
    // free nothing more; halving the context leaves 6.8 MB free (too little); offloading the models frees 26.2 MB.
    const first = daemons.create({
      oomHandling: 'ladder',
      stt: { preset: 'TEST', weightMB: num(load, 'stt_weight_mb'), contextSeconds: num(load, 'context_s'), contextMBPerSecond: num(load, 'context_mb_per_s') },
    });
    const firstEvents = watch(first.daemon);
    await first.daemon.start();
    pressure.allocateDeviceMemory(num(load, 'ballast_mb'));
    await record(first.daemon, utterance('xray'), () => (first.daemon.sttModel.inferenceBytes = num(load, 'request_mb') * MB));

    const outcome = first.daemon.recovery.getStatus().lastOutcome!;
    assert.ok(outcome, 'the ladder never ran');
    assert.deepEqual(outcome.steps.map((s) => s.strategy), expectedSteps, 'the ladder climbs in order, no step skipped or repeated');
    assert.deepEqual(stepsOf(outcome), expectedSteps.map((s, i) => [s, i === expectedSteps.length - 1]), 'only the last step checks out');
    assert.ok(outcome.steps.length <= maxSteps);
    assert.equal(outcome.recoveredBy, 'cpu_fallback');
    assert.equal(outcome.shutdown, false);
    assert.deepEqual(first.exits, [], 'no emergency shutdown');
    assert.equal(ofType(first.notifications, 'EMERGENCY_SHUTDOWN').length, 0);
    assert.equal(first.daemon.sttModel.contextSeconds, num(load, 'context_s') / 2, 'reduce_buffer halved the device-side context');
    assert.equal(first.daemon.getStatus().buffer.capacitySeconds, 15, 'reduce_buffer halved the audio ring');
    assert.equal(first.daemon.sttModel.device, 'cpu', 'cpu_fallback moved the STT to the CPU');
    assert.equal(device.probe(num(load, 'request_mb') * MB).ok, true, 'the request fits now');
    assert.equal(first.injector.text, 'xray', 'work continues on the CPU');
    assert.deepEqual(firstEvents('segment-done').map((e) => e.device), ['cpu']);
    const byStrategy = first.daemon.recovery.metrics.byStrategy();
    assert.deepEqual(Object.keys(byStrategy), expectedSteps, 'every step is in the recovery metrics');
    await first.daemon.stop();
    pressure.releaseAll();

    // Configuration 2: a transient OOM (the allocation fails once, as when another process briefly held memory).
    const second = daemons.create({ oomHandling: 'ladder' });
    await second.daemon.start();
    await record(second.daemon, utterance('yankee'), () => device.faults.failNextAllocations(1));
    const quick = second.daemon.recovery.getStatus().lastOutcome!;
    assert.deepEqual(stepsOf(quick), [['cache_clear', true]], 'recovered at step 1');
    assert.equal(second.daemon.sttModel.device, 'cuda', 'a cheap recovery keeps the GPU');
    assert.equal(ofType(second.notifications, 'CPU_FALLBACK').length, 0);
    assert.equal(second.injector.text, 'yankee');
  }

  /**
   * Real pressure changes reach the daemon's adaptive ring through memory-monitor checks: 30, 30, 15, 7.5 s, never
   * zero, and a counter-coded stream comes out whole: what was flushed plus what is retained is the input, exactly.
   */
  @mark.gpu
  @mark.recovery
  @budget('test_buffer_reduction_on_pressure')
  async test_buffer_reduction_on_pressure({ pressure, daemons }: SuiteFixtures) {
    const { load, criteria } = scenario('test_buffer_reduction_on_pressure');
    const usages = load.usages as number[];
    const expectedCapacities = criteria.expected_capacity_s as number[];
    const expectedLevels = criteria.expected_levels as string[];
    const floorSeconds = num(criteria, 'floor_s');
    const total = num(load, 'samples');
    const prefill = num(load, 'prefill_samples');
    const perStep = (total - prefill) / usages.length;
    assert.ok(Number.isInteger(perStep), 'the matrix must split the stream evenly over the steps');

    // Models stay unregistered so that the usage the test sets is the usage the monitor sees.
    const { daemon, notifications } = daemons.create({ registerModels: false, ringFloorSeconds: floorSeconds });
    await daemon.start();
    const ring = daemon.buffers.ring;
    const stream = counterCoded(total);
    // Audio captured but not yet consumed (the VAD fell behind): it waits in the ring.
    daemon.buffers.capture(stream.subarray(0, prefill));
    let written = prefill;

    const levels: string[] = [];
    const capacities: number[] = [];
    for (const usage of usages) {
      pressure.fillDeviceTo(usage);
      const status = await daemon.memoryManager.checkOnce();
      assert.ok(status, 'the memory monitor could not read the device');
      levels.push(status.level);
      capacities.push(ring.capacitySeconds);
      assert.ok(ring.capacitySamples > 0 && ring.capacitySeconds >= floorSeconds, `capacity ${ring.capacitySeconds} s is below the floor`);
      assert.ok(ring.length <= ring.capacitySamples, 'the ring never holds more than its capacity');

      const before = ring.stats().written;
      daemon.buffers.capture(stream.subarray(written, written + perStep));
      written += perStep;
      assert.equal(ring.stats().written - before, perStep, `new samples were refused at usage ${usage}`);
      const newest = ring.peek();
      assert.equal(newest[newest.length - 1], stream[written - 1], 'the newest sample is retained');
    }
    assert.deepEqual(levels, expectedLevels, 'pressure levels with the binding thresholds (0.85 is CRITICAL)');
    assert.deepEqual(capacities, expectedCapacities, 'ring capacity in seconds after each pressure step');
    assert.deepEqual(ofType(notifications, 'MEMORY_PRESSURE').map((n) => n.level), ['critical', 'emergency']);

    const flushed = daemon.buffers.spilledSamples;
    const retained = ring.length;
    assert.equal(flushed + retained, total, 'flushed + retained equals the input');
    assert.equal(ring.stats().consumed, 0, 'nothing was read: every sample left the ring through the flush');
    const held = concatAudio(daemon.buffers.held());
    assert.equal(held.length, total);
    assert.equal(findCounterBreak(held), -1, `sample ${findCounterBreak(held)} breaks the count: a sample was lost, repeated or reordered`);
  }

  /** Three OOMs that cleanup cannot cure: true, true, false; the STT moves to the CPU and keeps transcribing there. */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_cpu_fallback_activation')
  async test_cpu_fallback_activation({ device, pressure, daemons }: SuiteFixtures) {
    const { load, criteria } = scenario('test_cpu_fallback_activation');
    const ooms = num(load, 'ooms');
    const { daemon, injector, notifications } = daemons.create({ registerModels: false, transcriptionRetries: num(load, 'transcription_retries') });
    const segments = watch(daemon);
    await daemon.start();
    pressure.fillDeviceTo(num(load, 'ballast_fill'));

    const atEachOom: [string, number][] = [];
    const usageAtEachOom: number[] = [];
    daemon.notifier.subscribe((event) => {
      if (event.type !== 'OOM') return;
      atEachOom.push([daemon.sttModel.device, daemon.memoryManager.cudaErrorCount]);
      usageAtEachOom.push(daemon.memoryManager.getMemoryStatus()!.usage);
    });
    await record(daemon, utterance('whiskey'), () => device.faults.failNextAllocations(ooms));

    assert.deepEqual(daemon.errorPolicy.verdicts, criteria.expected_returns, 'handleCudaError returns true, true, false');
    assert.deepEqual(atEachOom, [['cuda', 0], ['cuda', 1], ['cuda', 2]], 'after 2 OOMs the STT is still on the device');
    assert.equal(daemon.sttModel.device, 'cpu', 'CPU mode after the third');
    assert.equal(daemon.getStatus().models!.stt.device, 'cpu', 'the status API reports it');
    const fallbacks = ofType(notifications, 'CPU_FALLBACK');
    assert.equal(fallbacks.length, 1, 'one CPU_FALLBACK notification');
    assert.match(fallbacks[0]!.message, /stt_model moved to CPU/);
    const recoveredLine = daemon.memoryManager.thresholds.recoveredThreshold;
    assert.ok(usageAtEachOom.every((usage) => usage >= recoveredLine), `the ballast must keep usage >= ${recoveredLine}: ${usageAtEachOom}`);

    await record(daemon, utterance('zulu'));
    assert.deepEqual(injector.injections, ['whiskey', 'zulu'], 'the retry and the next recording are transcribed');
    assert.deepEqual(segments('segment-done').map((e) => e.device), ['cpu', 'cpu']);
    assert.equal(ofType(notifications, 'OOM').length, ooms, 'no further OOM on the CPU');
  }
}

// ---- 15, 16 ------------------------------------------------------------------------------------------------------

export class TestDataPreservation {
  /** 10 s held when an OOM hits: the preserver's file, read back from disk, holds the same 640,000 bytes. */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_audio_buffer_preservation')
  async test_audio_buffer_preservation({ device, daemons, measurement }: SuiteFixtures) {
    const { load, criteria } = scenario('test_audio_buffer_preservation');
    const samples = num(load, 'samples');
    const audio = seededNoise(samples, { seed: num(load, 'seed'), amplitude: num(load, 'amplitude') });
    assert.ok(audio.some((x) => Math.abs(x) > 1), 'precondition: the audio has values beyond ±1');
    const { daemon, emergencyDir } = daemons.create();
    await daemon.start();
    await daemon.toggle();
    await daemon.feedAudio(audio);
    assert.equal(daemon.getStatus().buffer.heldSeconds, num(load, 'audio_s'), 'the daemon holds exactly 10 s');

    daemon.subscribe((event) => {
      if (event.type === 'segment-queued') device.faults.failNextAllocations(1);
    });
    await daemon.toggle();

    const wavs = filesIn(emergencyDir, '.wav');
    assert.equal(wavs.length, 1, `expected one emergency WAV, found ${JSON.stringify(wavs)}`);
    const file = readFileSync(join(emergencyDir, wavs[0]!));
    const dataBytes = num(criteria, 'bytes');
    assert.equal(file.length, WAV_HEADER_BYTES + dataBytes, 'the WAV holds the 10 s as float32 after a 44-byte header');
    assert.equal(file.toString('latin1', 0, 4) + file.toString('latin1', 8, 16), 'RIFFWAVEfmt ');
    assert.equal(file.readUInt16LE(20), 3, 'format 3: IEEE float, not 16-bit PCM');
    assert.equal(file.readUInt16LE(22), 1, 'mono');
    assert.equal(file.readUInt32LE(24), RATE, '16,000 Hz');
    assert.equal(file.readUInt16LE(34), 32, '32-bit samples');
    assert.equal(file.toString('latin1', 36, 40), 'data');
    assert.equal(file.readUInt32LE(40), dataBytes, 'the data chunk holds 640,000 bytes');
    const saved = new Float32Array(file.buffer.slice(file.byteOffset + WAV_HEADER_BYTES, file.byteOffset + file.length));
    assert.equal(saved.length, samples, 'no sample lost');
    const mismatch = saved.findIndex((x, i) => !Object.is(x, audio[i]));
    assert.equal(mismatch, -1, `sample ${mismatch} differs: ${saved[mismatch]} saved, ${audio[mismatch]} captured`);
    assert.equal(Buffer.compare(file.subarray(WAV_HEADER_BYTES), Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength)), 0, 'the bytes are identical');

    const sidecar = JSON.parse(readFileSync(join(emergencyDir, filesIn(emergencyDir, '.json')[0]!), 'utf8')) as { audio: Record<string, unknown> };
    assert.deepEqual([sidecar.audio.file, sidecar.audio.samples, sidecar.audio.sampleRate, sidecar.audio.channels], [wavs[0], samples, RATE, 1]);
    measurement('preservation_rate', saved.length / samples);
  }

  /** An OOM in chunk 5 of 10 leaves a checkpoint on disk; a new daemon resumes at chunk 5 and types nothing twice. */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_transcription_state_preservation')
  async test_transcription_state_preservation({ device, daemons }: SuiteFixtures) {
    const { load } = scenario('test_transcription_state_preservation');
    const failAt = num(load, 'chunk_index');
    const totalChunks = num(load, 'total_chunks');
    // 20 words, one every 4.5 s, each its own level: 90 s make 10 chunks of 10 s with 1 s overlap.
    const words = VOCABULARY.slice(2, 22);
    const recording = concatAudio(words.flatMap((word) => [tone({ seconds: 1.2, amplitude: toneAmplitudeForWord(word) }), silence(3.3)]));
    const fullText = words.join(' ');

    const first = daemons.create({ mode: 'batch' });
    let liveAtOom: TranscriptionState | undefined;
    let typedBeforeOom = '';
    const chunkTotals = new Set<number>();
    first.daemon.subscribe((event) => {
      if (event.type === 'chunk-start') chunkTotals.add(event.total);
      if (event.type === 'chunk-start' && event.index === failAt) {
        liveAtOom = first.daemon.getTranscriptionState();
        typedBeforeOom = first.injector.text;
        device.faults.failNextAllocations(1);
      }
    });
    await first.daemon.start();
    await record(first.daemon, recording);
    assert.deepEqual([...chunkTotals], [totalChunks], 'the recording makes 10 chunks');
    assert.ok(liveAtOom, `chunk ${failAt} never started`);

    const checkpoints = filesIn(first.emergencyDir, '.json');
    assert.equal(checkpoints.length, 1, 'the OOM wrote one checkpoint');
    const onDisk = JSON.parse(readFileSync(join(first.emergencyDir, checkpoints[0]!), 'utf8')) as TranscriptionState & { audio: { file: string } };
    const { version, createdAt, audio: audioReference, ...fields } = onDisk as TranscriptionState & { version: number; createdAt: string; audio: { file: string } };
    assert.ok(version >= 1 && !Number.isNaN(Date.parse(createdAt)));
    assert.deepEqual(fields, liveAtOom, 'the checkpoint on disk has the fields of the live state at the OOM');
    assert.equal(fields.chunkIndex, failAt, 'the next chunk to do is the one that failed');
    assert.equal(fields.totalChunks, totalChunks);
    assert.ok(typedBeforeOom.length > 0, 'precondition: chunks 0-4 typed something');
    assert.equal(fields.partialText, typedBeforeOom);
    assert.equal(fields.lastInjected, typedBeforeOom);
    const wav = readFileSync(join(first.emergencyDir, audioReference.file));
    const savedRecording = new Float32Array(wav.buffer.slice(wav.byteOffset + WAV_HEADER_BYTES, wav.byteOffset + wav.length));

    // A new daemon (the next start) carries on from the files on disk.
    const second = daemons.create({ mode: 'batch' });
    const resumedChunks: number[] = [];
    second.daemon.subscribe((event) => event.type === 'chunk-start' && resumedChunks.push(event.index));
    await second.daemon.start();
    const done = await second.daemon.resume(onDisk, savedRecording);
    const range = Array.from({ length: totalChunks - failAt }, (_, i) => failAt + i);
    assert.deepEqual(done, range, 'resume() does chunks 5-9');
    assert.deepEqual(resumedChunks, range, 'and starts no other chunk');
    const typedOverall = fields.lastInjected + second.injector.text;
    assert.equal(typedOverall, fullText, 'typed before the OOM plus typed by resume() is the whole text');
    assert.equal(typedOverall.split(fields.partialText).length - 1, 1, 'the partial text appears once, never twice');
    assert.equal(second.injector.text.includes(words[0]!), false);
  }
}

// ---- 17, 18 ------------------------------------------------------------------------------------------------------

export class TestMultipleOOMHandling {
  /** Five work items in a row each meet an OOM; each is detected, counted, handled, and still produces its text. */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @mark.stress
  @budget('test_consecutive_oom_recovery')
  async test_consecutive_oom_recovery({ pressure, daemons }: SuiteFixtures) {
    const { load, budget_s } = scenario('test_consecutive_oom_recovery');
    const ooms = num(load, 'ooms');
    const started = performance.now();
    const { daemon, injector, notifications, exits } = daemons.create({
      oomHandling: 'ladder',
      stt: { preset: 'TEST', weightMB: num(load, 'stt_weight_mb'), contextSeconds: num(load, 'context_s'), contextMBPerSecond: num(load, 'context_mb_per_s') },
    });
    const events = watch(daemon);
    await daemon.start();
    pressure.allocateDeviceMemory(num(load, 'ballast_mb'));
    const words = VOCABULARY.slice(0, ooms);
    const metrics = daemon.recovery.metrics;
    const perItem: { oomEvents: number; handled: number; recoveredBy: string | undefined; sttDevice: string }[] = [];
    for (const [item, word] of words.entries()) {
      if (item > 0) {
        // The memory monitor's check: usage is at or below 0.60, so the offloaded models go back to the device.
        await daemon.memoryManager.checkOnce();
        assert.equal(daemon.sttModel.device, 'cuda', `before item ${item + 1} the models were not restored`);
      }
      // This work item needs more than the device has free while the models are resident: a real OOM.
      await record(daemon, utterance(word), () => (daemon.sttModel.inferenceBytes = num(load, 'request_mb') * MB));
      const status = daemon.recovery.getStatus();
      perItem.push({ oomEvents: metrics.oomEvents, handled: status.eventsHandled, recoveredBy: status.lastOutcome?.recoveredBy, sttDevice: daemon.sttModel.device });
    }
    assert.deepEqual(
      perItem,
      words.map((_, i) => ({ oomEvents: i + 1, handled: i + 1, recoveredBy: 'cpu_fallback', sttDevice: 'cpu' })),
      'each item: one more OOM event counted and handled, recovered by the CPU fallback',
    );
    assert.equal(metrics.oomEvents, ooms, 'the recovery metrics show 5 OOM events');
    assert.equal(ofType(notifications, 'OOM').length, ooms, 'each OOM was announced');
    assert.equal(daemon.errorPolicy.counts['3'], ooms, 'each on the transcription path');
    assert.deepEqual(injector.injections, words, 'every work item produced its text, in order');
    assert.deepEqual(events('segment-done').map((e) => e.device), words.map(() => 'cpu'));
    assert.equal(daemon.getStatus().segmentsFailed, 0, 'nothing lost');
    assert.deepEqual(exits, [], 'no crash, no emergency shutdown');
    assert.deepEqual([daemon.sttModel.device, daemon.vadModel.device], ['cpu', 'cpu'], 'CPU mode by the end');
    const elapsed = (performance.now() - started) / 1000;
    assert.ok(elapsed < budget_s, `5 OOMs took ${elapsed.toFixed(1)} s, over the ${budget_s} s budget`);
  }

  /**
   * A recovery step's own probe raises an OOM, and a second work item hits an OOM while the ladder runs: both are
   * nested, no second ladder starts, and after 2 the ladder goes straight to the CPU fallback.
   */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_oom_during_recovery')
  async test_oom_during_recovery({ device, memoryManager }: SuiteFixtures) {
    const { load, criteria, budget_s } = scenario('test_oom_during_recovery');
    const stt = new SttModel(device, { preset: 'TEST' });
    stt.load('cuda');
    assert.ok(memoryManager.registerModel(stt.name, stt));
    const metrics = new RecoveryMetrics();
    // The probe allocates for real through the device, so an OOM there surfaces inside the recovery step.
    const ladder = new RecoveryLadder({
      device,
      memoryManager,
      metrics,
      exitHook: (code) => void memoryManager.exits.push(code),
      probe: (bytes) => {
        device.free(device.allocate(bytes, 'probe'));
        return { ok: true };
      },
    });
    const notifications: RecoveryNotification[] = [];
    const duringRecovery: { ladder: LadderStatus; report: string }[] = [];
    let concurrent: Promise<RecoveryOutcome> | undefined;
    let concurrentStarted = false;
    memoryManager.notifier!.subscribe((event) => {
      notifications.push(event);
      if (event.type !== 'OOM' || !event.recoveryAttempted) return;
      duringRecovery.push({ ladder: ladder.getStatus(), report: memoryManager.getStatusReport() });
      if (!concurrentStarted) {
        // Another work item runs out of memory while the ladder is still running, and asks for recovery. Its own
        // nested notification comes back here before recover() returns, hence the flag set first.
        concurrentStarted = true;
        const second = caught(() => device.allocate(device.totalBytes() + MB, 'second work item'));
        concurrent = ladder.recover(second);
      }
    });

    try {
      const started = performance.now();
      device.faults.failNextAllocations(2); // the work item's allocation, then the probe after cache_clear
      let error: unknown;
      try {
        await stt.transcribe(utterance('mike'));
      } catch (raised) {
        error = raised;
      }
      assert.ok(isOom(error), `the work item did not fail with an OOM: ${errorText(error)}`);
      const outcome = await ladder.recover(error);
      const absorbed = await concurrent;
      const elapsed = (performance.now() - started) / 1000;

      assert.deepEqual(
        outcome.steps.map((s) => [s.strategy, s.success, s.nestedOom]),
        [['cache_clear', false, true], ['cpu_fallback', true, false]],
        'cache_clear meets two nested OOMs (its probe, a second work item), then the ladder goes straight to cpu_fallback',
      );
      assert.equal(outcome.nestedOoms, num(load, 'nested_ooms'), 'nested count 2');
      assert.equal(outcome.recoveredBy, 'cpu_fallback', 'then straight to the CPU fallback');
      assert.ok(outcome.steps.length <= num(criteria, 'max_attempts'), `${outcome.steps.length} recovery attempts`);
      assert.ok(absorbed, 'the concurrent OOM never reached the ladder');
      assert.equal(absorbed.nested, true, 'the OOM during recovery was absorbed as nested');
      assert.deepEqual(absorbed.steps, [], 'it started no second ladder');
      assert.equal(absorbed.eventId, outcome.eventId, 'it was counted against the running event');
      assert.equal(ladder.getStatus().eventsHandled, 1, 'one ladder ran');
      assert.deepEqual([metrics.oomEvents, metrics.nestedOomEvents], [1, 2], 'metrics: one OOM event, two nested OOMs');
      assert.equal(metrics.totalAttempts, outcome.steps.length);

      assert.equal(duringRecovery.length, 2, 'getStatus() was asked at each nested OOM');
      assert.deepEqual(
        duringRecovery.map((d) => [d.ladder.active, d.ladder.currentStep, d.ladder.nestedOoms]),
        [[true, 'cache_clear', 1], [true, 'cache_clear', 2]],
        'getStatus() answers during the recovery: active, in cache_clear, nested count 1 then 2',
      );
      assert.ok(duringRecovery.every((d) => d.report.length > 0));
      assert.equal(ladder.getStatus().active, false);

      assert.deepEqual(ofType(notifications, 'OOM').map((n) => n.recoveryAttempted), [false, true, true]);
      assert.deepEqual(memoryManager.exits, [], 'no emergency shutdown');
      assert.equal(stt.device, 'cpu');
      assert.equal((await stt.transcribe(utterance('mike'))).text, 'mike', 'work goes on, on the CPU');
      assert.ok(elapsed < budget_s, `recovery took ${elapsed.toFixed(1)} s`);
    } finally {
      memoryManager.unregisterModel(stt.name);
      stt.dispose();
    }
  }
}

// ---- 19 ----------------------------------------------------------------------------------------------------------

export class TestRecoveryMetrics {
  /** The system's recovery metrics: overall, running and per-strategy rates, the history, and the strict targets. */
  @mark.recovery
  @budget('test_recovery_success_rate')
  async test_recovery_success_rate({ measurement }: SuiteFixtures) {
    const { criteria } = scenario('test_recovery_success_rate');
    const outcomes = criteria.outcomes as [string, boolean][];
    const metrics = new RecoveryMetrics();
    // Where a real ladder run yields the outcome (a transient OOM cured by the first step), a ladder run on a private
    // budgeted CPU device records it; the others (a ladder never starts at a later step) go through the metrics API.
    const cpu = createCpuDevice({ budgetMB: 8, name: 'metrics test device' });
    const ladder = new RecoveryLadder({ device: cpu, metrics, exitHook: () => undefined });
    const windowStart = Date.now() / 1000;
    const meetsMinimumAfter: boolean[] = [];
    try {
      for (const [strategy, success] of outcomes) {
        if (strategy === 'cache_clear' && success) {
          cpu.faults.failNextAllocations(1);
          const run = await ladder.recover(caught(() => cpu.allocate(MB, 'work item')));
          assert.deepEqual(stepsOf(run), [['cache_clear', true]], 'the ladder run did not yield the expected outcome');
        } else {
          metrics.record(strategy, success);
        }
        meetsMinimumAfter.push(metrics.meetsMinimum());
      }
    } finally {
      cpu.close();
    }
    const windowEnd = Date.now() / 1000;

    assert.equal(metrics.totalAttempts, 5);
    assert.equal(metrics.successes, 4);
    assert.equal(metrics.failures, 1);
    assert.equal(metrics.successRate, num(criteria, 'expected_rate'));
    assert.deepEqual(metrics.runningRates().map((r) => Number(r.toFixed(3))), [1, 1, 0.667, 0.75, 0.8], 'running success rate after each attempt');
    assert.deepEqual(
      metrics.byStrategy(),
      {
        cache_clear: { attempts: 3, successes: 2, rate: 2 / 3 },
        garbage_collect: { attempts: 1, successes: 1, rate: 1 },
        cpu_fallback: { attempts: 1, successes: 1, rate: 1 },
      },
      'per strategy: cache_clear 2/3, garbage_collect 1/1, cpu_fallback 1/1',
    );
    const history = metrics.history();
    assert.deepEqual(history.map((r) => [r.strategy, r.success]), outcomes, 'the history keeps the 5 attempts in order');
    for (const [i, entry] of history.entries()) {
      assert.ok(entry.timestamp >= windowStart && entry.timestamp <= windowEnd, `attempt ${i + 1} has timestamp ${entry.timestamp}, outside the test`);
      if (i > 0) assert.ok(entry.timestamp >= history[i - 1]!.timestamp, 'timestamps are in order');
    }
    assert.equal(metrics.meetsMinimum(), true, '0.80 meets the minimum (> 0.75)');
    assert.equal(metrics.meetsTarget(), false, '0.80 misses the target (> 0.90)');
    assert.equal(history[3]!.runningRate, 0.75);
    assert.deepEqual(meetsMinimumAfter, [true, true, false, false, true], 'exactly 0.75 after attempt 4 fails the strict minimum');
    assert.equal(metrics.oomEvents, 2, 'the two ladder runs counted their OOM events');
    measurement('recovery_success_rate', metrics.successRate);
  }
}
