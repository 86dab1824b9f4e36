// The MemoryManager's options, callbacks and counters: the contract a daemon and a test suite configure it by.
import type { Clock } from './clock.js';
import type { Device } from './device/types.js';
import type { GcHook } from './gc.js';
import type { Logger } from './log.js';
import type { MemoryThresholds } from './memory-levels.js';
import type { MemoryStatus, UsageSource } from './memory-status.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export type LevelCallback = (status: MemoryStatus) => void | Promise<void>;

export interface MemoryCallbacks {
  normal?: LevelCallback;
  warning?: LevelCallback;
  critical?: LevelCallback;
  emergency?: LevelCallback;
  /** Runs before the exit hook; the daemon preserves audio and state here. */
  emergency_shutdown?: () => void | Promise<void>;
}

/** Every threshold of MemoryThresholds is an option too (defaults 0.75 / 0.85 / 0.95, 0.98, 0.60, 0.80, hysteresis 0). */
export interface MemoryManagerOptions extends Partial<MemoryThresholds> {
  /** The device to watch; null (or an unavailable device) means "no GPU": monitoring stays off. */
  device: Device | null;
  /** Default 2000 ms. */
  checkIntervalMs?: number;
  /** Default 3: `handleCudaError` answers false from the third uncured error on. */
  maxCudaErrors?: number;
  /** 'auto' classifies by driver-level usage when the device reports it (SPEC E lesson 3). */
  usageSource?: UsageSource;
  callbacks?: MemoryCallbacks;
  gcHook?: GcHook;
  /** Called with 1 after an emergency shutdown; default `process.exit`. Tests pass a recorder. */
  exitHook?: (code: number) => void | Promise<void>;
  clock?: Clock;
  logger?: Logger;
  /** Receives MEMORY_PRESSURE, CPU_FALLBACK and EMERGENCY_SHUTDOWN events. */
  notifier?: RecoveryNotifier;
}

/** Counters tests can assert on without mocking. */
export interface MemoryManagerCounters {
  checks: number;
  levelChanges: number;
  gcCalls: number;
  emptyCacheCalls: number;
  ipcCollectCalls: number;
  peakResets: number;
  offloads: number;
  restoreAttempts: number;
  restoresDeferred: number;
  loopErrors: number;
  shutdowns: number;
}
