// OOM-prevention suite, part 1 (SPEC B.1, tests 1-9): memory stress, GPU-to-CPU fallback, CUDA-error recovery and
// emergency shutdown, each driving the real library (device, MemoryManager, daemon, PerformanceMonitor, preserver)
// with only the device and the STT/VAD models as stand-ins. Numbers come from scenarios.yaml.
//
// Run directly, this file is the stress harness (TestMemoryStressHarness, SPEC C.4):
//   npx tsx suites/test_memory_protection.ts --duration 4.0 --gpu-pressure 2000 --cpu-pressure 1000 --toggle-interval 60
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mark } from '../runner/index.js';
import { systemClock, type Clock, type Timer } from '../src/clock.js';
import { SEGMENT_LATENCY, type Daemon, type DaemonEvent, type ToggleResult } from '../src/daemon.js';
import { formatSize, type Device, type DeviceAllocation } from '../src/device/index.js';
import { createRecordingLogger } from '../src/log.js';
import type { MemoryManager, MemoryStatus } from '../src/memory-manager.js';
import { SttModel } from '../src/models/stt-model.js';
import { toneAmplitudeForWord } from '../src/models/transcript.js';
import { VadModel } from '../src/models/vad-model.js';
import type { PerformanceMonitor } from '../src/performance-monitor.js';
import type { RecoveryNotification } from '../src/recovery/index.js';
import { concatAudio, sameSamples, seededNoise, silence, tone } from '../src/synthetic-audio.js';
import { decodeWav, WAVE_FORMAT_IEEE_FLOAT } from '../src/wav.js';
import type { DaemonRig, Daemons } from './conftest.js';
import { MB, type MemoryPressureSimulator } from './support/pressure.js';
import { budget, num, scenario } from './support/scenarios.js';
import type { HarnessSettings } from './support/harness-args.js';
import { assessSeries, describeVerdict, LoopingAudio, runSoak, spokenCycles, WATCHED_SERIES, wordOfCycle, type LeakCriteria } from './support/soak.js';
import { describeProgress, harnessMain, runStressHarness, type HarnessIo } from './support/stress-harness.js';

/** What the suite's conftest provides (the runner passes what a test destructures). */
interface SuiteFixtures {
  device: Device;
  pressure: MemoryPressureSimulator;
  monitor: PerformanceMonitor;
  memoryManager: MemoryManager & { exits: number[] };
  daemons: Daemons;
  /** A measurement for the JUnit report (a suite property `<test>.<name>`). */
  measurement: (name: string, value: unknown) => void;
}

const RATE = 16_000;

// ---- helpers: audio, events, timers --------------------------------------------------------------------------

/** A tone the stand-in STT hears as `word`. */
function utterance(word: string, seconds = 1): Float32Array {
  return tone({ seconds, amplitude: toneAmplitudeForWord(word) });
}

/** Each word followed by a pause long enough (2.5 s > the 2.0 s rule) for the daemon to cut a segment. */
function spoken(words: readonly string[]): Float32Array {
  return concatAudio(words.flatMap((word) => [utterance(word), silence(2.5)]));
}

/** Runs `arm` once, when the next segment is queued: the worker calls the STT right after (SPEC A.4 path 3). */
function onNextSegment(daemon: Daemon, arm: () => void): void {
  const unsubscribe = daemon.subscribe((event) => {
    if (event.type !== 'segment-queued') return;
    unsubscribe();
    arm();
  });
}

type SegmentDone = Extract<DaemonEvent, { type: 'segment-done' }>;

/** Every finished segment, as [text, device it ran on]. */
function finishedSegments(daemon: Daemon): SegmentDone[] {
  const done: SegmentDone[] = [];
  daemon.subscribe((event) => event.type === 'segment-done' && done.push(event));
  return done;
}

function ofType(rig: DaemonRig, type: RecoveryNotification['type']): RecoveryNotification[] {
  return rig.notifications.filter((n) => n.type === type);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The system clock, counting the timers the daemon's parts set through it and have not yet fired or cancelled. */
class TimerTrackingClock implements Clock {
  private readonly pending = new Set<object>();
  now(): number {
    return systemClock.now();
  }
  monotonic(): number {
    return systemClock.monotonic();
  }
  setTimer(callback: () => void, delayMs: number, keepAlive?: boolean): Timer {
    const token = {};
    this.pending.add(token);
    const timer = systemClock.setTimer(() => {
      this.pending.delete(token);
      callback();
    }, delayMs, keepAlive);
    return {
      cancel: () => {
        this.pending.delete(token);
        timer.cancel();
      },
    };
  }
  get liveTimers(): number {
    return this.pending.size;
  }
}

/** Silences routine PerformanceMonitor warnings (a busy 2-core machine trips high_cpu) and keeps them for asserts. */
function collectWarnings(monitor: PerformanceMonitor): Record<string, string[]> {
  const seen: Record<string, string[]> = { high_gpu_memory: [], high_cpu: [], high_latency: [], memory_leak: [] };
  for (const type of ['high_gpu_memory', 'high_cpu', 'high_latency', 'memory_leak'] as const) monitor.onWarning(type, (m) => void seen[type]!.push(m));
  return seen;
}

function leakCriteria(criteria: Record<string, unknown>, withDeviation: boolean): LeakCriteria {
  return {
    maxSlopeMBps: num(criteria, 'max_slope_mb_s'),
    maxGrowthMB: num(criteria, 'max_growth_mb'),
    ...(withDeviation ? { maxDeviationFromMean: num(criteria, 'max_deviation_from_mean') } : {}),
  };
}

/** The words the injector typed, in order. */
function typedWords(rig: DaemonRig): string[] {
  return rig.injector.text.split(' ').filter((w) => w !== '');
}

// ---- the tests -------------------------------------------------------------------------------------------------

export class TestMemoryStress {
  /**
   * 60 s of steady work through the daemon pipeline (VAD, segmentation, temp WAV, STT stand-in, injection) with 500 MB
   * held on the device and the MemoryManager monitoring. Pass, for process RSS and device memory alike: slope
   * < 1 MB/s, growth < 100 MB, detectMemoryLeak sees no leak, every sample within ±10% of the mean; p95 segment
   * latency <= 2000 ms; every segment transcribed, in order.
   */
  @mark.gpu
  @mark.stress
  @budget('test_sustained_high_memory_usage')
  async test_sustained_high_memory_usage({ pressure, monitor, daemons, measurement }: SuiteFixtures) {
    const s = scenario('test_sustained_high_memory_usage');
    const criteria = leakCriteria(s.criteria, true);
    const perSecond = num(s.load, 'segments_per_s');
    const cycleSeconds = num(s.load, 'tone_s') + num(s.load, 'silence_s');
    pressure.allocateDeviceMemory(num(s.load, 'device_mb'));
    const warnings = collectWarnings(monitor);
    const rig = daemons.create({ performanceMonitor: monitor });
    const { daemon } = rig;
    await daemon.start();
    daemon.memoryManager.start(); // the real monitor loop (every 2 s), as the daemon runs it

    const soak = await runSoak({
      daemon,
      durationS: s.measure_s!,
      audio: new LoopingAudio(spokenCycles(num(s.load, 'tone_s'), num(s.load, 'silence_s'))),
      speed: perSecond * cycleSeconds, // one whole cycle (one segment) per feed
      feedEveryMs: 1000 / perSecond,
      sampleEveryS: num(s.load, 'sample_every_s'),
      warmupFeeds: num(s.load, 'warmup_segments'),
      abortAboveGrowthMB: criteria.maxGrowthMB,
    });
    assert.equal(soak.stoppedBy, 'duration', `stopped early: ${JSON.stringify(soak.growthAbort)}`);
    assert.equal(soak.samples, s.measure_s! / num(s.load, 'sample_every_s') + 1, 'one sample per second plus the baseline');

    const verdicts = WATCHED_SERIES.map((series) => assessSeries(monitor, series, soak.elapsedS + 5, criteria));
    for (const v of verdicts) {
      console.info(describeVerdict(v));
      measurement(`${v.metric}_slope_mb_s`, v.slopeMBps.toFixed(4));
      measurement(`${v.metric}_growth_mb`, v.totalGrowthMB.toFixed(2));
    }
    assert.deepEqual(verdicts.flatMap((v) => v.failures), []);
    assert.deepEqual(verdicts.map((v) => v.leakDetected), [false, false], 'detectMemoryLeak (with the metric selector) sees no leak');
    assert.deepEqual(warnings.memory_leak, []);

    const latency = monitor.getLatencyStats(SEGMENT_LATENCY);
    assert.ok(latency, 'segment latency was measured');
    measurement('segment_latency_p95_ms', latency.p95.toFixed(1));
    assert.ok(latency.p95 <= num(s.criteria, 'max_p95_latency_ms'), `p95 segment latency ${latency.p95.toFixed(0)} ms is above the limit`);

    // The workload really ran, and nothing was lost or repeated: one segment per cycle fed, each its own word.
    const status = daemon.getStatus();
    assert.equal(status.segmentsDone, soak.feeds, 'every cycle fed became a transcribed segment');
    assert.equal(status.segmentsFailed, 0);
    assert.equal(latency.count, soak.feeds);
    assert.deepEqual(typedWords(rig), Array.from({ length: soak.feeds }, (_, i) => wordOfCycle(i)));
    assert.ok(soak.feeds >= (s.measure_s! * perSecond) / 2, `only ${soak.feeds} segments in ${s.measure_s} s: the workload did not run steadily`);
    const manager = daemon.memoryManager;
    assert.ok(manager.counters.checks >= s.measure_s! / 2 / 2, 'the memory monitor ran throughout');
    assert.equal(manager.counters.levelChanges, 0, '500 MB of 4096 stays NORMAL');
    assert.equal(manager.cudaErrorCount, 0);
    assert.deepEqual(ofType(rig, 'OOM'), []);
    assert.deepEqual(listDir(rig.tempDir), [], 'every temp WAV was deleted');
  }

  /**
   * 100 cycles of allocating 50 MB through the system's device, touching it and freeing it, with a 200 MB resident
   * load. Pass: all allocations succeed; after emptyCache the allocated figure the MemoryManager reads is within
   * 10 MB of the baseline; reserved/allocated <= 1.2; the cache never held more than the one reused block.
   */
  @mark.gpu
  @mark.stress
  @budget('test_memory_allocation_stress')
  async test_memory_allocation_stress({ device, pressure, memoryManager }: SuiteFixtures) {
    const s = scenario('test_memory_allocation_stress');
    const blockMB = num(s.load, 'device_mb');
    const cycles = num(s.load, 'cycles');
    pressure.allocateDeviceMemory(num(s.load, 'resident_mb'), 'resident'); // what a loaded model holds
    memoryManager.clearCache();
    const baseline = memoryManager.getMemoryStatus()!;
    const countersBefore = device.counters();
    for (let cycle = 1; cycle <= cycles; cycle++) {
      let block: DeviceAllocation;
      try {
        block = device.allocate(blockMB * MB, 'stress');
      } catch (error) {
        assert.fail(`allocation ${cycle} of ${cycles} failed: ${(error as Error).message}`);
      }
      const last = block.tensors.at(-1)!.dataSync(); // touch: the bytes exist and were written
      assert.equal(last[last.length - 1], 1, `cycle ${cycle}: the block's memory was not written`);
      const held = memoryManager.getMemoryStatus()!;
      assert.ok(Math.abs(held.allocatedMb - (baseline.allocatedMb + blockMB)) < 1e-6, `cycle ${cycle}: ${held.allocatedMb} MB allocated while holding one block`);
      device.free(block);
    }
    // The freed block stays cached (PyTorch's allocator does the same); it must be one block, reused, not a pile-up.
    assert.ok(device.reservedBytes() / MB <= baseline.reservedMb + blockMB, `reserved ${device.reservedBytes() / MB} MB: cached blocks accumulated`);
    memoryManager.clearCache();
    const final = memoryManager.getMemoryStatus()!;
    assert.ok(Math.abs(final.allocatedMb - baseline.allocatedMb) <= num(s.criteria, 'max_final_delta_mb'), `final ${final.allocatedMb} MB vs baseline ${baseline.allocatedMb} MB`);
    assert.ok(final.allocatedMb > 1, 'the resident load keeps the fragmentation ratio meaningful');
    assert.ok(final.reservedMb / final.allocatedMb <= num(s.criteria, 'max_fragmentation_ratio'), `fragmented: reserved ${final.reservedMb} MB for ${final.allocatedMb} MB allocated`);
    const after = device.counters();
    assert.equal(after.allocations - countersBefore.allocations, cycles);
    assert.equal(after.frees - countersBefore.frees, cycles);
    assert.equal(after.outOfMemoryErrors, countersBefore.outOfMemoryErrors);
    assert.equal(after.liveAllocations, countersBefore.liveAllocations);
  }

  /**
   * One hour of continuous recording: the daemon in streaming mode fed 5 s of tone and 2.5 s of silence in real time
   * through the capture path, sampled every second (history 10,000), progress every 60 s, a 300 s window report.
   * Pass: on RSS and device memory slope < 1 MB/s and growth < 100 MB (checked at every sample, so a leak fails within
   * a minute or two); no failed segment, no CUDA error, no OOM; final state idle; temp dir empty; p95 <= 2000 ms.
   */
  @mark.gpu
  @mark.stress
  @mark.slow
  @budget('test_continuous_recording_memory_leak')
  async test_continuous_recording_memory_leak({ monitor, daemons, measurement }: SuiteFixtures) {
    const s = scenario('test_continuous_recording_memory_leak');
    const criteria = leakCriteria(s.criteria, false);
    const progressEveryS = num(s.load, 'progress_every_s');
    const cycleSeconds = num(s.load, 'tone_s') + num(s.load, 'silence_s');
    assert.ok(monitor.historySize >= s.measure_s! + 1, `history ${monitor.historySize} cannot hold ${s.measure_s} s of samples`);
    const warnings = collectWarnings(monitor);
    const rig = daemons.create({ performanceMonitor: monitor });
    const { daemon } = rig;
    await daemon.start();
    daemon.memoryManager.start();
    let lastProgress = 0;
    const soak = await runSoak({
      daemon,
      durationS: s.measure_s!,
      audio: new LoopingAudio(spokenCycles(num(s.load, 'tone_s'), num(s.load, 'silence_s'))),
      speed: 1,
      sampleEveryS: num(s.load, 'sample_every_s'),
      abortAboveGrowthMB: criteria.maxGrowthMB,
      onSample: (p) => {
        if (p.elapsedS - lastProgress < progressEveryS - 0.5) return;
        lastProgress = p.elapsedS;
        console.info(`continuous recording ${describeProgress(p)}`);
      },
    });
    assert.equal(soak.stoppedBy, 'duration', `stopped early: ${JSON.stringify(soak.growthAbort)} (state ${daemon.state})`);
    for (const { metric, label } of WATCHED_SERIES) {
      const recent = monitor.detectMemoryLeak({ windowSeconds: num(s.criteria, 'report_window_s'), metric });
      console.info(`last ${recent.windowSeconds} s, ${label}: ${recent.slopeMBps.toFixed(3)} MB/s (${(recent.slopeMBps * 3600).toFixed(1)} MB/h), ${recent.samples} samples`);
      measurement(`${metric}_slope_300s_mb_s`, recent.slopeMBps.toFixed(4));
    }
    const verdicts = WATCHED_SERIES.map((series) => assessSeries(monitor, series, soak.elapsedS + 5, criteria));
    for (const v of verdicts) {
      console.info(describeVerdict(v));
      measurement(`${v.metric}_slope_mb_s`, v.slopeMBps.toFixed(4));
      measurement(`${v.metric}_growth_mb`, v.totalGrowthMB.toFixed(2));
    }
    assert.deepEqual(verdicts.flatMap((v) => v.failures), []);
    assert.ok(soak.samples >= s.measure_s!, `${soak.samples} samples in ${s.measure_s} s`);

    const status = daemon.getStatus();
    assert.equal(daemon.state, 'idle', 'recording was toggled off and transcribed');
    assert.equal(status.segmentsFailed, 0);
    assert.equal(status.cudaErrorCount, 0);
    assert.deepEqual(ofType(rig, 'OOM'), []);
    assert.deepEqual(listDir(rig.tempDir), [], 'the temp directory is empty');
    const words = typedWords(rig);
    assert.deepEqual(words, words.map((_, i) => wordOfCycle(i)), 'segments arrive in order, none lost or repeated');
    assert.ok(words.length >= Math.floor(soak.audioSeconds / cycleSeconds), `${words.length} words for ${soak.audioSeconds} s of audio`);
    const latency = monitor.getLatencyStats(SEGMENT_LATENCY)!;
    measurement('segment_latency_p95_ms', latency.p95.toFixed(1));
    assert.ok(latency.p95 <= num(s.criteria, 'max_p95_latency_ms'), `p95 segment latency ${latency.p95.toFixed(0)} ms`);
    assert.deepEqual(warnings.memory_leak, []);
  }
}

export class TestGPUFallback {
  /**
   * The STT, registered on the device, asks for the device's whole size plus 100 MB. ORIG semantics: the OOM is
   * classified, handleCudaError runs its OOM branch and offloads every registered model, the same STT handle is now
   * on the CPU, the one retry succeeds there. Pass: no crash, CPU mode, the user told (one OOM, one CPU_FALLBACK), and
   * a second transcription also succeeds on the CPU.
   */
  @mark.gpu
  @mark.oom
  @mark.recovery
  @budget('test_gpu_to_cpu_fallback_on_oom')
  async test_gpu_to_cpu_fallback_on_oom({ device, daemons }: SuiteFixtures) {
    const s = scenario('test_gpu_to_cpu_fallback_on_oom');
    const rig = daemons.create();
    const { daemon } = rig;
    await daemon.start();
    const stt = daemon.sttModel;
    assert.equal(stt.device, 'cuda');
    assert.ok(daemon.memoryManager.gpuModelNames().includes(stt.name), 'the STT is registered with the MemoryManager');
    const impossible = device.totalBytes() + num(s.load, 'extra_mb') * MB;
    stt.inferenceBytes = impossible; // every transcription now asks for more than the device has
    const allocatedMb = device.allocatedBytes() / MB;
    const ipcCollectsBefore = device.counters().ipcCollectCalls;
    const done = finishedSegments(daemon);
    await daemon.toggle();
    await daemon.feedAudio(spoken(['alpha']));
    await daemon.whenIdle();

    const ooms = ofType(rig, 'OOM');
    assert.equal(ooms.length, 1, 'one OOM notification');
    assert.match(ooms[0]!.message, /out of memory/i);
    assert.ok(ooms[0]!.message.includes(`Tried to allocate ${formatSize(impossible)}`), ooms[0]!.message);
    assert.doesNotMatch(ooms[0]!.message, /injected/, 'a real shortage, not an injected fault');
    assert.equal(ooms[0]!.recoveryAttempted, false);
    assert.equal(ooms[0]!.gpuMemoryMb, allocatedMb, 'the notification carries the allocated MB of that moment');
    assert.equal(daemon.errorPolicy.counts['3'], 1, 'handled on the transcription path');
    assert.equal(device.counters().ipcCollectCalls - ipcCollectsBefore, 1, "handleCudaError's OOM branch ran (GC, emptyCache, ipcCollect)");
    assert.deepEqual(daemon.errorPolicy.verdicts, [true]);
    assert.equal(daemon.memoryManager.cudaErrorCount, 0, 'usage fell below 0.80 once the models left: recovered');
    assert.strictEqual(daemon.sttModel, stt, 'the daemon still holds the same handle');
    assert.equal(stt.device, 'cpu', 'CPU mode');
    assert.equal(daemon.vadModel.device, 'cpu', 'ORIG: the first OOM offloads every registered model');
    assert.equal(ofType(rig, 'CPU_FALLBACK').length, 1, 'the user is told about the move to the CPU');
    assert.deepEqual(done.map((e) => [e.text, e.device]), [['alpha', 'cpu']], 'the retry transcribed on the CPU');

    await daemon.feedAudio(spoken(['bravo']));
    await daemon.whenIdle();
    assert.deepEqual(done.map((e) => [e.text, e.device]), [['alpha', 'cpu'], ['bravo', 'cpu']]);
    assert.equal(ofType(rig, 'OOM').length, 1, 'no further OOM on the CPU');
    assert.equal(rig.injector.text, 'alpha bravo');
    const off = await daemon.toggle();
    assert.deepEqual([off.accepted, off.state], [true, 'idle']);
    assert.equal(daemon.getStatus().segmentsFailed, 0);
  }

  /**
   * 50 record/stop cycles with 100 MB allocated and freed on a 128 MB device in each, and an OOM in every 10th
   * cycle's transcription; the cycle after it takes the monitor through WARNING back to NORMAL. Pass: 100 toggles accepted, every cycle ends idle and typed its word,
   * the STT goes to the CPU on exactly the OOM cycles and back to the device on the next NORMAL check, allocated ends
   * within 10 MB of the baseline, no temp file and no live timer is left.
   */
  @mark.gpu
  @mark.stress
  @mark.recovery
  @budget('test_rapid_toggle_with_fallback')
  async test_rapid_toggle_with_fallback({ device, pressure, daemons }: SuiteFixtures) {
    const s = scenario('test_rapid_toggle_with_fallback');
    const cycles = num(s.load, 'cycles');
    const every = num(s.load, 'inject_oom_every');
    const isOomCycle = (cycle: number) => cycle % every === every / 2; // 5, 15, ...: each is followed by a restore
    const clock = new TimerTrackingClock();
    const rig = daemons.create({ clock });
    const { daemon } = rig;
    await daemon.start();
    const manager = daemon.memoryManager;
    const stt = daemon.sttModel;
    const baselineMb = device.allocatedBytes() / MB;
    const commands: ToggleResult[] = [];
    const placements: string[] = [];
    const levels: string[] = [];
    const typed: string[] = [];
    for (let cycle = 1; cycle <= cycles; cycle++) {
      commands.push(await daemon.toggle()); // idle -> recording
      const word = wordOfCycle(cycle - 1);
      typed.push(word);
      await daemon.feedAudio(utterance(word, num(s.load, 'audio_s')));
      const load = pressure.allocateDeviceMemory(num(s.load, 'device_mb'), 'toggle-load');
      // After an OOM cycle the monitor sees the load (WARNING), then its release: the NORMAL transition restores the
      // offloaded models (usage <= 0.60). Elsewhere it checks only after the release, which stays NORMAL.
      if (isOomCycle(cycle - 1)) levels.push((await manager.checkOnce())!.level);
      pressure.free(load);
      levels.push((await manager.checkOnce())!.level);
      if (isOomCycle(cycle)) {
        assert.equal(stt.device, 'cuda', `cycle ${cycle}: the STT never came back to the device after the last fallback`);
        onNextSegment(daemon, () => device.faults.failNextAllocations(1));
      }
      commands.push(await daemon.toggle()); // recording -> processing -> idle
      assert.equal(daemon.state, 'idle', `cycle ${cycle} ended in ${daemon.state}`);
      assert.equal(device.faults.pendingAllocationFailures, 0, `cycle ${cycle}: the injected OOM did not hit the transcription`);
      placements.push(stt.device);
    }
    assert.equal(commands.length, 2 * cycles);
    assert.deepEqual(commands.filter((c) => !c.accepted), [], 'no toggle refused');
    const expectedLevels = Array.from({ length: cycles }, (_, i) => (isOomCycle(i) ? ['warning', 'normal'] : ['normal'])).flat();
    assert.deepEqual(levels, expectedLevels, 'WARNING under load after each OOM cycle, NORMAL once released');
    assert.deepEqual(placements, Array.from({ length: cycles }, (_, i) => (isOomCycle(i + 1) ? 'cpu' : 'cuda')), 'GPU -> CPU on each OOM, back on the next cycle');
    assert.deepEqual([stt.moves.toCpu, stt.moves.toGpu], [cycles / every, cycles / every]);
    assert.equal(ofType(rig, 'OOM').length, cycles / every);
    assert.deepEqual(rig.injector.injections, typed, 'every recording was transcribed, one word each');
    assert.equal(daemon.getStatus().segmentsFailed, 0);
    assert.equal(daemon.getStatus().buffer.capacitySeconds, 30, 'the ring, halved at each WARNING, is back to 30 s');
    assert.ok(Math.abs(device.allocatedBytes() / MB - baselineMb) <= num(s.criteria, 'max_final_delta_mb'), `allocated ${device.allocatedBytes() / MB} MB, baseline ${baselineMb} MB`);
    assert.deepEqual(listDir(rig.tempDir), [], 'no leftover temp files');
    await daemon.stop();
    assert.equal(clock.liveTimers, 0, 'no live timers after stop()');
    assert.equal(device.allocatedBytes(), 0, "stop() released the daemon's device memory");
  }
}

export class TestCUDAErrorRecovery {
  /**
   * Usage held at 50%; one OOM injected into the STT's device allocation. handleCudaError returns true through the
   * "recovered" branch (usage < 0.80 after cleanup), the count stays 0, emptyCache ran; a 1 MB probe succeeds, the
   * models come back at the next check (<= 0.60) and a transcription on the device keeps the count at 0. Then a
   * non-OOM `CUDA error: unspecified launch failure`: true with the count at 1, reset to 0 by the successful retry.
   */
  @mark.gpu
  @mark.recovery
  @budget('test_cuda_error_recovery')
  async test_cuda_error_recovery({ device, pressure, daemons }: SuiteFixtures) {
    const s = scenario('test_cuda_error_recovery');
    const logger = createRecordingLogger();
    const rig = daemons.create({ logger });
    const { daemon } = rig;
    await daemon.start();
    const manager = daemon.memoryManager;
    pressure.fillDeviceTo(num(s.load, 'usage'));
    const done = finishedSegments(daemon);
    await daemon.toggle();

    const emptyCachesBefore = device.counters().emptyCacheCalls;
    onNextSegment(daemon, () => device.faults.failNextAllocations(1));
    await daemon.feedAudio(spoken(['alpha']));
    await daemon.whenIdle();
    assert.equal(device.faults.injectedAllocationFailures, 1);
    assert.deepEqual(daemon.errorPolicy.verdicts, [true], 'handleCudaError returned true');
    assert.ok(logger.messages('warning').some((m) => m.startsWith('CUDA Error (1/3):') && /out of memory/i.test(m)), 'counted as CUDA error 1 of 3');
    assert.ok(logger.messages('info').some((m) => m.startsWith('Recovered from OOM: usage ')), 'the "recovered" branch ran');
    assert.equal(manager.cudaErrorCount, 0, 'a recovered OOM is forgiven');
    // The retry's success resets the count anyway; only the absence of a reset shows it was already 0 by then.
    assert.deepEqual(logger.messages('info').filter((m) => m.startsWith('CUDA error count reset')), [], 'a recovered OOM is forgiven at once');
    assert.ok(device.counters().emptyCacheCalls > emptyCachesBefore, 'emptyCache was called');
    assert.deepEqual(done.map((e) => e.text), ['alpha'], 'the retry transcribed the segment');

    assert.ok(device.probe(MB).ok, 'a 1 MB allocation on the device succeeds');
    const status = (await manager.checkOnce())!;
    assert.ok(status.usage <= 0.6, `usage ${status.usage}`);
    assert.deepEqual([daemon.sttModel.device, daemon.vadModel.device], ['cuda', 'cuda'], 'the models are back on the device');
    await daemon.feedAudio(spoken(['bravo']));
    await daemon.whenIdle();
    assert.deepEqual(done.map((e) => [e.text, e.device]).at(-1), ['bravo', 'cuda'], 'the device transcribes again');
    assert.equal(manager.cudaErrorCount, 0);

    onNextSegment(daemon, () => device.faults.failNextOperations(1));
    await daemon.feedAudio(spoken(['charlie']));
    await daemon.whenIdle();
    assert.equal(device.faults.injectedOperationFailures, 1);
    assert.deepEqual(daemon.errorPolicy.verdicts, [true, true], 'a launch failure is counted, and the GPU kept');
    assert.ok(logger.messages('warning').includes('CUDA Error (1/3): CUDA error: unspecified launch failure'), 'the count was 1');
    assert.ok(logger.messages('info').includes('CUDA error count reset (was 1)'), 'the successful retry reset it');
    assert.equal(manager.cudaErrorCount, 0);
    assert.deepEqual(done.map((e) => [e.text, e.device]).at(-1), ['charlie', 'cuda']);
    assert.equal((await daemon.toggle()).state, 'idle');
    assert.equal(rig.injector.text, 'alpha bravo charlie');
  }

  /**
   * Three launch failures in a row on the STT, with nothing succeeding in between: handleCudaError answers true,
   * true, false with the count at 1, 2, 3; on false the STT (only it) moves to the CPU, where the next attempt
   * succeeds; the device still works (probe, VAD). Variant: error, success (reset), error, error -> count 2, no
   * fallback.
   */
  @mark.gpu
  @mark.recovery
  @budget('test_repeated_cuda_errors')
  async test_repeated_cuda_errors({ device, daemons }: SuiteFixtures) {
    const s = scenario('test_repeated_cuda_errors');
    const errors = num(s.load, 'errors');
    const logA = createRecordingLogger();
    // One attempt plus `errors` retries: three failures, then one more try after the verdict.
    const a = daemons.create({ logger: logA, transcriptionRetries: errors });
    await a.daemon.start();
    const doneA = finishedSegments(a.daemon);
    await a.daemon.toggle();
    await a.daemon.feedAudio(utterance('alpha')); // no pause: the segment is cut when recording stops
    onNextSegment(a.daemon, () => device.faults.failNextOperations(errors));
    await a.daemon.toggle();
    assert.deepEqual(a.daemon.errorPolicy.verdicts, s.criteria.expected_returns, 'handleCudaError answered true, true, false');
    const counts = logA.messages('warning').filter((m) => m.startsWith('CUDA Error (')).map((m) => m.slice('CUDA Error ('.length, m.indexOf(')')));
    assert.deepEqual(counts, ['1/3', '2/3', '3/3']);
    assert.ok(logA.messages('error').some((m) => m.startsWith('Maximum CUDA errors reached (3/3)')));
    assert.equal(a.daemon.sttModel.device, 'cpu', 'false: the model the errors came from fell back');
    assert.equal(a.daemon.vadModel.device, 'cuda', 'the other model stays on the device');
    assert.deepEqual(ofType(a, 'CPU_FALLBACK').map((n) => n.message.split(':')[0]), ['stt_model moved to CPU']);
    assert.deepEqual(doneA.map((e) => [e.text, e.device]), [['alpha', 'cpu']]);
    assert.equal(a.daemon.memoryManager.cudaErrorCount, 0, 'the success on the CPU reset the count');

    assert.ok(device.probe(MB).ok, 'the device still allocates');
    const operations = device.counters().operations;
    const detections = a.daemon.vadModel.detections;
    await a.daemon.toggle();
    await a.daemon.feedAudio(utterance('bravo'));
    await a.daemon.toggle();
    assert.ok(a.daemon.vadModel.detections > detections && device.counters().operations > operations, 'the VAD still runs on the device');
    assert.deepEqual(a.injector.injections, ['alpha', 'bravo']);

    const logB = createRecordingLogger();
    const b = daemons.create({ logger: logB }); // the original's single retry
    await b.daemon.start();
    const doneB = finishedSegments(b.daemon);
    const record = async (word: string, faults: number) => {
      await b.daemon.toggle();
      await b.daemon.feedAudio(utterance(word));
      onNextSegment(b.daemon, () => device.faults.failNextOperations(faults));
      await b.daemon.toggle();
    };
    await record('charlie', 1); // error, then success
    assert.equal(b.daemon.memoryManager.cudaErrorCount, 0);
    assert.ok(logB.messages('info').includes('CUDA error count reset (was 1)'));
    await record('delta', 2); // error, error: the retries are used up
    assert.deepEqual(b.daemon.errorPolicy.verdicts, [true, true, true]);
    assert.equal(b.daemon.memoryManager.cudaErrorCount, 2);
    assert.equal(b.daemon.sttModel.device, 'cuda', 'no fallback below 3 errors');
    assert.deepEqual(ofType(b, 'CPU_FALLBACK'), []);
    assert.deepEqual(doneB.map((e) => e.text), ['charlie']);
    assert.equal(b.daemon.getStatus().segmentsFailed, 1);
    assert.ok(b.daemon.lastPreservation, "the failed segment's audio was saved, not dropped");
  }
}

export class TestEmergencyShutdown {
  /**
   * A MemoryManager with two registered stand-in models on a 100 MB device. (a) 0.949: CRITICAL, no emergency
   * callback. (b) exactly 0.950: EMERGENCY: the critical cleanup (3 GC, 3 emptyCache, peak reset), the models
   * offloaded, the `emergency` callback once with the pre-cleanup snapshot, no shutdown (0.878 <= 0.98). (c) after a
   * NORMAL step (restore deferred at 0.70), 0.99 of unreleasable ballast: `emergency_shutdown` once, then exitHook(1),
   * and no `emergency` level callback (ORIG order); the monitor stops.
   */
  @mark.gpu
  @mark.oom
  @budget('test_emergency_shutdown_trigger')
  async test_emergency_shutdown_trigger({ device, pressure, memoryManager }: SuiteFixtures) {
    const s = scenario('test_emergency_shutdown_trigger');
    const [below, atLine, overLine] = s.load.usages as [number, number, number];
    const stt = new SttModel(device, { preset: 'TEST' });
    const vad = new VadModel(device);
    try {
      stt.load('cuda');
      vad.load('cuda');
      assert.ok(memoryManager.registerModel(stt.name, stt) && memoryManager.registerModel(vad.name, vad));
      const calls = { emergency: [] as MemoryStatus[], critical: 0, normal: 0, shutdown: [] as number[] };
      memoryManager.setCallback('emergency', (status) => void calls.emergency.push(status));
      memoryManager.setCallback('critical', () => void calls.critical++);
      memoryManager.setCallback('normal', () => void calls.normal++);
      memoryManager.setCallback('emergency_shutdown', () => void calls.shutdown.push(memoryManager.exits.length));
      const ballast: DeviceAllocation[] = [];
      const fill = (usage: number) => {
        const added = pressure.fillDeviceTo(usage);
        if (added) ballast.push(added);
      };

      fill(below);
      const a = (await memoryManager.checkOnce())!;
      assert.deepEqual([a.usage, a.level], [below, 'critical']);
      assert.deepEqual([calls.emergency.length, calls.critical], [0, 1], 'below the line: no emergency callback');
      assert.equal(memoryManager.gpuModelNames().length, 2);

      const deviceBefore = device.counters();
      const gcBefore = memoryManager.counters.gcCalls;
      fill(atLine);
      const b = (await memoryManager.checkOnce())!;
      assert.deepEqual([b.usage, b.level], [atLine, 'emergency'], 'exactly 0.95 is EMERGENCY');
      const deviceAfter = device.counters();
      assert.equal(memoryManager.counters.gcCalls - gcBefore, 3 + 1, '3 GC passes of the critical cleanup, then the offload');
      assert.equal(deviceAfter.emptyCacheCalls - deviceBefore.emptyCacheCalls, 3 + 2 + 1, '3 of the cleanup, then one per offloaded model and one at the end');
      assert.equal(deviceAfter.peakResets - deviceBefore.peakResets, 1);
      assert.deepEqual(memoryManager.offloadedModelNames().sort(), [stt.name, vad.name].sort());
      assert.deepEqual([stt.device, vad.device], ['cpu', 'cpu']);
      assert.equal(calls.emergency.length, 1);
      assert.equal(calls.emergency[0]!.usage, atLine, 'the callback gets the snapshot from before the cleanup');
      assert.ok(memoryManager.getMemoryStatus()!.usage <= 0.98, 'offloading brought usage under the shutdown line');
      assert.deepEqual([calls.shutdown, memoryManager.exits], [[], []]);

      for (const allocation of ballast.splice(0)) pressure.free(allocation);
      memoryManager.clearCache(); // the freed blocks go back too, so the next fill gets fresh ones
      fill(num(s.load, 'step_down_usage'));
      const c0 = (await memoryManager.checkOnce())!;
      assert.equal(c0.level, 'normal');
      assert.equal(calls.normal, 1);
      assert.equal(memoryManager.counters.restoresDeferred, 1, 'restore deferred above 0.60');
      assert.deepEqual([stt.device, vad.device], ['cpu', 'cpu']);

      fill(overLine);
      const c = (await memoryManager.checkOnce())!;
      assert.deepEqual([c.usage, c.level], [overLine, 'emergency']);
      assert.deepEqual(calls.shutdown, [0], 'emergency_shutdown ran once, before the exit hook');
      assert.deepEqual(memoryManager.exits, [1], 'exitHook(1)');
      assert.equal(calls.emergency.length, 1, 'no emergency level callback after a shutdown');
      assert.equal(memoryManager.shutdownTriggered, true);
      const checks = memoryManager.counters.checks;
      await memoryManager.checkOnce();
      assert.equal(memoryManager.counters.checks, checks, 'after the shutdown the monitor does nothing more');
      assert.deepEqual(memoryManager.exits, [1]);
    } finally {
      stt.dispose();
      vad.dispose();
    }
  }

  /**
   * The daemon is recording: one segment transcribed ('alpha', the partial text) and 3 s of seeded noise beyond ±1
   * held in the streaming buffer and the ring. Usage 0.999 that stays above 0.98 after offloading forces the
   * emergency shutdown. Pass: WAV and checkpoint in the emergency directory before exitHook runs; the WAV read back
   * from disk is bit-identical to the held samples (IEEE float, 16 kHz, mono); the checkpoint equals the live state;
   * state `error`; socket removed; exitHook once with 1; stop() keeps the files; no live timer; no unhandled rejection.
   */
  @mark.gpu
  @mark.recovery
  @budget('test_data_preservation_on_shutdown')
  async test_data_preservation_on_shutdown({ pressure, daemons }: SuiteFixtures) {
    const s = scenario('test_data_preservation_on_shutdown');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const clock = new TimerTrackingClock();
      const atExit: { code: number; files: string[]; state: string; socket: boolean }[] = [];
      const rig: DaemonRig = daemons.create({
        socket: true,
        clock,
        startMonitors: true, // both monitor loops run, so "no live timer" means the shutdown really stopped them
        exitHook: (code) => {
          atExit.push({ code, files: listDir(rig.emergencyDir), state: rig.daemon.state, socket: existsSync(rig.socketPath!) });
        },
      });
      const { daemon } = rig;
      await daemon.start();
      assert.ok(existsSync(rig.socketPath!));
      let cutAt = -1;
      daemon.subscribe((event) => event.type === 'segment-queued' && (cutAt = event.samples));
      await daemon.toggle();
      const speech = spoken(['alpha']);
      const noise = seededNoise(num(s.load, 'audio_s') * RATE, { seed: 9, amplitude: 2 }); // no pause: it stays held
      await daemon.feedAudio(speech);
      await daemon.whenIdle();
      await daemon.feedAudio(noise);
      const held = concatAudio([speech, noise]).subarray(cutAt);
      const buffers = daemon.getStatus().buffer;
      assert.ok(buffers.streamingSeconds > 0 && buffers.ringSeconds > 0, 'the streaming buffer and the ring both hold audio');
      assert.equal(buffers.heldSeconds * RATE, held.length);
      const live = daemon.getTranscriptionState();
      assert.equal(live.partialText, 'alpha');

      pressure.fillDeviceTo(num(s.load, 'fill_usage'));
      await daemon.memoryManager.checkOnce();

      assert.deepEqual(atExit.map((e) => e.code), [num(s.criteria, 'exit_code')], 'exitHook called once, with 1');
      const [exit] = atExit;
      assert.equal(exit!.files.length, 2, `WAV and checkpoint were on disk before exitHook ran: ${exit!.files.join(', ')}`);
      assert.equal(exit!.state, 'error');
      assert.equal(exit!.socket, false, 'socket removed');
      assert.ok(daemon.memoryManager.offloadedModelNames().length === 0 && daemon.memoryManager.counters.offloads === 1, 'models were offloaded first');
      const saved = daemon.lastPreservation!;
      assert.deepEqual(exit!.files, [saved.audioPath, saved.checkpointPath].map((p) => p.slice(rig.emergencyDir.length + 1)).sort());
      const wav = decodeWav(readFileSync(saved.audioPath));
      assert.deepEqual([wav.formatTag, wav.bitsPerSample, wav.sampleRate, wav.channels], [WAVE_FORMAT_IEEE_FLOAT, 32, RATE, 1]);
      assert.equal(wav.samples.length, held.length, 'sample count');
      assert.ok(sameSamples(wav.samples, held), 'the bytes on disk are the held samples, bit for bit');
      const checkpoint = JSON.parse(readFileSync(saved.checkpointPath, 'utf8'));
      for (const [key, value] of Object.entries(live)) assert.deepEqual(checkpoint[key], value, `checkpoint.${key}`);
      assert.equal(daemon.state, 'error');
      assert.equal(daemon.running, false);

      await daemon.stop();
      assert.deepEqual(listDir(rig.emergencyDir), exit!.files, 'stop() does not delete emergency files');
      assert.equal(clock.liveTimers, 0, 'no live timers');
      assert.deepEqual(atExit.length, 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }
}

/**
 * The stress harness of the original suite (SPEC C.4): holds its settings and runs the soak with toggles. It collects
 * no tests: its constructor takes the settings (pytest skips such classes) and `__test__` says so outright.
 */
export class TestMemoryStressHarness {
  static __test__ = false;
  constructor(readonly settings: HarnessSettings) {}
  run(io?: HarnessIo, signal?: AbortSignal): Promise<number> {
    return runStressHarness(this.settings, io, signal);
  }
  static main(argv: readonly string[]): Promise<number> {
    return harnessMain(argv);
  }
}

// Imported as a suite, nothing starts; run as a script, this is the harness CLI.
const script = process.argv[1];
if (script !== undefined && import.meta.url === pathToFileURL(script).href) {
  void TestMemoryStressHarness.main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
