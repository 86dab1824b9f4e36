// Fault injection for tests, off by default. Each hook is explicit and counted, so a test states what it breaks.

export const DEFAULT_OPERATION_FAULT = 'CUDA error: unspecified launch failure';

function checkCount(method: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`faults.${method}: n must be a non-negative integer, got ${n}`);
}

export class DeviceFaults {
  private allocationFailuresLeft = 0;
  private readonly operationFailures: string[] = [];
  /** How many allocation failures were raised by injection so far. */
  injectedAllocationFailures = 0;
  injectedOperationFailures = 0;

  /** The next `n` allocations (including probes) raise DeviceOutOfMemoryError. */
  failNextAllocations(n: number): void {
    checkCount('failNextAllocations', n);
    this.allocationFailuresLeft += n;
  }

  /** The next `n` `device.run(...)` calls raise an error with `message` instead of running. */
  failNextOperations(n: number, message = DEFAULT_OPERATION_FAULT): void {
    checkCount('failNextOperations', n);
    for (let i = 0; i < n; i++) this.operationFailures.push(message);
  }

  get pendingAllocationFailures(): number {
    return this.allocationFailuresLeft;
  }

  get pendingOperationFailures(): number {
    return this.operationFailures.length;
  }

  /** Cancels everything still pending. */
  clear(): void {
    this.allocationFailuresLeft = 0;
    this.operationFailures.length = 0;
  }

  /** @internal Consumes one pending allocation failure; the device calls this before each allocation. */
  takeAllocationFailure(): boolean {
    if (this.allocationFailuresLeft === 0) return false;
    this.allocationFailuresLeft--;
    this.injectedAllocationFailures++;
    return true;
  }

  /** @internal Consumes one pending operation failure and returns its message. */
  takeOperationFailure(): string | undefined {
    const message = this.operationFailures.shift();
    if (message !== undefined) this.injectedOperationFailures++;
    return message;
  }
}
