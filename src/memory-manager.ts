// The MemoryManager (SPEC A.2 with the binding Decisions): watches device memory, reacts to pressure-level changes
// with the original's cleanup / offload / restore / shutdown actions, and keeps the CUDA-error tally that decides
// when the daemon must fall back to the CPU.
import { AsyncLocalStorage } from 'node:async_hooks';
import { systemClock, type Clock } from './clock.js';
import type { Device } from './device/types.js';
import { defaultGcHook, type GcHook } from './gc.js';
import { createLogger, type Logger } from './log.js';
import { classifyUsage, levelRank, resolveThresholds, type MemoryThresholds, type PressureLevel } from './memory-levels.js';
import { isManagedModel, ModelRegistry, type ManagedModel, type OffloadOutcome, type RestoreOutcome } from './memory-models.js';
import type { MemoryCallbacks, MemoryManagerCounters, MemoryManagerOptions } from './memory-options.js';
import { formatStatusReport, readMemoryStatus, type MemoryStatus, type UsageSource } from './memory-status.js';
import { MonitorLoop } from './monitor-loop.js';
import { errorMessage, isOom } from './recovery/classifier.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export * from './memory-levels.js';
export type { LevelCallback, MemoryCallbacks, MemoryManagerCounters, MemoryManagerOptions } from './memory-options.js';
export type { MemoryStatus, UsageSource } from './memory-status.js';
export type { ManagedModel, OffloadOutcome, RestoreOutcome } from './memory-models.js';

const STOP_TIMEOUT_MS = 5000;

export class MemoryManager {
  readonly thresholds: MemoryThresholds;
  readonly checkIntervalMs: number;
  readonly maxCudaErrors: number;
  readonly notifier: RecoveryNotifier | undefined;
  private readonly device: Device | null;
  private readonly usageSource: UsageSource;
  private readonly callbacks: MemoryCallbacks;
  private readonly gcHook: GcHook;
  private readonly exitHook: (code: number) => void | Promise<void>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly models: ModelRegistry;
  private readonly checkContext = new AsyncLocalStorage<true>();
  private checkChain: Promise<unknown> = Promise.resolve();
  private readonly loop: MonitorLoop;
  private errorCount = 0;
  private shutDown = false;
  private status: MemoryStatus | null = null;
  private previousLevel: PressureLevel = 'normal';
  readonly counters: MemoryManagerCounters = {
    checks: 0, levelChanges: 0, gcCalls: 0, emptyCacheCalls: 0, ipcCollectCalls: 0, peakResets: 0,
    offloads: 0, restoreAttempts: 0, restoresDeferred: 0, loopErrors: 0, shutdowns: 0,
  };

  constructor(options: MemoryManagerOptions) {
    this.thresholds = resolveThresholds(options);
    this.checkIntervalMs = options.checkIntervalMs ?? 2000;
    if (!(this.checkIntervalMs > 0)) throw new RangeError(`MemoryManager option checkIntervalMs must be positive, got ${this.checkIntervalMs}`);
    this.maxCudaErrors = options.maxCudaErrors ?? 3;
    if (!Number.isInteger(this.maxCudaErrors) || this.maxCudaErrors < 1) {
      throw new RangeError(`MemoryManager option maxCudaErrors must be a positive integer, got ${this.maxCudaErrors}`);
    }
    this.device = options.device;
    this.usageSource = options.usageSource ?? 'auto';
    this.callbacks = { ...options.callbacks };
    this.gcHook = options.gcHook ?? defaultGcHook;
    this.exitHook = options.exitHook ?? ((code) => process.exit(code));
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger('memory_manager');
    this.notifier = options.notifier;
    this.models = new ModelRegistry(this.logger, () => this.clearCache());
    this.loop = new MonitorLoop({
      task: () => this.checkOnce(),
      intervalMs: this.checkIntervalMs,
      clock: this.clock,
      stopTimeoutMs: STOP_TIMEOUT_MS,
      onError: (error) => {
        this.counters.loopErrors++;
        this.logger.error(`Memory monitor check failed: ${errorMessage(error)}`, error);
      },
    });
  }

  // ---- state -------------------------------------------------------------------------------------------------

  get hasGpu(): boolean {
    return this.device !== null && this.device.isAvailable();
  }
  get isRunning(): boolean {
    return this.loop.running;
  }
  get cudaErrorCount(): number {
    return this.errorCount;
  }
  get currentStatus(): MemoryStatus | null {
    return this.status;
  }
  get lastPressureLevel(): PressureLevel {
    return this.previousLevel;
  }
  get shutdownTriggered(): boolean {
    return this.shutDown;
  }
  gpuModelNames(): string[] {
    return [...this.models.onGpu.keys()];
  }
  offloadedModelNames(): string[] {
    return [...this.models.offloaded.keys()];
  }

  setCallback<K extends keyof MemoryCallbacks>(key: K, callback: MemoryCallbacks[K] | undefined): void {
    this.callbacks[key] = callback;
  }

  classify(usage: number): PressureLevel {
    return classifyUsage(usage, this.thresholds);
  }

  // ---- snapshots ---------------------------------------------------------------------------------------------

  /** A snapshot from the device's current figures; null without a GPU or when the device throws (logged). */
  getMemoryStatus(): MemoryStatus | null {
    if (!this.hasGpu) return null;
    try {
      this.status = readMemoryStatus(this.device!, this.usageSource, this.thresholds, this.previousLevel, this.clock.now() / 1000);
      return this.status;
    } catch (error) {
      this.logger.error(`Failed to read memory status: ${errorMessage(error)}`, error);
      return null;
    }
  }

  /** Takes a fresh driver reading first (nvidia-smi on a real GPU), then a snapshot. */
  async refreshMemoryStatus(): Promise<MemoryStatus | null> {
    if (this.hasGpu && this.usageSource !== 'allocator' && this.device!.refreshDriverStats) {
      try {
        await this.device!.refreshDriverStats();
      } catch (error) {
        this.logger.warning(`Driver memory reading failed, using the last one: ${errorMessage(error)}`);
      }
    }
    return this.getMemoryStatus();
  }

  // ---- the check and the monitor loop ------------------------------------------------------------------------

  /** One monitor iteration: snapshot, level-change handling, deferred restores. Never overlaps another check. */
  checkOnce(): Promise<MemoryStatus | null> {
    const result = this.checkChain.then(() => this.checkContext.run(true, () => this.runCheck()));
    this.checkChain = result.catch(() => undefined);
    return result;
  }

  private async runCheck(): Promise<MemoryStatus | null> {
    if (this.shutDown) return this.status;
    this.counters.checks++;
    const status = await this.refreshMemoryStatus();
    if (!status) return null;
    if (status.level !== this.previousLevel) {
      const shutdown = await this.handleLevelChange(this.previousLevel, status);
      if (shutdown) return status;
      this.previousLevel = status.level;
    } else if (status.level === 'normal' && this.models.offloaded.size > 0) {
      await this.restoreModels(); // the original never retried a deferred restore (SPEC Decision 4)
    }
    if (status.level !== 'normal') {
      this.logger.info(`Memory ${status.level.toUpperCase()}: ${(status.usage * 100).toFixed(1)}% (${status.allocatedMb.toFixed(1)}/${status.totalMb.toFixed(1)} MB)`);
    }
    return status;
  }

  /** Starts the monitor: a check now, then one `checkIntervalMs` after each check finishes. */
  start(): void {
    if (this.loop.running || this.shutDown) return;
    if (!this.hasGpu) {
      this.logger.info('No GPU available: memory monitoring disabled');
      return;
    }
    this.logger.info(`Memory monitoring started (every ${this.checkIntervalMs} ms)`);
    this.loop.start();
  }

  /** Stops the monitor: no timer is left, and an in-flight check is awaited (up to 5 s). */
  async stop(): Promise<void> {
    if (!this.loop.running && !this.loop.busy) return;
    // Called from inside a check (an emergency_shutdown callback stopping the daemon), waiting would deadlock.
    const timedOut = await this.loop.stop(!this.checkContext.getStore());
    if (timedOut) this.logger.warning('Memory monitor check still running after 5 s; stopped waiting');
    this.logger.info('Memory monitoring stopped');
  }

  // ---- level changes -----------------------------------------------------------------------------------------

  /** Banner, built-in action, then the level callback with the snapshot from before the cleanup. True on shutdown. */
  private async handleLevelChange(from: PressureLevel, status: MemoryStatus): Promise<boolean> {
    const to = status.level;
    this.counters.levelChanges++;
    const arrow = levelRank(to) > levelRank(from) ? 'rising' : 'falling';
    this.logger.warning(`${'='.repeat(20)} Memory pressure ${from.toUpperCase()} -> ${to.toUpperCase()} (${arrow}, ${(status.usage * 100).toFixed(1)}%) ${'='.repeat(20)}`);
    this.notifier?.notify('MEMORY_PRESSURE', {
      message: `memory pressure ${to} at ${(status.usage * 100).toFixed(1)}%`,
      level: to,
    });
    if (to === 'warning') await this.warningAction(status);
    else if (to === 'critical') await this.criticalAction(status);
    else if (to === 'emergency') {
      if (await this.emergencyAction(status)) return true;
    } else await this.restoreModels();
    await this.invokeCallback(to, status);
    return false;
  }

  private async warningAction(before: MemoryStatus): Promise<void> {
    this.collectGarbage();
    this.clearCache();
    this.logFreed('Warning cleanup', before);
  }

  private async criticalAction(before: MemoryStatus): Promise<void> {
    for (let pass = 0; pass < 3; pass++) this.collectGarbage();
    for (let pass = 0; pass < 3; pass++) this.clearCache();
    this.resetPeakStats();
    const after = this.logFreed('Critical cleanup', before);
    if (after && after.isCritical) this.logger.warning(`Still ${after.level.toUpperCase()} after aggressive cleanup`);
  }

  /** Critical cleanup, then offload, then shutdown if usage is still above the shutdown line. True on shutdown. */
  private async emergencyAction(before: MemoryStatus): Promise<boolean> {
    await this.criticalAction(before);
    const afterCleanup = await this.refreshMemoryStatus();
    if (!afterCleanup || this.classify(afterCleanup.usage) !== 'emergency') return false;
    await this.offloadAllModels();
    const afterOffload = await this.refreshMemoryStatus();
    if (afterOffload && afterOffload.usage > this.thresholds.shutdownThreshold) {
      await this.emergencyShutdown();
      return true;
    }
    return false;
  }

  private logFreed(what: string, before: MemoryStatus): MemoryStatus | null {
    const after = this.getMemoryStatus();
    if (after) this.logger.info(`${what} freed ${(before.allocatedMb - after.allocatedMb).toFixed(1)} MB`);
    return after;
  }

  private async invokeCallback(level: PressureLevel, status: MemoryStatus): Promise<void> {
    const callback = this.callbacks[level];
    if (!callback) return;
    try {
      await callback(status);
    } catch (error) {
      this.logger.error(`The '${level}' callback failed: ${errorMessage(error)}`, error);
    }
  }

  // ---- actions, public so that the recovery ladder can use them ---------------------------------------------

  collectGarbage(): void {
    this.counters.gcCalls++;
    this.gcHook();
  }

  clearCache(): void {
    if (!this.hasGpu) return;
    this.counters.emptyCacheCalls++;
    this.device!.emptyCache();
  }

  private resetPeakStats(): void {
    this.counters.peakResets++;
    this.device!.resetPeakStats();
  }

  registerModel(name: string, model: ManagedModel): boolean {
    if (!this.hasGpu) {
      this.logger.info(`No GPU: model ${name} not registered`);
      return false;
    }
    if (!isManagedModel(model)) {
      this.logger.warning(`Model ${name} has no toCpu/toGpu methods; not registered`);
      return false;
    }
    this.models.register(name, model);
    this.logger.info(`Registered model ${name} for memory management`);
    return true;
  }

  unregisterModel(name: string): boolean {
    return this.models.unregister(name);
  }

  /** Moves every registered model to the CPU, then GC and emptyCache. A failed move keeps its model tracked. */
  async offloadAllModels(): Promise<OffloadOutcome> {
    if (this.models.onGpu.size === 0) {
      this.logger.info('No models on GPU to offload');
      return { moved: [], failed: [] };
    }
    this.counters.offloads++;
    const outcome = await this.models.offloadAll();
    this.collectGarbage();
    this.clearCache();
    if (outcome.moved.length > 0) {
      this.notifier?.notify('CPU_FALLBACK', { message: `offloaded to CPU: ${outcome.moved.join(', ')}`, recoveryAttempted: true });
    }
    return outcome;
  }

  /** Restores offloaded models when usage is at or below the restore line; otherwise defers (null). */
  async restoreModels(): Promise<RestoreOutcome | null> {
    if (this.models.offloaded.size === 0) return null;
    this.counters.restoreAttempts++;
    const status = await this.refreshMemoryStatus();
    if (!status || status.usage > this.thresholds.restoreThreshold) {
      this.counters.restoresDeferred++;
      const usage = status ? `${(status.usage * 100).toFixed(1)}%` : 'unknown';
      this.logger.info(`Restore deferred: usage ${usage} is above ${(this.thresholds.restoreThreshold * 100).toFixed(0)}%`);
      return null;
    }
    return this.models.restoreAll();
  }

  /**
   * Shutdown when memory is exhausted: notify, run the `emergency_shutdown` callback (awaited, so the daemon's
   * files are written first), drop the model maps, GC, emptyCache, then `exitHook(1)`. Runs once; the loop stops.
   */
  async emergencyShutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    this.counters.shutdowns++;
    this.loop.halt();
    this.logger.error(`${'!'.repeat(20)} EMERGENCY SHUTDOWN: GPU memory exhausted (> ${(this.thresholds.shutdownThreshold * 100).toFixed(0)}% after offloading) ${'!'.repeat(20)}`);
    this.notifier?.notify('EMERGENCY_SHUTDOWN', { message: 'GPU memory exhausted; shutting down', recoveryAttempted: true });
    try {
      await this.callbacks.emergency_shutdown?.();
    } catch (error) {
      this.logger.error(`The 'emergency_shutdown' callback failed: ${errorMessage(error)}`, error);
    }
    this.models.clear();
    this.collectGarbage();
    this.clearCache();
    await this.exitHook(1);
  }

  // ---- CUDA errors -------------------------------------------------------------------------------------------

  /**
   * Counts a CUDA error and says whether the GPU may keep being used (false: fall back to the CPU).
   * An OOM gets GC + emptyCache + ipcCollect + offload (unless `oomCleanup: false`, for callers such as the
   * recovery ladder that do their own cleanup); if usage is then below the "recovered" line the error is forgiven.
   */
  async handleCudaError(error: unknown, options: { oomCleanup?: boolean } = {}): Promise<boolean> {
    this.errorCount++;
    const oom = isOom(error);
    this.logger.warning(`CUDA Error (${this.errorCount}/${this.maxCudaErrors}): ${errorMessage(error)}`);
    if (oom) {
      if (options.oomCleanup !== false && this.hasGpu) {
        this.collectGarbage();
        this.clearCache();
        this.counters.ipcCollectCalls++;
        this.device!.ipcCollect();
        if (this.models.onGpu.size > 0) await this.offloadAllModels();
      }
      const status = await this.refreshMemoryStatus();
      if (status && status.usage < this.thresholds.recoveredThreshold) {
        this.logger.info(`Recovered from OOM: usage ${(status.usage * 100).toFixed(1)}%`);
        this.errorCount = Math.max(0, this.errorCount - 1);
        return true;
      }
    }
    if (this.errorCount >= this.maxCudaErrors) {
      this.logger.error(`Maximum CUDA errors reached (${this.errorCount}/${this.maxCudaErrors}); falling back to CPU`);
      return false;
    }
    return true;
  }

  resetErrorCount(): void {
    if (this.errorCount > 0) {
      this.logger.info(`CUDA error count reset (was ${this.errorCount})`);
      this.errorCount = 0;
    }
  }

  // ---- report ------------------------------------------------------------------------------------------------

  getStatusReport(): string {
    return formatStatusReport(this.status, {
      modelsOnGpu: this.models.onGpu.size,
      modelsOffloaded: this.models.offloaded.size,
      cudaErrors: this.errorCount,
      maxCudaErrors: this.maxCudaErrors,
    });
  }
}
