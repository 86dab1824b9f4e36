// The stress-harness CLI (TestMemoryStressHarness, SPEC C.4): checks that the pressure fits, holds both ballasts, runs
// the shared soak (soak.ts) for hours with progress, writes the samples and the verdict as JSON, exits 0 or 1.
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Daemon } from '../../src/daemon.js';
import { selectDevice, type Device } from '../../src/device/index.js';
import { defaultGcHook } from '../../src/gc.js';
import { readMemAvailableBytes } from '../../src/host-memory.js';
import type { Logger } from '../../src/log.js';
import { STT_PRESETS } from '../../src/models/stt-model.js';
import { VAD_WEIGHT_MB } from '../../src/models/vad-model.js';
import { DEFAULT_THRESHOLDS } from '../../src/memory-levels.js';
import { PerformanceMonitor } from '../../src/performance-monitor.js';
import { HarnessUsageError, HARNESS_HELP, MODEL_CHOICES, parseHarnessArgs, type HarnessSettings } from './harness-args.js';
import { MB, MemoryPressureSimulator } from './pressure.js';
import { assessSeries, describeVerdict, ensureGc, LoopingAudio, runSoak, spokenCycles, WATCHED_SERIES, type LeakCriteria, type SoakProgress } from './soak.js';

/** VAD input staged on the device per block: 8,192 float32 samples. */
const VAD_INPUT_MB = (8192 * 4) / MB;
/** Kept free on the host beyond what the run needs (the process itself, the page cache). */
const HOST_RESERVE_MB = 512;

export interface FitPlan {
  fits: boolean;
  /** The one line printed when it does not fit. */
  reason?: string;
  deviceTotalMB: number;
  /** The CRITICAL line: resident device memory must stay below it. */
  deviceLimitMB: number;
  device: { modelMB: number; contextMB: number; vadMB: number; perCallMB: number; pressureMB: number; simulatedLeakMB: number; totalMB: number };
  host: { neededMB: number; availableMB: number | null };
}

const fmt = (mb: number) => `${Math.round(mb * 10) / 10} MB`;

/** What the run will hold on the device and the host, and whether that fits (SPEC C.4 step 1). */
export function planFit(settings: HarnessSettings, device: { totalBytes: number; kind: 'cuda' | 'cpu' }, hostAvailableBytes: number | null): FitPlan {
  const preset = STT_PRESETS[MODEL_CHOICES[settings.model]];
  const parts = {
    modelMB: preset.weightMB,
    contextMB: preset.contextSeconds * preset.contextMBPerSecond,
    vadMB: VAD_WEIGHT_MB,
    perCallMB: preset.inferenceMB + VAD_INPUT_MB,
    pressureMB: settings.gpuPressureMB,
    simulatedLeakMB: settings.simulateLeakMBps * Math.ceil(settings.durationHours * 3600),
  };
  const totalMB = Object.values(parts).reduce((a, b) => a + b, 0);
  const deviceTotalMB = device.totalBytes / MB;
  const deviceLimitMB = deviceTotalMB * DEFAULT_THRESHOLDS.criticalThreshold;
  // On the CPU device, device tensors are host memory too.
  const neededMB = settings.cpuPressureMB + (device.kind === 'cpu' ? totalMB : 0);
  const availableMB = hostAvailableBytes === null ? null : hostAvailableBytes / MB;
  const plan: FitPlan = { fits: true, deviceTotalMB, deviceLimitMB, device: { ...parts, totalMB }, host: { neededMB, availableMB } };
  if (totalMB >= deviceLimitMB) {
    const room = deviceLimitMB - (totalMB - parts.pressureMB - parts.simulatedLeakMB);
    const advice = room > 0 ? `use --gpu-pressure below ${Math.floor(room)} MB, a smaller --model, or a larger --budget-mb` : `the model alone does not fit: use a smaller --model or a larger --budget-mb`;
    const leak = parts.simulatedLeakMB > 0 ? ` + simulated leak ${fmt(parts.simulatedLeakMB)}` : '';
    plan.fits = false;
    plan.reason =
      `cannot fit on the device: ${settings.model.toUpperCase()} model ${fmt(parts.modelMB)} + streaming context ${fmt(parts.contextMB)} + VAD ${fmt(parts.vadMB)} + ` +
      `per-call buffers ${fmt(parts.perCallMB)} + --gpu-pressure ${fmt(parts.pressureMB)}${leak} = ${fmt(totalMB)}, not below 85% of the ` +
      `${fmt(deviceTotalMB)} device (${fmt(deviceLimitMB)}, the CRITICAL line); ${advice}`;
  } else if (availableMB !== null && neededMB > availableMB - HOST_RESERVE_MB) {
    plan.fits = false;
    plan.reason =
      `cannot fit on the host: the run needs ${fmt(neededMB)} (--cpu-pressure ${fmt(settings.cpuPressureMB)}` +
      `${device.kind === 'cpu' ? ` + ${fmt(totalMB)} of device tensors, which live in host memory on the CPU device` : ''}) ` +
      `but only ${fmt(availableMB)} are available and ${HOST_RESERVE_MB} MB stay in reserve; lower --cpu-pressure or --gpu-pressure`;
  }
  return plan;
}

// ---- the CLI: the run ------------------------------------------------------------------------------------------

export interface HarnessIo {
  out(line: string): void;
  err(line: string): void;
  /** Rewrites the current terminal line (progress bar); only called when `isTTY`. */
  bar(text: string): void;
  isTTY: boolean;
}

export const processIo: HarnessIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  bar: (text) => void process.stdout.write(`\r${text}\x1b[K`),
  isTTY: process.stdout.isTTY === true,
};

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
}

/** One progress line: elapsed of total, RSS and device memory with their growth, segments, toggles. */
export function describeProgress(p: SoakProgress): string {
  const rss = p.latest.processMemory;
  const dev = p.latest.gpuMemoryAllocated;
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;
  return (
    `${clock(p.elapsedS)} / ${clock(p.durationS)}  rss ${rss.toFixed(1)} MB (${signed(rss - p.first.processMemory)})  ` +
    `device ${dev.toFixed(1)} MB (${signed(dev - p.first.gpuMemoryAllocated)})  segments ${String(p.latest.custom.segmentsDone)}  toggles ${p.toggles}`
  );
}

/** Library logging for a long run: warnings and errors only, to stderr (INFO lines would arrive every 2 s). */
function harnessLogger(io: HarnessIo): Logger {
  return { debug() {}, info() {}, warning: (m) => io.err(`warning: ${m}`), error: (m) => io.err(`error: ${m}`) };
}

/** Writes `text` so that `path` is either absent or complete: a temp file beside it, fsync, rename. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Runs the harness with parsed settings. Returns the exit code: 0 PASS, 1 FAIL (or cannot run), 130 interrupted. */
export async function runStressHarness(settings: HarnessSettings, io: HarnessIo = processIo, signal?: AbortSignal): Promise<number> {
  ensureGc();
  let device: Device;
  try {
    device = await selectDevice({ prefer: settings.device, budgetMB: settings.budgetMB });
  } catch (error) {
    io.err(`stress harness: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const plan = planFit(settings, { totalBytes: device.totalBytes(), kind: device.kind }, readMemAvailableBytes());
  if (!plan.fits) {
    device.close();
    io.err(`stress harness: ${plan.reason}`);
    return 1;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'stress-harness-'));
  const pressure = new MemoryPressureSimulator(device, defaultGcHook);
  const durationS = settings.durationHours * 3600;
  const exits: number[] = [];
  let daemon: Daemon | undefined;
  try {
    pressure.allocateDeviceMemory(settings.gpuPressureMB, 'gpu-pressure');
    pressure.allocateCpuMemory(settings.cpuPressureMB);
    const monitor = new PerformanceMonitor({ device, historySize: Math.ceil(durationS) + 100, forceGcBeforeSample: true, logger: harnessLogger(io) });
    const warnings: Record<string, number> = {};
    for (const type of ['high_gpu_memory', 'high_cpu', 'high_latency', 'memory_leak'] as const) monitor.onWarning(type, () => void (warnings[type] = (warnings[type] ?? 0) + 1));
    daemon = new Daemon({
      device,
      performanceMonitor: monitor,
      tempDir: join(workDir, 'tmp'),
      emergencyDir: join(workDir, 'emergency'),
      socketPath: null,
      logger: harnessLogger(io),
      stt: { preset: MODEL_CHOICES[settings.model] },
      exitHook: (code) => void exits.push(code),
      startMonitors: false,
      statusReportIntervalMs: null,
    });
    await daemon.start();
    daemon.memoryManager.start();
    io.out(
      `stress harness: ${clock(durationS)} on ${device.name()}, ${settings.model.toUpperCase()} model, ${fmt(plan.device.totalMB)} on the device ` +
        `(${((plan.device.totalMB / plan.deviceTotalMB) * 100).toFixed(1)}%), --cpu-pressure ${fmt(settings.cpuPressureMB)}, toggling every ${settings.toggleIntervalS} s`,
    );
    const leaked: ReturnType<Device['allocate']>[] = [];
    let lastLine = -Infinity;
    const drawBar = (p: SoakProgress) => {
      const width = 24;
      const fraction = Math.min(1, p.elapsedS / p.durationS);
      const done = Math.round(fraction * width);
      io.bar(`[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${describeProgress(p)}`);
    };
    let lastProgress: SoakProgress | undefined;
    const pattern = spokenCycles(5, 2.5);
    const soak = await runSoak({
      daemon,
      durationS,
      audio: new LoopingAudio(pattern),
      toggleEveryS: settings.toggleIntervalS,
      // One whole tone/silence cycle and one toggle before the baseline: every code path has run once.
      warmupFeeds: Math.ceil(((5 + 2.5) * 1000) / 250) + 1,
      warmupToggle: true,
      signal,
      beforeSample: settings.simulateLeakMBps > 0 ? () => void leaked.push(pressure.allocateDeviceMemory(settings.simulateLeakMBps, 'simulated-leak')) : undefined,
      onSample: (p) => {
        lastProgress = p;
        if (io.isTTY) drawBar(p);
        else if (p.elapsedS - lastLine >= 60) {
          lastLine = p.elapsedS;
          io.out(describeProgress(p));
        }
      },
    });
    if (io.isTTY) {
      if (lastProgress && soak.stoppedBy === 'duration') drawBar({ ...lastProgress, elapsedS: lastProgress.durationS });
      io.out('');
    }
    const criteria: LeakCriteria = { maxSlopeMBps: 1.0, maxGrowthMB: 100 };
    const verdicts = WATCHED_SERIES.map((series) => assessSeries(monitor, series, soak.elapsedS + 10, criteria));
    const status = daemon.getStatus();
    const failures = verdicts.flatMap((v) => v.failures);
    if (status.segmentsFailed > 0) failures.push(`${status.segmentsFailed} segment(s) failed to transcribe`);
    if (exits.length > 0) failures.push('the daemon shut down in an emergency');
    if (soak.stoppedBy === 'daemon') failures.push(`the daemon stopped running (state ${daemon.state})`);
    if (soak.stoppedBy === 'signal') failures.push('interrupted before the end');
    const pass = failures.length === 0;
    const report = {
      tool: 'pytest-ts stress harness (TestMemoryStressHarness)',
      settings,
      device: { kind: device.kind, name: device.name(), totalMB: plan.deviceTotalMB },
      plan,
      verdict: { pass, failures, criteria, series: verdicts },
      run: { ...soak, segmentsDone: status.segmentsDone, segmentsFailed: status.segmentsFailed, cudaErrors: status.cudaErrorCount, warnings, emergencyExits: exits },
      latency: monitor.getLatencyStats('segment_transcription'),
      samples: monitor.getHistory().map((s) => ({
        t: s.timestamp,
        processMB: s.processMemory,
        deviceAllocatedMB: s.gpuMemoryAllocated,
        deviceReservedMB: s.gpuMemoryReserved,
        heapUsedMB: s.heapUsed,
        segmentsDone: s.custom.segmentsDone,
      })),
    };
    writeFileAtomic(settings.out, `${JSON.stringify(report, null, 2)}\n`);
    for (const v of verdicts) io.out(describeVerdict(v));
    io.out(`${pass ? 'PASS' : `FAIL: ${failures.join('; ')}`} (samples and verdict: ${settings.out})`);
    if (soak.stoppedBy === 'signal') return 130;
    return pass ? 0 : 1;
  } catch (error) {
    io.err(`stress harness: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return 1;
  } finally {
    await daemon?.stop();
    pressure.releaseAll();
    device.close();
    // Emergency saves would be the only thing worth keeping; say where they are instead of deleting them.
    const saved = listSafely(join(workDir, 'emergency'));
    if (saved.length > 0) io.err(`stress harness: emergency saves kept in ${join(workDir, 'emergency')}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

function listSafely(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The CLI: parses argv, runs, and returns the exit code (2 for a usage error, as argparse does). */
export async function harnessMain(argv: readonly string[], io: HarnessIo = processIo): Promise<number> {
  let settings;
  try {
    settings = parseHarnessArgs(argv);
  } catch (error) {
    if (!(error instanceof HarnessUsageError)) throw error;
    io.err(`stress harness: ${error.message}`);
    return 2;
  }
  if (settings === 'help') {
    io.out(HARNESS_HELP);
    return 0;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await runStressHarness(settings, io, controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
