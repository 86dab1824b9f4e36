// The memory soak behind test 1 (60 s of steady work), test 3 (an hour of continuous recording) and the stress-harness
// CLI (TestMemoryStressHarness, SPEC C.4): a real daemon fed deterministic synthetic audio on a wall-clock schedule,
// sampled once a second after a forced GC, and judged by least-squares slope and growth on BOTH process RSS and device
// memory (SPEC Decision 6). The CLI (flags, fit check, progress, JSON) is the second half of this file: the suite's
// tests and the harness share one loop and one verdict, so they cannot drift apart.
import { closeSync, fsyncSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Daemon } from '../../src/daemon.js';
import { selectDevice, type Device, type DevicePreference } from '../../src/device/index.js';
import { defaultGcHook } from '../../src/gc.js';
import { readMemAvailableBytes } from '../../src/host-memory.js';
import type { Logger } from '../../src/log.js';
import { STT_PRESETS, type SttPresetName } from '../../src/models/stt-model.js';
import { toneAmplitudeForWord, VOCABULARY } from '../../src/models/transcript.js';
import { VAD_WEIGHT_MB } from '../../src/models/vad-model.js';
import { DEFAULT_THRESHOLDS } from '../../src/memory-levels.js';
import { LEAK_METRICS, PerformanceMonitor, type LeakMetric, type PerformanceSnapshot } from '../../src/performance-monitor.js';
import { concatAudio, silence, tone } from '../../src/synthetic-audio.js';
import { MB, MemoryPressureSimulator } from './pressure.js';

// ---- synthetic audio ---------------------------------------------------------------------------------------------

/** Endless audio: `pattern` repeated, served in pieces of any size, with no gap or overlap at the seams. */
export class LoopingAudio {
  private offset = 0;
  constructor(readonly pattern: Float32Array) {
    if (pattern.length === 0) throw new RangeError('LoopingAudio needs a non-empty pattern');
  }
  next(samples: number): Float32Array {
    const out = new Float32Array(samples);
    for (let filled = 0; filled < samples; ) {
      const n = Math.min(samples - filled, this.pattern.length - this.offset);
      out.set(this.pattern.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.offset = (this.offset + n) % this.pattern.length;
    }
    return out;
  }
}

/** One cycle per vocabulary word: a tone that the stand-in STT hears as that word, then silence that cuts a segment. */
export function spokenCycles(toneSeconds: number, silenceSeconds: number): Float32Array {
  return concatAudio(VOCABULARY.flatMap((word) => [tone({ seconds: toneSeconds, amplitude: toneAmplitudeForWord(word) }), silence(silenceSeconds)]));
}

/** The word cycle `i` of `spokenCycles` transcribes to. */
export function wordOfCycle(i: number): string {
  return VOCABULARY[i % VOCABULARY.length]!;
}

// ---- the soak ----------------------------------------------------------------------------------------------------

/** The two series every verdict covers: host memory of the process, and device memory. */
export const WATCHED_SERIES: readonly { metric: LeakMetric; label: string }[] = [
  { metric: 'process_memory', label: 'process RSS' },
  { metric: 'gpu_memory_allocated', label: 'device allocated' },
];

export interface SoakProgress {
  elapsedS: number;
  durationS: number;
  samples: number;
  first: PerformanceSnapshot;
  latest: PerformanceSnapshot;
  toggles: number;
}

export interface SoakOptions {
  daemon: Daemon;
  durationS: number;
  audio: LoopingAudio;
  /** Seconds of audio fed per second of wall time; 1 is real time. */
  speed?: number;
  feedEveryMs?: number;
  sampleEveryS?: number;
  /** Feeds run back to back before the first sample, so that JIT and heap warm-up are not measured as growth. */
  warmupFeeds?: number;
  /** Also stop and restart recording once at the end of the warm-up (when the run toggles, that path warms up too). */
  warmupToggle?: boolean;
  /** Stop and restart recording this often (seconds); null: record throughout. */
  toggleEveryS?: number | null;
  /** Stop at once when either watched series grows more than this above its first sample. */
  abortAboveGrowthMB?: number;
  onSample?: (progress: SoakProgress) => void;
  /** Runs right before each sample (the harness's --simulate-leak). */
  beforeSample?: () => void;
  signal?: AbortSignal;
}

export interface SoakResult {
  samples: number;
  elapsedS: number;
  feeds: number;
  /** Feeds dropped because the machine fell more than one feed interval behind the schedule. */
  skippedFeeds: number;
  audioSeconds: number;
  toggles: { accepted: number; refused: number };
  stoppedBy: 'duration' | 'signal' | 'growth' | 'daemon';
  /** Set when stoppedBy is 'growth': which series, how far, and when. */
  growthAbort?: { label: string; growthMB: number; atS: number };
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, Math.max(0, ms)));

/**
 * Records, feeds `audio` on a wall-clock schedule and samples the daemon's PerformanceMonitor every `sampleEveryS`
 * (after a forced GC, when the monitor does that). Ends recording (toggle off, transcription drained) before returning.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { daemon, durationS, audio } = options;
  const speed = options.speed ?? 1;
  const feedEveryMs = options.feedEveryMs ?? 250;
  const sampleEveryMs = (options.sampleEveryS ?? 1) * 1000;
  const toggleEveryMs = options.toggleEveryS ? options.toggleEveryS * 1000 : Infinity;
  const feedSamples = Math.round((speed * daemon.settings.sampleRate * feedEveryMs) / 1000);
  const monitor = daemon.performanceMonitor;
  const result: SoakResult = { samples: 0, elapsedS: 0, feeds: 0, skippedFeeds: 0, audioSeconds: 0, toggles: { accepted: 0, refused: 0 }, stoppedBy: 'duration' };
  const toggle = async () => {
    const outcome = await daemon.toggle();
    if (outcome.accepted) result.toggles.accepted++;
    else result.toggles.refused++;
  };
  const feed = async () => {
    await daemon.feedAudio(audio.next(feedSamples));
    await daemon.whenIdle();
    result.feeds++;
    result.audioSeconds += feedSamples / daemon.settings.sampleRate;
  };
  if (daemon.state !== 'recording') await toggle();
  for (let i = 0; i < (options.warmupFeeds ?? 8); i++) await feed();
  if (options.warmupToggle) {
    await toggle();
    await toggle();
  }
  const custom = () => ({ segmentsDone: daemon.getStatus().segmentsDone });
  const start = performance.now();
  const first = monitor.captureMetrics(custom());
  result.samples = 1;
  const end = start + durationS * 1000;
  let nextSample = start + sampleEveryMs;
  let nextToggle = start + toggleEveryMs;
  let nextFeed = start + feedEveryMs;
  while (!options.signal?.aborted) {
    if (daemon.state === 'error' || !daemon.running) {
      result.stoppedBy = 'daemon';
      break;
    }
    const due = Math.min(nextSample, nextToggle, nextFeed);
    if (due > end) break;
    await sleep(due - performance.now());
    if (due === nextSample) {
      nextSample += sampleEveryMs;
      options.beforeSample?.();
      const latest = monitor.captureMetrics(custom());
      result.samples++;
      const elapsedS = (performance.now() - start) / 1000;
      options.onSample?.({ elapsedS, durationS, samples: result.samples, first, latest, toggles: result.toggles.accepted });
      const abort = growthBeyond(first, latest, options.abortAboveGrowthMB);
      if (abort) {
        result.stoppedBy = 'growth';
        result.growthAbort = { ...abort, atS: elapsedS };
        break;
      }
    } else if (due === nextToggle) {
      nextToggle += toggleEveryMs;
      await toggle(); // recording -> processing -> idle: the recording so far is transcribed
      await toggle(); // idle -> recording
    } else {
      nextFeed += feedEveryMs;
      await feed();
      // Behind by more than a whole interval (a loaded machine): drop the missed feeds instead of bursting them.
      while (nextFeed + feedEveryMs < performance.now()) {
        nextFeed += feedEveryMs;
        result.skippedFeeds++;
      }
    }
  }
  if (options.signal?.aborted) result.stoppedBy = 'signal';
  result.elapsedS = (performance.now() - start) / 1000;
  if (daemon.state === 'recording') await toggle();
  return result;
}

function growthBeyond(first: PerformanceSnapshot, latest: PerformanceSnapshot, limitMB: number | undefined) {
  if (limitMB === undefined) return undefined;
  for (const { metric, label } of WATCHED_SERIES) {
    const growthMB = seriesValue(latest, metric) - seriesValue(first, metric);
    if (growthMB > limitMB) return { label, growthMB };
  }
  return undefined;
}

/** The metric as detectMemoryLeak reads it (a series the host cannot report, such as a cgroup figure, reads 0). */
function seriesValue(snapshot: PerformanceSnapshot, metric: LeakMetric): number {
  return LEAK_METRICS[metric](snapshot) ?? 0;
}

// ---- verdicts ----------------------------------------------------------------------------------------------------

export interface LeakCriteria {
  maxSlopeMBps: number;
  maxGrowthMB: number;
  /** Every sample within this fraction of the series mean (test 1's "stable within ±10%"). */
  maxDeviationFromMean?: number;
}

export interface SeriesVerdict {
  metric: LeakMetric;
  label: string;
  samples: number;
  slopeMBps: number;
  slopeCi95: [number, number] | null;
  firstMB: number;
  lastMB: number;
  totalGrowthMB: number;
  leakDetected: boolean;
  maxDeviationFromMean: number;
  pass: boolean;
  failures: string[];
}

/** Slope (least squares, via the system's detectMemoryLeak), growth and spread of one series over `windowS`. */
export function assessSeries(monitor: PerformanceMonitor, series: { metric: LeakMetric; label: string }, windowS: number, criteria: LeakCriteria): SeriesVerdict {
  const report = monitor.detectMemoryLeak({ windowSeconds: windowS, metric: series.metric, thresholdMBps: criteria.maxSlopeMBps });
  const values = monitor.getHistory().slice(-report.samples).map((s) => seriesValue(s, series.metric));
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const maxDeviationFromMean = mean > 0 ? Math.max(...values.map((v) => Math.abs(v - mean) / mean)) : 0;
  const failures: string[] = [];
  if (report.reason) failures.push(`${series.label}: ${report.reason}`);
  if (!(report.slopeMBps < criteria.maxSlopeMBps)) failures.push(`${series.label} grows ${report.slopeMBps.toFixed(3)} MB/s, not below ${criteria.maxSlopeMBps} MB/s`);
  if (!(report.totalGrowthMB < criteria.maxGrowthMB)) failures.push(`${series.label} grew ${report.totalGrowthMB.toFixed(1)} MB, not below ${criteria.maxGrowthMB} MB`);
  if (criteria.maxDeviationFromMean !== undefined && !(maxDeviationFromMean <= criteria.maxDeviationFromMean)) {
    failures.push(`${series.label} strays ${(maxDeviationFromMean * 100).toFixed(1)}% from its mean, beyond ±${criteria.maxDeviationFromMean * 100}%`);
  }
  return {
    metric: series.metric,
    label: series.label,
    samples: report.samples,
    slopeMBps: report.slopeMBps,
    slopeCi95: report.slopeCi95,
    firstMB: report.initialMB,
    lastMB: report.finalMB,
    totalGrowthMB: report.totalGrowthMB,
    leakDetected: report.leakDetected,
    maxDeviationFromMean,
    pass: failures.length === 0,
    failures,
  };
}

/** One line per series, for logs and the harness summary. */
export function describeVerdict(v: SeriesVerdict): string {
  const ci = v.slopeCi95 ? ` (95% CI ${v.slopeCi95[0].toFixed(3)}..${v.slopeCi95[1].toFixed(3)})` : '';
  return (
    `${v.label}: slope ${v.slopeMBps.toFixed(3)} MB/s${ci}, growth ${v.totalGrowthMB >= 0 ? '+' : ''}${v.totalGrowthMB.toFixed(1)} MB ` +
    `(${v.firstMB.toFixed(1)} -> ${v.lastMB.toFixed(1)} MB, ${v.samples} samples, max ${(v.maxDeviationFromMean * 100).toFixed(1)}% from the mean): ${v.pass ? 'PASS' : 'FAIL'}`
  );
}

/** Node hides gc() unless started with --expose-gc; samples must follow a real collection (Decision 6). */
export function ensureGc(): void {
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') return;
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc = runInNewContext('gc');
}

// ---- the CLI: flags --------------------------------------------------------------------------------------------

export const MODEL_CHOICES = { fp16: 'FP16', fp32: 'FP32', test: 'TEST' } as const satisfies Record<string, SttPresetName>;
export type ModelChoice = keyof typeof MODEL_CHOICES;

export interface HarnessSettings {
  durationHours: number;
  gpuPressureMB: number;
  cpuPressureMB: number;
  toggleIntervalS: number;
  model: ModelChoice;
  budgetMB: number;
  device: DevicePreference;
  out: string;
  simulateLeakMBps: number;
}

export const HARNESS_HELP = `usage: npx tsx suites/test_memory_protection.ts [options]

Runs the recording daemon on synthetic speech (5 s tone, 2.5 s silence) with memory held on the device and on the
host, toggles recording every interval, samples memory once a second after a forced GC, and ends with the leak
verdict on process RSS and device memory: slope < 1 MB/s and growth < 100 MB each. Exit 0 on PASS, 1 on FAIL.

options:
  --duration HOURS         how long to run, fractions allowed (0.01 = 36 s)          [default: 1.0]
  --gpu-pressure MB        device memory held throughout (MB = 10^6 bytes)           [default: 1000]
  --cpu-pressure MB        host memory held throughout, every page written           [default: 500]
  --toggle-interval SEC    stop and restart recording this often                     [default: 30.0]
  --model fp16|fp32|test   STT stand-in size: fp16 1,792.6 MB, fp32 3,600 MB (plus a 400 MB streaming context),
                           test 4 MB                                                 [default: fp16]
  --budget-mb MB           device size (the original card: 4096); a GPU is capped at its own size [default: 4096]
  --device auto|cpu|cuda   auto: a CUDA GPU when @tensorflow/tfjs-node-gpu sees one, else tfjs on the CPU [default: auto]
  --out PATH               where the samples and the verdict go, as JSON, written atomically
                                                                  [default: ./stress-harness-<date>-<time>.json]
  --simulate-leak MB/S     self-check: also hold this many more MB on the device every second, which must FAIL
  -h, --help               show this text

The run fails fast (exit 1, one line) when the pressure cannot fit: everything resident on the device must stay below
its CRITICAL line (85%), and the host must have the memory the run needs. A progress bar is drawn on a terminal;
otherwise one progress line is printed per minute. Ctrl-C stops early, still writes the JSON, and exits 130.`;

export class HarnessUsageError extends Error {
  override name = 'HarnessUsageError';
}

function numberFlag(name: string, raw: string | undefined, fallback: number, rule: 'positive' | 'non-negative'): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(value) && (rule === 'positive' ? value > 0 : value >= 0);
  if (!ok) throw new HarnessUsageError(`--${name}: expected a ${rule === 'positive' ? 'number greater than 0' : 'number of 0 or more'}, got '${raw}'`);
  return value;
}

function defaultOutPath(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return resolve(`stress-harness-${stamp}.json`);
}

const VALUE_FLAGS = new Set(['--duration', '--gpu-pressure', '--cpu-pressure', '--toggle-interval', '--model', '--budget-mb', '--device', '--out', '--simulate-leak']);

/** `--duration -1` as argparse reads it: node:util would call the value ambiguous, and the range check says more. */
function attachNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (VALUE_FLAGS.has(argv[i]!) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

/** The harness's flags; `help` when -h/--help was given. Throws HarnessUsageError naming the flag at fault. */
export function parseHarnessArgs(argv: readonly string[]): HarnessSettings | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: attachNegativeValues(argv),
      allowPositionals: false,
      strict: true,
      options: {
        duration: { type: 'string' },
        'gpu-pressure': { type: 'string' },
        'cpu-pressure': { type: 'string' },
        'toggle-interval': { type: 'string' },
        model: { type: 'string' },
        'budget-mb': { type: 'string' },
        device: { type: 'string' },
        out: { type: 'string' },
        'simulate-leak': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // node:util's messages run on with advice about '--'; the first sentence is the useful part.
    const first = (error instanceof Error ? error.message : String(error)).split(/\.\s/)[0]!.replace(/\.$/, '');
    throw new HarnessUsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const model = (v.model ?? 'fp16').toLowerCase();
  if (!(model in MODEL_CHOICES)) throw new HarnessUsageError(`--model: expected fp16, fp32 or test, got '${v.model}'`);
  const device = v.device ?? 'auto';
  if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new HarnessUsageError(`--device: expected auto, cpu or cuda, got '${device}'`);
  if (v.out !== undefined && v.out.trim() === '') throw new HarnessUsageError('--out: expected a file path, got an empty string');
  return {
    durationHours: numberFlag('duration', v.duration, 1.0, 'positive'),
    gpuPressureMB: numberFlag('gpu-pressure', v['gpu-pressure'], 1000, 'non-negative'),
    cpuPressureMB: numberFlag('cpu-pressure', v['cpu-pressure'], 500, 'non-negative'),
    toggleIntervalS: numberFlag('toggle-interval', v['toggle-interval'], 30.0, 'positive'),
    model: model as ModelChoice,
    budgetMB: numberFlag('budget-mb', v['budget-mb'], 4096, 'positive'),
    device,
    out: v.out === undefined ? defaultOutPath() : resolve(v.out),
    simulateLeakMBps: numberFlag('simulate-leak', v['simulate-leak'], 0, 'non-negative'),
  };
}

// ---- the CLI: does it fit? -----------------------------------------------------------------------------------

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
