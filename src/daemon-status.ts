// The daemon's status (SPEC A.5 item 9 and the IPC `status` command): plain data, cheap to compute, and safe to ask
// for at any moment, including from inside a recovery step.
import type { Daemon } from './daemon.js';
import type { ErrorPath } from './daemon-device-errors.js';
import type { DaemonState } from './daemon-events.js';
import type { DaemonMode } from './daemon-options.js';
import type { DaemonParts } from './daemon-parts.js';
import type { MemoryStatus } from './memory-manager.js';
import type { Placement } from './models/device-model.js';

export interface ModelStatus {
  name: string;
  device: Placement;
  loaded: boolean;
}

export interface DaemonStatus {
  state: DaemonState;
  running: boolean;
  mode: DaemonMode;
  deviceName: string | null;
  models: { stt: ModelStatus & { contextSeconds: number }; vad: ModelStatus & { enabled: boolean } } | null;
  /** A fresh memory snapshot (null without a usable device). */
  memory: MemoryStatus | null;
  cudaErrorCount: number;
  errorsByPath: Record<ErrorPath, number> | null;
  buffer: { capacitySeconds: number; ringSeconds: number; streamingSeconds: number; heldSeconds: number; spilledSamples: number };
  queueLength: number;
  segmentsDone: number;
  segmentsFailed: number;
  chunksDone: number;
  lastError: string | null;
  recovering: boolean;
  preservation: { saves: number; failedSaves: number; pending: number; lastAudioPath: string | null; lastCheckpointPath: string | null };
  capturedSamples: number;
  ignoredSamples: number;
}

export function describeDaemonStatus(daemon: Daemon, parts: DaemonParts | undefined, heldSamples: number): DaemonStatus {
  const rate = daemon.settings.sampleRate;
  const ring = daemon.buffers.ring;
  const manager = parts?.memoryManager;
  return {
    state: daemon.state,
    running: daemon.running,
    mode: daemon.settings.mode,
    deviceName: parts && parts.device.isAvailable() ? parts.device.name() : null,
    models: parts
      ? {
          stt: { name: parts.stt.name, device: parts.stt.device, loaded: parts.stt.isLoaded, contextSeconds: parts.stt.contextSeconds },
          vad: { name: parts.vad.name, device: parts.vad.device, loaded: parts.vad.isLoaded, enabled: daemon.isVadEnabled },
        }
      : null,
    memory: manager?.getMemoryStatus() ?? null,
    cudaErrorCount: manager?.cudaErrorCount ?? 0,
    errorsByPath: parts ? { ...parts.policy.counts } : null,
    buffer: {
      capacitySeconds: ring.capacitySeconds,
      ringSeconds: ring.length / rate,
      streamingSeconds: daemon.buffers.streamingBufferSamples / rate,
      heldSeconds: heldSamples / rate,
      spilledSamples: daemon.buffers.spilledSamples,
    },
    queueLength: parts?.work.queueLength ?? 0,
    segmentsDone: parts?.work.counters.segmentsDone ?? 0,
    segmentsFailed: parts?.work.counters.segmentsFailed ?? 0,
    chunksDone: parts?.work.counters.chunksDone ?? 0,
    lastError: parts?.work.lastError ?? null,
    recovering: parts?.ladder.isRecovering ?? false,
    preservation: {
      saves: daemon.saveCounters.saves,
      failedSaves: daemon.saveCounters.failedSaves,
      pending: daemon.preserver.pendingCount(),
      lastAudioPath: daemon.lastPreservation?.audioPath ?? null,
      lastCheckpointPath: daemon.lastPreservation?.checkpointPath ?? null,
    },
    capturedSamples: daemon.captureCounters.capturedSamples,
    ignoredSamples: daemon.captureCounters.ignoredSamples,
  };
}
