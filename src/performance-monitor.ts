// The PerformanceMonitor (SPEC A.3): periodic snapshots of process, host and device memory; leak detection by
// least-squares regression over any metric; latency measurements with numpy-compatible percentiles; warnings.
// Unlike the original, a capture never blocks (the original slept 3 × 0.1 s per capture to sample CPU usage):
// CPU percentages here are deltas since the previous capture.
import { cpus, totalmem } from 'node:os';
import { systemClock, type Clock } from './clock.js';
import type { Device } from './device/types.js';
import { defaultGcHook, nativeGcAvailable, type GcHook } from './gc.js';
import { readCgroupMemory, readMemAvailableBytes, readMemoryPressure, readThreadCount, type MemoryPressure } from './host-memory.js';
import { createLogger, type Logger } from './log.js';
import { MonitorLoop } from './monitor-loop.js';
import { LatencyTracker, type LatencyMeasurement, type LatencyStats } from './performance-latency.js';
import { fitLine } from './performance-statistics.js';

export { LatencyMeasurement, type LatencyStats } from './performance-latency.js';

const MB = 1e6;

export interface PerformanceSnapshot {
  /** Epoch seconds. */
  timestamp: number;
  /** Device figures in MB (0 without a device). */
  gpuMemoryAllocated: number;
  gpuMemoryReserved: number;
  gpuMemoryPeak: number;
  /** Driver-level device usage in MB, when the device reports it. */
  gpuDeviceUsed: number | null;
  /** System CPU %, averaged over all cores since the previous capture. */
  cpuPercent: number;
  cpuPercentPerCore: number[];
  ramUsed: number;
  ramAvailable: number;
  ramPercent: number;
  /** Process RSS in MB. */
  processMemory: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** This process's CPU % of one core since the previous capture. */
  processCpu: number;
  numThreads: number | null;
  cgroupVersion: 1 | 2 | null;
  cgroupLimitMb: number | null;
  cgroupUsageMb: number | null;
  memoryPressure: MemoryPressure | null;
  custom: Record<string, unknown>;
}

/** Metric names for leak detection, as the original spelled its snapshot keys. */
export const LEAK_METRICS = {
  process_memory: (s: PerformanceSnapshot) => s.processMemory,
  gpu_memory_allocated: (s: PerformanceSnapshot) => s.gpuMemoryAllocated,
  gpu_memory_reserved: (s: PerformanceSnapshot) => s.gpuMemoryReserved,
  gpu_memory_peak: (s: PerformanceSnapshot) => s.gpuMemoryPeak,
  gpu_device_used: (s: PerformanceSnapshot) => s.gpuDeviceUsed,
  heap_used: (s: PerformanceSnapshot) => s.heapUsed,
  external: (s: PerformanceSnapshot) => s.external,
  array_buffers: (s: PerformanceSnapshot) => s.arrayBuffers,
  cgroup_usage: (s: PerformanceSnapshot) => s.cgroupUsageMb,
} satisfies Record<string, (s: PerformanceSnapshot) => number | null>;
export type LeakMetric = keyof typeof LEAK_METRICS;

export interface LeakReport {
  leakDetected: boolean;
  /** Why no fit was possible ('Insufficient data', 'Insufficient data in window'). */
  reason?: string;
  metric: LeakMetric;
  windowSeconds: number;
  samples: number;
  /** Least-squares slope, MB per second. */
  slopeMBps: number;
  slopeCi95: [number, number] | null;
  thresholdMBps: number;
  initialMB: number;
  finalMB: number;
  /** last − first. */
  totalGrowthMB: number;
}

export interface GpuMemoryStats {
  available: boolean;
  deviceName: string;
  currentMb: number;
  peakMb: number;
  reservedMb: number;
  totalMb: number;
  freeMb: number;
  currentPercent: number;
  peakPercent: number;
}

export type WarningType = 'high_gpu_memory' | 'high_cpu' | 'high_latency' | 'memory_leak';

export interface PerformanceWarning {
  type: WarningType;
  message: string;
  timestamp: number;
}

export interface PerformanceThresholds {
  gpuMemoryMb: number;
  gpuMemoryPercent: number;
  cpuPercent: number;
  latencyMs: number;
  memoryGrowthMBps: number;
}

export const DEFAULT_PERFORMANCE_THRESHOLDS: Readonly<PerformanceThresholds> = Object.freeze({
  gpuMemoryMb: 4000,
  gpuMemoryPercent: 80,
  cpuPercent: 50,
  latencyMs: 2000,
  memoryGrowthMBps: 1.0,
});

export interface PerformanceMonitorOptions {
  device?: Device | null;
  /** Snapshots kept; the oldest drop out. Leak windows cannot look further back than this many samples. */
  historySize?: number;
  thresholds?: Partial<PerformanceThresholds>;
  /** Run a full GC before each capture (only effective when Node exposes `gc`). */
  forceGcBeforeSample?: boolean;
  gcHook?: GcHook;
  clock?: Clock;
  logger?: Logger;
  /** Filesystem root for /proc and /sys reads (tests). */
  hostRoot?: string;
}

interface CpuTimes {
  idle: number;
  total: number;
}

function readCpuTimes(): CpuTimes[] {
  return cpus().map(({ times }) => ({ idle: times.idle, total: times.user + times.nice + times.sys + times.idle + times.irq }));
}

export class PerformanceMonitor {
  readonly historySize: number;
  readonly thresholds: PerformanceThresholds;
  private readonly device: Device | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly gcHook: GcHook;
  private readonly forceGc: boolean;
  private readonly hostRoot: string;
  private readonly history: PerformanceSnapshot[] = [];
  private readonly latency: LatencyTracker;
  private readonly warningCallbacks = new Map<WarningType, (message: string) => void>();
  private readonly warningLog: PerformanceWarning[] = [];
  private previousCpu = readCpuTimes();
  private previousProcessCpu = process.cpuUsage();
  private previousWallMs = performance.now();
  private loop: MonitorLoop | undefined;
  private gpuTotalBytes: number | undefined;

  constructor(options: PerformanceMonitorOptions = {}) {
    this.historySize = options.historySize ?? 1000;
    if (!Number.isInteger(this.historySize) || this.historySize < 2) {
      throw new RangeError(`PerformanceMonitor historySize must be an integer of at least 2, got ${this.historySize}`);
    }
    this.thresholds = { ...DEFAULT_PERFORMANCE_THRESHOLDS, ...options.thresholds };
    this.device = options.device ?? null;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger('performance_monitor');
    this.gcHook = options.gcHook ?? defaultGcHook;
    this.forceGc = options.forceGcBeforeSample ?? false;
    this.hostRoot = options.hostRoot ?? '/';
    this.latency = new LatencyTracker(this.clock, this.historySize, (measurement) => {
      if (measurement.totalMs > this.thresholds.latencyMs) {
        this.triggerWarning('high_latency', `${measurement.name} took ${measurement.totalMs.toFixed(0)} ms (above ${this.thresholds.latencyMs} ms)`);
      }
    });
  }

  // ---- snapshots -----------------------------------------------------------------------------------------------

  /** Takes a snapshot, keeps it in the history, checks the GPU and CPU thresholds, and returns it. Never waits. */
  captureMetrics(custom: Record<string, unknown> = {}): PerformanceSnapshot {
    if (this.forceGc && nativeGcAvailable()) this.gcHook();
    const snapshot = this.takeSnapshot(custom);
    this.history.push(snapshot);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    this.checkThresholds(snapshot);
    return snapshot;
  }

  getHistory(): readonly PerformanceSnapshot[] {
    return [...this.history];
  }

  private takeSnapshot(custom: Record<string, unknown>): PerformanceSnapshot {
    const memory = process.memoryUsage();
    const cpuNow = readCpuTimes();
    const perCore = cpuNow.map((now, i) => {
      const before = this.previousCpu[i] ?? { idle: 0, total: 0 };
      const total = now.total - before.total;
      return total > 0 ? (100 * (total - (now.idle - before.idle))) / total : 0;
    });
    this.previousCpu = cpuNow;
    const wallNow = performance.now();
    const processCpu = process.cpuUsage(this.previousProcessCpu);
    const elapsedUs = (wallNow - this.previousWallMs) * 1000;
    this.previousProcessCpu = process.cpuUsage();
    this.previousWallMs = wallNow;
    const totalRam = totalmem();
    const available = readMemAvailableBytes(this.hostRoot) ?? 0;
    const cgroup = readCgroupMemory(this.hostRoot);
    const device = this.device && this.device.isAvailable() ? this.device : null;
    const driverUsed = device?.deviceUsedBytes?.();
    return {
      timestamp: this.clock.now() / 1000,
      gpuMemoryAllocated: device ? device.allocatedBytes() / MB : 0,
      gpuMemoryReserved: device ? device.reservedBytes() / MB : 0,
      gpuMemoryPeak: device ? device.peakAllocatedBytes() / MB : 0,
      gpuDeviceUsed: driverUsed === undefined ? null : driverUsed / MB,
      cpuPercent: perCore.length ? perCore.reduce((a, b) => a + b, 0) / perCore.length : 0,
      cpuPercentPerCore: perCore,
      ramUsed: (totalRam - available) / MB,
      ramAvailable: available / MB,
      ramPercent: totalRam > 0 ? (100 * (totalRam - available)) / totalRam : 0,
      processMemory: memory.rss / MB,
      heapUsed: memory.heapUsed / MB,
      external: memory.external / MB,
      arrayBuffers: memory.arrayBuffers / MB,
      processCpu: elapsedUs > 0 ? (100 * (processCpu.user + processCpu.system)) / elapsedUs : 0,
      numThreads: readThreadCount(this.hostRoot),
      cgroupVersion: cgroup?.version ?? null,
      cgroupLimitMb: cgroup?.limitBytes == null ? null : cgroup.limitBytes / MB,
      cgroupUsageMb: cgroup?.usageBytes == null ? null : cgroup.usageBytes / MB,
      memoryPressure: readMemoryPressure(this.hostRoot),
      custom: { ...custom },
    };
  }

  private checkThresholds(snapshot: PerformanceSnapshot): void {
    const { gpuMemoryMb, gpuMemoryPercent, cpuPercent } = this.thresholds;
    if (snapshot.gpuMemoryAllocated > gpuMemoryMb) {
      this.triggerWarning('high_gpu_memory', `GPU memory ${snapshot.gpuMemoryAllocated.toFixed(1)} MB is above ${gpuMemoryMb} MB`);
    }
    const totalMb = this.device && this.device.isAvailable() ? this.device.totalBytes() / MB : 0;
    if (totalMb > 0) {
      const percent = (100 * snapshot.gpuMemoryAllocated) / totalMb;
      if (percent > gpuMemoryPercent) this.triggerWarning('high_gpu_memory', `GPU memory at ${percent.toFixed(1)}% (above ${gpuMemoryPercent}%)`);
    }
    if (snapshot.cpuPercent > cpuPercent) {
      this.triggerWarning('high_cpu', `CPU at ${snapshot.cpuPercent.toFixed(1)}% (above ${cpuPercent}%)`);
    }
  }

  // ---- warnings ------------------------------------------------------------------------------------------------

  /** Routes one warning type to a callback; without one, warnings are logged. */
  onWarning(type: WarningType, callback: ((message: string) => void) | undefined): void {
    if (callback) this.warningCallbacks.set(type, callback);
    else this.warningCallbacks.delete(type);
  }

  /** Every warning raised so far, in order. */
  getWarnings(): readonly PerformanceWarning[] {
    return [...this.warningLog];
  }

  private triggerWarning(type: WarningType, message: string): void {
    this.warningLog.push({ type, message, timestamp: this.clock.now() / 1000 });
    const callback = this.warningCallbacks.get(type);
    if (!callback) {
      this.logger.warning(`Performance warning [${type}]: ${message}`);
      return;
    }
    try {
      callback(message);
    } catch (error) {
      this.logger.error(`The '${type}' warning callback failed`, error);
    }
  }

  // ---- leak detection ------------------------------------------------------------------------------------------

  /** Fits a line through the metric's samples of the last `windowSeconds`; a slope above the threshold is a leak. */
  detectMemoryLeak(options: { windowSeconds?: number; metric?: LeakMetric; thresholdMBps?: number } = {}): LeakReport {
    const windowSeconds = options.windowSeconds ?? 60;
    const metric = options.metric ?? 'process_memory';
    const thresholdMBps = options.thresholdMBps ?? this.thresholds.memoryGrowthMBps;
    const read = LEAK_METRICS[metric];
    if (!read) throw new RangeError(`unknown leak metric '${String(metric)}': expected one of ${Object.keys(LEAK_METRICS).join(', ')}`);
    const empty = { leakDetected: false, metric, windowSeconds, samples: 0, slopeMBps: 0, slopeCi95: null, thresholdMBps, initialMB: 0, finalMB: 0, totalGrowthMB: 0 };
    const points = this.history.flatMap((s) => {
      const value = read(s);
      return value === null ? [] : [{ t: s.timestamp, value }];
    });
    if (points.length < 2) return { ...empty, samples: points.length, reason: 'Insufficient data' };
    const now = this.clock.now() / 1000;
    const inWindow = points.filter((p) => now - p.t <= windowSeconds);
    if (inWindow.length < 2) return { ...empty, samples: inWindow.length, reason: 'Insufficient data in window' };
    const fit = fitLine(inWindow.map((p) => p.t), inWindow.map((p) => p.value));
    const initialMB = inWindow[0]!.value;
    const finalMB = inWindow[inWindow.length - 1]!.value;
    const report: LeakReport = {
      leakDetected: fit.slope > thresholdMBps,
      metric, windowSeconds, samples: inWindow.length, slopeMBps: fit.slope, slopeCi95: fit.slopeCi95, thresholdMBps,
      initialMB, finalMB, totalGrowthMB: finalMB - initialMB,
    };
    if (report.leakDetected) {
      this.triggerWarning('memory_leak', `Possible memory leak in ${metric}: growing at ${fit.slope.toFixed(2)} MB/s`);
    }
    return report;
  }

  // ---- latency (delegated; see performance-latency.ts) --------------------------------------------------------

  startLatencyMeasurement(name: string): LatencyMeasurement {
    return this.latency.start(name);
  }
  measurePhase(measurement: LatencyMeasurement, phase: string): number {
    return this.latency.measurePhase(measurement, phase);
  }
  endLatencyMeasurement(name: string): LatencyMeasurement | null {
    return this.latency.end(name);
  }
  getLatencyStats(name: string): LatencyStats | null {
    return this.latency.stats(name);
  }
  latencyNames(): string[] {
    return this.latency.names();
  }

  // ---- device and CPU summaries --------------------------------------------------------------------------------

  /** Always the full key set; without a device everything is 0 and `available` is false. */
  getGpuMemoryStats(): GpuMemoryStats {
    const device = this.device && this.device.isAvailable() ? this.device : null;
    if (!device) {
      return { available: false, deviceName: '', currentMb: 0, peakMb: 0, reservedMb: 0, totalMb: 0, freeMb: 0, currentPercent: 0, peakPercent: 0 };
    }
    this.gpuTotalBytes ??= device.totalBytes(); // read lazily: touching the device early broke model loading (SPEC E.1)
    const totalMb = this.gpuTotalBytes / MB;
    const currentMb = device.allocatedBytes() / MB;
    const peakMb = device.peakAllocatedBytes() / MB;
    return {
      available: true,
      deviceName: device.name(),
      currentMb,
      peakMb,
      reservedMb: device.reservedBytes() / MB,
      totalMb,
      freeMb: totalMb - currentMb,
      currentPercent: totalMb > 0 ? (100 * currentMb) / totalMb : 0,
      peakPercent: totalMb > 0 ? (100 * peakMb) / totalMb : 0,
    };
  }

  /** System CPU % over the last `windowSeconds` of history. */
  getCpuStats(windowSeconds = 10): { mean: number; max: number; min: number; samples: number } {
    const now = this.clock.now() / 1000;
    const recent = this.history.length < 2 ? [] : this.history.filter((s) => now - s.timestamp <= windowSeconds).map((s) => s.cpuPercent);
    if (recent.length === 0) return { mean: 0, max: 0, min: 0, samples: 0 };
    return { mean: recent.reduce((a, b) => a + b, 0) / recent.length, max: Math.max(...recent), min: Math.min(...recent), samples: recent.length };
  }

  /** The original's print_summary, as text. */
  formatSummary(): string {
    const gpu = this.getGpuMemoryStats();
    const cpu = this.getCpuStats(10);
    const lines = ['='.repeat(60), 'Performance Summary', '='.repeat(60)];
    if (gpu.available) {
      lines.push(
        `GPU (${gpu.deviceName}): current ${gpu.currentMb.toFixed(1)} MB (${gpu.currentPercent.toFixed(1)}%), peak ${gpu.peakMb.toFixed(1)} MB (${gpu.peakPercent.toFixed(1)}%)`,
        `GPU reserved ${gpu.reservedMb.toFixed(1)} MB, free ${gpu.freeMb.toFixed(1)} MB, total ${gpu.totalMb.toFixed(1)} MB`,
      );
    } else lines.push('GPU: not available');
    lines.push(`CPU (last 10 s): mean ${cpu.mean.toFixed(1)}%, max ${cpu.max.toFixed(1)}%`);
    for (const name of this.latencyNames()) {
      const stats = this.getLatencyStats(name)!;
      lines.push(`${name}: mean ${stats.mean.toFixed(1)} ms, p95 ${stats.p95.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms, n=${stats.count}`);
    }
    const leak = this.detectMemoryLeak({ windowSeconds: 60 });
    lines.push(leak.reason ? `Leak check (60 s): ${leak.reason}` : `Leak check (60 s): ${leak.slopeMBps.toFixed(2)} MB/s${leak.leakDetected ? ' LEAK DETECTED' : ''}`);
    lines.push('='.repeat(60));
    return lines.join('\n');
  }

  printSummary(): void {
    this.logger.info(this.formatSummary());
  }

  // ---- background sampling -------------------------------------------------------------------------------------

  get isSampling(): boolean {
    return this.loop?.running ?? false;
  }

  /** Captures now and then every `intervalMs` until `stop()`. Does nothing if already sampling. */
  start(intervalMs = 1000): void {
    if (this.loop?.running) return;
    if (!(intervalMs > 0)) throw new RangeError(`PerformanceMonitor.start: intervalMs must be positive, got ${intervalMs}`);
    this.loop = new MonitorLoop({
      task: async () => void this.captureMetrics(),
      intervalMs,
      clock: this.clock,
      onError: (error) => this.logger.error('Performance capture failed', error),
    });
    this.loop.start();
  }

  /** Stops sampling; no timer is left behind. */
  async stop(): Promise<void> {
    await this.loop?.stop();
  }
}
