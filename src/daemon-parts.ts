// Building the daemon's collaborators around one device, and loading the models (SPEC A.4 "Lifecycle", paths 1a/1b).
// Anything the caller passed in is used as given; everything else is built with the daemon's settings, sharing one
// notifier, one clock and one logger.
import type { Clock } from './clock.js';
import type { ChunkingOptions } from './daemon-batch.js';
import { DeviceErrorPolicy } from './daemon-device-errors.js';
import type { DaemonEvents } from './daemon-events.js';
import type { DaemonOptions, DaemonSettings } from './daemon-options.js';
import type { TranscriptionProgress } from './daemon-progress.js';
import { TranscriptionWork } from './daemon-processing.js';
import type { Device } from './device/types.js';
import type { Injector } from './injector.js';
import type { Logger } from './log.js';
import { MemoryManager, type MemoryCallbacks, type MemoryStatus } from './memory-manager.js';
import { SttModel } from './models/stt-model.js';
import { VadModel } from './models/vad-model.js';
import { PerformanceMonitor } from './performance-monitor.js';
import { errorMessage, isOom } from './recovery/classifier.js';
import { RecoveryLadder } from './recovery/ladder.js';
import { RecoveryNotifier } from './recovery/notifier.js';

export interface DaemonParts {
  device: Device;
  notifier: RecoveryNotifier;
  memoryManager: MemoryManager;
  performance: PerformanceMonitor;
  ladder: RecoveryLadder;
  policy: DeviceErrorPolicy;
  stt: SttModel;
  vad: VadModel;
  work: TranscriptionWork;
}

export interface DaemonHooks {
  logger: Logger;
  clock: Clock;
  progress: TranscriptionProgress;
  injector: Injector;
  events: DaemonEvents;
  chunking: ChunkingOptions;
  onLevel: (status: MemoryStatus) => void;
  onEmergencyShutdown: () => Promise<void>;
  reduceBuffers: () => void;
  preserve: (reason: string) => void;
}

export function buildDaemonParts(device: Device, options: DaemonOptions, settings: DaemonSettings, hooks: DaemonHooks): DaemonParts {
  const { logger, clock } = hooks;
  const notifier = options.notifier ?? options.memoryManager?.notifier ?? new RecoveryNotifier({ device, clock, logger });
  const callbacks: Required<MemoryCallbacks> = {
    normal: hooks.onLevel,
    warning: hooks.onLevel,
    critical: hooks.onLevel,
    emergency: hooks.onLevel,
    emergency_shutdown: hooks.onEmergencyShutdown,
  };
  let memoryManager = options.memoryManager;
  if (memoryManager) {
    for (const key of Object.keys(callbacks) as (keyof MemoryCallbacks)[]) memoryManager.setCallback(key, callbacks[key] as never);
  } else {
    memoryManager = new MemoryManager({
      ...options.memory,
      device,
      callbacks,
      notifier,
      gcHook: options.gcHook,
      exitHook: options.exitHook,
      clock,
      logger,
    });
  }
  const manager = memoryManager;
  const performance =
    options.performanceMonitor ??
    new PerformanceMonitor({ device, historySize: settings.performanceHistorySize, clock, logger, gcHook: options.gcHook });
  const stt = options.sttModel ?? new SttModel(device, { ...options.stt, sampleRate: settings.sampleRate });
  const vad = options.vadModel ?? new VadModel(device, { ...options.vad, sampleRate: settings.sampleRate });
  let policy: DeviceErrorPolicy | undefined;
  const ladder = new RecoveryLadder({
    device,
    memoryManager: manager,
    notifier,
    metrics: options.recoveryMetrics,
    clock,
    logger,
    gcHook: options.gcHook,
    exitHook: options.exitHook,
    actions: {
      reduce_buffer: () => hooks.reduceBuffers(),
      cpu_fallback: async () => {
        await manager.offloadAllModels();
        // Models the manager does not track (registration off, or moved back by hand) are moved here.
        for (const model of [stt, vad]) if (model.isLoaded) await policy!.fallBack(model, 'recovery ladder step cpu_fallback');
      },
      emergency_shutdown: () => manager.emergencyShutdown(),
    },
  });
  policy = new DeviceErrorPolicy({
    memoryManager: manager,
    notifier,
    ladder: settings.oomHandling === 'ladder' ? ladder : undefined,
    logger,
    retries: settings.transcriptionRetries,
    onFallback: (model, reason) => hooks.events.emit({ type: 'fallback', model: model.name, reason }),
  });
  const work = new TranscriptionWork({
    stt,
    policy,
    progress: hooks.progress,
    injector: hooks.injector,
    performance,
    memoryManager: manager,
    events: hooks.events,
    logger,
    sampleRate: settings.sampleRate,
    tempDir: settings.tempDir,
    chunking: hooks.chunking,
    preserveOnOom: settings.preserveOnOom,
    preserve: hooks.preserve,
  });
  return { device, notifier, memoryManager: manager, performance, ladder, policy, stt, vad, work };
}

/**
 * Loads the VAD, then the STT, onto the device (SPEC A.4 paths 1a and 1b), and registers with the MemoryManager the
 * models whose move succeeded. Returns whether the VAD is usable. handleCudaError is not called at load time.
 *   1a VAD: OOM → it runs on the CPU; any other error → VAD disabled (all audio counts as speech).
 *   1b STT: OOM → emptyCache, GC, it runs on the CPU; any other error is fatal (rethrown).
 */
export function loadModels(parts: DaemonParts, options: { vadEnabled: boolean; registerModels: boolean; logger: Logger }): boolean {
  const { stt, vad, memoryManager, notifier } = parts;
  const { logger } = options;
  let vadEnabled = options.vadEnabled;
  if (vadEnabled && !vad.isLoaded) {
    try {
      vad.load('cuda');
    } catch (error) {
      if (isOom(error)) {
        logger.warning(`VAD does not fit on the device (${errorMessage(error)}); it runs on the CPU`);
        notifier.notify('CPU_FALLBACK', { message: `${vad.name} loaded on CPU: ${errorMessage(error)}`, recoveryAttempted: true });
      } else {
        logger.error(`VAD failed to load (${errorMessage(error)}); VAD disabled, all audio counts as speech`);
        vadEnabled = false;
      }
    }
  }
  if (!stt.isLoaded) {
    try {
      stt.load('cuda');
    } catch (error) {
      if (!isOom(error)) throw new Error(`the STT model could not be loaded: ${errorMessage(error)}`, { cause: error });
      memoryManager.clearCache();
      memoryManager.collectGarbage();
      logger.warning(`STT does not fit on the device (${errorMessage(error)}); it runs on the CPU`);
      notifier.notify('CPU_FALLBACK', { message: `${stt.name} loaded on CPU: ${errorMessage(error)}`, recoveryAttempted: true });
    }
  }
  if (options.registerModels) {
    if (vadEnabled && vad.device === 'cuda') memoryManager.registerModel(vad.name, vad);
    if (stt.device === 'cuda') memoryManager.registerModel(stt.name, stt);
  }
  return vadEnabled;
}
