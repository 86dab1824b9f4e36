// The recovery ladder (SPEC A.5 item 3, from the seed's flow diagram):
//   cache_clear → garbage_collect → reduce_buffer → cpu_fallback → emergency_shutdown
// After each step a probe retries an allocation the size of the failed request; the first step whose probe
// succeeds ends the event. Steps are actions the owner supplies (the daemon shrinks its buffers, offloads models,
// preserves data); the defaults use the MemoryManager when there is one.
//
// Re-entrancy: while a ladder runs, any further OOM (a step throwing one, a custom probe throwing one, or another
// caller's recover()) is *nested*: it is counted and never starts a second ladder. After 2 nested OOMs the ladder
// goes straight to cpu_fallback; after 3 it gives up on the event. So an event is bounded by 5 steps and recursion
// is impossible: the ladder never calls itself.
import { systemClock, type Clock } from '../clock.js';
import { DeviceOutOfMemoryError } from '../device/errors.js';
import type { Device, ProbeResult } from '../device/types.js';
import { defaultGcHook, type GcHook } from '../gc.js';
import { createLogger, type Logger } from '../log.js';
import type { MemoryManager } from '../memory-manager.js';
import { errorMessage, isOom } from './classifier.js';
import { RecoveryMetrics } from './metrics.js';
import { RecoveryNotifier, type NotificationType } from './notifier.js';

export const RECOVERY_STRATEGIES = ['cache_clear', 'garbage_collect', 'reduce_buffer', 'cpu_fallback', 'emergency_shutdown'] as const;
export type RecoveryStrategy = (typeof RECOVERY_STRATEGIES)[number];

const CPU_FALLBACK_INDEX = RECOVERY_STRATEGIES.indexOf('cpu_fallback');
/** Probe size when the failed request is unknown, or larger than the whole device (it could never fit). */
const FALLBACK_PROBE_BYTES = 1_000_000;

export interface StepContext {
  strategy: RecoveryStrategy;
  /** The OOM that started the event. */
  error: unknown;
  requestedBytes: number | undefined;
  eventId: number;
}

export type RecoveryAction = (context: StepContext) => unknown;

export interface RecoveryLadderOptions {
  device: Device;
  memoryManager?: MemoryManager;
  notifier?: RecoveryNotifier;
  metrics?: RecoveryMetrics;
  /** Replaces the default action of any step. */
  actions?: Partial<Record<RecoveryStrategy, RecoveryAction>>;
  /** Replaces `device.probe`. Returning `{ ok: false }` means "not yet"; throwing an OOM counts as nested. */
  probe?: (bytes: number) => ProbeResult | Promise<ProbeResult>;
  /** A fixed probe size; by default the failed request's size. */
  probeBytes?: number;
  maxSteps?: number;
  nestedOomsBeforeFallback?: number;
  maxNestedOoms?: number;
  /** Used by the default garbage_collect when there is no MemoryManager. */
  gcHook?: GcHook;
  /** Used by the default emergency_shutdown when there is no MemoryManager. */
  exitHook?: (code: number) => void | Promise<void>;
  clock?: Clock;
  logger?: Logger;
}

export interface StepRecord {
  strategy: RecoveryStrategy;
  success: boolean;
  /** The step (or its probe) raised an OOM. */
  nestedOom: boolean;
  /** A non-OOM error from the step, or the probe's error. */
  error?: string;
}

export interface RecoveryOutcome {
  eventId: number;
  recovered: boolean;
  recoveredBy: RecoveryStrategy | undefined;
  /** This call arrived while another ladder was running and was absorbed by it. */
  nested: boolean;
  steps: StepRecord[];
  nestedOoms: number;
  cpuFallback: boolean;
  shutdown: boolean;
  /** The ladder stopped after the nested-OOM limit. */
  gaveUp: boolean;
  /** `handleCudaError`'s verdict for the event (undefined without a MemoryManager, or for nested calls). */
  keepGpu: boolean | undefined;
}

export interface LadderStatus {
  active: boolean;
  eventId: number | undefined;
  currentStep: RecoveryStrategy | undefined;
  stepsTaken: number;
  nestedOoms: number;
  eventsHandled: number;
  lastOutcome: RecoveryOutcome | undefined;
}

interface ActiveEvent {
  id: number;
  error: unknown;
  requestedBytes: number | undefined;
  current: RecoveryStrategy | undefined;
  nestedOoms: number;
  steps: StepRecord[];
}

export class RecoveryLadder {
  readonly metrics: RecoveryMetrics;
  readonly notifier: RecoveryNotifier;
  private readonly device: Device;
  private readonly manager: MemoryManager | undefined;
  private readonly actions: Record<RecoveryStrategy, RecoveryAction>;
  private readonly probeFn: (bytes: number) => ProbeResult | Promise<ProbeResult>;
  private readonly logger: Logger;
  private readonly limits: { maxSteps: number; nestedBeforeFallback: number; maxNested: number };
  private readonly fixedProbeBytes: number | undefined;
  private active: ActiveEvent | undefined;
  private nextEventId = 1;
  private handled = 0;
  private last: RecoveryOutcome | undefined;

  constructor(options: RecoveryLadderOptions) {
    this.device = options.device;
    this.manager = options.memoryManager;
    const clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger('recovery');
    this.metrics = options.metrics ?? new RecoveryMetrics(clock);
    this.notifier = options.notifier ?? this.manager?.notifier ?? new RecoveryNotifier({ device: this.device, clock });
    this.probeFn = options.probe ?? ((bytes) => this.device.probe(bytes));
    this.fixedProbeBytes = options.probeBytes;
    this.limits = {
      maxSteps: options.maxSteps ?? 5,
      nestedBeforeFallback: options.nestedOomsBeforeFallback ?? 2,
      maxNested: options.maxNestedOoms ?? 3,
    };
    const exitHook = options.exitHook ?? ((code: number) => process.exit(code));
    this.actions = { ...this.defaultActions(exitHook, options.gcHook ?? defaultGcHook), ...options.actions };
  }

  get isRecovering(): boolean {
    return this.active !== undefined;
  }

  /** Answers at any time, including from inside a step while a ladder runs. */
  getStatus(): LadderStatus {
    const event = this.active;
    return {
      active: event !== undefined,
      eventId: event?.id,
      currentStep: event?.current,
      stepsTaken: event?.steps.length ?? 0,
      nestedOoms: event?.nestedOoms ?? 0,
      eventsHandled: this.handled,
      lastOutcome: this.last,
    };
  }

  /** Handles one OOM event. Never throws for a step's failure; the outcome says what happened. */
  async recover(error: unknown, options: { requestedBytes?: number } = {}): Promise<RecoveryOutcome> {
    if (this.active) return this.absorbNested(this.active, error);
    const requestedBytes = options.requestedBytes ?? (error instanceof DeviceOutOfMemoryError ? error.requestedBytes : undefined);
    const event: ActiveEvent = { id: this.nextEventId++, error, requestedBytes, current: undefined, nestedOoms: 0, steps: [] };
    this.active = event;
    try {
      return await this.runEvent(event);
    } finally {
      this.active = undefined;
      this.handled++;
    }
  }

  private absorbNested(event: ActiveEvent, error: unknown): RecoveryOutcome {
    this.countNested(event, error, 'a concurrent caller');
    return {
      eventId: event.id, recovered: false, recoveredBy: undefined, nested: true, steps: [], nestedOoms: event.nestedOoms,
      cpuFallback: false, shutdown: false, gaveUp: false, keepGpu: undefined,
    };
  }

  private countNested(event: ActiveEvent, error: unknown, where: string): void {
    event.nestedOoms++;
    this.metrics.recordOomEvent(true);
    const during = event.current ? ` during ${event.current}` : '';
    this.logger.warning(`Nested OOM #${event.nestedOoms}${during} (from ${where}); no second recovery is started: ${errorMessage(error)}`);
    this.notifier.notify('OOM', { message: `nested OOM${during}: ${errorMessage(error)}`, recoveryAttempted: true });
  }

  private async runEvent(event: ActiveEvent): Promise<RecoveryOutcome> {
    const outcome: RecoveryOutcome = {
      eventId: event.id, recovered: false, recoveredBy: undefined, nested: false, steps: event.steps, nestedOoms: 0,
      cpuFallback: false, shutdown: false, gaveUp: false, keepGpu: undefined,
    };
    if (!isOom(event.error)) {
      this.logger.warning(`recover() was given an error that is not an OOM; no ladder runs: ${errorMessage(event.error)}`);
    } else {
      this.metrics.recordOomEvent();
      this.notifier.notify('OOM', { message: errorMessage(event.error), recoveryAttempted: false });
      this.logger.warning(`OOM event ${event.id}: starting recovery: ${errorMessage(event.error)}`);
      await this.climb(event, outcome);
    }
    if (this.manager) {
      // The 3-error rule still applies to ladder events; the ladder did the cleanup itself.
      outcome.keepGpu = await this.manager.handleCudaError(event.error, { oomCleanup: false });
      if (!outcome.keepGpu && !outcome.cpuFallback && !outcome.shutdown && event.steps.length < this.limits.maxSteps) {
        await this.runStep(event, outcome, 'cpu_fallback');
      }
    }
    outcome.nestedOoms = event.nestedOoms;
    if (outcome.recovered) {
      this.notifier.notify('RECOVERED', { message: `recovered by ${outcome.recoveredBy} after ${event.steps.length} step(s)`, recoveryAttempted: true });
    }
    this.last = outcome;
    return outcome;
  }

  private async climb(event: ActiveEvent, outcome: RecoveryOutcome): Promise<void> {
    for (let index = 0; index < RECOVERY_STRATEGIES.length && event.steps.length < this.limits.maxSteps; index++) {
      if (event.nestedOoms >= this.limits.nestedBeforeFallback && !outcome.cpuFallback && index < CPU_FALLBACK_INDEX) {
        this.logger.warning(`${event.nestedOoms} nested OOMs: going straight to cpu_fallback`);
        index = CPU_FALLBACK_INDEX;
      }
      const record = await this.runStep(event, outcome, RECOVERY_STRATEGIES[index]!);
      if (record.success && record.strategy !== 'emergency_shutdown') {
        outcome.recovered = true;
        outcome.recoveredBy = record.strategy;
        return;
      }
      if (outcome.shutdown) return;
      if (event.nestedOoms >= this.limits.maxNested) {
        outcome.gaveUp = true;
        this.logger.error(`${event.nestedOoms} nested OOMs in event ${event.id}: giving up on this event`);
        return;
      }
    }
  }

  /** Runs one step and its probe, records it, and announces fallback/shutdown if the step did not already. */
  private async runStep(event: ActiveEvent, outcome: RecoveryOutcome, strategy: RecoveryStrategy): Promise<StepRecord> {
    event.current = strategy;
    const record: StepRecord = { strategy, success: false, nestedOom: false };
    const announces: NotificationType | undefined =
      strategy === 'cpu_fallback' ? 'CPU_FALLBACK' : strategy === 'emergency_shutdown' ? 'EMERGENCY_SHUTDOWN' : undefined;
    const announcedBefore = announces ? this.notifier.count(announces) : 0;
    let stepFailed = false;
    try {
      await this.actions[strategy]({ strategy, error: event.error, requestedBytes: event.requestedBytes, eventId: event.id });
    } catch (error) {
      stepFailed = true;
      this.noteFailure(event, record, error, `the ${strategy} step`);
    }
    if (strategy === 'cpu_fallback') outcome.cpuFallback = true;
    if (strategy === 'emergency_shutdown') {
      outcome.shutdown = true;
      record.success = !stepFailed;
    } else if (!stepFailed) {
      record.success = await this.probe(event, record);
    }
    if (announces && this.notifier.count(announces) === announcedBefore) {
      this.notifier.notify(announces, { message: `recovery step ${strategy} ran`, recoveryAttempted: true });
    }
    this.metrics.record(strategy, record.success);
    event.steps.push(record);
    event.current = undefined;
    this.logger.info(`Recovery step ${strategy}: ${record.success ? 'recovered' : 'not enough'}`);
    return record;
  }

  private async probe(event: ActiveEvent, record: StepRecord): Promise<boolean> {
    const bytes = this.probeSize(event);
    try {
      const result = await this.probeFn(bytes);
      if (!result.ok) record.error = errorMessage(result.error);
      return result.ok;
    } catch (error) {
      this.noteFailure(event, record, error, 'the probe');
      return false;
    }
  }

  private noteFailure(event: ActiveEvent, record: StepRecord, error: unknown, where: string): void {
    record.error = errorMessage(error);
    if (isOom(error)) {
      record.nestedOom = true;
      this.countNested(event, error, where);
    } else {
      this.logger.error(`Recovery: ${where} failed: ${errorMessage(error)}`, error);
    }
  }

  private probeSize(event: ActiveEvent): number {
    if (this.fixedProbeBytes !== undefined) return this.fixedProbeBytes;
    const requested = event.requestedBytes;
    if (requested === undefined || requested > this.device.totalBytes()) return FALLBACK_PROBE_BYTES;
    return requested;
  }

  private defaultActions(exitHook: (code: number) => void | Promise<void>, gcHook: GcHook): Record<RecoveryStrategy, RecoveryAction> {
    const manager = this.manager;
    return {
      cache_clear: () => {
        if (manager) manager.clearCache();
        else this.device.emptyCache();
        this.device.ipcCollect();
      },
      garbage_collect: () => {
        if (manager) {
          manager.collectGarbage();
          manager.clearCache();
        } else {
          gcHook();
          this.device.emptyCache();
        }
      },
      reduce_buffer: () => this.logger.debug('reduce_buffer: no buffer-reduction action was supplied'),
      cpu_fallback: async () => {
        if (manager) await manager.offloadAllModels();
        else this.logger.debug('cpu_fallback: no MemoryManager, so no models to offload');
      },
      emergency_shutdown: async () => {
        if (manager) await manager.emergencyShutdown();
        else await exitHook(1);
      },
    };
  }
}
