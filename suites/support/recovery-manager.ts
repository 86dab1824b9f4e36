// OOMRecoveryManager, the original test file's fixture (SPEC C.5), rebuilt honestly: a thin driver over the
// system's own classifier, MemoryManager, recovery ladder and probe. The original was a test double whose
// attempt_recovery always said yes and whose verify_recovery allocated 100 floats; this one only reports what the
// library did.

import type { Device } from '../../src/device/index.js';
import type { MemoryManager } from '../../src/memory-manager.js';
import { isOom, RECOVERY_STRATEGIES, type RecoveryLadder, type RecoveryMetrics, type RecoveryOutcome } from '../../src/recovery/index.js';

/** 10^12 float32 values: 4 TB, the original's impossible `randn(10**12)` on CUDA. */
export const IMPOSSIBLE_FLOAT32 = 1e12;

export interface OomTrigger {
  /** The system classified the error as an OOM. */
  triggered: boolean;
  error: unknown;
  requestedBytes: number;
}

export class OOMRecoveryManager {
  readonly strategies = RECOVERY_STRATEGIES;
  readonly device: Device;
  readonly memoryManager: MemoryManager;
  readonly ladder: RecoveryLadder;
  readonly metrics: RecoveryMetrics;

  constructor(parts: { device: Device; memoryManager: MemoryManager; ladder: RecoveryLadder; metrics: RecoveryMetrics }) {
    this.device = parts.device;
    this.memoryManager = parts.memoryManager;
    this.ladder = parts.ladder;
    this.metrics = parts.metrics;
  }

  /**
   * Ask the system's device for `float32Count` values (4 bytes each). Returns the system's classification of what
   * happened; an error that is not an OOM is rethrown, as the original did.
   */
  triggerOom(float32Count = IMPOSSIBLE_FLOAT32): OomTrigger {
    const requestedBytes = float32Count * 4;
    try {
      const allocation = this.device.allocate(requestedBytes, 'impossible');
      this.device.free(allocation);
      return { triggered: false, error: undefined, requestedBytes };
    } catch (error) {
      if (!isOom(error)) throw error;
      return { triggered: true, error, requestedBytes };
    }
  }

  /** Run the system's recovery ladder on an OOM; the outcome lists every step it took. */
  recover(error: unknown, requestedBytes?: number): Promise<RecoveryOutcome> {
    return this.ladder.recover(error, { requestedBytes });
  }

  /** The system probe: can `bytes` be allocated (and freed) on the device now? */
  verifyRecovery(bytes = 1_000_000): boolean {
    return this.device.probe(bytes).ok;
  }

  /** OOM events the system counted (nested ones included). */
  get oomCount(): number {
    return this.metrics.oomEvents;
  }
}
