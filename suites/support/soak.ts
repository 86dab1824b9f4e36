// The memory soak behind test 1 (60 s of steady work), test 3 (an hour of continuous recording) and the stress harness
// (TestMemoryStressHarness, SPEC C.4): a real daemon fed deterministic synthetic audio on a wall-clock schedule,
// sampled once a second after a forced GC, and judged by least-squares slope and growth on BOTH process RSS and device
// memory (SPEC Decision 6). The suite's tests and the harness CLI (stress-harness.ts) share this one loop and one
// verdict, so they cannot drift apart.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Daemon } from '../../src/daemon.js';
import { toneAmplitudeForWord, VOCABULARY } from '../../src/models/transcript.js';
import { LEAK_METRICS, PerformanceMonitor, type LeakMetric, type PerformanceSnapshot } from '../../src/performance-monitor.js';
import { concatAudio, silence, tone } from '../../src/synthetic-audio.js';

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
  // Each schedule is start + k * interval, never a running sum: adding 1000.0 sixty times to a fractional start can land
  // a hair past start + 60000 and lose the last sample, depending on the start time.
  const end = start + durationS * 1000;
  let samplesDue = 1;
  let togglesDue = 1;
  let feedsDue = 1;
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
      nextSample = start + ++samplesDue * sampleEveryMs;
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
      nextToggle = start + ++togglesDue * toggleEveryMs;
      await toggle(); // recording -> processing -> idle: the recording so far is transcribed
      await toggle(); // idle -> recording
    } else {
      nextFeed = start + ++feedsDue * feedEveryMs;
      await feed();
      // Behind by more than a whole interval (a loaded machine): drop the missed feeds instead of bursting them.
      while (nextFeed + feedEveryMs < performance.now()) {
        nextFeed = start + ++feedsDue * feedEveryMs;
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
