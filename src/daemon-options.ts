// Everything the daemon can be given, with the original's defaults (SPEC A.4 "Defaults") and the binding thresholds
// (SPEC Decision 1). Every collaborator is injectable; whatever is not given is built from these values.
import { tmpdir } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Clock } from './clock.js';
import type { Device } from './device/types.js';
import type { SelectDeviceOptions } from './device/select.js';
import type { GcHook } from './gc.js';
import type { Injector } from './injector.js';
import type { Logger } from './log.js';
import type { MemoryManager, MemoryManagerOptions } from './memory-manager.js';
import type { SttModel, SttModelOptions } from './models/stt-model.js';
import type { VadModel, VadModelOptions } from './models/vad-model.js';
import type { PerformanceMonitor } from './performance-monitor.js';
import type { EmergencyPreserver } from './preservation.js';
import type { RecoveryMetrics } from './recovery/metrics.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export type DaemonMode = 'streaming' | 'batch';
/** Who handles an OOM on the daemon's paths: the MemoryManager alone (the original), or the recovery ladder. */
export type OomHandling = 'memory-manager' | 'ladder';

export interface DaemonOptions {
  /** Default: `selectDevice(deviceSelection)`; a device the daemon selected is closed by `stop()`. */
  device?: Device;
  deviceSelection?: SelectDeviceOptions;
  /** A ready manager (the daemon sets its callbacks), or options for the one the daemon builds. */
  memoryManager?: MemoryManager;
  memory?: Omit<MemoryManagerOptions, 'device' | 'callbacks' | 'notifier' | 'gcHook' | 'exitHook' | 'clock' | 'logger'>;
  performanceMonitor?: PerformanceMonitor;
  /** Background sampling interval of the performance monitor (the original used 5 s). */
  performanceIntervalMs?: number;
  performanceHistorySize?: number;
  notifier?: RecoveryNotifier;
  recoveryMetrics?: RecoveryMetrics;
  preserver?: EmergencyPreserver;
  /** Where emergency saves go when no preserver is given. Must not be inside `tempDir`. */
  emergencyDir?: string;
  /** Per-segment temp WAVs; `stop()` deletes every `*.wav` in it. Default `<tmpdir>/swictation`. */
  tempDir?: string;
  /** The control socket; null: no IPC. Default `<tmpdir>/swictation.sock`. */
  socketPath?: string | null;
  clock?: Clock;
  gcHook?: GcHook;
  /** Called with 1 after an emergency shutdown (default: process.exit). */
  exitHook?: (code: number) => void | Promise<void>;
  logger?: Logger;
  injector?: Injector;
  sttModel?: SttModel;
  vadModel?: VadModel;
  stt?: SttModelOptions;
  vad?: VadModelOptions & { enabled?: boolean };
  mode?: DaemonMode;
  sampleRate?: number;
  /** Capture block (64 ms). */
  blockSamples?: number;
  minSilenceSeconds?: number;
  minSegmentSeconds?: number;
  ringSeconds?: number;
  ringFloorSeconds?: number;
  chunkSeconds?: number;
  overlapSeconds?: number;
  /** Transcription attempts after the first on a CUDA error (the original retried once). */
  transcriptionRetries?: number;
  /** Register models with the MemoryManager after a successful move to the device (the original did). */
  registerModels?: boolean;
  oomHandling?: OomHandling;
  /** Save held audio and state on every OOM while processing. */
  preserveOnOom?: boolean;
  /** After a failed batch the state is `error` for this long, then `idle` (the original waited 1 s). */
  errorRecoveryDelayMs?: number;
  /** The periodic status log (the original: every 300 s); null turns it off. */
  statusReportIntervalMs?: number | null;
  /** Start the memory and performance monitors in `start()`; off lets a test drive `checkOnce()` itself. */
  startMonitors?: boolean;
  /** How long `stop()` waits for a transcription in flight. */
  stopTimeoutMs?: number;
}

export interface DaemonSettings {
  mode: DaemonMode;
  sampleRate: number;
  blockSamples: number;
  minSilenceSeconds: number;
  minSegmentSeconds: number;
  ringSeconds: number;
  ringFloorSeconds: number;
  chunkSeconds: number;
  overlapSeconds: number;
  transcriptionRetries: number;
  registerModels: boolean;
  oomHandling: OomHandling;
  preserveOnOom: boolean;
  errorRecoveryDelayMs: number;
  statusReportIntervalMs: number | null;
  performanceIntervalMs: number;
  performanceHistorySize: number;
  startMonitors: boolean;
  stopTimeoutMs: number;
  tempDir: string;
  socketPath: string | null;
  vadEnabled: boolean;
}

export function defaultDaemonTempDir(): string {
  return join(tmpdir(), 'swictation');
}

export function defaultSocketPath(): string {
  return join(tmpdir(), 'swictation.sock');
}

/** Fills in defaults and rejects settings that cannot work, naming the option. */
export function resolveDaemonSettings(options: DaemonOptions): DaemonSettings {
  const settings: DaemonSettings = {
    mode: options.mode ?? 'streaming',
    sampleRate: options.sampleRate ?? 16000,
    blockSamples: options.blockSamples ?? 1024,
    minSilenceSeconds: options.minSilenceSeconds ?? 2.0,
    minSegmentSeconds: options.minSegmentSeconds ?? 1.0,
    ringSeconds: options.ringSeconds ?? 30,
    ringFloorSeconds: options.ringFloorSeconds ?? 1,
    chunkSeconds: options.chunkSeconds ?? 10,
    overlapSeconds: options.overlapSeconds ?? 1,
    transcriptionRetries: options.transcriptionRetries ?? 1,
    registerModels: options.registerModels ?? true,
    oomHandling: options.oomHandling ?? 'memory-manager',
    preserveOnOom: options.preserveOnOom ?? true,
    errorRecoveryDelayMs: options.errorRecoveryDelayMs ?? 1000,
    statusReportIntervalMs: options.statusReportIntervalMs === undefined ? 300_000 : options.statusReportIntervalMs,
    performanceIntervalMs: options.performanceIntervalMs ?? 5000,
    performanceHistorySize: options.performanceHistorySize ?? 1000,
    startMonitors: options.startMonitors ?? true,
    stopTimeoutMs: options.stopTimeoutMs ?? 5000,
    tempDir: resolve(options.tempDir ?? defaultDaemonTempDir()),
    socketPath: options.socketPath === undefined ? defaultSocketPath() : options.socketPath,
    vadEnabled: options.vad?.enabled ?? true,
  };
  if (settings.mode !== 'streaming' && settings.mode !== 'batch') throw new RangeError(`Daemon option mode must be 'streaming' or 'batch', got '${String(settings.mode)}'`);
  if (settings.oomHandling !== 'memory-manager' && settings.oomHandling !== 'ladder') {
    throw new RangeError(`Daemon option oomHandling must be 'memory-manager' or 'ladder', got '${String(settings.oomHandling)}'`);
  }
  for (const key of ['sampleRate', 'blockSamples'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new RangeError(`Daemon option ${key} must be a positive integer, got ${settings[key]}`);
  }
  for (const key of ['transcriptionRetries', 'errorRecoveryDelayMs', 'stopTimeoutMs'] as const) {
    if (!(settings[key] >= 0) || !Number.isFinite(settings[key])) throw new RangeError(`Daemon option ${key} must be a non-negative number, got ${settings[key]}`);
  }
  if (!Number.isInteger(settings.transcriptionRetries)) throw new RangeError(`Daemon option transcriptionRetries must be a whole number, got ${settings.transcriptionRetries}`);
  if (settings.statusReportIntervalMs !== null && !(settings.statusReportIntervalMs > 0)) {
    throw new RangeError(`Daemon option statusReportIntervalMs must be positive or null, got ${settings.statusReportIntervalMs}`);
  }
  return settings;
}

/** The emergency directory must survive `stop()`, which deletes `*.wav` in the temp dir. */
export function checkEmergencyDirOutside(emergencyDir: string, tempDir: string): void {
  const fromTemp = relative(resolve(tempDir), resolve(emergencyDir));
  if (fromTemp === '' || (!fromTemp.startsWith('..') && !isAbsolute(fromTemp))) {
    throw new RangeError(`the emergency directory ${resolve(emergencyDir)} is inside the daemon's temp dir ${resolve(tempDir)}, whose *.wav files are deleted on every stop; choose another`);
  }
}
