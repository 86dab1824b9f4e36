// Models the MemoryManager may move between device and CPU (SPEC A.2 "Models"). A model is a shared handle that
// moves in place, as a PyTorch module does: the daemon's own reference sees the new device at once.
import { isOom, errorMessage } from './recovery/classifier.js';
import type { Logger } from './log.js';

export interface ManagedModel {
  readonly name: string;
  readonly device: 'cuda' | 'cpu';
  /** Moves this same object to the CPU. */
  toCpu(): void | Promise<void>;
  /** Moves this same object back to the device. May throw an OOM. */
  toGpu(): void | Promise<void>;
}

export interface OffloadOutcome {
  moved: string[];
  /** Models whose move failed; they stay tracked on the GPU (SPEC Decision 4). */
  failed: string[];
}

export interface RestoreOutcome {
  restored: string[];
  failed: string[];
  /** An OOM stopped the loop; these were not tried and stay offloaded. */
  notTried: string[];
}

export function isManagedModel(value: unknown): value is ManagedModel {
  const candidate = value as Partial<ManagedModel> | null;
  return !!candidate && typeof candidate.toCpu === 'function' && typeof candidate.toGpu === 'function';
}

/** The two maps of the original (gpu_models, offloaded_models), with moves serialised so they never interleave. */
export class ModelRegistry {
  readonly onGpu = new Map<string, ManagedModel>();
  readonly offloaded = new Map<string, ManagedModel>();
  private moves: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly logger: Logger,
    private readonly afterEachOffload: () => void,
  ) {}

  register(name: string, model: ManagedModel): void {
    this.offloaded.delete(name);
    this.onGpu.set(name, model);
  }

  unregister(name: string): boolean {
    return this.onGpu.delete(name) || this.offloaded.delete(name);
  }

  clear(): void {
    this.onGpu.clear();
    this.offloaded.clear();
  }

  /** Moves every GPU model to the CPU; a model whose move throws is logged and stays on the GPU map. */
  offloadAll(): Promise<OffloadOutcome> {
    return this.serialised(async () => {
      const outcome: OffloadOutcome = { moved: [], failed: [] };
      for (const [name, model] of [...this.onGpu]) {
        try {
          await model.toCpu();
          this.onGpu.delete(name);
          this.offloaded.set(name, model);
          outcome.moved.push(name);
          this.logger.info(`Offloaded ${name} to CPU`);
          this.afterEachOffload();
        } catch (error) {
          outcome.failed.push(name);
          this.logger.error(`Failed to offload ${name}: ${errorMessage(error)} (it stays tracked on the GPU)`, error);
        }
      }
      return outcome;
    });
  }

  /** Moves offloaded models back. An OOM stops the loop (the rest stay on CPU); other errors skip that model. */
  restoreAll(): Promise<RestoreOutcome> {
    return this.serialised(async () => {
      const outcome: RestoreOutcome = { restored: [], failed: [], notTried: [] };
      const queue = [...this.offloaded];
      for (let i = 0; i < queue.length; i++) {
        const [name, model] = queue[i]!;
        try {
          await model.toGpu();
          this.offloaded.delete(name);
          this.onGpu.set(name, model);
          outcome.restored.push(name);
          this.logger.info(`Restored ${name} to GPU`);
        } catch (error) {
          outcome.failed.push(name);
          if (isOom(error)) {
            outcome.notTried.push(...queue.slice(i + 1).map(([rest]) => rest));
            this.logger.error(`Out of memory while restoring ${name}; the remaining models stay on CPU`, error);
            break;
          }
          this.logger.error(`Failed to restore ${name}: ${errorMessage(error)}`, error);
        }
      }
      return outcome;
    });
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const result = this.moves.then(task);
    this.moves = result.catch(() => undefined);
    return result;
  }
}
